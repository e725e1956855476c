// How long idle OpenMP threads spin before they sleep, set before the
// OpenMP runtime starts.
#pragma once

#include <string>

namespace rosetta::cli {

// libgomp spins an idle thread for ~300,000 rounds before it sleeps, and
// lowers that to 1,000 only when its own process has more threads than
// the machine has cores. Two processes sharing the cores (two runs, or
// training beside translation) each spin through the time slice the
// thread they wait for needs: measured with two 2-thread trainings on 2
// cores, 500 target tokens/s each instead of 4,850-4,990 with 1,000 rounds
// (alone, 1,000 rounds runs as fast as the default). The runtime reads
// GOMP_SPINCOUNT when it loads, before main, so when the user set neither
// it nor OMP_WAIT_POLICY this sets it and runs the program again in the
// same process (exec keeps the pid, so mpirun is unaffected). Returns only
// when the setting is already in place or the program cannot be run again
// (then the variable is left unset). Under valgrind or a debugger, set
// GOMP_SPINCOUNT yourself to keep the first image.
void start_with_bounded_openmp_spinning(char** argv);

// The setting in force, for logs: "GOMP_SPINCOUNT=1000", "OMP_WAIT_POLICY=passive", ...
std::string openmp_waiting();

}  // namespace rosetta::cli
