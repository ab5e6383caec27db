// `charlstm train`: the flags as a charlstm::training_config (or the checkpoint's, resuming),
// the corpus prepared by the library, then charlstm::fit with the tool's listeners: the console
// on stderr (progress.hpp), metrics.csv and samples.jsonl (run_files.hpp), and Ctrl-C as a stop
// request (signals.hpp).  Its product is the checkpoint: stdout stays empty (docs/cli.md).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "inputs.hpp"
#include "memory.hpp"
#include "progress.hpp"
#include "run_files.hpp"
#include "signals.hpp"

namespace cli {

namespace {

// The flags as a configuration (the fields a resumed run may take from the checkpoint too).
charlstm::training_config config_from(const train_options& o) {
  charlstm::training_config c;
  require(o.mode == "sequence" || o.mode == "window",
          "--mode must be sequence or window, got '" + o.mode + "'");
  require(o.tokens == "char" || o.tokens == "word",
          "--tokens must be char or word, got '" + o.tokens + "'");
  c.corpus = o.corpus;
  c.mode = o.mode == "window" ? charlstm::training_mode::window : charlstm::training_mode::sequence;
  c.seq_len = o.seq_len, c.maxlen = o.maxlen, c.step = o.step, c.batch = o.batch;
  c.hidden = o.hidden, c.layers = o.layers;
  c.optimizer = charlstm::optimizer_from_name(o.optimizer, "--optimizer");
  c.lr = o.lr, c.lr_decay = o.lr_decay, c.lr_decay_after = o.lr_decay_after;
  c.patience = o.patience, c.dropout = o.dropout, c.clip_norm = o.clip_norm;
  c.val_fraction = o.val_fraction, c.lowercase = o.lowercase, c.seed = o.seed;
  c.tokens = o.tokens == "word" ? charlstm::token_kind::word : charlstm::token_kind::character;
  c.max_vocab = o.max_vocab, c.max_char_vocab = o.max_char_vocab;
  c.epochs = o.epochs, c.max_steps = o.max_steps, c.time_limit = o.time_limit;
  c.threads = o.threads, c.log_every = o.log_every, c.sample_length = o.sample_length;
  c.temperatures = parse_temperatures(o.temperatures);
  c.out = o.out;
  return c;
}

}  // namespace

int train(train_options o, const CLI::App& cmd) {
  if (o.resume.empty() && o.optimizer == "adam" && cmd.count("--lr") == 0) {
    o.lr = charlstm::default_learning_rate(charlstm::optimizer_kind::adam);
  }
  if (!o.resume.empty() && o.out.empty()) o.out = o.resume;
  require(std::isfinite(o.progress_every) && o.progress_every > 0,
          "--progress-every must be a positive number of seconds");
  charlstm::training_config c = config_from(o);
  const auto given = [&](const std::string& flag) { return cmd.count(flag) != 0; };
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
    c = charlstm::resumed_config(stored, c, state, given);
  }
  // Fine-tuning: the base model, whose weights start a new run.
  charlstm::checkpoint_info base_info;
  std::optional<charlstm::model<float>> base;
  if (!o.init_from.empty()) {
    base.emplace(load_model(o.init_from, base_info));
    c = charlstm::fine_tuning_config(c, *base, base_info, o.init_from, given);
  }
  require(!c.corpus.empty(), "train: give --corpus PATH|NAME (or --resume MODEL)");
  require(!c.out.empty(), "train: give --out MODEL, the checkpoint to write");
  charlstm::validate(c);

  const std::vector<std::string> files = corpus_files(c.corpus);
  // One file is named as it is found (a corpus name's path); several as they were given.
  const std::string path = files.size() == 1 ? files.front()
                                             : charlstm::corpus_setting_text(c.corpus) + " (" +
                                                   std::to_string(files.size()) + " files)";
  std::vector<std::string> inputs = input_paths(files);
  if (base) inputs.push_back(o.init_from);
  const std::unique_ptr<run_lock> lock = check_run_files(c.out, o.force, inputs);
  std::u32string text = load_corpus(files, c.lowercase);
  std::optional<charlstm::token_vocabulary> vocab;  // none: built from the text
  if (model) vocab = resumed.vocab;
  if (base) vocab = charlstm::grown_vocabulary(base_info.vocab, text, c.max_vocab);
  if (base) charlstm::require_char_vocabulary_size(*vocab, c, path);
  const charlstm::training_corpus corpus =
      charlstm::prepare_training_corpus(std::move(text), c, path, std::move(vocab));
  const auto [sizes, lower] = check_training_memory(c, corpus.vocab.size());
  activity doing("training (" + sizes + ")", lower);
  if (base) {
    std::fprintf(stderr, "fine-tuning %s (%ld x LSTM(%ld)): %ld symbols, %ld of them new\n",
                 o.init_from.c_str(), static_cast<long>(c.layers), static_cast<long>(c.hidden),
                 static_cast<long>(corpus.vocab.size()),
                 static_cast<long>(corpus.vocab.size() - base_info.vocab.size()));
    model.emplace(charlstm::grow_vocabulary(*base, base_info.vocab, corpus.vocab, c.seed));
    base.reset();
    state = charlstm::training_state<float>::fresh(c, *model);
  }
  if (!model) {
    model.emplace(corpus.vocab.size(), c.hidden, c.seed, c.layers);
    state = charlstm::training_state<float>::fresh(c, *model);
  }
  print_corpus_summary(c, corpus, path);

