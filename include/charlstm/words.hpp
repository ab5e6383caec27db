// charlstm/words.hpp: text cut into words: Python's str.split() and str.split(sep), and the word
// level of the Moe's Tavern (Udacity TV-script) project, where punctuation becomes named tokens
// (||period|| ...) before the split.  Not the word vocabulary (vocabulary.hpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace charlstm {

// Python's str.split(): the words between runs of Unicode whitespace.
inline std::vector<std::u32string> split_words(const std::u32string& text) {
  auto is_space = [](char32_t c) {
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85 ||
           c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
  };
  std::vector<std::u32string> words;
  std::u32string word;
  for (char32_t c : text) {
    if (!is_space(c)) {
      word += c;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Python's str.split(separator).
inline std::vector<std::u32string> split_on(const std::u32string& text,
                                            const std::u32string& separator) {
  std::vector<std::u32string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::u32string::npos) return parts;
    start = at + separator.size();
  }
}

// ---- Words -------------------------------------------------------------------------------
// The Udacity TV-script project's token_lookup: each punctuation mark becomes a named token with
// spaces around it before the text is split on whitespace, so "Hey, Moe!" is
// "Hey ||comma|| Moe ||exclamation_mark||".  "--" is the dash (a single '-' stays inside words)
// and a newline is ||return||.

inline const std::vector<std::pair<std::u32string, std::u32string>>& word_punctuation() {
  static const std::vector<std::pair<std::u32string, std::u32string>> table = {
      {U".", U"||period||"},
      {U",", U"||comma||"},
      {U"\"", U"||quotation_mark||"},
      {U";", U"||semicolon||"},
      {U"!", U"||exclamation_mark||"},
      {U"?", U"||question_mark||"},
      {U"(", U"||left_parentheses||"},
      {U")", U"||right_parentheses||"},
      {U"--", U"||dash||"},
      {U"\n", U"||return||"}};
  return table;
}

// The unknown-word token: id 0 of every word vocabulary, standing for each word beyond the cap.
inline const std::u32string& unknown_word() {
  static const std::u32string token = U"<unk>";
  return token;
}

// The text's tokens at the word level: punctuation replaced by its named token, then
// split_words.  Case is kept (lowercase the text first, as the project and the CLI do).
//   tokenize_words(U"hey, moe!\n")  ->  {"hey", "||comma||", "moe", "||exclamation_mark||",
//   "||return||"}
inline std::vector<std::u32string> tokenize_words(const std::u32string& text) {
  std::u32string spaced;
  spaced.reserve(text.size() + text.size() / 4);
  const auto& table = word_punctuation();
  for (std::size_t k = 0; k < text.size();) {
    bool replaced = false;
    for (const auto& entry : table) {
      if (text.compare(k, entry.first.size(), entry.first) == 0) {
        spaced += U' ';
        spaced += entry.second;
        spaced += U' ';
        k += entry.first.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) spaced += text[k++];
  }
  return split_words(spaced);
}

}  // namespace charlstm
