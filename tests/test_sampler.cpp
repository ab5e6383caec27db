// The book's temperature sampling.
#include <catch2/catch.hpp>
#include <charlstm/sampler.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

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

TEST_CASE("Low temperatures pick the argmax; 0 is the argmax exactly", "[sampler]") {
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
