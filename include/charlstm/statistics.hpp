// charlstm/statistics.hpp: what a text is made of, as the Simpsons (Moe's Tavern) notebook
// reports it (characters, unique words, scenes, lines and their averages, and the notebook's
// lines of text with the averages as Python prints floats) and at the word level (tokens, and
// how much of them a capped vocabulary covers).  Computes and formats, prints nothing.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
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
  s.unique_characters = char_vocabulary(text).symbols.size();
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

// A double as Python's repr() writes it (and print, and str.format's "{}"): the shortest digits
// that read back as the same double; fixed notation for decimal exponents from -4 to 15, else
// scientific with a signed exponent of at least two digits; ".0" after an integral value.
//   python_repr(3995.0 / 263) == "15.190114068441064";  python_repr(1e16) == "1e+16"
inline std::string python_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);  // "-1.5190114068441064e+01": shortest round-trip digits
  const std::size_t e_at = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (std::size_t k = negative ? 1 : 0; k < e_at; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  const int exponent = std::stoi(sci.substr(e_at + 1));
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else {
      const auto whole = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= whole) {
        out += digits + std::string(whole - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, whole) + "." + digits.substr(whole);
      }
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int magnitude = exponent < 0 ? -exponent : exponent;
    out += std::string(exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") +
           std::to_string(magnitude);
  }
  return out;
}

// The notebook's "Dataset Stats" block, line for line as its cell prints it (numpy's average is
// a float64, printed with repr):
//   Dataset Stats
//   Roughly the number of unique words: 10353
//   Number of scenes: 263
//   Average number of sentences in each scene: 15.190114068441064
//   Number of lines: 4258
//   Average number of words in each line: 11.504462188821043
// (Moe's Tavern lowercased, as the notebook reads it.)
inline std::string notebook_statistics(const text_statistics& s) {
  return "Dataset Stats\nRoughly the number of unique words: " + std::to_string(s.unique_words) +
         "\nNumber of scenes: " + std::to_string(s.scenes) +
         "\nAverage number of sentences in each scene: " + python_repr(s.lines_per_scene) +
         "\nNumber of lines: " + std::to_string(s.lines) +
         "\nAverage number of words in each line: " + python_repr(s.words_per_line) + "\n";
}

// The word level of a text as the CLI's stats reports it: how many tokens tokenize_words gives,
// how many distinct ones, and how much of the text a vocabulary capped at max_vocab covers.
struct word_statistics {
  std::size_t tokens = 0, unique_tokens = 0, vocabulary_size = 0, unknown_tokens = 0;
};

inline word_statistics word_level_statistics(const std::u32string& text, index max_vocab) {
  word_statistics s;
  const word_vocabulary vocab(text, max_vocab);
  const std::vector<std::u32string> tokens = tokenize_words(text);
  s.tokens = tokens.size();
  std::unordered_map<std::u32string, int> seen;
  for (const std::u32string& w : tokens) {
    seen[w] = 1;
    if (!vocab.contains(w)) ++s.unknown_tokens;
  }
  s.unique_tokens = seen.size();
  s.vocabulary_size = static_cast<std::size_t>(vocab.size());
  return s;
}

}  // namespace charlstm
