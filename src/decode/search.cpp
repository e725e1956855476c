#include "rosetta/decode/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void forbid_special(float* row, int64_t vocab) {
  (void)vocab;
  row[kPadId] = kNegInf;
  row[kBosId] = kNegInf;
}

void only_eos(float* row, int64_t vocab) {
  const float eos = row[kEosId];
  std::fill_n(row, vocab, kNegInf);
  row[kEosId] = eos;
}

struct Candidate {
  float score;
  int32_t beam;
  int32_t token;
};

// max(x[0 .. n-1]), -inf when n is 0; in 16 lanes, which the compiler keeps in one vector register.
float block_max(const float* x, int64_t n) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes];
  std::fill_n(lanes, kLanes, kNegInf);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  float best = kNegInf;
  for (; i < n; ++i) best = std::max(best, x[i]);
  for (float lane : lanes) best = std::max(best, lane);
  return best;
}

// The first largest of row[0 .. vocab-1] other than PAD and BOS (as
// std::max_element after forbid_special): the largest of each block in
// vector registers, then the first in the block that holds it. The row is
// left as it was.
int32_t best_allowed_token(float* row, int64_t vocab) {
  const float pad = row[kPadId], bos = row[kBosId];
  forbid_special(row, vocab);
  constexpr int64_t kBlock = 64;
  float best = kNegInf;
  int64_t best_block = 0;
  for (int64_t start = 0; start < vocab; start += kBlock) {
    const float m = block_max(row + start, std::min(kBlock, vocab - start));
    if (m > best) {
      best = m;
      best_block = start;
    }
  }
  float* end = row + std::min(vocab, best_block + kBlock);
  const int32_t token = static_cast<int32_t>(std::find(row + best_block, end, best) - row);
  row[kPadId] = pad;
  row[kBosId] = bos;
  return token;
}

// The best `count` of base[b] + row_b[v] over beams b and tokens v, best first.
std::vector<Candidate> top_candidates(const float* log_probs, const std::vector<float>& base, int64_t beams,
                                      int64_t vocab, size_t count) {
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.score > b.score || (a.score == b.score && (a.beam < b.beam || (a.beam == b.beam && a.token < b.token)));
  };
  std::vector<Candidate> heap;  // min-heap on score: the worst kept candidate on top
  heap.reserve(count + 1);
  // Once the heap is full, few tokens beat its worst: blocks whose maximum
  // does not are skipped after a vectorised scan.
  constexpr int64_t kBlock = 64;
  for (int64_t b = 0; b < beams; ++b) {
    if (base[b] == kNegInf) continue;
    const float* row = log_probs + b * vocab;
    for (int64_t start = 0; start < vocab; start += kBlock) {
      const int64_t end = std::min(vocab, start + kBlock);
      if (heap.size() == count && base[b] + block_max(row + start, end - start) <= heap.front().score) continue;
      for (int64_t v = start; v < end; ++v) {
        const float s = base[b] + row[v];
        if (s == kNegInf) continue;
        if (heap.size() == count && s <= heap.front().score) continue;
        heap.push_back({s, static_cast<int32_t>(b), static_cast<int32_t>(v)});
        std::push_heap(heap.begin(), heap.end(), worse);
        if (heap.size() > count) {
          std::pop_heap(heap.begin(), heap.end(), worse);
          heap.pop_back();
        }
      }
    }
  }
  std::sort_heap(heap.begin(), heap.end(), worse);
  return heap;
}

// Row r's recorded cross-attention, averaged over the heads asked for.
std::vector<float> attention_row(const DecoderState& state, const SearchOptions& options, int64_t r) {
  const Tensor& w = state.cross_weights;  // [rows / group, H, group, S]
  const int64_t heads = w.dim(1), group = w.dim(2), width = w.dim(3);
  std::vector<float> row(static_cast<size_t>(width), 0.0f);
  const auto add_head = [&](int64_t h) {
    const float* p = w.data() + (((r / group) * heads + h) * group + r % group) * width;
    for (int64_t s = 0; s < width; ++s) row[s] += p[s];
  };
  if (options.attention_heads.empty())
    for (int64_t h = 0; h < heads; ++h) add_head(h);
  for (int64_t h : options.attention_heads) add_head(h);
  const float count = static_cast<float>(options.attention_heads.empty() ? heads : options.attention_heads.size());
  for (float& x : row) x /= count;
  return row;
}

