// charlstm/simd.hpp: the fused elementwise kernels, written with xsimd, each with a scalar twin,
// and the register-blocked matrix-product micro-kernel of the LSTM's recurrent products (the
// other products are Eigen's).  The elementwise kernels are the loops that would otherwise make
// one pass per operation over the gates, the cell, the softmax and the optimizer state.
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

// C (M, N) = [C +] A (M, K) * B (K, N), one dot product at a time.  Element (r, c) of A is at
// a[r * a_rs + c * a_cs], of B at b[r * b_rs + c * b_cs]; C is column-major with leading
// dimension ldc.  `accumulate` false overwrites C.
template <class S>
void gemm(index M, index N, index K, const S* a, index a_rs, index a_cs, const S* b, index b_rs,
          index b_cs, S* c, index ldc, bool accumulate) {
  for (index n = 0; n < N; ++n) {
    for (index m = 0; m < M; ++m) {
      S sum = accumulate ? c[m + n * ldc] : S(0);
      for (index k = 0; k < K; ++k) sum += a[m * a_rs + k * a_cs] * b[k * b_rs + n * b_cs];
      c[m + n * ldc] = sum;
    }
  }
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

// Matrix products with a register-blocked micro-kernel, for the products an LSTM repeats with
// the same left operand (W_h at every step) or whose left operand is too tall for the cache.
// A is packed once into panels of gemm_rows rows: for each k the panel's gemm_rows values are
// contiguous and 64-byte aligned, rows past M are zero.  The micro-kernel keeps a
// (gemm_rows, gemm_cols) tile of C in registers (4 vectors x 6 columns: 24 accumulators) and
// streams the panel and broadcasts of B.  Eigen packs its operands again on every product and
// allocates the packing buffers each time; for the 2 x 60 per-step products of one batch that
// repacking alone cost 5 % of a train step.
template <class S, class Arch = xsimd::default_arch>
constexpr index gemm_rows() {
  return 4 * static_cast<index>(xsimd::batch<S, Arch>::size);
}
constexpr index gemm_cols = 6;

// Scalars a packed A (M, K) takes: M rounded up to whole panels, times K.
template <class S, class Arch = xsimd::default_arch>
index gemm_packed_size(index M, index K) {
  constexpr index mr = gemm_rows<S, Arch>();
  return (M + mr - 1) / mr * mr * K;
}

// Packs A (M, K), element (r, c) at a[r * a_rs + c * a_cs], into `packed` (gemm_packed_size
// scalars, 64-byte aligned).
template <class Arch = xsimd::default_arch, class S>
void gemm_pack(index M, index K, const S* a, index a_rs, index a_cs, S* packed) {
  constexpr index mr = gemm_rows<S, Arch>();
  for (index m0 = 0; m0 < M; m0 += mr) {
    const index rows = std::min(mr, M - m0);
    S* panel = packed + m0 * K;
    if (a_rs == 1) {
      for (index k = 0; k < K; ++k) {
        const S* src = a + m0 + k * a_cs;
        S* dst = panel + k * mr;
        std::copy(src, src + rows, dst);
        std::fill(dst + rows, dst + mr, S(0));
      }
    } else {
      for (index r = 0; r < mr; ++r) {
        const S* src = a + (m0 + r) * a_rs;
        for (index k = 0; k < K; ++k) panel[k * mr + r] = r < rows ? src[k * a_cs] : S(0);
      }
    }
  }
}

namespace simd_detail {

// C tile (gemm_rows, Cols) [+]= A (gemm_rows, K) * B (K, Cols).  A's column k starts at
// a + k * lda (lda = gemm_rows for a packed panel); c points at the tile, column-major with
// leading dimension ldc.
template <class Arch, index Cols, class S>
void gemm_tile(index K, const S* a, index lda, const S* b, index b_rs, index b_cs, S* c, index ldc,
               bool accumulate) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  batch c0[Cols], c1[Cols], c2[Cols], c3[Cols];
#pragma GCC unroll 8
  for (index j = 0; j < Cols; ++j) {
    if (accumulate) {
      c0[j] = batch::load_unaligned(c + j * ldc);
      c1[j] = batch::load_unaligned(c + j * ldc + W);
      c2[j] = batch::load_unaligned(c + j * ldc + 2 * W);
      c3[j] = batch::load_unaligned(c + j * ldc + 3 * W);
    } else {
      c0[j] = c1[j] = c2[j] = c3[j] = batch(S(0));
    }
  }
  for (index k = 0; k < K; ++k) {
    const S* p = a + k * lda;
    const batch a0 = batch::load_unaligned(p), a1 = batch::load_unaligned(p + W),
                a2 = batch::load_unaligned(p + 2 * W), a3 = batch::load_unaligned(p + 3 * W);
    const S* bk = b + k * b_rs;
#pragma GCC unroll 8
    for (index j = 0; j < Cols; ++j) {
      const batch bj(bk[j * b_cs]);
      c0[j] = xsimd::fma(a0, bj, c0[j]);
      c1[j] = xsimd::fma(a1, bj, c1[j]);
      c2[j] = xsimd::fma(a2, bj, c2[j]);
      c3[j] = xsimd::fma(a3, bj, c3[j]);
    }
  }
#pragma GCC unroll 8
  for (index j = 0; j < Cols; ++j) {
    c0[j].store_unaligned(c + j * ldc);
    c1[j].store_unaligned(c + j * ldc + W);
    c2[j].store_unaligned(c + j * ldc + 2 * W);
    c3[j].store_unaligned(c + j * ldc + 3 * W);
  }
}

template <class Arch, class S>
void gemm_tile_cols(index cols, index K, const S* a, index lda, const S* b, index b_rs,
                    index b_cs, S* c, index ldc, bool accumulate) {
  static_assert(gemm_cols == 6, "one case per column count");
  switch (cols) {
    case 6: return gemm_tile<Arch, 6>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 5: return gemm_tile<Arch, 5>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 4: return gemm_tile<Arch, 4>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 3: return gemm_tile<Arch, 3>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 2: return gemm_tile<Arch, 2>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    default: return gemm_tile<Arch, 1>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
  }
}

}  // namespace simd_detail

