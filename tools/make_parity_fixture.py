#!/usr/bin/python3
"""Writes tests/fixtures/parity_<norm>.txt, parity_lm_<norm>.txt and parity_mlm_<norm>.txt: a tiny Transformer built from PyTorch's
nn.TransformerEncoderLayer / nn.TransformerDecoderLayer exactly as
../shared/reference/torch_ref.py builds multi30k-small (tied embeddings scaled by
sqrt(d), sinusoidal positions, no final norm in post-norm, a final norm in pre-norm),
with its weights renamed to Rosetta's parameter names, a padded batch, and what
torch computes for it: logits, the label-smoothed loss and every parameter gradient.
The _lm fixtures are a decoder-only language model: nn.TransformerEncoder with a causal
mask under the name "decoder", tied input and output embeddings, no source. The _mlm
fixtures are an encoder-only masked language model: nn.TransformerEncoder with a padding
mask, the tied embedding as output layer, the loss on the masked positions only.
The C++ test (tests/model/parity_test.cpp) needs no Python.

Run with Debian's python3-torch:  /usr/bin/python3 tools/make_parity_fixture.py
"""
import math, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

V, D, H, FF, LAYERS, PAD, BOS, EOS = 13, 8, 2, 16, 2, 0, 2, 3


def sinusoid(n, d):
    pos = torch.arange(n, dtype=torch.float).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return pe


def initialise(model):
    """The reference's initialisation, then noise on norms and attention biases."""
    for n, p in model.named_parameters():
        if p.dim() > 1 and not n.startswith('emb'):
            nn.init.xavier_uniform_(p)
    nn.init.normal_(model.emb.weight, 0.0, D ** -0.5)
    with torch.no_grad():
        model.emb.weight[PAD].zero_()
        # Non-trivial norms and attention biases, so a mix-up of any two shows.
        for n, p in model.named_parameters():
            if 'norm' in n or 'in_proj_bias' in n or 'out_proj.bias' in n:
                p.add_(0.1 * torch.randn_like(p))
    model.register_buffer('pe', sinusoid(64, D))


class Tiny(nn.Module):
    def __init__(s, prenorm):
        super().__init__()
        s.emb = nn.Embedding(V, D, padding_idx=PAD)
        enc = nn.TransformerEncoderLayer(D, H, FF, 0.0, batch_first=True, norm_first=prenorm)
        dec = nn.TransformerDecoderLayer(D, H, FF, 0.0, batch_first=True, norm_first=prenorm)
        s.encoder = nn.TransformerEncoder(enc, LAYERS, norm=nn.LayerNorm(D) if prenorm else None,
                                          enable_nested_tensor=False)
        s.decoder = nn.TransformerDecoder(dec, LAYERS, norm=nn.LayerNorm(D) if prenorm else None)
        initialise(s)

    def embed(s, x):
        return s.emb(x) * math.sqrt(D) + s.pe[:x.size(1)]

    def forward(s, src, tgt_in):
        pad = src.eq(PAD)
        mem = s.encoder(s.embed(src), src_key_padding_mask=pad)
        T = tgt_in.size(1)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        h = s.decoder(s.embed(tgt_in), mem, tgt_mask=causal, memory_key_padding_mask=pad)
        return F.linear(h, s.emb.weight)


class TinyLM(nn.Module):
    def __init__(s, prenorm, stack='decoder'):
        super().__init__()
        s.stack = stack
        s.emb = nn.Embedding(V, D, padding_idx=PAD)
        layer = nn.TransformerEncoderLayer(D, H, FF, 0.0, batch_first=True, norm_first=prenorm)
        setattr(s, stack, nn.TransformerEncoder(layer, LAYERS, norm=nn.LayerNorm(D) if prenorm else None,
                                                enable_nested_tensor=False))
        initialise(s)

    def forward(s, tokens):
        T = tokens.size(1)
        x = s.emb(tokens) * math.sqrt(D) + s.pe[:T]
        if s.stack == 'decoder':  # a language model: causal
            h = s.decoder(x, mask=torch.triu(torch.ones(T, T, dtype=torch.bool), 1))
        else:  # a masked language model: every position, padding hidden
            h = s.encoder(x, src_key_padding_mask=tokens.eq(PAD))
        return F.linear(h, s.emb.weight)


