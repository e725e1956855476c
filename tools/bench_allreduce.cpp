// Micro-benchmark: one update's gradient sum across processes, as the
// trainer makes it (dist::ProcessGroup::sum_in_rank_order over one flat
// buffer). Run it under mpirun; rank 0 prints one JSON line with the median
// time, the bytes each process sent, and the bandwidth that implies.
//
//   mpirun -np 2 [--mca btl tcp,self] bench_allreduce [--floats N] [--repeats R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rosetta/dist/process_group.h"

int main(int argc, char** argv) {
  int64_t floats = 7577600;  // multi30k-small's parameters
  int repeats = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--floats")) floats = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
  }
  rosetta::dist::ProcessGroup& group = rosetta::dist::world();
  std::vector<float> data(static_cast<size_t>(floats));
  std::vector<double> seconds;
  for (int r = 0; r < repeats + 2; ++r) {
    std::fill(data.begin(), data.end(), static_cast<float>(group.rank() + 1));
    group.barrier();
    const auto start = std::chrono::steady_clock::now();
    group.sum_in_rank_order(data);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r >= 2) seconds.push_back(s);  // two to warm up
  }
  const float expected = static_cast<float>(group.size() * (group.size() + 1) / 2);
  const bool correct = std::all_of(data.begin(), data.end(), [&](float x) { return x == expected; });
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  // All-to-all then all-gather: each process sends (N-1)/N of the buffer twice,
  // as a ring all-reduce does.
  const double sent = 2.0 * (group.size() - 1) / group.size() * 4.0 * static_cast<double>(floats);
  if (group.is_root())
    std::printf("{\"processes\":%d,\"floats\":%lld,\"median_sec\":%.6f,\"min_sec\":%.6f,\"bytes_sent_per_process\":%.0f,"
                "\"gbit_per_sec\":%.3f,\"correct\":%s}\n",
                group.size(), static_cast<long long>(floats), median, seconds.front(), sent, sent * 8 / median / 1e9,
                correct ? "true" : "false");
  group.finalize();
  return correct ? 0 : 1;
}
