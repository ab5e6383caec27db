// charlstm/model.hpp: the model, N stacked LSTM(H) layers -> Dense(V) -> softmax, trained with
// categorical cross-entropy.  With one layer it is the book's model.  One
// forward_backward is forward, loss, BPTT on a batch in one of two modes:
//  - window (the book): B windows of T tokens from a zero state, the loss on the last step only;
//  - sequence: B streams of T tokens from a carried state, the loss at every step.
// Dropout (inverted, training only) acts between stacked layers, as PyTorch's nn.LSTM(dropout).
// predict gives the next-token distribution of a window; the stateful interface feeds one token
// at a time carrying (h, c) of every layer.
// The model is its parameters: the optimizer's buffers and step count are the run's
// (optimizer.hpp), the gradients the caller's.
// Not the training loop (trainer.hpp), not text generation (generate.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dense.hpp"
#include "gemv.hpp"
#include "loss.hpp"
#include "lstm.hpp"
#include "parameters.hpp"
#include "tensor.hpp"

namespace charlstm {

// The LSTM state carried from token to token when generating (batch 1), plus its scratch and
// a packed copy of each layer's kernels (model::initial_state takes it; a state made before
// the weights change keeps computing with the old ones, so make a new state after training).
template <class S>
struct lstm_state {
  std::vector<vector<S>> h, c;                 // per layer, bottom first, (H) each
  vector<S> gates, tanh_c;                     // scratch (4H), (H)
  vector<S> logits, probs;                     // (V)
  std::vector<packed_step_weights<S>> packed;  // per layer; empty: the weights as stored
};

// The state of every layer for B streams, carried from batch to batch in sequence mode.
template <class S>
struct layer_states {
  std::vector<matrix<S>> h, c;  // per layer, bottom first, (H, B) each

  // Zeros for L layers of H units and B streams.
  void reset(index L, index H, index B) {
    h.assign(static_cast<std::size_t>(L), matrix<S>::Zero(H, B));
    c.assign(static_cast<std::size_t>(L), matrix<S>::Zero(H, B));
  }
};

// One batch for forward_backward: T steps of B sequences, ids time-major (ids[t*B + b]).
// Window mode: targets has B ids, the token after each window, and the loss reads h_T only.
// Sequence mode: targets has T*B ids, time-major, the token after each input, and the loss is
// the mean over all T*B steps.  first_column numbers the batch's first sequence within a larger
// batch split over threads, so that dropout masks do not depend on the split.
struct batch_input {
  const token_id* ids = nullptr;
  const token_id* targets = nullptr;
  index T = 0, B = 0;
  bool sequence = false;
  index first_column = 0;
};

// Dropout between stacked layers for one training step: each mask is a pure function of
// (seed, step, layer, t, column, unit), so a resumed run draws the same masks.  rate 0: off.
struct dropout_options {
  double rate = 0;
  std::uint64_t seed = 0;
  std::int64_t step = 0;  // the optimizer's update count before this step
};

// The state of B streams generated together, one column each (generate_batch), plus scratch.
template <class S>
struct batch_state {
  std::vector<matrix<S>> h, c;  // per layer, bottom first, (H, B) each
  matrix<S> gates, tanh_c;  // scratch (4H, B), (H, B)
  matrix<S> logits, probs;  // (V, B)
  // With one stream, feed_batch takes the fused one-stream step (the same bits) over these
  // packed kernels (model::initial_batch_state packs them; empty: always the batched step),
  // with its own scratch.
  std::vector<packed_step_weights<S>> packed;
  vector<S> step_gates, step_scratch;
};

// The buffers one forward/backward of a batch needs, reused from batch to batch.  One per
// thread when training data-parallel (trainer.hpp).  Memory: the caches of L layers (see
// lstm.hpp) + 2 V*N logits + H*N + (dropout) 2 (L-1) H*T*B, with N = B (window) or T*B.
template <class S>
struct workspace {
  std::vector<lstm_cache<S>> caches;  // per layer, bottom first
  std::vector<matrix<S>> h0, c0;      // per layer (H, B): the initial state, set before forward
  std::vector<matrix<S>> inputs;      // per layer l >= 1, with dropout: (H, T*B) masked input
  std::vector<matrix<S>> masks;       // per layer l >= 1, with dropout: (H, T*B) 0 or 1/(1-p)
  matrix<S> logits, d_logits;         // (V, N)
  matrix<S> d_top;                    // (H, N): dL/dh of the top layer from the dense layer
  matrix<S> d_x;                      // (H, T*B): dL/d(input) of a layer l >= 1

