// charlstm: the command-line tool.  Train the book's model on any text, resume, generate,
// evaluate, report, and print a corpus's statistics.  `charlstm --help` and `charlstm CMD
// --help` list the flags; docs/cli.md explains them.  All library errors arrive as
// charlstm::error and end here as one line on stderr and a non-zero exit.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <xsimd/xsimd.hpp>

#include "cli.hpp"
#include "memory.hpp"
#include "outputs.hpp"

using namespace cli;

namespace {

// `charlstm --version`: the version and the SIMD instruction set the kernels were compiled for
// (xsimd's default architecture, which -march=native picks from the build machine).
std::string version_text() {
  return std::string("charlstm ") + charlstm::version_string +
         "\nSIMD target: " + xsimd::default_arch::name() + " (xsimd " +
         std::to_string(XSIMD_VERSION_MAJOR) + "." + std::to_string(XSIMD_VERSION_MINOR) + ")";
}

// A usage error (unknown flag, missing or malformed value): one line with the same prefix as
// every other error, a pointer to the help, and exit code 2 as shells and getopt use.
int usage_error(const CLI::App& app, const std::string& what) {
  std::string help = "charlstm --help";
  for (const CLI::App* sub : app.get_subcommands())
    help = "charlstm " + sub->get_name() + " --help";
  std::fflush(stdout);
  std::fprintf(stderr, "charlstm: error: %s (see `%s`)\n", what.c_str(), help.c_str());
  return 2;
}

// The environment variable through which an MPI launcher (Open MPI's mpirun, PMIx, MPICH's
// Hydra) told this process it is one of several copies, or "" when it was started alone.
std::string mpi_launch_variable() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return std::string(name) + "=" + value;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  // Past `ulimit -f`, write() must fail with EFBIG so that a save reports it; by default
  // SIGXFSZ would kill the process instead.
  std::signal(SIGXFSZ, SIG_IGN);
  // A closed pipe (`| head`) is a write error that ends the command quietly, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"charlstm: train character-level LSTM language models and generate text"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text());
  app.set_help_all_flag("--help-all", "print the help of every subcommand");

