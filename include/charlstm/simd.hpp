// charlstm/simd.hpp: the fused elementwise kernels, written with xsimd, each with a scalar twin:
// the loops that would otherwise make one pass per operation over the gates, the cell, the
// softmax and the optimizer state.  Not the matrix products: Eigen does most of them, gemm.hpp
// and gemv.hpp the few it does slowly.
//
// Every kernel is a free function on raw column-major arrays (shapes in the comments, see
// tensor.hpp), templated on `Arch` (default: the best instruction set this translation unit is
// compiled for).  The vector body uses unaligned loads; the tail runs the same formula in scalar
// code.  `scalar::` holds the reference twins the tests compare against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "config.hpp"

namespace charlstm {

// The scalar twins: the formulas, one element at a time.
namespace scalar {

template <class S>
S sigmoid(S x) {
  return S(1) / (S(1) + std::exp(-x));
}

// One unit j of one column: z points at the column's 4H gates, k = b*H + j indexes the state.
template <class S>
void lstm_cell_forward_unit(index H, S* z, index j, const S* c_prev, S* c, S* tanh_c, S* h,
                            index k) {
  const S i = sigmoid(z[j]), f = sigmoid(z[H + j]), g = std::tanh(z[2 * H + j]),
          o = sigmoid(z[3 * H + j]);
  z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o;
  c[k] = f * c_prev[k] + i * g;
  tanh_c[k] = std::tanh(c[k]);
  h[k] = o * tanh_c[k];
}

// LSTM cell, forward, for B columns of H units.
//   gates (4H, B): in, the pre-activations z = W_x x + W_h h + b, rows [i; f; g; o];
//                  out, the activations [sigmoid(i); sigmoid(f); tanh(g); sigmoid(o)].
//   c_prev (H, B) in;  c, tanh_c, h (H, B) out:  c = f*c_prev + i*g,  h = o*tanh(c).
template <class S>
void lstm_cell_forward(index H, index B, S* gates, const S* c_prev, S* c, S* tanh_c, S* h) {
  for (index b = 0; b < B; ++b) {
    for (index j = 0; j < H; ++j)
      lstm_cell_forward_unit(H, gates + b * 4 * H, j, c_prev, c, tanh_c, h, b * H + j);
  }
}

// One unit j of one column: a and dz point at the column's 4H gates, k = b*H + j.
template <class S>
void lstm_cell_backward_unit(index H, const S* a, index j, const S* c_prev, const S* tanh_c,
                             const S* d_h, S* d_c, S* dz, index k) {
  const S i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], th = tanh_c[k];
  const S dc = d_h[k] * o * (S(1) - th * th) + d_c[k];
  dz[j] = dc * g * i * (S(1) - i);
  dz[H + j] = dc * c_prev[k] * f * (S(1) - f);
  dz[2 * H + j] = dc * i * (S(1) - g * g);
  dz[3 * H + j] = d_h[k] * th * o * (S(1) - o);
  d_c[k] = dc * f;
}

// LSTM cell, backward, for B columns of H units.
//   gates (4H, B), c_prev, tanh_c (H, B): what the forward stored for this step.
//   d_h (H, B): dL/dh_t, everything that flows into h_t.
//   d_c (H, B): in, dL/dc_t from step t+1;  out, dL/dc_{t-1}.
//   d_gates (4H, B) out: dL/dz_t, the gradient of the pre-activations.
template <class S>
void lstm_cell_backward(index H, index B, const S* gates, const S* c_prev, const S* tanh_c,
                        const S* d_h, S* d_c, S* d_gates) {
  for (index b = 0; b < B; ++b) {
    for (index j = 0; j < H; ++j) {
      lstm_cell_backward_unit(H, gates + b * 4 * H, j, c_prev, tanh_c, d_h, d_c,
                              d_gates + b * 4 * H, b * H + j);
    }
  }
}

// log(sum(exp(x))) of n values, stable for any finite x (the maximum is factored out).
template <class S>
S log_sum_exp(index n, const S* x) {
  const S m = *std::max_element(x, x + n);
  S sum = 0;
  for (index j = 0; j < n; ++j) sum += std::exp(x[j] - m);
  return m + std::log(sum);
}

// Softmax cross-entropy from logits, fused, for B columns of V classes.
//   logits (V, B) in;  targets (B) in;  d_logits (V, B) out = scale * (softmax - onehot(target)).
// Returns the sum over columns of -log softmax(logits)[target].
template <class S>
S softmax_cross_entropy(index V, index B, const S* logits, const token_id* targets, S scale,
                        S* d_logits) {
  S total = 0;
  for (index b = 0; b < B; ++b) {
    const S* x = logits + b * V;
    S* d = d_logits + b * V;
    const S lse = log_sum_exp(V, x);
    for (index j = 0; j < V; ++j) d[j] = scale * std::exp(x[j] - lse);
    d[targets[b]] -= scale;
    total += lse - x[targets[b]];
  }
  return total;
}

// RMSprop update, Keras semantics (see rmsprop.hpp):
//   acc = rho*acc + (1-rho)*g^2;  param -= lr * g / (sqrt(acc) + eps).
template <class S>
void rmsprop_update(index n, S* param, const S* grad, S* acc, S lr, S rho, S eps) {
  for (index k = 0; k < n; ++k) {
    acc[k] = std::fma(rho, acc[k], (S(1) - rho) * grad[k] * grad[k]);  // as the vector body
    param[k] -= lr * grad[k] / (std::sqrt(acc[k]) + eps);
  }
}

// Shifted, scaled exponential in place: x = exp((x - shift) / divisor).  The sampler's softmax
// at a temperature: shift = the largest logit, divisor = the temperature.
template <class S>
void exp_shifted(index n, S* x, S shift, S divisor) {
  for (index k = 0; k < n; ++k) x[k] = std::exp((x[k] - shift) / divisor);
}

}  // namespace scalar

