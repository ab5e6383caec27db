// The tool in a shell: usage errors exit 2 with the same prefix as every other error,
// `--version` names the SIMD target, the bash completion and the man page cover every flag,
// named corpora are found at run time in the documented order (nothing baked in at build time),
// train keeps stdout for a product (it has none: its progress is on stderr, in timed lines with
// the whole run's ETA when stderr is not a terminal), and its defaults are the documented recipe.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;
using test_support::write_text;

namespace {

const char* const subcommands[] = {"train", "generate", "eval", "stats", "report"};

std::size_t lines_in(const std::string& text) {
  std::size_t n = 0;
  for (char ch : text) n += ch == '\n';
  return n;
}

// The long flags a help text names.
std::set<std::string> flags_in(const std::string& help) {
  std::set<std::string> out;
  const std::regex re("(--[a-z][a-z0-9-]*)");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), re); it != std::sregex_iterator();
       ++it)
    out.insert((*it)[1]);
  return out;
}

// What the completion function offers for the words typed so far (the last one is completed).
std::string complete(const std::string& script_path, const std::string& words) {
  const temp_dir dir;
  const std::string command = "bash -c " +
                              quote("source " + quote(script_path) + "; COMP_WORDS=(" + words +
                                    "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _charlstm; "
                                    "printf '%s\\n' \"${COMPREPLY[@]}\"") +
                              " >" + quote(dir / "out") + " 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  return charlstm::read_file_bytes(dir / "out");
}

std::string binary_dir() {
  const std::string cli = CHARLSTM_CLI;
  return cli.substr(0, cli.find_last_of('/'));
}

}  // namespace

TEST_CASE("Usage errors exit 2 with the tool's error prefix, on one line", "[cli][shell]") {
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus());
  const std::pair<std::string, std::string> cases[] = {
      {"", "subcommand"},
      {"frobnicate", "frobnicate"},
      {"train --no-such-flag", "--no-such-flag"},
      {"train --corpus " + quote(dir / "corpus.txt") + " --hidden many", "many"},
      {"generate", "--model"},
      {"report", "at least one checkpoint"},
      {"completion zsh", "zsh"},
      // No default corpus: train names one to pass.
      {"train --out " + quote(dir / "m.safetensors"),
       "give --corpus PATH|NAME, e.g. --corpus nietzsche"},
  };
  for (const auto& [args, names] : cases) {
    const auto r = run_cli(args);
    INFO("charlstm " << args << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("charlstm: error: ") && Catch::Contains(names) &&
                          Catch::Contains("--help"));
    CHECK(lines_in(r.err) == 1);
    CHECK(r.out.empty());
  }
  // A subcommand's usage error points at that subcommand's help.
  CHECK_THAT(run_cli("train --no-such-flag").err, Catch::Contains("charlstm train --help"));
  // Errors found after parsing keep exit code 1, with the same prefix.
  const auto bad_value = run_cli("train --corpus " + quote(dir / "corpus.txt") + " --out " +
                                 quote(dir / "m.safetensors") + " --hidden 0");
  CHECK(bad_value.exit_code == 1);
  CHECK_THAT(bad_value.err, Catch::StartsWith("charlstm: error: --hidden must be in"));
  // Help is not an error.
  const auto help = run_cli("train --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--time-limit"));
}

TEST_CASE("The version flag names the version and the build's SIMD target", "[cli][shell]") {
  const auto r = run_cli("--version");
  REQUIRE(r.exit_code == 0);
  INFO(r.out);
  // This test is compiled with the tool's flags, so xsimd picks the same architecture here.
  CHECK_THAT(r.out, Catch::StartsWith(std::string("charlstm ") + charlstm::version_string + "\n"));
  CHECK_THAT(r.out, Catch::Contains(std::string("SIMD target: ") + xsimd::default_arch::name()));
}

