// charlstm/vectorizer.hpp: the two ways of cutting a corpus of token ids into batches.
// Windows (the book): sequence w is ids[w*step, w*step + maxlen) and its target is the next id,
// ids[w*step + maxlen]; there are ceil((len - maxlen) / step) of them, exactly Python's
// `range(0, len(text) - maxlen, step)`.
// Streams (sequence mode, as char-rnn and torch-rnn): the corpus is one stream cut into B
// parallel streams of equal length, read T steps at a time, every input's target being the next
// id; batch k of an epoch continues batch k-1 of the same streams, so a state can be carried.
// Windows are views into the id array (4 bytes per corpus character), never copies; batches are
// gathered as ids, never as one-hot tensors.  `one_hot` builds the book's dense x, y for users
// who want them.  Uses no Eigen.
#pragma once

#include <algorithm>
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
// The same over ids[0..length), e.g. the training part of a corpus, without a copy.
inline window_set make_windows(const token_id* ids, index length, index maxlen, index step) {
  require(maxlen > 0, "maxlen must be positive, got " + std::to_string(maxlen));
  require(step > 0, "step must be positive, got " + std::to_string(step));
  window_set set{ids, length, maxlen, step};
  require(set.size() > 0, "the corpus has " + std::to_string(length) +
                              " characters, fewer than maxlen + 1 = " + std::to_string(maxlen + 1) +
                              ": use a longer text or a smaller maxlen");
  return set;
}
inline window_set make_windows(const std::vector<token_id>& ids, index maxlen, index step) {
  return make_windows(ids.data(), static_cast<index>(ids.size()), maxlen, step);
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

// B parallel streams over a corpus of `length` ids, read in chunks of up to seq_len steps.
// Stream b holds inputs ids[b*L, (b+1)*L) with targets one position later, L = (length-1) / B;
// the last < B ids of the corpus are not read.  Chunk k is steps [k*seq_len, min((k+1)*seq_len,
// L)) of every stream: the last chunk of an epoch may be shorter.
struct stream_set {
  const token_id* ids = nullptr;  // the corpus, `length` ids; not owned
  index length = 0;
  index streams = 0;  // B
  index seq_len = 0;  // T

  index stream_length() const { return streams > 0 ? (length - 1) / streams : 0; }  // L
  index batches() const { return (stream_length() + seq_len - 1) / seq_len; }
  index steps_in(index batch) const {
    return std::min(seq_len, stream_length() - batch * seq_len);
  }
  // Targets in chunks [0, batch): what an epoch has trained on before chunk `batch`.
  index targets_before(index batch) const {
    return std::min(batch * seq_len, stream_length()) * streams;
  }

  // Chunk `batch` as time-major ids and targets, steps_in(batch) * B of each
  // (ids_out[t*B + b] is step t of stream b, targets_out[t*B + b] the id after it).
  void gather(index batch, token_id* ids_out, token_id* targets_out) const {
    require(batch >= 0 && batch < batches(), "stream_set: chunk " + std::to_string(batch) +
                                                 " outside [0, " + std::to_string(batches()) + ")");
    const index L = stream_length(), T = steps_in(batch), t0 = batch * seq_len;
    for (index t = 0; t < T; ++t) {
      for (index b = 0; b < streams; ++b) {
        const index at = b * L + t0 + t;
        ids_out[t * streams + b] = ids[at];
        targets_out[t * streams + b] = ids[at + 1];
      }
    }
  }
};

// B streams over `ids` (which must outlive the result), read seq_len steps at a time.
//   stream_set streams = make_streams(ids, 128, 100);
// Throws if B or seq_len is not positive or the corpus has fewer than B + 1 ids.
// The same over ids[0..length), e.g. the training part of a corpus, without a copy.
inline stream_set make_streams(const token_id* ids, index length, index streams, index seq_len) {
  require(streams > 0, "the number of streams (batch) must be positive, got " +
                           std::to_string(streams));
  require(seq_len > 0, "seq_len must be positive, got " + std::to_string(seq_len));
  require(length > streams, "the text has " + std::to_string(length) + " tokens, too few for " +
                                std::to_string(streams) +
                                " streams (batch) of at least one step: use a longer text or a "
                                "smaller --batch");
  return {ids, length, streams, seq_len};
}
inline stream_set make_streams(const std::vector<token_id>& ids, index streams, index seq_len) {
  return make_streams(ids.data(), static_cast<index>(ids.size()), streams, seq_len);
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
