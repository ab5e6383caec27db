// Training and generation throughput of the book's model (T 60, B 128, V 57, H 128) on real
// Nietzsche batches, for 1 and 2 threads: the charlstm side of compare.sh.
//   bench_train [--benchmark_format=json]
// Counters: items_per_second = sequences/s (training) or characters/s (generation), and
// GFLOP/s counting only the necessary work, 23.6 MFLOP per training sequence (the one-hot input
// product is a gather).
#include <benchmark/benchmark.h>

#include <charlstm/charlstm.hpp>
#include <random>
#include <vector>

namespace {

using charlstm::index;
using charlstm::token_id;

constexpr index T = 60, B = 128, H = 128;

struct nietzsche_data {
  charlstm::char_vocabulary vocab;
  std::vector<token_id> ids;
  nietzsche_data() {
    const std::u32string text = charlstm::load_text(CHARLSTM_DATA_DIR "/nietzsche.txt", true);
    vocab = charlstm::char_vocabulary(text);
    ids = vocab.encode(text);
  }
};

const nietzsche_data& data() {
  static const nietzsche_data d;
  return d;
}

// Multiply-adds x 2 of one sequence: forward W_h h, backward W_h^T dz and dW_h += dz h^T, and
// the dense layer's three products.
double flops_per_sequence(index V) { return 3.0 * 2 * 4 * H * H * T + 3.0 * 2 * V * H; }

void bm_train_book(benchmark::State& state) {
  const auto& d = data();
  const auto windows = charlstm::make_windows(d.ids, T, 3);
  charlstm::model<float> m(d.vocab.size(), H, 1);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  charlstm::batch_trainer<float> trainer(m, opt, state.range(0));
  std::mt19937_64 engine(1);
  std::vector<index> which(B);
  std::vector<token_id> ids(T * B), targets(B);
  for (auto _ : state) {
    state.PauseTiming();
    for (index& w : which)
      w = static_cast<index>(charlstm::uniform01(engine) * static_cast<double>(windows.size()));
    charlstm::gather_batch(windows, which.data(), B, ids.data(), targets.data());
    state.ResumeTiming();
    benchmark::DoNotOptimize(trainer.train_step(ids.data(), targets.data(), T, B));
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops_per_sequence(d.vocab.size()) * B * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
// compare.sh runs these with --benchmark_min_time=2; CI with a tiny one, so that they run once.
BENCHMARK(bm_train_book)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Sequence mode, the CLI's default: B streams read in order, 100 steps per update, the loss at
// every step, the state carried between updates.  items_per_second = characters (targets) per
// second.  GFLOP/s counts, per character, the three products of each recurrent kernel (W_h:
// 4H x H; layers above the first also W_x: 4H x H) and of the dense layer; the first layer's
// input is a gather.
void run_sequence(benchmark::State& state, index hidden, index layers, index threads,
                  index streams_B, charlstm::optimizer_kind optimizer, double dropout) {
  constexpr index seq_T = 100;
  const auto& d = data();
  const charlstm::stream_set streams{d.ids.data(), static_cast<index>(d.ids.size()), streams_B,
                                     seq_T};
  charlstm::model<float> m(d.vocab.size(), hidden, 1, layers);
  charlstm::optimizer_state<float> opt(optimizer, m.params);
  charlstm::batch_trainer<float> trainer(m, opt, threads);
  trainer.dropout = dropout;
  charlstm::layer_states<float> carried;
  carried.reset(layers, hidden, streams_B);
  std::vector<token_id> ids(seq_T * streams_B), targets(seq_T * streams_B);
  // One untimed step first: it sizes the caches (236 MB for H 512) and touches their pages, which
  // a run of one or two timed steps would otherwise count.
  streams.gather(0, ids.data(), targets.data());
  trainer.train_step({ids.data(), targets.data(), seq_T, streams_B, true, 0}, &carried);
  carried.reset(layers, hidden, streams_B);
  index batch = 0, characters = 0;
  for (auto _ : state) {
    if (batch == streams.batches()) {  // a new epoch: a fresh state, as train_sequence_epoch
      batch = 0;
      carried.reset(layers, hidden, streams_B);
    }
    const index T = streams.steps_in(batch);
    streams.gather(batch, ids.data(), targets.data());
    benchmark::DoNotOptimize(
        trainer.train_step({ids.data(), targets.data(), T, streams_B, true, 0}, &carried));
    characters += T * streams_B;
    ++batch;
  }
  const double H = static_cast<double>(hidden), V = static_cast<double>(d.vocab.size());
  const double flops_per_character =
      3.0 * 2 * (4 * H * H + static_cast<double>(layers - 1) * 8 * H * H + V * H);
  state.SetItemsProcessed(characters);
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops_per_character * 1e-9 * static_cast<double>(characters), benchmark::Counter::kIsRate);
}

// Arguments: hidden units, layers, threads; 128 streams, RMSprop, no dropout.
void bm_train_sequence(benchmark::State& state) {
  run_sequence(state, state.range(0), state.range(1), state.range(2), 128,
               charlstm::optimizer_kind::rmsprop, 0);
}
BENCHMARK(bm_train_sequence)
    ->ArgNames({"H", "layers", "threads"})
    ->ArgsProduct({{128, 256, 512}, {1, 2, 3}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The recipe people run (docs/results.md): 2 x LSTM(384), 64 streams x 100 steps, dropout 0.4,
// Adam; argument: threads.  torch_reference.py --recipe trains nn.LSTM(num_layers=2) on the same.
void bm_train_recipe(benchmark::State& state) {
  run_sequence(state, 384, 2, state.range(0), 64, charlstm::optimizer_kind::adam, 0.4);
}
BENCHMARK(bm_train_recipe)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void bm_generate_stateful(benchmark::State& state) {
  const auto& d = data();
  charlstm::model<float> m(d.vocab.size(), H, 1);
  std::mt19937_64 engine(1);
  const std::u32string seed = d.vocab.decode({d.ids.begin(), d.ids.begin() + T});
  for (auto _ : state) {
    benchmark::DoNotOptimize(charlstm::generate_stateful(m, d.vocab, seed, 1000, 0.5, engine));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(bm_generate_stateful)->Unit(benchmark::kMillisecond)->UseRealTime();

void bm_generate_window(benchmark::State& state) {
  const auto& d = data();
  charlstm::model<float> m(d.vocab.size(), H, 1);
  std::mt19937_64 engine(1);
  const std::u32string seed = d.vocab.decode({d.ids.begin(), d.ids.begin() + T});
  for (auto _ : state) {
    benchmark::DoNotOptimize(charlstm::generate_window(m, d.vocab, seed, 100, 0.5, engine));
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(bm_generate_window)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