TEST_CASE("The bash completion offers every subcommand and each one's flags", "[cli][shell]") {
  temp_dir dir;
  const auto r = run_cli("completion bash");
  REQUIRE(r.exit_code == 0);
  write_text(dir / "charlstm.bash", r.out);
  REQUIRE(std::system(("bash -n " + quote(dir / "charlstm.bash")).c_str()) == 0);
  // The build writes the same script beside the binary, for `cmake --install`.
  CHECK(charlstm::read_file_bytes(binary_dir() + "/charlstm.bash") == r.out);

  const std::string top = complete(dir / "charlstm.bash", "charlstm ''");
  for (const char* sub : subcommands) CHECK_THAT(top, Catch::Contains(std::string(sub) + "\n"));
  for (const char* sub : subcommands) {
    const auto help = run_cli(std::string(sub) + " --help");
    REQUIRE(help.exit_code == 0);
    const std::set<std::string> flags = flags_in(help.out);
    CHECK(flags.size() >= 2);
    const std::string offered =
        complete(dir / "charlstm.bash", std::string("charlstm ") + sub + " --");
    for (const std::string& flag : flags) {
      INFO(sub << " " << flag);
      CHECK_THAT(offered, Catch::Contains(flag + "\n"));
    }
  }
  // Only the subcommand's own flags, a prefix narrows them, and values complete by name.
  const std::string gen = complete(dir / "charlstm.bash", "charlstm generate --t");
  CHECK_THAT(gen, Catch::Contains("--temperature\n") && Catch::Contains("--top-k\n"));
  CHECK(gen.find("--time-limit") == std::string::npos);
  const std::string optimizers = complete(dir / "charlstm.bash", "charlstm train --optimizer ''");
  CHECK((optimizers == "adam\nrmsprop\n" || optimizers == "rmsprop\nadam\n"));
  CHECK_THAT(complete(dir / "charlstm.bash", "charlstm train --corpus nie"),
             Catch::Contains("nietzsche\n"));
}

TEST_CASE("The man page is written beside the binary and covers every subcommand", "[cli][shell]") {
  const std::string page = charlstm::read_file_bytes(binary_dir() + "/charlstm.1");
  CHECK_THAT(page, Catch::StartsWith(".\\\" DO NOT MODIFY THIS FILE!") &&
                       Catch::Contains(".TH CHARLSTM \"1\"") &&
                       Catch::Contains(charlstm::version_string));
  for (const char* sub : subcommands) CHECK_THAT(page, Catch::Contains(sub));
  // help2man writes each '-' of a flag as "\-".
  for (const char* flag : {"time\\-limit", "top\\-p", "drop\\-unknown"}) {
    CHECK_THAT(page, Catch::Contains(flag));
  }
}

TEST_CASE("Named corpora are found at run time: $CHARLSTM_DATA_DIR, then ../shared/data",
          "[cli][shell]") {
  temp_dir dir;
  ::mkdir((dir / "data").c_str(), 0755);
  ::mkdir((dir / "work").c_str(), 0755);
  ::mkdir((dir / "shared").c_str(), 0755);
  ::mkdir((dir / "shared/data").c_str(), 0755);
  write_text(dir / "data/nietzsche.txt", "abc\n\ndef ghi\n");
  write_text(dir / "shared/data/nietzsche.txt", "one two\n");
  // No cache, no download, no variable from the caller's environment.
  const std::string clean =
      "cd " + quote(dir / "work") +
      " && env -u CHARLSTM_DATA_DIR -u XDG_CACHE_HOME HOME=" + quote(dir / "home") +
      " CHARLSTM_OFFLINE=1";

  const auto from_env =
      run_cli("stats --corpus nietzsche", clean + " CHARLSTM_DATA_DIR=" + quote(dir / "data"));
  INFO(from_env.err);
  REQUIRE(from_env.exit_code == 0);
  CHECK_THAT(from_env.out, Catch::Contains("Corpus: " + dir / "data/nietzsche.txt"));
  const auto from_cwd = run_cli("stats --corpus nietzsche", clean);
  INFO(from_cwd.err);
  REQUIRE(from_cwd.exit_code == 0);
  CHECK_THAT(from_cwd.out, Catch::Contains("Corpus: ../shared/data/nietzsche.txt"));

  // Not found anywhere: one error naming every place looked, in order, and how to fix it.
  const auto missing = run_cli("stats --corpus tinyshakespeare", clean);
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err,
             Catch::StartsWith("charlstm: error: corpus 'tinyshakespeare' was not found") &&
                 Catch::Contains("../shared/data/tinyshakespeare.txt, " + binary_dir() +
                                 "/../share/charlstm/data/tinyshakespeare.txt, " + dir / "home" +
                                 "/.cache/charlstm/tinyshakespeare.txt") &&
                 Catch::Contains("CHARLSTM_OFFLINE") && Catch::Contains("CHARLSTM_DATA_DIR"));
}

