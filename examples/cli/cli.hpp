// The `charlstm` command-line tool's shared parts: how a subcommand presents itself to main(),
// and the helpers more than one of them uses (corpora by name, the temperature list, checkpoint
// metadata).  One file per subcommand beside this one, owning its flags and its code; main.cpp
// puts them together, parses and reports errors.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charlstm/charlstm.hpp>
#include <charlstm/run/metrics.hpp>
#include <charlstm/run/report.hpp>
#include <chrono>
#include <functional>
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

// The number of threads when --threads is not given: every core.
inline long default_threads() {
  return static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
}

// One subcommand, as its own file makes it: its flags added to the tool's parser (their values
// live in the subcommand's file), a check of what the parser cannot express (the text of a usage
// error, exit 2, or "" when the flags make sense), and what runs it once parsed (the exit code;
// bad input throws charlstm::error, which main() prints as one line).
struct subcommand {
  CLI::App* app = nullptr;
  std::function<std::string()> usage_problem = [] { return std::string(); };
  std::function<int()> run;
};
subcommand add_train(CLI::App& tool);       // train.cpp
subcommand add_generate(CLI::App& tool);    // generate.cpp
subcommand add_eval(CLI::App& tool);        // eval.cpp
subcommand add_stats(CLI::App& tool);       // stats.cpp
subcommand add_report(CLI::App& tool);      // report.cpp
subcommand add_completion(CLI::App& tool);  // completion.cpp: the script covers `tool`
#ifdef CHARLSTM_HAVE_HTTPLIB
subcommand add_serve(CLI::App& tool);  // serve.cpp: only with cpp-httplib
#endif

// The `charlstm train` command that reproduces a checkpoint's run, writing to `out`.
std::string reproduce_command(const charlstm::checkpoint_info& info, const std::string& out);

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
