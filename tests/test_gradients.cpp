// Every backward against central finite differences in double, over every parameter and every
// input, on small odd shapes (B, T, V, H = 2, 3, 5, 4).  Max relative error (see check.hpp)
// below 1e-6.
#include <catch2/catch.hpp>
#include <charlstm/dense.hpp>
#include <charlstm/loss.hpp>
#include <charlstm/lstm.hpp>
#include <charlstm/model.hpp>
#include <functional>
#include <random>
#include <vector>

#include "support/assertions.hpp"

using charlstm::matrix;
using charlstm::token_id;
using isize = charlstm::index;  // a bare `index` would clash with POSIX index()
using test_support::check_gradient;
using test_support::compare;
using test_support::random_ids;
using test_support::random_matrix;

namespace {

constexpr isize B = 2, T = 3, V = 5, H = 4;
// A layer's parameters with non-trivial random values (biases included).
struct lstm_fixture {
  charlstm::aligned_buffer<double> buffer, grad_buffer;
  charlstm::lstm_weights<double> w, grads;
  explicit lstm_fixture(isize inputs, std::mt19937_64& engine)
      : buffer(static_cast<std::size_t>(charlstm::lstm_weights<double>::buffer_size(inputs, H)),
               0.0),
        grad_buffer(buffer.size(), 0.0),
        w(buffer.data(), inputs, H),
        grads(grad_buffer.data(), inputs, H) {
    w.w_x = random_matrix(4 * H, inputs, engine);
    w.w_h = random_matrix(4 * H, H, engine);
    w.b = random_matrix(4 * H, 1, engine);
  }
};

}  // namespace

TEST_CASE("LSTM backward through time matches finite differences (one-hot input)", "[gradient]") {
  std::mt19937_64 engine(1);
  lstm_fixture p(V, engine);
  const std::vector<token_id> ids = random_ids(T * B, V, engine);
  matrix<double> h0 = random_matrix(H, B, engine), c0 = random_matrix(H, B, engine);
  const matrix<double> r_all = random_matrix(H, T * B, engine, 1.0);  // L = sum(r .* h_1..T)
  const matrix<double> r_last = random_matrix(H, B, engine, 1.0);     // L = sum(r .* h_T)
  charlstm::lstm_cache<double> cache;

  for (bool last_only : {false, true}) {
    DYNAMIC_SECTION((last_only ? "loss on h_T only" : "loss on every h_t")) {
      const matrix<double>& r = last_only ? r_last : r_all;
      auto loss = [&] {
        charlstm::lstm_forward(cache, p.w, ids.data(), T, B, h0, c0);
        const matrix<double> h =
            last_only ? matrix<double>(cache.h_at(T)) : matrix<double>(cache.h.rightCols(T * B));
        return (r.array() * h.array()).sum();
      };
      loss();
      p.grads.w_x.setZero(), p.grads.w_h.setZero(), p.grads.b.setZero();
      charlstm::lstm_recurrence_backward(p.grads, cache, p.w, r, last_only);
      charlstm::lstm_input_gather_backward(p.grads, cache, ids.data());
      const matrix<double> d_h0 = cache.d_h, d_c0 = cache.d_c;

      check_gradient("w_x", p.grads.w_x.data(), p.w.w_x.data(), p.w.w_x.size(), loss);
      check_gradient("w_h", p.grads.w_h.data(), p.w.w_h.data(), p.w.w_h.size(), loss);
      check_gradient("b", p.grads.b.data(), p.w.b.data(), p.w.b.size(), loss);
      check_gradient("h0", d_h0.data(), h0.data(), h0.size(), loss);
      check_gradient("c0", d_c0.data(), c0.data(), c0.size(), loss);
    }
  }
}

