// Runs a shell command for the command-line tests; returns its exit code and
// what it printed (stdout and stderr together).
#pragma once

#include <string>

namespace rosetta::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run_command(const std::string& command);

// The rosetta binary of this build.
std::string rosetta_binary();

}  // namespace rosetta::testing