TEST_CASE("train writes nothing to stdout and timed progress lines with the run's ETA to stderr",
          "[cli][shell]") {
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus(20000));
  // 18,022 training characters in 32 streams of 563: 6 chunks of 100 per epoch.  --max-steps 8
  // ends the run in epoch 2 although --epochs says 60; every step is past a 1 µs interval.
  const auto r = run_cli("train --corpus " + quote(dir / "corpus.txt") +
                         " --hidden 16 --batch 32 --sample-length 20 --threads 1 --epochs 60"
                         " --max-steps 8 --progress-every 0.000001 --out " +
                         quote(dir / "m.safetensors"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("32 streams of 563 tokens in chunks of 100 (6 per epoch)"));
  // The header counts to the epoch the run really ends in, and the plan says what ends it.
  CHECK_THAT(r.err, Catch::Contains("run: epoch 1 to 2, at most 8 steps (to step 8, --max-steps); "
                                    "may end sooner: --patience 5\n"));
  CHECK_THAT(r.err, Catch::Contains("Epoch 1/2\n") && Catch::Contains("Epoch 2/2\n"));
  CHECK(r.err.find("/60") == std::string::npos);
  const std::regex timed(R"(epoch ([12])/2 - batch (\d+)/6 - loss: \d+\.\d{4} - \d+s elapsed - )"
                         R"(ETA (\d+s|\d+:\d\d) \(step 8\)\n)");
  std::map<std::string, int> lines_per_epoch;
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), timed);
       it != std::sregex_iterator(); ++it)
    ++lines_per_epoch[(*it)[1]];
  CHECK(lines_per_epoch["1"] == 6);  // one per step: the interval is shorter than any step
  CHECK(lines_per_epoch["2"] == 2);
  CHECK(r.err.find('\r') == std::string::npos);
  // The samples, the losses and the saves are on stderr too.
  CHECK_THAT(r.err, Catch::Contains("------ temperature: 0.2\n") && Catch::Contains("val_loss: ") &&
                        Catch::Contains("saved "));

  // A time limit is the ETA when it ends the run first: 100,000 epochs would take hours, the
  // limit is 60 ms (the run stops after the step that passes it).
  const auto limited = run_cli("train --corpus " + quote(dir / "corpus.txt") +
                               " --hidden 16 --batch 32 --sample-length 0 --threads 1"
                               " --epochs 100000 --time-limit 0.001 --progress-every 0.000001"
                               " --out " +
                               quote(dir / "t.safetensors"));
  INFO(limited.err);
  REQUIRE(limited.exit_code == 0);
  CHECK(limited.out.empty());
  CHECK_THAT(limited.err, Catch::Contains("run: epoch 1 to 100000, at most 600000 steps (to step "
                                          "600000); may end sooner: --time-limit 0.001 min, "
                                          "--patience 5\n"));
  CHECK(std::regex_search(limited.err, std::regex(R"(- ETA \d+s \(--time-limit\)\n)")));
  CHECK_THAT(limited.err, Catch::Contains("Epoch 1/100000 (at most: --time-limit)\n"));
}

TEST_CASE("train's defaults are docs/results.md's first-run recipe", "[cli][shell]") {
  // The recipe as results.md states it, in the flags' own words.
  const std::string results =
      charlstm::read_file_bytes(std::string(CHARLSTM_FIXTURE_DIR) + "/../../docs/results.md");
  const auto section = results.find("## A first run in minutes");
  REQUIRE(section != std::string::npos);
  const std::string first_run = results.substr(section, results.find("\n- ", section) - section);
  std::map<std::string, std::string> recipe;
  const std::regex flag(R"(--(hidden|layers|optimizer|lr|batch|patience|mode) ([^ `]+))");
  for (auto it = std::sregex_iterator(first_run.begin(), first_run.end(), flag);
       it != std::sregex_iterator(); ++it)
    recipe[(*it)[1]] = (*it)[2];
  INFO(first_run);
  REQUIRE(recipe.size() == 7);
  // A run with none of them given stores the defaults in its checkpoint.
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus());
  const auto r =
      run_cli("train --corpus " + quote(dir / "corpus.txt") +
              " --max-steps 1 --sample-length 0 --threads 1 --out " + quote(dir / "m.safetensors"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  charlstm::checkpoint_info info;
  charlstm::load_checkpoint<float>(dir / "m.safetensors", info);
  CHECK(info.metadata.at("hidden_size") == recipe["hidden"]);
  CHECK(info.metadata.at("layers") == recipe["layers"]);
  CHECK(info.metadata.at("optimizer") == recipe["optimizer"]);
  CHECK(std::stod(info.metadata.at("lr")) == std::stod(recipe["lr"]));
  CHECK(info.metadata.at("batch") == recipe["batch"]);
  CHECK(info.metadata.at("patience") == recipe["patience"]);
  CHECK(info.metadata.at("mode") == recipe["mode"]);
}
