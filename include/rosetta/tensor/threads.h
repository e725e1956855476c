// The CPU thread count used by oneDNN and the hand-written loops (OpenMP).
#pragma once

#include <cstdint>
#include <exception>

namespace rosetta {

void set_num_threads(int threads);
int num_threads();

// for (i = 0; i < n; ++i) body(i) on OpenMP threads. An exception may not
// leave an OpenMP region (the process would terminate): the first one by
// index is caught and rethrown here once the loop is done.
template <typename Body>
void parallel_for(int64_t n, const Body& body) {
  std::exception_ptr failure;
  int64_t failed_at = n;
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {
#pragma omp critical(rosetta_parallel_for)
      if (i < failed_at) {
        failed_at = i;
        failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace rosetta
