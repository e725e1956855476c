#include "rosetta/data/corpus.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rosetta/data/text_file.h"
#include "rosetta/error.h"
#include "rosetta/io/atomic_file.h"
#include "rosetta/io/stable_hash.h"
#include "rosetta/model/token_matrix.h"
#include "rosetta/tensor/threads.h"

namespace rosetta {

namespace fs = std::filesystem;

void SequenceStore::add(std::span<const int32_t> sequence) {
  tokens_.insert(tokens_.end(), sequence.begin(), sequence.end());
  offsets_.push_back(tokens_.size());
}

void SequenceStore::shrink_to_fit() {
  tokens_.shrink_to_fit();
  offsets_.shrink_to_fit();
}

std::string_view ParallelCorpus::src_text(size_t i) const {
  return std::string_view(src_text_).substr(src_text_offsets_[i], src_text_offsets_[i + 1] - src_text_offsets_[i]);
}

std::string_view ParallelCorpus::tgt_text(size_t i) const {
  return std::string_view(tgt_text_).substr(tgt_text_offsets_[i], tgt_text_offsets_[i + 1] - tgt_text_offsets_[i]);
}

size_t ParallelCorpus::bytes() const {
  return src_.bytes() + tgt_.bytes() + src_text_.capacity() + tgt_text_.capacity() +
         (src_text_offsets_.capacity() + tgt_text_offsets_.capacity()) * sizeof(uint64_t);
}

uint64_t ParallelCorpus::fingerprint() const {
  StableHasher hasher;
  for (const SequenceStore* store : {&src_, &tgt_}) {
    hasher.add(store->tokens().data(), store->tokens().size() * sizeof(int32_t));
    hasher.add(store->offsets().data(), store->offsets().size() * sizeof(uint64_t));
  }
  return hasher.value();
}

// The on-disk cache of an encoded corpus: valid only for the same files
// (path, size, time), vocabularies and filter. A CRC-32 of everything
// before it ends the file, so a damaged cache is never read as a corpus.
class CorpusCache {
 public:
  static std::string key(const CorpusPaths& paths, const Vocabularies& vocabularies, const CorpusFilter& filter) {
    std::string k = concat("v3|", paths.src, "|", paths.tgt);
    for (const auto& p : {paths.src, paths.tgt})
      k += concat("|", fs::file_size(p), "|", fs::last_write_time(p).time_since_epoch().count());
    k += concat("|", stable_hash_hex(vocabularies.source->serialized()), "|",
                stable_hash_hex(vocabularies.target->serialized()), "|", filter.max_len, "|", filter.max_length_ratio);
    return k;
  }

  static std::string path(const std::string& dir, const std::string& key) {
    return (fs::path(dir) / concat("corpus.", stable_hash_hex(key), ".bin")).string();
  }

  static void write(const std::string& file, const std::string& key, const ParallelCorpus& c, const CorpusStats& s) {
    Writer out{AtomicFile(file), {}};
    out.put_string(key);
    out.put(&s, sizeof(s));
    for (const SequenceStore* store : {&c.src_, &c.tgt_}) {
      out.put_vector(store->tokens_);
      out.put_vector(store->offsets_);
    }
    out.file.write_value(out.crc.value());
    out.file.commit();
  }

  // False (and nothing changed) when the file is absent, stale or damaged.
  static bool read(const std::string& file, const std::string& key, ParallelCorpus& c, CorpusStats& s) {
    Reader in{std::ifstream(file, std::ios::binary), {}};
    if (!in.file) return false;
    std::string stored;
    if (!in.get_string(stored) || stored != key) return false;
    ParallelCorpus loaded;
    CorpusStats stats;
    if (!in.get(&stats, sizeof(stats))) return false;
    for (SequenceStore* store : {&loaded.src_, &loaded.tgt_})
      if (!in.get_vector(store->tokens_) || !in.get_vector(store->offsets_)) return false;
    const uint32_t computed = in.crc.value();
    uint32_t crc = 0;
    if (!in.file.read(reinterpret_cast<char*>(&crc), sizeof(crc)) || crc != computed ||
        in.file.peek() != std::ifstream::traits_type::eof())
      return false;
    if (loaded.src_.offsets_.empty() || loaded.tgt_.offsets_.empty() || loaded.src_.size() != loaded.tgt_.size() ||
        loaded.src_.offsets_.back() != loaded.src_.tokens_.size() ||
        loaded.tgt_.offsets_.back() != loaded.tgt_.tokens_.size())
      return false;
    c = std::move(loaded);
    s = stats;
    return true;
  }

