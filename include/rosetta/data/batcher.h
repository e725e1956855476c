// Token-based batches, as fairseq and the PyTorch reference make them:
// sentences sorted by (target length, source length, seeded random
// tie-break) and cut greedily so that sentences x longest target (EOS
// included) stays within the token budget. The batches are fixed once; each
// epoch visits them in a new seeded order. Where the trainer is in that
// order (epoch, batch) is part of the training state, so a resumed run gets
// the same batches. BatchStream prepares batches on a background thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "rosetta/data/corpus.h"
#include "rosetta/data/token_matrix.h"

namespace rosetta {

struct Batch {
  TokenMatrix src;      // [B, S]: pieces + EOS, padded
  TokenMatrix tgt_in;   // [B, T]: BOS + pieces
  TokenMatrix tgt_out;  // [B, T]: pieces + EOS
  int64_t source_tokens = 0, target_tokens = 0;  // not counting padding
};

using BatchPlan = std::vector<std::vector<uint32_t>>;  // sentence indices of each batch

BatchPlan make_batches(const ParallelCorpus& corpus, int64_t batch_tokens, uint64_t seed);
// The order batches are visited in an epoch (epochs count from 1).
std::vector<uint32_t> epoch_order(size_t batches, uint64_t seed, int64_t epoch);

struct SubwordSampling {
  bool enabled = false;
  float alpha = 0.1f;
  const Vocabularies* vocabularies = nullptr;
  // The limits the batch plan and the length filter were made with, on the
  // deterministic segmentations: a sampled one may be longer.
  int64_t batch_tokens = 0;  // 0: no budget
  int64_t max_len = 0;       // tokens incl. EOS, each side; 0: no limit
};
// BERT's masking (Devlin et al. 2019) for a masked language model, applied
// to monolingual text: each piece (EOS excluded) is chosen with probability
// `select`, at least one a sentence; a chosen piece becomes <mask> with
// probability `mask`, a random piece (ids from first_random_id) with
// `random`, else stays itself. The batch's src holds the result plus EOS,
// tgt_out the original pieces at the chosen positions and padding elsewhere
// (the loss ignores padding), tgt_in nothing. Draws depend on the seed alone.
struct TokenMasking {
  bool enabled = false;
  float select = 0.15f, mask = 0.8f, random = 0.1f;
  int32_t mask_id = -1, first_random_id = 0;
  int64_t vocab_size = 0;
};

// With sampling, the segmentations are a function of sampling_seed alone
// (BatchStream derives it from the run's seed and the batch's position, so
// a resumed run samples what an uninterrupted one would have). A sample that
// would break a limit (the target longer than batch_tokens / rows - 1 with
// EOS, either side longer than max_len) gives way to the sentence's
// deterministic segmentation, which the plan and the filter admitted.
// With masking, sampling_seed also decides the masks.
Batch collate(const ParallelCorpus& corpus, const std::vector<uint32_t>& indices,
              const SubwordSampling& sampling = {}, uint64_t sampling_seed = 0, const TokenMasking& masking = {});

// A batch cut into `parts` pieces, piece p taking sentences p, p + parts,
// p + 2 parts, ...: a batch's sentences come in order of length, so the
// pieces get alike lengths on both sides (consecutive halves could differ
// twofold in source length). Each matrix is trimmed to its piece's longest
// row. A piece has no rows when the batch has fewer sentences than parts.
// The pieces' tokens add up to the batch's.
std::vector<Batch> split_batch(const Batch& batch, int64_t parts);

struct DataPosition {
  int64_t epoch = 1;  // from 1
  int64_t batch = 0;  // index into the epoch's order of the next batch
};

// Which of the stream's batches this process computes when several share
// one plan: batch k of the stream (counted from where it started) is
// process (k mod count)'s. The others' come back empty (no rows), so every
// process walks the same positions.
struct StreamShard {
  int64_t index = 0, count = 1;
};

class BatchStream {
 public:
  BatchStream(const ParallelCorpus& corpus, BatchPlan plan, uint64_t seed, DataPosition start,
              SubwordSampling sampling = {}, size_t prefetch = 16, StreamShard shard = {}, TokenMasking masking = {});
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // The next batch and the position it was taken from; epochs roll over.
  Batch next(DataPosition* taken_from = nullptr);
  // Where the batch after the last one returned sits (what a checkpoint saves).
  DataPosition position() const { return position_; }
  size_t batches_per_epoch() const { return plan_.size(); }

 private:
  void produce();

  const ParallelCorpus& corpus_;
  BatchPlan plan_;
  uint64_t seed_;
  TokenMasking masking_;
  SubwordSampling sampling_;
  size_t capacity_;
  DataPosition position_;  // consumer side

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<DataPosition, Batch>> queue_;
  bool stop_ = false;
  std::exception_ptr failure_;
  std::thread worker_;
  DataPosition produce_at_;  // producer side
  StreamShard shard_;
  int64_t produced_ = 0;
};

}  // namespace rosetta
