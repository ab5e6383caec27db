// Each xsimd kernel equals its scalar twin, for every length 1 .. 2*(SIMD width)+1 and at 128.
#include <algorithm>
#include <catch2/catch.hpp>
#include <charlstm/gemm.hpp>
#include <charlstm/gemv.hpp>
#include <charlstm/simd.hpp>
#include <random>
#include <vector>

#include "support/check.hpp"

using isize = charlstm::index;  // a bare `index` would clash with POSIX index()
using test_support::compare;

namespace {

template <class S>
std::vector<S> random_vector(isize n, std::mt19937_64& engine, double scale = 3.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<S> v(static_cast<std::size_t>(n));
  for (S& x : v) x = static_cast<S>(u(engine));
  return v;
}

template <class S>
std::vector<isize> sizes_to_check() {
  const isize width = static_cast<isize>(xsimd::batch<S>::size);
  std::vector<isize> sizes;
  for (isize n = 1; n <= 2 * width + 1; ++n) sizes.push_back(n);
  sizes.push_back(128);
  return sizes;
}

// Every count 1 .. 2 * tile + 1, then `extra` (the book's shapes).
std::vector<isize> every_up_to_two_tiles(isize tile, std::vector<isize> extra) {
  std::vector<isize> sizes;
  for (isize n = 1; n <= 2 * tile + 1; ++n) sizes.push_back(n);
  sizes.insert(sizes.end(), extra.begin(), extra.end());
  return sizes;
}

// Elementwise math in float differs from the twin only by the last bits of exp/tanh.
template <class S>
double kernel_tolerance() {
  return std::is_same<S, float>::value ? 2e-6 : 1e-14;
}

}  // namespace

TEMPLATE_TEST_CASE("lstm_cell_forward equals its scalar twin", "[simd]", float, double) {
  using S = TestType;
  std::mt19937_64 engine(7);
  for (isize H : sizes_to_check<S>()) {
    const isize B = 3;
    auto gates = random_vector<S>(4 * H * B, engine), c_prev = random_vector<S>(H * B, engine);
    auto gates_ref = gates;
    std::vector<S> c(H * B), th(H * B), h(H * B), c_ref(H * B), th_ref(H * B), h_ref(H * B);
    charlstm::lstm_cell_forward(H, B, gates.data(), c_prev.data(), c.data(), th.data(), h.data());
    charlstm::scalar::lstm_cell_forward(H, B, gates_ref.data(), c_prev.data(), c_ref.data(),
                                        th_ref.data(), h_ref.data());
    INFO("H = " << H);
    auto cg = compare(gates.data(), gates_ref.data(), 4 * H * B);
    auto cc = compare(c.data(), c_ref.data(), H * B);
    auto ch = compare(h.data(), h_ref.data(), H * B);
    auto ct = compare(th.data(), th_ref.data(), H * B);
    CHECK(cg.error < kernel_tolerance<S>());
    CHECK(cc.error < kernel_tolerance<S>());
    CHECK(ch.error < kernel_tolerance<S>());
    CHECK(ct.error < kernel_tolerance<S>());
  }
}

TEMPLATE_TEST_CASE("lstm_cell_backward equals its scalar twin", "[simd]", float, double) {
  using S = TestType;
  std::mt19937_64 engine(8);
  for (isize H : sizes_to_check<S>()) {
    const isize B = 2;
    // Activations in their ranges: sigmoid in (0, 1), tanh in (-1, 1).
    auto gates = random_vector<S>(4 * H * B, engine, 1.0);
    for (S& g : gates) g = S(0.5) + S(0.49) * g;
    auto c_prev = random_vector<S>(H * B, engine), tanh_c = random_vector<S>(H * B, engine, 0.99);
    auto d_h = random_vector<S>(H * B, engine), d_c = random_vector<S>(H * B, engine);
    auto d_c_ref = d_c;
    std::vector<S> dz(4 * H * B), dz_ref(4 * H * B);
    charlstm::lstm_cell_backward(H, B, gates.data(), c_prev.data(), tanh_c.data(), d_h.data(),
                                 d_c.data(), dz.data());
    charlstm::scalar::lstm_cell_backward(H, B, gates.data(), c_prev.data(), tanh_c.data(),
                                         d_h.data(), d_c_ref.data(), dz_ref.data());
    INFO("H = " << H);
    auto cz = compare(dz.data(), dz_ref.data(), 4 * H * B);
    auto cc = compare(d_c.data(), d_c_ref.data(), H * B);
    INFO(cz.describe("d_gates"));
    CHECK(cz.error < kernel_tolerance<S>());
    CHECK(cc.error < kernel_tolerance<S>());
  }
}

