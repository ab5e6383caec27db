// `charlstm train`: reads the corpus, trains in sequence or window mode with progress, metrics
// and samples after every epoch, and saves a checkpoint that survives crashes (see
// docs/cli.md and docs/reliability.md).
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "cli.hpp"

namespace cli {

namespace {

// Fixed with `precision` decimals, %g, and a duration as 42s, 3:05 or 1:02:03.
std::string format_number(double v, int precision = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string format_general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string format_duration(double seconds) {
  const long s = std::lround(seconds);
  if (s < 60) return std::to_string(s) + "s";
  char buf[32];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  }
  return buf;
}

// Keras's progress bar on a terminal; on anything else, one line when the epoch ends.
class progress_bar {
 public:
  explicit progress_bar(bool terminal) : terminal_(terminal) {}

  void update(const charlstm::epoch_progress& p, index first_batch) {
    if (!terminal_) return;
    const double now = seconds_since(start_);
    if (now - last_draw_ < 0.1 && p.batches_done != p.batches_total) return;
    last_draw_ = now;
    const double per_batch =
        now / static_cast<double>(std::max<index>(1, p.batches_done - first_batch));
    const double eta = per_batch * static_cast<double>(p.batches_total - p.batches_done);
    std::printf("\r%s - ETA: %s - loss: %.4f   ", bar(p).c_str(), format_duration(eta).c_str(),
                p.mean_loss);
    std::fflush(stdout);
  }

  void finish(const charlstm::epoch_progress& p, index first_batch) {
    const double total = seconds_since(start_);
    const double ms =
        1000 * total / static_cast<double>(std::max<index>(1, p.batches_done - first_batch));
    std::printf("%s%s - %s %.0fms/step - loss: %.4f\n", terminal_ ? "\r" : "", bar(p).c_str(),
                format_duration(total).c_str(), ms, p.mean_loss);
    std::fflush(stdout);
  }

 private:
  bool terminal_;
  clock_type::time_point start_ = clock_type::now();
  double last_draw_ = -1;

  static std::string bar(const charlstm::epoch_progress& p) {
    const int width = 30;
    const int filled =
        p.batches_total ? static_cast<int>(width * p.batches_done / p.batches_total) : width;
    std::string b(static_cast<std::size_t>(width), '.');
    for (int k = 0; k < filled; ++k) b[static_cast<std::size_t>(k)] = '=';
    if (filled < width) b[static_cast<std::size_t>(filled)] = '>';
    const std::string total = std::to_string(p.batches_total);
    std::string done = std::to_string(p.batches_done);
    done.insert(0, total.size() - std::min(total.size(), done.size()), ' ');
    return done + "/" + total + " [" + b + "]";
  }
};

// Ctrl-C: the first finishes the current step and saves; the second exits at once.
std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) {
  interrupted = true;
  std::signal(SIGINT, SIG_DFL);
}

// The metrics logs beside the checkpoint are secondary: if they cannot be written (disk full,
// read-only directory), say so once and train on without them.  The checkpoint is what must
// not be lost.
class optional_metrics {
 public:
  optional_metrics(const std::string& model_path, const std::string& resumed_from,
                   std::int64_t steps, double chars_per_sequence) {
    guard([&] {
      writer_ = std::make_unique<charlstm::metrics_writer>(model_path, resumed_from, steps,
                                                           chars_per_sequence);
    });
  }
  void begin_epoch(index sequences_done, double mean_loss) {
    guard([&] { writer_->begin_epoch(sequences_done, mean_loss); });
  }
  void pause() {
    guard([&] { writer_->pause(); });
  }
  void log(std::int64_t step, double epoch, index sequences_done, double mean_loss, double lr,
           double val_loss = std::numeric_limits<double>::quiet_NaN()) {
    guard([&] { writer_->log(step, epoch, sequences_done, mean_loss, lr, val_loss); });
  }
  void sample(const charlstm::sample_record& s) {
    guard([&] { writer_->sample(s); });
  }

 private:
  std::unique_ptr<charlstm::metrics_writer> writer_;
  bool failed_ = false;

