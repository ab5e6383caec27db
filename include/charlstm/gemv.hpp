// charlstm/gemv.hpp: matrix-vector products y [+]= A x with xsimd, the products of generation
// with one stream (the dense layer at every token, the LSTM's one-stream steps), over A as it
// is stored (gemv) or packed once (gemv_pack, gemv_packed).  Not the batched products
// (gemm.hpp) nor the elementwise kernels (simd.hpp).  The scalar twin is scalar::gemm.
#pragma once

#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "config.hpp"
#include "gemm.hpp"

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
