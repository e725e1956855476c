#include "rosetta/data/corpus.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rosetta/data/text_file.h"
#include "rosetta/error.h"
#include "rosetta/io/atomic_file.h"
#include "rosetta/io/stable_hash.h"
#include "rosetta/data/token_matrix.h"
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

// Encoded sequences of one side on their way into a cache file: the tokens
// go to a spool file beside it as they come, the offsets stay in memory.
class SpooledStore {
 public:
  explicit SpooledStore(std::string path) : path_(std::move(path)), file_(path_, std::ios::binary | std::ios::trunc) {
    check(file_.good(), "cannot write ", path_);
  }
  ~SpooledStore() {
    file_.close();
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  SpooledStore(const SpooledStore&) = delete;
  SpooledStore& operator=(const SpooledStore&) = delete;
  void add(std::span<const int32_t> sequence) {
    file_.write(reinterpret_cast<const char*>(sequence.data()),
                static_cast<std::streamsize>(sequence.size() * sizeof(int32_t)));
    offsets_.push_back(offsets_.back() + sequence.size());
  }
  // Flushed, for reading back.
  const std::string& finish() {
    file_.flush();
    check(file_.good(), "cannot write ", path_, " (disk full?)");
    return path_;
  }
  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  std::string path_;
  std::ofstream file_;
  std::vector<uint64_t> offsets_{0};
};

// The on-disk cache of an encoded corpus: valid only for the same files
// (path, size, time), vocabularies and filter. Arrays start at multiples of
// 64 bytes, so the file, mapped, is the corpus; a CRC-32 of everything
// before it ends the file, so a damaged cache is never read as a corpus.
//
// Layout: "RCORPUS4", key (u64 size, bytes), stats, then per side (source,
// target) the token count, the offset count, the tokens and the offsets,
// each array zero-padded to 64 bytes; the CRC-32 last.
class CorpusCache {
 public:
  static std::vector<std::string> files(const CorpusPaths& paths) {
    if (paths.monolingual()) return {paths.text};
    return {paths.src, paths.tgt};
  }

  static std::string key(const CorpusPaths& paths, const Vocabularies& vocabularies, const CorpusFilter& filter) {
    std::string k = concat("v4|", std::endian::native == std::endian::little ? "le" : "be", "|", paths.src, "|", paths.tgt,
                           "|", paths.text);
    for (const auto& p : files(paths))
      k += concat("|", fs::file_size(p), "|", fs::last_write_time(p).time_since_epoch().count());
    k += concat("|", stable_hash_hex(vocabularies.source->serialized()), "|",
                stable_hash_hex(vocabularies.target->serialized()), "|", filter.max_len, "|", filter.max_length_ratio);
    return k;
  }

  static std::string path(const std::string& dir, const std::string& key) {
    return (fs::path(dir) / concat("corpus.", stable_hash_hex(key), ".bin")).string();
  }

  // From the spooled sides: the tokens are copied over in pieces, never held whole.
  static void write(const std::string& file, const std::string& key, const CorpusStats& stats, SpooledStore& src,
                    SpooledStore& tgt) {
    Writer out{AtomicFile(file), {}, 0};
    out.put(kMagic, sizeof(kMagic));
    const uint64_t key_size = key.size();
    out.put(&key_size, sizeof(key_size));
    out.put(key.data(), key.size());
    out.put(&stats, sizeof(stats));
    out.pad();
    std::vector<char> buffer(1 << 20);
    for (SpooledStore* side : {&src, &tgt}) {
      const std::string& spool = side->finish();
      const uint64_t counts[2] = {side->offsets().back(), side->offsets().size()};
      out.put(counts, sizeof(counts));
      out.pad();
      std::ifstream in(spool, std::ios::binary);
      uint64_t left = counts[0] * sizeof(int32_t);
      while (left > 0) {
        const auto n = static_cast<std::streamsize>(std::min<uint64_t>(left, buffer.size()));
        check(static_cast<bool>(in.read(buffer.data(), n)), "cannot read back ", spool);
        out.put(buffer.data(), static_cast<size_t>(n));
        left -= static_cast<uint64_t>(n);
      }
      out.pad();
      out.put(side->offsets().data(), side->offsets().size() * sizeof(uint64_t));
      out.pad();
    }
    out.file.write_value(out.crc.value());
    out.file.commit();
  }

