// charlstm/vectorizer.hpp: the book's training windows.  From a corpus of token ids, sequence w
// is ids[w*step, w*step + maxlen) and its target is the next id, ids[w*step + maxlen]; there are
// ceil((len - maxlen) / step) of them, exactly Python's `range(0, len(text) - maxlen, step)`.
// Windows are views into the id array (4 bytes per corpus character), never copies; batches are
// gathered as ids, never as one-hot tensors.  `one_hot` builds the book's dense x, y for users
// who want them.  Uses no Eigen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.hpp"
#include "error.hpp"

namespace charlstm {

struct window_set {
  const token_id* ids = nullptr;  // the corpus, `length` ids; not owned
  index length = 0;
  index maxlen = 0;  // T
  index step = 0;

  // The number of windows: ceil((length - maxlen) / step), 0 if the corpus is too short.
  index size() const { return length > maxlen ? (length - maxlen + step - 1) / step : 0; }
  const token_id* window(index w) const { return ids + w * step; }  // maxlen ids
  token_id target(index w) const { return ids[w * step + maxlen]; }
};

// Windows over `ids` (which must outlive the result).
//   window_set windows = make_windows(ids, 60, 3);   // the book: 200,278 windows on Nietzsche
// Throws if maxlen or step is not positive or the corpus has no window.
inline window_set make_windows(const std::vector<token_id>& ids, index maxlen, index step) {
  require(maxlen > 0, "maxlen must be positive, got " + std::to_string(maxlen));
  require(step > 0, "step must be positive, got " + std::to_string(step));
  window_set set{ids.data(), static_cast<index>(ids.size()), maxlen, step};
  require(set.size() > 0, "the corpus has " + std::to_string(ids.size()) +
                              " characters, fewer than maxlen + 1 = " + std::to_string(maxlen + 1) +
                              ": use a longer text or a smaller maxlen");
  return set;
}

// Gathers windows `which[0..B)` into a time-major batch: ids_out[t*B + b] is step t of window
// which[b] (T*B ids), targets_out[b] its target (B ids).  This is the layout lstm.hpp reads.
inline void gather_batch(const window_set& set, const index* which, index B, token_id* ids_out,
                         token_id* targets_out) {
  for (index b = 0; b < B; ++b) {
    const index w = which[b];
    if (!(w >= 0 && w < set.size())) {
      throw error("gather_batch: window " + std::to_string(w) + " outside [0, " +
                  std::to_string(set.size()) + ")");
    }
    const token_id* src = set.window(w);
    for (index t = 0; t < set.maxlen; ++t) ids_out[t * B + b] = src[t];
    targets_out[b] = set.target(w);
  }
}

// The book's dense arrays: x (N, maxlen, V) and y (N, V), row-major, 1 where the character is.
// For inspection and interoperability only: on Nietzsche x alone is 685 MB as float32.
struct one_hot_arrays {
  index n = 0, maxlen = 0, vocab_size = 0;
  std::vector<std::uint8_t> x;  // (N, maxlen, V)
  std::vector<std::uint8_t> y;  // (N, V)
};

inline one_hot_arrays one_hot(const window_set& set, index vocab_size) {
  one_hot_arrays out{set.size(), set.maxlen, vocab_size, {}, {}};
  out.x.assign(static_cast<std::size_t>(out.n * out.maxlen * vocab_size), 0);
  out.y.assign(static_cast<std::size_t>(out.n * vocab_size), 0);
  for (index w = 0; w < out.n; ++w) {
    for (index t = 0; t < set.maxlen; ++t) {
      out.x[static_cast<std::size_t>((w * set.maxlen + t) * vocab_size + set.window(w)[t])] = 1;
    }
    out.y[static_cast<std::size_t>(w * vocab_size + set.target(w))] = 1;
  }
  return out;
}

}  // namespace charlstm
