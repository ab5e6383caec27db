// charlstm/lstm.hpp: one LSTM layer, forward over T steps of B sequences, backward through time,
// and its Keras initialisation (the initialisers are init.hpp's).  Not the model: the dense
// layer, the loss and the optimizer live in their own headers and model.hpp composes them.
//
// Equations, for step t = 1..T, with x_t the input (a one-hot token or a dense vector):
//   z_t = W_x x_t + W_h h_{t-1} + b                     (4H, B), rows [i; f; g; o]
//   i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
//   c_t = f * c_{t-1} + i * g                           (H, B)
//   h_t = o * tanh(c_t)                                 (H, B)
// Gate order [i; f; g; o] is PyTorch's (weight_ih_l0, weight_hh_l0) and Keras's (kernel columns).
// PyTorch has two biases, b_ih + b_hh; here there is one, b = b_ih + b_hh.
// Initialisation is Keras's LSTM default: Glorot-uniform W_x, orthogonal W_h, b = 0 except the
// forget gate's b_f = 1 (unit_forget_bias).
//
// For a one-hot input W_x x_t is column x_t of W_x: the input product is a gather, done by each
// step just before its product (lstm_forward), so the gathered columns are still in cache.  W_h
// is packed once per forward and W_h^T once per backward for the T step products (gemm_packed);
// dW_h and db are accumulated by each backward step while dz_t is in cache.  The one-stream
// steps of generation (lstm_step, lstm_step_dense) are, when given packed_step_weights, one fused
// kernel (gemv.hpp's lstm_step_fused: the products and the cell on the same registers, the bits
// of lstm_step_batch's column); given none, matrix-vector products over the weights as stored.
//
// Memory of the cache (see lstm_cache): scalars = T*B*(4H [gates] + 4H [d_gates] + H [tanh c])
//   + (T+1)*B*2H [h, c with the initial state in slot 0] + 3*H*B [d_h, d_c, d_h sum]
//   + 4H*H [W_h packed for the step products].
// For the book (T 60, B 128, H 128) that is 44 MB in float; a forward-only cache (validation)
// has no d_gates: 28 MB.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "gemm.hpp"
#include "gemv.hpp"
#include "init.hpp"
#include "simd.hpp"
#include "tensor.hpp"

namespace charlstm {

// Views of one layer's parameters inside a buffer it does not own (see model.hpp).  The same
// type holds the gradients and the optimizer state.
template <class S>
struct lstm_weights {
  matrix_map<S> w_x;  // (4H, V)  input kernel
  matrix_map<S> w_h;  // (4H, H)  recurrent kernel
  vector_map<S> b;    // (4H)     bias

  // Scalars one layer takes in a buffer, padding included.
  static index buffer_size(index V, index H) {
    return padded_size(4 * H * V) + padded_size(4 * H * H) + padded_size(4 * H);
  }
  // Views `data`, which holds buffer_size(V, H) scalars and is aligned.
  lstm_weights(S* data, index V, index H)
      : w_x(data, 4 * H, V),
        w_h(data + padded_size(4 * H * V), 4 * H, H),
        b(data + padded_size(4 * H * V) + padded_size(4 * H * H), 4 * H) {}

  index input_size() const { return w_x.cols(); }
  index hidden_size() const { return w_h.cols(); }
};

// Keras's LSTM initialisation of `w`.
//   std::mt19937_64 engine(seed);  lstm_init(weights, engine);
template <class S, class Engine>
void lstm_init(lstm_weights<S>& w, Engine& engine) {
  const index H = w.hidden_size(), V = w.input_size();
  glorot_uniform<S>(w.w_x, V, 4 * H, engine);
  orthogonal<S>(w.w_h, engine);
  w.b.setZero();
  w.b.segment(H, H).setOnes();
}

// What backward needs from forward, for T steps of B sequences.  Slot 0 of h and c holds the
// initial state, so step t reads slot t and writes slot t+1 and backward never special-cases
// the first step.  Stored: gate activations, c, h, tanh(c).  Nothing is recomputed.
template <class S>
struct lstm_cache {
  index T = 0, B = 0, H = 0;
  matrix<S> gates;    // (4H, T*B)      activations [i; f; g; o]; step t in cols [t*B, (t+1)*B)
  matrix<S> c;        // (H, (T+1)*B)   slot 0 = c_0
  matrix<S> h;        // (H, (T+1)*B)   slot 0 = h_0
  matrix<S> tanh_c;   // (H, T*B)
  matrix<S> d_gates;  // (4H, T*B)      backward: dL/dz (sized by the backward: a forward-only
                      //                cache, as for validation, never holds it)
  matrix<S> d_h;      // (H, B)         backward: dL/dh_t from step t+1
  matrix<S> d_c;      // (H, B)         backward: dL/dc_t
  matrix<S> d_h_sum;  // (H, B)         backward: d_h plus what flows in from above
  aligned_buffer<S> packed_w;  // W_h (forward) or W_h^T (backward) packed once for gemm_packed

