#include "rosetta/model/transformer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rosetta/error.h"
#include "rosetta/nn/init.h"
#include "rosetta/ops/tensor_ops.h"

namespace rosetta {

namespace {

nn::FeedForward::Activation ffn_activation(const ModelConfig& c) {
  return c.activation == ActivationKind::relu ? nn::FeedForward::Activation::relu
                                              : nn::FeedForward::Activation::gelu;
}

// Post-norm: norm(x + drop(f(x))). Pre-norm: x + drop(f(norm(x))).
template <typename Sublayer>
Var residual_block(const ModelConfig& c, const Var& x, const nn::LayerNorm& norm, Rng* rng,
                   Sublayer f) {
  if (c.norm == NormPosition::pre) {
    Var out = f(norm.forward(x));
    if (rng) out = ops::dropout(out, c.dropout, *rng);
    return ops::add(x, out);
  }
  return norm.forward_residual(x, f(x), c.dropout, rng);
}

Tensor embedding_table(const ModelConfig& c, int64_t rows, Rng& rng) {
  Tensor table = nn::init::normal({rows, c.d_model}, 1.0f / std::sqrt(static_cast<float>(c.d_model)), rng);
  std::fill_n(table.data() + c.pad_id * c.d_model, c.d_model, 0.0f);  // as padding_idx does
  return table;
}

// With all embeddings tied the target side reads the source table.
const nn::Embedding& target_table(const std::unique_ptr<nn::Embedding>& tgt,
                                  const std::unique_ptr<nn::Embedding>& src) {
  return tgt ? *tgt : *src;
}

}  // namespace

// ---- encoder layer --------------------------------------------------------

EncoderLayer::EncoderLayer(const ModelConfig& config, Rng& init_rng)
    : config_(config),
      self_attn_(config.d_model, config.heads, config.attention_dropout, init_rng),
      ffn_(config.d_model, config.ffn, ffn_activation(config), config.activation_dropout, init_rng),
      norm1_(config.d_model, config.layer_norm_eps),
      norm2_(config.d_model, config.layer_norm_eps) {
  register_module("self_attn", self_attn_);
  register_module("ffn", ffn_);
  register_module("norm1", norm1_);
  register_module("norm2", norm2_);
}

Var EncoderLayer::forward(const Var& x, const Tensor& mask, Rng* rng, Var* self_weights) const {
  Var h = residual_block(config_, x, norm1_, rng,
                         [&](const Var& in) { return self_attn_.forward(in, in, mask, rng, self_weights); });
  return residual_block(config_, h, norm2_, rng, [&](const Var& in) { return ffn_.forward(in, rng); });
}

void EncoderLayer::start(int64_t capacity, int64_t slots, LayerCache& cache) const {
  cache.self_keys = Tensor::empty({capacity * slots, config_.d_model});
  cache.self_values = Tensor::empty({capacity * slots, config_.d_model});
}

Var EncoderLayer::step(const Var& x, const DecoderState& state, LayerCache& cache) const {
  Var h = residual_block(config_, x, norm1_, nullptr, [&](const Var& in) {
    return self_attn_.step(in, cache.self_keys, cache.self_values, state.length * state.slots, state.history,
                           state.capacity, state.length + 1);
  });
  return residual_block(config_, h, norm2_, nullptr, [&](const Var& in) { return ffn_.forward(in, nullptr); });
}

// ---- decoder layer --------------------------------------------------------

DecoderLayer::DecoderLayer(const ModelConfig& config, Rng& init_rng)
    : config_(config),
      self_attn_(config.d_model, config.heads, config.attention_dropout, init_rng),
      cross_attn_(config.d_model, config.heads, config.attention_dropout, init_rng),
      ffn_(config.d_model, config.ffn, ffn_activation(config), config.activation_dropout, init_rng),
      norm1_(config.d_model, config.layer_norm_eps),
      norm2_(config.d_model, config.layer_norm_eps),
      norm3_(config.d_model, config.layer_norm_eps) {
  register_module("self_attn", self_attn_);
  register_module("cross_attn", cross_attn_);
  register_module("ffn", ffn_);
  register_module("norm1", norm1_);
  register_module("norm2", norm2_);
  register_module("norm3", norm3_);
}

Var DecoderLayer::forward(const Var& x, const Var& memory, const Tensor& causal,
                          const Tensor& memory_mask, Rng* rng, Var* cross_weights, Var* self_weights) const {
  Var h = residual_block(config_, x, norm1_, rng,
                         [&](const Var& in) { return self_attn_.forward(in, in, causal, rng, self_weights); });
  h = residual_block(config_, h, norm2_, rng, [&](const Var& in) {
    return cross_attn_.forward(in, memory, memory_mask, rng, cross_weights);
  });
  return residual_block(config_, h, norm3_, rng, [&](const Var& in) { return ffn_.forward(in, rng); });
}

void DecoderLayer::start(const Var& memory, int64_t capacity, int64_t slots, LayerCache& cache) const {
  cache.cross_keys = ops::contiguous(cross_attn_.project_key(memory).value());      // [N, H, S, Dh]
  cache.cross_values = ops::contiguous(cross_attn_.project_value(memory).value());  // [N, H, S, Dh]
  cache.self_keys = Tensor::empty({capacity * slots, config_.d_model});
  cache.self_values = Tensor::empty({capacity * slots, config_.d_model});
}

Var DecoderLayer::step(const Var& x, const DecoderState& state, LayerCache& cache, Var* cross_weights) const {
  Var h = residual_block(config_, x, norm1_, nullptr, [&](const Var& in) {
    return self_attn_.step(in, cache.self_keys, cache.self_values, state.length * state.slots, state.history,
                           state.capacity, state.length + 1);
  });
  h = residual_block(config_, h, norm2_, nullptr, [&](const Var& in) {
    return cross_attn_.step_over_memory(in, cache.cross_keys, cache.cross_values, state.memory_mask, state.group,
                                        cross_weights);
  });
  return residual_block(config_, h, norm3_, nullptr,
                        [&](const Var& in) { return ffn_.forward(in, nullptr); });
}

void DecoderState::reserve_slots(int64_t rows) {
  if (rows <= slots) return;
  // Beam search widens the batch K times after its first step: move the
  // positions written so far to the wider layout.
  for (LayerCache& c : layers) {
    for (Tensor* cache : {&c.self_keys, &c.self_values}) {
      const int64_t d = cache->dim(1);
      Tensor wider = Tensor::empty({capacity * rows, d});
      for (int64_t p = 0; p < length; ++p)
        ops::copy_into(cache->narrow(0, p * slots, slots), wider.narrow(0, p * rows, slots));
      *cache = wider;
    }
  }
  for (size_t r = 0; r < source_row.size(); ++r)
    for (int64_t p = 0; p < length; ++p) {
      int32_t& row = history[r * capacity + p];
      row = static_cast<int32_t>(row / slots * rows + row % slots);
    }
  slots = rows;
}

void DecoderState::select_rows(const std::vector<int32_t>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  std::vector<int32_t> sources(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) sources[i] = source_row.at(static_cast<size_t>(rows[i]));
  // Rows in equal runs of one sentence (beam search's K beams) share a
  // cross-attention row; otherwise each row gets one.
  int64_t run = 1;
  while (run < n && sources[run] == sources[0]) ++run;
  bool grouped = n % run == 0;
  for (int64_t i = 0; grouped && i < n; ++i) grouped = sources[i] == sources[i - i % run];
  const int64_t next_group = grouped ? run : 1;
  // The sentence of each cross-cache row: its group's first row's.
  auto sentences_held = [](const std::vector<int32_t>& row_sentences, int64_t group_size) {
    std::vector<int32_t> held;
    for (size_t i = 0; i < row_sentences.size(); i += static_cast<size_t>(group_size)) held.push_back(row_sentences[i]);
    return held;
  };
  const std::vector<int32_t> held = sentences_held(source_row, group);
  const std::vector<int32_t> next_held = sentences_held(sources, next_group);

  // A row's self-attention history is its parent's.
  std::vector<int32_t> next_history(static_cast<size_t>(n * capacity));
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(history.begin() + rows[i] * capacity, length, next_history.begin() + i * capacity);
  history = std::move(next_history);
  // The cross caches move only when the set of sentences changes (a
  // decoder-only model has none).
  if (next_held != held && memory_mask.defined()) {
    std::vector<int32_t> row_of(*std::max_element(held.begin(), held.end()) + 1, -1);
    for (size_t i = 0; i < held.size(); ++i) row_of[held[i]] = static_cast<int32_t>(i);
    std::vector<int32_t> cross_rows;
    for (int32_t sentence : next_held) cross_rows.push_back(row_of.at(sentence));
    for (LayerCache& c : layers) {
      c.cross_keys = ops::gather_rows(c.cross_keys, cross_rows);
      c.cross_values = ops::gather_rows(c.cross_values, cross_rows);
    }
    memory_mask = ops::gather_rows(memory_mask, cross_rows);
  }
  group = next_group;
  source_row = std::move(sources);
}

// ---- transformer ----------------------------------------------------------

Transformer::Transformer(const ModelConfig& config, Rng& init_rng) : config_(config) {
  check(config.d_model > 0 && config.heads > 0 && config.d_model % config.heads == 0, "d_model ",
        config.d_model, " is not divisible by heads ", config.heads);
  if (config_.src_vocab_size == 0) config_.src_vocab_size = config.vocab_size;
  check(config.tying != EmbeddingTying::all || config_.src_vocab_size == config.vocab_size,
        "tied source and target embeddings need one vocabulary, got ", config_.src_vocab_size, " and ",
        config.vocab_size, " pieces");
  check(config.pad_id >= 0 && config.pad_id < std::min(config.vocab_size, config_.src_vocab_size), "pad id ",
        config.pad_id, " is outside the vocabulary of ", std::min(config.vocab_size, config_.src_vocab_size));
  src_embed_ = std::make_unique<nn::Embedding>(embedding_table(config, config_.src_vocab_size, init_rng), config.pad_id);
  if (config.tying == EmbeddingTying::all) {
    register_module("embedding", *src_embed_);
  } else {
    tgt_embed_ = std::make_unique<nn::Embedding>(embedding_table(config, config.vocab_size, init_rng), config.pad_id);
    register_module("src_embedding", *src_embed_);
    register_module("tgt_embedding", *tgt_embed_);
  }
  if (config.tying == EmbeddingTying::none) {
    output_ = std::make_unique<nn::Linear>(
        nn::init::normal({config.vocab_size, config.d_model},
                         1.0f / std::sqrt(static_cast<float>(config.d_model)), init_rng),
        -1.0f, init_rng);
    register_module("output_projection", *output_);
  }
  if (config.positional == PositionalKind::learned) {
    positions_ = std::make_unique<nn::Embedding>(
        nn::init::normal({config.max_positions, config.d_model},
                         1.0f / std::sqrt(static_cast<float>(config.d_model)), init_rng),
        -1);
    register_module("positions", *positions_);
  } else {
    sinusoid_ = nn::sinusoidal_table(config.max_positions, config.d_model);
  }
  if (decoder_only()) {
    config_.encoder_layers = 0;
    for (int64_t i = 0; i < config.decoder_layers; ++i) {
      causal_.push_back(std::make_unique<EncoderLayer>(config_, init_rng));
      register_module("decoder.layers." + std::to_string(i), *causal_.back());
    }
  } else {
    if (encoder_only()) config_.decoder_layers = 0;
    for (int64_t i = 0; i < config.encoder_layers; ++i) {
      encoder_.push_back(std::make_unique<EncoderLayer>(config_, init_rng));
      register_module("encoder.layers." + std::to_string(i), *encoder_.back());
    }
    for (int64_t i = 0; i < config_.decoder_layers; ++i) {
      decoder_.push_back(std::make_unique<DecoderLayer>(config_, init_rng));
      register_module("decoder.layers." + std::to_string(i), *decoder_.back());
    }
  }
  if (config.norm == NormPosition::pre) {
    if (!decoder_only()) {
      encoder_norm_ = std::make_unique<nn::LayerNorm>(config.d_model, config.layer_norm_eps);
      register_module("encoder.norm", *encoder_norm_);
    }
    if (!encoder_only()) {
      decoder_norm_ = std::make_unique<nn::LayerNorm>(config.d_model, config.layer_norm_eps);
      register_module("decoder.norm", *decoder_norm_);
    }
  }
}

Var Transformer::embed(const nn::Embedding& table, const std::vector<int32_t>& ids,
                       const Shape& shape, int64_t first_position, Rng* rng) const {
  const int64_t length = shape[1];
  check(first_position + length <= config_.max_positions, "sequence of ", first_position + length,
        " positions exceeds model.max_positions ", config_.max_positions);
  Var x = ops::scale(table.forward(ids, shape), std::sqrt(static_cast<float>(config_.d_model)));
  if (positions_) {
    std::vector<int32_t> pos(length);
    for (int64_t i = 0; i < length; ++i) pos[i] = static_cast<int32_t>(first_position + i);
    x = ops::add(x, positions_->forward(pos, {1, length}));  // [B, T, D] + [1, T, D]
  } else {
    x = ops::add_constant(x, sinusoid_.narrow(0, first_position, length).view({1, length, config_.d_model}));
  }
  return rng ? ops::dropout(x, config_.dropout, *rng) : x;
}

Var Transformer::encode(const TokenMatrix& src, Rng* rng) const {
  check(!decoder_only(), "a decoder-only model has no encoder");
  const Tensor mask = key_padding_mask(src, config_.pad_id);  // [B, 1, 1, S]
  Var x = embed(*src_embed_, src.ids, src.shape(), 0, rng);  // [B, S, D]
  for (const auto& layer : encoder_) x = layer->forward(x, mask, rng);
  return encoder_norm_ ? encoder_norm_->forward(x) : x;
}

Var Transformer::decode(const TokenMatrix& tgt_in, const Var& memory, const TokenMatrix& src,
                        Rng* rng) const {
  const Tensor memory_mask = key_padding_mask(src, config_.pad_id);  // [B, 1, 1, S]
  const Tensor causal = causal_mask(tgt_in.cols);                    // [T, T]
  Var x = embed(target_table(tgt_embed_, src_embed_), tgt_in.ids, tgt_in.shape(), 0, rng);
  for (const auto& layer : decoder_) x = layer->forward(x, memory, causal, memory_mask, rng);
  return decoder_norm_ ? decoder_norm_->forward(x) : x;  // [B, T, D]
}

Var Transformer::causal_stack(const TokenMatrix& tgt_in, Rng* rng, std::vector<Tensor>* self_weights) const {
  const Tensor causal = causal_mask(tgt_in.cols);  // [T, T]; padding sits after every real token
  Var x = embed(target_table(tgt_embed_, src_embed_), tgt_in.ids, tgt_in.shape(), 0, rng);
  for (const auto& layer : causal_) {
    Var weights;
    x = layer->forward(x, causal, rng, self_weights ? &weights : nullptr);
    if (self_weights) self_weights->push_back(weights.value());
  }
  return decoder_norm_ ? decoder_norm_->forward(x) : x;  // [B, T, D]
}

Var Transformer::hidden(const TokenMatrix& src, const TokenMatrix& tgt_in, Rng* rng) const {
  if (decoder_only()) return causal_stack(tgt_in, rng);
  if (encoder_only()) return encode(src, rng);
  check(src.rows == tgt_in.rows, "source batch of ", src.rows, " rows, target batch of ", tgt_in.rows);
  return decode(tgt_in, encode(src, rng), src, rng);
}

AttentionWeights Transformer::attention(const TokenMatrix& src, const TokenMatrix& tgt_in,
                                        const AttentionRequest& request) const {
  NoGradGuard no_grad;
  AttentionWeights out;
  if (decoder_only()) {
    if (request.decoder_self) causal_stack(tgt_in, nullptr, &out.decoder_self);
    return out;
  }
  check(src.rows == tgt_in.rows, "source batch of ", src.rows, " rows, target batch of ", tgt_in.rows);
  const Tensor mask = key_padding_mask(src, config_.pad_id);  // [B, 1, 1, S]
  Var x = embed(*src_embed_, src.ids, src.shape(), 0, nullptr);
  for (const auto& layer : encoder_) {
    Var weights;
    x = layer->forward(x, mask, nullptr, request.encoder_self ? &weights : nullptr);
    if (request.encoder_self) out.encoder_self.push_back(weights.value());
  }
  const Var memory = encoder_norm_ ? encoder_norm_->forward(x) : x;
  if (!request.decoder_self && !request.cross) return out;
  const Tensor causal = causal_mask(tgt_in.cols);
  Var y = embed(target_table(tgt_embed_, src_embed_), tgt_in.ids, tgt_in.shape(), 0, nullptr);
  const size_t layers = request.decoder_layers < 0 ? decoder_.size()
                                                  : std::min(decoder_.size(), static_cast<size_t>(request.decoder_layers));
  for (size_t l = 0; l < layers; ++l) {
    const auto& layer = decoder_[l];
    Var cross, self;
    y = layer->forward(y, memory, causal, mask, nullptr, request.cross ? &cross : nullptr,
                       request.decoder_self ? &self : nullptr);
    if (request.cross) out.cross.push_back(cross.value());
    if (request.decoder_self) out.decoder_self.push_back(self.value());
  }
  return out;
}

Var Transformer::logits(const Var& hidden) const {
  if (output_) return output_->forward(hidden);
  return ops::linear(hidden, target_table(tgt_embed_, src_embed_).table(), Var());
}

Var Transformer::forward(const TokenMatrix& src, const TokenMatrix& tgt_in, Rng* rng) const {
  return logits(hidden(src, tgt_in, rng));  // [B, T, V]
}

Var Transformer::loss(const TokenMatrix& src, const TokenMatrix& tgt_in, const TokenMatrix& tgt_out,
                      float label_smoothing, Rng* rng, double* nll) const {
  const TokenMatrix& positions = encoder_only() ? src : tgt_in;  // what tgt_out labels, position by position
  check(positions.rows == tgt_out.rows && positions.cols == tgt_out.cols, encoder_only() ? "source " : "target input ",
        positions.rows, "x", positions.cols, " and output ", tgt_out.rows, "x", tgt_out.cols, " differ");
  const Var rows = ops::reshape(hidden(src, tgt_in, rng), {-1, config_.d_model});  // [B * T, D]
  const Var& weight = output_ ? output_->weight() : target_table(tgt_embed_, src_embed_).table();
  const Var bias = output_ ? output_->bias() : Var();
  return ops::linear_cross_entropy(rows, weight, bias, tgt_out.ids, label_smoothing, config_.pad_id, nll);
}

DecoderState Transformer::start(const TokenMatrix& src, int64_t max_target_length) const {
  check(!encoder_only(), "an encoder-only model does not decode");
  NoGradGuard no_grad;
  DecoderState state;
  state.capacity = max_target_length;
  state.slots = src.rows;
  state.history.resize(static_cast<size_t>(src.rows * max_target_length));
  state.source_row.resize(static_cast<size_t>(src.rows));
  std::iota(state.source_row.begin(), state.source_row.end(), 0);
  if (decoder_only()) {
    state.layers.resize(causal_.size());
    for (size_t i = 0; i < causal_.size(); ++i) causal_[i]->start(max_target_length, state.slots, state.layers[i]);
    return state;
  }
  const Var memory = encode(src, nullptr);
  state.memory_mask = key_padding_mask(src, config_.pad_id);
  state.layers.resize(decoder_.size());
  for (size_t i = 0; i < decoder_.size(); ++i)
    decoder_[i]->start(memory, max_target_length, state.slots, state.layers[i]);
  return state;
}

Tensor Transformer::step(DecoderState& state, const std::vector<int32_t>& previous) const {
  NoGradGuard no_grad;
  return ops::log_softmax(Var(step_logits(state, previous))).value();
}

Tensor Transformer::step_logits(DecoderState& state, const std::vector<int32_t>& previous) const {
  NoGradGuard no_grad;
  const int64_t b = static_cast<int64_t>(previous.size());
  check(b == state.batch(), "step() got ", b, " tokens for a batch of ", state.batch());
  check(state.length < state.capacity, "step() past the decoder state's capacity of ",
        state.capacity, " positions");
  state.reserve_slots(b);
  for (int64_t r = 0; r < b; ++r)  // this position of row r goes to slot r
    state.history[r * state.capacity + state.length] = static_cast<int32_t>(state.length * state.slots + r);
  Var x = embed(target_table(tgt_embed_, src_embed_), previous, {b, 1}, state.length, nullptr);
  for (size_t i = 0; i < causal_.size(); ++i) x = causal_[i]->step(x, state, state.layers[i]);
  for (size_t i = 0; i < decoder_.size(); ++i) {
    const bool record = static_cast<int64_t>(i) == state.record_cross_layer;
    Var weights;
    x = decoder_[i]->step(x, state, state.layers[i], record ? &weights : nullptr);
    if (record) state.cross_weights = weights.value();
  }
  if (decoder_norm_) x = decoder_norm_->forward(x);
  ++state.length;
  return logits(x).value().view({b, config_.vocab_size});  // [B, V]
}

}  // namespace rosetta
