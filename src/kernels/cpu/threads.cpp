// Thread count for OpenMP, which both oneDNN (built on OpenMP in Debian) and
// the hand-written kernels use.
#include <omp.h>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

void set_num_threads(int threads) {
  check(threads >= 1, "thread count must be at least 1, got ", threads);
  omp_set_num_threads(threads);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace rosetta::kernels
