// charlstm/gemv.hpp: matrix-vector products y [+]= A x with xsimd, the products of generation
// with one stream (the dense layer at every token), over A as it is stored (gemv) or packed once
// (gemv_pack, gemv_packed), and the LSTM's one-stream step with its products and cell fused
// (step_pack, lstm_step_fused).  Not the batched products (gemm.hpp) nor the elementwise kernels
// (simd.hpp).  The scalar twin is scalar::gemm (and scalar::lstm_cell_forward for the step).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "config.hpp"
#include "gemm.hpp"
#include "simd.hpp"

namespace charlstm {

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

namespace simd_detail {

// y[row[v] ..] += A (those rows) x over all K columns in k order, each row one FMA chain from its
// value in y (NV vectors: NV chains).  Returns the sums in acc, stores nothing.
template <class Arch, int NV, class S>
void gemv_chained_panel(index K, const S* a, index lda, const S* x, const S* y, const index* row,
                        xsimd::batch<S, Arch>* acc) {
  using batch = xsimd::batch<S, Arch>;
  batch sum[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) sum[v] = batch::load_unaligned(y + row[v]);
  for (index k = 0; k < K; ++k) {
    const batch xk(x[k]);
    const S* col = a + k * lda;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      sum[v] = xsimd::fma(batch::load_unaligned(col + row[v]), xk, sum[v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) acc[v] = sum[v];
}

template <class Arch, class S>
void gemv_chained_panel_n(int nv, index K, const S* a, index lda, const S* x, const S* y,
                          const index* row, xsimd::batch<S, Arch>* acc) {
  switch (nv) {
    case 8:
      return gemv_chained_panel<Arch, 8>(K, a, lda, x, y, row, acc);
    case 7:
      return gemv_chained_panel<Arch, 7>(K, a, lda, x, y, row, acc);
    case 6:
      return gemv_chained_panel<Arch, 6>(K, a, lda, x, y, row, acc);
    case 5:
      return gemv_chained_panel<Arch, 5>(K, a, lda, x, y, row, acc);
    case 4:
      return gemv_chained_panel<Arch, 4>(K, a, lda, x, y, row, acc);
    case 3:
      return gemv_chained_panel<Arch, 3>(K, a, lda, x, y, row, acc);
    case 2:
      return gemv_chained_panel<Arch, 2>(K, a, lda, x, y, row, acc);
    default:
      return gemv_chained_panel<Arch, 1>(K, a, lda, x, y, row, acc);
  }
}

}  // namespace simd_detail

// y (M) += A (M, K) * x (K), A column-major with leading dimension lda, each row's sum chained
// with fused multiply-adds in k order from y's value: gemm's order for every element, so a row's
// bits equal gemm's for any column count.  The dense layer
// of generation computes each stream's logits with it (model::logits, model::batch_logits), so a
// stream's logits have the same bits alone or in any batch.  Rows in panels of up to eight
// vectors (eight chains); the rows past the last whole vector are computed as the vector of the
// last W rows, of which only those rows are stored; fewer rows than one vector use std::fma.
template <class Arch = xsimd::default_arch, class S>
void gemv_chained(index M, index K, const S* a, index lda, const S* x, S* y) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size, R = 8;
  if (M < W) {
    for (index r = 0; r < M; ++r) {
      S sum = y[r];
      for (index k = 0; k < K; ++k) sum = std::fma(a[r + k * lda], x[k], sum);
      y[r] = sum;
    }
    return;
  }
  for (index m0 = 0; m0 < M; m0 += R * W) {
    const index whole = std::min(R, (M - m0) / W);          // vectors wholly inside the rows
    const bool tail = m0 + R * W > M && (M - m0) % W != 0;  // a last, partial vector
    const int nv = static_cast<int>(whole + (tail ? 1 : 0));
    index row[R];
    for (index v = 0; v < whole; ++v) row[v] = m0 + v * W;
    if (tail) row[whole] = M - W;  // overlaps rows before it, which it does not store
    batch acc[R];
    simd_detail::gemv_chained_panel_n<Arch>(nv, K, a, lda, x, y, row, acc);
    if (tail) {  // its own rows only: the rows it overlaps may already hold their sums
      alignas(64) S last[W];
      acc[whole].store_aligned(last);
      for (index r = m0 + whole * W; r < M; ++r) y[r] = last[r - (M - W)];
    }
    for (index v = 0; v < whole; ++v) acc[v].store_unaligned(y + row[v]);
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

// The one-stream LSTM step of generation, fused: the gate pre-activations of a group of units
// stay in registers from the products to the cell.  A layer's kernel (4H, K) -- W_h, and W_x
// above the first layer -- is packed once (step_pack) in panels of step_units units: for each
// column k, the panel's i, f, g and o rows of those units (4 x 2 vectors) are contiguous, so the
// product streams the kernel from start to end and each panel ends with all four gates of its
// units.  Each row's sum is chained in k order from the given z0 (W_x's columns first, then
// W_h's), which is gemm's order for a column of lstm_step_batch: a stream's bits are the same
// stepped alone or in a batch.  For the book's H 128 in float the 256 kB of W_h are read once
// per token, with eight independent FMA chains.

// Units per panel: two vectors of each gate.
template <class S, class Arch = xsimd::default_arch>
constexpr index step_units() {
  return 2 * static_cast<index>(xsimd::batch<S, Arch>::size);
}

// Scalars a packed (4H, K) kernel takes: H rounded up to whole panels, times 4K.
template <class S, class Arch = xsimd::default_arch>
index step_packed_size(index H, index K) {
  constexpr index U = step_units<S, Arch>();
  return (H + U - 1) / U * U * 4 * K;
}

// Packs A (4H, K), column-major with leading dimension lda, rows [i; f; g; o] of H each, into
// `packed` (step_packed_size scalars, aligned): the panel of units [j0, j0 + U) at
// packed + 4 * j0 * K, its column k at + 4 * U * k, gate q's U rows at + q * U; units past H zero.
template <class Arch = xsimd::default_arch, class S>
void step_pack(index H, index K, const S* a, index lda, S* packed) {
  constexpr index U = step_units<S, Arch>();
  for (index j0 = 0; j0 < H; j0 += U) {
    S* panel = packed + 4 * j0 * K;
    for (index k = 0; k < K; ++k) {
      for (index q = 0; q < 4; ++q) {
        for (index u = 0; u < U; ++u) {
          panel[4 * U * k + q * U + u] = j0 + u < H ? a[q * H + j0 + u + k * lda] : S(0);
        }
      }
    }
  }
}

namespace simd_detail {

// acc[2q + v] += the panel's column k times x[k], for k = 0 .. K-1 in order.
template <class Arch, class S>
void step_chain(index K, const S* panel, const S* x, xsimd::batch<S, Arch> (&acc)[8]) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  for (index k = 0; k < K; ++k) {
    const batch xk(x[k]);
    const S* p = panel + 8 * W * k;
#pragma GCC unroll 8
    for (index r = 0; r < 8; ++r) acc[r] = xsimd::fma(batch::load_aligned(p + r * W), xk, acc[r]);
  }
}

}  // namespace simd_detail

// One stream's step: z = z0 + A_x x + A_h h_prev (z0 (4H) as [i; f; g; o]: the bias plus, for a
// one-hot input, the input kernel's column; A_x packed for a dense input x (K_x), or null), then
// the cell of simd.hpp's lstm_cell_forward on z: c = f*c + i*g in place, h_out = o*tanh(c).
// `tanh_c` (H) is scratch.  h_out must not alias h_prev or x.  Equal, bit for bit, to
// lstm_cell_forward after gemm's products from z0 (the vector units run its vector formula, the
// last H % W units its scalar one).
//   lstm_step_fused(H, z0, nullptr, 0, nullptr, packed_wh, h_prev, c, tanh_c, h);
template <class Arch = xsimd::default_arch, class S>
void lstm_step_fused(index H, const S* z0, const S* a_x, index K_x, const S* x, const S* a_h,
                     const S* h_prev, S* c, S* tanh_c, S* h_out) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size, U = 2 * W;
  for (index j0 = 0; j0 < H; j0 += U) {
    batch acc[8];
    if (j0 + U <= H) {
#pragma GCC unroll 8
      for (index r = 0; r < 8; ++r)
        acc[r] = batch::load_unaligned(z0 + (r / 2) * H + j0 + (r % 2) * W);
    } else {
      alignas(64) S part[4 * U];
      for (index q = 0; q < 4; ++q) {
        for (index u = 0; u < U; ++u) part[q * U + u] = j0 + u < H ? z0[q * H + j0 + u] : S(0);
      }
      for (index r = 0; r < 8; ++r) acc[r] = batch::load_aligned(part + r * W);
    }
    if (a_x) simd_detail::step_chain<Arch>(K_x, a_x + 4 * j0 * K_x, x, acc);
    simd_detail::step_chain<Arch>(H, a_h + 4 * j0 * H, h_prev, acc);
    for (index v = 0; v < 2; ++v) {
      const index j = j0 + v * W;
      if (j + W <= H) {  // lstm_cell_forward's vector body
        const batch i = simd_detail::sigmoid(acc[v]);
        const batch f = simd_detail::sigmoid(acc[2 + v]);
        const batch g = xsimd::tanh(acc[4 + v]);
        const batch o = simd_detail::sigmoid(acc[6 + v]);
        const batch cn = xsimd::fma(f, batch::load_unaligned(c + j), i * g);
        const batch th = xsimd::tanh(cn);
        cn.store_unaligned(c + j);
        (o * th).store_unaligned(h_out + j);
      } else if (j < H) {  // its scalar tail, on a copy of the four gates of these units
        alignas(64) S z[4 * W];
        for (index q = 0; q < 4; ++q) acc[2 * q + v].store_aligned(z + q * W);
        for (index u = 0; j + u < H; ++u) {
          scalar::lstm_cell_forward_unit(W, z, u, c + j, c + j, tanh_c + j, h_out + j, u);
        }
      }
    }
  }
}

}  // namespace charlstm
