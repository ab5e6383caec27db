// charlstm/training_data.hpp: a corpus as a training run reads it.  The text becomes a
// vocabulary (or is read with a given one), then token ids, then the training part and the
// validation part (the last val_fraction) cut into windows or streams; the text is freed on the
// way, so that only the ids, 4 bytes per token, stay.
//   training_corpus corpus = prepare_training_corpus(load_text(path, c.lowercase), c, path);
//   fit(c, corpus.data, corpus.vocab, m, state);   // engine.hpp
// Not the reading of files (corpus.hpp) nor the loop (engine.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "training.hpp"
#include "vectorizer.hpp"
#include "vocabulary.hpp"

namespace charlstm {

// The corpus as a run reads it: the token ids, the training part first and the validation
// part (the last val_fraction) after it, cut into windows or streams.  The sets point into
// `ids`: a training_data is moved, never copied.
struct training_data {
  std::vector<token_id> ids;
  index n_train = 0, n_val = 0;
  window_set train_windows, val_windows;  // window mode
  stream_set train_streams, val_streams;  // sequence mode

  training_data() = default;
  training_data(const training_data&) = delete;
  training_data& operator=(const training_data&) = delete;
  training_data(training_data&&) = default;
  training_data& operator=(training_data&&) = default;

  const token_id* train_ids() const { return ids.data(); }
  const token_id* val_ids() const { return ids.data() + n_train; }
  // Batches per epoch.
  index batches(const training_config& c) const {
    return c.mode == training_mode::sequence ? train_streams.batches()
                                             : (train_windows.size() + c.batch - 1) / c.batch;
  }
};

// Splits `ids` for `c` and checks that both parts are long enough; `source` names the corpus in
// messages.
inline training_data make_training_data(std::vector<token_id> ids, const training_config& c,
                                        const std::string& source) {
  training_data d;
  d.ids = std::move(ids);
  d.n_train = static_cast<index>(static_cast<double>(d.ids.size()) * (1 - c.val_fraction));
  d.n_val = static_cast<index>(d.ids.size()) - d.n_train;
  const std::string tokens = c.tokens == token_kind::word ? " words" : " characters";
  require(d.n_train > c.maxlen,
          "corpus '" + source + "' has " + std::to_string(d.ids.size()) + tokens + " (" +
              std::to_string(d.n_train) + " for training after --val-fraction " +
              training_detail::general(c.val_fraction) + "), fewer than maxlen + 1 = " +
              std::to_string(c.maxlen + 1) + ": use a longer text or a smaller --maxlen");
  if (c.mode == training_mode::sequence) {
    d.train_streams = make_streams(d.train_ids(), d.n_train, c.batch, c.seq_len);
    require(c.val_fraction == 0 || d.n_val >= 2,
            "the validation part (" + std::to_string(d.n_val) + tokens +
                ") is too short: raise --val-fraction or pass --val-fraction 0");
    if (c.val_fraction > 0) {
      d.val_streams =
          make_streams(d.val_ids(), d.n_val, std::min<index>(c.batch, d.n_val - 1), c.seq_len);
    }
  } else {
    d.train_windows = make_windows(d.train_ids(), d.n_train, c.maxlen, c.step);
    d.val_windows = {d.val_ids(), d.n_val, c.maxlen, c.step};
    require(c.val_fraction == 0 || d.val_windows.size() > 0,
            "the validation part (" + std::to_string(d.n_val) + tokens +
                ") is shorter than maxlen + 1: " +
                "raise --val-fraction, lower --maxlen, or pass --val-fraction 0");
  }
  return d;
}

// A corpus prepared for a run: its vocabulary, its training_data, and its size for a summary.
struct training_corpus {
  token_vocabulary vocab;
  training_data data;
  std::size_t characters = 0;  // code points of the text read
  std::size_t tokens = 0;      // token ids (characters, or words with --tokens word)
};

// Throws unless a character vocabulary built from a text has at most c.max_char_vocab symbols
// (more is not text: a binary file); `source` names the text.  A word vocabulary passes.
inline void require_char_vocabulary_size(const token_vocabulary& vocab, const training_config& c,
                                         const std::string& source) {
  require(vocab.kind() != token_kind::character || vocab.size() <= c.max_char_vocab,
          "corpus '" + source + "' has " + std::to_string(vocab.size()) +
              " distinct characters, more than --max-char-vocab " +
              std::to_string(c.max_char_vocab) +
              ": is it a binary file? For a script with that many characters, raise "
              "--max-char-vocab");
}

// The text as a run trains on it: a vocabulary (`vocab` when given, a resumed model's; else
// built from the text as c.tokens says), the ids, and the training_data for `c`.  Throws
// charlstm::error for an empty text, for a new character vocabulary larger than
// c.max_char_vocab (not text: a binary file), for a character outside a given vocabulary, and as
// make_training_data does; `source` names the corpus in messages.
//   training_corpus corpus = prepare_training_corpus(std::move(text), c, "nietzsche.txt");
// Pitfall: pass the text with std::move (or a temporary): it is freed once encoded, and a copy
// would keep a second one alive while the ids are built.
inline training_corpus prepare_training_corpus(std::u32string text, const training_config& c,
                                               const std::string& source,
                                               std::optional<token_vocabulary> vocab = {}) {
  require(!text.empty(), "corpus '" + source + "' is empty: pass a text file with at least " +
                             std::to_string(c.maxlen + 1) + " characters");
  training_corpus out;
  const bool given = vocab.has_value();
  out.vocab = given                          ? std::move(*vocab)
              : c.tokens == token_kind::word ? token_vocabulary(word_vocabulary(text, c.max_vocab))
                                             : token_vocabulary(char_vocabulary(text));
  if (!given) require_char_vocabulary_size(out.vocab, c, source);
  std::vector<token_id> ids = encode_text(out.vocab, text, false, "corpus " + source);
  out.characters = text.size();
  out.tokens = ids.size();
  std::u32string().swap(text);  // from here on only the ids are kept
  out.data = make_training_data(std::move(ids), c, source);
  return out;
}

}  // namespace charlstm