  // The corpus as a view of the mapped file, or false (and nothing changed)
  // when the file is absent, stale or damaged.
  static bool read(const std::string& file, const std::string& key, ParallelCorpus& c, CorpusStats& s) {
    if (!fs::exists(file)) return false;
    std::shared_ptr<const MappedFile> mapping;
    try {
      mapping = std::make_shared<const MappedFile>(file);
    } catch (const Error& e) {
      spdlog::warn("{}", e.what());
      return false;
    }
    const std::span<const std::byte> bytes = mapping->bytes();
    if (bytes.size() < sizeof(kMagic) + sizeof(uint32_t)) return false;
    // The CRC first: everything read after it is known whole.
    const size_t body = bytes.size() - sizeof(uint32_t);
    Crc32 crc;
    crc.add(bytes.data(), body);
    uint32_t stored_crc = 0;
    std::memcpy(&stored_crc, bytes.data() + body, sizeof(stored_crc));
    if (crc.value() != stored_crc) return false;
    Cursor in{bytes.first(body), 0};
    char magic[sizeof(kMagic)];
    uint64_t key_size = 0;
    if (!in.get(magic, sizeof(magic)) || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0 ||
        !in.get(&key_size, sizeof(key_size)) || key_size != key.size())
      return false;
    std::string stored(key_size, '\0');
    CorpusStats stats;
    if (!in.get(stored.data(), key_size) || stored != key || !in.get(&stats, sizeof(stats)) || !in.pad()) return false;
    ParallelCorpus loaded;
    for (SequenceStore* store : {&loaded.src_, &loaded.tgt_}) {
      uint64_t counts[2] = {0, 0};
      if (!in.get(counts, sizeof(counts)) || !in.pad() || counts[1] == 0) return false;
      const auto* tokens = in.view<int32_t>(counts[0]);
      if (!tokens || !in.pad()) return false;
      const auto* offsets = in.view<uint64_t>(counts[1]);
      if (!offsets || !in.pad() || offsets[0] != 0 || offsets[counts[1] - 1] != counts[0]) return false;
      store->tokens_.clear();
      store->offsets_.clear();
      store->tokens_.shrink_to_fit();
      store->offsets_.shrink_to_fit();
      store->mapping_ = mapping;
      store->mapped_tokens_ = {tokens, counts[0]};
      store->mapped_offsets_ = {offsets, counts[1]};
    }
    if (in.at != body || loaded.src_.size() != loaded.tgt_.size()) return false;
    c = std::move(loaded);
    s = stats;
    return true;
  }

 private:
  static constexpr char kMagic[8] = {'R', 'C', 'O', 'R', 'P', 'U', 'S', '4'};
  static constexpr size_t kAlign = 64;

