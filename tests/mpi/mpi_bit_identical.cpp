// Run under mpirun: N ranks, each with its own thread count, train through mpi_chain_reducer and
// must end bit-identical to one process with as many threads as all the ranks together: the
// same weights, the same loss and gradient norm at every step, the same carried state (in
// sequence mode) and the same evaluation loss.  A control run with one thread must differ, so
// that the comparison is known to see a different summation order.
//   mpirun -np 2 mpi_bit_identical 1        every rank 1 thread
//   mpirun -np 3 mpi_bit_identical mixed    rank r has 1 + r % 2 threads
#include <mpi.h>

#include <charlstm/charlstm.hpp>
#include <charlstm/mpi/reducer.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "training_run.hpp"

using namespace mpi_test;

namespace {

template <class T_>
bool same_bits(const std::vector<T_>& a, const std::vector<T_>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T_)) == 0;
}

idx differing(const std::vector<float>& a, const std::vector<float>& b) {
  idx n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const bool mixed = argc > 1 && std::string(argv[1]) == "mixed";
  const idx threads = mixed ? 1 + rank % 2 : 1;
  int failures = 0;
  // 5,072 parameters: one message of the default segment, or 6 of 1,000.
  const recipe recipes[] = {
      {false, charlstm::optimizer_kind::rmsprop, idx{1} << 16, "window, RMSprop, one segment"},
      {true, charlstm::optimizer_kind::adam, 1000, "sequence, Adam, 6 segments"}};
  for (const recipe& r : recipes) {
    charlstm::mpi_chain_reducer<float> reducer(MPI_COMM_WORLD, threads, r.segment);
    const charlstm::worker_slots slots = reducer.slots(threads);
    const idx first = B * slots.first / slots.total;
    const idx count = B * (slots.first + threads) / slots.total - first;
    const run_result spread = train(r, threads, &reducer, first, count);
    const run_result alone = train(r, slots.total, nullptr, first, count);
    const run_result control = train(r, 1, nullptr, first, count);
    const bool ok = same_bits(spread.params, alone.params) &&
                    same_bits(spread.losses, alone.losses) &&
                    same_bits(spread.norms, alone.norms) && same_bits(spread.state, alone.state) &&
                    std::memcmp(&spread.eval_loss, &alone.eval_loss, sizeof(float)) == 0;
    const idx control_differs = differing(control.params, alone.params);
    std::printf(
        "rank %d (%ld thread(s), slices %ld..%ld of %ld), %s: %s; weights differing from "
        "%ld threads: %ld of %zu; from 1 thread (control): %ld\n",
        rank, static_cast<long>(threads), static_cast<long>(slots.first),
        static_cast<long>(slots.first + threads - 1), static_cast<long>(slots.total), r.name,
        ok ? "bit-identical" : "DIFFERENT", static_cast<long>(slots.total),
        static_cast<long>(differing(spread.params, alone.params)), spread.params.size(),
        static_cast<long>(control_differs));
    if (!ok) ++failures;
    if (control_differs == 0) {
      std::printf(
          "rank %d, %s: the 1-thread control is identical too: the test cannot tell "
          "summation orders apart\n",
          rank, r.name);
      ++failures;
    }
  }
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  return all == 0 ? 0 : 1;
}
