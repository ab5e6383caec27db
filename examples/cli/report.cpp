// `charlstm report MODEL...`: the HTML page of one training run, or of several overlaid, from
// each run's metrics, samples and checkpoint.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include "cli.hpp"
#include "inputs.hpp"
#include "outputs.hpp"

namespace cli {

namespace {

// A number stored with 17 digits, shown with the fewest that read back the same double.
std::string shown(const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || v.find('.') == std::string::npos) return v;
  char buf[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

std::string quoted_if_needed(const std::string& s) {
  for (char ch : s) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) ||
          std::string("-_./=:,+@%").find(ch) != std::string::npos)) {
      std::string q = "'";
      for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return q + "'";
    }
  }
  return s.empty() ? "''" : s;
}

}  // namespace

std::string reproduce_command(const charlstm::checkpoint_info& info, const std::string& out) {
  const auto& m = info.metadata;
  const auto has = [&](const char* key) { return m.count(key) != 0; };
  const auto get = [&](const char* key) { return m.at(key); };
  std::string cmd = "charlstm train";
  const auto add = [&](const std::string& flag, const std::string& value) {
    cmd += " " + flag + " " + quoted_if_needed(value);
  };
  if (has("corpus")) {
    cmd += " --corpus";
    for (const std::string& argument : charlstm::stored_corpus(info))
      cmd += " " + quoted_if_needed(argument);
  }
  if (has("init_from")) add("--init-from", get("init_from"));
  const bool word = has("tokens") && get("tokens") == "word";
  if (word) {
    add("--tokens", "word");
    if (has("vocab_size")) add("--max-vocab", get("vocab_size"));
  }
  if (has("lowercase") && get("lowercase") == "0") cmd += " --no-lowercase";
  const bool window = has("mode") && get("mode") == "window";
  if (has("mode")) add("--mode", get("mode"));
  if (has("layers")) add("--layers", get("layers"));
  if (has("hidden_size")) add("--hidden", get("hidden_size"));
  if (has("dropout") && std::strtod(get("dropout").c_str(), nullptr) != 0) {
    add("--dropout", shown(get("dropout")));
  }
  if (has("batch")) add("--batch", get("batch"));
  if (!window && has("seq_len")) add("--seq-len", get("seq_len"));
  if (has("maxlen")) add("--maxlen", get("maxlen"));
  if (window && has("step")) add("--step", get("step"));
  if (has("optimizer")) add("--optimizer", get("optimizer"));
  if (has("lr")) add("--lr", shown(get("lr")));
  if (has("lr_decay") && std::strtod(get("lr_decay").c_str(), nullptr) != 1) {
    add("--lr-decay", shown(get("lr_decay")));
    if (has("lr_decay_after")) add("--lr-decay-after", get("lr_decay_after"));
  }
  if (has("clip_norm")) add("--clip-norm", shown(get("clip_norm")));
  if (has("val_fraction")) add("--val-fraction", shown(get("val_fraction")));
  // Always: the tool's default (5) is not every run's (it was 0 before, and is for v1 files).
  add("--patience", has("patience") ? get("patience") : "0");
  if (has("seed")) add("--seed", get("seed"));
  // Where the run stopped: part-way through an epoch (a step or time limit, Ctrl-C) is a step
  // count; at an epoch's end, the epoch count.
  const bool partial = has("epoch_batch") && get("epoch_batch") != "0";
  if (partial && has("optimizer_steps")) {
    add("--epochs", std::to_string(std::strtol(get("epoch").c_str(), nullptr, 10) + 1));
    add("--max-steps", get("optimizer_steps"));
  } else if (has("epoch")) {
    add("--epochs", get("epoch"));
  }
  add("--out", out);
  return cmd;
}