  struct Writer {
    AtomicFile file;
    Crc32 crc;
    uint64_t at;
    void put(const void* data, size_t n) {
      file.write(data, n);
      crc.add(data, n);
      at += n;
    }
    void pad() {
      static constexpr char zeros[kAlign] = {};
      put(zeros, (kAlign - at % kAlign) % kAlign);
    }
  };
  struct Cursor {
    std::span<const std::byte> bytes;
    size_t at;
    bool get(void* data, size_t n) {
      if (n > bytes.size() - at) return false;
      std::memcpy(data, bytes.data() + at, n);
      at += n;
      return true;
    }
    bool pad() {
      const size_t n = (kAlign - at % kAlign) % kAlign;
      if (n > bytes.size() - at) return false;
      at += n;
      return true;
    }
    // count Ts in place (the file's arrays are 64-byte aligned, mappings page-aligned).
    template <typename T>
    const T* view(uint64_t count) {
      if (count > (bytes.size() - at) / sizeof(T)) return nullptr;
      const T* p = reinterpret_cast<const T*>(bytes.data() + at);
      at += count * sizeof(T);
      return p;
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
  const bool mono = paths.monolingual();
  check(mono || (!paths.src.empty() && !paths.tgt.empty()), "a parallel corpus needs a source and a target file");
  for (const auto& p : CorpusCache::files(paths)) check(fs::exists(p), "corpus file ", p, " does not exist");
  // Monolingual text is the target side (what a language model predicts);
  // every source sequence is empty.
  const std::string& src_path = mono ? paths.text : paths.src;
  const std::string& tgt_path = mono ? paths.text : paths.tgt;
  const std::string label = mono ? paths.text : paths.src + " / " + paths.tgt;
  ParallelCorpus corpus;
  CorpusStats stats;
  const bool use_cache = !cache_dir.empty() && !keep_text;
  const std::string key = use_cache ? CorpusCache::key(paths, vocabularies, filter) : "";
  const std::string cache_file = use_cache ? CorpusCache::path(cache_dir, key) : "";
  if (use_cache && CorpusCache::read(cache_file, key, corpus, stats)) {
    stats.from_cache = true;
    spdlog::info("corpus {}: {} {} from cache {}", label, stats.kept, mono ? "lines" : "pairs", cache_file);
    if (stats_out) *stats_out = stats;
    return corpus;
  }
  if (use_cache && fs::exists(cache_file))
    spdlog::warn("corpus cache {} is damaged; encoding {} again", cache_file, label);
  // With a cache the encoded pairs are spooled to disk as they come and the
  // corpus is the cache file mapped; without, they gather in memory.
  std::unique_ptr<SpooledStore> src_spool, tgt_spool;
  if (use_cache) {
    fs::create_directories(cache_dir);
    const std::string spool = concat(cache_file, ".", ::getpid());
    src_spool = std::make_unique<SpooledStore>(spool + ".src");
    tgt_spool = std::make_unique<SpooledStore>(spool + ".tgt");
  }
  if (keep_text) {
    corpus.src_text_offsets_.push_back(0);
    corpus.tgt_text_offsets_.push_back(0);
  }

  LineReader src(src_path), tgt(tgt_path);
  std::vector<std::string> src_lines, tgt_lines;
  std::vector<std::vector<int32_t>> src_ids, tgt_ids;
  bool more = true;
  while (more) {
    src_lines.clear();
    tgt_lines.clear();
    std::string a, b;
    while (src_lines.size() < kChunk) {
      const bool got_b = tgt.next(b), got_a = mono ? got_b : src.next(a);
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
        if (!mono) src_ids[i] = vocabularies.source->encode(src_lines[i]);
      } catch (const Error& e) {
        throw where(src_path, e);
      }
      try {
        tgt_ids[i] = vocabularies.target->encode(tgt_lines[i]);
      } catch (const Error& e) {
        throw where(tgt_path, e);
      }
    });
    for (int64_t i = 0; i < n; ++i) {
      ++stats.lines;
      auto& s = src_ids[i];
      const auto& t = tgt_ids[i];
      const int64_t ls = static_cast<int64_t>(s.size()), lt = static_cast<int64_t>(t.size());
      if ((ls == 0 && !mono) || lt == 0) {
        ++stats.empty;
        continue;
      }
      if (ls + 1 > filter.max_len || lt + 1 > filter.max_len) {  // + EOS
        ++stats.too_long;
        continue;
      }
      if (filter.max_length_ratio > 0 && !mono &&
          static_cast<float>(std::max(ls, lt)) > filter.max_length_ratio * static_cast<float>(std::min(ls, lt))) {
        ++stats.bad_ratio;
        continue;
      }
      if (!mono) s.push_back(kEosId);
      if (use_cache) {
        src_spool->add(s);
        tgt_spool->add(t);
      } else {
        corpus.src_.add(s);
        corpus.tgt_.add(t);
      }
      if (keep_text) {
        corpus.src_text_ += src_lines[i];
        corpus.tgt_text_ += tgt_lines[i];
        corpus.src_text_offsets_.push_back(corpus.src_text_.size());
        corpus.tgt_text_offsets_.push_back(corpus.tgt_text_.size());
      }
      ++stats.kept;
    }
  }
  if (mono)
    spdlog::info("corpus {}: {} lines, kept {}, dropped {} empty, {} over {} tokens", label, stats.lines, stats.kept,
                 stats.empty, stats.too_long, filter.max_len);
  else
    spdlog::info("corpus {}: {} lines, kept {}, dropped {} empty, {} over {} tokens, {} with length ratio over {}",
                 label, stats.lines, stats.kept, stats.empty, stats.too_long, filter.max_len, stats.bad_ratio,
                 filter.max_length_ratio);
  // Vectors grown by doubling hold up to twice their tokens: training keeps
  // the corpus beside its activations, so give the slack back.
  corpus.src_.shrink_to_fit();
  corpus.tgt_.shrink_to_fit();
  for (auto* text : {&corpus.src_text_, &corpus.tgt_text_}) text->shrink_to_fit();
  for (auto* offsets : {&corpus.src_text_offsets_, &corpus.tgt_text_offsets_}) offsets->shrink_to_fit();
  if (use_cache) {
    CorpusCache::write(cache_file, key, stats, *src_spool, *tgt_spool);
    src_spool.reset();
    tgt_spool.reset();
    check(CorpusCache::read(cache_file, key, corpus, stats), "corpus cache ", cache_file,
          " does not read back as written (disk full or failing?)");
  }
  if (stats_out) *stats_out = stats;
  return corpus;
}

}  // namespace rosetta
