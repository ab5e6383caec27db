// charlstm/parameters.hpp: every scalar of a model of N stacked LSTM(H) layers -> Dense(V) in one
// aligned buffer, with named views per layer; the same type holds gradients and optimizer
// moments.  Not the model's arithmetic (model.hpp), not the update rule (optimizer.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "config.hpp"
#include "dense.hpp"
#include "error.hpp"
#include "lstm.hpp"
#include "tensor.hpp"

namespace charlstm {

// All parameters of the model in one aligned buffer, with named views.  The same type holds the
// gradients and the optimizer's state, so the optimizer, zeroing and checkpoints are one loop
// over `data`.  Layout: layer 0, the dense layer, then layers 1..L-1 (one layer is the book's
// layout).  Copies re-bind the views to their own buffer.
template <class S>
class parameters {
 public:
  index vocab_size, hidden_size, layers;   // V, H, L
  aligned_buffer<S> data;                  // every scalar below, zero-initialised
  std::vector<lstm_weights<S>> lstm_layers;  // bottom first; layer 0 reads tokens (4H, V),
                                           // layer l >= 1 reads layer l-1's h (4H, H)
  lstm_weights<S> lstm;                    // layer 0, the same view as lstm_layers[0]
  dense_weights<S> dense;                  // on the top layer's h

  parameters(index V, index H, index L = 1)
      : vocab_size(V),
        hidden_size(H),
        layers(L),
        data(checked_size(V, H, L), S(0)),
        lstm(data.data(), V, H),
        dense(data.data() + lstm_weights<S>::buffer_size(V, H), V, H) {
    lstm_layers.push_back(lstm);
    S* next = data.data() + lstm_weights<S>::buffer_size(V, H) + dense_weights<S>::buffer_size(V, H);
    for (index l = 1; l < L; ++l) {
      lstm_layers.emplace_back(next, H, H);
      next += lstm_weights<S>::buffer_size(H, H);
    }
  }
  parameters(const parameters& other)
      : parameters(other.vocab_size, other.hidden_size, other.layers) {
    data = other.data;
  }
  parameters& operator=(const parameters& other) {
    require(other.vocab_size == vocab_size && other.hidden_size == hidden_size &&
                other.layers == layers,
            "parameters: cannot assign a model of another shape");
    data = other.data;
    return *this;
  }

  index size() const { return static_cast<index>(data.size()); }
  void set_zero() { std::fill(data.begin(), data.end(), S(0)); }
  // False if any value is NaN or infinite (a diverged model).
  bool all_finite() const {
    return std::all_of(data.begin(), data.end(), [](S v) { return std::isfinite(v); });
  }

  // The tensors by name, in a fixed order, for checkpoints and tests.  Shapes are (rows, cols);
  // a vector has cols 1.  Storage is column-major.  Layer 0 is "lstm.*" (the book's names),
  // layer l >= 1 is "lstm.l<l>.*".
  struct tensor_view {
    std::string name;
    S* data;
    index rows, cols;
  };
  std::vector<tensor_view> tensors() {
    std::vector<tensor_view> out;
    for (index l = 0; l < layers; ++l) {
      lstm_weights<S>& w = lstm_layers[static_cast<std::size_t>(l)];
      const std::string prefix = l == 0 ? "lstm." : "lstm.l" + std::to_string(l) + ".";
      out.push_back({prefix + "w_x", w.w_x.data(), w.w_x.rows(), w.w_x.cols()});
      out.push_back({prefix + "w_h", w.w_h.data(), w.w_h.rows(), w.w_h.cols()});
      out.push_back({prefix + "b", w.b.data(), w.b.rows(), 1});
      if (l == 0) {
        out.push_back({"dense.w", dense.w.data(), dense.w.rows(), dense.w.cols()});
        out.push_back({"dense.b", dense.b.data(), dense.b.rows(), 1});
      }
    }
    return out;
  }

  // Scalars of a model's parameters without padding (what a checkpoint stores per buffer).
  static std::int64_t count(std::int64_t V, std::int64_t H, std::int64_t L) {
    return 4 * H * V + 4 * H * H + 4 * H + V * H + V + (L - 1) * (8 * H * H + 4 * H);
  }

 private:
  static std::size_t checked_size(index V, index H, index L) {
    require(V > 0 && V <= max_vocab_size, "model: vocabulary size must be in [1, " +
                                              std::to_string(max_vocab_size) + "], got " +
                                              std::to_string(V));
    require(H > 0 && H <= max_hidden_size, "model: hidden size must be in [1, " +
                                               std::to_string(max_hidden_size) + "], got " +
                                               std::to_string(H));
    require(L > 0 && L <= max_layers, "model: layers must be in [1, " +
                                          std::to_string(max_layers) + "], got " +
                                          std::to_string(L));
    return static_cast<std::size_t>(lstm_weights<S>::buffer_size(V, H) +
                                    dense_weights<S>::buffer_size(V, H) +
                                    (L - 1) * lstm_weights<S>::buffer_size(H, H));
  }
};

}  // namespace charlstm
