// What the Transformer is made of. Plain values: the config layer reads
// them from YAML and validates them; the model only uses them.
#pragma once

#include <cstdint>

namespace rosetta {

enum class NormPosition { post, pre };       // post: the paper's; pre: with a final layer norm
enum class ActivationKind { relu, gelu };
enum class EmbeddingTying { none, decoder, all };  // decoder: target input = output projection
enum class PositionalKind { sinusoidal, learned };
// encoder_decoder: translation (Vaswani et al. 2017). decoder_only: a language
// model, causal self-attention layers and no encoder (GPT-2). encoder_only: a
// masked language model, bidirectional self-attention and no decoder (BERT).
enum class ModelType { encoder_decoder, decoder_only, encoder_only };

struct ModelConfig {
  ModelType type = ModelType::encoder_decoder;
  int64_t vocab_size = 8000;      // target side and output
  int64_t src_vocab_size = 0;     // 0: vocab_size; must equal it when all embeddings are tied
  int64_t d_model = 512;
  int64_t heads = 8;
  int64_t ffn = 2048;
  int64_t encoder_layers = 6;
  int64_t decoder_layers = 6;
  float dropout = 0.1f;             // embeddings + positions, and each sub-layer output
  float attention_dropout = 0.1f;   // attention weights
  float activation_dropout = 0.1f;  // after the feed-forward activation
  NormPosition norm = NormPosition::post;
  ActivationKind activation = ActivationKind::relu;
  EmbeddingTying tying = EmbeddingTying::all;
  PositionalKind positional = PositionalKind::sinusoidal;
  int64_t max_positions = 1024;
  float layer_norm_eps = 1e-5f;
  int32_t pad_id = 0;
};

}  // namespace rosetta
