// The run folder: where checkpoints, metrics and logs of a training run live,
// and how they are found again to resume.
//
//   <run_dir>/config.yaml              the resolved config of the run
//   <run_dir>/checkpoints/step-N.ckpt  the last train.keep_last checkpoints
//   <run_dir>/best.ckpt                the best by validation BLEU
//   <run_dir>/metrics.jsonl            one JSON object a log line or validation
//   <run_dir>/progress.svg             training loss and validation BLEU
//   <run_dir>/cache/                   encoded corpora
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rosetta {

class RunFolder {
 public:
  explicit RunFolder(std::string root);
  const std::string& root() const { return root_; }
  std::string path(const std::string& name) const;
  std::string checkpoint_path(int64_t step) const;
  std::string best_path() const { return path("best.ckpt"); }
  // Step checkpoints, newest first.
  std::vector<std::string> checkpoints() const;
  // Deletes step checkpoints beyond the newest `keep`.
  void prune(int64_t keep) const;
  void append_metrics(const std::string& json_line) const;

 private:
  std::string root_;
};

}  // namespace rosetta
