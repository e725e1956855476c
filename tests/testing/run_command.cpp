#include "testing/run_command.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace rosetta::testing {

CommandResult run_command(const std::string& command, bool stdout_only) {
  CommandResult result;
  FILE* pipe = ::popen((command + (stdout_only ? " 2>/dev/null" : " 2>&1")).c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string rosetta_binary() { return ROSETTA_BINARY_DIR "/rosetta"; }

}  // namespace rosetta::testing