namespace {

int report(const std::vector<std::string>& model_paths, std::string out, bool force) {
  require(!model_paths.empty(), "give at least one checkpoint: charlstm report MODEL...");
  require(model_paths.size() == 1 || !out.empty(),
          "several runs make one page: give --out PAGE.html");
  // The page is checked before any work and is never a model or its logs.
  std::vector<std::string> inputs;
  for (const std::string& model_path : model_paths) {
    inputs.push_back(model_path);
    inputs.push_back(charlstm::existing_log_path(model_path, ".metrics.csv"));
    inputs.push_back(charlstm::existing_log_path(model_path, ".samples.jsonl"));
  }
  if (out.empty()) out = charlstm::report_path(model_paths.front());
  output_file page(check_output(out, "--out", output_kind::html, inputs, force));
  charlstm::report_input in;
  std::string token;  // the runs' token, "char" or "word"; "token" if they differ
  for (const std::string& model_path : model_paths) {
    charlstm::checkpoint_info info;
    const charlstm::model<float> model = load_model(model_path, info);
    const std::string csv = charlstm::existing_log_path(model_path, ".metrics.csv");
    require(file_exists(csv), "no metrics beside " + model_path + ": " + csv +
                                  " is missing (it is written by `charlstm train` since 0.1; " +
                                  "train or resume the model to record them)");
    charlstm::report_run run;
    run.rows = charlstm::read_metrics(csv);
    const std::string samples = charlstm::existing_log_path(model_path, ".samples.jsonl");
    if (file_exists(samples)) {
      run.samples = charlstm::parse_samples(charlstm::read_file_bytes(samples), samples);
    }
    const auto slash = model_path.find_last_of('/');
    run.name = slash == std::string::npos ? model_path : model_path.substr(slash + 1);
    run.command = reproduce_command(info, model_path);
    const bool corpus = info.metadata.count("corpus") != 0;
    const bool word = info.vocab.kind() == charlstm::token_kind::word;
    const std::string unit = charlstm::token_unit(info.vocab.kind());
    token = token.empty() || token == unit ? unit : "token";
    run.summary =
        (corpus ? "corpus " + charlstm::corpus_setting_text(charlstm::stored_corpus(info)) + " · "
                : "") +
        std::to_string(model.layers()) + " × LSTM(" + std::to_string(model.hidden_size()) + ") · " +
        std::to_string(model.params.size()) + " parameters · " + std::to_string(info.vocab.size()) +
        (word ? " words" : " symbols") + " · " + std::to_string(info.steps) + " steps";
    in.runs.push_back(std::move(run));
  }
  in.token = token;
  if (in.runs.size() == 1) {
    in.title = in.runs.front().name;
    in.subtitle = "charlstm training report · " + in.runs.front().summary;
  } else {
    in.title = std::to_string(in.runs.size()) + " runs";
    for (std::size_t k = 0; k < in.runs.size(); ++k) {
      in.subtitle += (k ? ", " : "") + in.runs[k].name;
    }
    in.subtitle = "charlstm training report · " + in.subtitle;
  }
  page.write(charlstm::render_report(in));
  page.commit();
  std::size_t rows = 0, samples = 0;
  for (const auto& run : in.runs) {
    rows += run.rows.size();
    samples += run.samples.size();
  }
  std::printf("wrote %s (%zu run%s, %zu metric rows, %zu samples)\n", out.c_str(), in.runs.size(),
              in.runs.size() == 1 ? "" : "s", rows, samples);
  return 0;
}

}  // namespace

subcommand add_report(CLI::App& tool) {
  struct report_options {
    std::vector<std::string> models;
    std::string out;
    bool force = false;
  };
  auto o = std::make_shared<report_options>();
  CLI::App* report_cmd = tool.add_subcommand(
      "report",
      "an HTML page of one training run, or of several overlaid: loss against wall time and "
      "epochs, throughput, learning rate, the command of each run, samples");
  report_cmd->add_option("models", o->models, "checkpoints written by train");
  report_cmd->add_option("--model", o->models, "a checkpoint (the same as a positional one)");
  report_cmd->add_option("--out", o->out,
                         "page to write (default: MODEL with .html; required for several runs)");
  report_cmd->add_flag("--force", o->force,
                       "replace an existing --out that is a regular file but not an HTML page");
  subcommand command;
  command.app = report_cmd;
  command.usage_problem = [o] {
    return o->models.empty()
               ? std::string("report: give at least one checkpoint (charlstm report MODEL...)")
               : std::string();
  };
  command.run = [o] { return report(o->models, o->out, o->force); };
  return command;
}

}  // namespace cli
