// How memory grows with corpus size: loads a parallel corpus with a
// SentencePiece model and prints, as one JSON line, the lines, tokens, the
// corpus's own bytes, the raw text's bytes and the process's peak RSS.
//
//   bench_corpus SPM_MODEL SRC TGT
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "rosetta/data/corpus.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_corpus SPM_MODEL SRC TGT\n");
    return 2;
  }
  try {
    const auto vocabularies = rosetta::Vocabularies::shared(rosetta::Tokenizer::load(argv[1]));
    const auto start = std::chrono::steady_clock::now();
    rosetta::CorpusStats stats;
    const auto corpus = rosetta::ParallelCorpus::load({argv[2], argv[3]}, vocabularies, {}, "", false, &stats);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int64_t tokens = 0;
    for (size_t i = 0; i < corpus.size(); ++i) tokens += corpus.src_length(i) + corpus.tgt_length(i);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto text_bytes = std::filesystem::file_size(argv[2]) + std::filesystem::file_size(argv[3]);
    std::printf(
        "{\"lines\":%lld,\"kept\":%lld,\"tokens\":%lld,\"corpus_mb\":%.1f,\"raw_text_mb\":%.1f,\"peak_rss_mb\":%.1f,"
        "\"seconds\":%.1f,\"lines_per_sec\":%.0f}\n",
        static_cast<long long>(stats.lines), static_cast<long long>(stats.kept), static_cast<long long>(tokens),
        corpus.bytes() / 1048576.0, text_bytes / 1048576.0, usage.ru_maxrss / 1024.0, seconds, stats.lines / seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_corpus: %s\n", e.what());
    return 1;
  }
}
