// `charlstm eval`: a checkpoint's loss on a text, as its run validated (docs/cli.md).
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "inputs.hpp"
#include "memory.hpp"

namespace cli {

namespace {

struct eval_options {
  std::string model, corpus;
  bool drop_unknown = false;
  long threads = default_threads();
};

int evaluate_command(const std::string& model_path, const std::string& corpus, bool drop_unknown,
                     long threads) {
  charlstm::checkpoint_info info;
  charlstm::model<float> model = load_model(model_path, info);
  const std::string path = resolve_corpus(corpus);
  const charlstm::training_config c = charlstm::read_training_config(info, model);
  const std::u32string text = load_corpus(path, c.lowercase);
  const std::vector<charlstm::token_id> ids =
      charlstm::encode_text(info.vocab, text, drop_unknown, "corpus " + path);
  activity doing("evaluating the model on '" + path + "'",
                 "lower --threads, or use a smaller text");
  charlstm::batch_trainer<float> trainer(model, threads);
  // Per token: nats/char and bits/char, or nats/word and bits/word; 6 decimals, as metrics.csv.
  const bool words = info.vocab.kind() == charlstm::token_kind::word;
  const char* unit = words ? "word" : "char";
  require(c.mode != charlstm::training_mode::sequence || ids.size() >= 2,
          std::string("the text is too short to evaluate (fewer than 2 ") +
              (words ? "words)" : "characters)"));
  const charlstm::text_loss r = charlstm::evaluate_text(trainer, c, ids);
  // Sequence mode scores as validation in training: up to `batch` streams, the state carried, the
  // loss at every step; window mode the book's windows.
  const std::string scored =
      c.mode == charlstm::training_mode::sequence
          ? std::string(words ? "words" : "characters") + " predicted (sequence mode)"
          : std::string("windows");
  std::printf("%s: %ld %s, loss %.6f nats/%s, %.6f bits/%s\n", path.c_str(),
              static_cast<long>(r.predicted), scored.c_str(), r.loss, unit, r.loss / std::log(2.0),
              unit);
  return 0;
}

}  // namespace

subcommand add_eval(CLI::App& tool) {
  auto o = std::make_shared<eval_options>();
  CLI::App* eval_cmd = tool.add_subcommand(
      "eval",
      "mean loss of a checkpoint on a text, in nats and bits per token (character, or word for "
      "a word model)");
  eval_cmd->add_option("--model", o->model, "checkpoint")->required();
  eval_cmd->add_option("--corpus", o->corpus, "text file or corpus name")->required();
  eval_cmd->add_flag("--drop-unknown", o->drop_unknown,
                     "drop tokens outside the vocabulary instead of failing");
  eval_cmd->add_option("--threads", o->threads, "threads")->capture_default_str();
  subcommand command;
  command.app = eval_cmd;
  command.run = [o] {
    require(o->threads >= 1 && o->threads <= charlstm::max_threads,
            "--threads must be in [1, " + std::to_string(charlstm::max_threads) + "]");
    return evaluate_command(o->model, o->corpus, o->drop_unknown, o->threads);
  };
  return command;
}

}  // namespace cli
