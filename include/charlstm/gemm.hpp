// charlstm/gemm.hpp: matrix products C [+]= A B with a register-blocked xsimd micro-kernel, for
// the products an LSTM repeats with the same left operand (W_h at every step of a batch) or
// whose left operand is too tall for the cache (the weight gradients), with its packing and its
// scalar twin.  Not the elementwise kernels (simd.hpp) nor the one-column products of
// generation (gemv.hpp); Eigen does the other products.
//
// Arrays are raw and column-major unless a stride says otherwise (see tensor.hpp for shapes);
// kernels are templated on `Arch` like simd.hpp's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "config.hpp"

namespace charlstm {

namespace scalar {

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

}  // namespace charlstm
