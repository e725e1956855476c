// The encoder-decoder Transformer of Vaswani et al. (2017): scaled token
// embeddings plus positions, N encoder and N decoder layers (post-norm or
// pre-norm), and an output projection that may share the embedding matrix.
//
// Training runs forward(); translation runs encode() once, then start() and
// step() one target position at a time, with keys and values cached.
#pragma once

#include <memory>
#include <vector>

#include "rosetta/config/model_config.h"
#include "rosetta/data/token_matrix.h"
#include "rosetta/model/attention_masks.h"
#include "rosetta/nn/attention.h"

namespace rosetta {

struct DecoderState;
struct LayerCache;

// Self-attention and feed-forward: an encoder layer, or with a causal mask a
// decoder-only model's layer.
class EncoderLayer : public nn::Module {
 public:
  EncoderLayer(const ModelConfig& config, Rng& init_rng);
  // x [B, S, D], mask [B, 1, 1, S] (or causal [S, S]) -> [B, S, D]
  // self_weights: when given, receives the attention weights [B, H, S, S].
  Var forward(const Var& x, const Tensor& mask, Rng* dropout_rng, Var* self_weights = nullptr) const;
  // A decoder-only model's layer: room for `capacity` positions of `slots` rows, then one position at a
  // time (as DecoderLayer::start and step without cross-attention).
  void start(int64_t capacity, int64_t slots, LayerCache& cache) const;
  Var step(const Var& x, const DecoderState& state, LayerCache& cache) const;

 private:
  ModelConfig config_;
  nn::MultiHeadAttention self_attn_;
  nn::FeedForward ffn_;
  nn::LayerNorm norm1_, norm2_;
};

// Keys and values one decoder layer has seen so far during incremental decoding.
struct LayerCache {
  // Self-attention, position-major [capacity * slots, D]: step t writes its
  // B rows at t * slots .. t * slots + B - 1, and they stay there; rows find
  // their earlier positions through DecoderState::history, so reordering
  // beams moves indices, not keys.
  Tensor self_keys, self_values;
  Tensor cross_keys, cross_values;  // [N, H, S, Dh], one row per sentence, from the encoder output (none: decoder-only)
};

// Everything step() needs to continue a batch of translations. The beams of
// a sentence (consecutive rows, `group` of them) read one copy of its
// cross-attention caches: as `group` queries of one attention row, which
// keeps that memory and its reordering K times smaller under beam search.
struct DecoderState {
  std::vector<LayerCache> layers;
  Tensor memory_mask;  // [N, 1, 1, S], like the cross caches: one row per sentence held
  int64_t length = 0;  // target positions decoded so far
  int64_t capacity = 0;
  int64_t slots = 0;                 // cache rows per position (at least the batch)
  std::vector<int32_t> history;      // [B, capacity]: the cache row of each row's position p
  int64_t group = 1;                 // rows per sentence row; row r reads sentence row r / group
  // Asked by a caller (alignments): the cross-attention weights of this
  // decoder layer at the last step, [rows / group, H, group, S]; -1: none.
  int64_t record_cross_layer = -1;
  Tensor cross_weights;
  std::vector<int32_t> source_row;   // per row: its sentence, as numbered by start()
  int64_t batch() const { return static_cast<int64_t>(source_row.size()); }
  // Keeps, reorders or repeats batch rows (beam search, dropping finished
  // sentences). Rows that come in equal runs of one sentence share its
  // cross-attention row; any other order gives each row a copy.
  void select_rows(const std::vector<int32_t>& rows);
  // Room for `rows` rows at every position of the self-attention caches.
  void reserve_slots(int64_t rows);
};

class DecoderLayer : public nn::Module {
 public:
  DecoderLayer(const ModelConfig& config, Rng& init_rng);
  // x [B, T, D], memory [B, S, D] -> [B, T, D]; causal [T, T], memory_mask [B, 1, 1, S]
  Var forward(const Var& x, const Var& memory, const Tensor& causal, const Tensor& memory_mask,
              Rng* dropout_rng, Var* cross_weights = nullptr, Var* self_weights = nullptr) const;
  // Caches the cross-attention keys and values of memory [N, S, D] and makes
  // room for `capacity` positions of `slots` rows.
  void start(const Var& memory, int64_t capacity, int64_t slots, LayerCache& cache) const;
  // One position: x [B, 1, D] at position state.length -> [B, 1, D]; the
  // state's history must already hold the new position.
  // cross_weights, when given, receives the cross-attention weights.
  Var step(const Var& x, const DecoderState& state, LayerCache& cache, Var* cross_weights = nullptr) const;

