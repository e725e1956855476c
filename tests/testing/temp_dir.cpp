#include "testing/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>

#include "rosetta/tensor/random.h"

namespace rosetta::testing {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string("rosetta_") + (info ? info->test_suite_name() + std::string("_") + info->name() : "test");
  for (char& c : name)
    if (c == '/') c = '_';
  // Numbered, so that two folders of one test are two folders.
  static std::atomic<int> made{0};
  root_ = std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + "_" + std::to_string(made++));
  std::filesystem::remove_all(root_);
  std::filesystem::create_directories(root_);
}

TempDir::~TempDir() { std::filesystem::remove_all(root_); }

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = path(name);
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string TempDir::write_lines(const std::string& name, const std::vector<std::string>& lines) const {
  std::string content;
  for (const auto& line : lines) content += line + "\n";
  return write(name, content);
}

ToyCorpus toy_corpus(size_t lines, uint64_t seed) {
  static const std::vector<std::string> words = {
      "the", "a", "dog", "cat", "runs", "jumps", "over", "red", "blue", "house", "tree", "man",
      "woman", "child", "plays", "with", "ball", "in", "park", "green", "small", "big", "sees", "bird"};
  Rng rng(seed);
  ToyCorpus c;
  for (size_t i = 0; i < lines; ++i) {
    const int n = 3 + static_cast<int>(rng.next_u64() % 10);
    std::vector<std::string> sentence;
    for (int w = 0; w < n; ++w) sentence.push_back(words[rng.next_u64() % words.size()]);
    std::string s, t;
    for (int w = 0; w < n; ++w) {
      s += (w ? " " : "") + sentence[w];
      t += (w ? " " : "") + sentence[n - 1 - w] + "en";
    }
    c.src.push_back(s);
    c.tgt.push_back(t);
  }
  return c;
}

}  // namespace rosetta::testing
