// The processes of one training run and the collectives between them, on
// Open MPI. A process started by mpirun (or srun, or any launcher that sets
// the PMIx/Open MPI environment) joins MPI_COMM_WORLD; any other process is a
// group of one, never touches MPI, and every collective is a no-op there.
//
// One thread at a time calls these (main's, or while main makes no calls,
// a communication thread: see threads_may_communicate()). Every process must make the same calls
// in the same order. The sums are fixed-order (rank 0 first, then 1, 2, ...),
// so their results are bit-for-bit the same on every process and for every
// run, unlike MPI_Allreduce, whose association is the library's choice.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rosetta::dist {

class ProcessGroup {
 public:
  // The process-wide group; joins MPI on first use when launched by mpirun.
  static ProcessGroup& world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  // MPI accepts calls from a thread other than main's (one at a time): the
  // collectives may run on a communication thread while main waits for none.
  bool threads_may_communicate() const { return serialized_; }

  void barrier();
  // data[i] becomes ((x_0[i] + x_1[i]) + x_2[i]) + ..., x_r the data of rank r,
  // on every process. Each process sums 1/size of the elements and shares it
  // (a reduce-scatter by all-to-all, then an all-gather).
  void sum_in_rank_order(std::span<float> data);
  // Every process's values, rank after rank (each gives the same count).
  std::vector<double> all_gather(std::span<const double> values);
  std::vector<int64_t> all_gather(std::span<const int64_t> values);
  std::vector<std::string> all_gather(const std::string& value);
  // Root's data replaces every other process's.
  void broadcast(std::span<float> data, int root = 0);
  void broadcast(std::span<int64_t> values, int root = 0);
  void broadcast(std::string& bytes, int root = 0);

  // Ends every process of the run at once (after an error on this one, so
  // that no other waits forever in a collective). Returns only when alone.
  void abort(int exit_code);
  // Leaves MPI cleanly: at the end of main, else when the process exits.
  void finalize();

 private:
  ProcessGroup();
  ~ProcessGroup() { finalize(); }
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  bool serialized_ = false;
};

inline ProcessGroup& world() { return ProcessGroup::world(); }

}  // namespace rosetta::dist
