// `charlstm train`: the flags as a charlstm::training_config (or the checkpoint's, resuming),
// the corpus prepared by the library, then charlstm::fit with the tool's listeners: the console
// on stderr (progress.hpp), metrics.csv and samples.jsonl (run_files.hpp), and Ctrl-C as a stop
// request (signals.hpp).  Its product is the checkpoint: stdout stays empty (docs/cli.md).
// Under mpirun (distributed.hpp) every process trains its slices; rank 0 reads the inputs and
// shares them, and alone writes files and reports.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "distributed.hpp"
#include "inputs.hpp"
#include "memory.hpp"
#include "progress.hpp"
#include "run_files.hpp"
#include "signals.hpp"

namespace cli {

namespace {

struct train_options {
  // Files, folders, names, or "-"; required unless resuming: no default text.
  std::vector<std::string> corpus;
  std::string out, resume, init_from, temperatures = "0.2,0.5,1.0,1.2";
  std::string tokens = "char";
  long max_vocab = static_cast<long>(charlstm::default_max_vocab);
  std::string mode = "sequence", optimizer = "rmsprop";
  long epochs = 60, max_steps = -1, maxlen = 60, step = 3, hidden = 128, batch = 128;
  long max_char_vocab = default_max_char_vocab;
  // The defaults are docs/results.md's "first run in minutes" recipe: 1 x LSTM(128), RMSprop
  // 0.01, batch 128, sequence mode, stopped after 5 epochs without a better validation loss.
  long seq_len = 100, layers = 1, lr_decay_after = 10, patience = 5;
  long threads = default_threads();
  long sample_length = 400, log_every = 20;
  double lr = 0.01, val_fraction = 0.1, clip_norm = 5, dropout = 0, lr_decay = 1;
  double time_limit = 0;       // minutes of training in this run; 0: none
  double progress_every = 10;  // seconds between progress lines when stderr is not a terminal
  bool lowercase = true, force = false;
  unsigned long long seed = 1;
  distributed_options distributed;
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

int train(train_options o, const CLI::App& cmd) {
  if (o.resume.empty() && o.optimizer == "adam" && cmd.count("--lr") == 0) {
    o.lr = charlstm::default_learning_rate(charlstm::optimizer_kind::adam);
  }
  if (!o.resume.empty() && o.out.empty()) o.out = o.resume;
  require(std::isfinite(o.progress_every) && o.progress_every > 0,
          "--progress-every must be a positive number of seconds");
  charlstm::training_config c = config_from(o);
  const auto given = [&](const std::string& flag) { return cmd.count(flag) != 0; };
  // Across processes: rank 0 reads every input and the others receive its bytes.
  const std::unique_ptr<charlstm::process_group<float>> group = join_process_group(o.distributed);
  const bool lead = !group || group->lead();
  charlstm::checkpoint_info resumed;
  std::optional<charlstm::model<float>> model;
  charlstm::training_state<float> state;
  if (!o.resume.empty()) {
    charlstm::optimizer_state<float> opt;
    activity doing("loading the checkpoint '" + o.resume + "'", "use a smaller model");
    const std::string bytes =
        read_on_lead(group.get(), [&] { return read_input(o.resume, "checkpoint", 2); });
    model.emplace(charlstm::parse_checkpoint<float>(bytes, resumed, o.resume, opt));
    const charlstm::training_config stored = charlstm::read_training_config(resumed, *model);
    state = charlstm::read_training_state(resumed, stored, *model, std::move(opt));
    c = charlstm::resumed_config(stored, c, state, given);
  }
  // Fine-tuning: the base model, whose weights start a new run.
  charlstm::checkpoint_info base_info;
  std::optional<charlstm::model<float>> base;
  if (!o.init_from.empty()) {
    base.emplace(group ? charlstm::parse_checkpoint<float>(
                             read_on_lead(group.get(),
                                          [&] { return read_input(o.init_from, "checkpoint", 2); }),
                             base_info, o.init_from)
                       : load_model(o.init_from, base_info));
    c = charlstm::fine_tuning_config(c, *base, base_info, o.init_from, given);
  }
  require(!c.corpus.empty(), "train: give --corpus PATH|NAME (or --resume MODEL)");
  require(!c.out.empty(), "train: give --out MODEL, the checkpoint to write");
  charlstm::validate(c);

  // One file is named as it is found (a corpus name's path); several as they were given.
  std::string path;
  std::unique_ptr<run_lock> lock;
  std::string text_bytes = read_on_lead(group.get(), [&] {
    const std::vector<std::string> files = corpus_files(c.corpus);
    path = files.size() == 1 ? files.front()
                             : charlstm::corpus_setting_text(c.corpus) + " (" +
                                   std::to_string(files.size()) + " files)";
    std::vector<std::string> inputs = input_paths(files);
    if (base) inputs.push_back(o.init_from);
    lock = check_run_files(c.out, o.force, inputs);
    const std::u32string text = load_corpus(files, c.lowercase);
    return std::string(reinterpret_cast<const char*>(text.data()), text.size() * sizeof(char32_t));
  });
  path = read_on_lead(group.get(), [&] { return path; });
  std::u32string text(text_bytes.size() / sizeof(char32_t), U'\0');
  std::memcpy(text.data(), text_bytes.data(), text.size() * sizeof(char32_t));
  text_bytes = std::string();
  std::optional<charlstm::token_vocabulary> vocab;  // none: built from the text
  if (model) vocab = resumed.vocab;
  if (base) vocab = charlstm::grown_vocabulary(base_info.vocab, text, c.max_vocab);
  if (base) charlstm::require_char_vocabulary_size(*vocab, c, path);
  const charlstm::training_corpus corpus =
      charlstm::prepare_training_corpus(std::move(text), c, path, std::move(vocab));
  const auto [sizes, lower] = check_training_memory(c, corpus.vocab.size());
  activity doing("training (" + sizes + ")", lower);
  if (base && lead) {
    std::fprintf(stderr, "fine-tuning %s (%ld x LSTM(%ld)): %ld symbols, %ld of them new\n",
                 o.init_from.c_str(), static_cast<long>(c.layers), static_cast<long>(c.hidden),
                 static_cast<long>(corpus.vocab.size()),
                 static_cast<long>(corpus.vocab.size() - base_info.vocab.size()));
  }
  if (base) {
    model.emplace(charlstm::grow_vocabulary(*base, base_info.vocab, corpus.vocab, c.seed));
    base.reset();
    state = charlstm::training_state<float>::fresh(c, *model);
  }
  if (!model) {
    model.emplace(corpus.vocab.size(), c.hidden, c.seed, c.layers);
    state = charlstm::training_state<float>::fresh(c, *model);
  }
  if (lead) print_corpus_summary(c, corpus, path);

  // The listeners: the console on stderr; metrics.csv and samples.jsonl beside the checkpoint,
  // cut back to the checkpoint's step and opened when the first epoch starts (a run with nothing
  // to do leaves them alone).  In sequence mode a "sequence" of the progress is one token.
  const bool sequence = c.mode == charlstm::training_mode::sequence;
  console screen(
      plan_run(c, corpus.data.batches(c), state.epoch, state.epoch_batch, state.optimizer.steps),
      charlstm::token_unit(corpus.vocab.kind()), c.val_fraction > 0, ::isatty(STDERR_FILENO) != 0,
      o.progress_every);
  std::unique_ptr<optional_metrics> metrics;
  const std::int64_t steps_at_start = state.optimizer.steps;
  charlstm::training_events events;
  events.on_epoch_begin = [&](const charlstm::epoch_begin& e) {
    if (!metrics) {
      metrics =
          std::make_unique<optional_metrics>(c.out, o.resume, steps_at_start, corpus.vocab.kind(),
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
  const charlstm::fit_result r =
      charlstm::fit(c, corpus.data, corpus.vocab, *model, state, events, group.get());
  // A stop asked of another process of the job stops this one too, without a signal of its own.
  const int signal = stop_signal() != 0 ? stop_signal() : SIGTERM;
  if (!lead) return r.reason == charlstm::stop_reason::stop_requested ? 128 + signal : 0;
  if (r.reason == charlstm::stop_reason::stop_requested) {
    std::fprintf(stderr,
                 "%s: the checkpoint %s holds every finished step; continue with\n"
                 "  charlstm train --resume %s --epochs %ld\n",
                 stop_signal() != 0 ? stop_reason(stop_signal()).c_str()
                                    : "stopped (another process of the job was asked to stop)",
                 c.out.c_str(), c.out.c_str(), c.epochs);
    return 128 + signal;
  }
  screen.run_ended(r.reason, state.epoch, state.bad_epochs, state.best_val, c.out);
  return 0;
}

}  // namespace

subcommand add_train(CLI::App& tool) {
  auto options = std::make_shared<train_options>();
  train_options& t = *options;
  CLI::App* train_cmd = tool.add_subcommand("train",
                                            "train a model (sequence mode; --mode window is the "
                                            "book's), writing a checkpoint after every epoch; "
                                            "progress, losses and samples go to stderr");
  train_cmd->add_option("--corpus", t.corpus,
                        "text files, folders (their files in name order), - (standard input), or "
                        "nietzsche | tinyshakespeare | moes_tavern; several are joined by a blank "
                        "line (required unless --resume)");
  train_cmd->add_option("--out", t.out, "checkpoint to write (default: the --resume file)");
  train_cmd->add_option("--epochs", t.epochs, "total epochs to reach")->capture_default_str();
  train_cmd->add_option("--max-steps", t.max_steps, "stop after this many optimizer steps in all");
  train_cmd->add_option("--time-limit", t.time_limit,
                        "stop after this many minutes of training in this run, saving as "
                        "--max-steps does (0: no limit)");
  train_cmd
      ->add_option("--maxlen", t.maxlen,
                   "window length in tokens (window mode; the samples' seed length)")
      ->capture_default_str();
  train_cmd->add_option("--step", t.step, "tokens between window starts (window mode)")
      ->capture_default_str();
  train_cmd->add_option("--hidden", t.hidden, "LSTM units")->capture_default_str();
  train_cmd->add_option("--batch", t.batch, "windows per batch, or streams in sequence mode")
      ->capture_default_str();
  train_cmd
      ->add_option("--mode", t.mode,
                   "sequence: streams with carried state, loss at every step; window: the book's")
      ->capture_default_str();
  train_cmd->add_option("--seq-len", t.seq_len, "steps per update in sequence mode")
      ->capture_default_str();
  train_cmd->add_option("--layers", t.layers, "stacked LSTM layers")->capture_default_str();
  train_cmd->add_option("--dropout", t.dropout, "dropout between stacked layers (training only)")
      ->capture_default_str();
  train_cmd->add_option("--optimizer", t.optimizer, "rmsprop | adam")->capture_default_str();
  train_cmd->add_option("--lr", t.lr, "learning rate (default 0.01 for rmsprop, 0.002 for adam)");
  train_cmd
      ->add_option("--lr-decay", t.lr_decay,
                   "multiply the learning rate by this every epoch after --lr-decay-after (1: off)")
      ->capture_default_str();
  train_cmd->add_option("--lr-decay-after", t.lr_decay_after, "epochs at the full learning rate")
      ->capture_default_str();
  train_cmd
      ->add_option("--patience", t.patience,
                   "stop after this many epochs without a better validation loss (0: off)")
      ->capture_default_str();
  train_cmd->add_flag("--lowercase,!--no-lowercase", t.lowercase,
                      "lowercase the corpus (default on, as the book)");
  train_cmd
      ->add_option("--val-fraction", t.val_fraction, "fraction held out at the end for validation")
      ->capture_default_str();
  train_cmd->add_option("--seed", t.seed, "random seed")->capture_default_str();
  train_cmd
      ->add_option("--clip-norm", t.clip_norm,
                   "clip the gradient's global norm to this (0: off, as the book)")
      ->capture_default_str();
  train_cmd->add_option("--threads", t.threads, "threads (default: all cores)")
      ->capture_default_str();
  CLI::Option* resume_flag =
      train_cmd->add_option("--resume", t.resume, "continue training from this checkpoint");
  train_cmd
      ->add_option("--init-from", t.init_from,
                   "fine-tune: a new run from this model's weights (its architecture and token "
                   "kind), the vocabulary grown by the corpus's new symbols")
      ->excludes(resume_flag);
  train_cmd
      ->add_option("--progress-every", t.progress_every,
                   "seconds between progress lines when stderr is not a terminal")
      ->capture_default_str();
  train_cmd->add_flag("--force", t.force,
                      "replace an existing --out that is a regular file but not a checkpoint");
  train_cmd
      ->add_option("--max-char-vocab", t.max_char_vocab,
                   "refuse a corpus with more distinct characters than this (binary files)")
      ->capture_default_str();
  train_cmd->add_option("--temperatures", t.temperatures, "sampling temperatures after each epoch")
      ->capture_default_str();
  train_cmd
      ->add_option("--log-every", t.log_every,
                   "steps between rows of MODEL's metrics.csv (and one at each epoch's end)")
      ->capture_default_str();
  train_cmd
      ->add_option("--sample-length", t.sample_length,
                   "tokens (characters or words) sampled per temperature after each epoch "
                   "(0: none)")
      ->capture_default_str();
  train_cmd
      ->add_option("--tokens", t.tokens,
                   "char: Unicode code points (the book); word: words and named punctuation")
      ->capture_default_str();
  train_cmd
      ->add_option(
          "--max-vocab", t.max_vocab,
          "--tokens word: keep this many most frequent tokens (unknown-word token included)")
      ->capture_default_str();

  add_distributed_flags(*train_cmd, t.distributed);

  subcommand command;
  command.app = train_cmd;
  command.usage_problem = [options] {
    return options->corpus.empty() && options->resume.empty()
               ? std::string(
                     "train: give --corpus PATH|NAME, e.g. --corpus nietzsche (or --resume "
                     "MODEL to continue a run)")
               : std::string();
  };
  command.run = [options, train_cmd] { return train(*options, *train_cmd); };
  return command;
}

}  // namespace cli
