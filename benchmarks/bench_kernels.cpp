// Google Benchmark suite: the fused kernels, the LSTM forward/backward, a full train step and a
// generation step, for the book's model (T 60, B 128, V 57, H 128) in float.
// Counters: items/s (sequences, or characters for generation) and GFLOP/s counting only the
// necessary floating-point work (the one-hot input product counted as a gather: no FLOPs).
#include <benchmark/benchmark.h>

#include <algorithm>
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
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  const charlstm::parameters<float> grads(m.params);
  for (auto _ : state) opt.update(m.params, grads, 0, m.params.size());
  state.SetItemsProcessed(state.iterations() * m.params.size());
}
BENCHMARK(bm_rmsprop);

benchmark::Counter gflops(double flops_per_iteration, benchmark::State& state) {
  return benchmark::Counter(flops_per_iteration * 1e-9 * static_cast<double>(state.iterations()),
                            benchmark::Counter::kIsRate);
}

std::vector<float> random_floats(index n, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = u(engine);
  return v;
}

// One forward step product z (4H, B) += W_h h (H, B), W_h packed once outside the loop;
// argument: B (the per-thread slice with 2 threads is 64).
void bm_step_product_forward(benchmark::State& state) {
  const index H = book_H, B = state.range(0);
  const auto w = random_floats(4 * H * H, 5), h = random_floats(H * B, 6);
  std::vector<float> z(4 * H * B, 0.0f);
  charlstm::aligned_buffer<float> packed(charlstm::gemm_packed_size<float>(4 * H, H));
  charlstm::gemm_pack(4 * H, H, w.data(), 1, 4 * H, packed.data());
  for (auto _ : state) {
    charlstm::gemm_packed(4 * H, B, H, packed.data(), h.data(), 1, H, z.data(), 4 * H, true);
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H * B, state);
}
BENCHMARK(bm_step_product_forward)->Arg(128)->Arg(64)->Arg(1);