  template <class F>
  void guard(const F& write) {
    if (failed_) return;
    try {
      write();
    } catch (const charlstm::error& e) {
      failed_ = true;
      writer_.reset();
      std::fflush(stdout);
      std::fprintf(stderr, "charlstm: warning: %s; training continues without the metrics log\n",
                   e.what());
    }
  }
};

// The learning rate of `epoch` (1-based): --lr, times --lr-decay for every epoch finished after
// the first --lr-decay-after.
double learning_rate_at(const train_options& o, long epoch) {
  return o.lr *
         std::pow(o.lr_decay, static_cast<double>(std::max(0L, epoch - 1 - o.lr_decay_after)));
}

// Where the best-validation checkpoint goes: MODEL.safetensors -> MODEL.best.safetensors.
std::string best_path(const std::string& out) {
  const std::string ext = ".safetensors";
  if (out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0)
    return out.substr(0, out.size() - ext.size()) + ".best" + ext;
  return out + ".best";
}

// The checkpoint's metadata for `o` and the training position.
std::map<std::string, std::string> training_metadata(const train_options& o, long epoch,
                                                     index epoch_batch, double epoch_loss,
                                                     const std::mt19937_64& engine,
                                                     const std::u32string& sample_window) {
  std::ostringstream rng;
  rng << engine;
  return {{"corpus", o.corpus},
          {"mode", o.mode},
          {"seq_len", std::to_string(o.seq_len)},
          {"dropout", format_number(o.dropout, 17)},
          {"lr_decay", format_number(o.lr_decay, 17)},
          {"lr_decay_after", std::to_string(o.lr_decay_after)},
          {"patience", std::to_string(o.patience)},
          {"maxlen", std::to_string(o.maxlen)},
          {"step", std::to_string(o.step)},
          {"batch", std::to_string(o.batch)},
          {"lr", format_number(o.lr, 17)},
          {"lowercase", o.lowercase ? "1" : "0"},
          {"val_fraction", format_number(o.val_fraction, 17)},
          {"seed", std::to_string(o.seed)},
          {"clip_norm", format_number(o.clip_norm, 17)},
          {"epoch", std::to_string(epoch)},
          {"epoch_batch", std::to_string(epoch_batch)},
          {"epoch_loss", format_number(epoch_loss, 17)},
          {"rng", rng.str()},
          {"sample_window", charlstm::encode_utf8(sample_window)}};
}

void validate(const train_options& o) {
  require(o.epochs >= 1, "--epochs must be at least 1, got " + std::to_string(o.epochs));
  require(o.max_steps == -1 || o.max_steps >= 1, "--max-steps must be at least 1");
  require(std::isfinite(o.time_limit) && o.time_limit >= 0,
          "--time-limit must be a number of minutes >= 0 (0: no limit), got " +
              format_general(o.time_limit));
  require(o.maxlen >= 1 && o.maxlen <= 100000,
          "--maxlen must be in [1, 100000], got " + std::to_string(o.maxlen));
  require(o.step >= 1, "--step must be at least 1, got " + std::to_string(o.step));
  require(o.hidden >= 1 && o.hidden <= 16384,
          "--hidden must be in [1, 16384], got " + std::to_string(o.hidden));
  require(o.batch >= 1 && o.batch <= 1000000,
          "--batch must be in [1, 1000000], got " + std::to_string(o.batch));
  // Any rate a float holds is accepted: a rate that makes training diverge is stopped by the
  // divergence guard in train(), with the last good checkpoint kept.
  require(std::isfinite(o.lr) && o.lr > 0 && o.lr <= std::numeric_limits<float>::max(),
          "--lr must be a positive finite number (at most 3.4e38), got " + format_general(o.lr));
  require(std::isfinite(o.val_fraction) && o.val_fraction >= 0 && o.val_fraction < 1,
          "--val-fraction must be in [0, 1), got " + format_number(o.val_fraction, 6));
  require(o.threads >= 1 && o.threads <= 256,
          "--threads must be in [1, 256], got " + std::to_string(o.threads));
  require(o.sample_length >= 0, "--sample-length must be >= 0");
  require(o.log_every >= 1, "--log-every must be at least 1, got " + std::to_string(o.log_every));
  require(std::isfinite(o.clip_norm) && o.clip_norm >= 0,
          "--clip-norm must be a finite number >= 0 (0: off), got " + format_general(o.clip_norm));
  require(o.max_char_vocab >= 1,
          "--max-char-vocab must be at least 1, got " + std::to_string(o.max_char_vocab));
  require(o.mode == "sequence" || o.mode == "window",
          "--mode must be sequence or window, got '" + o.mode + "'");
  require(o.optimizer == "rmsprop" || o.optimizer == "adam",
          "--optimizer must be rmsprop or adam, got '" + o.optimizer + "'");
  require(o.seq_len >= 1 && o.seq_len <= 100000,
          "--seq-len must be in [1, 100000], got " + std::to_string(o.seq_len));
  require(o.layers >= 1 && o.layers <= 16,
          "--layers must be in [1, 16], got " + std::to_string(o.layers));
  require(std::isfinite(o.dropout) && o.dropout >= 0 && o.dropout < 1,
          "--dropout must be in [0, 1), got " + format_number(o.dropout, 6));
  require(o.dropout == 0 || o.layers > 1,
          "--dropout acts between stacked layers: use --layers 2 or more, or --dropout 0");
  require(std::isfinite(o.lr_decay) && o.lr_decay > 0 && o.lr_decay <= 1,
          "--lr-decay must be in (0, 1] (1: off), got " + format_number(o.lr_decay, 6));
  require(o.lr_decay_after >= 0, "--lr-decay-after must be >= 0");
  require(o.patience >= 0, "--patience must be >= 0 (0: off)");
  parse_temperatures(o.temperatures);
  require(o.tokens == "char" || o.tokens == "word",
          "--tokens must be char or word, got '" + o.tokens + "'");
  require(o.max_vocab >= 2 && o.max_vocab <= 1000000,
          "--max-vocab must be in [2, 1000000], got " + std::to_string(o.max_vocab));
}

// The carried state of sequence mode as checkpoint tensors "state.h.l<l>", "state.c.l<l>".
std::map<std::string, charlstm::matrix<double>> state_tensors(
    const charlstm::layer_states<float>& state) {
  std::map<std::string, charlstm::matrix<double>> out;
  for (std::size_t l = 0; l < state.h.size(); ++l) {
    out["state.h.l" + std::to_string(l)] = state.h[l].cast<double>();
    out["state.c.l" + std::to_string(l)] = state.c[l].cast<double>();
  }
  return out;
}

charlstm::layer_states<float> state_from(const charlstm::checkpoint_info& info, index layers,
                                         index hidden, index streams) {
  charlstm::layer_states<float> state;
  state.reset(layers, hidden, streams);
  for (index l = 0; l < layers; ++l) {
    for (const char* part : {"h", "c"}) {
      const std::string name = std::string("state.") + part + ".l" + std::to_string(l);
      auto it = info.state_tensors.find(name);
      require(it != info.state_tensors.end() && it->second.rows() == hidden &&
                  it->second.cols() == streams,
              "checkpoint has no carried state '" + name + "' of shape " +
                  charlstm::shape_string(hidden, streams) +
                  " for its unfinished sequence-mode epoch (written by another tool?)");
      (part[0] == 'h' ? state.h : state.c)[static_cast<std::size_t>(l)] = it->second.cast<float>();
    }
  }
  return state;
}

}  // namespace

