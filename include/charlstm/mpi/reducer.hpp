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
#include <type_traits>
#include <vector>

#include "../parallel.hpp"
#include "link.hpp"

namespace charlstm {

template <class S>
class mpi_chain_reducer : public gradient_reducer<S> {
 public:
  // Every rank of `comm` calls this together, each with its own thread count; the sum travels
  // in messages of `segment` scalars.  Waits without a deadline.
  mpi_chain_reducer(MPI_Comm comm, index local_workers, index segment = index{1} << 16)
      : mpi_chain_reducer(std::make_shared<mpi_link>(comm), local_workers, segment) {}
  // The same, waiting through `link` (its deadline, and the step it names).
  mpi_chain_reducer(std::shared_ptr<const mpi_link> link, index local_workers,
                    index segment = index{1} << 16)
      : link_(std::move(link)), comm_(link_->comm()), local_(local_workers), segment_(segment) {
    require(
        segment >= 1 && segment <= (index{1} << 30),
        "mpi_chain_reducer: segment must be in [1, 2^30] scalars, got " + std::to_string(segment));
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &ranks_);
    require(local_workers >= 1, "mpi_chain_reducer: a rank needs at least one worker");
    long long mine = local_workers;
    counts_.assign(static_cast<std::size_t>(ranks_), 0);
    MPI_Allgather(&mine, 1, MPI_LONG_LONG, counts_.data(), 1, MPI_LONG_LONG, comm_);
    for (int r = 0; r < ranks_; ++r) {
      if (r < rank_) slots_.first += static_cast<index>(counts_[static_cast<std::size_t>(r)]);
    }
    slots_.total = 0;
    for (long long c : counts_) slots_.total += static_cast<index>(c);
    displacements_.assign(counts_.size(), 0);
    for (std::size_t r = 1; r < counts_.size(); ++r) {
      displacements_[r] = displacements_[r - 1] + static_cast<int>(counts_[r - 1]);
    }
    counts_int_.assign(counts_.begin(), counts_.end());
  }

  worker_slots slots(index local) const override {
    require(local == local_, "mpi_chain_reducer: made for " + std::to_string(local_) +
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
    link_->roll_call("its gradient");
    std::vector<MPI_Request> sends, casts;
    for (index begin = 0; begin < n; begin += segment_) {
      const index end = std::min(n, begin + segment_);
      if (rank_ == 0) {
        std::fill(sum + begin, sum + end, S(0));
      } else {
        MPI_Request receive;
        MPI_Irecv(sum + begin, static_cast<int>(end - begin), datatype(), rank_ - 1, tag, comm_,
                  &receive);
        link_->wait(receive, rank_ - 1, "the running sum of the gradient");
      }
      for (std::size_t k = 0; k < parts.size(); ++k) {
        reduction::accumulate(sum, parts[k].data.data(), sizes[k], B, begin, end);
      }
      if (rank_ + 1 < ranks_) {
        sends.emplace_back();
        MPI_Isend(sum + begin, static_cast<int>(end - begin), datatype(), rank_ + 1, tag, comm_,
                  &sends.back());
      }
    }
    link_->wait_all(sends, std::vector<int>(sends.size(), rank_ + 1),
                    "it to take the running sum of the gradient");
    for (index begin = 0; begin < n; begin += segment_) {
      const index end = std::min(n, begin + segment_);
      casts.emplace_back();
      MPI_Ibcast(sum + begin, static_cast<int>(end - begin), datatype(), ranks_ - 1, comm_,
                 &casts.back());
    }
    link_->wait_all(casts, std::vector<int>(casts.size(), -1), "the summed gradient");
    // The norm as one process of `total` threads takes it: chunk by chunk, then in order.
    double squares = 0;
    for (index k = 0; k < slots_.total; ++k) {
      squares += reduction::squared_norm(sum, chunk_begin(k, slots_.total, n),
                                         chunk_begin(k + 1, slots_.total, n));
    }
    return {sum_.get(), squares, reduce_loss(losses, sizes, B)};
  }

  S reduce_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) override {
    std::vector<S> all_losses(static_cast<std::size_t>(slots_.total));
    std::vector<long long> all_sizes(all_losses.size()), mine(sizes.begin(), sizes.end());
    link_->roll_call("its loss");
    std::vector<MPI_Request> requests(2);
    MPI_Iallgatherv(losses.data(), static_cast<int>(local_), datatype(), all_losses.data(),
                    counts_int_.data(), displacements_.data(), datatype(), comm_, &requests[0]);
    MPI_Iallgatherv(mine.data(), static_cast<int>(local_), MPI_LONG_LONG, all_sizes.data(),
                    counts_int_.data(), displacements_.data(), MPI_LONG_LONG, comm_,
                    &requests[1]);
    link_->wait_all(requests, {-1, -1}, "the losses");
    return reduction::mean_loss(all_losses, std::vector<index>(all_sizes.begin(), all_sizes.end()),
                                B);
  }

 private:
  static constexpr int tag = 4711;
  std::shared_ptr<const mpi_link> link_;
  MPI_Comm comm_;
  index local_;
  index segment_;  // scalars per message of the chain
  int rank_ = 0, ranks_ = 1;
  worker_slots slots_;
  std::vector<long long> counts_;
  std::vector<int> counts_int_, displacements_;
  std::unique_ptr<parameters<S>> sum_;

  static MPI_Datatype datatype() {
    static_assert(std::is_same<S, float>::value || std::is_same<S, double>::value,
                  "mpi_chain_reducer: float or double");
    return std::is_same<S, float>::value ? MPI_FLOAT : MPI_DOUBLE;
  }
};

}  // namespace charlstm