// A layer and heads the model has, when attention is to be recorded.
void check_attention_options(const Transformer& model, const SearchOptions& options) {
  if (options.attention_layer < 0) return;
  const ModelConfig& c = model.config();
  check(options.attention_layer < c.decoder_layers, "search: attention layer ", options.attention_layer,
        " of a model with ", c.decoder_layers, " decoder layers");
  for (int64_t h : options.attention_heads)
    check(h >= 0 && h < c.heads, "search: attention head ", h, " of a model with ", c.heads, " heads");
}

TokenMatrix batch_of(const std::vector<std::vector<int32_t>>& sources) {
  for (const auto& s : sources) check(!s.empty() && s.back() == kEosId, "search: every source must end with EOS");
  return TokenMatrix::from_rows(sources, kPadId);
}

}  // namespace

int64_t max_output_length(const SearchOptions& o, int64_t src_tokens) {
  return static_cast<int64_t>(o.max_length_a * static_cast<float>(src_tokens)) + o.max_length_b;
}

std::vector<Hypothesis> greedy_search(const Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                      const SearchOptions& options) {
  const int64_t n = static_cast<int64_t>(sources.size());
  std::vector<Hypothesis> out(n);
  if (n == 0) return out;
  std::vector<int64_t> cap(n);
  int64_t longest = 0;
  for (int64_t i = 0; i < n; ++i) longest = std::max(longest, cap[i] = max_output_length(options, sources[i].size()));
  check_attention_options(model, options);
  DecoderState state = model.start(batch_of(sources), longest);
  state.record_cross_layer = options.attention_layer;
  const bool record = options.attention_layer >= 0;
  const int64_t vocab = model.config().vocab_size;
  std::vector<int32_t> alive(n), previous(n, kBosId);
  std::iota(alive.begin(), alive.end(), 0);
  for (int64_t t = 0; t < longest && !alive.empty(); ++t) {
    // The largest logit is the most probable token: only its log-probability is worked out.
    Tensor logits = model.step_logits(state, previous);  // [alive, V]
    std::vector<int32_t> picked(alive.size());
    for (size_t j = 0; j < alive.size(); ++j) picked[j] = best_allowed_token(logits.data() + j * vocab, vocab);
    const std::vector<float> log_p =
        options.greedy_scores ? ops::token_log_probabilities(logits, picked) : std::vector<float>(picked.size(), 0.0f);
    std::vector<int32_t> keep, next;
    for (size_t j = 0; j < alive.size(); ++j) {
      const int32_t token = picked[j];
      Hypothesis& h = out[alive[j]];
      h.score += log_p[j];
      if (token == kEosId) continue;
      h.tokens.push_back(token);
      if (record) h.attention.push_back(attention_row(state, options, static_cast<int64_t>(j)));
      if (t + 1 < cap[alive[j]]) {
        keep.push_back(static_cast<int32_t>(j));
        next.push_back(token);
      }
    }
    if (keep.size() < alive.size() && !keep.empty()) {
      state.select_rows(keep);
      std::vector<int32_t> still;
      for (int32_t j : keep) still.push_back(alive[j]);
      alive = std::move(still);
    } else if (keep.empty()) {
      alive.clear();
    }
    previous = std::move(next);
  }
  return out;
}

