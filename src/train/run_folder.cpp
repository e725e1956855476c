#include "rosetta/train/run_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "rosetta/error.h"

namespace rosetta {

namespace fs = std::filesystem;

RunFolder::RunFolder(std::string root) : root_(std::move(root)) {
  fs::create_directories(fs::path(root_) / "checkpoints");
}

std::string RunFolder::path(const std::string& name) const { return (fs::path(root_) / name).string(); }

std::string RunFolder::checkpoint_path(int64_t step) const {
  char name[64];
  std::snprintf(name, sizeof(name), "step-%08lld.ckpt", static_cast<long long>(step));
  return (fs::path(root_) / "checkpoints" / name).string();
}

std::vector<std::string> RunFolder::checkpoints() const {
  // step-<digits>.ckpt, nothing else (temporary files end differently).
  auto is_step_checkpoint = [](const std::string& name) {
    const std::string prefix = "step-", suffix = ".ckpt";
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return false;
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    return digits.find_first_not_of("0123456789") == std::string::npos;
  };
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(fs::path(root_) / "checkpoints"))
    if (is_step_checkpoint(entry.path().filename().string())) found.push_back(entry.path().string());
  std::sort(found.rbegin(), found.rend());  // zero-padded steps: lexical order is step order
  return found;
}

void RunFolder::prune(int64_t keep) const {
  const auto all = checkpoints();
  for (size_t i = static_cast<size_t>(keep); i < all.size(); ++i) fs::remove(all[i]);
}

void RunFolder::append_metrics(const std::string& json_line) const {
  std::ofstream out(path("metrics.jsonl"), std::ios::app);
  check(out.good(), "cannot write ", path("metrics.jsonl"));
  out << json_line << '\n';
}

}  // namespace rosetta
