// charlstm/mpi/allreduce_reducer.hpp: combining a step's gradients across processes with one
// MPI_Allreduce, the faster and NOT bit-identical alternative to mpi_chain_reducer.  Not part of
// the umbrella header: only a build with -DCHARLSTM_MPI=ON includes it.
//
// Each rank sums its own slices in slice order, weighted as reduction::accumulate does; then
// MPI_Allreduce(MPI_SUM) adds the ranks' sums in an order of the library's choosing (recursive
// doubling, a ring, a tree, depending on size and rank count).  Floating-point addition is not
// associative, so the weights of N ranks x T threads drift from those of one process with N*T
// threads by a few units in the last place per step, and then by whatever training makes of
// that (tests/mpi/mpi_allreduce.cpp states the tolerance it holds to).  What it buys: a
// reduction whose time grows with log N or not at all in N, where the chain's grows with N.
// Every rank must end a step with the same weights: the MPI standard asks implementations
// (MPI-3.1, 5.9.1, advice to implementors) to give all ranks the same result, which Open MPI's
// algorithms do; the test checks it.  Every wait goes through an mpi_link (link.hpp), as the
// chain's does.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../parallel.hpp"
#include "link.hpp"

namespace charlstm {

template <class S>
class mpi_allreduce_reducer : public gradient_reducer<S> {
 public:
  // Every rank of `comm` calls this together, each with its own thread count.
  //   mpi_allreduce_reducer<float> reducer(MPI_COMM_WORLD, threads);
  //   batch_trainer<float> trainer(m, opt, threads, &reducer);
  // Pitfall: not bit-identical to one process, nor from one rank count to another.
  mpi_allreduce_reducer(MPI_Comm comm, index local_workers)
      : mpi_allreduce_reducer(std::make_shared<mpi_link>(comm), local_workers) {}
  // The same, waiting through `link` (its deadline, and the step it names).
  mpi_allreduce_reducer(std::shared_ptr<const mpi_link> link, index local_workers)
      : link_(std::move(link)), comm_(link_->comm()), local_(local_workers) {
    require(local_workers >= 1, "mpi_allreduce_reducer: a rank needs at least one worker");
    int rank = 0, ranks = 1;
    MPI_Comm_rank(comm_, &rank);
    MPI_Comm_size(comm_, &ranks);
    long long mine = local_workers;
    std::vector<long long> counts(static_cast<std::size_t>(ranks), 0);
    MPI_Allgather(&mine, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, comm_);
    slots_.total = 0;
    for (int r = 0; r < ranks; ++r) {
      if (r < rank) slots_.first += static_cast<index>(counts[static_cast<std::size_t>(r)]);
      slots_.total += static_cast<index>(counts[static_cast<std::size_t>(r)]);
    }
  }

  worker_slots slots(index local) const override {
    require(local == local_, "mpi_allreduce_reducer: made for " + std::to_string(local_) +
                                 " workers on this rank, used with " + std::to_string(local));
    return slots_;
  }

  reduced_step<S> reduce(std::vector<parameters<S>>& parts, const std::vector<S>& losses,
                         const std::vector<index>& sizes, index B) override {
    const index n = parts[0].size();
    if (slots_.total == 1) {
      return {&parts[0], reduction::squared_norm(parts[0].data.data(), 0, n), losses[0]};
    }
    if (!sum_ || sum_->size() != n) {
      sum_ = std::make_unique<parameters<S>>(parts[0].vocab_size, parts[0].hidden_size,
                                             parts[0].layers);
    }
    S* sum = sum_->data.data();
    std::fill(sum, sum + n, S(0));
    for (std::size_t k = 0; k < parts.size(); ++k) {
      reduction::accumulate(sum, parts[k].data.data(), sizes[k], B, 0, n);
    }
    // MPI counts are int: a buffer past 2^31 - 1 scalars goes in several calls.
    link_->roll_call("its gradient");
    std::vector<MPI_Request> requests;
    for (index begin = 0; begin < n; begin += max_count) {
      const index end = std::min(n, begin + max_count);
      requests.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, sum + begin, static_cast<int>(end - begin), datatype(), MPI_SUM,
                     comm_, &requests.back());
    }
    link_->wait_all(requests, std::vector<int>(requests.size(), -1), "the summed gradient");
    // The norm as the chain takes it (every rank holds the same sum, so the same norm).
    double squares = 0;
    for (index k = 0; k < slots_.total; ++k) {
      squares += reduction::squared_norm(sum, chunk_begin(k, slots_.total, n),
                                         chunk_begin(k + 1, slots_.total, n));
    }
    return {sum_.get(), squares, reduce_loss(losses, sizes, B)};
  }

  // This rank's slices' losses weighted by their share of the batch, summed across ranks.
  S reduce_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) override {
    S loss = 0;
    for (std::size_t k = 0; k < losses.size(); ++k) {
      loss += losses[k] * static_cast<S>(sizes[k]) / static_cast<S>(B);
    }
    link_->roll_call("its loss");
    std::vector<MPI_Request> requests(1);
    MPI_Iallreduce(MPI_IN_PLACE, &loss, 1, datatype(), MPI_SUM, comm_, &requests[0]);
    link_->wait_all(requests, {-1}, "the losses");
    return loss;
  }

 private:
  static constexpr index max_count = index{1} << 30;
  std::shared_ptr<const mpi_link> link_;
  MPI_Comm comm_;
  index local_;
  worker_slots slots_;
  std::unique_ptr<parameters<S>> sum_;

  static MPI_Datatype datatype() {
    static_assert(std::is_same<S, float>::value || std::is_same<S, double>::value,
                  "mpi_allreduce_reducer: float or double");
    return std::is_same<S, float>::value ? MPI_FLOAT : MPI_DOUBLE;
  }
};

}  // namespace charlstm
