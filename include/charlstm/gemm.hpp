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

namespace simd_detail {

// C block (NV vectors of rows, Cols) [+]= A (those rows, K) * B (K, Cols), over A as it is stored
// (column k of the block at a + k * lda).  Every element is the same chain whatever NV and Cols:
// C's value (or 0), then one fused multiply-add per k in k order, so the block shapes below may
// change with N without changing a bit of any column.
template <class Arch, int NV, int Cols, class S>
void gemm_block(index K, const S* a, index lda, const S* b, index b_rs, index b_cs, S* c, index ldc,
                bool accumulate) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size;
  batch acc[Cols][NV];
#pragma GCC unroll 8
  for (int j = 0; j < Cols; ++j) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      acc[j][v] = accumulate ? batch::load_unaligned(c + j * ldc + v * W) : batch(S(0));
    }
  }
  for (index k = 0; k < K; ++k) {
    const S* p = a + k * lda;
    batch ak[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) ak[v] = batch::load_unaligned(p + v * W);
    const S* bk = b + k * b_rs;
#pragma GCC unroll 8
    for (int j = 0; j < Cols; ++j) {
      const batch bj(bk[j * b_cs]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[j][v] = xsimd::fma(ak[v], bj, acc[j][v]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < Cols; ++j) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[j][v].store_unaligned(c + j * ldc + v * W);
  }
}

template <class Arch, int NV, class S>
void gemm_block_cols(index cols, index K, const S* a, index lda, const S* b, index b_rs, index b_cs,
                     S* c, index ldc, bool accumulate) {
  static_assert(gemm_cols == 6, "one case per column count");
  switch (cols) {
    case 6:
      return gemm_block<Arch, NV, 6>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 5:
      return gemm_block<Arch, NV, 5>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 4:
      return gemm_block<Arch, NV, 4>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 3:
      return gemm_block<Arch, NV, 3>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 2:
      return gemm_block<Arch, NV, 2>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    default:
      return gemm_block<Arch, NV, 1>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
  }
}

// The block of nv vectors (1 .. 4 for several columns, 1 .. 8 for one) and cols columns.
template <class Arch, class S>
void gemm_block_n(int nv, index cols, index K, const S* a, index lda, const S* b, index b_rs,
                  index b_cs, S* c, index ldc, bool accumulate) {
  if (cols == 1) {
    switch (nv) {
      case 8:
        return gemm_block<Arch, 8, 1>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
      case 7:
        return gemm_block<Arch, 7, 1>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
      case 6:
        return gemm_block<Arch, 6, 1>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
      case 5:
        return gemm_block<Arch, 5, 1>(K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
      default:
        break;
    }
  }
  switch (nv) {
    case 4:
      return gemm_block_cols<Arch, 4>(cols, K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 3:
      return gemm_block_cols<Arch, 3>(cols, K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    case 2:
      return gemm_block_cols<Arch, 2>(cols, K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
    default:
      return gemm_block_cols<Arch, 1>(cols, K, a, lda, b, b_rs, b_cs, c, ldc, accumulate);
  }
}

}  // namespace simd_detail

// The same with A (M, K) column-major (leading dimension lda) as it is, unpacked: for a product
// that reads A once, such as the recurrent step of generation (N = 1).  Every element of C is
// one chain of fused multiply-adds in k order (simd_detail::gemm_block), so a column's bits do
// not depend on N or on its place among the columns (batch_generator.hpp relies on it).  Blocks
// are 4 vectors of rows by up to 6 columns, or up to 8 vectors by one column (eight independent
// chains for generation's one-column products); rows past the last whole vector are computed as
// the vector of the last W rows, of which only those rows are stored; fewer rows than one vector
// use the scalar formula.
template <class Arch = xsimd::default_arch, class S>
void gemm(index M, index N, index K, const S* a, index lda, const S* b, index b_rs, index b_cs,
          S* c, index ldc, bool accumulate) {
  using batch = xsimd::batch<S, Arch>;
  constexpr index W = batch::size, nr = gemm_cols;
  if (M < W) {
    scalar::gemm(M, N, K, a, 1, lda, b, b_rs, b_cs, c, ldc, accumulate);
    return;
  }
  // Depth in chunks, so that a panel of A (rows, kc) stays in L1/L2 while every block of its
  // rows reads it: for a deep product (the weight gradients, K = T*B) A is far larger than L2.
  constexpr index kc = 256;
  const index vectors = M / W;  // whole vectors of rows
  const bool tail = M % W != 0;
  // A last column of its own (N = 1, or N % 6 == 1) goes in blocks of 8 vectors, the others
  // in blocks of 4 vectors by up to 6 columns, each block of A's rows read by every column.
  const index wide = N % nr == 1 ? N - 1 : N;
  for (index k0 = 0; k0 < K; k0 += kc) {
    const index depth = std::min(kc, K - k0);
    const bool acc = accumulate || k0 > 0;
    for (index v0 = 0; v0 < vectors; v0 += 4) {
      const int nv = static_cast<int>(std::min(index{4}, vectors - v0));
      for (index n0 = 0; n0 < wide; n0 += nr) {
        simd_detail::gemm_block_n<Arch>(nv, std::min(nr, wide - n0), depth, a + v0 * W + k0 * lda,
                                        lda, b + k0 * b_rs + n0 * b_cs, b_rs, b_cs,
                                        c + v0 * W + n0 * ldc, ldc, acc);
      }
    }
    if (wide < N) {
      for (index v0 = 0; v0 < vectors; v0 += 8) {
        const int nv = static_cast<int>(std::min(index{8}, vectors - v0));
        simd_detail::gemm_block_n<Arch>(nv, 1, depth, a + v0 * W + k0 * lda, lda,
                                        b + k0 * b_rs + wide * b_cs, b_rs, b_cs,
                                        c + v0 * W + wide * ldc, ldc, acc);
      }
    }
    if (!tail) continue;
    // The last W rows in a local block, of which the rows past vectors * W are stored.
    for (index n0 = 0; n0 < N; n0 += nr) {
      const index cols = std::min(nr, N - n0);
      alignas(64) S last[W * nr];
      S* cn = c + n0 * ldc;
      for (index j = 0; j < cols; ++j) {
        std::copy(cn + j * ldc + M - W, cn + j * ldc + M, last + j * W);
      }
      simd_detail::gemm_block_n<Arch>(1, cols, depth, a + (M - W) + k0 * lda, lda,
                                      b + k0 * b_rs + n0 * b_cs, b_rs, b_cs, last, W, acc);
      const index done = vectors * W - (M - W);  // rows of the block already stored
      for (index j = 0; j < cols; ++j) {
        std::copy(last + j * W + done, last + j * W + W, cn + j * ldc + vectors * W);
      }
    }
  }
}

}  // namespace charlstm
