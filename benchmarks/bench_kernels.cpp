// Google Benchmark suite: the fused kernels, the LSTM forward/backward, a full train step and a
// generation step, for the book's model (T 60, B 128, V 57, H 128) in float.
// Counters: items/s (sequences, or characters for generation) and GFLOP/s counting only the
// necessary floating-point work (the one-hot input product counted as a gather: no FLOPs).
#include <benchmark/benchmark.h>

#include <charlstm/charlstm.hpp>
#include <numeric>
#include <random>
#include <vector>

namespace {

using charlstm::index;
using charlstm::token_id;

constexpr index book_T = 60, book_B = 128, book_V = 57, book_H = 128;

std::vector<token_id> random_ids(index n, index vocab, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::vector<token_id> ids(static_cast<std::size_t>(n));
  for (token_id& id : ids) id = static_cast<token_id>(engine() % static_cast<std::uint64_t>(vocab));
  return ids;
}

// Multiply-adds of one sequence's train step: recurrent product forward, and backward both the
// d_h product and the weight-gradient product; dense forward and its two backward products.
double train_flops_per_sequence(index T, index V, index H) {
  const double recurrent = 2.0 * 4 * H * H * T;  // forward W_h h
  const double dense = 2.0 * V * H;              // forward W h_T
  return 3 * recurrent + 3 * dense;
}

void bm_lstm_cell_forward(benchmark::State& state) {
  const index H = book_H, B = book_B;
  std::vector<float> gates(4 * H * B, 0.1f), c_prev(H * B, 0.2f), c(H * B), th(H * B), h(H * B);
  for (auto _ : state) {
    charlstm::lstm_cell_forward(H, B, gates.data(), c_prev.data(), c.data(), th.data(), h.data());
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations() * H * B);
}
BENCHMARK(bm_lstm_cell_forward);

void bm_lstm_cell_backward(benchmark::State& state) {
  const index H = book_H, B = book_B;
  std::vector<float> gates(4 * H * B, 0.5f), c_prev(H * B, 0.2f), th(H * B, 0.3f),
      d_h(H * B, 1e-3f), d_c(H * B, 1e-3f), dz(4 * H * B);
  for (auto _ : state) {
    charlstm::lstm_cell_backward(H, B, gates.data(), c_prev.data(), th.data(), d_h.data(),
                                 d_c.data(), dz.data());
    benchmark::DoNotOptimize(dz.data());
  }
  state.SetItemsProcessed(state.iterations() * H * B);
}
BENCHMARK(bm_lstm_cell_backward);

void bm_softmax_cross_entropy(benchmark::State& state) {
  const index V = book_V, B = book_B;
  std::vector<float> logits(V * B, 0.5f), d(V * B);
  const auto targets = random_ids(B, V, 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        charlstm::softmax_cross_entropy(V, B, logits.data(), targets.data(), 1.0f / B, d.data()));
  }
  state.SetItemsProcessed(state.iterations() * B);
}
BENCHMARK(bm_softmax_cross_entropy);

void bm_rmsprop(benchmark::State& state) {
  charlstm::model<float> m(book_V, book_H, 1);
  for (auto _ : state) {
    m.optimizer.step(m.params.data.data(), m.grads.data.data(), m.rms_acc.data.data(),
                     m.params.size());
  }
  state.SetItemsProcessed(state.iterations() * m.params.size());
}
BENCHMARK(bm_rmsprop);

void bm_train_step(benchmark::State& state) {
  const index T = book_T, B = book_B;
  charlstm::model<float> m(book_V, book_H, 1);
  const auto ids = random_ids(T * B, book_V, 2), targets = random_ids(B, book_V, 3);
  for (auto _ : state) benchmark::DoNotOptimize(m.train_step(ids.data(), targets.data(), T, B));
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = benchmark::Counter(train_flops_per_sequence(T, book_V, book_H) * B *
                                                     1e-9 * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(bm_train_step)->Unit(benchmark::kMillisecond);

void bm_generate_stateful_step(benchmark::State& state) {
  charlstm::model<float> m(book_V, book_H, 1);
  charlstm::lstm_state<float> s = m.initial_state();
  token_id id = 0;
  for (auto _ : state) {
    m.feed(s, id);
    const std::vector<double> p = m.probabilities(s);
    id = static_cast<token_id>(std::max_element(p.begin(), p.end()) - p.begin());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_generate_stateful_step);

void bm_generate_window_step(benchmark::State& state) {
  charlstm::model<float> m(book_V, book_H, 1);
  const auto window = random_ids(book_T, book_V, 4);
  for (auto _ : state) benchmark::DoNotOptimize(m.predict(window.data(), book_T));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_generate_window_step);

}  // namespace
