// charlstm/statistics.hpp: what a text is made of, as the Simpsons (Moe's Tavern) notebook
// reports it (characters, unique words, scenes, lines and their averages) and at the word level
// (tokens, and how much of them a capped vocabulary covers).  Computes, prints nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "vocabulary.hpp"
#include "words.hpp"

namespace charlstm {

// The dataset statistics of the Simpsons (Moe's Tavern) notebook, computed as it does: words
// are text.split(), scenes are separated by a blank line, lines by a newline.
struct text_statistics {
  std::size_t characters = 0, unique_characters = 0, unique_words = 0, scenes = 0, lines = 0;
  double lines_per_scene = 0;  // mean of scene.count('\n')
  double words_per_line = 0;
};

inline text_statistics statistics(const std::u32string& text) {
  text_statistics s;
  s.characters = text.size();
  s.unique_characters = vocabulary(text).symbols.size();
  std::vector<std::u32string> words = split_words(text);
  std::sort(words.begin(), words.end());
  s.unique_words =
      static_cast<std::size_t>(std::unique(words.begin(), words.end()) - words.begin());
  const std::vector<std::u32string> scenes = split_on(text, U"\n\n");
  s.scenes = scenes.size();
  double newlines = 0, words_in_lines = 0;
  for (const std::u32string& scene : scenes) {
    newlines += static_cast<double>(std::count(scene.begin(), scene.end(), U'\n'));
    for (const std::u32string& line : split_on(scene, U"\n")) {
      ++s.lines;
      words_in_lines += static_cast<double>(split_words(line).size());
    }
  }
  s.lines_per_scene = newlines / static_cast<double>(s.scenes);
  s.words_per_line = words_in_lines / static_cast<double>(s.lines);
  return s;
}

// The word level of a text as the CLI's stats reports it: how many tokens tokenize_words gives,
// how many distinct ones, and how much of the text a vocabulary capped at max_vocab covers.
struct word_statistics {
  std::size_t tokens = 0, unique_tokens = 0, vocabulary_size = 0, unknown_tokens = 0;
};

inline word_statistics word_level_statistics(const std::u32string& text, index max_vocab) {
  word_statistics s;
  const vocabulary vocab = word_vocabulary(text, max_vocab);
  const std::vector<std::u32string> tokens = tokenize_words(text);
  s.tokens = tokens.size();
  std::unordered_map<std::u32string, int> seen;
  for (const std::u32string& w : tokens) {
    seen[w] = 1;
    if (vocab.word_ids.find(w) == vocab.word_ids.end()) ++s.unknown_tokens;
  }
  s.unique_tokens = seen.size();
  s.vocabulary_size = static_cast<std::size_t>(vocab.size());
  return s;
}

}  // namespace charlstm
