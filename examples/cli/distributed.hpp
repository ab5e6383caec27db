// The tool across processes: `mpirun -np N charlstm train ...` trains one model on N processes
// (docs/distributed.md) when the tool was built with -DCHARLSTM_MPI=ON.  This file is the
// tool's side of it: joining the launcher's job, the flags, and rank 0's inputs shared with all;
// the training itself is the library's (charlstm::fit with a process_group).  A build without
// MPI compiles distributed_none.cpp instead and refuses to run under a launcher.
#pragma once

#include <CLI/CLI.hpp>
#include <charlstm/process_group.hpp>
#include <functional>
#include <memory>
#include <string>

namespace cli {

// Whether this build trains across processes.
bool built_with_mpi();

// The environment variable through which an MPI launcher (Open MPI's mpirun, PMIx, MPICH's
// Hydra) told this process it is one of several copies, or "" when it was started alone.
std::string mpi_launch_variable();

// This process's rank as the launcher's environment says (0 when alone): before MPI starts.
int launch_rank();

// While alive, this process is part of the launcher's job (MPI initialised and finalised);
// alone, or without MPI, it does nothing.
class job_scope {
 public:
  explicit job_scope(bool launched);
  ~job_scope();
  job_scope(const job_scope&) = delete;
  job_scope& operator=(const job_scope&) = delete;
  // Ends every process of the job at once with `code` (a failure on one process would leave
  // the others waiting for it); returns alone.
  void abort(int code);

 private:
  bool joined_ = false;
};

// How `train` runs across processes.
struct distributed_options {
  double rank_timeout = 60;       // seconds a process waits for another before the job ends
  std::string reduce = "ordered";  // ordered (bit-identical) | allreduce
};

// Adds train's flags for runs across processes (none without MPI).
void add_distributed_flags(CLI::App& train, distributed_options& options);

// The job's processes as the library's process_group, or null when this process is alone.
std::unique_ptr<charlstm::process_group<float>> join_process_group(
    const distributed_options& options);

// `read()` on rank 0, the same bytes on every process; alone, just read().
std::string read_on_lead(charlstm::process_group<float>* group,
                         const std::function<std::string()>& read);

}  // namespace cli
