#!/usr/bin/python3
"""Exports a Rosetta checkpoint to the PyTorch reference's format
(../shared/reference/torch_ref.py: {'model': state_dict}) plus its SentencePiece
model, so both programs can decode with the very same weights: the fair way to
compare translation speed (same outputs, same lengths) and an independent check
of our decoder (the BLEU of both must agree).

  /usr/bin/python3 tools/export_torch_ref.py CHECKPOINT OUT_DIR
  -> OUT_DIR/ckpt.pt, OUT_DIR/spm.model

Only models torch_ref.py can build are accepted: d_model 256, 4 heads, FFN 1024,
3+3 layers, ReLU, tied embeddings, sinusoidal positions, vocabulary 8000.
"""
import os, struct, sys, zlib

import torch


def read_checkpoint(path):
    """Reads Rosetta's format (see include/rosetta/model/checkpoint.h)."""
    data = open(path, 'rb').read()
    if data[:8] != b'RSTACKPT':
        sys.exit(f'{path} is not a Rosetta checkpoint')
    version, flags, size = struct.unpack_from('<IIQ', data, 8)
    if version != 1 or flags != 0 or len(data) != 24 + size + 12:
        sys.exit(f'{path}: unsupported version or truncated file')
    payload = data[24:24 + size]
    if struct.unpack_from('<I', data, 24 + size)[0] != zlib.crc32(payload):
        sys.exit(f'{path}: checksum mismatch')
    texts, tensors, pos = {}, {}, 0
    while pos < len(payload):
        kind = payload[pos]
        (name_len,) = struct.unpack_from('<I', payload, pos + 1)
        name = payload[pos + 5:pos + 5 + name_len].decode()
        pos += 5 + name_len
        if kind == 1:
            (n,) = struct.unpack_from('<Q', payload, pos)
            texts[name] = payload[pos + 8:pos + 8 + n]
            pos += 8 + n
        else:
            (rank,) = struct.unpack_from('<I', payload, pos)
            shape = struct.unpack_from(f'<{rank}q', payload, pos + 4)
            pos += 4 + 8 * rank
            count = 1
            for d in shape:
                count *= d
            values = torch.frombuffer(bytearray(payload[pos:pos + 4 * count]), dtype=torch.float32)
            tensors[name] = values.reshape(shape).clone()
            pos += 4 * count
    return texts, tensors


def config_value(config_text, section, key):
    """The few scalar settings we check, from the resolved YAML (two-level, as Rosetta writes it)."""
    current = None
    for line in config_text.splitlines():
        if line and not line.startswith(' '):
            current = line.rstrip(':')
        elif current == section and line.strip().startswith(key + ':'):
            return line.split(':', 1)[1].strip()
    return None


def torch_state_dict(params, layers_enc, layers_dec, prenorm):
    sd = {'emb.weight': params['embedding.weight']}

    def attention(src, dst):
        sd[dst + '.in_proj_weight'] = torch.cat([params[f'{src}.{p}_proj.weight'] for p in 'qkv'])
        sd[dst + '.in_proj_bias'] = torch.cat([params[f'{src}.{p}_proj.bias'] for p in 'qkv'])
        sd[dst + '.out_proj.weight'] = params[src + '.out_proj.weight']
        sd[dst + '.out_proj.bias'] = params[src + '.out_proj.bias']

    def same(src, dst):
        for p in ('weight', 'bias'):
            sd[f'{dst}.{p}'] = params[f'{src}.{p}']

    for side, n in (('encoder', layers_enc), ('decoder', layers_dec)):
        for i in range(n):
            ours = f'{side}.layers.{i}'
            attention(ours + '.self_attn', ours + '.self_attn')
            if side == 'decoder':
                attention(ours + '.cross_attn', ours + '.multihead_attn')
            same(ours + '.ffn.linear1', ours + '.linear1')
            same(ours + '.ffn.linear2', ours + '.linear2')
            for k in range(1, 4 if side == 'decoder' else 3):
                same(f'{ours}.norm{k}', f'{ours}.norm{k}')
        if prenorm:
            same(side + '.norm', side + '.norm')
    return sd


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    texts, tensors = read_checkpoint(sys.argv[1])
    config = texts['config'].decode()
    want = {('model', 'd_model'): '256', ('model', 'heads'): '4', ('model', 'ffn'): '1024',
            ('model', 'encoder_layers'): '3', ('model', 'decoder_layers'): '3',
            ('model', 'activation'): 'relu', ('model', 'tie_embeddings'): 'all',
            ('model', 'positional'): 'sinusoidal', ('vocab', 'size'): '8000'}
    for (section, key), value in want.items():
        got = config_value(config, section, key)
        if got != value:
            sys.exit(f'{sys.argv[1]}: {section}.{key} is {got}; torch_ref.py builds only {value}')
    prenorm = config_value(config, 'model', 'norm') == 'pre'
    params = {k[len('param/'):]: v for k, v in tensors.items() if k.startswith('param/')}
    sd = torch_state_dict(params, 3, 3, prenorm)
    os.makedirs(sys.argv[2], exist_ok=True)
    torch.save({'model': sd, 'step': int(texts.get('state/step', b'0'))},
               os.path.join(sys.argv[2], 'ckpt.pt'))
    with open(os.path.join(sys.argv[2], 'spm.model'), 'wb') as f:
        f.write(texts['vocab'])
    print(f'wrote {sys.argv[2]}/ckpt.pt ({len(sd)} tensors, prenorm={prenorm}) and spm.model')


if __name__ == '__main__':
    main()
