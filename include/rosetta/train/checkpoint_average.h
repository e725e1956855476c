// Checkpoint averaging (rosetta average, and a run's final.ckpt): the mean
// of several checkpoints' parameters in one self-contained checkpoint.
#pragma once

#include <string>
#include <vector>

namespace rosetta {

// Averages the parameters of checkpoints (equal weights, summed in double)
// into a new checkpoint with the config and vocabulary of the last one.
void average_checkpoints(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace rosetta
