#include "rosetta/data/batcher.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta {

BatchPlan make_batches(const ParallelCorpus& corpus, int64_t batch_tokens, uint64_t seed) {
  const size_t n = corpus.size();
  Rng rng(seed);
  std::vector<float> tie(n);
  for (auto& t : tie) t = rng.uniform();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto ka = std::make_tuple(corpus.tgt_length(a), corpus.src_length(a), tie[a]);
    const auto kb = std::make_tuple(corpus.tgt_length(b), corpus.src_length(b), tie[b]);
    return ka < kb || (ka == kb && a < b);
  });
  BatchPlan plan;
  std::vector<uint32_t> current;
  int64_t longest = 0;
  for (uint32_t i : order) {
    const int64_t length = corpus.tgt_length(i) + 1;  // + EOS
    check(length <= batch_tokens, "sentence ", i, " has ", length, " target tokens, more than train.batch_tokens ",
          batch_tokens);
    const int64_t grown = std::max(longest, length);
    if (!current.empty() && grown * static_cast<int64_t>(current.size() + 1) > batch_tokens) {
      plan.push_back(std::move(current));
      current.clear();
      longest = length;
    } else {
      longest = grown;
    }
    current.push_back(i);
  }
  if (!current.empty()) plan.push_back(std::move(current));
  return plan;
}