int train(train_options o, const CLI::App& cmd) {
  charlstm::checkpoint_info resumed;
  std::unique_ptr<charlstm::model<float>> model;
  charlstm::optimizer_state<float> opt;
  double best_val = INFINITY;
  long bad_epochs = 0;
  if (!o.resume.empty()) {
    model = std::make_unique<charlstm::model<float>>(
        charlstm::load_checkpoint<float>(o.resume, resumed, opt));
    // The checkpoint's hyperparameters win; an explicit flag that disagrees is an error.
    auto adopt_long = [&](const char* flag, const char* key, long& value) {
      const long stored = meta_long(resumed, key);
      require(cmd.count(flag) == 0 || value == stored,
              std::string(flag) + " " + std::to_string(value) + " differs from the checkpoint's " +
                  std::to_string(stored));
      value = stored;
    };
    auto adopt_text = [&](const char* flag, const std::string& stored, std::string& value) {
      require(cmd.count(flag) == 0 || value == stored,
              std::string(flag) + " " + value + " differs from the checkpoint's " + stored);
      value = stored;
    };
    adopt_long("--maxlen", "maxlen", o.maxlen);
    adopt_long("--step", "step", o.step);
    adopt_long("--batch", "batch", o.batch);
    long hidden = o.hidden;
    o.hidden = static_cast<long>(model->hidden_size());
    require(cmd.count("--hidden") == 0 || hidden == o.hidden,
            "--hidden differs from the checkpoint's " + std::to_string(o.hidden));
    long layers = o.layers;
    o.layers = static_cast<long>(model->layers());
    require(cmd.count("--layers") == 0 || layers == o.layers,
            "--layers differs from the checkpoint's " + std::to_string(o.layers));
    adopt_text("--optimizer", charlstm::optimizer_name(opt.kind), o.optimizer);
    // Checkpoints of version 1 were written by the book's trainer only: window mode.
    const bool has_mode = resumed.metadata.count("mode") != 0;
    adopt_text("--mode", has_mode ? meta_at(resumed, "mode") : "window", o.mode);
    if (has_mode) {
      adopt_long("--seq-len", "seq_len", o.seq_len);
      if (cmd.count("--dropout") == 0) o.dropout = meta_double(resumed, "dropout");
      if (cmd.count("--lr-decay") == 0) o.lr_decay = meta_double(resumed, "lr_decay");
      if (cmd.count("--lr-decay-after") == 0)
        o.lr_decay_after = meta_long(resumed, "lr_decay_after");
      if (cmd.count("--patience") == 0) o.patience = meta_long(resumed, "patience");
      if (resumed.metadata.count("best_val")) best_val = meta_double(resumed, "best_val");
      bad_epochs = meta_long(resumed, "bad_epochs");
    } else {
      o.lr_decay = 1;
    }
    if (cmd.count("--lr") == 0) o.lr = meta_double(resumed, "lr");
    if (cmd.count("--val-fraction") == 0) o.val_fraction = meta_double(resumed, "val_fraction");
    if (cmd.count("--clip-norm") == 0) o.clip_norm = meta_double(resumed, "clip_norm");
    o.lowercase = meta_at(resumed, "lowercase") == "1";
    o.seed = static_cast<unsigned long long>(meta_long(resumed, "seed"));
    if (cmd.count("--corpus") == 0) o.corpus = meta_at(resumed, "corpus");
    if (o.out.empty()) o.out = o.resume;
  } else if (o.optimizer == "adam" && cmd.count("--lr") == 0) {
    o.lr = 0.002;  // Adam's default here (PyTorch's is 0.001; char-rnn's 0.002)
  }
  require(!o.corpus.empty(), "train: give --corpus PATH|NAME (or --resume MODEL)");
  require(!o.out.empty(), "train: give --out MODEL, the checkpoint to write");
  validate(o);
  const bool sequence = o.mode == "sequence";
  const std::vector<double> temperatures = parse_temperatures(o.temperatures);

  const std::string path = resolve_corpus(o.corpus);
  std::u32string text = charlstm::load_text(path, o.lowercase);
  require(!text.empty(), "corpus '" + path + "' is empty: pass a text file with at least " +
                             std::to_string(o.maxlen + 1) + " characters");
  const charlstm::vocabulary vocab =
      model ? resumed.vocab
            : (o.tokens == "word" ? charlstm::word_vocabulary(text, o.max_vocab)
                                  : charlstm::vocabulary(text));
  require(model || o.tokens != "char" || vocab.size() <= o.max_char_vocab,
          "corpus '" + path + "' has " + std::to_string(vocab.size()) +
              " distinct characters, more than --max-char-vocab " +
              std::to_string(o.max_char_vocab) +
              ": is it a binary file? For a script with that many characters, raise "
              "--max-char-vocab");
  const std::vector<charlstm::token_id> ids =
      charlstm::encode_text(vocab, text, false, "corpus " + path);
  // From here on only the ids are kept, 4 bytes per token: the text is freed, and the training
  // and validation parts are views into `ids`, not copies.
  const std::size_t text_characters = text.size();
  std::u32string().swap(text);
  const auto n_train = static_cast<index>(static_cast<double>(ids.size()) * (1 - o.val_fraction));
  const charlstm::token_id* const train_ids = ids.data();
  const charlstm::token_id* const val_ids = ids.data() + n_train;
  const auto n_val = static_cast<index>(ids.size()) - n_train;
  require(n_train > o.maxlen,
          "corpus '" + path + "' has " + std::to_string(ids.size()) + " characters (" +
              std::to_string(n_train) + " for training after --val-fraction " +
              format_general(o.val_fraction) + "), fewer than maxlen + 1 = " +
              std::to_string(o.maxlen + 1) + ": use a longer text or a smaller --maxlen");
  charlstm::window_set train_windows, val_windows;
  charlstm::stream_set train_streams, val_streams;
  if (sequence) {
    train_streams = charlstm::make_streams(train_ids, n_train, o.batch, o.seq_len);
    require(o.val_fraction == 0 || n_val >= 2,
            "the validation part (" + std::to_string(n_val) +
                " characters) is too short: raise --val-fraction or pass --val-fraction 0");
    if (o.val_fraction > 0) {
      val_streams =
          charlstm::make_streams(val_ids, n_val, std::min<index>(o.batch, n_val - 1), o.seq_len);
    }
  } else {
    train_windows = charlstm::make_windows(train_ids, n_train, o.maxlen, o.step);
    val_windows = {val_ids, n_val, o.maxlen, o.step};
    require(o.val_fraction == 0 || val_windows.size() > 0,
            "the validation part (" + std::to_string(n_val) +
                " characters) is shorter than maxlen + 1: " +
                "raise --val-fraction, lower --maxlen, or pass --val-fraction 0");
  }

  if (!model) {
    model = std::make_unique<charlstm::model<float>>(vocab.size(), o.hidden, o.seed, o.layers);
    opt = charlstm::optimizer_state<float>(
        charlstm::optimizer_from_name(o.optimizer, "--optimizer"), model->params);
  }
  charlstm::batch_trainer<float> trainer(*model, opt, o.threads);
  trainer.clip_norm = o.clip_norm;
  trainer.dropout = o.dropout;
  trainer.dropout_seed = o.seed;  // a loaded model does not know it: masks must match on resume
  std::mt19937_64 engine(o.seed);
  long first_epoch = 1;
  charlstm::epoch_range range;
  charlstm::layer_states<float> carried;
  if (!o.resume.empty()) {
    std::istringstream rng(meta_at(resumed, "rng"));
    rng >> engine;
    require(!rng.fail(), "checkpoint metadata 'rng' is not a random engine state");
    first_epoch = meta_long(resumed, "epoch") + 1;
    range.first_batch = meta_long(resumed, "epoch_batch");
    range.loss_so_far = meta_double(resumed, "epoch_loss");
    if (sequence && range.first_batch > 0) {
      carried = state_from(resumed, model->layers(), model->hidden_size(), o.batch);
    }
  }
  if (sequence) {
    std::printf(
        "corpus %s: %zu characters, %s%ld symbols; %ld streams of %ld tokens in chunks of %ld "
        "(%ld per epoch), %zu validation tokens; %ld layer(s) of %ld, %s\n",
        path.c_str(), text_characters,
        vocab.kind == charlstm::token_kind::word
            ? (std::to_string(ids.size()) + " word tokens, ").c_str()
            : "",
        static_cast<long>(vocab.size()), o.batch, static_cast<long>(train_streams.stream_length()),
        o.seq_len, static_cast<long>(train_streams.batches()),
        o.val_fraction > 0 ? static_cast<std::size_t>(n_val) : std::size_t{0}, o.layers, o.hidden,
        o.optimizer.c_str());
  } else {
    std::printf(
        "corpus %s: %zu characters, %s%ld symbols; %ld training windows, %ld validation windows\n",
        path.c_str(), text_characters,
        vocab.kind == charlstm::token_kind::word
            ? (std::to_string(ids.size()) + " word tokens, ").c_str()
            : "",
        static_cast<long>(vocab.size()), static_cast<long>(train_windows.size()),
        static_cast<long>(o.val_fraction > 0 ? val_windows.size() : 0));
  }
  if (first_epoch > o.epochs) {
    std::printf(
        "the checkpoint has trained %ld epoch(s) already; pass --epochs above that to continue\n",
        first_epoch - 1);
    return 0;
  }
  if (o.patience > 0 && bad_epochs >= o.patience) {
    std::printf("the checkpoint stopped early (no better validation loss for %ld epochs)\n",
                bad_epochs);
    return 0;
  }

  // metrics.csv and samples.jsonl beside the checkpoint, cut back to the checkpoint's step.
  // In sequence mode a "sequence" of the progress is one predicted token.
  optional_metrics metrics(o.out, o.resume, opt.steps,
                           sequence ? 1.0 : static_cast<double>(o.maxlen));
  const bool terminal = ::isatty(STDOUT_FILENO);
  std::signal(SIGINT, on_sigint);
  const auto training_start = clock_type::now();
  const auto out_of_time = [&] {
    return o.time_limit > 0 && seconds_since(training_start) >= o.time_limit * 60;
  };
  for (long epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    opt.set_learning_rate(learning_rate_at(o, epoch));
    std::printf("Epoch %ld/%ld\n", epoch, o.epochs);
    const std::mt19937_64 engine_at_start = engine;
    progress_bar bar(terminal);
    charlstm::epoch_progress last;
    last.batches_total =
        sequence ? train_streams.batches() : (train_windows.size() + o.batch - 1) / o.batch;
    last.batches_done = range.first_batch;
    const index first_batch = range.first_batch;
    const auto epochs_done = [&](const charlstm::epoch_progress& p) {
      return static_cast<double>(epoch - 1) +
             static_cast<double>(p.batches_done) / static_cast<double>(p.batches_total);
    };
    metrics.begin_epoch(sequence ? train_streams.targets_before(first_batch)
                                 : std::min(train_windows.size(), first_batch * o.batch),
                        range.loss_so_far);
    bool stopped = false, diverged = false;
    const auto on_batch = [&](const charlstm::epoch_progress& p) {
      last = p;
      bar.update(p, first_batch);
      // Checked after every step, so that no non-finite value can reach a save.
      diverged = !std::isfinite(p.mean_loss) || !model->params.all_finite() || !opt.all_finite();
      stopped = diverged || interrupted || (o.max_steps > 0 && opt.steps >= o.max_steps) ||
                out_of_time();
      if (!stopped && opt.steps % o.log_every == 0 && p.batches_done < p.batches_total) {
        metrics.log(opt.steps, epochs_done(p), p.sequences_done, p.mean_loss,
                    opt.learning_rate());
      }
      return !stopped;
    };
    const double loss =
        sequence ? charlstm::train_sequence_epoch(trainer, train_streams, carried, on_batch, range)
                 : charlstm::train_epoch(trainer, train_windows, o.batch, engine, on_batch, range);
    metrics.pause();
    last.mean_loss = loss;
    bar.finish(last, first_batch);
    if (diverged) {
      throw charlstm::error(
          "training diverged at step " + std::to_string(opt.steps) + " (" +
          (model->params.all_finite() && opt.all_finite()
               ? "the mean loss is " + format_general(last.mean_loss)
               : "the weights or " + std::string(opt.state_name()) + " are no longer finite") +
          "); " +
          (file_exists(o.out) ? o.out + " was not overwritten and keeps the last good checkpoint"
                              : "nothing was saved") +
          ": lower --lr or set --clip-norm");
    }
    range = {};
    const bool partial = last.batches_done < last.batches_total;
    std::printf("loss: %.4f (%.4f bits/char)", loss, loss / std::log(2.0));
    double val = std::numeric_limits<double>::quiet_NaN();
    if (o.val_fraction > 0) {
      val = sequence ? charlstm::evaluate_sequence(trainer, val_streams)
                     : charlstm::evaluate(trainer, val_windows, o.batch);
      std::printf(" - val_loss: %.4f (%.4f bits/char)", val, val / std::log(2.0));
    }
    std::printf(" - lr: %.6g\n", opt.learning_rate());
    metrics.log(opt.steps, epochs_done(last), last.sequences_done, loss, opt.learning_rate(),
                val);
    const bool improved = !partial && o.val_fraction > 0 && val < best_val;
    if (!partial && o.val_fraction > 0) {
      if (improved) {
        best_val = val;
        bad_epochs = 0;
      } else {
        ++bad_epochs;
      }
    }

    std::mt19937_64 sampler(o.seed * 1000003ULL + static_cast<unsigned long long>(epoch));
    const auto start = static_cast<std::size_t>(charlstm::uniform01(sampler) *
                                                static_cast<double>(n_train - o.maxlen));
    const std::vector<charlstm::token_id> seed_ids(
        train_ids + start, train_ids + start + static_cast<std::size_t>(o.maxlen));
    const std::u32string seed_text = charlstm::decode_text(vocab, seed_ids);
    auto meta =
        training_metadata(o, partial ? epoch - 1 : epoch, partial ? last.batches_done : 0,
                          partial ? loss : 0.0, partial ? engine_at_start : engine, seed_text);
    if (std::isfinite(best_val)) meta["best_val"] = format_number(best_val, 17);
    meta["bad_epochs"] = std::to_string(bad_epochs);
    const charlstm::checkpoint_info info(vocab, meta,
                                         sequence && partial
                                             ? state_tensors(carried)
                                             : std::map<std::string, charlstm::matrix<double>>{});
    // A failed save (disk full, read-only directory...) leaves the previous file intact.  The
    // model is still in memory: before the last save, warn and retry at the next one.
    const bool last_save = stopped || interrupted || epoch == o.epochs;
    bool saved = false;
    try {
      charlstm::save_checkpoint(o.out, *model, opt, info);
      if (improved) charlstm::save_checkpoint(best_path(o.out), *model, opt, info);
      saved = true;
    } catch (const charlstm::error& e) {
      if (last_save) {
        throw charlstm::error(
            std::string(e.what()) + "; the model was not saved: " +
            (file_exists(o.out)
                 ? o.out + " keeps the last good checkpoint; fix the cause, then continue with " +
                       "`charlstm train --resume " + o.out + " --epochs " +
                       std::to_string(o.epochs) + "`"
                 : "fix the cause or choose another --out, then train again"));
      }
      std::fflush(stdout);
      std::fprintf(stderr,
                   "charlstm: warning: %s; training continues and the next epoch tries to save "
                   "again\n",
                   e.what());
    }
    if (saved && partial) {
      std::printf("saved %s (epoch %ld stopped after batch %ld of %ld, %lld steps in all)\n",
                  o.out.c_str(), epoch, static_cast<long>(last.batches_done),
                  static_cast<long>(last.batches_total), static_cast<long long>(opt.steps));
    } else if (saved) {
      std::printf("saved %s (epoch %ld, %lld steps in all)%s\n", o.out.c_str(), epoch,
                  static_cast<long long>(opt.steps),
                  improved ? (", best validation so far: " + best_path(o.out)).c_str() : "");
    }
    if (interrupted) {
      std::fprintf(stderr,
                   "interrupted: the checkpoint %s holds every finished step; continue with\n"
                   "  charlstm train --resume %s --epochs %ld\n",
                   o.out.c_str(), o.out.c_str(), o.epochs);
      return 130;
    }
    if (o.sample_length > 0) {
      std::printf("--- Generating with seed: \"%s\"\n", charlstm::encode_utf8(seed_text).c_str());
      for (double t : temperatures) {
        std::printf("------ temperature: %g\n%s", t, charlstm::encode_utf8(seed_text).c_str());
        std::fflush(stdout);
        std::u32string sample;
        charlstm::detokenizer pieces(vocab);
        for (charlstm::token_id id : seed_ids) pieces.piece(id);
        const auto emit = [&](charlstm::token_id id) {
          const std::u32string piece = pieces.piece(id);
          sample += piece;
          std::fputs(charlstm::encode_utf8(piece).c_str(), stdout);
        };
        if (sequence) {
          // Stateful, as the model was trained: the seed fed once, then one step per token.
          charlstm::generate_stateful_ids(*model, seed_ids, o.sample_length,
                                          charlstm::sampling_options{t}, sampler, emit);
        } else {
          charlstm::generate_window_ids(*model, seed_ids, o.sample_length,
                                        charlstm::sampling_options{t}, sampler, emit);
        }
        std::printf("\n");
        metrics.sample({opt.steps, epoch, t, charlstm::encode_utf8(seed_text),
                        charlstm::encode_utf8(sample)});
      }
    }
    std::fflush(stdout);
    if (stopped) break;
    if (o.patience > 0 && bad_epochs >= o.patience) {
      std::printf("early stopping: no better validation loss for %ld epochs (best %.4f in %s)\n",
                  bad_epochs, best_val, best_path(o.out).c_str());
      break;
    }
  }
  return 0;
}

}  // namespace cli
