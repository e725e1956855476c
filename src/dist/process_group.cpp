#include "rosetta/dist/process_group.h"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "rosetta/error.h"

namespace rosetta::dist {

namespace {

// Set by mpirun (Open MPI), by PMIx launchers and by Slurm's srun.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

// MPI counts are ints: longer transfers go in pieces of this many elements.
constexpr int64_t kPiece = int64_t{1} << 28;

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
template <>
MPI_Datatype mpi_type<int64_t>() { return MPI_INT64_T; }

template <typename T>
std::vector<T> gather_all(std::span<const T> values, int size) {
  std::vector<T> out(values.size() * static_cast<size_t>(size));
  MPI_Allgather(values.data(), static_cast<int>(values.size()), mpi_type<T>(), out.data(),
                static_cast<int>(values.size()), mpi_type<T>(), MPI_COMM_WORLD);
  return out;
}

}  // namespace

ProcessGroup::ProcessGroup() {
  if (!launched_by_mpi()) return;
  int provided = 0;
  // One thread at a time talks to MPI: main's, or the gradient sum's while
  // main computes; OpenMP and the batch thread never do.
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  mpi_ = true;
  serialized_ = provided >= MPI_THREAD_SERIALIZED;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

ProcessGroup& ProcessGroup::world() {
  static ProcessGroup group;
  return group;
}

void ProcessGroup::barrier() {
  if (mpi_) MPI_Barrier(MPI_COMM_WORLD);
}

void ProcessGroup::sum_in_rank_order(std::span<float> data) {
  if (!distributed()) return;
  const int64_t p = size_;
  std::vector<float> received, mine;
  std::vector<int> counts(p), offsets(p), recv_counts(p), recv_offsets(p);
  // Offsets within a piece are ints too.
  const int64_t piece_length = std::min<int64_t>(kPiece * p, std::numeric_limits<int>::max());
  for (int64_t start = 0; start < static_cast<int64_t>(data.size()); start += piece_length) {
    const int64_t n = std::min<int64_t>(piece_length, static_cast<int64_t>(data.size()) - start);
    float* piece = data.data() + start;
    // Rank k owns elements [n*k/p, n*(k+1)/p) of the piece.
    for (int64_t k = 0; k < p; ++k) {
      offsets[k] = static_cast<int>(n * k / p);
      counts[k] = static_cast<int>(n * (k + 1) / p) - offsets[k];
    }
    const int own = counts[rank_];
    for (int64_t k = 0; k < p; ++k) {
      recv_counts[k] = own;
      recv_offsets[k] = static_cast<int>(k * own);
    }
    received.resize(static_cast<size_t>(own) * p);
    MPI_Alltoallv(piece, counts.data(), offsets.data(), MPI_FLOAT, received.data(), recv_counts.data(),
                  recv_offsets.data(), MPI_FLOAT, MPI_COMM_WORLD);
    float* sum = piece + offsets[rank_];
    std::copy_n(received.data(), own, sum);
    for (int64_t k = 1; k < p; ++k) {
      const float* part = received.data() + k * own;
      for (int j = 0; j < own; ++j) sum[j] += part[j];
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, piece, counts.data(), offsets.data(), MPI_FLOAT, MPI_COMM_WORLD);
  }
}

std::vector<double> ProcessGroup::all_gather(std::span<const double> values) {
  if (!distributed()) return {values.begin(), values.end()};
  return gather_all(values, size_);
}

std::vector<int64_t> ProcessGroup::all_gather(std::span<const int64_t> values) {
  if (!distributed()) return {values.begin(), values.end()};
  return gather_all(values, size_);
}

std::vector<std::string> ProcessGroup::all_gather(const std::string& value) {
  if (!distributed()) return {value};
  const int64_t length = static_cast<int64_t>(value.size());
  check(length < std::numeric_limits<int>::max(), "all_gather: a string of ", length, " bytes is too long");
  const std::vector<int64_t> lengths = gather_all(std::span<const int64_t>(&length, 1), size_);
  std::vector<int> counts(size_), offsets(size_);
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    counts[r] = static_cast<int>(lengths[r]);
    offsets[r] = static_cast<int>(total);
    total += lengths[r];
  }
  check(total < std::numeric_limits<int>::max(), "all_gather: ", total, " bytes in all are too many");
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(value.data(), counts[rank_], MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) out.push_back(all.substr(offsets[r], counts[r]));
  return out;
}

void ProcessGroup::broadcast(std::span<float> data, int root) {
  if (!distributed()) return;
  for (size_t start = 0; start < data.size(); start += kPiece)
    MPI_Bcast(data.data() + start, static_cast<int>(std::min<size_t>(kPiece, data.size() - start)), MPI_FLOAT, root,
              MPI_COMM_WORLD);
}

void ProcessGroup::broadcast(std::span<int64_t> values, int root) {
  if (!distributed()) return;
  check(values.size() < kPiece, "broadcast: ", values.size(), " numbers are too many");
  MPI_Bcast(values.data(), static_cast<int>(values.size()), MPI_INT64_T, root, MPI_COMM_WORLD);
}

void ProcessGroup::broadcast(std::string& bytes, int root) {
  if (!distributed()) return;
  uint64_t length = bytes.size();
  MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
  bytes.resize(length);
  for (uint64_t start = 0; start < length; start += kPiece)
    MPI_Bcast(bytes.data() + start, static_cast<int>(std::min<uint64_t>(kPiece, length - start)), MPI_CHAR, root,
              MPI_COMM_WORLD);
}

void ProcessGroup::abort(int exit_code) {
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, exit_code);
}

void ProcessGroup::finalize() {
  if (!mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace rosetta::dist
