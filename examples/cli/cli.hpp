// The `charlstm` command-line tool's shared parts: each subcommand's options and entry point,
// and the helpers more than one of them uses (corpora by name, the temperature list, checkpoint
// metadata).  One file per subcommand beside this one; main.cpp parses the flags.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charlstm/charlstm.hpp>
#include <charlstm/run/metrics.hpp>
#include <charlstm/run/report.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cli {

using charlstm::index;
using charlstm::require;
using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// A character vocabulary larger than this is almost surely not text (or a binary file that
// happens to be valid UTF-8); `--max-char-vocab` raises it for scripts with many characters.
constexpr long default_max_char_vocab = 1000;

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
  long threads = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
  long sample_length = 400, log_every = 20;
  double lr = 0.01, val_fraction = 0.1, clip_norm = 5, dropout = 0, lr_decay = 1;
  double time_limit = 0;  // minutes of training in this run; 0: none
  double progress_every = 10;  // seconds between progress lines when stderr is not a terminal
  bool lowercase = true, force = false;
  unsigned long long seed = 1;
};

struct generate_options {
  std::string model, prime, prime_file, temperatures = "1.0", stop, out;
  long length = 400, top_k = 0, num_samples = 1;
  double top_p = 1.0;
  unsigned long long seed = 1;
  bool window = false, drop_unknown = false, greedy = false, force = false;
};

// The subcommands; each returns the process's exit code and throws charlstm::error for bad
// input, which main() prints as one line.
int train(train_options o, const CLI::App& cmd);  // train.cpp
int generate(const generate_options& o);          // generate.cpp
int evaluate_command(const std::string& model_path, const std::string& corpus, bool drop_unknown,
                     long threads);                          // eval.cpp
int stats(const std::string& corpus, long max_vocab, bool lowercase);  // eval.cpp
// One page for one run or several overlaid; `out` is required for several (report.cpp).
int report(const std::vector<std::string>& model_paths, std::string out, bool force);
// The `charlstm train` command that reproduces a checkpoint's run, writing to `out`.
std::string reproduce_command(const charlstm::checkpoint_info& info, const std::string& out);
// The bash completion script for `app`'s subcommands and flags (completion.cpp).
std::string bash_completion(const CLI::App& app);

// Helpers (common.cpp).
bool file_exists(const std::string& path);
// A path as given ("-" too), or a corpus name found at run time (docs/cli.md, "Corpora by name").
std::string resolve_corpus(const std::string& arg);
// The files of --corpus's arguments in reading order: names resolved, folders listed
// (charlstm::corpus_files), "-" kept for standard input.
std::vector<std::string> corpus_files(const std::vector<std::string>& arguments);
// The same list as paths an output is compared with: "-" as /dev/stdin (a redirected file's).
std::vector<std::string> input_paths(const std::vector<std::string>& files);
// "0.2,0.5,1.0,1.2" -> the temperatures, each checked; `flag` names the option in messages.
std::vector<double> parse_temperatures(const std::string& list,
                                       const std::string& flag = "--temperatures");

}  // namespace cli
