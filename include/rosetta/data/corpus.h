// A parallel corpus read from two text files in step, checked, encoded with
// the tokenizer and filtered, held as flat token arrays (no raw text unless
// subword sampling needs it), and cached on disk so a second run starts at
// once.
//
// Memory: with a cache folder (training), the encoded pairs go to the cache
// file as they are made and the corpus is that file mapped into memory: the
// OS keeps the pages in use and drops the others when memory runs short, so
// a corpus larger than memory trains, and the processes of one machine share
// one copy. The process itself keeps 16 bytes a pair while encoding (the
// offsets) and nothing after. Without a cache, or with subword sampling's
// raw text, the corpus is held in memory: 4 bytes a token plus 8 bytes a
// sentence per side (and the text). The raw text is read in chunks and never
// held whole.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/data/vocabularies.h"
#include "rosetta/io/mapped_file.h"

namespace rosetta {

struct CorpusFilter {
  int64_t max_len = 128;        // tokens incl. EOS, each side
  float max_length_ratio = 0;   // 0: off
};

struct CorpusStats {
  int64_t lines = 0, kept = 0, empty = 0, too_long = 0, bad_ratio = 0;
  bool from_cache = false;
};

// Variable-length sequences in one flat array: built in memory, or a view
// into a mapped corpus cache.
class SequenceStore {
 public:
  void add(std::span<const int32_t> sequence);  // in memory only
  void shrink_to_fit();  // drop the growth slack once loading is done
  size_t size() const { return offsets().size() - 1; }
  std::span<const int32_t> operator[](size_t i) const {
    const std::span<const uint64_t> o = offsets();
    return tokens().subspan(o[i], o[i + 1] - o[i]);
  }
  int64_t length(size_t i) const { return static_cast<int64_t>(offsets()[i + 1] - offsets()[i]); }
  int64_t total_tokens() const { return static_cast<int64_t>(tokens().size()); }
  // Memory of the process's own (a mapped store's pages are the page cache's).
  size_t bytes() const { return tokens_.capacity() * sizeof(int32_t) + offsets_.capacity() * sizeof(uint64_t); }
  std::span<const int32_t> tokens() const { return mapping_ ? mapped_tokens_ : std::span<const int32_t>(tokens_); }
  std::span<const uint64_t> offsets() const { return mapping_ ? mapped_offsets_ : std::span<const uint64_t>(offsets_); }
  bool mapped() const { return mapping_ != nullptr; }

 private:
  friend class CorpusCache;
  std::vector<int32_t> tokens_;
  std::vector<uint64_t> offsets_{0};
  std::shared_ptr<const MappedFile> mapping_;  // keeps the views below valid
  std::span<const int32_t> mapped_tokens_;
  std::span<const uint64_t> mapped_offsets_;
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
  size_t bytes() const;  // of the process's own memory (not a mapped cache's pages)
  bool mapped() const { return src_.mapped(); }
  // A stable hash of the encoded pairs: equal for the same files, vocabularies and filter.
  uint64_t fingerprint() const;

 private:
  friend class CorpusCache;
  SequenceStore src_, tgt_;
  std::string src_text_, tgt_text_;  // only with keep_text
  std::vector<uint64_t> src_text_offsets_, tgt_text_offsets_;
};

}  // namespace rosetta
