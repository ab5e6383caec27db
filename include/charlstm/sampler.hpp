// charlstm/sampler.hpp: the temperature knob of the book (listing 8.2 and `sample` in 8.1), the
// truncations later samplers added (top-k: Fan et al. 2018; top-p, "nucleus": Holtzman et al.
// 2019) and the draw.  Works on probabilities in double whatever the model's scalar, as the book
// casts to float64 first.  Draws come from a caller-given 64-bit engine, so a seed reproduces
// the text.  Not the generation loop (generate.hpp, generator.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "random.hpp"
#include "simd.hpp"

namespace charlstm {

inline void require_temperature(double temperature) {
  if (!(std::isfinite(temperature) && temperature >= 0)) {
    throw error(
        "temperature must be a finite number >= 0 (0 picks the most likely character), got " +
        std::to_string(temperature));
  }
}

// The book's reweight_distribution: exp(log(p) / temperature), normalised.
//   std::vector<double> q = reweight_distribution(p, 0.5);   // sharper than p
// Computed stably: the largest log(p)/temperature is subtracted before exp, which changes
// nothing mathematically and keeps tiny temperatures from overflowing.  Zero probabilities stay
// zero.  Temperature 0 gives the one-hot of the argmax (the limit).  Throws for a temperature that
// is negative, NaN or infinite, and for p without a positive entry.
inline std::vector<double> reweight_distribution(const std::vector<double>& p, double temperature) {
  require_temperature(temperature);
  require(!p.empty(), "reweight_distribution: empty distribution");
  std::size_t best = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (!(p[k] >= 0 && std::isfinite(p[k]))) {
      throw error("reweight_distribution: p[" + std::to_string(k) + "] = " + std::to_string(p[k]) +
                  " is not a probability");
    }
    if (p[k] > p[best]) best = k;
  }
  require(p[best] > 0, "reweight_distribution: all probabilities are zero");
  std::vector<double> q(p.size(), 0.0);
  if (temperature == 0) {
    q[best] = 1.0;
    return q;
  }
  const double top = std::log(p[best]) / temperature;
  double sum = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    q[k] = p[k] > 0 ? std::exp(std::log(p[k]) / temperature - top) : 0.0;
    sum += q[k];
  }
  for (double& v : q) v /= sum;
  return q;
}

// One index drawn from the distribution q (non-negative, summing to ~1): the book's
// np.random.multinomial(1, q) followed by argmax.
template <class Engine>
index draw(const std::vector<double>& q, Engine& engine) {
  double sum = 0;
  for (double v : q) sum += v;
  const double u = uniform01(engine) * sum;
  double acc = 0;
  index last_positive = 0;
  for (std::size_t k = 0; k < q.size(); ++k) {
    if (q[k] <= 0) continue;
    acc += q[k];
    last_positive = static_cast<index>(k);
    if (u < acc) return last_positive;
  }
  return last_positive;  // u fell past the rounding error at the end
}

// The book's sample(preds, temperature): reweight, then draw.  Temperature 0 is the argmax.
//   std::mt19937_64 engine(seed);  index next = sample(probs, 0.5, engine);
template <class Engine>
index sample(const std::vector<double>& p, double temperature, Engine& engine) {
  // At temperature 0 the draw is certain but still consumes one number, so that the engine's
  // stream does not depend on the temperature.
  return draw(reweight_distribution(p, temperature), engine);
}

// How a distribution becomes a draw: reweight by temperature (0: the argmax, greedy), then keep
// the top_k most likely tokens (0: all), then the smallest set of most likely tokens whose mass
// reaches top_p (1: all); renormalise and draw.  The order is Hugging Face's.
struct sampling_options {
  double temperature = 1.0;
  index top_k = 0;
  double top_p = 1.0;
};

// Throws unless every field is in range (temperature >= 0, top_k >= 0, 0 < top_p <= 1).
inline void require_sampling(const sampling_options& o) {
  require_temperature(o.temperature);
  require(o.top_k >= 0, "top-k must be >= 0 (0 keeps every token), got " + std::to_string(o.top_k));
  require(std::isfinite(o.top_p) && o.top_p > 0 && o.top_p <= 1,
          "top-p must be in (0, 1] (1 keeps every token), got " + std::to_string(o.top_p));
}

namespace sampler_detail {
// "a before b": more likely first, ties to the lower index: a strict total order, so the
// truncations below are deterministic without a stable sort.
struct more_likely {
  const std::vector<double>* q;
  bool operator()(std::size_t a, std::size_t b) const {
    return (*q)[a] > (*q)[b] || ((*q)[a] == (*q)[b] && a < b);
  }
};
inline std::vector<std::size_t> positions(std::size_t n) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  return order;
}
inline void normalise(std::vector<double>& q) {
  double sum = 0;
  for (double v : q) sum += v;
  require(sum > 0, "sampler: the distribution has no positive entry");
  for (double& v : q) v /= sum;
}
}  // namespace sampler_detail

