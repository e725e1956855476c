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
  check(!model.decoder_only(), "a language model (model.type: decoder_only) does not translate: use rosetta generate "
        "or rosetta score");
  check(!model.encoder_only(), "a masked language model (model.type: encoder_only) does not translate: use rosetta fill");
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

void Translator::set_alignment(const AlignmentOptions& options) {
  const int64_t layers = model_.config().decoder_layers, heads = model_.config().heads;
  alignment_ = options;
  if (alignment_.layer < 0) alignment_.layer = std::max<int64_t>(0, layers - 2);  // Garg et al. 2019: the penultimate
  check(alignment_.layer < layers, "--alignment-layer ", alignment_.layer, ": the model has ", layers,
        " decoder layers (0-", layers - 1, ")");
  for (int64_t h : alignment_.heads)
    check(h < heads, "--alignment-heads: head ", h, ": the model has ", heads, " heads (0-", heads - 1, ")");
  align_ = true;
  options_.attention_layer = alignment_.layer;
  options_.attention_heads = alignment_.heads;
}

std::vector<bool> Translator::word_starts(const Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                                          size_t count) const {
  static const std::string kWordMark = "\xe2\x96\x81";  // U+2581, SentencePiece's word start
  std::vector<bool> starts(count);
  for (size_t i = 0; i < count; ++i) starts[i] = tokenizer.piece(ids[i]).rfind(kWordMark, 0) == 0;
  return starts;
}

std::vector<std::vector<std::string>> Translator::align(const std::vector<std::vector<int32_t>>& sources,
                                                        const std::vector<std::vector<Hypothesis>>& found) const {
  std::vector<std::vector<int32_t>> src_rows, tgt_rows;
  for (size_t i = 0; i < sources.size(); ++i)
    for (const Hypothesis& h : found[i]) {
      src_rows.push_back(sources[i]);
      std::vector<int32_t> tgt_in{kBosId};
      tgt_in.insert(tgt_in.end(), h.tokens.begin(), h.tokens.end());
      tgt_rows.push_back(std::move(tgt_in));
    }
  std::vector<std::vector<std::string>> out(sources.size());
  if (src_rows.empty()) return out;
  // Lengths padded to multiples of 8 (padding is masked, or past the rows
  // read), within the position table: fewer distinct shapes, so oneDNN's
  // primitives are made once.
  const size_t positions = static_cast<size_t>(model_.config().max_positions);
  for (auto* rows : {&src_rows, &tgt_rows}) {
    size_t longest = 0;
    for (const auto& row : *rows) longest = std::max(longest, row.size());
    rows->front().resize(std::max(longest, std::min(positions, (longest + 7) / 8 * 8)), kPadId);
  }
  const TokenMatrix src = TokenMatrix::from_rows(src_rows, kPadId), tgt = TokenMatrix::from_rows(tgt_rows, kPadId);
  const AttentionWeights attention =
      model_.attention(src, tgt, {.cross = true, .decoder_layers = alignment_.layer + 1});
  const Tensor& weights = attention.cross[alignment_.layer];  // [R, H, T, S]
  const int64_t heads = weights.dim(1), t_max = weights.dim(2), s_max = weights.dim(3);
  std::vector<int64_t> used = alignment_.heads;
  if (used.empty())
    for (int64_t h = 0; h < heads; ++h) used.push_back(h);
  const float* w = weights.data();
  int64_t row = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    for (const Hypothesis& h : found[i]) {
      // Row t of the pass produced target piece t.
      std::vector<std::vector<float>> rows(h.tokens.size(), std::vector<float>(static_cast<size_t>(s_max), 0.0f));
      for (size_t t = 0; t < h.tokens.size(); ++t)
        for (int64_t head : used) {
          const float* p = w + ((row * heads + head) * t_max + static_cast<int64_t>(t)) * s_max;
          for (int64_t s = 0; s < s_max; ++s) rows[t][s] += p[s];
        }
      out[i].push_back(links(sources[i], h.tokens, rows));
      ++row;
    }
  }
  return out;
}

