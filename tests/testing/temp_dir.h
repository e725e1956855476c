// A fresh folder for one test, removed afterwards, and small text files in it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rosetta::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return (root_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const;
  std::string write_lines(const std::string& name, const std::vector<std::string>& lines) const;

 private:
  std::filesystem::path root_;
};

// The whole content of a file ("" when it cannot be read).
std::string read_text(const std::string& path);

// Deterministic toy parallel text: source sentences of 3-12 words from a
// small lexicon and targets that reverse them with a suffix on each word.
struct ToyCorpus {
  std::vector<std::string> src, tgt;
};
ToyCorpus toy_corpus(size_t lines, uint64_t seed);

}  // namespace rosetta::testing
