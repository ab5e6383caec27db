// The tool across processes with Open MPI (see distributed.hpp); compiled instead of
// distributed_none.cpp when CHARLSTM_MPI=ON.
#include "distributed.hpp"
#include "signals.hpp"

#include <mpi.h>

#include <charlstm/mpi/process_group.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>

namespace cli {

bool built_with_mpi() { return true; }

job_scope::job_scope(bool launched) {
  if (!launched) return;
  int provided = 0;
  // Only the main thread calls MPI; the thread team's workers never do.
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  joined_ = true;
}

job_scope::~job_scope() {
  if (joined_) MPI_Finalize();
}

void job_scope::abort(int code) {
  if (!joined_) return;
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (ranks > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

void add_distributed_flags(CLI::App& train, distributed_options& options) {
  train
      .add_option("--rank-timeout", options.rank_timeout,
                  "under mpirun: seconds a process waits for another before the whole job ends "
                  "with an error naming it (0: forever)")
      ->capture_default_str();
  train
      .add_option("--reduce", options.reduce,
                  "under mpirun: ordered (bit-identical to one process of all the threads) | "
                  "allreduce (MPI_Allreduce: faster at many ranks, not bit-identical)")
      ->capture_default_str();
}

std::unique_ptr<charlstm::process_group<float>> join_process_group(
    const distributed_options& options) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) return nullptr;
  charlstm::require(std::isfinite(options.rank_timeout) && options.rank_timeout >= 0,
                    "--rank-timeout must be a number of seconds >= 0");
  charlstm::require(options.reduce == "ordered" || options.reduce == "allreduce",
                    "--reduce must be ordered or allreduce, got '" + options.reduce + "'");
  // mpirun kills every process 1 s after it forwards SIGTERM: from then on, a process that
  // does not answer is named at once (mpi_link::urgent_stop).
  return std::make_unique<charlstm::mpi_process_group<float>>(
      MPI_COMM_WORLD, options.rank_timeout, [] { return stop_signal() == SIGTERM; },
      options.reduce == "ordered" ? charlstm::mpi_reduction::ordered
                                  : charlstm::mpi_reduction::allreduce);
}

}  // namespace cli
