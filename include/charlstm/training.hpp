// charlstm/training.hpp: a training run's typed configuration and state, their one validation,
// and their one reader and writer in a checkpoint's metadata and tensors.
//   training_config c;  c.hidden = 256;  validate(c);
//   checkpoint_info info = training_checkpoint_info(vocab, c, state, sample_window);
//   training_config back = read_training_config(info, m);   // validated
// Fields are named like the tool's flags (--lr is lr), and messages name the flags, so that the
// tool and the library say the same thing.  Not the loop that uses them (engine.hpp).
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "optimizer.hpp"
#include "sampler.hpp"

namespace charlstm {

enum class training_mode { sequence, window };

inline const char* mode_name(training_mode m) {
  return m == training_mode::window ? "window" : "sequence";
}

// Every setting of a run.  The first group is stored in the checkpoint and a resumed run takes
// it from there; the second is this run's only.
struct training_config {
  // Stored.
  std::vector<std::string> corpus;  // as the user named it: files, folders, corpus names or "-"
                                    // (standard input); shown, not opened here
  training_mode mode = training_mode::sequence;
  index seq_len = 100;  // steps per update (sequence mode)
  index maxlen = 60;    // window length (window mode; the samples' seed length)
  index step = 3;       // tokens between window starts
  index batch = 128;    // windows per batch, or streams
  index hidden = 128, layers = 1;  // stored as the model's shape
  optimizer_kind optimizer = optimizer_kind::rmsprop;  // stored as the optimizer's state
  double lr = 0.01;
  double lr_decay = 1;       // per epoch after lr_decay_after (1: off)
  long lr_decay_after = 10;  // epochs at the full rate
  long patience = 0;         // epochs without a better validation loss before stopping (0: off)
  double dropout = 0;        // between stacked layers
  double clip_norm = 5;      // global gradient norm (0: off)
  double val_fraction = 0.1;  // held out at the end of the corpus
  bool lowercase = true;
  std::uint64_t seed = 1;
  std::string init_from;  // the model a fine-tuning run started from ("": none); shown only
  // This run's.
  token_kind tokens = token_kind::character;  // a new model's (a resumed one keeps its vocabulary)
  index max_vocab = 10000;                    // word vocabulary cap
  index max_char_vocab = 1000;                // more distinct characters: not text
  long epochs = 60;                           // total to reach
  std::int64_t max_steps = -1;                // optimizer steps in all (-1: no limit)
  double time_limit = 0;                      // minutes of training in this run (0: none)
  index threads = 1;
  index log_every = 20;      // steps between progress events that metrics log
  index sample_length = 400;  // tokens sampled per temperature after each epoch (0: none)
  std::vector<double> temperatures{0.2, 0.5, 1.0, 1.2};
  std::string out;  // the checkpoint to write; the best one is best_checkpoint_path(out)
};

// The learning rate a fresh run of `kind` uses when none is given: RMSprop 0.01 (the book's),
// Adam 0.002 (char-rnn's; PyTorch's default is 0.001).
inline double default_learning_rate(optimizer_kind kind) {
  return kind == optimizer_kind::adam ? 0.002 : 0.01;
}

// The learning rate of `epoch` (1-based): lr, times lr_decay for every epoch finished after the
// first lr_decay_after.
inline double learning_rate_at(const training_config& c, long epoch) {
  return c.lr * std::pow(c.lr_decay, static_cast<double>(std::max(0L, epoch - 1 - c.lr_decay_after)));
}

// The corpus setting as one line for messages: its arguments separated by spaces.
inline std::string corpus_setting_text(const std::vector<std::string>& corpus) {
  std::string text;
  for (const std::string& argument : corpus) text += (text.empty() ? "" : " ") + argument;
  return text;
}

namespace training_detail {

// Fixed with `precision` decimals (the checkpoint's 17), and %g.
inline std::string fixed(double v, int precision) {
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}
inline std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace training_detail

// Throws charlstm::error naming the flag unless every setting is in range: the one place where
// the limits of a run are checked.
inline void validate(const training_config& c) {
  using training_detail::fixed;
  using training_detail::general;
  const auto in = [](index v, index lo, index hi) { return v >= lo && v <= hi; };
  const auto range = [](index hi) { return "[1, " + std::to_string(hi) + "]"; };
  require(c.epochs >= 1, "--epochs must be at least 1, got " + std::to_string(c.epochs));
  require(c.max_steps == -1 || c.max_steps >= 1, "--max-steps must be at least 1");
  require(std::isfinite(c.time_limit) && c.time_limit >= 0,
          "--time-limit must be a number of minutes >= 0 (0: no limit), got " +
              general(c.time_limit));
  require(in(c.maxlen, 1, max_sequence_length),
          "--maxlen must be in " + range(max_sequence_length) + ", got " +
              std::to_string(c.maxlen));
  require(c.step >= 1, "--step must be at least 1, got " + std::to_string(c.step));
  require(in(c.hidden, 1, max_hidden_size),
          "--hidden must be in " + range(max_hidden_size) + ", got " + std::to_string(c.hidden));
  require(in(c.batch, 1, max_batch),
          "--batch must be in " + range(max_batch) + ", got " + std::to_string(c.batch));
  // Any rate a float holds is accepted: a rate that makes training diverge is stopped by the
  // divergence guard (engine.hpp), with the last good checkpoint kept.
  require(std::isfinite(c.lr) && c.lr > 0 && c.lr <= std::numeric_limits<float>::max(),
          "--lr must be a positive finite number (at most 3.4e38), got " + general(c.lr));
  require(std::isfinite(c.val_fraction) && c.val_fraction >= 0 && c.val_fraction < 1,
          "--val-fraction must be in [0, 1), got " + fixed(c.val_fraction, 6));
  require(in(c.threads, 1, max_threads),
          "--threads must be in " + range(max_threads) + ", got " + std::to_string(c.threads));
  require(c.sample_length >= 0, "--sample-length must be >= 0");
  require(c.log_every >= 1, "--log-every must be at least 1, got " + std::to_string(c.log_every));
  require(std::isfinite(c.clip_norm) && c.clip_norm >= 0,
          "--clip-norm must be a finite number >= 0 (0: off), got " + general(c.clip_norm));
  require(c.max_char_vocab >= 1,
          "--max-char-vocab must be at least 1, got " + std::to_string(c.max_char_vocab));
  require(in(c.seq_len, 1, max_sequence_length),
          "--seq-len must be in " + range(max_sequence_length) + ", got " +
              std::to_string(c.seq_len));
  require(in(c.layers, 1, max_layers),
          "--layers must be in " + range(max_layers) + ", got " + std::to_string(c.layers));
  require(std::isfinite(c.dropout) && c.dropout >= 0 && c.dropout < 1,
          "--dropout must be in [0, 1), got " + fixed(c.dropout, 6));
  require(c.dropout == 0 || c.layers > 1,
          "--dropout acts between stacked layers: use --layers 2 or more, or --dropout 0");
  require(std::isfinite(c.lr_decay) && c.lr_decay > 0 && c.lr_decay <= 1,
          "--lr-decay must be in (0, 1] (1: off), got " + fixed(c.lr_decay, 6));
  require(c.lr_decay_after >= 0, "--lr-decay-after must be >= 0");
  require(c.patience >= 0, "--patience must be >= 0 (0: off)");
  for (double t : c.temperatures) require_temperature(t);
  require(!c.temperatures.empty(), "--temperatures: give at least one value, e.g. 0.2,0.5,1.0,1.2");
  require(c.max_vocab >= 2 && c.max_vocab <= max_vocab_size,
          "--max-vocab must be in [2, " + std::to_string(max_vocab_size) + "], got " +
              std::to_string(c.max_vocab));
}

// Where a run is: what a checkpoint must hold besides the model to continue it bit-identically.
template <class S>
struct training_state {
  long epoch = 0;            // epochs finished
  index epoch_batch = 0;     // batches of the next epoch already trained (0: at a boundary)
  double epoch_loss = 0;     // their mean loss
  std::mt19937_64 rng;       // at the start of the next epoch (window mode's shuffle)
  layer_states<S> carried;   // sequence mode part-way through an epoch: every layer's (h, c)
  double best_val = std::numeric_limits<double>::infinity();  // best validation loss so far
  long bad_epochs = 0;       // epochs since it improved
  optimizer_state<S> optimizer;

