// charlstm/model.hpp: the book's model, LSTM(H) -> Dense(V) -> softmax, trained with categorical
// cross-entropy and RMSprop.  One train_step is forward, loss, BPTT and one optimizer update on a
// batch of windows; predict gives the next-character distribution of a window; the stateful
// interface feeds one token at a time carrying (h, c).
// Not the training loop (trainer.hpp), not text generation (generate.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dense.hpp"
#include "loss.hpp"
#include "lstm.hpp"
#include "rmsprop.hpp"
#include "tensor.hpp"

namespace charlstm {

// All parameters of the model in one aligned buffer, with named views.  The same type holds the
// gradients and RMSprop's state, so the optimizer, zeroing and checkpoints are one loop over
// `data`.  Copies re-bind the views to their own buffer.
template <class S>
class parameters {
 public:
  index vocab_size, hidden_size;  // V, H
  aligned_buffer<S> data;         // every scalar below, zero-initialised
  lstm_weights<S> lstm;
  dense_weights<S> dense;

  parameters(index V, index H)
      : vocab_size(V),
        hidden_size(H),
        data(checked_size(V, H), S(0)),
        lstm(data.data(), V, H),
        dense(data.data() + lstm_weights<S>::buffer_size(V, H), V, H) {}
  parameters(const parameters& other) : parameters(other.vocab_size, other.hidden_size) {
    data = other.data;
  }
  parameters& operator=(const parameters& other) {
    require(other.vocab_size == vocab_size && other.hidden_size == hidden_size,
            "parameters: cannot assign a model of another shape");
    data = other.data;
    return *this;
  }

  index size() const { return static_cast<index>(data.size()); }
  void set_zero() { std::fill(data.begin(), data.end(), S(0)); }
  // False if any value is NaN or infinite (a diverged model).
  bool all_finite() const {
    return std::all_of(data.begin(), data.end(), [](S v) { return std::isfinite(v); });
  }

  // The tensors by name, in a fixed order, for checkpoints and tests.  Shapes are (rows, cols);
  // a vector has cols 1.  Storage is column-major.
  struct tensor_view {
    std::string name;
    S* data;
    index rows, cols;
  };
  std::vector<tensor_view> tensors() {
    return {{"lstm.w_x", lstm.w_x.data(), lstm.w_x.rows(), lstm.w_x.cols()},
            {"lstm.w_h", lstm.w_h.data(), lstm.w_h.rows(), lstm.w_h.cols()},
            {"lstm.b", lstm.b.data(), lstm.b.rows(), 1},
            {"dense.w", dense.w.data(), dense.w.rows(), dense.w.cols()},
            {"dense.b", dense.b.data(), dense.b.rows(), 1}};
  }

 private:
  static std::size_t checked_size(index V, index H) {
    require(V > 0 && V <= 1'000'000,
            "model: vocabulary size must be in [1, 1000000], got " + std::to_string(V));
    require(H > 0 && H <= 16384,
            "model: hidden size must be in [1, 16384], got " + std::to_string(H));
    return static_cast<std::size_t>(lstm_weights<S>::buffer_size(V, H) +
                                    dense_weights<S>::buffer_size(V, H));
  }
};

// The LSTM state carried from token to token when generating (batch 1), plus its scratch.
template <class S>
struct lstm_state {
  vector<S> h, c;           // (H)
  vector<S> gates, tanh_c;  // scratch (4H), (H)
  vector<S> logits, probs;  // (V)
};

// The state of B streams generated together, one column each (generate_batch), plus scratch.
template <class S>
struct batch_state {
  matrix<S> h, c;           // (H, B)
  matrix<S> gates, tanh_c;  // scratch (4H, B), (H, B)
  matrix<S> logits, probs;  // (V, B)
};

// The buffers one forward/backward of a batch needs, reused from batch to batch.  One per
// thread when training data-parallel (trainer.hpp).
template <class S>
struct workspace {
  lstm_cache<S> cache;
  matrix<S> h0, c0;            // (H, B) zeros: the book starts every window fresh
  matrix<S> logits, d_logits;  // (V, B)
  matrix<S> d_h;               // (H, B)

