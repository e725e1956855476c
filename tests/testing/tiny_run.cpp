#include "testing/tiny_run.h"

#include <fstream>

#include "rosetta/tensor/random.h"

namespace rosetta::testing {

std::vector<std::string> copy_lines(size_t n, uint64_t seed) {
  static const std::vector<std::string> words = {"red", "blue", "green", "cat", "dog", "bird", "runs", "sits", "big", "small"};
  Rng rng(seed);
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string line;
    const int length = 2 + static_cast<int>(rng.next_u64() % 5);
    for (int w = 0; w < length; ++w) line += (w ? " " : "") + words[rng.next_u64() % words.size()];
    lines.push_back(line);
  }
  return lines;
}

Config tiny_config(const TempDir& dir, const std::vector<std::string>& overrides) {
  const auto train = copy_lines(600, 1), valid = copy_lines(40, 2);
  dir.write_lines("train.src", train);
  dir.write_lines("train.tgt", train);
  dir.write_lines("valid.src", valid);
  dir.write_lines("valid.tgt", valid);
  std::vector<std::string> all = {"data.train.src=" + dir.path("train.src"), "data.train.tgt=" + dir.path("train.tgt"),
                                  "data.valid.src=" + dir.path("valid.src"), "data.valid.tgt=" + dir.path("valid.tgt"),
                                  "train.run_dir=" + dir.path("run"), "vocab.size=32"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config(ROSETTA_SOURCE_DIR "/configs/tiny.yaml", all);
}

namespace {

Config monolingual_config(const TempDir& dir, const char* yaml, const std::vector<std::string>& overrides) {
  dir.write_lines("train.txt", copy_lines(600, 1));
  dir.write_lines("valid.txt", copy_lines(40, 2));
  std::vector<std::string> all = {"data.train.text=" + dir.path("train.txt"), "data.valid.text=" + dir.path("valid.txt"),
                                  "train.run_dir=" + dir.path("run"), "vocab.size=32"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config(std::string(ROSETTA_SOURCE_DIR "/configs/") + yaml, all);
}

}  // namespace

Config tiny_mlm_config(const TempDir& dir, const std::vector<std::string>& overrides) {
  return monolingual_config(dir, "tiny-mlm.yaml", overrides);
}

Config tiny_lm_config(const TempDir& dir, const std::vector<std::string>& overrides) {
  return monolingual_config(dir, "tiny-lm.yaml", overrides);
}


std::vector<double> logged_losses(const std::string& metrics_file) {
  std::ifstream in(metrics_file);
  std::vector<double> losses;
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("\"loss\":");
    if (line.find("\"type\":\"train\"") != std::string::npos && at != std::string::npos)
      losses.push_back(std::stod(line.substr(at + 7)));
  }
  return losses;
}

}  // namespace rosetta::testing