// Vector twin of scalar::gemm with A packed by gemm_pack:
//   C (M, N) [+]= A (M, K) * B (K, N),  B's element (r, c) at b[r * b_rs + c * b_cs],
//   C column-major with leading dimension ldc.
// A last partial panel computes in a local tile, so C is never touched past row M.
template <class Arch = xsimd::default_arch, class S>
void gemm_packed(index M, index N, index K, const S* packed, const S* b, index b_rs, index b_cs,
                 S* c, index ldc, bool accumulate) {
  constexpr index mr = gemm_rows<S, Arch>(), nr = gemm_cols;
  for (index m0 = 0; m0 < M; m0 += mr) {
    const index rows = std::min(mr, M - m0);
    const S* panel = packed + m0 * K;
    for (index n0 = 0; n0 < N; n0 += nr) {
      const index cols = std::min(nr, N - n0);
      const S* bn = b + n0 * b_cs;
      S* cn = c + m0 + n0 * ldc;
      if (rows == mr) {
        simd_detail::gemm_tile_cols<Arch>(cols, K, panel, mr, bn, b_rs, b_cs, cn, ldc, accumulate);
      } else {
        alignas(64) S tile[mr * nr];
        for (index j = 0; j < cols; ++j) {
          for (index r = 0; r < mr; ++r) tile[r + j * mr] = r < rows ? cn[r + j * ldc] : S(0);
        }
        simd_detail::gemm_tile_cols<Arch>(cols, K, panel, mr, bn, b_rs, b_cs, tile, mr,
                                          accumulate);
        for (index j = 0; j < cols; ++j) {
          for (index r = 0; r < rows; ++r) cn[r + j * ldc] = tile[r + j * mr];
        }
      }
    }
  }
}