  // The zero initial state for a batch of B.
  void zero_state(index H, index B) {
    if (h0.cols() != B || h0.rows() != H) {
      h0 = matrix<S>::Zero(H, B);
      c0 = matrix<S>::Zero(H, B);
    }
  }
};

template <class S>
class model {
 public:
  parameters<S> params;
  parameters<S> grads;    // of the last forward_backward
  parameters<S> rms_acc;  // RMSprop's running mean of squared gradients
  rmsprop optimizer;
  std::int64_t steps = 0;  // optimizer updates done

  // A freshly initialised model (Keras initialisers) for V symbols and H hidden units.
  //   model<float> m(vocab.size(), 128, /*seed=*/1);
  model(index V, index H, std::uint64_t seed) : params(V, H), grads(V, H), rms_acc(V, H) {
    std::mt19937_64 engine(seed);
    lstm_init(params.lstm, engine);
    dense_init(params.dense, engine);
  }

  index vocab_size() const { return params.vocab_size; }
  index hidden_size() const { return params.hidden_size; }

  // Mean cross-entropy of predicting targets (B) after the windows ids (T*B, time-major as
  // vectorizer.hpp's gather_batch writes them), from a zero state as the book does.  Sets
  // `grads` to its gradient.  Does not update the parameters.
  S forward_backward(const token_id* ids, const token_id* targets, index T, index B) {
    ws_.zero_state(hidden_size(), B);
    return forward_backward(ws_, grads, ids, targets, T, B, ws_.h0, ws_.c0);
  }
  // The same from the initial state (h0, c0), each (H, B); afterwards d_h0() and d_c0() hold
  // dL/dh0 and dL/dc0.
  S forward_backward(const token_id* ids, const token_id* targets, index T, index B,
                     const_matrix_ref<S> h0, const_matrix_ref<S> c0) {
    return forward_backward(ws_, grads, ids, targets, T, B, h0, c0);
  }
  // The same into a caller's workspace and gradients: reads the parameters only, so threads
  // may run it at once on different batches.
  S forward_backward(workspace<S>& ws, parameters<S>& out_grads, const token_id* ids,
                     const token_id* targets, index T, index B, const_matrix_ref<S> h0,
                     const_matrix_ref<S> c0) const {
    const S loss = forward(ws, ids, targets, T, B, h0, c0);
    out_grads.set_zero();
    ws.d_h.resize(hidden_size(), B);
    dense_backward(out_grads.dense, ws.d_h, ws.d_logits, params.dense, ws.cache.h_at(T));
    lstm_recurrence_backward(out_grads.lstm, ws.cache, params.lstm, ws.d_h, /*last_only=*/true);
    lstm_input_gather_backward(out_grads.lstm, ws.cache, ids);
    return loss;
  }
  // dL/dh0 and dL/dc0, (H, B) each, of the last forward_backward.
  const matrix<S>& d_h0() const { return ws_.cache.d_h; }
  const matrix<S>& d_c0() const { return ws_.cache.d_c; }
  // The logits (V, B) of the last forward.
  const matrix<S>& logits() const { return ws_.logits; }

  // The book's model.fit on one batch: forward, loss, BPTT, one RMSprop update.  Returns the
  // loss before the update.
  //   float loss = m.train_step(ids.data(), targets.data(), 60, 128);
  S train_step(const token_id* ids, const token_id* targets, index T, index B) {
    const S loss = forward_backward(ids, targets, T, B);
    apply_gradients();
    return loss;
  }
  // One RMSprop update from `grads`.
  void apply_gradients() {
    optimizer.step(params.data.data(), grads.data.data(), rms_acc.data.data(), params.size());
    ++steps;
  }