namespace simd_detail {

template <class Batch>
Batch sigmoid(const Batch& x) {
  using S = typename Batch::value_type;
  return Batch(S(1)) / (Batch(S(1)) + xsimd::exp(-x));
}

}  // namespace simd_detail

// Vector twin of scalar::lstm_cell_forward.
template <class Arch = xsimd::default_arch, class S>
void lstm_cell_forward(index H, index B, S* gates, const S* c_prev, S* c, S* tanh_c, S* h) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  const index vec_end = H - H % W;
  for (index b = 0; b < B; ++b) {
    S* z = gates + b * 4 * H;
    const index col = b * H;
    for (index j = 0; j < vec_end; j += W) {
      const batch i = simd_detail::sigmoid(batch::load_unaligned(z + j));
      const batch f = simd_detail::sigmoid(batch::load_unaligned(z + H + j));
      const batch g = xsimd::tanh(batch::load_unaligned(z + 2 * H + j));
      const batch o = simd_detail::sigmoid(batch::load_unaligned(z + 3 * H + j));
      i.store_unaligned(z + j);
      f.store_unaligned(z + H + j);
      g.store_unaligned(z + 2 * H + j);
      o.store_unaligned(z + 3 * H + j);
      const batch cn = xsimd::fma(f, batch::load_unaligned(c_prev + col + j), i * g);
      const batch th = xsimd::tanh(cn);
      cn.store_unaligned(c + col + j);
      th.store_unaligned(tanh_c + col + j);
      (o * th).store_unaligned(h + col + j);
    }
    for (index j = vec_end; j < H; ++j) {
      scalar::lstm_cell_forward_unit(H, z, j, c_prev, c, tanh_c, h, col + j);
    }
  }
}