std::vector<std::vector<Hypothesis>> beam_search(const Transformer& model,
                                                 const std::vector<std::vector<int32_t>>& sources,
                                                 const SearchOptions& options) {
  const int64_t n = static_cast<int64_t>(sources.size());
  const int64_t k = options.beam_size;
  check(k >= 1, "beam size must be at least 1");
  check(options.n_best >= 1 && options.n_best <= k, "n-best ", options.n_best, " must be between 1 and the beam size ", k);
  std::vector<std::vector<Hypothesis>> finished(n);
  if (n == 0) return finished;
  std::vector<int64_t> cap(n);
  int64_t longest = 0;
  for (int64_t i = 0; i < n; ++i) longest = std::max(longest, cap[i] = max_output_length(options, sources[i].size()));

  // The K beams of a sentence start identical: the first step runs one row
  // per sentence, and its best K continuations make the K beams.
  check_attention_options(model, options);
  DecoderState state = model.start(batch_of(sources), longest);
  state.record_cross_layer = options.attention_layer;
  const bool record = options.attention_layer >= 0;
  std::vector<std::vector<std::vector<float>>> attention(n);  // per row: a row a token so far
  const int64_t vocab = model.config().vocab_size;
  std::vector<int32_t> alive(n);
  std::iota(alive.begin(), alive.end(), 0);
  std::vector<float> scores(n, 0.0f);
  std::vector<std::vector<int32_t>> history(n);
  std::vector<int32_t> previous(n, kBosId);

  auto normalized = [&](float score, int64_t length) {
    return options.length_penalty == 1.0f ? score / static_cast<float>(length)
                                          : score / std::pow(static_cast<float>(length), options.length_penalty);
  };

  for (int64_t t = 0; t < longest && !alive.empty(); ++t) {
    const int64_t beams = t == 0 ? 1 : k;           // rows per sentence
    Tensor log_probs = model.step(state, previous);  // [alive * beams, V]
    std::vector<int32_t> rows, tokens;
    std::vector<float> next_scores;
    std::vector<std::vector<int32_t>> next_history;
    std::vector<std::vector<std::vector<float>>> next_attention;
    std::vector<int32_t> next_alive;
    for (size_t j = 0; j < alive.size(); ++j) {
      const int32_t sentence = alive[j];
      float* block = log_probs.data() + j * beams * vocab;
      for (int64_t b = 0; b < beams; ++b) {
        forbid_special(block + b * vocab, vocab);
        if (t + 1 == cap[sentence]) only_eos(block + b * vocab, vocab);
      }
      const std::vector<float> base(scores.begin() + j * beams, scores.begin() + (j + 1) * beams);
      const auto candidates = top_candidates(block, base, beams, vocab, static_cast<size_t>(2 * k));
      std::vector<const Candidate*> continuing;
      for (size_t c = 0; c < candidates.size(); ++c) {
        const Candidate& cand = candidates[c];
        if (cand.token == kEosId) {
          if (static_cast<int64_t>(c) < k) {
            finished[sentence].push_back({history[j * beams + cand.beam], normalized(cand.score, t + 1), {}});
            if (record) finished[sentence].back().attention = attention[j * beams + cand.beam];
          }
        } else if (static_cast<int64_t>(continuing.size()) < k) {
          continuing.push_back(&cand);
        }
      }
      if (static_cast<int64_t>(finished[sentence].size()) >= k || continuing.empty()) continue;
      next_alive.push_back(sentence);
      // Fewer than K continuations (a vocabulary smaller than the beam): the
      // missing beams are dead copies of the first, scored -inf, which
      // top_candidates never extends.
      for (int64_t c = 0; c < k; ++c) {
        const bool live = c < static_cast<int64_t>(continuing.size());
        const Candidate* cand = continuing[live ? c : 0];
        const int64_t row = static_cast<int64_t>(j) * beams + cand->beam;
        rows.push_back(static_cast<int32_t>(row));
        tokens.push_back(cand->token);
        next_scores.push_back(live ? cand->score : kNegInf);
        std::vector<int32_t> h = history[row];
        h.push_back(cand->token);
        next_history.push_back(std::move(h));
        if (record) {
          std::vector<std::vector<float>> a = attention[row];
          a.push_back(attention_row(state, options, row));
          next_attention.push_back(std::move(a));
        }
      }
    }
    if (next_alive.empty()) break;
    state.select_rows(rows);
    alive = std::move(next_alive);
    scores = std::move(next_scores);
    history = std::move(next_history);
    attention = std::move(next_attention);
    previous = std::move(tokens);
  }

  for (auto& hyps : finished) {
    std::stable_sort(hyps.begin(), hyps.end(), [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
    if (static_cast<int64_t>(hyps.size()) > options.n_best) hyps.resize(options.n_best);
  }
  return finished;
}

}  // namespace rosetta
