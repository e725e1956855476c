// The CPU thread count used by oneDNN and the hand-written loops (OpenMP).
#pragma once

namespace rosetta {

void set_num_threads(int threads);
int num_threads();

}  // namespace rosetta