TEMPLATE_TEST_CASE("softmax cross-entropy and log-sum-exp equal their scalar twins", "[simd]",
                   float, double) {
  using S = TestType;
  std::mt19937_64 engine(9);
  for (isize V : sizes_to_check<S>()) {
    const isize B = 3;
    auto logits = random_vector<S>(V * B, engine, 20.0);
    std::vector<charlstm::token_id> targets = {0, static_cast<charlstm::token_id>(V - 1),
                                               static_cast<charlstm::token_id>(V / 2)};
    std::vector<S> d(V * B), d_ref(V * B);
    const S loss =
        charlstm::softmax_cross_entropy(V, B, logits.data(), targets.data(), S(0.5), d.data());
    const S loss_ref = charlstm::scalar::softmax_cross_entropy(V, B, logits.data(), targets.data(),
                                                               S(0.5), d_ref.data());
    INFO("V = " << V);
    CHECK(compare(d.data(), d_ref.data(), V * B).error < kernel_tolerance<S>());
    CHECK(compare(&loss, &loss_ref, 1, 1.0).error < kernel_tolerance<S>());
    const S lse = charlstm::log_sum_exp(V, logits.data());
    const S lse_ref = charlstm::scalar::log_sum_exp(V, logits.data());
    CHECK(compare(&lse, &lse_ref, 1, 1.0).error < kernel_tolerance<S>());
  }
}

TEMPLATE_TEST_CASE("log-sum-exp is stable for huge logits", "[simd]", float, double) {
  using S = TestType;
  std::vector<S> x = {S(1e30), S(1e30), S(-1e30), S(0), S(1e30), S(3), S(-5), S(8), S(1e30)};
  const S lse = charlstm::log_sum_exp(static_cast<isize>(x.size()), x.data());
  CHECK(std::isfinite(lse));
  CHECK(lse == Approx(1e30).epsilon(1e-6));
}

TEMPLATE_TEST_CASE("exp_shifted equals its scalar twin", "[simd]", float, double) {
  using S = TestType;
  std::mt19937_64 engine(12);
  for (isize n : sizes_to_check<S>()) {
    auto x = random_vector<S>(n, engine, 20.0);
    auto x_ref = x;
    charlstm::exp_shifted(n, x.data(), S(20), S(0.7));
    charlstm::scalar::exp_shifted(n, x_ref.data(), S(20), S(0.7));
    INFO("n = " << n);
    CHECK(compare(x.data(), x_ref.data(), n).error < kernel_tolerance<S>());
  }
}

TEMPLATE_TEST_CASE("rmsprop_update equals its scalar twin", "[simd]", float, double) {
  using S = TestType;
  std::mt19937_64 engine(10);
  for (isize n : sizes_to_check<S>()) {
    auto p = random_vector<S>(n, engine), g = random_vector<S>(n, engine);
    auto acc = random_vector<S>(n, engine);
    for (S& a : acc) a = a * a;
    auto p_ref = p, acc_ref = acc;
    charlstm::rmsprop_update(n, p.data(), g.data(), acc.data(), S(0.01), S(0.9), S(1e-7));
    charlstm::scalar::rmsprop_update(n, p_ref.data(), g.data(), acc_ref.data(), S(0.01), S(0.9),
                                     S(1e-7));
    INFO("n = " << n);
    CHECK(compare(p.data(), p_ref.data(), n).error < kernel_tolerance<S>());
    CHECK(compare(acc.data(), acc_ref.data(), n).error < kernel_tolerance<S>());
  }
}

