// rosetta average --out FILE (CKPT... | --last N RUN_DIR)
#include <spdlog/spdlog.h>

#include "commands.h"
#include "rosetta/error.h"
#include "rosetta/train/checkpoint_average.h"
#include "rosetta/train/run_folder.h"

namespace rosetta::cli {

void add_average_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("average", "Average the parameters of several checkpoints into a new one");
  struct Options {
    std::string out, run_dir;
    std::vector<std::string> inputs;
    int64_t last = 0;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--out", o->out, "the averaged checkpoint to write")->required();
  cmd->add_option("--last", o->last, "average the newest N step checkpoints of --run-dir");
  cmd->add_option("--run-dir", o->run_dir, "run folder for --last");
  cmd->add_option("checkpoints", o->inputs, "checkpoint files");
  cmd->callback([o] {
    std::vector<std::string> inputs = o->inputs;
    if (o->last > 0) {
      check(!o->run_dir.empty(), "--last needs --run-dir");
      auto all = RunFolder(o->run_dir).checkpoints();
      check(static_cast<int64_t>(all.size()) >= o->last, o->run_dir, " has ", all.size(), " checkpoints, fewer than ", o->last);
      inputs.assign(all.begin(), all.begin() + o->last);
    }
    check(!inputs.empty(), "average: give checkpoint files or --last N --run-dir DIR");
    average_checkpoints(inputs, o->out);
    spdlog::info("averaged {} checkpoints into {}", inputs.size(), o->out);
  });
}

}  // namespace rosetta::cli