  // A fresh run's state: zero buffers for `m`, the engine seeded with c.seed.
  static training_state fresh(const training_config& c, const model<S>& m) {
    training_state s;
    s.rng.seed(c.seed);
    s.optimizer = optimizer_state<S>(c.optimizer, m.params);
    return s;
  }
};

// The checkpoint's contents for a run: `vocab`, the stored settings of `c`, the state `s`
// (counters, random engine, best validation loss, the carried state part-way through a
// sequence-mode epoch) and the window generate starts from by default.  The one writer.
template <class S>
checkpoint_info training_checkpoint_info(const token_vocabulary& vocab, const training_config& c,
                                         const training_state<S>& s,
                                         const std::u32string& sample_window) {
  using training_detail::fixed;
  std::ostringstream rng;
  rng << s.rng;
  std::map<std::string, std::string> meta{
      {"corpus", c.corpus.size() == 1 ? c.corpus.front() : corpus_setting_text(c.corpus)},
      {"mode", mode_name(c.mode)},
      {"seq_len", std::to_string(c.seq_len)},
      {"dropout", fixed(c.dropout, 17)},
      {"lr_decay", fixed(c.lr_decay, 17)},
      {"lr_decay_after", std::to_string(c.lr_decay_after)},
      {"patience", std::to_string(c.patience)},
      {"maxlen", std::to_string(c.maxlen)},
      {"step", std::to_string(c.step)},
      {"batch", std::to_string(c.batch)},
      {"lr", fixed(c.lr, 17)},
      {"lowercase", c.lowercase ? "1" : "0"},
      {"val_fraction", fixed(c.val_fraction, 17)},
      {"seed", std::to_string(c.seed)},
      {"clip_norm", fixed(c.clip_norm, 17)},
      {"epoch", std::to_string(s.epoch)},
      {"epoch_batch", std::to_string(s.epoch_batch)},
      {"epoch_loss", fixed(s.epoch_loss, 17)},
      {"rng", rng.str()},
      {"sample_window", encode_utf8(sample_window)},
      {"bad_epochs", std::to_string(s.bad_epochs)}};
  if (std::isfinite(s.best_val)) meta["best_val"] = fixed(s.best_val, 17);
  if (!c.init_from.empty()) meta["init_from"] = c.init_from;
  // One argument is "corpus" alone, as before several were possible; several are a JSON array
  // of strings in "corpus_list" too ("corpus" then shows them joined by spaces).
  if (c.corpus.size() != 1) {
    std::string list;
    for (const std::string& argument : c.corpus)
      list += (list.empty() ? "" : ",") + json_quote(argument);
    meta["corpus_list"] = "[" + list + "]";
  }
  std::map<std::string, matrix<double>> tensors;
  if (c.mode == training_mode::sequence && s.epoch_batch > 0) {
    for (std::size_t l = 0; l < s.carried.h.size(); ++l) {
      tensors["state.h.l" + std::to_string(l)] = s.carried.h[l].template cast<double>();
      tensors["state.c.l" + std::to_string(l)] = s.carried.c[l].template cast<double>();
    }
  }
  return checkpoint_info(vocab, std::move(meta), std::move(tensors));
}

namespace training_detail {

inline const std::string& text_at(const checkpoint_info& info, const std::string& key) {
  auto it = info.metadata.find(key);
  require(it != info.metadata.end(),
          "checkpoint metadata has no '" + key + "' (not written by `charlstm train`?)");
  return it->second;
}
inline long long integer_at(const checkpoint_info& info, const std::string& key, long long lo,
                            long long hi) {
  const std::string& v = text_at(info, key);
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  require(!v.empty() && *end == '\0' && errno == 0,
          "checkpoint metadata '" + key + "' is not an integer: '" + v + "'");
  require(x >= lo && x <= hi, "checkpoint metadata '" + key + "' is " + v + ", outside [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) +
                                  "]: the checkpoint is damaged");
  return x;
}
inline double number_at(const checkpoint_info& info, const std::string& key) {
  const std::string& v = text_at(info, key);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  require(!v.empty() && *end == '\0' && std::isfinite(x),
          "checkpoint metadata '" + key + "' is not a number: '" + v + "'");
  return x;
}

}  // namespace training_detail

// The corpus setting a run stored: "corpus_list" when it has one (several arguments), else the
// one argument "corpus" (every checkpoint before several were possible).
inline std::vector<std::string> stored_corpus(const checkpoint_info& info) {
  const auto list = info.metadata.find("corpus_list");
  if (list == info.metadata.end()) return {training_detail::text_at(info, "corpus")};
  const json_value v =
      parse_json(list->second.data(), list->second.size(), "checkpoint metadata 'corpus_list'");
  require(v.type == json_value::kind::array,
          "checkpoint metadata 'corpus_list' is not a JSON array: the checkpoint is damaged");
  std::vector<std::string> corpus;
  for (const json_value& item : v.items) {
    require(item.type == json_value::kind::string,
            "checkpoint metadata 'corpus_list' holds a value that is not a string: the "
            "checkpoint is damaged");
    corpus.push_back(item.text);
  }
  return corpus;
}

// Whether a checkpoint was written by a training run (it has the run's settings), rather than
// by save_checkpoint alone.
inline bool has_training_metadata(const checkpoint_info& info) {
  return info.metadata.count("maxlen") != 0 && info.metadata.count("batch") != 0;
}

// The stored settings of a checkpoint written by a run, validated (a damaged value throws,
// naming it); the shape comes from `m`.  A version-1 checkpoint
// (before sequence mode) reads as window mode without learning-rate decay.  The run-only
// settings are training_config's defaults.
template <class S>
training_config read_training_config(const checkpoint_info& info, const model<S>& m) {
  using namespace training_detail;
  training_config c;
  c.corpus = stored_corpus(info);
  if (const auto from = info.metadata.find("init_from"); from != info.metadata.end())
    c.init_from = from->second;
  const bool has_mode = info.metadata.count("mode") != 0;
  if (has_mode) {
    const std::string& mode = text_at(info, "mode");
    require(mode == "sequence" || mode == "window",
            "checkpoint metadata 'mode' is '" + mode + "', not sequence or window");
    c.mode = mode == "window" ? training_mode::window : training_mode::sequence;
    c.seq_len = static_cast<index>(integer_at(info, "seq_len", 1, max_sequence_length));
    c.dropout = number_at(info, "dropout");
    c.lr_decay = number_at(info, "lr_decay");
    c.lr_decay_after = static_cast<long>(integer_at(info, "lr_decay_after", 0, 1000000000));
    c.patience = static_cast<long>(integer_at(info, "patience", 0, 1000000000));
  } else {
    c.mode = training_mode::window;
    c.lr_decay = 1;
  }
  c.maxlen = static_cast<index>(integer_at(info, "maxlen", 1, max_sequence_length));
  c.step = static_cast<index>(integer_at(info, "step", 1, max_sequence_length));
  c.batch = static_cast<index>(integer_at(info, "batch", 1, max_batch));
  c.hidden = m.hidden_size();
  c.layers = m.layers();
  const auto kind = info.metadata.find("optimizer");  // version 1: RMSprop
  c.optimizer = kind == info.metadata.end() ? optimizer_kind::rmsprop
                                            : optimizer_from_name(kind->second, "checkpoint optimizer");
  c.lr = number_at(info, "lr");
  c.val_fraction = number_at(info, "val_fraction");
  c.clip_norm = number_at(info, "clip_norm");
  const std::string& lower = text_at(info, "lowercase");
  require(lower == "0" || lower == "1",
          "checkpoint metadata 'lowercase' is '" + lower + "', not 0 or 1");
  c.lowercase = lower == "1";
  c.seed = static_cast<std::uint64_t>(
      integer_at(info, "seed", 0, std::numeric_limits<long long>::max()));
  c.tokens = info.vocab.kind();
  try {
    validate(c);
  } catch (const error& e) {
    throw error(std::string("the checkpoint's settings are invalid (damaged file?): ") + e.what());
  }
  return c;
}

// The state of a run from its checkpoint, validated against the settings `c` and the model
// `m`: counters in range, the random engine's state, and in sequence mode part-way through an
// epoch the carried state of every layer with c.batch streams.  The optimizer's state must have
// been loaded into `optimizer` (load_checkpoint with an optimizer_state).
template <class S>
training_state<S> read_training_state(const checkpoint_info& info, const training_config& c,
                                      const model<S>& m, optimizer_state<S> optimizer) {
  using namespace training_detail;
  training_state<S> s;
  s.optimizer = std::move(optimizer);
  s.epoch = static_cast<long>(integer_at(info, "epoch", 0, 1000000000));
  s.epoch_batch = static_cast<index>(integer_at(info, "epoch_batch", 0, 1000000000000LL));
  s.epoch_loss = number_at(info, "epoch_loss");
  require(s.epoch_loss >= 0, "checkpoint metadata 'epoch_loss' is negative: the checkpoint is "
                             "damaged");
  std::istringstream rng(text_at(info, "rng"));
  rng >> s.rng;
  require(!rng.fail(), "checkpoint metadata 'rng' is not a random engine state");
  if (info.metadata.count("best_val")) {
    s.best_val = number_at(info, "best_val");
    require(s.best_val >= 0, "checkpoint metadata 'best_val' is negative: the checkpoint is "
                             "damaged");
  }
  // Version 1 has neither: no validation history.
  if (info.metadata.count("mode")) {
    s.bad_epochs = static_cast<long>(integer_at(info, "bad_epochs", 0, 1000000000));
  }
  if (c.mode == training_mode::sequence && s.epoch_batch > 0) {
    s.carried.reset(m.layers(), m.hidden_size(), c.batch);
    for (index l = 0; l < m.layers(); ++l) {
      for (const char* part : {"h", "c"}) {
        const std::string name = std::string("state.") + part + ".l" + std::to_string(l);
        auto it = info.state_tensors.find(name);
        require(it != info.state_tensors.end() && it->second.rows() == m.hidden_size() &&
                    it->second.cols() == c.batch,
                "checkpoint has no carried state '" + name + "' of shape " +
                    shape_string(m.hidden_size(), c.batch) +
                    " for its unfinished sequence-mode epoch (written by another tool?)");
        (part[0] == 'h' ? s.carried.h : s.carried.c)[static_cast<std::size_t>(l)] =
            it->second.template cast<S>();
      }
    }
  }
  return s;
}

// What inference reads from any checkpoint's metadata (a run's, or save_checkpoint's with less):
// whether its text was lowercased, its window length (0: not recorded), and the sample window
// that generation starts from when no prime is given.
struct inference_settings {
  bool lowercase = false;
  index maxlen = 0;
  bool has_sample_window = false;
  std::u32string sample_window;
};

// Reads and checks them.
inline inference_settings read_inference_settings(const checkpoint_info& info) {
  using namespace training_detail;
  inference_settings s;
  if (info.metadata.count("lowercase")) {
    const std::string& lower = text_at(info, "lowercase");
    require(lower == "0" || lower == "1",
            "checkpoint metadata 'lowercase' is '" + lower + "', not 0 or 1");
    s.lowercase = lower == "1";
  }
  if (info.metadata.count("maxlen")) {
    s.maxlen = static_cast<index>(integer_at(info, "maxlen", 1, max_sequence_length));
  }
  if (info.metadata.count("sample_window")) {
    s.has_sample_window = true;
    s.sample_window = decode_utf8(text_at(info, "sample_window"), "sample_window");
  }
  return s;
}

}  // namespace charlstm