// Vector twin of scalar::lstm_cell_backward.
template <class Arch = xsimd::default_arch, class S>
void lstm_cell_backward(index H, index B, const S* gates, const S* c_prev, const S* tanh_c,
                        const S* d_h, S* d_c, S* d_gates) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  const index vec_end = H - H % W;
  const batch one(S(1));
  for (index b = 0; b < B; ++b) {
    const S* a = gates + b * 4 * H;
    S* dz = d_gates + b * 4 * H;
    const index col = b * H;
    for (index j = 0; j < vec_end; j += W) {
      const batch i = batch::load_unaligned(a + j), f = batch::load_unaligned(a + H + j),
                  g = batch::load_unaligned(a + 2 * H + j),
                  o = batch::load_unaligned(a + 3 * H + j);
      const batch th = batch::load_unaligned(tanh_c + col + j);
      const batch dh = batch::load_unaligned(d_h + col + j);
      const batch dc = xsimd::fma(dh * o, one - th * th, batch::load_unaligned(d_c + col + j));
      (dc * g * i * (one - i)).store_unaligned(dz + j);
      (dc * batch::load_unaligned(c_prev + col + j) * f * (one - f)).store_unaligned(dz + H + j);
      (dc * i * (one - g * g)).store_unaligned(dz + 2 * H + j);
      (dh * th * o * (one - o)).store_unaligned(dz + 3 * H + j);
      (dc * f).store_unaligned(d_c + col + j);
    }
    for (index j = vec_end; j < H; ++j) {
      scalar::lstm_cell_backward_unit(H, a, j, c_prev, tanh_c, d_h, d_c, dz, col + j);
    }
  }
}

// Vector twin of scalar::log_sum_exp.
template <class Arch = xsimd::default_arch, class S>
S log_sum_exp(index n, const S* x) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  const index vec_end = n - n % W;
  S m = -std::numeric_limits<S>::infinity();
  if (vec_end > 0) {
    batch vm = batch::load_unaligned(x);
    for (index j = W; j < vec_end; j += W) vm = xsimd::max(vm, batch::load_unaligned(x + j));
    alignas(64) S lanes[W];
    vm.store_unaligned(lanes);
    m = *std::max_element(lanes, lanes + W);
  }
  for (index j = vec_end; j < n; ++j) m = std::max(m, x[j]);
  batch vsum(S(0));
  const batch vmax(m);
  for (index j = 0; j < vec_end; j += W) vsum += xsimd::exp(batch::load_unaligned(x + j) - vmax);
  S sum = xsimd::hadd(vsum);
  for (index j = vec_end; j < n; ++j) sum += std::exp(x[j] - m);
  return m + std::log(sum);
}

// Vector twin of scalar::softmax_cross_entropy.
template <class Arch = xsimd::default_arch, class S>
S softmax_cross_entropy(index V, index B, const S* logits, const token_id* targets, S scale,
                        S* d_logits) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  const index vec_end = V - V % W;
  S total = 0;
  for (index b = 0; b < B; ++b) {
    const S* x = logits + b * V;
    S* d = d_logits + b * V;
    const S lse = log_sum_exp<Arch>(V, x);
    const batch vlse(lse), vscale(scale);
    for (index j = 0; j < vec_end; j += W) {
      (vscale * xsimd::exp(batch::load_unaligned(x + j) - vlse)).store_unaligned(d + j);
    }
    for (index j = vec_end; j < V; ++j) d[j] = scale * std::exp(x[j] - lse);
    d[targets[b]] -= scale;
    total += lse - x[targets[b]];
  }
  return total;
}

// Vector twin of scalar::rmsprop_update.
template <class Arch = xsimd::default_arch, class S>
void rmsprop_update(index n, S* param, const S* grad, S* acc, S lr, S rho, S eps) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  const index vec_end = n - n % W;
  const batch vlr(lr), vrho(rho), vkeep(S(1) - rho), veps(eps);
  for (index k = 0; k < vec_end; k += W) {
    const batch g = batch::load_unaligned(grad + k);
    const batch a = xsimd::fma(vrho, batch::load_unaligned(acc + k), vkeep * g * g);
    a.store_unaligned(acc + k);
    (batch::load_unaligned(param + k) - vlr * g / (xsimd::sqrt(a) + veps))
        .store_unaligned(param + k);
  }
  scalar::rmsprop_update(n - vec_end, param + vec_end, grad + vec_end, acc + vec_end, lr, rho, eps);
}

// Vector twin of scalar::exp_shifted.
template <class Arch = xsimd::default_arch, class S>
void exp_shifted(index n, S* x, S shift, S divisor) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  const index vec_end = n - n % W;
  for (index k = 0; k < vec_end; k += W) {
    xsimd::exp((batch::load_unaligned(x + k) - batch(shift)) / batch(divisor))
        .store_unaligned(x + k);
  }
  scalar::exp_shifted(n - vec_end, x + vec_end, shift, divisor);
}

}  // namespace charlstm
