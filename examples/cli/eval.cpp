// `charlstm eval` (a checkpoint's loss on a text) and `charlstm stats` (a corpus's statistics,
// the Simpsons notebook's and the word level's).
#include <cmath>
#include <cstdio>

#include "cli.hpp"
#include "inputs.hpp"
#include "memory.hpp"

namespace cli {

int evaluate_command(const std::string& model_path, const std::string& corpus, bool drop_unknown,
                     long threads) {
  charlstm::checkpoint_info info;
  charlstm::model<float> model = load_model(model_path, info);
  const std::string path = resolve_corpus(corpus);
  const charlstm::training_config c = charlstm::read_training_config(info, model);
  const std::u32string text = load_corpus(path, c.lowercase);
  const std::vector<charlstm::token_id> ids =
      charlstm::encode_text(info.vocab, text, drop_unknown, "corpus " + path);
  activity doing("evaluating the model on '" + path + "'", "lower --threads, or use a smaller text");
  charlstm::batch_trainer<float> trainer(model, threads);
  // Per token: nats/char and bits/char, or nats/word and bits/word; 6 decimals, as metrics.csv.
  const bool words = info.vocab.kind() == charlstm::token_kind::word;
  const char* unit = words ? "word" : "char";
  if (c.mode == charlstm::training_mode::sequence) {
    // As validation in training: up to `batch` streams, the state carried, the loss at every step.
    require(ids.size() >= 2, std::string("the text is too short to evaluate (fewer than 2 ") +
                                 (words ? "words)" : "characters)"));
    const charlstm::stream_set streams = charlstm::make_streams(
        ids, std::min<index>(c.batch, static_cast<index>(ids.size()) - 1), c.seq_len);
    const double loss = charlstm::evaluate_sequence(trainer, streams);
    std::printf("%s: %ld %s predicted (sequence mode), loss %.6f nats/%s, %.6f bits/%s\n",
                path.c_str(), static_cast<long>(streams.targets_before(streams.batches())),
                words ? "words" : "characters", loss, unit, loss / std::log(2.0), unit);
    return 0;
  }
  const charlstm::window_set windows = charlstm::make_windows(ids, c.maxlen, c.step);
  const double loss = charlstm::evaluate(trainer, windows, c.batch);
  std::printf("%s: %ld windows, loss %.6f nats/%s, %.6f bits/%s\n", path.c_str(),
              static_cast<long>(windows.size()), loss, unit, loss / std::log(2.0), unit);
  return 0;
}

int stats(const std::string& corpus, long max_vocab, bool lowercase) {
  require(max_vocab >= 2 && max_vocab <= charlstm::max_vocab_size,
          "--max-vocab must be in [2, " + std::to_string(charlstm::max_vocab_size) + "], got " +
              std::to_string(max_vocab));
  const std::string path = resolve_corpus(corpus);
  // As train reads it: lowercased unless --no-lowercase.
  const std::u32string text = load_corpus(path, lowercase);
  activity doing("computing the statistics of '" + path + "'", "use a smaller part of the corpus");
  const charlstm::text_statistics s = charlstm::statistics(text);
  std::printf("Corpus: %s (%s)\n", path.c_str(), lowercase ? "lowercased" : "case kept");
  std::printf("Length: %zu characters, %zu unique\n", s.characters, s.unique_characters);
  // The notebook's block, as its cell prints it (the averages as Python prints floats).
  std::fputs(charlstm::notebook_statistics(s).c_str(), stdout);
  // The word level of `train --tokens word` (punctuation as named tokens).
  const charlstm::word_statistics w = charlstm::word_level_statistics(text, max_vocab);
  std::printf("Word tokens (%s, punctuation as named tokens): %zu, %zu unique\n",
              lowercase ? "lowercased" : "case kept", w.tokens, w.unique_tokens);
  std::printf("Word vocabulary at --max-vocab %ld: %zu tokens; %zu tokens (%.2f%%) unknown\n",
              max_vocab, w.vocabulary_size, w.unknown_tokens,
              w.tokens
                  ? 100.0 * static_cast<double>(w.unknown_tokens) / static_cast<double>(w.tokens)
                  : 0.0);
  return 0;
}
}  // namespace cli