TEMPLATE_TEST_CASE("gemm_packed equals its scalar twin", "[simd]", float, double) {
  using S = TestType;
  std::mt19937_64 engine(11);
  const isize mr = charlstm::gemm_rows<S>(), nr = charlstm::gemm_cols;
  // Every row count up to two register tiles + 1 (a tile is 4 vectors: every vector length
  // 1 .. 2W+1 and the partial last panel), every column count up to two tiles + 1, and the
  // book's step products.
  const std::vector<isize> rows = every_up_to_two_tiles(mr, {128, 512});
  const std::vector<isize> cols = every_up_to_two_tiles(nr, {64});
  for (isize M : rows) {
    for (isize N : cols) {
      // Every row and column count at a small depth; the edges and the book's shapes deeper.
      const bool edge = M <= 2 || M % mr <= 1 || M >= 128;
      const bool col_edge = N == 1 || N % nr <= 1 || N == 64;
      for (isize K : {isize{1}, isize{7}, isize{128}}) {
        if (K == 128 && !(edge && col_edge)) continue;
        for (bool transposed : {false, true}) {
          for (bool accumulate : {false, true}) {
            auto a = random_vector<S>(M * K, engine), b = random_vector<S>(K * N, engine);
            auto c = random_vector<S>(M * N, engine);
            auto c_ref = c;
            // A (M, K) column-major, or stored transposed (K, M) as the backward's W_h^T.
            const isize a_rs = transposed ? K : 1, a_cs = transposed ? 1 : M;
            // B (K, N) column-major, or stored transposed as the weight gradient's h^T.
            const isize b_rs = transposed ? N : 1, b_cs = transposed ? 1 : K;
            std::vector<S, xsimd::aligned_allocator<S>> packed(
                static_cast<std::size_t>(charlstm::gemm_packed_size<S>(M, K)));
            charlstm::gemm_pack(M, K, a.data(), a_rs, a_cs, packed.data());
            charlstm::gemm_packed(M, N, K, packed.data(), b.data(), b_rs, b_cs, c.data(), M,
                                  accumulate);
            charlstm::scalar::gemm(M, N, K, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs,
                                   c_ref.data(), M, accumulate);
            INFO("M = " << M << ", N = " << N << ", K = " << K << ", transposed " << transposed
                        << ", accumulate " << accumulate);
            // Sums of K products in another order: relative error grows like K * epsilon.
            const double tolerance = (std::is_same<S, float>::value ? 1e-6 : 1e-15) * (K + 8);
            const auto cmp = compare(c.data(), c_ref.data(), M * N);
            INFO(cmp.describe("C"));
            CHECK(cmp.error < tolerance);
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("gemm over an unpacked A equals its scalar twin", "[simd]", float,
                   double) {
  using S = TestType;
  std::mt19937_64 engine(12);
  const isize mr = charlstm::gemm_rows<S>(), nr = charlstm::gemm_cols;
  // Every row count up to two register tiles + 1 (rows past the last tile run scalar); depths
  // past one block of 256 exercise the blocking.
  for (isize M : every_up_to_two_tiles(mr, {512})) {
    for (isize N : {isize{1}, nr - 1, nr + 1, isize{16}}) {
      for (isize K : {isize{1}, isize{9}, isize{300}}) {
        if (K == 300 && M % mr > 1 && M != 512) continue;  // deep: the tile edges only
        for (bool accumulate : {false, true}) {
          // A (M, K) column-major with a leading dimension larger than M; B stored transposed,
          // as the weight gradient's h^T.
          const isize lda = M + 3;
          auto a = random_vector<S>(lda * K, engine), b = random_vector<S>(K * N, engine);
          auto c = random_vector<S>(M * N, engine);
          auto c_ref = c;
          charlstm::gemm(M, N, K, a.data(), lda, b.data(), N, 1, c.data(), M, accumulate);
          charlstm::scalar::gemm(M, N, K, a.data(), 1, lda, b.data(), N, 1, c_ref.data(), M,
                                 accumulate);
          INFO("M = " << M << ", N = " << N << ", K = " << K << ", accumulate " << accumulate);
          const double tolerance = (std::is_same<S, float>::value ? 1e-6 : 1e-15) * (K + 8);
          const auto cmp = compare(c.data(), c_ref.data(), M * N);
          INFO(cmp.describe("C"));
          CHECK(cmp.error < tolerance);
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("gemm over an unpacked A gives each column the same bits whatever N", "[simd]",
                   float, double) {
  // batch_generator relies on it: a request's text must not depend on who else is in the batch.
  using S = TestType;
  std::mt19937_64 engine(14);
  const isize mr = charlstm::gemm_rows<S>();
  for (isize M : every_up_to_two_tiles(mr, {52, 512})) {
    for (isize K : {isize{9}, isize{300}}) {
      const isize N = 13;
      const isize lda = M + 3;
      auto a = random_vector<S>(lda * K, engine), b = random_vector<S>(K * N, engine);
      auto c0 = random_vector<S>(M * N, engine);
      auto all = c0;
      // All N columns at once (B stored column-major, as the batch's h).
      charlstm::gemm(M, N, K, a.data(), lda, b.data(), 1, K, all.data(), M, true);
      for (isize n = 0; n < N; ++n) {
        for (isize width : {isize{1}, isize{2}, isize{7}}) {
          // Column n alone, or as the first of `width` columns (the others copies of later
          // columns).
          const isize w = std::min(width, N - n);
          std::vector<S> part(c0.begin() + n * M, c0.begin() + (n + w) * M);
          charlstm::gemm(M, w, K, a.data(), lda, b.data() + n * K, 1, K, part.data(), M, true);
          INFO("M = " << M << ", K = " << K << ", column " << n << " of " << w);
          CHECK(std::equal(part.begin(), part.begin() + M, all.begin() + n * M));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("gemv, over A as stored and packed, equals its scalar twin", "[simd]", float,
                   double) {
  using S = TestType;
  std::mt19937_64 engine(13);
  const isize W = static_cast<isize>(xsimd::batch<S>::size);
  // Every row count up to two panels of 8 vectors + 1: whole panels, single vectors after them,
  // a last partial vector (computed as the last W rows) and fewer rows than one vector
  // (scalar); then the book's vocabularies (57, 65) and 4H = 512.  Every depth up to 17 covers
  // the tails of the 1, 2, 4 or 8 partial sums a panel keeps.
  for (isize M : every_up_to_two_tiles(8 * W, {57, 65, 512})) {
    for (isize K : {isize{1}, isize{2}, isize{3}, isize{4}, isize{5}, isize{7}, isize{8},
                    isize{9}, isize{15}, isize{16}, isize{17}, isize{128}}) {
      for (bool accumulate : {false, true}) {
        const isize lda = M + 5;
        auto a = random_vector<S>(lda * K, engine), x = random_vector<S>(K, engine);
        auto y = random_vector<S>(M + 1, engine);
        auto y_ref = y;
        auto y_packed = y;
        charlstm::gemv(M, K, a.data(), lda, x.data(), y.data(), accumulate);
        std::vector<S, xsimd::aligned_allocator<S>> packed(
            static_cast<std::size_t>(charlstm::gemv_packed_size<S>(M, K)));
        charlstm::gemv_pack(M, K, a.data(), lda, packed.data());
        charlstm::gemv_packed(M, K, packed.data(), x.data(), y_packed.data(), accumulate);
        charlstm::scalar::gemm(M, isize{1}, K, a.data(), 1, lda, x.data(), 1, K, y_ref.data(), M,
                               accumulate);
        INFO("M = " << M << ", K = " << K << ", accumulate " << accumulate);
        const double tolerance = (std::is_same<S, float>::value ? 1e-6 : 1e-15) * (K + 8);
        const auto cmp = compare(y.data(), y_ref.data(), M);
        INFO(cmp.describe("y"));
        CHECK(cmp.error < tolerance);
        const auto cmp_packed = compare(y_packed.data(), y_ref.data(), M);
        INFO(cmp_packed.describe("y, packed A"));
        CHECK(cmp_packed.error < tolerance);
        // The element past the end is untouched.
        CHECK(y[static_cast<std::size_t>(M)] == y_ref[static_cast<std::size_t>(M)]);
        CHECK(y_packed[static_cast<std::size_t>(M)] == y_ref[static_cast<std::size_t>(M)]);
      }
    }
  }
}

TEMPLATE_TEST_CASE("lstm_step_fused equals gemm's products then lstm_cell_forward", "[simd]", float,
                   double) {
  using S = TestType;
  std::mt19937_64 engine(17);
  const isize U = charlstm::step_units<S>();
  // Every H up to two panels + 1 (whole panels, a last partial panel, a last partial vector
  // whose units run the scalar formula), and the book's 128; a one-hot layer (no W_x) and a
  // dense one (K_x 1, 7 and H).
  for (isize H : every_up_to_two_tiles(U, {128})) {
    for (isize K_x : {isize{0}, isize{1}, isize{7}, H}) {
      const auto w_x = random_vector<S>(4 * H * std::max(K_x, isize{1}), engine, 0.5);
      const auto w_h = random_vector<S>(4 * H * H, engine, 0.5);
      const auto z0 = random_vector<S>(4 * H, engine), x = random_vector<S>(K_x + 1, engine);
      const auto h_prev = random_vector<S>(H, engine, 1.0), c_prev = random_vector<S>(H, engine);
      // The reference: gemm from z0 (W_x's columns first), then the vector cell.
      auto z = z0, c_ref = c_prev, tanh_ref = c_prev, h_ref = h_prev;
      if (K_x > 0)
        charlstm::gemm(4 * H, isize{1}, K_x, w_x.data(), 4 * H, x.data(), 1, K_x, z.data(), 4 * H,
                       true);
      charlstm::gemm(4 * H, isize{1}, H, w_h.data(), 4 * H, h_prev.data(), 1, H, z.data(), 4 * H,
                     true);
      charlstm::lstm_cell_forward(H, isize{1}, z.data(), c_ref.data(), c_ref.data(),
                                  tanh_ref.data(), h_ref.data());
      std::vector<S, xsimd::aligned_allocator<S>> packed_h(
          static_cast<std::size_t>(charlstm::step_packed_size<S>(H, H))),
          packed_x(
              static_cast<std::size_t>(charlstm::step_packed_size<S>(H, std::max(K_x, isize{1}))));
      charlstm::step_pack(H, H, w_h.data(), 4 * H, packed_h.data());
      if (K_x > 0) charlstm::step_pack(H, K_x, w_x.data(), 4 * H, packed_x.data());
      auto c = c_prev, tanh_c = c_prev, h = random_vector<S>(H + 1, engine);
      const S past_end = h[static_cast<std::size_t>(H)];
      charlstm::lstm_step_fused(H, z0.data(), K_x > 0 ? packed_x.data() : nullptr, K_x, x.data(),
                                packed_h.data(), h_prev.data(), c.data(), tanh_c.data(), h.data());
      INFO("H = " << H << ", K_x = " << K_x);
      const isize W = static_cast<isize>(xsimd::batch<S>::size);
      if (H % W == 0) {
        // 4H is whole register tiles of gemm: the same fused multiply-adds in the same order,
        // the same cell formula: the same bits (what makes a stream's text the same stepped
        // alone or in a batch).
        for (isize j = 0; j < H; ++j) {
          const auto k = static_cast<std::size_t>(j);
          INFO("unit " << j);
          CHECK(c[k] == c_ref[k]);
          CHECK(h[k] == h_ref[k]);
        }
      } else {  // a last partial vector of units: checked within rounding
        const double tolerance =
            (std::is_same<S, float>::value ? 1e-6 : 1e-15) * static_cast<double>(H + K_x + 8);
        const auto cmp_c = compare(c.data(), c_ref.data(), H),
                   cmp_h = compare(h.data(), h_ref.data(), H);
        INFO(cmp_c.describe("c") << cmp_h.describe("h"));
        CHECK(cmp_c.error < tolerance);
        CHECK(cmp_h.error < tolerance);
      }
      CHECK(h[static_cast<std::size_t>(H)] == past_end);  // nothing written past H
    }
  }
}

TEMPLATE_TEST_CASE("gemv_chained equals gemm's register tiles bit for bit and its scalar twin",
                   "[simd]", float, double) {
  using S = TestType;
  std::mt19937_64 engine(19);
  const isize W = static_cast<isize>(xsimd::batch<S>::size);
  // Every row count up to two panels of 8 vectors + 1 (a last partial vector overlapping the
  // rows before it, in its own panel or after a whole one), the book's V 57, 65 and 4H 512.
  for (isize M : every_up_to_two_tiles(8 * W, {57, 65, 512})) {
    for (isize K : {isize{1}, isize{3}, isize{128}}) {
      const isize lda = M + 3;
      const auto a = random_vector<S>(lda * K, engine), x = random_vector<S>(K, engine);
      const auto y = random_vector<S>(M + 1, engine);
      auto chained = y, tiles = y, twin = y;
      charlstm::gemv_chained(M, K, a.data(), lda, x.data(), chained.data());
      charlstm::gemm(M, isize{1}, K, a.data(), lda, x.data(), 1, K, tiles.data(), M, true);
      charlstm::scalar::gemm(M, isize{1}, K, a.data(), 1, lda, x.data(), 1, K, twin.data(), M,
                             true);
      INFO("M = " << M << ", K = " << K);
      const isize tiled = M - M % (4 * W);  // the rows gemm computes in its register tiles
      for (isize r = 0; r < tiled; ++r) {
        INFO("row " << r);
        CHECK(chained[static_cast<std::size_t>(r)] == tiles[static_cast<std::size_t>(r)]);
      }
      const auto cmp = compare(chained.data(), twin.data(), M);
      INFO(cmp.describe("y"));
      CHECK(cmp.error <
            (std::is_same<S, float>::value ? 1e-6 : 1e-15) * static_cast<double>(K + 8));
      CHECK(chained[static_cast<std::size_t>(M)] == y[static_cast<std::size_t>(M)]);
    }
  }
}