 private:
  // Both sides keep the CRC-32 of the bytes they pass.
  struct Writer {
    AtomicFile file;
    Crc32 crc;
    void put(const void* data, size_t n) {
      file.write(data, n);
      crc.add(data, n);
    }
    void put_string(const std::string& s) {
      const uint64_t n = s.size();
      put(&n, sizeof(n));
      put(s.data(), n);
    }
    template <typename T>
    void put_vector(const std::vector<T>& v) {
      const uint64_t n = v.size();
      put(&n, sizeof(n));
      put(v.data(), n * sizeof(T));
    }
  };
  struct Reader {
    std::ifstream file;
    Crc32 crc;
    bool get(void* data, size_t n) {
      if (!file.read(static_cast<char*>(data), static_cast<std::streamsize>(n))) return false;
      crc.add(data, n);
      return true;
    }
    bool get_string(std::string& s) {
      uint64_t n = 0;
      if (!get(&n, sizeof(n)) || n > (1u << 20)) return false;
      s.resize(n);
      return get(s.data(), n);
    }
    template <typename T>
    bool get_vector(std::vector<T>& v) {
      uint64_t n = 0;
      if (!get(&n, sizeof(n)) || n > (uint64_t{1} << 36)) return false;
      v.resize(n);
      return get(v.data(), n * sizeof(T));
    }
  };
};

namespace {

constexpr size_t kChunk = 16384;  // pairs read and encoded at a time

// Reads both files to their ends so the message can give both counts.
[[noreturn]] void line_count_mismatch(LineReader& src, LineReader& tgt) {
  std::string line;
  while (src.next(line)) {
  }
  while (tgt.next(line)) {
  }
  throw Error(concat("line counts differ: ", src.path(), " has ", src.line_number(), " lines, ", tgt.path(),
                     " has ", tgt.line_number()));
}

}  // namespace

ParallelCorpus ParallelCorpus::load(const CorpusPaths& paths, const Vocabularies& vocabularies, const CorpusFilter& filter,
                                    const std::string& cache_dir, bool keep_text, CorpusStats* stats_out) {
  check(!paths.src.empty() && !paths.tgt.empty(), "a parallel corpus needs a source and a target file");
  for (const auto& p : {paths.src, paths.tgt}) check(fs::exists(p), "corpus file ", p, " does not exist");
  ParallelCorpus corpus;
  CorpusStats stats;
  const bool use_cache = !cache_dir.empty() && !keep_text;
  const std::string key = use_cache ? CorpusCache::key(paths, vocabularies, filter) : "";
  const std::string cache_file = use_cache ? CorpusCache::path(cache_dir, key) : "";
  if (use_cache && CorpusCache::read(cache_file, key, corpus, stats)) {
    stats.from_cache = true;
    spdlog::info("corpus {} / {}: {} pairs from cache {}", paths.src, paths.tgt, stats.kept, cache_file);
    if (stats_out) *stats_out = stats;
    return corpus;
  }
  if (use_cache && fs::exists(cache_file))
    spdlog::warn("corpus cache {} is damaged; encoding {} / {} again", cache_file, paths.src, paths.tgt);
  if (keep_text) {
    corpus.src_text_offsets_.push_back(0);
    corpus.tgt_text_offsets_.push_back(0);
  }

  LineReader src(paths.src), tgt(paths.tgt);
  std::vector<std::string> src_lines, tgt_lines;
  std::vector<std::vector<int32_t>> src_ids, tgt_ids;
  bool more = true;
  while (more) {
    src_lines.clear();
    tgt_lines.clear();
    std::string a, b;
    while (src_lines.size() < kChunk) {
      const bool got_a = src.next(a), got_b = tgt.next(b);
      if (got_a != got_b) line_count_mismatch(src, tgt);
      if (!got_a) {
        more = false;
        break;
      }
      src_lines.push_back(std::move(a));
      tgt_lines.push_back(std::move(b));
    }
    const int64_t n = static_cast<int64_t>(src_lines.size());
    src_ids.assign(n, {});
    tgt_ids.assign(n, {});
    const int64_t first_line = stats.lines + 1;
    parallel_for(n, [&](int64_t i) {  // SentencePiece encoding is const and thread-safe
      const auto where = [&](const std::string& path, const Error& e) {
        return Error(concat(path, ":", first_line + i, ": ", e.what()));
      };
      try {
        src_ids[i] = vocabularies.source->encode(src_lines[i]);
      } catch (const Error& e) {
        throw where(paths.src, e);
      }
      try {
        tgt_ids[i] = vocabularies.target->encode(tgt_lines[i]);
      } catch (const Error& e) {
        throw where(paths.tgt, e);
      }
    });
    for (int64_t i = 0; i < n; ++i) {
      ++stats.lines;
      auto& s = src_ids[i];
      const auto& t = tgt_ids[i];
      const int64_t ls = static_cast<int64_t>(s.size()), lt = static_cast<int64_t>(t.size());
      if (ls == 0 || lt == 0) {
        ++stats.empty;
        continue;
      }
      if (ls + 1 > filter.max_len || lt + 1 > filter.max_len) {  // + EOS
        ++stats.too_long;
        continue;
      }
      if (filter.max_length_ratio > 0 &&
          static_cast<float>(std::max(ls, lt)) > filter.max_length_ratio * static_cast<float>(std::min(ls, lt))) {
        ++stats.bad_ratio;
        continue;
      }
      s.push_back(kEosId);
      corpus.src_.add(s);
      corpus.tgt_.add(t);
      if (keep_text) {
        corpus.src_text_ += src_lines[i];
        corpus.tgt_text_ += tgt_lines[i];
        corpus.src_text_offsets_.push_back(corpus.src_text_.size());
        corpus.tgt_text_offsets_.push_back(corpus.tgt_text_.size());
      }
      ++stats.kept;
    }
  }
  spdlog::info("corpus {} / {}: {} lines, kept {}, dropped {} empty, {} over {} tokens, {} with length ratio over {}",
               paths.src, paths.tgt, stats.lines, stats.kept, stats.empty, stats.too_long, filter.max_len,
               stats.bad_ratio, filter.max_length_ratio);
  // Vectors grown by doubling hold up to twice their tokens: training keeps
  // the corpus beside its activations, so give the slack back.
  corpus.src_.shrink_to_fit();
  corpus.tgt_.shrink_to_fit();
  for (auto* text : {&corpus.src_text_, &corpus.tgt_text_}) text->shrink_to_fit();
  for (auto* offsets : {&corpus.src_text_offsets_, &corpus.tgt_text_offsets_}) offsets->shrink_to_fit();
  if (use_cache) CorpusCache::write(cache_file, key, corpus, stats);
  if (stats_out) *stats_out = stats;
  return corpus;
}

}  // namespace rosetta
