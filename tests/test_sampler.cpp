// The book's temperature sampling.
#include <algorithm>
#include <catch2/catch.hpp>
#include <charlstm/sampler.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "support/check.hpp"

using isize = charlstm::index;  // a bare `index` would clash with POSIX index()

namespace {

// The book's listing, literally: log, divide, exp, normalise (no max subtraction).
std::vector<double> book_reweight(const std::vector<double>& p, double temperature) {
  std::vector<double> q(p.size());
  double sum = 0;
  for (std::size_t k = 0; k < p.size(); ++k) sum += q[k] = std::exp(std::log(p[k]) / temperature);
  for (double& v : q) v /= sum;
  return q;
}

std::vector<double> random_distribution(std::size_t n, std::mt19937_64& engine) {
  std::vector<double> p(n);
  double sum = 0;
  for (double& v : p) sum += v = charlstm::uniform01(engine) + 1e-3;
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace

TEST_CASE("reweight_distribution matches the book's formula", "[sampler]") {
  std::mt19937_64 engine(3);
  for (int trial = 0; trial < 50; ++trial) {
    const auto p = random_distribution(2 + trial % 60, engine);
    for (double temperature : {0.2, 0.5, 1.0, 1.2, 3.0}) {
      const auto q = charlstm::reweight_distribution(p, temperature);
      const auto expected = book_reweight(p, temperature);
      CHECK(test_support::compare(q.data(), expected.data(), static_cast<long>(q.size())).error <
            1e-12);
    }
  }
}

TEST_CASE("Temperature 1 reproduces the distribution (chi-square)", "[sampler]") {
  const std::vector<double> p = {0.05, 0.1, 0.2, 0.3, 0.25, 0.07, 0.03};
  std::mt19937_64 engine(2024);
  const int draws = 200000;
  std::vector<int> counts(p.size(), 0);
  for (int k = 0; k < draws; ++k)
    ++counts[static_cast<std::size_t>(charlstm::sample(p, 1.0, engine))];
  double chi2 = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    const double expected = draws * p[k];
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  // 6 degrees of freedom: P(chi2 > 22.46) = 0.001.
  CHECK(chi2 < 22.46);
}

TEST_CASE("Low temperatures pick the argmax, and 0 is the argmax exactly", "[sampler]") {
  std::mt19937_64 engine(5);
  const std::vector<double> p = {0.1, 0.35, 0.3, 0.25};
  for (int k = 0; k < 1000; ++k) {
    CHECK(charlstm::sample(p, 0.01, engine) == 1);
    CHECK(charlstm::sample(p, 0.0, engine) == 1);
  }
  // A tiny temperature must not overflow: exp(log(0.35) / 1e-6) would.
  const auto q = charlstm::reweight_distribution(p, 1e-6);
  CHECK(q[1] == 1.0);
}

TEST_CASE("Zero probabilities are never drawn", "[sampler]") {
  std::mt19937_64 engine(6);
  const std::vector<double> p = {0.0, 0.5, 0.0, 0.5, 0.0};
  for (int k = 0; k < 10000; ++k) {
    const isize i = charlstm::sample(p, 1.2, engine);
    CHECK((i == 1 || i == 3));
  }
}

TEST_CASE("Bad temperatures throw charlstm::error", "[sampler]") {
  const std::vector<double> p = {0.5, 0.5};
  std::mt19937_64 engine(1);
  for (double bad :
       {-0.5, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    CHECK_THROWS_AS(charlstm::reweight_distribution(p, bad), charlstm::error);
    CHECK_THROWS_AS(charlstm::sample(p, bad, engine), charlstm::error);
  }
  CHECK_THROWS_WITH(charlstm::sample(p, -1.0, engine), Catch::Contains("temperature must be"));
}

TEST_CASE("Sampling is reproducible from the seed", "[sampler]") {
  const std::vector<double> p = {0.2, 0.2, 0.2, 0.2, 0.2};
  std::mt19937_64 a(77), b(77);
  for (int k = 0; k < 100; ++k) CHECK(charlstm::sample(p, 0.7, a) == charlstm::sample(p, 0.7, b));
}

namespace {

// Pearson's statistic of `draws` samples from `sample_one` against the expected distribution q;
// entries with q = 0 must never be drawn.
template <class Draw>
double chi_square(const std::vector<double>& q, int draws, Draw sample_one) {
  std::vector<int> counts(q.size(), 0);
  for (int k = 0; k < draws; ++k) ++counts[static_cast<std::size_t>(sample_one())];
  double chi2 = 0;
  for (std::size_t k = 0; k < q.size(); ++k) {
    if (q[k] == 0) {
      CHECK(counts[k] == 0);
      continue;
    }
    const double expected = draws * q[k];
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  return chi2;
}

}  // namespace

TEST_CASE("top-k keeps exactly the k most likely tokens, renormalised", "[sampler]") {
  std::mt19937_64 engine(11);
  for (int trial = 0; trial < 40; ++trial) {
    const auto p = random_distribution(3 + static_cast<std::size_t>(trial), engine);
    for (isize k : {isize{1}, isize{2}, isize{3}, static_cast<isize>(p.size())}) {
      const auto q = charlstm::top_k_filter(p, k);
      std::vector<double> sorted = p;
      std::sort(sorted.rbegin(), sorted.rend());
      const double threshold = sorted[static_cast<std::size_t>(k - 1)];
      double kept_mass = 0, sum = 0;
      isize kept = 0;
      for (std::size_t i = 0; i < p.size(); ++i) {
        sum += q[i];
        if (q[i] > 0) {
          ++kept;
          kept_mass += p[i];
          CHECK(p[i] >= threshold);
        }
      }
      CHECK(kept == k);
      CHECK(sum == Approx(1.0).epsilon(1e-12));
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (q[i] > 0) CHECK(q[i] == Approx(p[i] / kept_mass).epsilon(1e-12));
      }
    }
  }
  // Ties at the boundary still keep exactly k, the lower index first.
  const std::vector<double> ties = charlstm::top_k_filter({0.25, 0.25, 0.25, 0.25}, 2);
  CHECK(ties[0] == 0.5);
  CHECK(ties[1] == 0.5);
  CHECK(ties[2] == 0.0);
  CHECK(ties[3] == 0.0);
}

TEST_CASE("top-p keeps the smallest most-likely set reaching p, renormalised", "[sampler]") {
  std::mt19937_64 engine(12);
  for (int trial = 0; trial < 40; ++trial) {
    const auto p = random_distribution(3 + static_cast<std::size_t>(trial), engine);
    for (double top_p : {0.05, 0.3, 0.5, 0.9, 0.99}) {
      const auto q = charlstm::top_p_filter(p, top_p);
      double kept_mass = 0, smallest_kept = 1, largest_dropped = 0;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (q[i] > 0) {
          kept_mass += p[i];
          smallest_kept = std::min(smallest_kept, p[i]);
        } else {
          largest_dropped = std::max(largest_dropped, p[i]);
        }
      }
      CHECK(kept_mass >= top_p);                 // reaches p
      CHECK(kept_mass - smallest_kept < top_p);  // and no smaller set of the top ones does
      CHECK(smallest_kept >= largest_dropped);   // the kept are the most likely
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (q[i] > 0) CHECK(q[i] == Approx(p[i] / kept_mass).epsilon(1e-12));
      }
    }
  }
  const auto q = charlstm::top_p_filter({0.5, 0.3, 0.2}, 0.7);
  CHECK(q[0] == Approx(0.625));
  CHECK(q[1] == Approx(0.375));
  CHECK(q[2] == 0.0);
  CHECK(charlstm::top_p_filter({0.1, 0.6, 0.3}, 0.01) == std::vector<double>{0.0, 1.0, 0.0});
}

TEST_CASE("Sampling with top-k and top-p draws from the truncated distribution (chi-square)",
          "[sampler]") {
  const std::vector<double> p = {0.05, 0.1, 0.2, 0.3, 0.25, 0.07, 0.03};
  std::mt19937_64 engine(2025);
  const int draws = 200000;
  // top-k 3 keeps {0.3, 0.25, 0.2}: 2 degrees of freedom, P(chi2 > 13.82) = 0.001.
  charlstm::sampling_options k3{1.0, 3, 1.0};
  const auto q3 = charlstm::sampling_distribution(p, k3);
  CHECK(std::count_if(q3.begin(), q3.end(), [](double v) { return v > 0; }) == 3);
  CHECK(chi_square(q3, draws, [&] { return charlstm::sample(p, k3, engine); }) < 13.82);
  // top-p 0.8 keeps {0.3, 0.25, 0.2, 0.1} (0.75 < 0.8 <= 0.85): 3 d.o.f., P(chi2 > 16.27) = 0.001.
  charlstm::sampling_options p08{1.0, 0, 0.8};
  const auto q8 = charlstm::sampling_distribution(p, p08);
  CHECK(std::count_if(q8.begin(), q8.end(), [](double v) { return v > 0; }) == 4);
  CHECK(q8[1] == Approx(0.1 / 0.85));
  CHECK(chi_square(q8, draws, [&] { return charlstm::sample(p, p08, engine); }) < 16.27);
  // Temperature before truncation: at 0.5, p^2 renormalised, then top-k 2.
  charlstm::sampling_options sharp{0.5, 2, 1.0};
  const auto qs = charlstm::sampling_distribution(p, sharp);
  CHECK(qs[3] == Approx(0.09 / (0.09 + 0.0625)));
  CHECK(qs[4] == Approx(0.0625 / (0.09 + 0.0625)));
}

TEST_CASE("Greedy options pick the argmax and bad options throw", "[sampler]") {
  std::mt19937_64 engine(9);
  const std::vector<double> p = {0.1, 0.35, 0.3, 0.25};
  const charlstm::sampling_options greedy{0, 0, 1};
  for (int k = 0; k < 100; ++k) CHECK(charlstm::sample(p, greedy, engine) == 1);
  CHECK_THROWS_WITH(charlstm::require_sampling({1.0, -1, 1.0}), Catch::Contains("top-k"));
  CHECK_THROWS_WITH(charlstm::require_sampling({1.0, 0, 0.0}), Catch::Contains("top-p"));
  CHECK_THROWS_WITH(charlstm::require_sampling({1.0, 0, 1.5}), Catch::Contains("top-p"));
  CHECK_THROWS_AS(charlstm::require_sampling({-1.0, 0, 1.0}), charlstm::error);
}

TEST_CASE("sample_logits draws what sample draws from softmax(logits)", "[sampler]") {
  // Logits log(p) + 3: softmax gives p back.  The two paths compute the same distribution in
  // another order (exp((z - max) / T) against exp(log(p) / T)), so with the same engine they
  // pick the same token unless a draw lands within rounding of a boundary: 20,000 draws agree.
  const std::vector<double> p = {0.05, 0.1, 0.2, 0.3, 0.25, 0.07, 0.03, 1e-9};
  std::vector<float> z;
  for (double v : p) z.push_back(static_cast<float>(std::log(v) + 3.0));
  // p as the float logits give it.
  std::vector<double> pz(p.size());
  double sum = 0;
  for (std::size_t k = 0; k < p.size(); ++k) sum += pz[k] = std::exp(double(z[k]) - 3.0);
  for (double& v : pz) v /= sum;
  std::vector<double> scratch;
  for (const charlstm::sampling_options& o :
       {charlstm::sampling_options{1.0, 0, 1.0}, charlstm::sampling_options{0.2, 0, 1.0},
        charlstm::sampling_options{1.2, 3, 1.0}, charlstm::sampling_options{0.5, 0, 0.8},
        charlstm::sampling_options{0.0, 0, 1.0}}) {
    std::mt19937_64 a(31), b(31);
    int differ = 0;
    for (int k = 0; k < 20000; ++k) {
      differ += charlstm::sample_logits(z.data(), static_cast<isize>(z.size()), o, a, scratch) !=
                charlstm::sample(pz, o, b);
    }
    INFO("temperature " << o.temperature << ", top-k " << o.top_k << ", top-p " << o.top_p);
    CHECK(differ == 0);
  }
  // And the draws follow the distribution (7 d.o.f. at temperature 1, P(chi2 > 24.32) = 0.001).
  std::mt19937_64 engine(5);
  const charlstm::sampling_options plain{1.0, 0, 1.0};
  CHECK(chi_square(charlstm::sampling_distribution(pz, plain), 200000, [&] {
          return charlstm::sample_logits(z.data(), static_cast<isize>(z.size()), plain, engine,
                                         scratch);
        }) < 24.32);
}

TEMPLATE_TEST_CASE("sample_logits draws from softmax(z / T) at every length 1 .. 2W+1",
                   "[sampler]", float, double) {
  // sample_logits computes exp((z - max) / T) in vectors of W doubles and the rest in a scalar
  // tail, so every length up to two vectors and one more runs the vector body alone, the tail
  // alone, or both.  The reference is the formula in scalar double code, drawn with the same
  // engine: every draw agrees (the two differ only in the last bits of exp).
  constexpr isize W = static_cast<isize>(xsimd::batch<double>::size);
  std::mt19937_64 values(17);
  std::uniform_real_distribution<double> u(-4.0, 4.0);
  std::vector<double> scratch;
  for (isize n = 1; n <= 2 * W + 1; ++n) {
    std::vector<TestType> z(static_cast<std::size_t>(n));
    for (TestType& v : z) v = static_cast<TestType>(u(values));
    const double top = static_cast<double>(*std::max_element(z.begin(), z.end()));
    for (double temperature : {0.3, 0.8, 1.7}) {
      std::vector<double> reference(z.size());
      double sum = 0;
      for (std::size_t k = 0; k < z.size(); ++k) {
        sum += reference[k] = std::exp((static_cast<double>(z[k]) - top) / temperature);
      }
      for (double& v : reference) v /= sum;
      const charlstm::sampling_options o{temperature, 0, 1.0};
      std::mt19937_64 a(100 + static_cast<std::uint64_t>(n)), b(100 + static_cast<std::uint64_t>(n));
      int differ = 0;
      for (int k = 0; k < 2000; ++k) {
        differ += charlstm::sample_logits(z.data(), n, o, a, scratch) != charlstm::draw(reference, b);
      }
      INFO("n = " << n << ", temperature " << temperature);
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("sample_logits refuses logits that are not finite", "[sampler]") {
  std::mt19937_64 engine(1);
  std::vector<double> scratch;
  const std::vector<float> z = {0.5f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
  CHECK_THROWS_WITH(
      charlstm::sample_logits(z.data(), isize{3}, charlstm::sampling_options{}, engine, scratch),
      Catch::Contains("logit 1") && Catch::Contains("not finite"));
  const std::vector<float> inf = {std::numeric_limits<float>::infinity(), 1.0f};
  CHECK_THROWS_AS(
      charlstm::sample_logits(inf.data(), isize{2}, charlstm::sampling_options{}, engine, scratch),
      charlstm::error);
}
