// charlstm/loss.hpp: softmax cross-entropy computed from logits in one fused pass, and the
// softmax alone for prediction.  Uses log-sum-exp with the maximum factored out, so any finite
// logits give a finite loss (Keras's categorical_crossentropy on softmax outputs clips instead).
#pragma once

#include <string>

#include "simd.hpp"
#include "tensor.hpp"

namespace charlstm {

// Mean over the N columns of -log softmax(logits)[:, n][targets[n]], for logits (V, N).
// Writes d_logits (V, N) = (softmax - onehot(targets)) / N, the gradient of that mean.
//   S loss = softmax_cross_entropy(d_logits, logits, targets);
// Pitfall: the mean is over columns; a caller summing several calls must rescale.
template <class S>
S softmax_cross_entropy(matrix_ref<S> d_logits, const_matrix_ref<S> logits,
                        const token_id* targets) {
  const index V = logits.rows(), N = logits.cols();
  require_shape(d_logits, V, N, "softmax_cross_entropy d_logits");
  for (index n = 0; n < N; ++n) {
    if (!(targets[n] >= 0 && targets[n] < V)) {
      throw error("softmax_cross_entropy: target " + std::to_string(targets[n]) + " at column " +
                  std::to_string(n) + " outside [0, " + std::to_string(V) + ")");
    }
  }
  const S scale = S(1) / static_cast<S>(N);
  return softmax_cross_entropy(V, N, logits.data(), targets, scale, d_logits.data()) * scale;
}

// probs (V) = softmax(logits (V)).
template <class S>
void softmax(vector_ref<S> probs, const_vector_ref<S> logits) {
  const S lse = log_sum_exp(logits.size(), logits.data());
  probs = (logits.array() - lse).exp().matrix();
}

}  // namespace charlstm
