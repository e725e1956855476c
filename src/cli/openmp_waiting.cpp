#include "openmp_waiting.h"

#include <unistd.h>

#include <cstdlib>

namespace rosetta::cli {

void start_with_bounded_openmp_spinning(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
  if (setenv("GOMP_SPINCOUNT", "1000", 0) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): run on with the runtime's default.
}

std::string openmp_waiting() {
  std::string setting;
  for (const char* name : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"})
    if (const char* value = std::getenv(name)) setting += (setting.empty() ? "" : ", ") + std::string(name) + "=" + value;
  return setting.empty() ? "the OpenMP runtime's default" : setting;
}

}  // namespace rosetta::cli