  train_options t;
  CLI::App* train_cmd = app.add_subcommand("train",
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

  generate_options g;
  CLI::App* gen_cmd = app.add_subcommand("generate", "generate text from a checkpoint");
  gen_cmd->add_option("--model", g.model, "checkpoint")->required();
  CLI::Option* prime_flag = gen_cmd->add_option(
      "--prime", g.prime, "text to start from (default: a window of the training text)");
  gen_cmd
      ->add_option("--prime-file", g.prime_file,
                   "read the text to start from from this file (-: standard input), as it is")
      ->excludes(prime_flag);
  gen_cmd->add_option("--length", g.length, "tokens (characters or words) to generate per sample")
      ->capture_default_str();
  gen_cmd
      ->add_option("--temperature", g.temperatures,
                   "one value or a comma list (one sample each); 0 = the most likely token, "
                   "1 = the model's distribution")
      ->capture_default_str();
  gen_cmd->add_option("--top-k", g.top_k, "sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  gen_cmd
      ->add_option(
          "--top-p", g.top_p,
          "sample among the smallest set of most likely tokens reaching this mass (1: all)")
      ->capture_default_str();
  gen_cmd->add_flag("--greedy", g.greedy, "always the most likely token (temperature 0)");
  gen_cmd->add_option("--stop", g.stop, "end a sample once it has produced this text");
  gen_cmd
      ->add_option("--num-samples", g.num_samples,
                   "samples per temperature, generated together as one batch")
      ->capture_default_str();
  gen_cmd->add_option("--out", g.out, "write the text to this file (atomically) instead of stdout");
  gen_cmd->add_option("--seed", g.seed, "random seed")->capture_default_str();
  gen_cmd->add_flag("--force", g.force, "replace an existing --out that is a checkpoint");
  auto* stateful_flag =
      gen_cmd->add_flag("--stateful", "one LSTM step per token, carrying the state (default)");
  gen_cmd
      ->add_flag("--window", g.window,
                 "the book's loop: re-read the last maxlen tokens for each one")
      ->excludes(stateful_flag);
  gen_cmd->add_flag("--drop-unknown", g.drop_unknown,
                    "drop prime characters outside the vocabulary instead of failing");

  std::string eval_model, eval_corpus;
  bool eval_drop = false;
  long eval_threads = t.threads;
  CLI::App* eval_cmd = app.add_subcommand(
      "eval",
      "mean loss of a checkpoint on a text, in nats and bits per token (character, or word for "
      "a word model)");
  eval_cmd->add_option("--model", eval_model, "checkpoint")->required();
  eval_cmd->add_option("--corpus", eval_corpus, "text file or corpus name")->required();
  eval_cmd->add_flag("--drop-unknown", eval_drop,
                     "drop tokens outside the vocabulary instead of failing");
  eval_cmd->add_option("--threads", eval_threads, "threads")->capture_default_str();

  std::string stats_corpus;
  long stats_max_vocab = static_cast<long>(charlstm::default_max_vocab);
  CLI::App* stats_cmd = app.add_subcommand("stats", "dataset statistics (the Simpsons notebook's)");
  bool stats_lowercase = true;
  stats_cmd->add_option("--corpus", stats_corpus, "text file or corpus name")->required();
  stats_cmd->add_flag("--lowercase,!--no-lowercase", stats_lowercase,
                      "lowercase the corpus first, as train does (default on)");
  stats_cmd
      ->add_option("--max-vocab", stats_max_vocab, "word vocabulary cap for the word-level lines")
      ->capture_default_str();

  std::vector<std::string> report_models;
  std::string report_out;
  CLI::App* report_cmd = app.add_subcommand(
      "report",
      "an HTML page of one training run, or of several overlaid: loss against wall time and "
      "epochs, throughput, learning rate, the command of each run, samples");
  report_cmd->add_option("models", report_models, "checkpoints written by train");
  report_cmd->add_option("--model", report_models, "a checkpoint (the same as a positional one)");
  report_cmd->add_option("--out", report_out,
                         "page to write (default: MODEL with .html; required for several runs)");
  bool report_force = false;
  report_cmd->add_flag("--force", report_force,
                       "replace an existing --out that is a regular file but not an HTML page");

  CLI::App* completion_cmd = app.add_subcommand(
      "completion", "print the bash completion script (source <(charlstm completion bash))");
  std::string completion_shell;
  completion_cmd->add_option("shell", completion_shell, "bash")->required();

  // CLI11 says only "A subcommand is required" for a misspelt one: name it and the choices.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      return usage_error(app, "unknown subcommand '" + std::string(argv[1]) + "' (" + names + ")");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with exit code 0 and their text on stdout.
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(app, e.what());
  }
  // N copies of a tool that does not train across processes would all write one --out.
  if (const std::string launched = mpi_launch_variable(); !launched.empty()) {
    return usage_error(app, "started by an MPI launcher (" + launched +
                                "), but this charlstm does not train across processes: run it "
                                "without mpirun");
  }
  if (train_cmd->parsed() && t.corpus.empty() && t.resume.empty()) {
    return usage_error(app,
                       "train: give --corpus PATH|NAME, e.g. --corpus nietzsche (or --resume "
                       "MODEL to continue a run)");
  }
  if (report_cmd->parsed() && report_models.empty()) {
    return usage_error(app, "report: give at least one checkpoint (charlstm report MODEL...)");
  }
  if (completion_cmd->parsed()) {
    if (completion_shell != "bash") {
      return usage_error(
          app, "completion: unsupported shell '" + completion_shell + "' (only bash is supported)");
    }
    std::fputs(bash_completion(app).c_str(), stdout);
    return 0;
  }
  try {
    if (train_cmd->parsed()) return finish_stdout(train(t, *train_cmd));
    if (gen_cmd->parsed()) return finish_stdout(generate(g));
    if (eval_cmd->parsed()) {
      require(eval_threads >= 1 && eval_threads <= charlstm::max_threads,
              "--threads must be in [1, " + std::to_string(charlstm::max_threads) + "]");
      return finish_stdout(evaluate_command(eval_model, eval_corpus, eval_drop, eval_threads));
    }
    if (stats_cmd->parsed())
      return finish_stdout(stats(stats_corpus, stats_max_vocab, stats_lowercase));
    if (report_cmd->parsed()) return finish_stdout(report(report_models, report_out, report_force));
  } catch (const output_closed&) {
    return 0;  // the reader went away (`| head`): what it wanted was written
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "charlstm: error: %s\n", out_of_memory_message().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "charlstm: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
