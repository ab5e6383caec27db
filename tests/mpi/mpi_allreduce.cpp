// Run under mpirun: N ranks, each with its own thread count, train through
// mpi_allreduce_reducer, which is NOT bit-identical to one process, and must end close to one
// process with as many threads as all the ranks together: after 6 steps (clipping, dropout, 2
// layers) every weight within `weight_tolerance` of it, every step's loss and gradient norm
// within `relative_tolerance`.  Every rank must hold the very same weights as rank 0 (the
// replicas may not drift apart).  It reports how many weights differ in their bits.
//   mpirun -np 3 mpi_allreduce mixed    rank r has 1 + r % 2 threads
//   mpirun -np 4 mpi_allreduce 1        every rank 1 thread
#include <mpi.h>

#include <algorithm>
#include <charlstm/charlstm.hpp>
#include <charlstm/mpi/allreduce_reducer.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "training_run.hpp"

using namespace mpi_test;

namespace {

// The learning rates are the optimizers' defaults (RMSprop 0.01, Adam 0.001), so a step moves a
// weight by up to about 0.01 or 0.001; a slice lost or weighted wrongly moves it by that order.
// Another summation order moves it by rounding only, amplified by the optimizers' division by
// the root of a small second moment.  Measured on Open MPI 4.1.4 (2 ranks x 1, 3 ranks of 1, 2,
// 1 threads, 4 ranks x 1): the largest weight difference 1.5e-8 to 3.4e-7, 6 to 59 % of the
// weights differing in their bits (the single process's sum is fused multiply-adds, the ranks'
// separate products and sums, so even 2 ranks differ; with -ffp-contract=off 2 ranks match).
constexpr double weight_tolerance = 1e-5;
constexpr double relative_tolerance = 1e-5;  // losses, norms: a few float roundings

double relative(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const bool mixed = argc > 1 && std::string(argv[1]) == "mixed";
  const idx threads = mixed ? 1 + rank % 2 : 1;
  int failures = 0;
  const recipe recipes[] = {{false, charlstm::optimizer_kind::rmsprop, 0, "window, RMSprop"},
                            {true, charlstm::optimizer_kind::adam, 0, "sequence, Adam"}};
  for (const recipe& r : recipes) {
    charlstm::mpi_allreduce_reducer<float> reducer(MPI_COMM_WORLD, threads);
    const charlstm::worker_slots slots = reducer.slots(threads);
    const run_result spread = train(r, threads, &reducer);
    const run_result alone = train(r, slots.total, nullptr);
    double worst_weight = 0, worst_step = relative(spread.eval_loss, alone.eval_loss);
    idx differing = 0;
    for (std::size_t i = 0; i < alone.params.size(); ++i) {
      worst_weight =
          std::max(worst_weight, std::abs(double(spread.params[i]) - double(alone.params[i])));
      differing += std::memcmp(&spread.params[i], &alone.params[i], sizeof(float)) != 0;
    }
    for (std::size_t s = 0; s < alone.losses.size(); ++s) {
      worst_step = std::max({worst_step, relative(spread.losses[s], alone.losses[s]),
                             relative(spread.norms[s], alone.norms[s])});
    }
    std::vector<float> rank0 = spread.params;
    MPI_Bcast(rank0.data(), static_cast<int>(rank0.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
    const bool replicas_agree =
        std::memcmp(rank0.data(), spread.params.data(), rank0.size() * sizeof(float)) == 0;
    const bool ok =
        worst_weight <= weight_tolerance && worst_step <= relative_tolerance && replicas_agree;
    std::printf(
        "rank %d (%ld thread(s) of %ld), %s: %s; weights differing in their bits from %ld "
        "threads: %ld of %zu, largest difference %.3g (tolerance %.0e); largest relative "
        "difference of a loss or norm %.3g (tolerance %.0e); weights %s rank 0's\n",
        rank, static_cast<long>(threads), static_cast<long>(slots.total), r.name,
        ok ? "within tolerance" : "OUT OF TOLERANCE", static_cast<long>(slots.total),
        static_cast<long>(differing), alone.params.size(), worst_weight, weight_tolerance,
        worst_step, relative_tolerance, replicas_agree ? "equal to" : "DIFFERENT FROM");
    if (!ok) ++failures;
  }
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  return all == 0 ? 0 : 1;
}
