// charlstm/mpi/reducer_base.hpp: what every reducer across Open MPI ranks shares, whatever order
// it sums in: where each rank's workers sit among all the workers of a step, the buffer the sum
// is taken in, and the gradient's norm taken as one process of all those threads takes it.  The
// two reducers (reducer.hpp's ordered chain, allreduce_reducer.hpp's MPI_Allreduce) derive from
// it and differ only in how the ranks' sums travel.  Not part of the umbrella header.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../parallel.hpp"
#include "link.hpp"

namespace charlstm {

template <class S>
class mpi_reducer_base : public gradient_reducer<S> {
 public:
  worker_slots slots(index local) const override {
    require(local == local_, name_ + ": made for " + std::to_string(local_) +
                                 " workers on this rank, used with " + std::to_string(local));
    return slots_;
  }

 protected:
  // Every rank of the link's communicator calls this together, each with its own worker count;
  // `name` names the reducer in errors.
  mpi_reducer_base(std::shared_ptr<const mpi_link> link, index local_workers, std::string name)
      : link_(std::move(link)),
        comm_(link_->comm()),
        local_(local_workers),
        name_(std::move(name)) {
    require(local_workers >= 1, name_ + ": a rank needs at least one worker");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &ranks_);
    long long mine = local_workers;
    std::vector<long long> counts(static_cast<std::size_t>(ranks_), 0);
    MPI_Allgather(&mine, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, comm_);
    slots_.total = 0;
    for (int r = 0; r < ranks_; ++r) {
      const auto count = static_cast<int>(counts[static_cast<std::size_t>(r)]);
      if (r < rank_) slots_.first += count;
      slots_.total += count;
      displacements_.push_back(counts_.empty() ? 0 : displacements_.back() + counts_.back());
      counts_.push_back(count);
    }
  }

  // One worker in all: its gradient is the batch's, nothing to combine.
  bool alone() const { return slots_.total == 1; }
  reduced_step<S> alone_step(std::vector<parameters<S>>& parts, const std::vector<S>& losses) {
    return {&parts[0], reduction::squared_norm(parts[0].data.data(), 0, parts[0].size()),
            losses[0]};
  }

  // The buffer the batch's gradient is summed in, shaped as `like` (allocated once).
  parameters<S>& sum_buffer(const parameters<S>& like) {
    if (!sum_ || sum_->size() != like.size()) {
      sum_ = std::make_unique<parameters<S>>(like.vocab_size, like.hidden_size, like.layers);
    }
    return *sum_;
  }

  // The summed gradient's squared norm as one process of `total` threads takes it (parallel.hpp's
  // fixed order): chunk by chunk, then the chunks in order.  Every rank holds the same sum, so
  // every rank gets the same norm.
  double squared_norm(const parameters<S>& sum) const {
    const index n = sum.size();
    double squares = 0;
    for (index k = 0; k < slots_.total; ++k) {
      squares += reduction::squared_norm(sum.data.data(), chunk_begin(k, slots_.total, n),
                                         chunk_begin(k + 1, slots_.total, n));
    }
    return squares;
  }

  static MPI_Datatype datatype() {
    static_assert(std::is_same<S, float>::value || std::is_same<S, double>::value,
                  "the MPI reducers sum float or double");
    return std::is_same<S, float>::value ? MPI_FLOAT : MPI_DOUBLE;
  }

  std::shared_ptr<const mpi_link> link_;
  MPI_Comm comm_;
  index local_;  // this rank's workers
  int rank_ = 0, ranks_ = 1;
  worker_slots slots_;              // this rank's slices among all
  std::vector<int> counts_;         // workers per rank
  std::vector<int> displacements_;  // first slice of each rank

 private:
  std::string name_;
  std::unique_ptr<parameters<S>> sum_;
};

}  // namespace charlstm
