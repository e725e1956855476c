#include "openmp_waiting.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace rosetta::cli {
namespace {

// This program's file, or "" when exec'ing it again would not run this
// program the same way: no /proc, a deleted file, or a program started
// through the dynamic loader (/proc/self/exe is then the loader).
std::string own_executable() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  const std::string resolved(path, static_cast<size_t>(n));
  const std::string name = resolved.substr(resolved.rfind('/') + 1);
  if (name.rfind("ld-", 0) == 0 || resolved.ends_with(" (deleted)")) return "";
  return resolved;
}

}  // namespace

void start_with_bounded_openmp_spinning(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
  // By its resolved path, so the process keeps its name ("rosetta", not "exe").
  const std::string executable = own_executable();
  if (executable.empty() || setenv("GOMP_SPINCOUNT", "1000", 0) != 0) return;
  execv(executable.c_str(), argv);
  unsetenv("GOMP_SPINCOUNT");  // exec failed: the runtime keeps its default, and the log must say so
}

std::string openmp_waiting() {
  std::string setting;
  for (const char* name : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"})
    if (const char* value = std::getenv(name)) setting += (setting.empty() ? "" : ", ") + std::string(name) + "=" + value;
  return setting.empty() ? "the OpenMP runtime's default" : setting;
}

}  // namespace rosetta::cli
