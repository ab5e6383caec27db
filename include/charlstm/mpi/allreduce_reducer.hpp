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
#include <vector>

#include "reducer_base.hpp"

namespace charlstm {

template <class S>
class mpi_allreduce_reducer : public mpi_reducer_base<S> {
  using base = mpi_reducer_base<S>;

 public:
  // Every rank of `comm` calls this together, each with its own thread count.
  //   mpi_allreduce_reducer<float> reducer(MPI_COMM_WORLD, threads);
  //   batch_trainer<float> trainer(m, opt, threads, &reducer);
  // Pitfall: not bit-identical to one process, nor from one rank count to another.
  mpi_allreduce_reducer(MPI_Comm comm, index local_workers)
      : mpi_allreduce_reducer(std::make_shared<mpi_link>(comm), local_workers) {}
  // The same, waiting through `link` (its deadline, and the step it names).
  mpi_allreduce_reducer(std::shared_ptr<const mpi_link> link, index local_workers)
      : base(std::move(link), local_workers, "mpi_allreduce_reducer") {}

  reduced_step<S> reduce(std::vector<parameters<S>>& parts, const std::vector<S>& losses,
                         const std::vector<index>& sizes, index B) override {
    if (this->alone()) return this->alone_step(parts, losses);
    const index n = parts[0].size();
    parameters<S>& total = this->sum_buffer(parts[0]);
    S* sum = total.data.data();
    std::fill(sum, sum + n, S(0));
    for (std::size_t k = 0; k < parts.size(); ++k) {
      reduction::accumulate(sum, parts[k].data.data(), sizes[k], B, 0, n);
    }
    // MPI counts are int: a buffer past 2^31 - 1 scalars goes in several calls.
    this->link_->roll_call("its gradient");
    std::vector<MPI_Request> requests;
    for (index begin = 0; begin < n; begin += max_count) {
      const index end = std::min(n, begin + max_count);
      requests.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, sum + begin, static_cast<int>(end - begin), base::datatype(),
                     MPI_SUM, this->comm_, &requests.back());
    }
    this->link_->wait_all(requests, std::vector<int>(requests.size(), -1), "the summed gradient");
    return {&total, this->squared_norm(total), reduce_loss(losses, sizes, B)};
  }

  // This rank's slices' losses weighted by their share of the batch, summed across ranks.
  S reduce_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) override {
    S loss = 0;
    for (std::size_t k = 0; k < losses.size(); ++k) {
      loss += losses[k] * static_cast<S>(sizes[k]) / static_cast<S>(B);
    }
    this->link_->roll_call("its loss");
    std::vector<MPI_Request> requests(1);
    MPI_Iallreduce(MPI_IN_PLACE, &loss, 1, base::datatype(), MPI_SUM, this->comm_, &requests[0]);
    this->link_->wait_all(requests, {-1}, "the losses");
    return loss;
  }

 private:
  static constexpr index max_count = index{1} << 30;
};

}  // namespace charlstm
