// charlstm/mpi/reducer.hpp: combining a step's gradients across processes with Open MPI, in the
// same fixed order as one process's threads, so that N processes of T threads train
// bit-identically to one process of N*T threads.  Not part of the umbrella header: only a build
// with -DCHARLSTM_MPI=ON includes it (the numeric library never needs <mpi.h>).
//
// The order (parallel.hpp's `reduction`) is a running sum over the slices in batch order, so the
// processes pass it along a chain: rank 0 adds its slices to zero and sends the sum to rank 1,
// which adds its own and sends it on; the last rank's sum is the batch's, broadcast to all.  The
// buffer travels in segments, so rank r + 1 works on one segment while rank r works on the next.
// A plain MPI_Allreduce sums in an order of the library's choosing, and the weights drift apart.
// Every message waits through an mpi_link (link.hpp): a process that stops answering ends the
// step with an error naming it, after a roll call that tells rank 0 who is missing.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "reducer_base.hpp"

namespace charlstm {

template <class S>
class mpi_chain_reducer : public mpi_reducer_base<S> {
  using base = mpi_reducer_base<S>;

 public:
  // Every rank of `comm` calls this together, each with its own thread count; the sum travels
  // in messages of `segment` scalars.  Waits without a deadline.
  mpi_chain_reducer(MPI_Comm comm, index local_workers, index segment = index{1} << 16)
      : mpi_chain_reducer(std::make_shared<mpi_link>(comm), local_workers, segment) {}
  // The same, waiting through `link` (its deadline, and the step it names).
  mpi_chain_reducer(std::shared_ptr<const mpi_link> link, index local_workers,
                    index segment = index{1} << 16)
      : base(std::move(link), local_workers, "mpi_chain_reducer"), segment_(segment) {
    require(
        segment >= 1 && segment <= (index{1} << 30),
        "mpi_chain_reducer: segment must be in [1, 2^30] scalars, got " + std::to_string(segment));
  }

  reduced_step<S> reduce(std::vector<parameters<S>>& parts, const std::vector<S>& losses,
                         const std::vector<index>& sizes, index B) override {
    if (this->alone()) return this->alone_step(parts, losses);
    const index n = parts[0].size();
    parameters<S>& total = this->sum_buffer(parts[0]);
    S* sum = total.data.data();
    const int rank = this->rank_, ranks = this->ranks_;
    const mpi_link& link = *this->link_;
    link.roll_call("its gradient");
    std::vector<MPI_Request> sends, casts;
    for (index begin = 0; begin < n; begin += segment_) {
      const index end = std::min(n, begin + segment_);
      if (rank == 0) {
        std::fill(sum + begin, sum + end, S(0));
      } else {
        MPI_Request receive;
        MPI_Irecv(sum + begin, static_cast<int>(end - begin), base::datatype(), rank - 1, tag,
                  this->comm_, &receive);
        link.wait(receive, rank - 1, "the running sum of the gradient");
      }
      for (std::size_t k = 0; k < parts.size(); ++k) {
        reduction::accumulate(sum, parts[k].data.data(), sizes[k], B, begin, end);
      }
      if (rank + 1 < ranks) {
        sends.emplace_back();
        MPI_Isend(sum + begin, static_cast<int>(end - begin), base::datatype(), rank + 1, tag,
                  this->comm_, &sends.back());
      }
    }
    link.wait_all(sends, std::vector<int>(sends.size(), rank + 1),
                  "it to take the running sum of the gradient");
    for (index begin = 0; begin < n; begin += segment_) {
      const index end = std::min(n, begin + segment_);
      casts.emplace_back();
      MPI_Ibcast(sum + begin, static_cast<int>(end - begin), base::datatype(), ranks - 1,
                 this->comm_, &casts.back());
    }
    link.wait_all(casts, std::vector<int>(casts.size(), -1), "the summed gradient");
    return {&total, this->squared_norm(total), reduce_loss(losses, sizes, B)};
  }

  // Every slice's loss gathered in slice order, then summed as one process sums them.
  S reduce_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) override {
    std::vector<S> all_losses(static_cast<std::size_t>(this->slots_.total));
    std::vector<long long> all_sizes(all_losses.size()), mine(sizes.begin(), sizes.end());
    this->link_->roll_call("its loss");
    std::vector<MPI_Request> requests(2);
    MPI_Iallgatherv(losses.data(), static_cast<int>(this->local_), base::datatype(),
                    all_losses.data(), this->counts_.data(), this->displacements_.data(),
                    base::datatype(), this->comm_, &requests[0]);
    MPI_Iallgatherv(mine.data(), static_cast<int>(this->local_), MPI_LONG_LONG, all_sizes.data(),
                    this->counts_.data(), this->displacements_.data(), MPI_LONG_LONG, this->comm_,
                    &requests[1]);
    this->link_->wait_all(requests, {-1, -1}, "the losses");
    return reduction::mean_loss(all_losses, std::vector<index>(all_sizes.begin(), all_sizes.end()),
                                B);
  }

 private:
  static constexpr int tag = 4711;
  index segment_;  // scalars per message of the chain
};

}  // namespace charlstm