def rosetta_names(name, tensor):
    """torch parameter -> [(rosetta name, tensor)]; in_proj splits into q, k, v."""
    name = name.replace('emb.weight', 'embedding.weight').replace('multihead_attn', 'cross_attn')
    name = name.replace('.linear1.', '.ffn.linear1.').replace('.linear2.', '.ffn.linear2.')
    if 'in_proj_' in name:
        kind = 'weight' if name.endswith('weight') else 'bias'
        base = name[:name.index('in_proj_')]
        return [(f'{base}{p}_proj.{kind}', t) for p, t in zip('qkv', tensor.chunk(3, 0))]
    return [(name, tensor)]


def write_tensor(out, tag, name, t):
    t = t.detach().contiguous().view(-1)
    out.write(f'{tag} {name} {t.numel()}\n')
    out.write(' '.join(f'{v:.9g}' for v in t.tolist()) + '\n')


def write_fixture(path, model, config_line, tokens, logits, loss):
    with open(path, 'w') as out:
        out.write(f'# written by tools/make_parity_fixture.py (torch {torch.__version__})\n')
        out.write(config_line + '\n')
        for tag, m in tokens:
            out.write(f'tokens {tag} {m.size(0)} {m.size(1)}\n')
            out.write(' '.join(str(v) for v in m.view(-1).tolist()) + '\n')
        for n, p in model.named_parameters():
            for rn, t in rosetta_names(n, p):
                write_tensor(out, 'param', rn, t)
            for rn, t in rosetta_names(n, p.grad):
                write_tensor(out, 'grad', rn, t)
        write_tensor(out, 'logits', 'logits', logits)
        out.write(f'loss {loss.item():.9g}\n')
    print('wrote', os.path.normpath(path))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(3)
    for norm in ('post', 'pre'):
        model = TinyLM(norm == 'pre')
        tgt_in = torch.tensor([[BOS, 11, 12, 4, 5], [BOS, 4, 9, PAD, PAD]])
        tgt_out = torch.tensor([[11, 12, 4, 5, EOS], [4, 9, EOS, PAD, PAD]])
        logits = model(tgt_in)
        loss = F.cross_entropy(logits.view(-1, V), tgt_out.view(-1), ignore_index=PAD, label_smoothing=0.1)
        loss.backward()
        write_fixture(os.path.join(here, '..', 'tests', 'fixtures', f'parity_lm_{norm}.txt'), model,
                      f'config {V} {D} {H} {FF} {LAYERS} {norm} decoder_only',
                      (('tgt_in', tgt_in), ('tgt_out', tgt_out)), logits, loss)
    for norm in ('post', 'pre'):
        model = TinyLM(norm == 'pre', stack='encoder')
        src = torch.tensor([[5, 4, 7, 8, EOS], [9, 4, EOS, PAD, PAD]])  # 4 stands for <mask>
        tgt_out = torch.tensor([[PAD, 6, PAD, 11, PAD], [PAD, 10, PAD, PAD, PAD]])
        logits = model(src)
        loss = F.cross_entropy(logits.view(-1, V), tgt_out.view(-1), ignore_index=PAD, label_smoothing=0.1)
        loss.backward()
        write_fixture(os.path.join(here, '..', 'tests', 'fixtures', f'parity_mlm_{norm}.txt'), model,
                      f'config {V} {D} {H} {FF} {LAYERS} {norm} encoder_only',
                      (('src', src), ('tgt_out', tgt_out)), logits, loss)
    torch.manual_seed(3)
    for norm in ('post', 'pre'):
        model = Tiny(norm == 'pre')
        src = torch.tensor([[5, 6, 7, 8, EOS], [9, 10, EOS, PAD, PAD]])
        tgt_in = torch.tensor([[BOS, 11, 12, 4], [BOS, 4, 9, PAD]])
        tgt_out = torch.tensor([[11, 12, 4, EOS], [4, 9, EOS, PAD]])
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.view(-1, V), tgt_out.view(-1), ignore_index=PAD,
                               label_smoothing=0.1)
        loss.backward()
        write_fixture(os.path.join(here, '..', 'tests', 'fixtures', f'parity_{norm}.txt'), model,
                      f'config {V} {D} {H} {FF} {LAYERS} {norm}',
                      (('src', src), ('tgt_in', tgt_in), ('tgt_out', tgt_out)), logits, loss)


if __name__ == '__main__':
    sys.exit(main())