// The same with A (M, K) column-major (leading dimension lda) as it is, unpacked: for a product
// that reads A once, such as the recurrent step of generation (N = 1).  Rows past the last whole
// register tile run the scalar formula.
template <class Arch = xsimd::default_arch, class S>
void gemm(index M, index N, index K, const S* a, index lda, const S* b, index b_rs, index b_cs,
          S* c, index ldc, bool accumulate) {
  constexpr index mr = gemm_rows<S, Arch>(), nr = gemm_cols;
  // Depth in chunks, so that a panel of A (mr, kc) stays in L1/L2 while every tile of its rows
  // reads it: for a deep product (the weight gradients, K = T*B) A is far larger than L2.
  constexpr index kc = 256;
  const index tiled = M - M % mr;
  for (index k0 = 0; k0 < K; k0 += kc) {
    const index depth = std::min(kc, K - k0);
    for (index m0 = 0; m0 < tiled; m0 += mr) {
      for (index n0 = 0; n0 < N; n0 += nr) {
        simd_detail::gemm_tile_cols<Arch>(std::min(nr, N - n0), depth, a + m0 + k0 * lda, lda,
                                          b + k0 * b_rs + n0 * b_cs, b_rs, b_cs,
                                          c + m0 + n0 * ldc, ldc, accumulate || k0 > 0);
      }
    }
  }
  scalar::gemm(M - tiled, N, K, a + tiled, 1, lda, b, b_rs, b_cs, c + tiled, ldc, accumulate);
}

namespace simd_detail {

// acc[v] = A (rows row[v] .. row[v] + W, all K columns) * x for NV vectors of rows, with about
// eight independent FMA chains whatever NV: for fewer than eight vectors, consecutive k go to
// separate partial sums (P of them), added at the end.
template <class Arch, int NV, class S>
void gemv_panel(index K, const S* a, index lda, const S* x, const index* row,
                xsimd::batch<S, Arch>* acc) {
  using batch = xsimd::batch<S, Arch>;
  constexpr int P = NV >= 8 ? 1 : NV >= 4 ? 2 : NV >= 2 ? 4 : 8;
  batch part[P][NV];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) part[p][v] = batch(S(0));
  }
  index k = 0;
  for (; k + P <= K; k += P) {
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const batch xk(x[k + p]);
      const S* col = a + (k + p) * lda;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        part[p][v] = xsimd::fma(batch::load_unaligned(col + row[v]), xk, part[p][v]);
      }
    }
  }
  for (; k < K; ++k) {
    const batch xk(x[k]);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      part[0][v] = xsimd::fma(batch::load_unaligned(a + k * lda + row[v]), xk, part[0][v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    acc[v] = part[0][v];
#pragma GCC unroll 8
    for (int p = 1; p < P; ++p) acc[v] += part[p][v];
  }
}

template <class Arch, class S>
void gemv_panel_n(int nv, index K, const S* a, index lda, const S* x, const index* row,
                  xsimd::batch<S, Arch>* acc) {
  switch (nv) {
    case 8: return gemv_panel<Arch, 8>(K, a, lda, x, row, acc);
    case 7: return gemv_panel<Arch, 7>(K, a, lda, x, row, acc);
    case 6: return gemv_panel<Arch, 6>(K, a, lda, x, row, acc);
    case 5: return gemv_panel<Arch, 5>(K, a, lda, x, row, acc);
    case 4: return gemv_panel<Arch, 4>(K, a, lda, x, row, acc);
    case 3: return gemv_panel<Arch, 3>(K, a, lda, x, row, acc);
    case 2: return gemv_panel<Arch, 2>(K, a, lda, x, row, acc);
    default: return gemv_panel<Arch, 1>(K, a, lda, x, row, acc);
  }
}

}  // namespace simd_detail

