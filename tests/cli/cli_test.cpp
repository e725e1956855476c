// The rosetta command as a user runs it: exit codes and what it prints.
#include <gtest/gtest.h>

#include <filesystem>

#include "rosetta/config/config.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/model/transformer.h"
#include "testing/run_command.h"

namespace rosetta {
namespace {

using testing::rosetta_binary;
using testing::run_command;

const std::string kSmall = ROSETTA_SOURCE_DIR "/configs/multi30k-small.yaml";

TEST(Cli, VersionAndHelp) {
  auto r = run_command(rosetta_binary() + " --version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("rosetta "), std::string::npos);
  r = run_command(rosetta_binary() + " --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("train"), std::string::npos);
  EXPECT_NE(run_command(rosetta_binary()).exit_code, 0);  // a subcommand is required
}

TEST(Cli, DryRunPrintsTheReferenceParameterCount) {
  const auto r = run_command(rosetta_binary() + " train --config " + kSmall + " --dry-run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters: 7577600"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("d_model: 256"), std::string::npos);
  EXPECT_NE(r.output.find("estimated memory per batch"), std::string::npos);
}

// Two processes sharing the cores must not spin through each other's time
// slices: unless the user chose, idle OpenMP threads spin 1,000 rounds.
TEST(Cli, BoundsOpenMpSpinningUnlessTheUserChose) {
  const std::string command = rosetta_binary() + " train --config " + kSmall + " --dry-run";
  // The runtime itself must have read it: its last settings dump (the image run again) shows it.
  auto r = run_command("env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose " + command);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("idle OpenMP threads: GOMP_SPINCOUNT=1000)"), std::string::npos) << r.output;
  const auto last_dump = r.output.rfind("OPENMP DISPLAY ENVIRONMENT BEGIN");
  ASSERT_NE(last_dump, std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GOMP_SPINCOUNT = '1000'", last_dump), std::string::npos) << r.output.substr(last_dump);
  r = run_command("env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive " + command);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("idle OpenMP threads: OMP_WAIT_POLICY=passive)"), std::string::npos) << r.output;
  r = run_command("env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=20 " + command);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("idle OpenMP threads: GOMP_SPINCOUNT=20)"), std::string::npos) << r.output;
}

TEST(Cli, OverridesReachTheModel) {
  const auto r = run_command(rosetta_binary() + " train --config " + kSmall +
                             " --set model.norm=pre --set train.max_steps=200 --dry-run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters: 7578624"), std::string::npos) << r.output;  // + 2 final norms
  EXPECT_NE(r.output.find("max_steps: 200"), std::string::npos);
}

TEST(Cli, BadInputExitsNonZeroWithTheKeyOrFile) {
  auto r = run_command(rosetta_binary() + " train --config " + kSmall + " --set model.heads=3 --dry-run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("model.heads"), std::string::npos) << r.output;
  r = run_command(rosetta_binary() + " train --config /no/such.yaml --dry-run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/no/such.yaml"), std::string::npos) << r.output;
  r = run_command(rosetta_binary() + " info " + kSmall);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not a Rosetta checkpoint"), std::string::npos) << r.output;
}

TEST(Cli, InfoPrintsConfigParameterCountAndStep) {
  const Config config = load_config(kSmall);
  Rng rng(1);
  Transformer model(config.model, rng);
  Checkpoint c;
  c.texts["config"] = to_yaml(config);
  c.texts["state/step"] = "1234";
  store_parameters(model, c);
  const std::string path = std::filesystem::temp_directory_path() / "rosetta_cli_info.ckpt";
  save_checkpoint(c, path);
  const auto r = run_command(rosetta_binary() + " info " + path);
  std::filesystem::remove(path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters: 7577600"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step: 1234"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("d_model: 256"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rosetta