  // The listeners: the console on stderr; metrics.csv and samples.jsonl beside the checkpoint,
  // cut back to the checkpoint's step and opened when the first epoch starts (a run with nothing
  // to do leaves them alone).  In sequence mode a "sequence" of the progress is one token.
  const bool sequence = c.mode == charlstm::training_mode::sequence;
  console screen(
      plan_run(c, corpus.data.batches(c), state.epoch, state.epoch_batch, state.optimizer.steps),
      corpus.vocab.kind() == charlstm::token_kind::word ? "word" : "char", c.val_fraction > 0,
      ::isatty(STDERR_FILENO) != 0, o.progress_every);
  std::unique_ptr<optional_metrics> metrics;
  const std::int64_t steps_at_start = state.optimizer.steps;
  charlstm::training_events events;
  events.on_epoch_begin = [&](const charlstm::epoch_begin& e) {
    if (!metrics) {
      metrics = std::make_unique<optional_metrics>(c.out, o.resume, steps_at_start,
                                                   sequence ? 1.0 : static_cast<double>(c.maxlen));
    }
    screen.epoch_begin(e);
    metrics->begin_epoch(e.sequences_done, e.loss_so_far);
  };
  events.on_step = [&](const charlstm::step_end& s) {
    screen.step(s);
    if (s.log) {
      metrics->log(s.steps, s.epochs_done, s.progress.sequences_done, s.progress.mean_loss,
                   s.learning_rate);
    }
  };
  events.on_epoch_trained = [&](const charlstm::epoch_end& e) {
    metrics->pause();
    screen.epoch_trained(e);
  };
  events.on_epoch_end = [&](const charlstm::epoch_end& e) {
    screen.epoch_end(e);
    metrics->log(e.steps, e.epochs_done, e.progress.sequences_done, e.loss, e.learning_rate,
                 e.val_loss);
  };
  events.on_saved = [&](const charlstm::checkpoint_saved& s) {
    if (metrics) metrics->commit();
    screen.saved(s);
  };
  events.on_save_failed = [](const std::string& why) {
    std::fprintf(stderr,
                 "charlstm: warning: %s; training continues and the next epoch tries to save "
                 "again\n",
                 why.c_str());
  };
  events.on_sample_seed = [&](const std::u32string& seed) { screen.sample_seed(seed); };
  events.on_sample_begin = [&](double t) { screen.sample_begin(t); };
  events.on_sample_piece = [&](const std::u32string& piece) { screen.sample_piece(piece); };
  events.on_sample_end = [&](const charlstm::epoch_sample& s) {
    screen.sample_end();
    metrics->sample({s.steps, s.epoch, s.temperature, charlstm::encode_utf8(s.seed),
                     charlstm::encode_utf8(s.text)});
  };
  events.stop_requested = [] { return stop_signal() != 0; };
  events.continue_hint = "continue with `charlstm train --resume " + c.out + " --epochs " +
                         std::to_string(c.epochs) + "`";

  catch_stop_signals();
  const charlstm::fit_result r = charlstm::fit(c, corpus.data, corpus.vocab, *model, state, events);
  if (r.reason == charlstm::stop_reason::stop_requested) {
    std::fprintf(stderr,
                 "%s: the checkpoint %s holds every finished step; continue with\n"
                 "  charlstm train --resume %s --epochs %ld\n",
                 stop_reason(stop_signal()).c_str(), c.out.c_str(), c.out.c_str(), c.epochs);
    return 128 + stop_signal();
  }
  screen.run_ended(r.reason, state.epoch, state.bad_epochs, state.best_val, c.out);
  return 0;
}

}  // namespace cli
