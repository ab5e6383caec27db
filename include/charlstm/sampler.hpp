// charlstm/sampler.hpp: the temperature knob of the book (listing 8.2 and `sample` in 8.1) and the
// draw.  Works on probabilities in double whatever the model's scalar, as the book casts to
// float64 first.  Draws come from a caller-given 64-bit engine, so a seed reproduces the text.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lstm.hpp"

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

}  // namespace charlstm
