// OpenMP carries the thread count for oneDNN (built on OpenMP in Debian) and
// for the hand-written kernels alike.
#include "rosetta/tensor/threads.h"

#include <omp.h>

#include "rosetta/error.h"

namespace rosetta {

void set_num_threads(int threads) {
  check(threads >= 1, "thread count must be at least 1, got ", threads);
  omp_set_num_threads(threads);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace rosetta