  // Sizes the forward's buffers; allocates only when a shape changes.
  void resize(index steps, index batch, index hidden) {
    if (steps == T && batch == B && hidden == H) return;
    T = steps, B = batch, H = hidden;
    gates.resize(4 * H, T * B);
    d_gates.resize(0, 0);
    c.resize(H, (T + 1) * B);
    h.resize(H, (T + 1) * B);
    tanh_c.resize(H, T * B);
    d_h.resize(H, B);
    d_c.resize(H, B);
    d_h_sum.resize(H, B);
  }
  // h_t and c_t for t = 0..T (t = 0 is the initial state), (H, B) each.
  using cols = typename matrix<S>::ColsBlockXpr;
  cols h_at(index t) { return h.middleCols(t * B, B); }
  cols c_at(index t) { return c.middleCols(t * B, B); }
};

namespace lstm_detail {

// Throws unless every one of the n ids is in [0, V).
inline void check_ids(const token_id* ids, index n, index V) {
  for (index k = 0; k < n; ++k) {
    if (!(ids[k] >= 0 && ids[k] < V)) {
      throw error("lstm: token id " + std::to_string(ids[k]) + " at position " + std::to_string(k) +
                  " outside the vocabulary [0, " + std::to_string(V) + ")");
    }
  }
}

// gates(:, k) = w_x(:, ids[k]) + b for the columns [first, first + n).
template <class S>
void gather_columns(lstm_cache<S>& cache, const lstm_weights<S>& w, const token_id* ids,
                    index first, index n) {
  for (index k = first; k < first + n; ++k) cache.gates.col(k).noalias() = w.w_x.col(ids[k]) + w.b;
}

// The recurrence from slot 0 of cache.h and cache.c.  With ids, step t first gathers its own
// input columns, so that they are still in cache when its product and cell read them (gathering
// all T steps first writes 16 MB for the book's batch that the recurrence then reads back).
template <class S>
void recurrence_forward(lstm_cache<S>& cache, const lstm_weights<S>& w, const token_id* ids) {
  const index B = cache.B, H = cache.H;
  // W_h is packed once here and reused by all T step products (z_t += W_h h_{t-1}).
  cache.packed_w.resize(static_cast<std::size_t>(gemm_packed_size<S>(4 * H, H)));
  gemm_pack(4 * H, H, w.w_h.data(), 1, 4 * H, cache.packed_w.data());
  for (index t = 0; t < cache.T; ++t) {
    if (ids != nullptr) gather_columns(cache, w, ids, t * B, B);
    typename lstm_cache<S>::cols z = cache.gates.middleCols(t * B, B);
    gemm_packed(4 * H, B, H, cache.packed_w.data(), cache.h_at(t).data(), 1, H, z.data(), 4 * H,
                /*accumulate=*/true);
    lstm_cell_forward(H, B, z.data(), cache.c_at(t).data(), cache.c_at(t + 1).data(),
                      cache.tanh_c.middleCols(t * B, B).data(), cache.h_at(t + 1).data());
  }
}

}  // namespace lstm_detail

// Input projection for one-hot tokens: gates(:, k) = w_x(:, ids[k]) + b for all T*B columns.
// ids: T*B token ids, time-major (ids[t*B + b]).  Call before lstm_recurrence_forward.
// (lstm_forward does the same step by step.)
template <class S>
void lstm_input_gather(lstm_cache<S>& cache, const lstm_weights<S>& w, const token_id* ids) {
  lstm_detail::check_ids(ids, cache.T * cache.B, w.input_size());
  lstm_detail::gather_columns(cache, w, ids, 0, cache.T * cache.B);
}

// Input projection for dense input x (V, T*B): gates = w_x x + b.
template <class S>
void lstm_input_dense(lstm_cache<S>& cache, const lstm_weights<S>& w, const_matrix_ref<S> x) {
  require_shape(x, w.input_size(), cache.T * cache.B, "lstm input x");
  cache.gates.noalias() = w.w_x * x;
  cache.gates.colwise() += w.b;
}

// The recurrence, after an input projection, from the initial state in slot 0 of cache.h and
// cache.c.  Leaves h_t, c_t in slots 1..T.
template <class S>
void lstm_recurrence_forward(lstm_cache<S>& cache, const lstm_weights<S>& w) {
  lstm_detail::recurrence_forward(cache, w, static_cast<const token_id*>(nullptr));
}

// Forward over T steps of B one-hot sequences from state (h0, c0), each (H, B).
//   lstm_forward(cache, w, ids, T, B, h0, c0);   // h_T is cache.h_at(T)
template <class S>
void lstm_forward(lstm_cache<S>& cache, const lstm_weights<S>& w, const token_id* ids, index T,
                  index B, const_matrix_ref<S> h0, const_matrix_ref<S> c0) {
  const index H = w.hidden_size();
  require_shape(h0, H, B, "lstm initial h");
  require_shape(c0, H, B, "lstm initial c");
  cache.resize(T, B, H);
  cache.h_at(0) = h0;
  cache.c_at(0) = c0;
  lstm_detail::check_ids(ids, T * B, w.input_size());
  lstm_detail::recurrence_forward(cache, w, ids);
}

// Backward through time of the recurrence.  d_h_top (H, T*B) is dL/dh_t from above the layer
// for every step; or, when `last_only` is true, d_h_top is (H, B), dL/dh_T, and the other steps
// receive nothing from above (the book's window model).  d_c_last (H, B) is dL/dc_T from beyond
// the sequence (zero for a loss inside it).  Adds into grads.w_h and grads.b; leaves dL/dz in
// cache.d_gates and dL/dh_0, dL/dc_0 in cache.d_h and cache.d_c.  Call an input backward next.
template <class S>
void lstm_recurrence_backward(lstm_weights<S>& grads, lstm_cache<S>& cache,
                              const lstm_weights<S>& w, const_matrix_ref<S> d_h_top,
                              bool last_only) {
  const index T = cache.T, B = cache.B, H = cache.H;
  require_shape(d_h_top, H, last_only ? B : T * B, "lstm d_h from above");
  if (cache.d_gates.rows() != 4 * H || cache.d_gates.cols() != T * B) {
    cache.d_gates.resize(4 * H, T * B);
  }
  cache.d_h.setZero();
  cache.d_c.setZero();
  // W_h^T (H, 4H) is packed once here for the T step products d_h = W_h^T dz_t.
  cache.packed_w.resize(static_cast<std::size_t>(gemm_packed_size<S>(H, 4 * H)));
  gemm_pack(H, 4 * H, w.w_h.data(), 4 * H, 1, cache.packed_w.data());
  for (index t = T - 1; t >= 0; --t) {
    const S* d_h = cache.d_h.data();
    if (!last_only) {
      cache.d_h_sum.noalias() = cache.d_h + d_h_top.middleCols(t * B, B);
      d_h = cache.d_h_sum.data();
    } else if (t == T - 1) {
      cache.d_h_sum.noalias() = cache.d_h + d_h_top;
      d_h = cache.d_h_sum.data();
    }
    typename lstm_cache<S>::cols d_z = cache.d_gates.middleCols(t * B, B);
    lstm_cell_backward(H, B, cache.gates.middleCols(t * B, B).data(), cache.c_at(t).data(),
                       cache.tanh_c.middleCols(t * B, B).data(), d_h, cache.d_c.data(), d_z.data());
    // The weight gradients of this step while dz_t is still in cache:
    // dW_h += dz_t h_{t-1}^T, (4H, B) x (B, H), and db += the row sums of dz_t.
    gemm(4 * H, H, B, d_z.data(), 4 * H, cache.h_at(t).data(), /*b_rs=*/H, /*b_cs=*/1,
         grads.w_h.data(), 4 * H, /*accumulate=*/true);
    grads.b.noalias() += d_z.rowwise().sum();
    gemm_packed(H, B, 4 * H, cache.packed_w.data(), d_z.data(), 1, 4 * H, cache.d_h.data(), H,
                /*accumulate=*/false);
  }
}

// Input backward for one-hot tokens: grads.w_x(:, ids[k]) += d_gates(:, k).
template <class S>
void lstm_input_gather_backward(lstm_weights<S>& grads, const lstm_cache<S>& cache,
                                const token_id* ids) {
  for (index k = 0; k < cache.T * cache.B; ++k) grads.w_x.col(ids[k]) += cache.d_gates.col(k);
}

// Input backward for dense input x (V, T*B): grads.w_x += d_gates x^T; d_x = w_x^T d_gates.
template <class S>
void lstm_input_dense_backward(lstm_weights<S>& grads, matrix_ref<S> d_x,
                               const lstm_cache<S>& cache, const lstm_weights<S>& w,
                               const_matrix_ref<S> x) {
  require_shape(d_x, w.input_size(), cache.T * cache.B, "lstm d_x");
  grads.w_x.noalias() += cache.d_gates * x.transpose();
  d_x.noalias() = w.w_x.transpose() * cache.d_gates;
}

// A layer's recurrent kernel W_h, and for a layer above the first its input kernel W_x, packed
// for lstm_step_fused (step_pack): what the one-stream steps below read when given one
// (generation reads them at every token; lstm_state and batch_state hold one per layer).  A
// snapshot: pack again after the weights change.
template <class S>
struct packed_step_weights {
  aligned_buffer<S> w_h, w_x;  // w_x stays empty for a one-hot input (its product is a gather)

