// Data-parallel training: deterministic for a thread count, and equal to one thread up to float
// summation order.
#include <atomic>
#include <cmath>
#include <catch2/catch.hpp>
#include <charlstm/trainer.hpp>
#include <numeric>
#include <random>
#include <stdexcept>

#include "support/check.hpp"

using charlstm::token_id;
using isize = charlstm::index;
using test_support::random_ids;  // a bare `index` would clash with POSIX index()

namespace {

// A model and its optimizer's state.
template <class S>
struct trained {
  charlstm::model<S> m;
  charlstm::optimizer_state<S> opt;
};

// Two epochs of 13-window batches (the last batch smaller) on `threads` threads.
template <class S>
trained<S> train(isize threads, const charlstm::window_set& windows, isize V) {
  trained<S> t{charlstm::model<S>(V, 24, 3), {}};
  t.opt = charlstm::optimizer_state<S>(charlstm::optimizer_kind::rmsprop, t.m.params);
  charlstm::batch_trainer<S> trainer(t.m, t.opt, threads);
  std::mt19937_64 engine(11);
  for (int epoch = 0; epoch < 2; ++epoch) charlstm::train_epoch(trainer, windows, 13, engine);
  return t;
}

}  // namespace

TEST_CASE("The thread team runs every index once and forwards exceptions", "[trainer]") {
  charlstm::thread_team team(3);
  for (int round = 0; round < 100; ++round) {
    std::vector<std::atomic<int>> hits(3);
    team.run([&](isize k) { ++hits[static_cast<std::size_t>(k)]; });
    for (auto& h : hits) CHECK(h == 1);
  }
  CHECK_THROWS_WITH(team.run([](isize k) {
    if (k == 2) throw std::runtime_error("from thread 2");
  }),
                    "from thread 2");
  std::atomic<int> after{0};
  team.run([&](isize) { ++after; });
  CHECK(after == 3);
}

TEST_CASE("Training on threads is deterministic and matches one thread", "[trainer]") {
  const isize V = 11;
  const auto corpus = random_ids(400, V, 5);
  const auto windows = charlstm::make_windows(corpus, 12, 3);  // 130 windows
  const auto one = train<double>(1, windows, V);
  const auto two_a = train<double>(2, windows, V), two_b = train<double>(2, windows, V);
  const auto three = train<double>(3, windows, V);
  CHECK(two_a.m.params.data == two_b.m.params.data);  // bit-identical
  CHECK(two_a.opt.moments[0].data == two_b.opt.moments[0].data);
  // In double the summation order changes only the last bits.
  const auto c2 = test_support::compare(two_a.m.params.data.data(), one.m.params.data.data(),
                                        static_cast<long>(one.m.params.size()));
  const auto c3 = test_support::compare(three.m.params.data.data(), one.m.params.data.data(),
                                        static_cast<long>(one.m.params.size()));
  INFO(c2.describe("2 threads vs 1") << "; " << c3.describe("3 threads vs 1"));
  CHECK(c2.error < 1e-9);
  CHECK(c3.error < 1e-9);
  CHECK(two_a.opt.steps == 2 * 10);  // ceil(130 / 13) batches per epoch
}

TEST_CASE("One thread: the gradient's RMSprop step, written out here", "[trainer]") {
  // The reference is independent of the trainer and of the optimizer code: the gradient of the
  // batch's loss (forward_backward, checked against finite differences and PyTorch elsewhere)
  // and Keras's RMSprop written out in scalar double (rho 0.9, eps 1e-7, lr 0.01).
  const isize V = 7;
  const auto corpus = random_ids(200, V, 6);
  const auto windows = charlstm::make_windows(corpus, 8, 2);
  charlstm::model<double> trained(V, 16, 1), reference(V, 16, 1);
  charlstm::optimizer_state<double> opt(charlstm::optimizer_kind::rmsprop, trained.params);
  charlstm::batch_trainer<double> trainer(trained, opt, 1);
  charlstm::parameters<double> grads(V, 16, 1);
  std::vector<isize> which(10);
  std::iota(which.begin(), which.end(), 0);
  std::vector<token_id> ids(8 * 10), targets(10);
  charlstm::gather_batch(windows, which.data(), 10, ids.data(), targets.data());
  const std::size_t n = static_cast<std::size_t>(reference.params.size());
  std::vector<double> acc(n, 0.0);
  for (int step = 0; step < 3; ++step) {
    const double loss = reference.forward_backward(grads, ids.data(), targets.data(), 8, 10);
    for (std::size_t k = 0; k < n; ++k) {
      const double g = grads.data[k];
      acc[k] = 0.9 * acc[k] + 0.1 * g * g;
      reference.params.data[k] -= 0.01 * g / (std::sqrt(acc[k]) + 1e-7);
    }
    CHECK(trainer.train_step(ids.data(), targets.data(), 8, 10) == Approx(loss).epsilon(1e-12));
  }
  const auto c = test_support::compare(trained.params.data.data(), reference.params.data.data(),
                                       static_cast<long>(n));
  INFO(c.describe("trainer vs the written-out update"));
  CHECK(c.error < 1e-12);
  CHECK(opt.steps == 3);
}