// Keeps the k largest entries of q (exactly k; ties go to the lower index), zeroes the rest and
// renormalises.  k = 0 or k >= q.size() keeps everything (still renormalised).
//   top_k_filter({0.5, 0.3, 0.2}, 2)  ->  {0.625, 0.375, 0}
inline std::vector<double> top_k_filter(std::vector<double> q, index k) {
  require(k >= 0, "top_k_filter: k must be >= 0");
  if (k > 0 && static_cast<std::size_t>(k) < q.size()) {
    // Linear time: only the k-th position is found, the k before it are not sorted.
    std::vector<std::size_t> order = sampler_detail::positions(q.size());
    std::nth_element(order.begin(), order.begin() + (k - 1), order.end(),
                     sampler_detail::more_likely{&q});
    for (std::size_t r = static_cast<std::size_t>(k); r < order.size(); ++r) q[order[r]] = 0;
  }
  sampler_detail::normalise(q);
  return q;
}

// Nucleus truncation: keeps the smallest set of most likely entries whose total reaches
// p * sum(q), zeroes the rest and renormalises.  The most likely entry is always kept.
//   top_p_filter({0.5, 0.3, 0.2}, 0.7)  ->  {0.625, 0.375, 0}   (0.5 < 0.7 <= 0.8)
// Pitfall: the comparison is exact, so p equal to a prefix sum stops at that prefix only when
// the floating-point sums agree; p = 1 always keeps every positive entry.
inline std::vector<double> top_p_filter(std::vector<double> q, double p) {
  require(std::isfinite(p) && p > 0 && p <= 1, "top_p_filter: p must be in (0, 1]");
  if (p < 1) {
    double total = 0;
    for (double v : q) total += v;
    // (-q, index) pairs sort most likely first, ties to the lower index, without indirection.
    std::vector<std::pair<double, std::size_t>> order(q.size());
    for (std::size_t i = 0; i < q.size(); ++i) order[i] = {-q[i], i};
    std::sort(order.begin(), order.end());
    double kept = 0;
    std::size_t r = 0;
    while (r < order.size() && (r == 0 || kept < p * total)) kept += q[order[r++].second];
    for (; r < order.size(); ++r) q[order[r].second] = 0;
  }
  sampler_detail::normalise(q);
  return q;
}

// The distribution `options` draws from: temperature, then top-k, then top-p.
inline std::vector<double> sampling_distribution(const std::vector<double>& p,
                                                 const sampling_options& options) {
  require_sampling(options);
  std::vector<double> q = reweight_distribution(p, options.temperature);
  if (options.top_k > 0) q = top_k_filter(std::move(q), options.top_k);
  if (options.top_p < 1) q = top_p_filter(std::move(q), options.top_p);
  return q;
}

// Draws one index from p as `options` say; consumes exactly one number from the engine whatever
// the options (greedy included), so streams with different options stay in step.
//   index next = sample(probs, sampling_options{0.8, 40, 0.95}, engine);
template <class Engine>
index sample(const std::vector<double>& p, const sampling_options& options, Engine& engine) {
  return draw(sampling_distribution(p, options), engine);
}

// The same draw from logits z (n) instead of probabilities: softmax(z)^(1/T), renormalised, is
// softmax(z / T), so the distribution is sample(softmax(z), options)'s, computed with one exp per
// token and no logarithm (the stateful loops call this for every token).  `q` is scratch, reused
// so that a loop allocates nothing without top-k or top-p.  Consumes exactly one number from the
// engine.  Throws if a logit is not finite (a model whose weights or state have overflowed).
//   std::vector<double> q;  index next = sample_logits(z.data(), V, options, engine, q);
template <class S, class Engine>
index sample_logits(const S* z, index n, const sampling_options& options, Engine& engine,
                    std::vector<double>& q) {
  require_sampling(options);
  require(n > 0, "sample_logits: no logits");
  q.resize(static_cast<std::size_t>(n));
  index best = 0;
  for (index k = 0; k < n; ++k) {
    if (!std::isfinite(z[k])) {
      throw error("sampler: logit " + std::to_string(k) + " is " + std::to_string(z[k]) +
                  ": the model's weights or state are not finite");
    }
    if (z[k] > z[best]) best = k;
    q[static_cast<std::size_t>(k)] = static_cast<double>(z[k]);
  }
  if (options.temperature == 0) {
    std::fill(q.begin(), q.end(), 0.0);
    q[static_cast<std::size_t>(best)] = 1.0;
  } else {
    exp_shifted(n, q.data(), static_cast<double>(z[best]), options.temperature);
  }
  if (options.top_k > 0) q = top_k_filter(std::move(q), options.top_k);
  if (options.top_p < 1) q = top_p_filter(std::move(q), options.top_p);
  return draw(q, engine);
}

}  // namespace charlstm
