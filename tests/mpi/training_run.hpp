// The small training run both MPI tests compare (mpi_bit_identical.cpp, mpi_allreduce.cpp): a
// 2-layer model over a fixed token sequence, 6 steps with clipping and dropout, trained through
// a reducer across the ranks or by this process alone, everything recorded that the tests
// compare.
#pragma once

#include <mpi.h>

#include <charlstm/charlstm.hpp>
#include <cstdint>
#include <vector>

namespace mpi_test {

using idx = charlstm::index;  // not `index`: <strings.h>, reached through <mpi.h>, has one

struct run_result {
  std::vector<float> params;
  std::vector<float> losses;
  std::vector<double> norms;
  std::vector<float> state;  // this rank's columns of every layer's h and c, in order
  float eval_loss = 0;
};

struct recipe {
  bool sequence;
  charlstm::optimizer_kind optimizer;
  idx segment;  // scalars per message of the chain (mpi_chain_reducer only)
  const char* name;
};

constexpr idx V = 23, H = 16, L = 2, B = 7, T = 5, steps = 6;

// Token ids from a fixed linear congruential sequence.
inline std::vector<charlstm::token_id> tokens(std::size_t n, std::uint32_t seed) {
  std::vector<charlstm::token_id> ids(n);
  for (auto& id : ids) {
    seed = seed * 1664525u + 1013904223u;
    id = static_cast<charlstm::token_id>((seed >> 8) % V);
  }
  return ids;
}

// Trains `steps` steps on `threads` threads; `reducer` null: this process alone.  `first`,
// `count`: the batch columns whose carried state is recorded (sequence mode).
inline run_result train(const recipe& r, idx threads, charlstm::gradient_reducer<float>* reducer,
                        idx first = 0, idx count = 0) {
  charlstm::model<float> m(V, H, 1234, L);
  charlstm::optimizer_state<float> opt(r.optimizer, m.params);
  charlstm::batch_trainer<float> trainer(m, opt, threads, reducer);
  trainer.clip_norm = 0.05;  // below the gradient's norm: clipping scales every step
  trainer.dropout = 0.25;
  trainer.dropout_seed = 99;
  charlstm::layer_states<float> state;
  state.reset(L, H, B);
  run_result out;
  for (idx s = 0; s < steps; ++s) {
    const auto ids = tokens(static_cast<std::size_t>(T * B), 7u + static_cast<std::uint32_t>(s));
    const auto targets = tokens(static_cast<std::size_t>(r.sequence ? T * B : B),
                                1000u + static_cast<std::uint32_t>(s));
    const float loss = r.sequence
                           ? trainer.train_step({ids.data(), targets.data(), T, B, true, 0}, &state)
                           : trainer.train_step(ids.data(), targets.data(), T, B);
    out.losses.push_back(loss);
    out.norms.push_back(trainer.last_gradient_norm);
  }
  const auto ids = tokens(static_cast<std::size_t>(T * B), 555u);
  const auto targets = tokens(static_cast<std::size_t>(r.sequence ? T * B : B), 556u);
  out.eval_loss = r.sequence ? trainer.loss({ids.data(), targets.data(), T, B, true, 0}, &state)
                             : trainer.loss(ids.data(), targets.data(), T, B);
  out.params.assign(m.params.data.data(), m.params.data.data() + m.params.size());
  if (r.sequence) {
    for (idx l = 0; l < L; ++l) {
      for (const auto* mat :
           {&state.h[static_cast<std::size_t>(l)], &state.c[static_cast<std::size_t>(l)]}) {
        for (idx b = first; b < first + count; ++b) {
          for (idx i = 0; i < H; ++i) out.state.push_back((*mat)(i, b));
        }
      }
    }
  }
  return out;
}

}  // namespace mpi_test
