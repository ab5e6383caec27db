// charlstm/mpi/link.hpp: waiting for other processes, with a deadline.  Every message of a run
// across processes (mpi/reducer.hpp, mpi/process_group.hpp) is posted non-blocking and waited
// for here, so that a process that died, hangs or was stopped (SIGSTOP) ends the run with an
// error naming it and the step, instead of leaving the others blocked forever.  Not part of the
// umbrella header (it needs <mpi.h>).
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "../error.hpp"

namespace charlstm {

class mpi_link {
 public:
  // `timeout`: seconds a process waits for another before giving up (0: forever).  Rank 0
  // waits `timeout`; the others a little longer, so that when one process fails, rank 0, which
  // hears from every process at every step, is the one that names it.
  explicit mpi_link(MPI_Comm comm, double timeout = 0) : comm_(comm), timeout_(timeout) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    require(timeout >= 0, "mpi_link: the timeout must be >= 0 seconds");
  }
  ~mpi_link() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (probe_ != MPI_REQUEST_NULL && !finalized) {
      MPI_Cancel(&probe_);
      MPI_Request_free(&probe_);
    }
  }
  mpi_link(const mpi_link&) = delete;
  mpi_link& operator=(const mpi_link&) = delete;

  MPI_Comm comm() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  double timeout() const { return timeout_; }

  // The last optimizer step all processes agreed on: failures name the step after it.
  std::int64_t step = 0;

  // A stop that will be followed by a kill (mpirun's SIGTERM: every process is killed 1 s
  // after it): once it says true, a wait lasts at most `stop_grace` seconds more (rank 0;
  // the others 1.5 times that), so that a process that died is named before the kill.
  // mpirun also sends SIGCONT, then SIGTERM 1 s later, to the survivors of a process that died.
  std::function<bool()> urgent_stop;
  double stop_grace = 0.5;

  // Waits for every request, posted to or from peers[k] (-1: a collective, no one peer); on
  // timeout throws an error naming the peers whose requests are still pending and `what` was
  // being exchanged.
  void wait_all(std::vector<MPI_Request>& requests, const std::vector<int>& peers,
                const char* what) const {
    using clock = std::chrono::steady_clock;
    const double factor = rank_ == 0 ? 1.0 : 1.5;
    double limit = rank_ == 0 ? timeout_ : timeout_ * 1.5 + 1;
    const auto start = clock::now();
    const auto waited = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
    bool urgent = false;
    std::string within = "within " + seconds(limit);
    int done = 0;
    while (true) {
      MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
      if (done) return;
      answer_probe();
      // Oversubscribed (more processes and threads than cores), a waiting process must give
      // the core to the ones it waits for.
      std::this_thread::yield();
      if (!urgent && urgent_stop && urgent_stop()) {
        urgent = true;
        const double until = waited() + stop_grace * factor;
        if (timeout_ == 0 || until < limit) {
          limit = until;
          within = "within " + seconds(stop_grace * factor) + " of the stop signal (" +
                   seconds(until) + " in all)";
        }
      }
      if ((timeout_ > 0 || urgent) && waited() >= limit) {
        std::string late;
        bool any_late = false;
        for (std::size_t k = 0; k < requests.size(); ++k) {
          int finished = 0;
          MPI_Test(&requests[k], &finished, MPI_STATUS_IGNORE);
          if (finished) continue;
          any_late = true;
          const std::string peer = std::to_string(peers[k]);
          if (peers[k] >= 0 && (", " + late + ", ").find(", " + peer + ", ") == std::string::npos)
            late += (late.empty() ? "" : ", ") + peer;
        }
        if (!any_late) return;
        // Rank 0 asks every process whether it is still there: those that do not answer are
        // the ones the job waits for (a collective alone cannot say whom it waits for).
        if (rank_ == 0) {
          const std::string silent = probe(urgent ? stop_grace / 2 : 1.0);
          if (!silent.empty()) late = silent;
        }
        throw error((late.empty() ? std::string("another rank") : "rank " + late) +
                    " did not answer rank " + std::to_string(rank_) + " " +
                    within + " during step " + std::to_string(step + 1) +
                    " (waiting for " + what +
                    "): it died, hangs or was stopped; ending the job (--rank-timeout sets the "
                    "wait)");
      }
    }
  }

  // Every process reports to rank 0, which answers all: after it, all have reached this point.
  // Unlike MPI_Barrier, a process that does not come is named.
  void roll_call(const char* what) const {
    if (size_ == 1) return;
    std::vector<MPI_Request> requests;
    std::vector<int> peers;
    int sent = 1;
    if (rank_ == 0) {
      flags_.assign(static_cast<std::size_t>(size_), 0);
      for (int r = 1; r < size_; ++r) {
        requests.emplace_back();
        peers.push_back(r);
        MPI_Irecv(&flags_[static_cast<std::size_t>(r)], 1, MPI_INT, r, roll_tag, comm_,
                  &requests.back());
      }
      wait_all(requests, peers, what);
      requests.clear();
      for (int r = 1; r < size_; ++r) {
        requests.emplace_back();
        MPI_Isend(&sent, 1, MPI_INT, r, go_tag, comm_, &requests.back());
      }
      wait_all(requests, peers, what);
    } else {
      int go = 0;
      requests.resize(2);
      peers = {0, 0};
      MPI_Isend(&sent, 1, MPI_INT, 0, roll_tag, comm_, &requests[0]);
      MPI_Irecv(&go, 1, MPI_INT, 0, go_tag, comm_, &requests[1]);
      wait_all(requests, peers, what);
    }
  }

  void wait(MPI_Request& request, int peer, const char* what) const {
    std::vector<MPI_Request> one{request};
    wait_all(one, {peer}, what);
    request = one[0];
  }

 private:
  MPI_Comm comm_;
  double timeout_;
  int rank_ = 0, size_ = 1;
  static constexpr int probe_tag = 4703, probe_reply_tag = 4704;
  mutable MPI_Request probe_ = MPI_REQUEST_NULL;  // ranks > 0: rank 0's question, if it comes
  mutable int probe_buffer_ = 0;

  // Ranks > 0, while waiting: answers rank 0's probe, keeping a receive for it posted.
  void answer_probe() const {
    if (rank_ == 0 || size_ == 1) return;
    if (probe_ == MPI_REQUEST_NULL) {
      MPI_Irecv(&probe_buffer_, 1, MPI_INT, 0, probe_tag, comm_, &probe_);
    }
    int asked = 0;
    MPI_Test(&probe_, &asked, MPI_STATUS_IGNORE);
    if (!asked) return;
    static int answer = 1;
    MPI_Request reply;
    MPI_Isend(&answer, 1, MPI_INT, 0, probe_reply_tag, comm_, &reply);
    MPI_Request_free(&reply);
    probe_ = MPI_REQUEST_NULL;
  }

  // Rank 0: the ranks that do not answer a probe within `seconds`, as "1, 3" ("" if all do).
  std::string probe(double seconds) const {
    using clock = std::chrono::steady_clock;
    std::vector<MPI_Request> asks(static_cast<std::size_t>(size_ - 1));
    std::vector<MPI_Request> replies(asks.size());
    std::vector<int> answers(asks.size(), 0);
    static int question = 1;
    for (int r = 1; r < size_; ++r) {
      const auto k = static_cast<std::size_t>(r - 1);
      MPI_Isend(&question, 1, MPI_INT, r, probe_tag, comm_, &asks[k]);
      MPI_Irecv(&answers[k], 1, MPI_INT, r, probe_reply_tag, comm_, &replies[k]);
    }
    const auto start = clock::now();
    int done = 0;
    while (!done && std::chrono::duration<double>(clock::now() - start).count() < seconds) {
      MPI_Testall(static_cast<int>(replies.size()), replies.data(), &done, MPI_STATUSES_IGNORE);
      std::this_thread::yield();
    }
    std::string silent;
    for (int r = 1; r < size_; ++r) {
      int answered = 0;
      MPI_Test(&replies[static_cast<std::size_t>(r - 1)], &answered, MPI_STATUS_IGNORE);
      if (!answered) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
    }
    return silent;  // the job ends now: the requests still pending go with it
  }
  mutable std::vector<int> flags_;
  static constexpr int roll_tag = 4701, go_tag = 4702;

  static std::string seconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", s);
    return text;
  }
};

}  // namespace charlstm