  // The zero initial state for L layers and a batch of B (the book starts every window fresh).
  void zero_state(index L, index H, index B) {
    if (static_cast<index>(h0.size()) != L || h0[0].rows() != H || h0[0].cols() != B) {
      h0.assign(static_cast<std::size_t>(L), matrix<S>::Zero(H, B));
      c0.assign(static_cast<std::size_t>(L), matrix<S>::Zero(H, B));
    } else {
      for (matrix<S>& m : h0) m.setZero();
      for (matrix<S>& m : c0) m.setZero();
    }
  }
  // Columns [b0, b0 + B) of `state` as the initial state.
  void take_state(const layer_states<S>& state, index b0, index B) {
    h0.resize(state.h.size());
    c0.resize(state.c.size());
    for (std::size_t l = 0; l < state.h.size(); ++l) {
      h0[l] = state.h[l].middleCols(b0, B);
      c0[l] = state.c[l].middleCols(b0, B);
    }
  }
  // The final state of the last forward (T steps) into columns [b0, b0 + B) of `state`.
  void give_state(layer_states<S>& state, index b0, index B) {
    for (std::size_t l = 0; l < state.h.size(); ++l) {
      const index T = caches[l].T;
      state.h[l].middleCols(b0, B) = caches[l].h_at(T);
      state.c[l].middleCols(b0, B) = caches[l].c_at(T);
    }
  }
};

// A uniform number in [0, 1) for dropout, a pure function of its arguments (SplitMix64's
// finaliser), so that masks depend on the seed and the position only: not on threads.
inline double dropout_uniform(std::uint64_t seed, std::int64_t step, index layer, index t,
                              index column, index unit) {
  auto mix = [](std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::uint64_t z = mix(seed ^ mix(static_cast<std::uint64_t>(step)));
  z = mix(z ^ static_cast<std::uint64_t>(layer));
  z = mix(z ^ static_cast<std::uint64_t>(t));
  z = mix(z ^ static_cast<std::uint64_t>(column));
  z = mix(z ^ static_cast<std::uint64_t>(unit));
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

template <class S>
class model {
 public:
  parameters<S> params;

  // A freshly initialised model (Keras initialisers) for V symbols, H hidden units, L layers.
  //   model<float> m(vocab.size(), 128, /*seed=*/1);        // the book's
  //   model<float> deep(vocab.size(), 256, 1, /*layers=*/2);
  model(index V, index H, std::uint64_t seed, index L = 1) : params(V, H, L) {
    std::mt19937_64 engine(seed);
    lstm_init(params.lstm, engine);
    dense_init(params.dense, engine);  // before the upper layers: one layer draws as the book's
    for (index l = 1; l < L; ++l) lstm_init(params.lstm_layers[static_cast<std::size_t>(l)], engine);
  }
  // A model of zeros, to be filled by a loader (no initialiser runs).
  static model zeros(index V, index H, index L) { return model(V, H, L, zeros_tag{}); }

  index vocab_size() const { return params.vocab_size; }
  index hidden_size() const { return params.hidden_size; }
  index layers() const { return params.layers; }

  // Mean cross-entropy of predicting targets (B) after the windows ids (T*B, time-major as
  // vectorizer.hpp's gather_batch writes them), from a zero state as the book does.  Sets
  // `grads` (a parameters<S> of the model's shape) to its gradient; no dropout.
  //   parameters<float> grads(m.vocab_size(), m.hidden_size(), m.layers());
  //   float loss = m.forward_backward(grads, ids, targets, 60, 128);
  S forward_backward(parameters<S>& grads, const token_id* ids, const token_id* targets, index T,
                     index B) {
    ws_.zero_state(layers(), hidden_size(), B);
    return forward_backward(ws_, grads, {ids, targets, T, B, false, 0});
  }
  // The same with (h0, c0), each (H, B), as the first layer's initial state (layers above start
  // from zero); afterwards d_h0() and d_c0() hold dL/dh0 and dL/dc0 of the first layer.
  S forward_backward(parameters<S>& grads, const token_id* ids, const token_id* targets, index T,
                     index B, const_matrix_ref<S> h0, const_matrix_ref<S> c0) {
    require_shape(h0, hidden_size(), B, "model initial h");
    require_shape(c0, hidden_size(), B, "model initial c");
    ws_.zero_state(layers(), hidden_size(), B);
    ws_.h0[0] = h0;
    ws_.c0[0] = c0;
    return forward_backward(ws_, grads, {ids, targets, T, B, false, 0});
  }
  // The general form, into a caller's workspace and gradients, from the initial state in
  // ws.h0, ws.c0 (one (H, B) matrix per layer; see workspace::zero_state, take_state).  Reads
  // the parameters only, so threads may run it at once on different batches.  Dropout as
  // `drop` says (off by default).  Afterwards ws.caches[l].d_h, d_c hold dL/dh0, dL/dc0 of
  // layer l and ws.give_state copies the final state out.
  //   workspace<float> ws;  ws.zero_state(m.layers(), m.hidden_size(), B);
  //   float loss = m.forward_backward(ws, grads, {ids, targets, T, B, /*sequence=*/true});
  S forward_backward(workspace<S>& ws, parameters<S>& out_grads, const batch_input& in,
                     const dropout_options& drop_options = {}) const {
    const S loss = forward(ws, in, &drop_options);
    const index L = layers(), H = hidden_size(), T = in.T, B = in.B;
    const bool drop = drop_options.rate > 0 && L > 1;
    out_grads.set_zero();
    lstm_cache<S>& top = ws.caches[static_cast<std::size_t>(L - 1)];
    ws.d_top.resize(H, in.sequence ? T * B : B);
    if (in.sequence) {
      dense_backward(out_grads.dense, ws.d_top, ws.d_logits, params.dense, top.h.rightCols(T * B));
    } else {
      dense_backward(out_grads.dense, ws.d_top, ws.d_logits, params.dense, top.h_at(T));
    }
    for (index l = L - 1; l >= 0; --l) {
      const auto k = static_cast<std::size_t>(l);
      lstm_cache<S>& cache = ws.caches[k];
      const matrix<S>& d_above = l == L - 1 ? ws.d_top : ws.d_x;
      lstm_recurrence_backward(out_grads.lstm_layers[k], cache, params.lstm_layers[k], d_above,
                               /*last_only=*/!in.sequence && l == L - 1);
      if (l == 0) {
        lstm_input_gather_backward(out_grads.lstm_layers[0], cache, in.ids);
      } else {
        ws.d_x.resize(H, T * B);
        lstm_input_dense_backward(out_grads.lstm_layers[k], ws.d_x, cache, params.lstm_layers[k],
                                  layer_input(ws, l, T, B, drop));
        if (drop) ws.d_x.array() *= ws.masks[k].array();
      }
    }
    return loss;
  }
  // dL/dh0 and dL/dc0, (H, B) each, of the first layer in the last forward_backward.
  const matrix<S>& d_h0() const { return ws_.caches[0].d_h; }
  const matrix<S>& d_c0() const { return ws_.caches[0].d_c; }
  // The logits of the last forward: (V, B) in window mode, (V, T*B) in sequence mode.
  const matrix<S>& logits() const { return ws_.logits; }

  // The loss alone, as forward_backward computes it (window mode, zero state).
  S loss(const token_id* ids, const token_id* targets, index T, index B) {
    return loss(ws_, ids, targets, T, B);
  }
  // The same in a caller's workspace (thread-safe like forward_backward).
  S loss(workspace<S>& ws, const token_id* ids, const token_id* targets, index T, index B) const {
    ws.zero_state(layers(), hidden_size(), B);
    return forward(ws, {ids, targets, T, B, false, 0}, nullptr);
  }
  // The loss of any batch from the state in ws.h0, ws.c0, without dropout (evaluation).
  S loss(workspace<S>& ws, const batch_input& in) const { return forward(ws, in, nullptr); }

  // The next-token distribution after the window ids[0..T) (model.predict in the book).
  std::vector<double> predict(const token_id* ids, index T) {
    require(T > 0, "predict: empty window");
    ws_.zero_state(layers(), hidden_size(), 1);
    forward_layers(ws_, ids, T, 1, nullptr, 0);
    ws_.logits.resize(vocab_size(), 1);
    dense_forward(ws_.logits, params.dense, ws_.caches.back().h_at(T));
    vector<S> probs(vocab_size());
    softmax<S>(probs, ws_.logits.col(0));
    return std::vector<double>(probs.data(), probs.data() + probs.size());
  }

  // Stateful generation: a zero state, then one token at a time through every layer.
  //   lstm_state<float> s = m.initial_state();  m.feed(s, id);  auto p = m.probabilities(s);
  lstm_state<S> initial_state() const {
    lstm_state<S> s;
    s.h.assign(static_cast<std::size_t>(layers()), vector<S>::Zero(hidden_size()));
    s.c.assign(static_cast<std::size_t>(layers()), vector<S>::Zero(hidden_size()));
    s.packed = pack_steps();
    return s;
  }
  void feed(lstm_state<S>& s, token_id id) const {
    const auto packed = [&](std::size_t l) { return s.packed.empty() ? nullptr : &s.packed[l]; };
    lstm_step(s.h[0], s.c[0], s.gates, s.tanh_c, params.lstm, id, packed(0));
    for (std::size_t l = 1; l < s.h.size(); ++l) {
      lstm_step_dense(s.h[l], s.c[l], s.gates, s.tanh_c, params.lstm_layers[l], s.h[l - 1],
                      packed(l));
    }
  }
  // The next-token logits after the tokens fed so far (V, kept in s): what sample_logits draws
  // from without a softmax.
  const vector<S>& logits(lstm_state<S>& s) const {
    s.logits = params.dense.b;
    gemv_chained(vocab_size(), hidden_size(), params.dense.w.data(), vocab_size(),
                 s.h.back().data(), s.logits.data());
    return s.logits;
  }
  // The next-token distribution after the tokens fed so far.
  std::vector<double> probabilities(lstm_state<S>& s) const {
    s.probs.resize(vocab_size());
    softmax<S>(s.probs, logits(s));
    return std::vector<double>(s.probs.data(), s.probs.data() + s.probs.size());
  }

  // The stateful interface for B streams at once: one batched step feeds ids[0..B), one per
  // stream; batch_probabilities gives the (V, B) next-token distributions.  Column b equals the
  // single-stream interface fed stream b's tokens (within rounding), and its bits depend only on
  // stream b's tokens, not on B or on the other streams.
  //   batch_state<float> s = m.initial_batch_state(4);  m.feed_batch(s, ids);
  batch_state<S> initial_batch_state(index B) const {
    require(B >= 1, "initial_batch_state: need at least one stream");
    batch_state<S> s;
    s.h.assign(static_cast<std::size_t>(layers()), matrix<S>::Zero(hidden_size(), B));
    s.c.assign(static_cast<std::size_t>(layers()), matrix<S>::Zero(hidden_size(), B));
    s.packed = pack_steps();
    return s;
  }
  // Each layer's kernels packed for the one-stream step (what lstm_state and batch_state hold).
  std::vector<packed_step_weights<S>> pack_steps() const {
    std::vector<packed_step_weights<S>> packed;
    for (index l = 0; l < layers(); ++l) {
      packed.emplace_back(params.lstm_layers[static_cast<std::size_t>(l)], l > 0);
    }
    return packed;
  }
  void feed_batch(batch_state<S>& s, const token_id* ids) const {
    if (s.h[0].cols() == 1 && !s.packed.empty() && ids[0] >= 0 && ids[0] < vocab_size()) {
      // One stream (a bad id goes on to lstm_step_batch's message): the fused step, which
      // reads the packed kernels in order instead of gemm's one column over W_h as stored.
      lstm_step(s.h[0].col(0), s.c[0].col(0), s.step_gates, s.step_scratch, params.lstm, ids[0],
                &s.packed[0]);
      for (std::size_t l = 1; l < s.h.size(); ++l) {
        lstm_step_dense(s.h[l].col(0), s.c[l].col(0), s.step_gates, s.step_scratch,
                        params.lstm_layers[l], s.h[l - 1].col(0), &s.packed[l]);
      }
      return;
    }
    lstm_step_batch(s.h[0], s.c[0], s.gates, s.tanh_c, params.lstm, ids);
    for (std::size_t l = 1; l < s.h.size(); ++l) {
      lstm_step_batch_dense(s.h[l], s.c[l], s.gates, s.tanh_c, params.lstm_layers[l], s.h[l - 1]);
    }
  }
  // The (V, B) next-token logits, column b for stream b (kept in s).
  const matrix<S>& batch_logits(batch_state<S>& s) const {
    const index B = s.h.back().cols();
    s.logits.resize(vocab_size(), B);
    s.logits.colwise() = params.dense.b;
    // Column by column with gemv_chained, as logits(): column b's bits depend neither on B nor on
    // whether the stream is batched (not Eigen's product, whose order depends on B).
    for (index b = 0; b < B; ++b) {
      gemv_chained(vocab_size(), hidden_size(), params.dense.w.data(), vocab_size(),
                   s.h.back().col(b).data(), s.logits.col(b).data());
    }
    return s.logits;
  }
  const matrix<S>& batch_probabilities(batch_state<S>& s) const {
    const index B = s.h.back().cols();
    batch_logits(s);
    s.probs.resize(vocab_size(), B);
    for (index b = 0; b < B; ++b) softmax<S>(s.probs.col(b), s.logits.col(b));
    return s.probs;
  }

 private:
  workspace<S> ws_;

  struct zeros_tag {};
  model(index V, index H, index L, zeros_tag) : params(V, H, L) {}

  // The input of layer l >= 1: the layer below's h_1..T, masked when dropout is on.
  static const_matrix_ref<S> layer_input(workspace<S>& ws, index l, index T, index B, bool drop) {
    if (drop) return ws.inputs[static_cast<std::size_t>(l)];
    return ws.caches[static_cast<std::size_t>(l - 1)].h.rightCols(T * B);
  }

  // The LSTM stack over T steps of B sequences from ws.h0, ws.c0.
  // `drop` is null when not training.
  void forward_layers(workspace<S>& ws, const token_id* ids, index T, index B,
                      const dropout_options* drop_options, index first_column) const {
    const index L = layers(), H = hidden_size();
    require(static_cast<index>(ws.h0.size()) == L && static_cast<index>(ws.c0.size()) == L,
            "model: the initial state has " + std::to_string(ws.h0.size()) + " layers, the model " +
                std::to_string(L));
    ws.caches.resize(static_cast<std::size_t>(L));
    lstm_forward(ws.caches[0], params.lstm, ids, T, B, ws.h0[0], ws.c0[0]);
    const bool drop = drop_options && drop_options->rate > 0 && L > 1;
    if (drop) {
      ws.inputs.resize(static_cast<std::size_t>(L));
      ws.masks.resize(static_cast<std::size_t>(L));
    }
    for (index l = 1; l < L; ++l) {
      const auto k = static_cast<std::size_t>(l);
      lstm_cache<S>& cache = ws.caches[k];
      require_shape(ws.h0[k], H, B, "model initial h");
      require_shape(ws.c0[k], H, B, "model initial c");
      cache.resize(T, B, H);
      cache.h_at(0) = ws.h0[k];
      cache.c_at(0) = ws.c0[k];
      if (drop) {
        matrix<S>& mask = ws.masks[k];
        mask.resize(H, T * B);
        const double dropout = drop_options->rate;
        const S keep = static_cast<S>(1 / (1 - dropout));
        for (index t = 0; t < T; ++t) {
          for (index b = 0; b < B; ++b) {
            for (index u = 0; u < H; ++u) {
              mask(u, t * B + b) =
                  dropout_uniform(drop_options->seed, drop_options->step, l, t, first_column + b,
                                  u) < dropout
                      ? S(0)
                      : keep;
            }
          }
        }
        ws.inputs[k].noalias() = ws.caches[k - 1].h.rightCols(T * B).cwiseProduct(mask);
      }
      lstm_input_dense(cache, params.lstm_layers[k], layer_input(ws, l, T, B, drop));
      lstm_recurrence_forward(cache, params.lstm_layers[k]);
    }
  }

  S forward(workspace<S>& ws, const batch_input& in, const dropout_options* drop) const {
    require(in.T > 0 && in.B > 0, "model: a batch needs T > 0 steps and B > 0 sequences");
    forward_layers(ws, in.ids, in.T, in.B, drop, in.first_column);
    lstm_cache<S>& top = ws.caches.back();
    const index N = in.sequence ? in.T * in.B : in.B;
    ws.logits.resize(vocab_size(), N);
    ws.d_logits.resize(vocab_size(), N);
    if (in.sequence) {
      dense_forward(ws.logits, params.dense, top.h.rightCols(N));
    } else {
      dense_forward(ws.logits, params.dense, top.h_at(in.T));
    }
    return softmax_cross_entropy<S>(ws.d_logits, ws.logits, in.targets);
  }
};

}  // namespace charlstm