  // The loss alone, as forward_backward computes it.
  S loss(const token_id* ids, const token_id* targets, index T, index B) {
    return loss(ws_, ids, targets, T, B);
  }
  // The same in a caller's workspace (thread-safe like forward_backward).
  S loss(workspace<S>& ws, const token_id* ids, const token_id* targets, index T, index B) const {
    ws.zero_state(hidden_size(), B);
    return forward(ws, ids, targets, T, B, ws.h0, ws.c0);
  }

  // The next-token distribution after the window ids[0..T) (model.predict in the book).
  std::vector<double> predict(const token_id* ids, index T) {
    require(T > 0, "predict: empty window");
    ws_.zero_state(hidden_size(), 1);
    lstm_forward(ws_.cache, params.lstm, ids, T, 1, ws_.h0, ws_.c0);
    ws_.logits.resize(vocab_size(), 1);
    dense_forward(ws_.logits, params.dense, ws_.cache.h_at(T));
    vector<S> probs(vocab_size());
    softmax<S>(probs, ws_.logits.col(0));
    return std::vector<double>(probs.data(), probs.data() + probs.size());
  }

  // Stateful generation: a zero state, then one token at a time.
  //   lstm_state<float> s = m.initial_state();  m.feed(s, id);  auto p = m.probabilities(s);
  lstm_state<S> initial_state() const {
    lstm_state<S> s;
    s.h = vector<S>::Zero(hidden_size());
    s.c = vector<S>::Zero(hidden_size());
    return s;
  }
  void feed(lstm_state<S>& s, token_id id) const {
    lstm_step(s.h, s.c, s.gates, s.tanh_c, params.lstm, id);
  }
  // The next-token distribution after the tokens fed so far.
  std::vector<double> probabilities(lstm_state<S>& s) const {
    s.logits.resize(vocab_size());
    s.probs.resize(vocab_size());
    s.logits.noalias() = params.dense.w * s.h;
    s.logits += params.dense.b;
    softmax<S>(s.probs, s.logits);
    return std::vector<double>(s.probs.data(), s.probs.data() + s.probs.size());
  }

  // The stateful interface for B streams at once: one batched step feeds ids[0..B), one per
  // stream; batch_probabilities gives the (V, B) next-token distributions.  Column b equals the
  // single-stream interface fed stream b's tokens.
  //   batch_state<float> s = m.initial_batch_state(4);  m.feed_batch(s, ids);
  batch_state<S> initial_batch_state(index B) const {
    require(B >= 1, "initial_batch_state: need at least one stream");
    batch_state<S> s;
    s.h = matrix<S>::Zero(hidden_size(), B);
    s.c = matrix<S>::Zero(hidden_size(), B);
    return s;
  }
  void feed_batch(batch_state<S>& s, const token_id* ids) const {
    lstm_step_batch(s.h, s.c, s.gates, s.tanh_c, params.lstm, ids);
  }
  const matrix<S>& batch_probabilities(batch_state<S>& s) const {
    const index B = s.h.cols();
    s.logits.resize(vocab_size(), B);
    s.probs.resize(vocab_size(), B);
    s.logits.noalias() = params.dense.w * s.h;
    s.logits.colwise() += params.dense.b;
    for (index b = 0; b < B; ++b) softmax<S>(s.probs.col(b), s.logits.col(b));
    return s.probs;
  }

 private:
  workspace<S> ws_;

  S forward(workspace<S>& ws, const token_id* ids, const token_id* targets, index T, index B,
            const_matrix_ref<S> h0, const_matrix_ref<S> c0) const {
    require(T > 0 && B > 0, "model: a batch needs T > 0 steps and B > 0 sequences");
    lstm_forward(ws.cache, params.lstm, ids, T, B, h0, c0);
    ws.logits.resize(vocab_size(), B);
    ws.d_logits.resize(vocab_size(), B);
    dense_forward(ws.logits, params.dense, ws.cache.h_at(T));
    return softmax_cross_entropy<S>(ws.d_logits, ws.logits, targets);
  }
};

}  // namespace charlstm
