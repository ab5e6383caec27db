// The scheduling half of `charlstm serve` (serve.cpp is the HTTP half): a request as its
// handler thread and its batch's scheduler share it (job), one batch stepped by its own thread
// (scheduler), and the batches side by side (schedulers).  Knows nothing of HTTP.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cli.hpp"

namespace cli {
namespace serve_detail {

// One request, shared by its handler thread and the scheduler.
struct job {
  charlstm::generation_request request;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<charlstm::generated_piece> pieces;  // produced, not yet sent
  bool done = false;                              // every sample ended, or failed
  bool waiting = false;                // the handler waits for a piece: the scheduler wakes it
  std::string error;                   // why the engine refused it
  std::atomic<bool> cancelled{false};  // the client went away
};

// Owns one batch over the shared model; handler threads submit jobs and the scheduler's thread
// runs run() until stop() once every job has ended.
class scheduler {
 public:
  scheduler(const charlstm::model<float>& m, const charlstm::token_vocabulary& vocab,
            long max_streams)
      : batch_(m, vocab, max_streams) {}

  void submit(const std::shared_ptr<job>& j) {
    samples_ += j->request.num_samples;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      incoming_.push_back(j);
    }
    wake_.notify_one();
  }
  void wake() { wake_.notify_one(); }
  void stop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
  }
  long streams() const { return streams_; }
  // Samples submitted and not yet ended: what a new request is placed by.
  long samples() const { return samples_; }

  // Steps back to back while any request runs, taking in queued requests between steps without
  // waiting; never waits for a handler (each takes its pieces when it is ready).
  void run() {
    std::unordered_map<std::uint64_t, std::shared_ptr<job>> running;
    std::vector<std::shared_ptr<job>> joining;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        // Idle: wait for a job (waking now and then); running: no wait.
        if (running.empty()) {
          wake_.wait_for(lock, std::chrono::milliseconds(200),
                         [&] { return !incoming_.empty() || stopping_; });
        }
        if (stopping_ && incoming_.empty() && running.empty()) return;
        joining.swap(incoming_);
      }
      for (const std::shared_ptr<job>& j : joining) {
        try {
          running[batch_.add(j->request)] = j;
        } catch (const std::exception& e) {
          finish(*j, e.what());
        }
      }
      joining.clear();
      for (auto it = running.begin(); it != running.end();) {
        if (it->second->cancelled) {
          batch_.cancel(it->first);
          finish(*it->second, "");
          it = running.erase(it);
        } else {
          ++it;
        }
      }
      const std::vector<charlstm::generated_piece>& pieces = batch_.step();
      // A request's pieces are consecutive (its samples joined together), so each job is
      // locked once per step.
      for (std::size_t k = 0; k < pieces.size();) {
        const auto it = running.find(pieces[k].request);
        job& j = *it->second;
        bool wake = false, done = false;
        {
          const std::lock_guard<std::mutex> lock(j.mutex);
          for (; k < pieces.size() && pieces[k].request == it->first; ++k) {
            j.pieces.push_back(pieces[k]);
            done = done || pieces[k].request_done;
          }
          j.done = j.done || done;
          wake = j.waiting || done;
        }
        if (wake) j.changed.notify_all();
        if (done) {
          samples_ -= j.request.num_samples;
          running.erase(it);
        }
      }
      streams_ = batch_.streams();
    }
  }

 private:
  void finish(job& j, const std::string& error) {
    samples_ -= j.request.num_samples;
    {
      const std::lock_guard<std::mutex> lock(j.mutex);
      j.done = true;
      j.error = error;
    }
    j.changed.notify_all();
  }

  charlstm::batch_generator<float> batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<job>> incoming_;
  bool stopping_ = false;
  std::atomic<long> streams_{0}, samples_{0};
};

// The batches stepped in parallel, each by its own scheduler thread: a request goes to the one
// with the fewest samples and stays there, so each batch's step runs on its own core.  A single
// request is served by one of them, as fast as one batch goes.
class schedulers {
 public:
  schedulers(const charlstm::model<float>& m, const charlstm::token_vocabulary& vocab,
             long max_streams, long count) {
    for (long k = 0; k < count; ++k)
      all_.push_back(std::make_unique<scheduler>(m, vocab, max_streams));
  }
  scheduler& least_busy() {
    scheduler* best = all_.front().get();
    for (const auto& s : all_) {
      if (s->samples() < best->samples()) best = s.get();
    }
    return *best;
  }
  long streams() const {
    long n = 0;
    for (const auto& s : all_) n += s->streams();
    return n;
  }
  void start() {
    for (const auto& s : all_) threads_.emplace_back([&s] { s->run(); });
  }
  void stop() {
    for (const auto& s : all_) s->stop();
    for (std::thread& t : threads_) t.join();
  }

 private:
  std::vector<std::unique_ptr<scheduler>> all_;
  std::vector<std::thread> threads_;
};

}  // namespace serve_detail
}  // namespace cli
