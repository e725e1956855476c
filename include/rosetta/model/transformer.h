// The encoder-decoder Transformer of Vaswani et al. (2017): scaled token
// embeddings plus positions, N encoder and N decoder layers (post-norm or
// pre-norm), and an output projection that may share the embedding matrix.
//
// Training runs forward(); translation runs encode() once, then start() and
// step() one target position at a time, with keys and values cached.
#pragma once

#include <memory>
#include <vector>

#include "rosetta/model/model_config.h"
#include "rosetta/model/token_matrix.h"
#include "rosetta/nn/attention.h"

namespace rosetta {

class EncoderLayer : public nn::Module {
 public:
  EncoderLayer(const ModelConfig& config, Rng& init_rng);
  // x [B, S, D], mask [B, 1, 1, S] -> [B, S, D]
  Var forward(const Var& x, const Tensor& mask, Rng* dropout_rng) const;

 private:
  ModelConfig config_;
  nn::MultiHeadAttention self_attn_;
  nn::FeedForward ffn_;
  nn::LayerNorm norm1_, norm2_;
};

// Keys and values one decoder layer has seen so far during incremental decoding.
struct LayerCache {
  Tensor self_keys, self_values;    // [B, H, capacity, Dh]; the first `length` positions used
  Tensor cross_keys, cross_values;  // [B, H, S, Dh], from the encoder output, computed once
  // Beam search reorders the self-attention caches every step: into the
  // spare buffers (of at least B rows), which then swap with the ones in use,
  // so no step allocates.
  Tensor key_buffer, value_buffer, spare_keys, spare_values;
};

class DecoderLayer : public nn::Module {
 public:
  DecoderLayer(const ModelConfig& config, Rng& init_rng);
  // x [B, T, D], memory [B, S, D] -> [B, T, D]; causal [T, T], memory_mask [B, 1, 1, S]
  Var forward(const Var& x, const Var& memory, const Tensor& causal, const Tensor& memory_mask,
              Rng* dropout_rng, Var* cross_weights = nullptr) const;
  // One position: x [B, 1, D] at position `length` of the cache -> [B, 1, D]
  Var step(const Var& x, LayerCache& cache, int64_t length, const Tensor& memory_mask) const;
  void start(const Var& memory, int64_t capacity, LayerCache& cache) const;

 private:

  ModelConfig config_;
  nn::MultiHeadAttention self_attn_, cross_attn_;
  nn::FeedForward ffn_;
  nn::LayerNorm norm1_, norm2_, norm3_;
};

// Everything step() needs to continue a batch of translations.
struct DecoderState {
  std::vector<LayerCache> layers;
  Tensor memory_mask;  // [B, 1, 1, S]
  int64_t length = 0;  // target positions decoded so far
  int64_t capacity = 0;
  std::vector<int32_t> source_row;  // per row: the encoded sentence its cross caches hold
  int64_t batch() const { return memory_mask.defined() ? memory_mask.dim(0) : 0; }
  // Keeps, reorders or repeats batch rows (beam search, dropping finished sentences).
  void select_rows(const std::vector<int32_t>& rows);
};

class Transformer : public nn::Module {
 public:
  Transformer(const ModelConfig& config, Rng& init_rng);
  const ModelConfig& config() const { return config_; }

  // src [B, S] -> encoder output [B, S, D]
  Var encode(const TokenMatrix& src, Rng* dropout_rng) const;
  // tgt_in [B, T] with the encoder output -> decoder output [B, T, D]
  Var decode(const TokenMatrix& tgt_in, const Var& memory, const TokenMatrix& src,
             Rng* dropout_rng) const;
  // [..., D] -> [..., V]
  Var logits(const Var& hidden) const;
  // Teacher forcing: src [B, S], tgt_in [B, T] -> logits [B, T, V]
  Var forward(const TokenMatrix& src, const TokenMatrix& tgt_in, Rng* dropout_rng) const;

  // Incremental decoding (no gradients): start() encodes and caches the
  // cross-attention keys/values; step() takes the previous token of each row
  // and returns log-probabilities [B, V] of the next.
  DecoderState start(const TokenMatrix& src, int64_t max_target_length) const;
  Tensor step(DecoderState& state, const std::vector<int32_t>& previous) const;

 private:
  Var embed(const nn::Embedding& table, const std::vector<int32_t>& ids, const Shape& shape,
            int64_t first_position, Rng* dropout_rng) const;

  ModelConfig config_;
  std::unique_ptr<nn::Embedding> src_embed_, tgt_embed_;  // the same object when tied
  std::unique_ptr<nn::Linear> output_;                     // null when tied to tgt_embed_
  std::unique_ptr<nn::Embedding> positions_;               // learned positions only
  Tensor sinusoid_;                                        // [max_positions, D]
  std::vector<std::unique_ptr<EncoderLayer>> encoder_;
  std::vector<std::unique_ptr<DecoderLayer>> decoder_;
  std::unique_ptr<nn::LayerNorm> encoder_norm_, decoder_norm_;  // pre-norm only
};

}  // namespace rosetta