// One backward step product d_h (H, B) = W_h^T dz (4H, B), W_h^T packed once.
void bm_step_product_backward(benchmark::State& state) {
  const index H = book_H, B = state.range(0);
  const auto w = random_floats(4 * H * H, 5), dz = random_floats(4 * H * B, 7);
  std::vector<float> d_h(H * B);
  charlstm::aligned_buffer<float> packed(charlstm::gemm_packed_size<float>(H, 4 * H));
  charlstm::gemm_pack(H, 4 * H, w.data(), 4 * H, 1, packed.data());
  for (auto _ : state) {
    charlstm::gemm_packed(H, B, 4 * H, packed.data(), dz.data(), 1, 4 * H, d_h.data(), H, false);
    benchmark::DoNotOptimize(d_h.data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H * B, state);
}
BENCHMARK(bm_step_product_backward)->Arg(128)->Arg(64);

// Generation's recurrent product z (4H) += W_h h (H), one stream: argument 0 reads W_h as it is
// stored (gemv), 1 reads the copy packed once by gemv_pack (what lstm_state holds).
void bm_generation_product(benchmark::State& state) {
  const index H = book_H;
  const auto w = random_floats(4 * H * H, 5), h = random_floats(H, 6);
  std::vector<float> z(4 * H, 0.0f);
  charlstm::aligned_buffer<float> packed(charlstm::gemv_packed_size<float>(4 * H, H));
  charlstm::gemv_pack(4 * H, H, w.data(), 4 * H, packed.data());
  for (auto _ : state) {
    if (state.range(0) == 0) {
      charlstm::gemv(4 * H, H, w.data(), 4 * H, h.data(), z.data(), false);
    } else {
      charlstm::gemv_packed(4 * H, H, packed.data(), h.data(), z.data(), false);
    }
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H, state);
}
BENCHMARK(bm_generation_product)->ArgName("packed")->Arg(0)->Arg(1);

// The recurrent product of batch_generator (`charlstm generate`, `charlstm serve`): z (4H, B) +=
// W_h h (H, B) over W_h as it is stored (gemm: each column's bits independent of B); argument:
// B, the streams in the batch.  Per column it costs about what one stream's product costs:
// W_h (256 kB for the book) stays in L2, so batching saves loads, not multiply-adds
// (docs/serve.md).
void bm_batch_generation_product(benchmark::State& state) {
  const index H = book_H, B = state.range(0);
  const auto w = random_floats(4 * H * H, 5), h = random_floats(H * B, 6);
  std::vector<float> z(4 * H * B, 0.0f);
  for (auto _ : state) {
    charlstm::gemm(4 * H, B, H, w.data(), 4 * H, h.data(), 1, H, z.data(), 4 * H, true);
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H * B, state);
}
BENCHMARK(bm_batch_generation_product)->Arg(1)->Arg(8)->Arg(32)->Arg(64);

// Generation's whole one-stream LSTM step as lstm_state takes it: z0 (the bias and the input's
// column) + W_h h, packed by step_pack, and the cell, fused (lstm_step_fused).  Against
// bm_generation_product: what the cell adds to the product once they share the registers.
void bm_generation_step_fused(benchmark::State& state) {
  const index H = book_H;
  const auto w = random_floats(4 * H * H, 5), z0 = random_floats(4 * H, 7);
  auto h = random_floats(H, 6), c = random_floats(H, 8), h_prev = h, tanh_c = h;
  charlstm::aligned_buffer<float> packed(charlstm::step_packed_size<float>(H, H));
  charlstm::step_pack(H, H, w.data(), 4 * H, packed.data());
  for (auto _ : state) {
    std::copy(h.begin(), h.end(), h_prev.begin());
    charlstm::lstm_step_fused(H, z0.data(), static_cast<const float*>(nullptr), index{0},
                              static_cast<const float*>(nullptr), packed.data(), h_prev.data(),
                              c.data(), tanh_c.data(), h.data());
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H, state);
}
BENCHMARK(bm_generation_step_fused);

// The recurrent weight gradient dW_h (4H, H) += dZ (4H, T*B) h^T over a whole batch.
void bm_weight_gradient(benchmark::State& state) {
  const index H = book_H, N = book_T * state.range(0);
  const auto dz = random_floats(4 * H * N, 8), h = random_floats(H * N, 9);
  std::vector<float> g(4 * H * H, 0.0f);
  for (auto _ : state) {
    charlstm::gemm(4 * H, H, N, dz.data(), 4 * H, h.data(), H, 1, g.data(), 4 * H, true);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H * N, state);
}
BENCHMARK(bm_weight_gradient)->Arg(128)->Arg(64)->Unit(benchmark::kMillisecond);

// The LSTM layer alone, forward (gather + T steps) and backward through time, B = 128.
void bm_lstm_forward(benchmark::State& state) {
  const index T = book_T, B = book_B, H = book_H;
  charlstm::model<float> m(book_V, H, 1);
  charlstm::lstm_cache<float> cache;
  const auto ids = random_ids(T * B, book_V, 2);
  const charlstm::matrix<float> zero = charlstm::matrix<float>::Zero(H, B);
  for (auto _ : state) {
    charlstm::lstm_forward(cache, m.params.lstm, ids.data(), T, B, zero, zero);
    benchmark::DoNotOptimize(cache.h.data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = gflops(2.0 * 4 * H * H * T * B, state);
}
BENCHMARK(bm_lstm_forward)->Unit(benchmark::kMillisecond);

void bm_lstm_backward(benchmark::State& state) {
  const index T = book_T, B = book_B, H = book_H;
  charlstm::model<float> m(book_V, H, 1);
  charlstm::parameters<float> grads(m.params);
  charlstm::lstm_cache<float> cache;
  const auto ids = random_ids(T * B, book_V, 2);
  const charlstm::matrix<float> zero = charlstm::matrix<float>::Zero(H, B);
  charlstm::matrix<float> d_h = charlstm::matrix<float>::Constant(H, B, 1e-3f);
  charlstm::lstm_forward(cache, m.params.lstm, ids.data(), T, B, zero, zero);
  for (auto _ : state) {
    charlstm::lstm_recurrence_backward(grads.lstm, cache, m.params.lstm, d_h, true);
    charlstm::lstm_input_gather_backward(grads.lstm, cache, ids.data());
    benchmark::DoNotOptimize(grads.data.data());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = gflops(2.0 * 2 * 4 * H * H * T * B, state);
}
BENCHMARK(bm_lstm_backward)->Unit(benchmark::kMillisecond);

void bm_train_step(benchmark::State& state) {
  const index T = book_T, B = book_B;
  charlstm::model<float> m(book_V, book_H, 1);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  charlstm::batch_trainer<float> trainer(m, opt, 1);
  const auto ids = random_ids(T * B, book_V, 2), targets = random_ids(B, book_V, 3);
  for (auto _ : state)
    benchmark::DoNotOptimize(trainer.train_step(ids.data(), targets.data(), T, B));
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
  state.counters["GFLOP/s"] = gflops(2.0 * (4 * book_H * book_H + book_V * book_H), state);
}
BENCHMARK(bm_generate_stateful_step);

void bm_generate_window_step(benchmark::State& state) {
  charlstm::model<float> m(book_V, book_H, 1);
  const auto window = random_ids(book_T, book_V, 4);
  for (auto _ : state) benchmark::DoNotOptimize(m.predict(window.data(), book_T));
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] =
      gflops(2.0 * (4 * book_H * book_H * book_T + book_V * book_H), state);
}
BENCHMARK(bm_generate_window_step);

}  // namespace
