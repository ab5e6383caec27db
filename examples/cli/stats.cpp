// `charlstm stats`: a corpus's statistics, the Simpsons notebook's and the word level's, the text
// read as train reads it (lowercased unless --no-lowercase).
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "inputs.hpp"
#include "memory.hpp"

namespace cli {

namespace {

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

}  // namespace

subcommand add_stats(CLI::App& tool) {
  struct stats_options {
    std::string corpus;
    long max_vocab = static_cast<long>(charlstm::default_max_vocab);
    bool lowercase = true;
  };
  auto o = std::make_shared<stats_options>();
  CLI::App* stats_cmd =
      tool.add_subcommand("stats", "dataset statistics (the Simpsons notebook's)");
  stats_cmd->add_option("--corpus", o->corpus, "text file or corpus name")->required();
  stats_cmd->add_flag("--lowercase,!--no-lowercase", o->lowercase,
                      "lowercase the corpus first, as train does (default on)");
  stats_cmd->add_option("--max-vocab", o->max_vocab, "word vocabulary cap for the word-level lines")
      ->capture_default_str();
  subcommand command;
  command.app = stats_cmd;
  command.run = [o] { return stats(o->corpus, o->max_vocab, o->lowercase); };
  return command;
}

}  // namespace cli
