// A run of configs/tiny.yaml on a copy task the test writes (the pattern of
// tests/train/train_test.cpp): trains in well under a second.
#pragma once

#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "testing/temp_dir.h"

namespace rosetta::testing {

// Lines of 2-6 words from a ten-word lexicon.
std::vector<std::string> copy_lines(size_t n, uint64_t seed);

// configs/tiny.yaml with 600 training and 40 validation pairs of the copy
// task written into dir, the run folder dir/run, a 32-piece vocabulary and
// then the overrides.
Config tiny_config(const TempDir& dir, const std::vector<std::string>& overrides = {});

// The loss of each "train" line of a run's metrics.jsonl, in order.
std::vector<double> logged_losses(const std::string& metrics_file);

// configs/tiny-lm.yaml (a decoder-only model) with the copy task's lines as
// its training (600) and validation (40) text, the run folder dir/run.
Config tiny_lm_config(const TempDir& dir, const std::vector<std::string>& overrides = {});
// The same text with configs/tiny-mlm.yaml (an encoder-only masked language model).
Config tiny_mlm_config(const TempDir& dir, const std::vector<std::string>& overrides = {});

}  // namespace rosetta::testing
