// charlstm/parallel.hpp: the in-process parallelism of training, and the seam where workers'
// results are combined.  thread_team runs fork-join work on a fixed set of threads;
// gradient_reducer is the one interface through which a step combines its workers' gradients
// and losses, and thread_team_reducer, which sums one process's thread slices in a fixed
// order, is its only implementation today (a reducer across processes would be another).
// Not the step itself (trainer.hpp).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "model.hpp"
#include "tensor.hpp"

namespace charlstm {

// A fixed team of threads for fork-join work: run(fn) calls fn(k) for k = 0..size()-1, k = 0 on
// the calling thread, and returns when all are done (rethrowing the first exception).
class thread_team {
 public:
  explicit thread_team(index size) : size_(size) {
    require(
        size >= 1 && size <= max_threads,
        "threads must be in [1, " + std::to_string(max_threads) + "], got " + std::to_string(size));
    for (index k = 1; k < size; ++k) workers_.emplace_back([this, k] { work(k); });
  }
  ~thread_team() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    start_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  thread_team(const thread_team&) = delete;
  thread_team& operator=(const thread_team&) = delete;

  index size() const { return size_; }

  void run(const std::function<void(index)>& fn) {
    if (size_ == 1) return fn(0);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      pending_ = size_ - 1;
      error_ = nullptr;
      ++generation_;
    }
    start_.notify_all();
    std::exception_ptr mine;
    try {
      fn(0);
    } catch (...) {
      mine = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  index size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  const std::function<void(index)>* fn_ = nullptr;
  std::uint64_t generation_ = 0;
  index pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;

  void work(index k) {
    std::uint64_t seen = 0;
    while (true) {
      const std::function<void(index)>* fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        start_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = fn_;
      }
      std::exception_ptr failure;
      try {
        (*fn)(k);
      } catch (...) {
        failure = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failure && !error_) error_ = failure;
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }
};

// Thread k's chunk of an n-scalar buffer split over `threads`, starting on a 64-byte boundary.
inline index chunk_begin(index k, index threads, index n) {
  return k == threads ? n : std::min(n, padded_size(n * k / threads));
}

// What combining one step's workers gives: the batch's gradient (the mean over all its
// sequences), its squared Euclidean norm, and the batch's mean loss.
template <class S>
struct reduced_step {
  parameters<S>* grads;
  double squared_norm;
  S loss;
};

// Where one process's workers sit among all the workers of a step: the batch is cut into `total`
// slices, and this process's workers compute slices first, first + 1, ... (one per thread).
struct worker_slots {
  index first = 0;
  index total = 1;
};

// The one seam between computing gradients and updating: the workers of a step each computed
// the mean gradient and loss over their slice of the batch (`sizes[k]` of its `B` sequences);
// a reducer combines them into the batch's.  The in-process thread team below is the tool's
// implementation; one spanning processes (mpi/reducer.hpp) sums across them here and nothing
// else, and says through slots() which slices this process computes.
// Pitfall: a reducer must sum in a fixed order, or runs stop being bit-identical.
template <class S>
class gradient_reducer {
 public:
  virtual ~gradient_reducer() = default;
  // Combines `parts` (one per worker, may be overwritten) into the batch's gradient.
  virtual reduced_step<S> reduce(std::vector<parameters<S>>& parts, const std::vector<S>& losses,
                                 const std::vector<index>& sizes, index B) = 0;
  // Combines the workers' mean losses of an evaluation batch.
  virtual S reduce_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) = 0;
  // This process's slices, given its `local` workers: all of them when it is alone.
  virtual worker_slots slots(index local) const { return {0, local}; }
};

// The fixed order every reducer sums in, so that where the workers ran (threads of one process
// or processes) changes nothing in the result:
//   gradient  sum = 0, then sum += (size_k / B) * part_k for k = 0, 1, ... (empty slices skipped)
//   norm      the squared norm of chunk_begin(k, total, n) .. chunk_begin(k + 1, total, n), in
//             double, for each of `total` chunks; then the chunks' sums added in order
//   loss      loss = 0, then loss += loss_k * size_k / B in slice order
namespace reduction {

template <class S>
void accumulate(S* sum, const S* part, index size, index B, index begin, index end) {
  const S weight = static_cast<S>(size) / static_cast<S>(B);
  if (weight == S(0)) return;
  for (index i = begin; i < end; ++i) sum[i] += weight * part[i];
}

template <class S>
double squared_norm(const S* g, index begin, index end) {
  double sum = 0;
  for (index i = begin; i < end; ++i) sum += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  return sum;
}

template <class S>
S mean_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) {
  if (losses.size() == 1) return losses[0];
  S loss = 0;
  for (std::size_t k = 0; k < losses.size(); ++k) {
    loss += losses[k] * static_cast<S>(sizes[k]) / static_cast<S>(B);
  }
  return loss;
}

}  // namespace reduction

// Summing the slices of one process's threads: weighted by slice size, in slice order, each
// thread of `team` summing its own chunk of the buffer.  One worker's gradient is the batch's
// as it stands.
template <class S>
class thread_team_reducer : public gradient_reducer<S> {
 public:
  explicit thread_team_reducer(thread_team& team) : team_(team) {
    partial_squares_.assign(static_cast<std::size_t>(team.size()), 0.0);
  }

  reduced_step<S> reduce(std::vector<parameters<S>>& parts, const std::vector<S>& losses,
                         const std::vector<index>& sizes, index B) override {
    const auto workers = static_cast<index>(parts.size());
    const index n = parts[0].size();
    if (workers == 1) {
      return {&parts[0], reduction::squared_norm(parts[0].data.data(), 0, n), losses[0]};
    }
    if (!sum_ || sum_->size() != n) {
      sum_ = std::make_unique<parameters<S>>(parts[0].vocab_size, parts[0].hidden_size,
                                             parts[0].layers);
    }
    const index threads = team_.size();
    std::fill(partial_squares_.begin(), partial_squares_.end(), 0.0);
    team_.run([&](index k) {
      const index begin = chunk_begin(k, threads, n), end = chunk_begin(k + 1, threads, n);
      S* sum = sum_->data.data();
      for (index i = begin; i < end; ++i) sum[i] = S(0);
      for (index part = 0; part < workers; ++part) {
        reduction::accumulate(sum, parts[static_cast<std::size_t>(part)].data.data(),
                              sizes[static_cast<std::size_t>(part)], B, begin, end);
      }
      partial_squares_[static_cast<std::size_t>(k)] = reduction::squared_norm(sum, begin, end);
    });
    double squares = 0;
    for (double p : partial_squares_) squares += p;  // fixed order: deterministic
    return {sum_.get(), squares, reduce_loss(losses, sizes, B)};
  }

  S reduce_loss(const std::vector<S>& losses, const std::vector<index>& sizes, index B) override {
    return reduction::mean_loss(losses, sizes, B);
  }

 private:
  thread_team& team_;
  std::unique_ptr<parameters<S>> sum_;  // the summed gradient (more than one worker)
  std::vector<double> partial_squares_;
};

}  // namespace charlstm