TEST_CASE("The loss on threads is the batch's mean loss, whatever the slices", "[trainer]") {
  // 13 windows: slices of 13 (1 thread), 6 + 7 (2) and 4 + 4 + 5 (3), each slice's mean loss
  // weighted by its size.  In double the thread counts agree to rounding.
  const isize V = 9;
  const auto corpus = random_ids(300, V, 12);
  const auto windows = charlstm::make_windows(corpus, 10, 2);
  std::vector<isize> which(13);
  std::iota(which.begin(), which.end(), 20);
  std::vector<token_id> ids(10 * 13), targets(13);
  charlstm::gather_batch(windows, which.data(), 13, ids.data(), targets.data());
  charlstm::model<double> one_model(V, 16, 5);
  const double reference = one_model.loss(ids.data(), targets.data(), 10, 13);
  for (isize threads : {1, 2, 3}) {
    charlstm::model<double> m(V, 16, 5);
    charlstm::optimizer_state<double> opt(charlstm::optimizer_kind::rmsprop, m.params);
    charlstm::batch_trainer<double> trainer(m, opt, threads);
    INFO(threads << " threads");
    CHECK(trainer.loss(ids.data(), targets.data(), 10, 13) == Approx(reference).epsilon(1e-12));
    CHECK(trainer.train_step(ids.data(), targets.data(), 10, 13) ==
          Approx(reference).epsilon(1e-12));
  }
}

TEST_CASE("Resuming an epoch part-way gives the same weights", "[trainer]") {
  const isize V = 9;
  const auto corpus = random_ids(300, V, 7);
  const auto windows = charlstm::make_windows(corpus, 10, 2);  // 145 windows, 12 batches of 13
  charlstm::model<float> whole(V, 16, 2), parts(V, 16, 2);
  charlstm::optimizer_state<float> whole_opt(charlstm::optimizer_kind::rmsprop, whole.params);
  charlstm::optimizer_state<float> parts_opt(charlstm::optimizer_kind::rmsprop, parts.params);
  {
    charlstm::batch_trainer<float> trainer(whole, whole_opt, 2);
    std::mt19937_64 engine(4);
    charlstm::train_epoch(trainer, windows, 13, engine);
  }
  charlstm::batch_trainer<float> trainer(parts, parts_opt, 2);
  std::mt19937_64 engine(4);
  const std::mt19937_64 at_epoch_start = engine;
  const double first = charlstm::train_epoch(trainer, windows, 13, engine, {}, {0, 5, 0.0});
  engine = at_epoch_start;  // the same shuffle, skipping the 5 batches done
  charlstm::train_epoch(trainer, windows, 13, engine, {}, {5, -1, first});
  CHECK(parts.params.data == whole.params.data);
  CHECK(parts_opt.steps == whole_opt.steps);
}

TEST_CASE("Gradient clipping scales the gradient to the global norm", "[trainer]") {
  const isize V = 8;
  const auto corpus = random_ids(300, V, 8);
  const auto windows = charlstm::make_windows(corpus, 10, 2);
  std::vector<isize> which(12);
  std::iota(which.begin(), which.end(), 3);
  std::vector<token_id> ids(10 * 12), targets(12);
  charlstm::gather_batch(windows, which.data(), 12, ids.data(), targets.data());
  for (isize threads : {1, 2}) {
    charlstm::model<double> clipped(V, 16, 1), manual(V, 16, 1);
    charlstm::optimizer_state<double> clipped_opt(charlstm::optimizer_kind::rmsprop,
                                                  clipped.params);
    charlstm::optimizer_state<double> manual_opt(charlstm::optimizer_kind::rmsprop, manual.params);
    charlstm::parameters<double> grads(V, 16, 1);
    charlstm::batch_trainer<double> trainer(clipped, clipped_opt, threads);
    trainer.clip_norm = 0.01;
    trainer.train_step(ids.data(), targets.data(), 10, 12);
    manual.forward_backward(grads, ids.data(), targets.data(), 10, 12);
    double norm = 0;
    for (double g : grads.data) norm += g * g;
    norm = std::sqrt(norm);
    CHECK(trainer.last_gradient_norm == Approx(norm).epsilon(1e-12));
    REQUIRE(norm > 0.01);
    for (double& g : grads.data) g *= 0.01 / norm;
    manual_opt.step(manual.params, grads);
    const auto c = test_support::compare(clipped.params.data.data(), manual.params.data.data(),
                                         static_cast<long>(manual.params.size()));
    INFO(c.describe("clipped update"));
    CHECK(c.error < 1e-12);
  }
}
