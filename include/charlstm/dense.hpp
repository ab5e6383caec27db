// charlstm/dense.hpp: the dense (fully connected) layer, logits = W h + b.  The softmax is not
// here: it is fused with the cross-entropy in loss.hpp, and applied separately for sampling.
#pragma once

#include "init.hpp"
#include "tensor.hpp"

namespace charlstm {

// Views of the layer's parameters inside a buffer it does not own; also holds gradients and
// optimizer state.
template <class S>
struct dense_weights {
  matrix_map<S> w;  // (V, H)
  vector_map<S> b;  // (V)

  static index buffer_size(index V, index H) { return padded_size(V * H) + padded_size(V); }
  dense_weights(S* data, index V, index H) : w(data, V, H), b(data + padded_size(V * H), V) {}

  index output_size() const { return w.rows(); }
  index input_size() const { return w.cols(); }
};

// Keras's Dense default: Glorot-uniform kernel, zero bias.
template <class S, class Engine>
void dense_init(dense_weights<S>& d, Engine& engine) {
  glorot_uniform<S>(d.w, d.input_size(), d.output_size(), engine);
  d.b.setZero();
}

// logits (V, N) = w x + b for x (H, N).
//   dense_forward(logits, weights, h);
template <class S>
void dense_forward(matrix_ref<S> logits, const dense_weights<S>& d, const_matrix_ref<S> x) {
  require_shape(x, d.input_size(), x.cols(), "dense input");
  require_shape(logits, d.output_size(), x.cols(), "dense output");
  logits.noalias() = d.w * x;
  logits.colwise() += d.b;
}

// Adds dL/dw, dL/db into grads; writes d_x (H, N) = w^T d_logits.
template <class S>
void dense_backward(dense_weights<S>& grads, matrix_ref<S> d_x, const_matrix_ref<S> d_logits,
                    const dense_weights<S>& d, const_matrix_ref<S> x) {
  require_shape(d_logits, d.output_size(), x.cols(), "dense d_logits");
  require_shape(d_x, d.input_size(), x.cols(), "dense d_x");
  grads.w.noalias() += d_logits * x.transpose();
  grads.b.noalias() += d_logits.rowwise().sum();
  d_x.noalias() = d.w.transpose() * d_logits;
}

}  // namespace charlstm
