#include "rosetta/decode/language_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rosetta/error.h"
#include "rosetta/ops/ops.h"
#include "rosetta/ops/precision.h"

namespace rosetta {

std::vector<double> sampling_distribution(const float* log_probs, int64_t vocab, const SamplingOptions& options) {
  check(options.temperature > 0, "temperature must be positive, got ", options.temperature);
  check(options.top_p > 0 && options.top_p <= 1, "top-p must be in (0, 1], got ", options.top_p);
  std::vector<double> p(static_cast<size_t>(vocab));
  double top = -INFINITY;
  for (int64_t v = 0; v < vocab; ++v) {
    const bool never = v == kPadId || v == kBosId || v == kUnkId;
    p[v] = never ? -INFINITY : static_cast<double>(log_probs[v]) / options.temperature;
    top = std::max(top, p[v]);
  }
  double sum = 0;
  for (double& x : p) sum += x = std::exp(x - top);
  for (double& x : p) x /= sum;
  if (options.top_k <= 0 && options.top_p >= 1) return p;  // no cut: no need to order the vocabulary
  // Most likely first (ties by id, so the cut is reproducible).
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
  size_t keep = order.size();
  if (options.top_k > 0) keep = std::min(keep, static_cast<size_t>(options.top_k));
  if (options.top_p < 1) {
    double mass = 0;
    for (size_t i = 0; i < keep; ++i) {
      mass += p[order[i]];
      if (mass >= options.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += p[order[i]];
  std::vector<double> out(static_cast<size_t>(vocab), 0.0);
  for (size_t i = 0; i < keep; ++i) out[order[i]] = p[order[i]] / kept;
  return out;
}

std::vector<std::vector<int32_t>> sample_continuations(const Transformer& model, const std::vector<int32_t>& prompt,
                                                       int64_t n, const SamplingOptions& options) {
  check(model.decoder_only(), "sampling needs a decoder-only model (model.type: decoder_only)");
  check(n >= 1, "at least one sample, got ", n);
  const int64_t positions = model.config().max_positions, vocab = model.config().vocab_size;
  const int64_t prompt_length = static_cast<int64_t>(prompt.size()) + 1;  // with BOS
  check(prompt_length < positions, "the prompt has ", prompt_length, " positions; the model holds ", positions);
  const int64_t length = std::min(options.max_length, positions - prompt_length);
  TokenMatrix rows;
  rows.rows = n;  // a decoder-only model reads only the row count
  const ops::FrozenWeightsScope frozen;  // each step reads the same weights: their decoding layout is made once
  DecoderState state = model.start(rows, prompt_length + length);
  // The prompt, one position at a time (every row the same); the last step's
  // output is the first draw's distribution.
  Tensor log_probs;
  for (int64_t t = 0; t < prompt_length; ++t)
    log_probs = model.step(state, std::vector<int32_t>(static_cast<size_t>(n), t == 0 ? kBosId : prompt[t - 1]));
  Rng rng(options.seed);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  std::vector<bool> done(static_cast<size_t>(n), false);
  for (int64_t t = 0; t < length; ++t) {
    std::vector<int32_t> next(static_cast<size_t>(n), kEosId);
    for (int64_t r = 0; r < n; ++r) {
      if (done[r]) continue;
      const std::vector<double> p = sampling_distribution(log_probs.data() + r * vocab, vocab, options);
      // Inverse CDF; the last piece with weight takes what rounding leaves.
      double u = rng.uniform(), acc = 0;
      int32_t pick = -1;
      for (int64_t v = 0; v < vocab; ++v) {
        if (p[v] <= 0) continue;
        pick = static_cast<int32_t>(v);
        acc += p[v];
        if (u < acc) break;
      }
      next[r] = pick;
      if (pick == kEosId) done[r] = true;
      else out[r].push_back(pick);
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || t + 1 == length) break;
    log_probs = model.step(state, next);  // finished rows feed EOS; their outputs are ignored
  }
  return out;
}

std::vector<SentenceScore> score_sentences(const Transformer& model, const std::vector<std::vector<int32_t>>& sentences,
                                           int64_t batch_size) {
  check(model.decoder_only(), "scoring sentences needs a decoder-only model (model.type: decoder_only)");
  check(batch_size >= 1, "batch size must be at least 1, got ", batch_size);
  NoGradGuard no_grad;
  const int64_t positions = model.config().max_positions, vocab = model.config().vocab_size;
  std::vector<SentenceScore> out(sentences.size());
  for (size_t first = 0; first < sentences.size(); first += static_cast<size_t>(batch_size)) {
    const size_t last = std::min(sentences.size(), first + static_cast<size_t>(batch_size));
    std::vector<std::vector<int32_t>> in, target;
    for (size_t i = first; i < last; ++i) {
      std::vector<int32_t> pieces = sentences[i];
      if (static_cast<int64_t>(pieces.size()) + 1 > positions) pieces.resize(positions - 1);
      in.push_back({kBosId});
      in.back().insert(in.back().end(), pieces.begin(), pieces.end());
      pieces.push_back(kEosId);
      target.push_back(std::move(pieces));
    }
    const TokenMatrix tgt_in = TokenMatrix::from_rows(in, kPadId);
    const Tensor lp = ops::log_softmax(model.forward(TokenMatrix{}, tgt_in, nullptr)).value();  // [B, T, V]
    for (size_t b = 0; b < target.size(); ++b) {
      SentenceScore& s = out[first + b];
      for (size_t t = 0; t < target[b].size(); ++t)
        s.log_prob += lp.data()[(static_cast<int64_t>(b) * tgt_in.cols + static_cast<int64_t>(t)) * vocab + target[b][t]];
      s.tokens = static_cast<int64_t>(target[b].size());
    }
  }
  return out;
}

}  // namespace rosetta