std::string Translator::links(const std::vector<int32_t>& source, const std::vector<int32_t>& tokens,
                              const std::vector<std::vector<float>>& rows) const {
  // The EOS and padding columns stay out; each row sums to 1 over the rest.
  const size_t source_pieces = source.size() - 1;
  std::vector<std::vector<float>> matrix(tokens.size(), std::vector<float>(source_pieces, 0.0f));
  for (size_t t = 0; t < tokens.size(); ++t) {
    float total = 0;
    for (size_t s = 0; s < source_pieces; ++s) total += matrix[t][s] = rows[t][s];
    if (total > 0)
      for (float& x : matrix[t]) x /= total;
  }
  return format_alignment(matrix, word_starts(*vocabularies_.source, source, source_pieces),
                          word_starts(*vocabularies_.target, tokens, tokens.size()), alignment_);
}

std::vector<std::string> Translator::align_given(const std::vector<std::string>& source,
                                                 const std::vector<std::string>& target, int64_t first_line) const {
  check(align_, "align_given needs set_alignment first");
  check(source.size() == target.size(), "alignment needs a target for every source: ", source.size(), " sources, ",
        target.size(), " targets");
  const ops::FrozenWeightsScope frozen;
  const int64_t max_target = model_.config().max_positions;
  std::vector<std::string> out(source.size());
  for (size_t start = 0; start < source.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(source.size(), start + static_cast<size_t>(batch_size_));
    std::vector<std::vector<int32_t>> sources;
    std::vector<std::vector<Hypothesis>> given;
    std::vector<size_t> lines;
    for (size_t i = start; i < end; ++i) {
      std::vector<int32_t> src = vocabularies_.source->encode(source[i]);
      Hypothesis h{vocabularies_.target->encode(target[i]), 0.0f};
      if (src.empty() || h.tokens.empty()) continue;  // nothing to link
      const int64_t line = first_line + static_cast<int64_t>(i);
      if (static_cast<int64_t>(src.size()) + 1 > max_source_tokens_) {
        spdlog::warn("source line {} has {} tokens; cut to {}", line, src.size() + 1, max_source_tokens_);
        src.resize(max_source_tokens_ - 1);
      }
      if (static_cast<int64_t>(h.tokens.size()) + 1 > max_target) {
        spdlog::warn("target line {} has {} tokens; cut to {}", line, h.tokens.size() + 1, max_target);
        h.tokens.resize(max_target - 1);
      }
      src.push_back(kEosId);
      sources.push_back(std::move(src));
      given.push_back({std::move(h)});
      lines.push_back(i);
    }
    const auto aligned = align(sources, given);
    for (size_t k = 0; k < lines.size(); ++k) out[lines[k]] = aligned[k].front();
  }
  return out;
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
      if (align_) out[i].alignments.assign(1, "");
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
  std::vector<std::vector<std::string>> alignments(n);
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
      for (size_t j = start; j < end; ++j) {
        if (align_)  // from the attention the search recorded for each hypothesis
          for (Hypothesis& h : results[j - start]) {
            alignments[order[j]].push_back(links(batch[j - start], h.tokens, h.attention));
            h.attention = {};
          }
        found[order[j]] = std::move(results[j - start]);
      }
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
    if (!found[i].empty()) {
      t.tokens = static_cast<int64_t>(found[i].front().tokens.size());
      t.best_pieces = found[i].front().tokens;
    }
    for (const Hypothesis& h : found[i]) {
      t.texts.push_back(vocabularies_.target->decode(h.tokens));
      t.scores.push_back(h.score);
    }
    t.alignments = std::move(alignments[i]);
  }
  return out;
}

std::vector<std::string> Translator::translate_best(const std::vector<std::string>& lines) const {
  std::vector<std::string> best;
  for (auto& t : translate(lines)) best.push_back(t.texts.empty() ? "" : t.texts.front());
  return best;
}

}  // namespace rosetta
