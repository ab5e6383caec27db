// charlstm/random.hpp: the two draws every random choice here is made of, uniform in [0, 1) and
// standard normal, computed from a 64-bit engine's raw bits so that a seed gives the same numbers
// on every standard library (std::uniform_real_distribution's are not specified).  Not the
// engine: callers own a std::mt19937_64 and pass it in.
#pragma once

#include <cmath>

namespace charlstm {

// Uniform in [0, 1) from 53 random bits: the same numbers on every standard library.
template <class Engine>
double uniform01(Engine& engine) {
  static_assert(Engine::max() - Engine::min() == 0xFFFFFFFFFFFFFFFFull,
                "charlstm draws from a 64-bit engine such as std::mt19937_64");
  return static_cast<double>((engine() - Engine::min()) >> 11) * 0x1.0p-53;
}

// Standard normal (Box-Muller), portable for the same reason.
template <class Engine>
double standard_normal(Engine& engine) {
  const double u1 = 1.0 - uniform01(engine);  // (0, 1]
  const double u2 = uniform01(engine);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace charlstm
