#include "rosetta/decode/translator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <numeric>
#include <thread>

#include "rosetta/error.h"
#include "rosetta/ops/precision.h"
#include "rosetta/tensor/threads.h"

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
  const ops::FrozenWeightsScope frozen;  // the weights stay put while we decode: bf16 copies are made once
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

  // Small decoder matmuls scale poorly across cores (most of a step's time
  // would go to OpenMP barriers), so each core decodes batches of its own:
  // `streams` workers, each with threads / streams OpenMP threads, take
  // batches of batch_size / streams sentences in turn. Decoder state held at
  // once stays one batch's worth; results do not depend on the split.
  const int threads = num_threads();
  const size_t wanted = static_cast<size_t>(std::min<int64_t>(threads, batch_size_));
  const size_t split_size = static_cast<size_t>(batch_size_) / wanted;
  const size_t batches = (order.size() + split_size - 1) / split_size;
  const int streams = static_cast<int>(std::max<size_t>(1, std::min(wanted, batches)));
  const size_t batch_size = streams == 1 ? static_cast<size_t>(batch_size_) : split_size;
  std::vector<std::vector<Hypothesis>> found(n);
  // Longest batches first, so that no core is left with a long one at the end.
  std::atomic<size_t> next_batch{0};
  auto decode_batches = [&] {
    for (size_t taken; (taken = next_batch.fetch_add(batch_size)) < order.size();) {
      const size_t end = order.size() - taken, start = end - std::min(end, batch_size);
      std::vector<std::vector<int32_t>> batch;
      for (size_t j = start; j < end; ++j) batch.push_back(sources[order[j]]);
      std::vector<std::vector<Hypothesis>> results;
      if (options_.beam_size == 1) {
        for (auto& h : greedy_search(model_, batch, options_)) results.push_back({std::move(h)});
      } else {
        results = beam_search(model_, batch, options_);
      }
      for (size_t j = start; j < end; ++j) found[order[j]] = std::move(results[j - start]);
    }
  };
  if (streams == 1) {
    decode_batches();
  } else {
    std::vector<std::thread> workers;
    std::vector<std::exception_ptr> errors(streams);
    for (int s = 0; s < streams; ++s) {
      const int share = threads / streams + (s < threads % streams ? 1 : 0);
      workers.emplace_back([&, s, share] {
        try {
          set_num_threads(share);
          decode_batches();
        } catch (...) {
          errors[s] = std::current_exception();
          next_batch = order.size();  // the others stop after their batch
        }
      });
    }
    for (auto& w : workers) w.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  for (size_t i : order) {
    Translation& t = out[i];
    if (!found[i].empty()) t.tokens = static_cast<int64_t>(found[i].front().tokens.size());
    for (const Hypothesis& h : found[i]) {
      t.texts.push_back(vocabularies_.target->decode(h.tokens));
      t.scores.push_back(h.score);
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
