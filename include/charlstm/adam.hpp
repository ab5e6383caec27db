// charlstm/adam.hpp: the Adam optimizer with bias correction, PyTorch's semantics
// (torch.optim.Adam, amsgrad off, no weight decay), over a flat buffer.  For step t = 1, 2, ...
//   m     = beta1 * m + (1 - beta1) * g
//   v     = beta2 * v + (1 - beta2) * g^2
//   param = param - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
// which is lr * m_hat / (sqrt(v_hat) + epsilon) computed in PyTorch's order.  Defaults are
// PyTorch's: lr 0.001, betas (0.9, 0.999), eps 1e-8 (Keras's Adam uses eps 1e-7 and puts it
// beside v_hat the same way).  The CLI's default learning rate for Adam is 0.002 (docs/cli.md).
// The state m, v is two scalars per parameter, kept by the caller (model.hpp) so that a
// checkpoint can hold it; t is the model's step count plus one.  Not RMSprop (rmsprop.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "tensor.hpp"

namespace charlstm {

struct adam {
  double lr = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;

  // Update number t (1 for the first) of n parameters from their gradients; m and v are zeros
  // before the first step.  Element-wise, so a buffer may be updated in chunks.
  //   adam{}.step(params.data(), grads.data(), m.data(), v.data(), n, steps + 1);
  // Pitfall: t must count every update since m and v were zero, across resumes.
  template <class S>
  void step(S* params, const S* grads, S* m, S* v, index n, std::int64_t t) const {
    const double correction1 = 1 - std::pow(beta1, static_cast<double>(t));
    const double correction2 = 1 - std::pow(beta2, static_cast<double>(t));
    const S step_size = static_cast<S>(lr / correction1);
    const S sqrt_c2 = static_cast<S>(std::sqrt(correction2));
    const S b1 = static_cast<S>(beta1), b2 = static_cast<S>(beta2), eps = static_cast<S>(epsilon);
    const S keep1 = S(1) - b1, keep2 = S(1) - b2;
    for (index k = 0; k < n; ++k) {
      const S g = grads[k];
      m[k] = b1 * m[k] + keep1 * g;
      v[k] = b2 * v[k] + keep2 * g * g;
      params[k] -= step_size * m[k] / (std::sqrt(v[k]) / sqrt_c2 + eps);
    }
  }

  // Throws unless the hyperparameters are usable.
  void validate() const {
    require(lr > 0 && lr < 1e6,
            "adam: learning rate must be positive and finite, got " + std::to_string(lr));
    require(beta1 >= 0 && beta1 < 1, "adam: beta1 must be in [0, 1), got " + std::to_string(beta1));
    require(beta2 >= 0 && beta2 < 1, "adam: beta2 must be in [0, 1), got " + std::to_string(beta2));
    require(epsilon > 0 && epsilon < 1,
            "adam: epsilon must be in (0, 1), got " + std::to_string(epsilon));
  }
};

}  // namespace charlstm