  packed_step_weights() = default;
  packed_step_weights(const lstm_weights<S>& w, bool dense_input) {
    const index H = w.hidden_size(), V = w.input_size();
    w_h.resize(static_cast<std::size_t>(step_packed_size<S>(H, H)));
    step_pack(H, H, w.w_h.data(), 4 * H, w_h.data());
    if (dense_input) {
      w_x.resize(static_cast<std::size_t>(step_packed_size<S>(H, V)));
      step_pack(H, V, w.w_x.data(), 4 * H, w_x.data());
    }
  }
};

// One step for generation: (h, c) -> (h', c') on token `id`, B = 1, carried by the caller.
// `gates` (4H) and `tanh_c` (H; 2H with `packed`) are scratch.  Equal to lstm_forward over the
// same tokens within rounding.  With `packed` (from the same weights) the step is
// lstm_step_fused over it, and its bits are those of lstm_step_batch's column (gemm's order).
template <class S>
void lstm_step(vector_ref<S> h, vector_ref<S> c, vector<S>& gates, vector<S>& tanh_c,
               const lstm_weights<S>& w, token_id id,
               const packed_step_weights<S>* packed = nullptr) {
  const index H = w.hidden_size();
  if (!(id >= 0 && id < w.input_size())) {
    throw error("lstm_step: token id " + std::to_string(id) + " outside the vocabulary");
  }
  gates.resize(4 * H);
  gates.noalias() = w.w_x.col(id) + w.b;
  if (packed) {
    // tanh_c's second half keeps h_prev: the fused step reads all of it while it writes h.
    tanh_c.resize(2 * H);
    std::copy(h.data(), h.data() + H, tanh_c.data() + H);
    lstm_step_fused(H, gates.data(), static_cast<const S*>(nullptr), index{0},
                    static_cast<const S*>(nullptr), packed->w_h.data(), tanh_c.data() + H, c.data(),
                    tanh_c.data(), h.data());
    return;
  }
  tanh_c.resize(H);
  gemv(4 * H, H, w.w_h.data(), 4 * H, h.data(), gates.data(), true);
  // c and h are updated in place: each unit reads c_prev[k] before writing c[k], and h_prev is
  // no longer needed once the product above has read it.
  lstm_cell_forward(H, index{1}, gates.data(), c.data(), c.data(), tanh_c.data(), h.data());
}

// The same step for B streams at once (generation of several samples as one batch): h, c (H, B)
// are carried by the caller, ids[0..B) is each stream's token, `gates` (4H, B) and `tanh_c`
// (H, B) are scratch.  Column b equals lstm_step on stream b alone within rounding, and is the
// same bits whatever B and whichever column the stream is in: gemm sums each column in k order
// and the cell works column by column, so streams may join and leave a batch
// (batch_generator.hpp) without changing each other's text.
//   lstm_step_batch(h, c, gates, tanh_c, w, ids.data());
template <class S>
void lstm_step_batch(matrix<S>& h, matrix<S>& c, matrix<S>& gates, matrix<S>& tanh_c,
                     const lstm_weights<S>& w, const token_id* ids) {
  const index H = w.hidden_size(), B = h.cols();
  require_shape(h, H, B, "lstm_step_batch h");
  require_shape(c, H, B, "lstm_step_batch c");
  gates.resize(4 * H, B);
  tanh_c.resize(H, B);
  for (index b = 0; b < B; ++b) {
    if (!(ids[b] >= 0 && ids[b] < w.input_size())) {
      throw error("lstm_step_batch: token id " + std::to_string(ids[b]) + " of stream " +
                  std::to_string(b) + " outside the vocabulary");
    }
    gates.col(b).noalias() = w.w_x.col(ids[b]) + w.b;
  }
  gemm(4 * H, B, H, w.w_h.data(), 4 * H, h.data(), 1, H, gates.data(), 4 * H, true);
  // In place as lstm_step: every unit reads c_prev before writing c at the same position.
  lstm_cell_forward(H, B, gates.data(), c.data(), c.data(), tanh_c.data(), h.data());
}

// The same step for a dense input x (V): a layer above the first in a stack, fed the layer
// below's h.  `x` must not alias `h`.  With `packed`: lstm_step_fused, W_x's products first.
template <class S>
void lstm_step_dense(vector_ref<S> h, vector_ref<S> c, vector<S>& gates, vector<S>& tanh_c,
                     const lstm_weights<S>& w, const_vector_ref<S> x,
                     const packed_step_weights<S>* packed = nullptr) {
  const index H = w.hidden_size();
  require_shape(x, w.input_size(), 1, "lstm_step_dense input");
  gates.resize(4 * H);
  gates = w.b;
  if (packed) {
    tanh_c.resize(2 * H);
    std::copy(h.data(), h.data() + H, tanh_c.data() + H);
    lstm_step_fused(H, gates.data(), packed->w_x.data(), w.input_size(), x.data(),
                    packed->w_h.data(), tanh_c.data() + H, c.data(), tanh_c.data(), h.data());
    return;
  }
  tanh_c.resize(H);
  gemv(4 * H, w.input_size(), w.w_x.data(), 4 * H, x.data(), gates.data(), true);
  gemv(4 * H, H, w.w_h.data(), 4 * H, h.data(), gates.data(), true);
  lstm_cell_forward(H, index{1}, gates.data(), c.data(), c.data(), tanh_c.data(), h.data());
}

// The batch step for a dense input x (V, B), as lstm_step_dense for B streams: a layer above
// the first in a stack.  `x` must not alias `h`.
template <class S>
void lstm_step_batch_dense(matrix<S>& h, matrix<S>& c, matrix<S>& gates, matrix<S>& tanh_c,
                           const lstm_weights<S>& w, const matrix<S>& x) {
  const index H = w.hidden_size(), B = h.cols();
  require_shape(h, H, B, "lstm_step_batch_dense h");
  require_shape(c, H, B, "lstm_step_batch_dense c");
  require_shape(x, w.input_size(), B, "lstm_step_batch_dense input");
  gates.resize(4 * H, B);
  tanh_c.resize(H, B);
  gates.colwise() = w.b;
  gemm(4 * H, B, w.input_size(), w.w_x.data(), 4 * H, x.data(), 1, w.input_size(), gates.data(),
       4 * H, true);
  gemm(4 * H, B, H, w.w_h.data(), 4 * H, h.data(), 1, H, gates.data(), 4 * H, true);
  lstm_cell_forward(H, B, gates.data(), c.data(), c.data(), tanh_c.data(), h.data());
}

}  // namespace charlstm