TEST_CASE("LSTM backward matches finite differences (dense input)", "[gradient]") {
  std::mt19937_64 engine(2);
  const isize inputs = 3;
  lstm_fixture p(inputs, engine);
  matrix<double> x = random_matrix(inputs, T * B, engine, 1.0);
  const matrix<double> h0 = random_matrix(H, B, engine), c0 = random_matrix(H, B, engine);
  const matrix<double> r = random_matrix(H, T * B, engine, 1.0);
  charlstm::lstm_cache<double> cache;
  auto loss = [&] {
    cache.resize(T, B, H);
    cache.h_at(0) = h0;
    cache.c_at(0) = c0;
    charlstm::lstm_input_dense(cache, p.w, x);
    charlstm::lstm_recurrence_forward(cache, p.w);
    return (r.array() * cache.h.rightCols(T * B).array()).sum();
  };
  loss();
  matrix<double> d_x(inputs, T * B);
  charlstm::lstm_recurrence_backward(p.grads, cache, p.w, r, false);
  charlstm::lstm_input_dense_backward(p.grads, d_x, cache, p.w, x);
  check_gradient("w_x", p.grads.w_x.data(), p.w.w_x.data(), p.w.w_x.size(), loss);
  check_gradient("w_h", p.grads.w_h.data(), p.w.w_h.data(), p.w.w_h.size(), loss);
  check_gradient("b", p.grads.b.data(), p.w.b.data(), p.w.b.size(), loss);
  check_gradient("x", d_x.data(), x.data(), x.size(), loss);
}

TEST_CASE("Dense backward matches finite differences", "[gradient]") {
  std::mt19937_64 engine(3);
  charlstm::aligned_buffer<double> buffer(
      static_cast<std::size_t>(charlstm::dense_weights<double>::buffer_size(V, H)), 0.0);
  charlstm::aligned_buffer<double> grad_buffer(buffer.size(), 0.0);
  charlstm::dense_weights<double> d(buffer.data(), V, H), grads(grad_buffer.data(), V, H);
  d.w = random_matrix(V, H, engine);
  d.b = random_matrix(V, 1, engine);
  matrix<double> x = random_matrix(H, B, engine, 1.0);
  const matrix<double> r = random_matrix(V, B, engine, 1.0);
  matrix<double> logits(V, B);
  auto loss = [&] {
    charlstm::dense_forward(logits, d, x);
    return (r.array() * logits.array()).sum();
  };
  loss();
  matrix<double> d_x(H, B);
  charlstm::dense_backward(grads, d_x, r, d, x);
  check_gradient("w", grads.w.data(), d.w.data(), d.w.size(), loss);
  check_gradient("b", grads.b.data(), d.b.data(), d.b.size(), loss);
  check_gradient("x", d_x.data(), x.data(), x.size(), loss);
}

TEST_CASE("Softmax cross-entropy gradient matches finite differences", "[gradient]") {
  std::mt19937_64 engine(4);
  matrix<double> logits = random_matrix(V, B, engine, 3.0);
  const std::vector<token_id> targets = random_ids(B, V, engine);
  matrix<double> d_logits(V, B), scratch(V, B);
  auto loss = [&] {
    return charlstm::softmax_cross_entropy<double>(scratch, logits, targets.data());
  };
  charlstm::softmax_cross_entropy<double>(d_logits, logits, targets.data());
  check_gradient("logits", d_logits.data(), logits.data(), logits.size(), loss);
}

TEST_CASE("The whole window model's gradient matches finite differences", "[gradient]") {
  std::mt19937_64 engine(5);
  charlstm::model<double> m(V, H, 11);
  // Random biases and dense weights so that no gradient is trivially zero.
  m.params.lstm.b = random_matrix(4 * H, 1, engine);
  m.params.dense.b = random_matrix(V, 1, engine);
  const std::vector<token_id> ids = random_ids(T * B, V, engine);
  const std::vector<token_id> targets = random_ids(B, V, engine);
  charlstm::parameters<double> grads(m.params);
  m.forward_backward(grads, ids.data(), targets.data(), T, B);
  for (auto& t : grads.tensors()) {
    for (auto& p : m.params.tensors()) {
      if (p.name != t.name) continue;
      check_gradient(p.name, t.data, p.data, p.rows * p.cols,
                     [&] { return m.loss(ids.data(), targets.data(), T, B); });
    }
  }
}
