// charlstm/process_group.hpp: the processes that train one model together, as fit() sees them.
// Every process runs the same steps on its own slices of every batch; a process_group is what
// they need of each other beyond the gradient sum: which of them is the lead (rank 0: the only
// one that writes files and reports), a vote after every step (so that a stop asked of any of
// them ends all of them after the same step), rank 0's bytes for all (a checkpoint read by one
// process only), the carried state's columns gathered, and a check that all hold the same
// weights.  The interface only: Open MPI's implementation is mpi/process_group.hpp, outside the
// umbrella header, so that the numeric library never needs <mpi.h>.  fit() without a group is
// one process alone.
#pragma once

#include <cstdint>
#include <string>

#include "parallel.hpp"
#include "tensor.hpp"

namespace charlstm {

// What a process asks of the others after a step; fit() ORs them across the group.
enum stop_vote : unsigned {
  vote_none = 0,
  vote_stop_requested = 1,  // a stop signal reached this process
  vote_out_of_time = 2,     // this process's clock passed the time limit
  vote_save_failed = 4,     // the lead's last save failed: every process ends with an error
};

template <class S>
class process_group {
 public:
  virtual ~process_group() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool lead() const { return rank() == 0; }

  // The reducer that combines this process's `threads` workers with the other processes', and
  // places them among all the slices of a batch (gradient_reducer::slots).
  virtual gradient_reducer<S>& reducer(index threads) = 0;

  // Every process calls this after optimizer step `step` with its own votes; all receive the
  // OR of everyone's.  The step names the place in a failure's message.
  virtual unsigned vote(unsigned mine, std::int64_t step) = 0;

  // Rank 0's `bytes` replace every other process's.
  virtual void broadcast(std::string& bytes) = 0;

  // Columns [first, first + count) of the column-major rows x cols `data` are this process's;
  // afterwards every process holds every process's columns.  The blocks must tile the columns.
  virtual void share_columns(S* data, index rows, index cols, index first, index count) = 0;

  // Throws charlstm::error on every process unless all passed the same `digest` (of their
  // weights, at optimizer step `step`).
  virtual void check_same(std::uint64_t digest, std::int64_t step) = 0;
};

// FNV-1a over `n` scalars' bytes: the weights' digest that check_same compares.
template <class S>
std::uint64_t digest_of(const S* data, index n) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  const std::size_t count = static_cast<std::size_t>(n) * sizeof(S);
  for (std::size_t i = 0; i < count; ++i) {
    h ^= bytes[i];
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace charlstm
