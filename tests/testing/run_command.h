// Runs a shell command for the command-line tests; returns its exit code and
// what it printed (stdout, with stderr too unless stdout_only).
#pragma once

#include <string>

namespace rosetta::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run_command(const std::string& command, bool stdout_only = false);

// The rosetta binary of this build.
std::string rosetta_binary();

}  // namespace rosetta::testing
