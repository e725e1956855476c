#include "rosetta/decode/translator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

#include "rosetta/error.h"

namespace rosetta {

Translator::Translator(const Transformer& model, const Vocabularies& vocabularies, SearchOptions options,
                       int64_t batch_size, int64_t max_source_tokens)
    : model_(model), vocabularies_(vocabularies), options_(options), batch_size_(batch_size),
      max_source_tokens_(max_source_tokens) {
  check(batch_size >= 1, "translation batch size must be at least 1");
  check(vocabularies.source->vocab_size() <= model.config().src_vocab_size, "the source vocabulary has ",
        vocabularies.source->vocab_size(), " pieces but the model only ", model.config().src_vocab_size);
  check(vocabularies.target->vocab_size() <= model.config().vocab_size, "the target vocabulary has ",
        vocabularies.target->vocab_size(), " pieces but the model only ", model.config().vocab_size);
  // Outputs need positions too: keep a*S+b within the model's table.
  const int64_t longest_output = max_output_length(options, max_source_tokens);
  check(longest_output <= model.config().max_positions, "outputs of up to ", longest_output,
        " tokens exceed model.max_positions ", model.config().max_positions,
        "; lower the maximum length ratio or the input length");
}

std::vector<Translation> Translator::translate(const std::vector<std::string>& lines, int64_t first_line) const {
  const size_t n = lines.size();
  std::vector<Translation> out(n);
  std::vector<std::vector<int32_t>> sources(n);
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) {
    sources[i] = vocabularies_.source->encode(lines[i]);
    if (sources[i].empty()) {
      out[i].texts.assign(1, "");
      out[i].scores.assign(1, 0.0f);
      continue;  // an empty line translates to an empty line
    }
    if (static_cast<int64_t>(sources[i].size()) + 1 > max_source_tokens_) {
      spdlog::warn("input line {} has {} tokens; truncated to {}", first_line + static_cast<int64_t>(i),
                   sources[i].size() + 1, max_source_tokens_);
      sources[i].resize(max_source_tokens_ - 1);
    }
    sources[i].push_back(kEosId);
    order.push_back(i);
  }
  // Sorted by length so batches carry little padding; the output order is restored.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sources[a].size() < sources[b].size(); });
  for (size_t start = 0; start < order.size(); start += batch_size_) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size_));
    std::vector<std::vector<int32_t>> batch;
    for (size_t j = start; j < end; ++j) batch.push_back(sources[order[j]]);
    std::vector<std::vector<Hypothesis>> results;
    if (options_.beam_size == 1) {
      for (auto& h : greedy_search(model_, batch, options_)) results.push_back({std::move(h)});
    } else {
      results = beam_search(model_, batch, options_);
    }
    for (size_t j = start; j < end; ++j) {
      Translation& t = out[order[j]];
      if (!results[j - start].empty()) t.tokens = static_cast<int64_t>(results[j - start].front().tokens.size());
      for (const Hypothesis& h : results[j - start]) {
        t.texts.push_back(vocabularies_.target->decode(h.tokens));
        t.scores.push_back(h.score);
      }
    }
  }
  return out;
}

std::vector<std::string> Translator::translate_best(const std::vector<std::string>& lines) const {
  std::vector<std::string> best;
  for (auto& t : translate(lines)) best.push_back(t.texts.empty() ? "" : t.texts.front());
  return best;
}

}  // namespace rosetta
