// charlstm/rmsprop.hpp: the RMSprop optimizer with Keras's semantics, over a flat buffer.
//   acc   = rho * acc + (1 - rho) * g^2
//   param = param - lr * g / (sqrt(acc) + epsilon)
// Keras (and the book) use rho 0.9, epsilon 1e-7, lr 0.001 by default; the book passes lr 0.01,
// our default.  PyTorch's RMSprop is the same update with alpha = rho, but defaults to
// alpha 0.99 and eps 1e-8: torch.optim.RMSprop(lr=0.01, alpha=0.9, eps=1e-7) matches this.
// TensorFlow's fused kernel puts epsilon inside the square root; Keras's formula, used here,
// does not.  The state `acc` is one scalar per parameter, kept by the caller (model.hpp) so that
// a checkpoint can hold it.
#pragma once

#include "simd.hpp"
#include "tensor.hpp"

namespace charlstm {

struct rmsprop {
  double lr = 0.01;
  double rho = 0.9;
  double epsilon = 1e-7;

  // One update of n parameters from their gradients; acc is the per-parameter state (zeros
  // before the first step).
  //   rmsprop{}.step(params.data(), grads.data(), acc.data(), n);
  template <class S>
  void step(S* params, const S* grads, S* acc, index n) const {
    rmsprop_update(n, params, grads, acc, static_cast<S>(lr), static_cast<S>(rho),
                   static_cast<S>(epsilon));
  }

  // Throws unless the hyperparameters are usable.
  void validate() const {
    require(lr > 0 && lr < 1e6,
            "rmsprop: learning rate must be positive and finite, got " + std::to_string(lr));
    require(rho >= 0 && rho < 1, "rmsprop: rho must be in [0, 1), got " + std::to_string(rho));
    require(epsilon > 0 && epsilon < 1,
            "rmsprop: epsilon must be in (0, 1), got " + std::to_string(epsilon));
  }
};

}  // namespace charlstm