// y (M) [+]= A (M, K) * x (K), A column-major with leading dimension lda: the products of
// generation with one stream, over A as it is stored: the dense layer at every token, and the
// LSTM steps when they are given no packed kernels (gemv_packed below is faster for a matrix
// read at every token, but needs a packed copy).  Rows go in panels
// of up to eight vectors, each panel one pass over A's columns with about eight independent FMA
// chains (simd_detail::gemv_panel).  The rows past the last whole vector are computed as the
// vector of the last W rows, of which only those rows are stored; fewer rows than one vector
// use the scalar formula.
template <class Arch = xsimd::default_arch, class S>
void gemv(index M, index K, const S* a, index lda, const S* x, S* y, bool accumulate) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size, R = 8;
  if (M < W) {
    scalar::gemm(M, index{1}, K, a, 1, lda, x, 1, K, y, M, accumulate);
    return;
  }
  for (index m0 = 0; m0 < M; m0 += R * W) {
    const index whole = std::min(R, (M - m0) / W);          // vectors wholly inside the rows
    const bool tail = m0 + R * W > M && (M - m0) % W != 0;  // a last, partial vector
    const int nv = static_cast<int>(whole + (tail ? 1 : 0));
    index row[R];
    for (index v = 0; v < whole; ++v) row[v] = m0 + v * W;
    if (tail) row[whole] = M - W;  // overlaps rows of the vector before it
    batch acc[R];
    simd_detail::gemv_panel_n<Arch>(nv, K, a, lda, x, row, acc);
    for (index v = 0; v < whole; ++v) {
      if (accumulate) acc[v] += batch::load_unaligned(y + row[v]);
      acc[v].store_unaligned(y + row[v]);
    }
    if (tail) {
      alignas(64) S last[W];
      acc[whole].store_aligned(last);
      for (index r = m0 + whole * W; r < M; ++r) {
        y[r] = (accumulate ? y[r] : S(0)) + last[r - (M - W)];
      }
    }
  }
}

// The same product with A packed once by gemv_pack, for a matrix read at every token (W_h in
// generation): panels of up to eight vectors of rows, each panel's column k contiguous, so that
// the product streams A from start to end.  The column-major A of gemv is read as 512-byte
// pieces 2 kB apart for the book's W_h, which bench_kernels' bm_generation_product measures
// slower from L2.

// Scalars a packed A (M, K) takes: M rounded up to whole vectors, times K.
template <class S, class Arch = xsimd::default_arch>
index gemv_packed_size(index M, index K) {
  constexpr index W = xsimd::batch<S, Arch>::size;
  return (M + W - 1) / W * W * K;
}

// Packs A (M, K), column-major with leading dimension lda, into `packed` (gemv_packed_size
// scalars, aligned): the panel of rows [m0, m0 + 8W) at packed + m0 * K, its column k at
// k * (the panel's rows, rounded up to whole vectors), rows past M zero.
template <class Arch = xsimd::default_arch, class S>
void gemv_pack(index M, index K, const S* a, index lda, S* packed) {
  constexpr index W = xsimd::batch<S, Arch>::size, R = 8;
  for (index m0 = 0; m0 < M; m0 += R * W) {
    const index rows = std::min(R * W, M - m0), width = (rows + W - 1) / W * W;
    S* panel = packed + m0 * K;
    for (index k = 0; k < K; ++k) {
      std::copy(a + m0 + k * lda, a + m0 + k * lda + rows, panel + k * width);
      std::fill(panel + k * width + rows, panel + (k + 1) * width, S(0));
    }
  }
}

// y (M) [+]= A (M, K) * x (K) with A packed by gemv_pack.
template <class Arch = xsimd::default_arch, class S>
void gemv_packed(index M, index K, const S* packed, const S* x, S* y, bool accumulate) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size, R = 8;
  const index row[R] = {0, W, 2 * W, 3 * W, 4 * W, 5 * W, 6 * W, 7 * W};
  for (index m0 = 0; m0 < M; m0 += R * W) {
    const index rows = std::min(R * W, M - m0), nv = (rows + W - 1) / W;
    batch acc[R];
    simd_detail::gemv_panel_n<Arch>(static_cast<int>(nv), K, packed + m0 * K, nv * W, x, row, acc);
    for (index v = 0; v < nv; ++v) {
      S* out = y + m0 + v * W;
      if (v * W + W <= rows) {
        if (accumulate) acc[v] += batch::load_unaligned(out);
        acc[v].store_unaligned(out);
      } else {  // the last, partial vector
        alignas(64) S last[W];
        acc[v].store_aligned(last);
        for (index r = 0; r < rows - v * W; ++r) out[r] = (accumulate ? out[r] : S(0)) + last[r];
      }
    }
  }
}

}  // namespace charlstm
