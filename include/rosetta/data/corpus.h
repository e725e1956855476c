// A parallel corpus read from two text files in step, checked, encoded with
// the tokenizer and filtered, held as flat token arrays (no raw text unless
// subword sampling needs it), and cached on disk so a second run starts at
// once.
//
// Memory: 4 bytes a token plus 8 bytes a sentence per side (16 more a pair
// with sampling's raw text kept, plus the text itself); the raw text is read
// in chunks and never held whole.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/data/vocabularies.h"

namespace rosetta {

struct CorpusFilter {
  int64_t max_len = 128;        // tokens incl. EOS, each side
  float max_length_ratio = 0;   // 0: off
};

struct CorpusStats {
  int64_t lines = 0, kept = 0, empty = 0, too_long = 0, bad_ratio = 0;
  bool from_cache = false;
};

// Variable-length sequences in one flat array.
class SequenceStore {
 public:
  void add(std::span<const int32_t> sequence);
  void shrink_to_fit();  // drop the growth slack once loading is done
  size_t size() const { return offsets_.size() - 1; }
  std::span<const int32_t> operator[](size_t i) const {
    return {tokens_.data() + offsets_[i], tokens_.data() + offsets_[i + 1]};
  }
  int64_t length(size_t i) const { return static_cast<int64_t>(offsets_[i + 1] - offsets_[i]); }
  int64_t total_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  size_t bytes() const { return tokens_.capacity() * sizeof(int32_t) + offsets_.capacity() * sizeof(uint64_t); }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  friend class CorpusCache;
  std::vector<int32_t> tokens_;
  std::vector<uint64_t> offsets_{0};
};

class ParallelCorpus {
 public:
  // Throws naming the files for unequal line counts, invalid UTF-8 (file and
  // line) and missing files. cache_dir empty: no cache. keep_text: keep the
  // raw lines for subword sampling.
  static ParallelCorpus load(const CorpusPaths& paths, const Vocabularies& vocabularies, const CorpusFilter& filter,
                             const std::string& cache_dir, bool keep_text, CorpusStats* stats = nullptr);

  size_t size() const { return src_.size(); }
  std::span<const int32_t> src(size_t i) const { return src_[i]; }  // pieces + EOS
  std::span<const int32_t> tgt(size_t i) const { return tgt_[i]; }  // pieces (BOS/EOS added in batches)
  int64_t src_length(size_t i) const { return src_.length(i); }
  int64_t tgt_length(size_t i) const { return tgt_.length(i); }
  bool has_text() const { return !src_text_.empty(); }
  std::string_view src_text(size_t i) const;
  std::string_view tgt_text(size_t i) const;
  size_t bytes() const;
  // A stable hash of the encoded pairs: equal for the same files, vocabularies and filter.
  uint64_t fingerprint() const;

 private:
  friend class CorpusCache;
  SequenceStore src_, tgt_;
  std::string src_text_, tgt_text_;  // only with keep_text
  std::vector<uint64_t> src_text_offsets_, tgt_text_offsets_;
};

}  // namespace rosetta
