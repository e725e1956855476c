// Beam and greedy search against results computed apart from them: every
// score is recomputed by scoring the hypothesis with the model's full
// (teacher-forced, non-incremental) forward and a log-softmax taken here in
// double, and the widest beam is compared with exhaustive enumeration of
// every output the length cap allows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "rosetta/decode/search.h"
#include "rosetta/model/transformer.h"
#include "rosetta/ops/ops.h"
#include "rosetta/tensor/threads.h"

namespace rosetta {
namespace {

// Models this small gain nothing from a second thread, and OpenMP's waits
// make them slow on a busy machine.
class OneThread {
 public:
  OneThread() : saved_(num_threads()) { set_num_threads(1); }
  ~OneThread() { set_num_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

// Random (untrained) models: their distributions are far from peaked, which
// is what makes beam search differ from greedy and n-best lists non-trivial.
ModelConfig tiny_model(int64_t vocab) {
  return ModelConfig{.vocab_size = vocab, .d_model = 8, .heads = 2, .ffn = 16, .encoder_layers = 1,
                     .decoder_layers = 1, .dropout = 0.0f, .attention_dropout = 0.0f,
                     .activation_dropout = 0.0f, .max_positions = 64};
}

// log p(tokens, EOS | source): one full forward over BOS + tokens, the
// log-softmax of its logits in double, summed over the tokens and EOS.
double sequence_log_prob(const Transformer& model, const std::vector<int32_t>& source,
                         const std::vector<int32_t>& tokens) {
  NoGradGuard no_grad;
  std::vector<int32_t> in = {kBosId};
  in.insert(in.end(), tokens.begin(), tokens.end());
  std::vector<int32_t> out = tokens;
  out.push_back(kEosId);
  const auto logits = model.forward(TokenMatrix::from_rows({source}, kPadId), TokenMatrix::from_rows({in}, kPadId), nullptr)
                          .value()
                          .to_vector();  // [1, T, V]
  const int64_t vocab = model.config().vocab_size;
  double total = 0;
  for (size_t t = 0; t < out.size(); ++t) {
    const float* row = logits.data() + t * vocab;
    const double top = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - top);
    total += static_cast<double>(row[out[t]]) - top - std::log(sum);
  }
  return total;
}

// The search's score: the sum over the tokens and EOS divided by the
// length (tokens + EOS) to the power A.
double normalised(double log_prob, size_t tokens, double a) {
  return log_prob / std::pow(static_cast<double>(tokens + 1), a);
}

// Source sentences (pieces + EOS) of 1 to 6 random ordinary tokens.
std::vector<std::vector<int32_t>> random_sources(size_t n, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<int32_t>> sources;
  for (size_t i = 0; i < n; ++i) {
    std::vector<int32_t> s;
    const size_t length = 1 + rng.next_u64() % 6;
    for (size_t j = 0; j < length; ++j) s.push_back(static_cast<int32_t>(4 + rng.next_u64() % (vocab - 4)));
    s.push_back(kEosId);
    sources.push_back(s);
  }
  return sources;
}

bool has_special(const std::vector<int32_t>& tokens) {
  return std::any_of(tokens.begin(), tokens.end(), [](int32_t t) { return t == kPadId || t == kBosId || t == kEosId; });
}

// Greedy search (beam 1 in the translator) and beam search with K = 1 take
// the same argmax path. They differ only at the length cap L, as the PyTorch
// reference's two searches do: beam search forces EOS as the L-th output
// (L - 1 tokens), greedy emits an L-th ordinary token and stops there.
// Without scores greedy search picks the same tokens (the largest logit is
// the most probable token) and leaves every score at 0.
TEST(Search, GreedyWithoutScoresPicksTheSameTokens) {
  const OneThread one_thread;
  Rng rng(7);
  const Transformer model(tiny_model(8), rng);
  const auto sources = random_sources(12, 8, 7);
  SearchOptions options{.beam_size = 1, .max_length_a = 1.0f, .max_length_b = 4};
  const auto scored = greedy_search(model, sources, options);
  options.greedy_scores = false;
  const auto unscored = greedy_search(model, sources, options);
  ASSERT_EQ(unscored.size(), scored.size());
  int nonzero = 0;
  for (size_t i = 0; i < scored.size(); ++i) {
    EXPECT_EQ(unscored[i].tokens, scored[i].tokens) << "line " << i;
    EXPECT_EQ(unscored[i].score, 0.0f) << "line " << i;
    nonzero += scored[i].score < 0.0f;
  }
  EXPECT_EQ(nonzero, static_cast<int>(scored.size()));  // log-probabilities when asked
}

TEST(Search, BeamOfOneFollowsGreedy) {
  const OneThread one_thread;
  const SearchOptions options{.beam_size = 1, .length_penalty = 1.0f, .max_length_a = 0.5f, .max_length_b = 3};
  int ended_by_eos = 0, capped = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {  // four models, 12 sources each, decoded as one batch
    Rng rng(seed);
    ModelConfig config = tiny_model(8);
    config.tying = EmbeddingTying::none;
    const Transformer model(config, rng);
    // An untrained model rarely prefers EOS: a larger EOS row of the output
    // projection makes it the argmax wherever it leans that way.
    for (auto& [name, var] : model.named_parameters())
      if (name == "output_projection.weight")
        for (int64_t d = 0; d < config.d_model; ++d) var.mutable_value().data()[kEosId * config.d_model + d] *= 4.0f;
    const auto sources = random_sources(12, 8, seed);
    const auto greedy = greedy_search(model, sources, options);
    const auto beam = beam_search(model, sources, options);
    ASSERT_EQ(greedy.size(), sources.size());
    ASSERT_EQ(beam.size(), sources.size());
    for (size_t i = 0; i < sources.size(); ++i) {
      const size_t cap = static_cast<size_t>(max_output_length(options, static_cast<int64_t>(sources[i].size())));
      EXPECT_EQ(cap, sources[i].size() / 2 + 3) << "line " << i;
      ASSERT_EQ(beam[i].size(), 1u) << "line " << i;
      const Hypothesis& g = greedy[i];
      const Hypothesis& b = beam[i][0];
      EXPECT_FALSE(has_special(g.tokens)) << "line " << i;
      ASSERT_LE(g.tokens.size(), cap) << "line " << i;
      if (g.tokens.size() < cap) {  // greedy chose EOS
        ++ended_by_eos;
        EXPECT_EQ(b.tokens, g.tokens) << "seed " << seed << " line " << i;
        // Greedy scores the plain sum, beam search the sum over the length (EOS counted).
        const double log_prob = sequence_log_prob(model, sources[i], g.tokens);
        EXPECT_NEAR(g.score, log_prob, 1e-4) << "seed " << seed << " line " << i;
        EXPECT_NEAR(b.score, log_prob / static_cast<double>(g.tokens.size() + 1), 1e-4) << "seed " << seed << " line " << i;
      } else {
        ++capped;
        EXPECT_EQ(b.tokens, std::vector<int32_t>(g.tokens.begin(), g.tokens.end() - 1)) << "seed " << seed << " line " << i;
        EXPECT_NEAR(b.score, normalised(sequence_log_prob(model, sources[i], b.tokens), b.tokens.size(), 1.0), 1e-4)
            << "seed " << seed << " line " << i;
      }
    }
  }
  // These models and sources exercise both endings.
  EXPECT_GT(ended_by_eos, 0);
  EXPECT_GT(capped, 0);
}

// n-best lists: distinct hypotheses without special tokens, within the cap,
// best first, each scored as the full forward scores it.
class LengthPenalty : public ::testing::TestWithParam<float> {};

TEST_P(LengthPenalty, NBestComeBestFirstScoredAsTheFullForwardScoresThem) {
  const OneThread one_thread;
  const float a = GetParam();
  Rng rng(12);
  const Transformer model(tiny_model(12), rng);
  const auto sources = random_sources(6, 12, 6);
  const SearchOptions options{.beam_size = 5, .length_penalty = a, .max_length_a = 1.0f, .max_length_b = 2, .n_best = 5};
  const auto found = beam_search(model, sources, options);
  ASSERT_EQ(found.size(), sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto& hyps = found[i];
    ASSERT_EQ(hyps.size(), 5u) << "line " << i;
    const size_t cap = sources[i].size() + 2;
    for (size_t h = 0; h < hyps.size(); ++h) {
      EXPECT_FALSE(has_special(hyps[h].tokens)) << "line " << i << " hypothesis " << h;
      EXPECT_LE(hyps[h].tokens.size() + 1, cap) << "line " << i << " hypothesis " << h;  // + EOS
      const double log_prob = sequence_log_prob(model, sources[i], hyps[h].tokens);
      // score = sum / length^A by hand, the length counting EOS.
      EXPECT_NEAR(hyps[h].score, log_prob / std::pow(static_cast<double>(hyps[h].tokens.size() + 1), a),
                  1e-4 * std::max(1.0, std::abs(log_prob)))
          << "line " << i << " hypothesis " << h << " A " << a;
      if (h > 0) {
        EXPECT_GE(hyps[h - 1].score, hyps[h].score) << "line " << i << " hypothesis " << h;
        for (size_t e = 0; e < h; ++e) EXPECT_NE(hyps[e].tokens, hyps[h].tokens) << "line " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Search, LengthPenalty, ::testing::Values(0.0f, 0.6f, 1.0f, 2.0f));

// Every output the cap allows: sequences of 0 .. L-1 ordinary tokens, EOS
// appended. Ordinary means neither PAD nor BOS (never produced) nor EOS.
std::vector<std::vector<int32_t>> all_outputs(int64_t vocab, int64_t cap) {
  std::vector<int32_t> ordinary;
  for (int32_t v = 0; v < vocab; ++v)
    if (v != kPadId && v != kBosId && v != kEosId) ordinary.push_back(v);
  std::vector<std::vector<int32_t>> all = {{}}, last = {{}};
  for (int64_t length = 1; length < cap; ++length) {
    std::vector<std::vector<int32_t>> longer;
    for (const auto& prefix : last)
      for (int32_t v : ordinary) {
        longer.push_back(prefix);
        longer.back().push_back(v);
      }
    all.insert(all.end(), longer.begin(), longer.end());
    last = std::move(longer);
  }
  return all;
}

// Beam search equals exhaustive search when the beam never drops a
// candidate. With N ordinary tokens (V - 3: PAD and BOS are never produced)
// and a cap of L outputs (EOS included), step t < L - 1 has N^t live beams
// and N^t (N + 1) finite candidates, and step L - 1 N^(L-1) (EOS only). An
// EOS is kept only among the best K candidates of a step, continuations are
// the best K others, and a sentence stops once K hypotheses have finished.
// So beam K returns every possible output, scored exactly, when
//   K >= N^(L-2) (N + 1)       (every candidate of every step among the best K),
//   K >= N^(L-1)               (every beam of the last step), and
//   K >  N^0 + ... + N^(L-2)   (no stop before the cap),
// and its best is then the exhaustive best, for any length penalty. (These
// conditions are sufficient; below them an output can be lost.) Here
// V = 6 (N = 3) and L = 4: K >= 36, and 40 outputs in all.
class Exhaustive : public ::testing::TestWithParam<std::tuple<int64_t, float>> {};

TEST_P(Exhaustive, WideBeamEqualsExhaustiveSearch) {
  const OneThread one_thread;
  const auto [beam_size, a] = GetParam();
  constexpr int64_t kVocab = 6, kCap = 4;
  Rng rng(13);
  const Transformer model(tiny_model(kVocab), rng);
  const std::vector<std::vector<int32_t>> sources = {{4, 5, 3}, {5, 4, 4, 1, 3}};
  const SearchOptions options{.beam_size = beam_size, .length_penalty = a, .max_length_a = 0.0f,
                              .max_length_b = kCap, .n_best = beam_size};
  const auto found = beam_search(model, sources, options);
  ASSERT_EQ(found.size(), sources.size());
  const auto outputs = all_outputs(kVocab, kCap);
  ASSERT_EQ(outputs.size(), 40u);  // 1 + 3 + 9 + 27
  for (size_t i = 0; i < sources.size(); ++i) {
    std::vector<std::pair<double, std::vector<int32_t>>> ranked;
    for (const auto& tokens : outputs)
      ranked.emplace_back(normalised(sequence_log_prob(model, sources[i], tokens), tokens.size(), a), tokens);
    std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    // The comparison of rankings below is meaningful only without near-ties.
    for (size_t r = 1; r < ranked.size(); ++r) ASSERT_GT(ranked[r - 1].first - ranked[r].first, 1e-5) << "near-tie";
    const auto& hyps = found[i];
    ASSERT_EQ(hyps.size(), static_cast<size_t>(beam_size)) << "line " << i;
    for (size_t r = 0; r < hyps.size(); ++r) {
      EXPECT_EQ(hyps[r].tokens, ranked[r].second) << "line " << i << " rank " << r;
      EXPECT_NEAR(hyps[r].score, ranked[r].first, 1e-4) << "line " << i << " rank " << r;
    }
  }
}

// 40: every output comes back; 36: the smallest beam the conditions allow
// gives the best 36.
INSTANTIATE_TEST_SUITE_P(Search, Exhaustive,
                         ::testing::Combine(::testing::Values<int64_t>(40, 36), ::testing::Values(1.0f, 0.0f, 2.0f)));

}  // namespace
}  // namespace rosetta
