// charlstm/mpi/process_group.hpp: the processes of an Open MPI job as one training run's
// process_group (process_group.hpp): the ordered chain reducer (reducer.hpp) or, asked for, the
// unordered MPI_Allreduce (allreduce_reducer.hpp), the vote after
// every step, rank 0's bytes broadcast, the carried state's columns gathered and the weights'
// digests compared, every wait bounded by one mpi_link's deadline (link.hpp).  Not part of the
// umbrella header: a build with -DCHARLSTM_MPI=ON includes it.
//   MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
//   mpi_process_group<float> group(MPI_COMM_WORLD, 60);
//   fit(config, data, vocab, m, state, rank0 ? events : training_events{}, &group);
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../process_group.hpp"
#include "link.hpp"
#include "allreduce_reducer.hpp"
#include "reducer.hpp"

namespace charlstm {

// How the ranks' gradients are summed: in one process's fixed order (bit-identical to it), or
// by MPI_Allreduce in Open MPI's order (faster at many ranks, not bit-identical).
enum class mpi_reduction { ordered, allreduce };

template <class S>
class mpi_process_group : public process_group<S> {
 public:
  // Every process of `comm` makes one, with the same `timeout` (seconds a process waits for
  // another before the run ends with an error; 0: forever) and `urgent_stop` (says when a stop
  // that a kill follows was asked: mpi_link's).
  explicit mpi_process_group(MPI_Comm comm, double timeout = 60,
                             std::function<bool()> urgent_stop = {},
                             mpi_reduction reduction = mpi_reduction::ordered)
      : link_(std::make_shared<mpi_link>(comm, timeout)), reduction_(reduction) {
    link_->urgent_stop = std::move(urgent_stop);
  }

  int rank() const override { return link_->rank(); }
  int size() const override { return link_->size(); }
  const mpi_link& link() const { return *link_; }

  gradient_reducer<S>& reducer(index threads) override {
    if (!reducer_ || threads_ != threads) {
      if (reduction_ == mpi_reduction::ordered) {
        reducer_ = std::make_unique<mpi_chain_reducer<S>>(link_, threads);
      } else {
        reducer_ = std::make_unique<mpi_allreduce_reducer<S>>(link_, threads);
      }
      threads_ = threads;
    }
    return *reducer_;
  }

  unsigned vote(unsigned mine, std::int64_t step) override {
    unsigned all = mine;
    const int n = size();
    if (n > 1) {
      std::vector<MPI_Request> requests;
      std::vector<int> peers;
      if (rank() == 0) {
        std::vector<unsigned> votes(static_cast<std::size_t>(n), 0);
        for (int r = 1; r < n; ++r) {
          requests.emplace_back();
          peers.push_back(r);
          MPI_Irecv(&votes[static_cast<std::size_t>(r)], 1, MPI_UNSIGNED, r, vote_tag,
                    link_->comm(), &requests.back());
        }
        link_->wait_all(requests, peers, "its vote after the step");
        for (unsigned v : votes) all |= v;
        requests.clear();
        for (int r = 1; r < n; ++r) {
          requests.emplace_back();
          MPI_Isend(&all, 1, MPI_UNSIGNED, r, result_tag, link_->comm(), &requests.back());
        }
        link_->wait_all(requests, peers, "it to take the vote's result");
      } else {
        requests.resize(2);
        MPI_Isend(&mine, 1, MPI_UNSIGNED, 0, vote_tag, link_->comm(), &requests[0]);
        MPI_Irecv(&all, 1, MPI_UNSIGNED, 0, result_tag, link_->comm(), &requests[1]);
        link_->wait_all(requests, {0, 0}, "the vote after the step");
      }
    }
    link_->step = step;
    return all;
  }

  void broadcast(std::string& bytes) override {
    long long length = static_cast<long long>(bytes.size());
    std::vector<MPI_Request> requests(1);
    MPI_Ibcast(&length, 1, MPI_LONG_LONG, 0, link_->comm(), &requests[0]);
    link_->wait_all(requests, {-1}, "rank 0's input");
    bytes.resize(static_cast<std::size_t>(length));
    requests.clear();
    const long long piece = 1LL << 30;
    for (long long at = 0; at < length; at += piece) {
      requests.emplace_back();
      MPI_Ibcast(&bytes[static_cast<std::size_t>(at)], static_cast<int>(std::min(piece, length - at)),
                 MPI_CHAR, 0, link_->comm(), &requests.back());
    }
    link_->wait_all(requests, std::vector<int>(requests.size(), -1), "rank 0's input");
  }

  void share_columns(S* data, index rows, index cols, index first, index count) override {
    const int n = size();
    if (n == 1) return;
    long long mine[2] = {first, count};
    std::vector<long long> blocks(static_cast<std::size_t>(2 * n));
    std::vector<MPI_Request> requests(1);
    MPI_Iallgather(mine, 2, MPI_LONG_LONG, blocks.data(), 2, MPI_LONG_LONG, link_->comm(),
                   &requests[0]);
    link_->wait_all(requests, {-1}, "the carried state's columns");
    std::vector<int> counts(static_cast<std::size_t>(n)), displacements(counts.size());
    index covered = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      require(blocks[2 * r] == covered && blocks[2 * r + 1] >= 0,
              "share_columns: the processes' columns do not tile the " + std::to_string(cols) +
                  " columns in rank order");
      displacements[r] = static_cast<int>(blocks[2 * r] * rows);
      counts[r] = static_cast<int>(blocks[2 * r + 1] * rows);
      covered += static_cast<index>(blocks[2 * r + 1]);
    }
    require(covered == cols, "share_columns: the processes' columns cover " +
                                 std::to_string(covered) + " of " + std::to_string(cols));
    MPI_Iallgatherv(MPI_IN_PLACE, 0, datatype(), data, counts.data(), displacements.data(),
                    datatype(), link_->comm(), &requests[0]);
    link_->wait_all(requests, {-1}, "the carried state's columns");
  }

  void check_same(std::uint64_t digest, std::int64_t step) override {
    const int n = size();
    if (n == 1) return;
    std::vector<unsigned long long> digests(static_cast<std::size_t>(n));
    unsigned long long mine = digest;
    std::vector<MPI_Request> requests(1);
    MPI_Iallgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, digests.data(), 1, MPI_UNSIGNED_LONG_LONG,
                   link_->comm(), &requests[0]);
    link_->wait_all(requests, {-1}, "the weights' digest");
    std::string differ;
    for (int r = 1; r < n; ++r) {
      if (digests[static_cast<std::size_t>(r)] != digests[0])
        differ += (differ.empty() ? "" : ", ") + std::to_string(r);
    }
    require(differ.empty(),
            "the weights of rank " + differ + " differ from rank 0's at step " +
                std::to_string(step) +
                " (they must stay bit-identical): run the same charlstm build on every host "
                "(a different binary, SIMD target or Eigen computes differently)");
  }

 private:
  static constexpr int vote_tag = 4721, result_tag = 4722;
  std::shared_ptr<mpi_link> link_;
  mpi_reduction reduction_;
  std::unique_ptr<gradient_reducer<S>> reducer_;
  index threads_ = 0;

  static MPI_Datatype datatype() { return std::is_same<S, float>::value ? MPI_FLOAT : MPI_DOUBLE; }
};

}  // namespace charlstm