std::vector<uint32_t> epoch_order(size_t batches, uint64_t seed, int64_t epoch) {
  std::vector<uint32_t> order(batches);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(seed * 1000 + static_cast<uint64_t>(epoch));
  for (size_t i = batches; i > 1; --i) {  // Fisher-Yates
    const size_t j = rng.next_u64() % i;
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

namespace {

// A uniform draw in [0, 1) from a key: masks are a function of (seed, row, position).
double unit(uint64_t key) { return static_cast<double>(mix64(key) >> 11) * 0x1.0p-53; }

uint64_t draw_key(uint64_t seed, size_t row, size_t position, uint64_t what) {
  return mix64(mix64(seed ^ 0x6d61736b6d61736bULL) + row * 0x9e3779b97f4a7c15ULL) + position * 4 + what;
}

Batch masked_batch(std::vector<std::vector<int32_t>> text, uint64_t seed, const TokenMasking& m) {
  check(m.mask_id >= 0 && m.vocab_size > m.first_random_id, "token masking needs the <mask> id and the vocabulary");
  Batch batch;
  std::vector<std::vector<int32_t>> out(text.size());
  for (size_t k = 0; k < text.size(); ++k) {
    std::vector<int32_t>& src = text[k];
    const size_t n = src.size();
    out[k].assign(n + 1, kPadId);
    std::vector<size_t> chosen;
    for (size_t t = 0; t < n; ++t)
      if (unit(draw_key(seed, k, t, 0)) < m.select) chosen.push_back(t);
    if (chosen.empty() && n > 0) chosen.push_back(mix64(draw_key(seed, k, 0, 1)) % n);  // every sentence teaches
    for (size_t t : chosen) {
      out[k][t] = src[t];
      const double r = unit(draw_key(seed, k, t, 2));
      if (r < m.mask)
        src[t] = m.mask_id;
      else if (r < m.mask + m.random)
        src[t] = static_cast<int32_t>(m.first_random_id +
                                      mix64(draw_key(seed, k, t, 3)) % static_cast<uint64_t>(m.vocab_size - m.first_random_id));
    }
    src.push_back(kEosId);
    batch.source_tokens += static_cast<int64_t>(src.size());
    batch.target_tokens += static_cast<int64_t>(chosen.size());
  }
  batch.src = TokenMatrix::from_rows(text, kPadId);
  batch.tgt_out = TokenMatrix::from_rows(out, kPadId);
  batch.tgt_in.rows = batch.src.rows;  // nothing: an encoder-only model reads src alone
  return batch;
}

}  // namespace

Batch collate(const ParallelCorpus& corpus, const std::vector<uint32_t>& indices, const SubwordSampling& sampling,
              uint64_t sampling_seed, const TokenMasking& masking) {
  std::vector<std::vector<int32_t>> src(indices.size()), tgt(indices.size());
  if (sampling.enabled) {
    check(sampling.vocabularies && corpus.has_text(), "subword sampling needs the vocabularies and the corpus text");
    const auto rows = static_cast<int64_t>(indices.size());
    const int64_t unlimited = std::numeric_limits<int64_t>::max();
    const int64_t max_len = sampling.max_len > 0 ? sampling.max_len : unlimited;
    const int64_t tgt_cap = std::min(max_len, sampling.batch_tokens > 0 ? sampling.batch_tokens / rows : unlimited);
    Tokenizer::sample_with_seed(sampling_seed, [&] {
      for (size_t k = 0; k < indices.size(); ++k) {
        src[k] = sampling.vocabularies->source->encode_sampled(std::string(corpus.src_text(indices[k])), sampling.alpha);
        src[k].push_back(kEosId);
        tgt[k] = sampling.vocabularies->target->encode_sampled(std::string(corpus.tgt_text(indices[k])), sampling.alpha);
      }
    });
    for (size_t k = 0; k < indices.size(); ++k) {  // + EOS on the target
      if (static_cast<int64_t>(src[k].size()) > max_len) src[k].assign(corpus.src(indices[k]).begin(), corpus.src(indices[k]).end());
      if (static_cast<int64_t>(tgt[k].size()) + 1 > tgt_cap) tgt[k].assign(corpus.tgt(indices[k]).begin(), corpus.tgt(indices[k]).end());
    }
  } else {
    for (size_t k = 0; k < indices.size(); ++k) {
      src[k].assign(corpus.src(indices[k]).begin(), corpus.src(indices[k]).end());
      tgt[k].assign(corpus.tgt(indices[k]).begin(), corpus.tgt(indices[k]).end());
    }
  }
  if (masking.enabled) return masked_batch(std::move(tgt), sampling_seed, masking);  // monolingual: the text is tgt
  Batch batch;
  std::vector<std::vector<int32_t>> tgt_in(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    tgt_in[k].reserve(tgt[k].size() + 1);
    tgt_in[k].push_back(kBosId);
    tgt_in[k].insert(tgt_in[k].end(), tgt[k].begin(), tgt[k].end());
    tgt[k].push_back(kEosId);
    batch.source_tokens += static_cast<int64_t>(src[k].size());
    batch.target_tokens += static_cast<int64_t>(tgt[k].size());
  }
  batch.src = TokenMatrix::from_rows(src, kPadId);
  batch.tgt_in = TokenMatrix::from_rows(tgt_in, kPadId);
  batch.tgt_out = TokenMatrix::from_rows(tgt, kPadId);
  return batch;
}

namespace {

int64_t tokens_in_row(const TokenMatrix& m, int64_t r) {
  int64_t n = 0;
  for (int64_t c = 0; c < m.cols; ++c) n += m.at(r, c) != kPadId;
  return n;
}

// Columns up to the last that is not padding in any of the rows listed.
int64_t width_of(const TokenMatrix& m, const std::vector<int64_t>& rows) {
  int64_t width = 0;
  if (m.rows == 0) return 0;
  for (const int64_t r : rows)
    for (int64_t c = m.cols; c > width; --c)
      if (m.at(r, c - 1) != kPadId) {
        width = c;
        break;
      }
  return width;
}

// The rows of m listed, their first `width` columns.
TokenMatrix rows_of(const TokenMatrix& m, const std::vector<int64_t>& rows, int64_t width) {
  TokenMatrix out;
  if (m.rows == 0) return out;
  out.rows = static_cast<int64_t>(rows.size());
  out.cols = width;
  out.ids.resize(static_cast<size_t>(out.rows * out.cols));
  for (size_t k = 0; k < rows.size(); ++k)
    std::copy_n(m.ids.begin() + rows[k] * m.cols, out.cols, out.ids.begin() + static_cast<int64_t>(k) * out.cols);
  return out;
}

}  // namespace

std::vector<Batch> split_batch(const Batch& batch, int64_t parts) {
  check(parts >= 1, "split_batch: ", parts, " parts");
  std::vector<Batch> pieces(static_cast<size_t>(parts));
  for (int64_t p = 0; p < parts; ++p) {
    std::vector<int64_t> rows;
    for (int64_t r = p; r < batch.tgt_out.rows; r += parts) rows.push_back(r);
    // Matrices of one width keep one width (a language model reads src and
    // tgt_out position by position).
    const std::vector<const TokenMatrix*> matrices = {&batch.src, &batch.tgt_in, &batch.tgt_out};
    std::vector<int64_t> widths;
    for (const TokenMatrix* m : matrices) widths.push_back(width_of(*m, rows));
    for (size_t i = 0; i < matrices.size(); ++i)
      for (size_t j = 0; j < matrices.size(); ++j)
        if (matrices[i]->cols == matrices[j]->cols) widths[i] = std::max(widths[i], widths[j]);
    Batch& piece = pieces[p];
    piece.src = rows_of(batch.src, rows, widths[0]);
    piece.tgt_in = rows_of(batch.tgt_in, rows, widths[1]);
    piece.tgt_out = rows_of(batch.tgt_out, rows, widths[2]);
    for (const int64_t r : rows) piece.target_tokens += tokens_in_row(batch.tgt_out, r);
    for (int64_t r = 0; r < piece.src.rows; ++r) piece.source_tokens += tokens_in_row(piece.src, r);
  }
  return pieces;
}

BatchStream::BatchStream(const ParallelCorpus& corpus, BatchPlan plan, uint64_t seed, DataPosition start,
                         SubwordSampling sampling, size_t prefetch, StreamShard shard, TokenMasking masking)
    : corpus_(corpus),
      plan_(std::move(plan)),
      seed_(seed),
      masking_(masking),
      sampling_(sampling),
      capacity_(std::max<size_t>(prefetch, 1)),
      position_(start),
      produce_at_(start),
      shard_(shard) {
  check(shard_.count >= 1 && shard_.index >= 0 && shard_.index < shard_.count, "stream shard ", shard_.index,
        " of ", shard_.count, " does not exist");
  check(!plan_.empty(), "no batches: the training corpus is empty after filtering");
  check(start.epoch >= 1 && start.batch >= 0 && start.batch <= static_cast<int64_t>(plan_.size()),
        "data position (epoch ", start.epoch, ", batch ", start.batch, ") is outside the ", plan_.size(),
        " batches of an epoch");
  check(!sampling_.enabled || (sampling_.vocabularies && corpus.has_text()),
        "subword sampling needs the vocabularies and the corpus text");
  worker_ = std::thread([this] { produce(); });
}

BatchStream::~BatchStream() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BatchStream::produce() {
  try {
    std::vector<uint32_t> order = epoch_order(plan_.size(), seed_, produce_at_.epoch);
    while (true) {
      if (produce_at_.batch == static_cast<int64_t>(plan_.size())) {
        produce_at_ = {produce_at_.epoch + 1, 0};
        order = epoch_order(plan_.size(), seed_, produce_at_.epoch);
      }
      const uint64_t sampling_seed = (seed_ * 1000003 + static_cast<uint64_t>(produce_at_.epoch)) * 1000003 +
                                     static_cast<uint64_t>(produce_at_.batch);
      const bool ours = produced_++ % shard_.count == shard_.index;
      Batch batch = ours ? collate(corpus_, plan_[order[produce_at_.batch]], sampling_, sampling_seed, masking_) : Batch{};
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
      if (stop_) return;
      queue_.emplace_back(produce_at_, std::move(batch));
      ++produce_at_.batch;
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
    changed_.notify_all();
  }
}

Batch BatchStream::next(DataPosition* taken_from) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || failure_; });
  if (queue_.empty()) std::rethrow_exception(failure_);
  auto [at, batch] = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  if (taken_from) *taken_from = at;
  position_ = {at.epoch, at.batch + 1};
  return std::move(batch);
}

}  // namespace rosetta
