// `charlstm train`: the flags as a charlstm::training_config (or the checkpoint's, resuming),
// the corpus read and split, then charlstm::fit with the tool's listeners: Keras's progress
// bar, the epoch lines, metrics.csv and samples.jsonl, samples printed as they are drawn, and
// Ctrl-C as a stop request (see docs/cli.md and docs/reliability.md).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include "cli.hpp"
#include "inputs.hpp"
#include "memory.hpp"
#include "outputs.hpp"
#include "signals.hpp"

namespace cli {

namespace {

// A duration as 42s, 3:05 or 1:02:03.
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

// The run's files checked before any work: the checkpoint absent or a checkpoint, its logs absent
// or regular files, none of them an input (unless --force, only for a regular file that is not
// an input).  --out through a symlink becomes the link's target.  Returns the lock on them.
std::unique_ptr<run_lock> check_run_files(std::string& out, bool force,
                                          const std::vector<std::string>& inputs) {
  // The longest suffix written beside --out: ".samples.jsonl", or ".best" + ".tmp.XXXXXX".
  const std::size_t suffixes = 16;
  out = check_output(out, "--out", output_kind::checkpoint, inputs, force, suffixes).path;
  const charlstm::run_files files = charlstm::files_of_run(out);
  check_output(files.best, "--out's best checkpoint", output_kind::checkpoint, inputs, force);
  for (const std::string& log : {files.metrics, files.samples, files.lock})
    check_output(log, "--out's log", output_kind::log, inputs, force);
  return std::make_unique<run_lock>(files.lock, "the run '" + out + "'");
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
  // The checkpoint was saved: the logs are written from now on (a start that fails changes none).
  void commit() {
    guard([&] { writer_->commit(); });
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

// The flags as a configuration (the fields a resumed run may take from the checkpoint too).
charlstm::training_config config_from(const train_options& o) {
  charlstm::training_config c;
  require(o.mode == "sequence" || o.mode == "window",
          "--mode must be sequence or window, got '" + o.mode + "'");
  require(o.tokens == "char" || o.tokens == "word",
          "--tokens must be char or word, got '" + o.tokens + "'");
  c.corpus = o.corpus;
  c.mode = o.mode == "window" ? charlstm::training_mode::window : charlstm::training_mode::sequence;
  c.seq_len = o.seq_len;
  c.maxlen = o.maxlen;
  c.step = o.step;
  c.batch = o.batch;
  c.hidden = o.hidden;
  c.layers = o.layers;
  c.optimizer = charlstm::optimizer_from_name(o.optimizer, "--optimizer");
  c.lr = o.lr;
  c.lr_decay = o.lr_decay;
  c.lr_decay_after = o.lr_decay_after;
  c.patience = o.patience;
  c.dropout = o.dropout;
  c.clip_norm = o.clip_norm;
  c.val_fraction = o.val_fraction;
  c.lowercase = o.lowercase;
  c.seed = o.seed;
  c.tokens = o.tokens == "word" ? charlstm::token_kind::word : charlstm::token_kind::character;
  c.max_vocab = o.max_vocab;
  c.max_char_vocab = o.max_char_vocab;
  c.epochs = o.epochs;
  c.max_steps = o.max_steps;
  c.time_limit = o.time_limit;
  c.threads = o.threads;
  c.log_every = o.log_every;
  c.sample_length = o.sample_length;
  c.temperatures = parse_temperatures(o.temperatures);
  c.out = o.out;
  return c;
}

// A resumed run: the checkpoint's stored settings, this run's own ones from the flags.  A flag
// given explicitly that contradicts the checkpoint is an error naming both values, except the
// ones a resumed run may change (docs/cli.md); those change only at an epoch boundary when they
// change the data (--corpus, --val-fraction).
charlstm::training_config resumed_config(charlstm::training_config stored,
                                         const charlstm::training_config& given,
                                         const charlstm::training_state<float>& state,
                                         const charlstm::token_vocabulary& vocab,
                                         const CLI::App& cmd) {
  const std::set<std::string> adjustable = {"--lr",       "--lr-decay",  "--lr-decay-after",
                                            "--patience", "--clip-norm", "--dropout",
                                            "--val-fraction", "--corpus"};
  for (const charlstm::config_difference& d : charlstm::stored_differences(stored, given)) {
    if (cmd.count(d.flag) == 0) continue;  // not given: the checkpoint's
    require(adjustable.count(d.flag) != 0,
            d.flag + " " + d.given + " differs from the checkpoint's " + d.stored);
    require(state.epoch_batch == 0 || (d.flag != "--corpus" && d.flag != "--val-fraction"),
            d.flag + " " + d.given + " differs from the checkpoint's " + d.stored +
                ", which stopped part-way through epoch " + std::to_string(state.epoch + 1) +
                ": resume that epoch with the checkpoint's");
    if (d.flag == "--lr") stored.lr = given.lr;
    if (d.flag == "--lr-decay") stored.lr_decay = given.lr_decay;
    if (d.flag == "--lr-decay-after") stored.lr_decay_after = given.lr_decay_after;
    if (d.flag == "--patience") stored.patience = given.patience;
    if (d.flag == "--clip-norm") stored.clip_norm = given.clip_norm;
    if (d.flag == "--dropout") stored.dropout = given.dropout;
    if (d.flag == "--val-fraction") stored.val_fraction = given.val_fraction;
    if (d.flag == "--corpus") stored.corpus = given.corpus;
  }
  const char* kind = vocab.kind() == charlstm::token_kind::word ? "word" : "char";
  require(cmd.count("--tokens") == 0 || given.tokens == vocab.kind(),
          std::string("--tokens ") +
              (given.tokens == charlstm::token_kind::word ? "word" : "char") +
              " differs from the checkpoint's " + kind);
  // This run's own settings.
  stored.tokens = vocab.kind();
  stored.max_vocab = given.max_vocab;
  stored.max_char_vocab = given.max_char_vocab;
  stored.epochs = given.epochs;
  stored.max_steps = given.max_steps;
  stored.time_limit = given.time_limit;
  stored.threads = given.threads;
  stored.log_every = given.log_every;
  stored.sample_length = given.sample_length;
  stored.temperatures = given.temperatures;
  stored.out = given.out;
  return stored;
}

// A fine-tuning run (--init-from PATH) takes the architecture and token kind of `base` (a flag
// given explicitly that contradicts them is an error naming both values) and, unless given, its
// case.  Everything else is a fresh run's, from the flags.
void take_base_model(charlstm::training_config& c, const charlstm::model<float>& base,
                     const charlstm::checkpoint_info& info, const std::string& path,
                     const CLI::App& cmd) {
  const auto keep = [&](const char* flag, const std::string& given, const std::string& stored) {
    require(cmd.count(flag) == 0 || given == stored,
            std::string(flag) + " " + given + " differs from " + stored + ", the --init-from " +
                "model's: fine-tuning keeps the model's architecture (leave " + flag + " out)");
  };
  const auto kind = [](charlstm::token_kind k) {
    return std::string(k == charlstm::token_kind::word ? "word" : "char");
  };
  keep("--hidden", std::to_string(c.hidden), std::to_string(base.hidden_size()));
  keep("--layers", std::to_string(c.layers), std::to_string(base.layers()));
  keep("--tokens", kind(c.tokens), kind(info.vocab.kind()));
  c.hidden = base.hidden_size();
  c.layers = base.layers();
  c.tokens = info.vocab.kind();
  if (cmd.count("--lowercase") == 0 && info.metadata.count("lowercase") != 0)
    c.lowercase = charlstm::read_inference_settings(info).lowercase;
  c.init_from = path;
}

}  // namespace

int train(train_options o, const CLI::App& cmd) {
  if (o.resume.empty() && o.optimizer == "adam" && cmd.count("--lr") == 0) {
    o.lr = charlstm::default_learning_rate(charlstm::optimizer_kind::adam);
  }
  if (!o.resume.empty() && o.out.empty()) o.out = o.resume;
  charlstm::training_config c = config_from(o);
  charlstm::checkpoint_info resumed;
  std::optional<charlstm::model<float>> model;
  charlstm::training_state<float> state;
  if (!o.resume.empty()) {
    charlstm::optimizer_state<float> opt;
    activity doing("loading the checkpoint '" + o.resume + "'", "use a smaller model");
    model.emplace(charlstm::parse_checkpoint<float>(read_input(o.resume, "checkpoint", 2), resumed,
                                                    o.resume, opt));
    const charlstm::training_config stored = charlstm::read_training_config(resumed, *model);
    state = charlstm::read_training_state(resumed, stored, *model, std::move(opt));
    c = resumed_config(stored, c, state, resumed.vocab, cmd);
  }
  // Fine-tuning: the base model, whose weights start the new run.
  charlstm::checkpoint_info base_info;
  std::optional<charlstm::model<float>> base;
  if (!o.init_from.empty()) {
    base.emplace(load_model(o.init_from, base_info));
    take_base_model(c, *base, base_info, o.init_from, cmd);
  }
  require(!c.corpus.empty(), "train: give --corpus PATH|NAME (or --resume MODEL)");
  require(!c.out.empty(), "train: give --out MODEL, the checkpoint to write");
  charlstm::validate(c);
  const bool sequence = c.mode == charlstm::training_mode::sequence;

  const std::vector<std::string> files = corpus_files(c.corpus);
  // One file is named as it is found (a corpus name's path); several as they were given.
  const std::string path = files.size() == 1 ? files.front()
                                             : charlstm::corpus_setting_text(c.corpus) + " (" +
                                                   std::to_string(files.size()) + " files)";
  std::vector<std::string> inputs = input_paths(files);
  if (base) inputs.push_back(o.init_from);
  const std::unique_ptr<run_lock> lock = check_run_files(c.out, o.force, inputs);
  std::u32string text = load_corpus(files, c.lowercase);
  require(!text.empty(), "corpus '" + path + "' is empty: pass a text file with at least " +
                             std::to_string(c.maxlen + 1) + " characters");
  const charlstm::token_vocabulary vocab =
      model  ? resumed.vocab
      : base ? charlstm::grown_vocabulary(base_info.vocab, text, c.max_vocab)
      : c.tokens == charlstm::token_kind::word
          ? charlstm::token_vocabulary(charlstm::word_vocabulary(text, c.max_vocab))
          : charlstm::token_vocabulary(charlstm::char_vocabulary(text));
  require(model || c.tokens != charlstm::token_kind::character || vocab.size() <= c.max_char_vocab,
          "corpus '" + path + "' has " + std::to_string(vocab.size()) +
              " distinct characters, more than --max-char-vocab " +
              std::to_string(c.max_char_vocab) +
              ": is it a binary file? For a script with that many characters, raise "
              "--max-char-vocab");
  // From here on only the ids are kept, 4 bytes per token: the text is freed, and the training
  // and validation parts are views into the ids, not copies.
  std::vector<charlstm::token_id> ids = charlstm::encode_text(vocab, text, false, "corpus " + path);
  const std::size_t text_characters = text.size(), tokens = ids.size();
  std::u32string().swap(text);
  const charlstm::training_data data = charlstm::make_training_data(std::move(ids), c, path);
  // Up front, before a byte of it is allocated: the model, its gradients, the optimizer's state
  // and the BPTT caches.
  const std::string sizes = "--hidden " + std::to_string(c.hidden) + ", --layers " +
                            std::to_string(c.layers) + ", --batch " + std::to_string(c.batch) +
                            (sequence ? ", --seq-len " + std::to_string(c.seq_len)
                                      : ", --maxlen " + std::to_string(c.maxlen)) +
                            ", --threads " + std::to_string(o.threads);
  const std::string lower = sequence ? "lower --hidden, --batch or --seq-len"
                                     : "lower --hidden, --batch or --maxlen";
  require_memory(training_bytes(static_cast<double>(vocab.size()), static_cast<double>(c.hidden),
                                static_cast<double>(c.layers), static_cast<double>(c.batch),
                                static_cast<double>(sequence ? c.seq_len : c.maxlen),
                                static_cast<double>(o.threads),
                                c.optimizer == charlstm::optimizer_kind::adam),
                 "training a model of " + std::to_string(vocab.size()) + " symbols with " + sizes,
                 lower);
  activity doing("training (" + sizes + ")", lower);
  if (base) {
    std::fprintf(stderr, "fine-tuning %s (%ld x LSTM(%ld)): %ld symbols, %ld of them new\n",
                 o.init_from.c_str(), static_cast<long>(c.layers), static_cast<long>(c.hidden),
                 static_cast<long>(vocab.size()),
                 static_cast<long>(vocab.size() - base_info.vocab.size()));
    model.emplace(charlstm::grow_vocabulary(*base, base_info.vocab, vocab, c.seed));
    base.reset();
    state = charlstm::training_state<float>::fresh(c, *model);
  }
  if (!model) {
    model.emplace(vocab.size(), c.hidden, c.seed, c.layers);
    state = charlstm::training_state<float>::fresh(c, *model);
  }
  const std::string words =
      vocab.kind() == charlstm::token_kind::word ? std::to_string(tokens) + " word tokens, " : "";
  if (sequence) {
    std::printf(
        "corpus %s: %zu characters, %s%ld symbols; %ld streams of %ld tokens in chunks of %ld "
        "(%ld per epoch), %zu validation tokens; %ld layer(s) of %ld, %s\n",
        path.c_str(), text_characters, words.c_str(), static_cast<long>(vocab.size()),
        static_cast<long>(c.batch), static_cast<long>(data.train_streams.stream_length()),
        static_cast<long>(c.seq_len), static_cast<long>(data.train_streams.batches()),
        c.val_fraction > 0 ? static_cast<std::size_t>(data.n_val) : std::size_t{0},
        static_cast<long>(c.layers), static_cast<long>(c.hidden),
        charlstm::optimizer_name(c.optimizer));
  } else {
    std::printf(
        "corpus %s: %zu characters, %s%ld symbols; %ld training windows, %ld validation windows\n",
        path.c_str(), text_characters, words.c_str(), static_cast<long>(vocab.size()),
        static_cast<long>(data.train_windows.size()),
        static_cast<long>(c.val_fraction > 0 ? data.val_windows.size() : 0));
  }

  // The listeners.  metrics.csv and samples.jsonl beside the checkpoint, cut back to the
  // checkpoint's step, opened when the first epoch starts (a run with nothing to do leaves them
  // alone).  In sequence mode a "sequence" of the progress is one predicted token.
  std::unique_ptr<optional_metrics> metrics;
  std::unique_ptr<progress_bar> bar;
  const bool terminal = ::isatty(STDOUT_FILENO);
  const std::int64_t steps_at_start = state.optimizer.steps;
  std::u32string seed_text;
  charlstm::training_events events;
  events.on_epoch_begin = [&](const charlstm::epoch_begin& e) {
    if (!metrics) {
      metrics = std::make_unique<optional_metrics>(c.out, o.resume, steps_at_start,
                                                   sequence ? 1.0 : static_cast<double>(c.maxlen));
    }
    std::printf("Epoch %ld/%ld\n", e.epoch, e.epochs);
    bar = std::make_unique<progress_bar>(terminal);
    metrics->begin_epoch(e.sequences_done, e.loss_so_far);
  };
  events.on_step = [&](const charlstm::step_end& s) {
    bar->update(s.progress, s.first_batch);
    if (s.log) {
      metrics->log(s.steps, s.epochs_done, s.progress.sequences_done, s.progress.mean_loss,
                   s.learning_rate);
    }
  };
  events.on_epoch_trained = [&](const charlstm::epoch_end& e) {
    metrics->pause();
    bar->finish(e.progress, e.first_batch);
  };
  events.on_epoch_end = [&](const charlstm::epoch_end& e) {
    std::printf("loss: %.4f (%.4f bits/char)", e.loss, e.loss / std::log(2.0));
    if (c.val_fraction > 0) {
      std::printf(" - val_loss: %.4f (%.4f bits/char)", e.val_loss, e.val_loss / std::log(2.0));
    }
    std::printf(" - lr: %.6g\n", e.learning_rate);
    metrics->log(e.steps, e.epochs_done, e.progress.sequences_done, e.loss, e.learning_rate,
                 e.val_loss);
  };
  events.on_saved = [&](const charlstm::checkpoint_saved& s) {
    if (metrics) metrics->commit();
    if (s.partial) {
      std::printf("saved %s (epoch %ld stopped after batch %ld of %ld, %lld steps in all)\n",
                  s.path.c_str(), s.epoch, static_cast<long>(s.batches_done),
                  static_cast<long>(s.batches_total), static_cast<long long>(s.steps));
    } else {
      std::printf("saved %s (epoch %ld, %lld steps in all)%s\n", s.path.c_str(), s.epoch,
                  static_cast<long long>(s.steps),
                  s.best_path.empty() ? "" : (", best validation so far: " + s.best_path).c_str());
    }
  };
  events.on_save_failed = [](const std::string& why) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "charlstm: warning: %s; training continues and the next epoch tries to save "
                 "again\n",
                 why.c_str());
  };
  events.on_sample_seed = [&](const std::u32string& seed) {
    seed_text = seed;
    std::printf("--- Generating with seed: \"%s\"\n", charlstm::encode_utf8(seed).c_str());
  };
  events.on_sample_begin = [&](double t) {
    std::printf("------ temperature: %g\n%s", t, charlstm::encode_utf8(seed_text).c_str());
    std::fflush(stdout);
  };
  events.on_sample_piece = [](const std::u32string& piece) {
    std::fputs(charlstm::encode_utf8(piece).c_str(), stdout);
  };
  events.on_sample_end = [&](const charlstm::epoch_sample& s) {
    std::printf("\n");
    metrics->sample({s.steps, s.epoch, s.temperature, charlstm::encode_utf8(s.seed),
                     charlstm::encode_utf8(s.text)});
    std::fflush(stdout);
  };
  events.stop_requested = [] { return stop_signal() != 0; };
  events.continue_hint = "continue with `charlstm train --resume " + c.out + " --epochs " +
                         std::to_string(c.epochs) + "`";

  catch_stop_signals();
  const charlstm::fit_result r = charlstm::fit(c, data, vocab, *model, state, events);
  std::fflush(stdout);
  switch (r.reason) {
    case charlstm::stop_reason::already_finished:
      std::printf(
          "the checkpoint has trained %ld epoch(s) already; pass --epochs above that to "
          "continue\n",
          state.epoch);
      break;
    case charlstm::stop_reason::already_stopped:
      std::printf("the checkpoint stopped early (no better validation loss for %ld epochs)\n",
                  state.bad_epochs);
      break;
    case charlstm::stop_reason::early_stopping:
      std::printf("early stopping: no better validation loss for %ld epochs (best %.4f in %s)\n",
                  state.bad_epochs, state.best_val,
                  charlstm::best_checkpoint_path(c.out).c_str());
      break;
    case charlstm::stop_reason::stop_requested:
      std::fprintf(stderr,
                   "%s: the checkpoint %s holds every finished step; continue with\n"
                   "  charlstm train --resume %s --epochs %ld\n",
                   stop_reason(stop_signal()).c_str(), c.out.c_str(), c.out.c_str(), c.epochs);
      return 128 + stop_signal();
    default:
      break;
  }
  return 0;
}

}  // namespace cli