 private:
  ModelConfig config_;
  nn::MultiHeadAttention self_attn_, cross_attn_;
  nn::FeedForward ffn_;
  nn::LayerNorm norm1_, norm2_, norm3_;
};

// The attention weights a caller asks Transformer::attention() for: one
// tensor per layer, [B, H, queries, keys]; kinds not asked for stay empty.
struct AttentionRequest {
  bool encoder_self = false, decoder_self = false, cross = false;
  int64_t decoder_layers = -1;  // run (and record) only this many decoder layers; -1: all
};
struct AttentionWeights {
  std::vector<Tensor> encoder_self, decoder_self, cross;
};

class Transformer : public nn::Module {
 public:
  Transformer(const ModelConfig& config, Rng& init_rng);
  const ModelConfig& config() const { return config_; }

  // A decoder-only model takes no source: src is ignored by forward() and
  // loss() and gives only the number of rows to start().
  bool decoder_only() const { return config_.type == ModelType::decoder_only; }
  // An encoder-only model (masked LM) reads src alone: forward() and loss()
  // ignore tgt_in, logits and loss are per source position.
  bool encoder_only() const { return config_.type == ModelType::encoder_only; }

  // src [B, S] -> encoder output [B, S, D]
  Var encode(const TokenMatrix& src, Rng* dropout_rng) const;
  // tgt_in [B, T] with the encoder output -> decoder output [B, T, D]
  Var decode(const TokenMatrix& tgt_in, const Var& memory, const TokenMatrix& src,
             Rng* dropout_rng) const;
  // [..., D] -> [..., V]
  Var logits(const Var& hidden) const;
  // Teacher forcing: src [B, S], tgt_in [B, T] -> logits [B, T, V]
  Var forward(const TokenMatrix& src, const TokenMatrix& tgt_in, Rng* dropout_rng) const;
  // The label-smoothed cross-entropy of tgt_out (pad rows ignored) without
  // the [B, T, V] logits: the output projection and the loss run fused
  // (ops::linear_cross_entropy). nll gets the mean -log p of the targets.
  Var loss(const TokenMatrix& src, const TokenMatrix& tgt_in, const TokenMatrix& tgt_out, float label_smoothing,
           Rng* dropout_rng, double* nll = nullptr) const;

  // A teacher-forced pass (no gradients, no dropout) that records the
  // attention weights asked for; the training and search paths record none.
  AttentionWeights attention(const TokenMatrix& src, const TokenMatrix& tgt_in, const AttentionRequest& request) const;

  // Incremental decoding (no gradients): start() encodes and caches the
  // cross-attention keys/values; step() takes the previous token of each row
  // and returns log-probabilities [B, V] of the next; step_logits() the
  // logits, for a search that needs only the largest and its score.
  DecoderState start(const TokenMatrix& src, int64_t max_target_length) const;
  Tensor step(DecoderState& state, const std::vector<int32_t>& previous) const;
  Tensor step_logits(DecoderState& state, const std::vector<int32_t>& previous) const;

 private:
  Var embed(const nn::Embedding& table, const std::vector<int32_t>& ids, const Shape& shape,
            int64_t first_position, Rng* dropout_rng) const;
  // The last layer's output [B, T, D] for tgt_in, either model type.
  Var hidden(const TokenMatrix& src, const TokenMatrix& tgt_in, Rng* dropout_rng) const;
  // A decoder-only model's layers over tgt_in; self_weights, when given, gets each layer's weights.
  Var causal_stack(const TokenMatrix& tgt_in, Rng* dropout_rng, std::vector<Tensor>* self_weights = nullptr) const;

  ModelConfig config_;
  std::unique_ptr<nn::Embedding> src_embed_, tgt_embed_;  // the same object when tied
  std::unique_ptr<nn::Linear> output_;                     // null when tied to tgt_embed_
  std::unique_ptr<nn::Embedding> positions_;               // learned positions only
  Tensor sinusoid_;                                        // [max_positions, D]
  std::vector<std::unique_ptr<EncoderLayer>> encoder_;
  std::vector<std::unique_ptr<DecoderLayer>> decoder_;
  std::vector<std::unique_ptr<EncoderLayer>> causal_;  // decoder-only: "decoder.layers.N", no cross-attention
  std::unique_ptr<nn::LayerNorm> encoder_norm_, decoder_norm_;  // pre-norm only
};

}  // namespace rosetta
