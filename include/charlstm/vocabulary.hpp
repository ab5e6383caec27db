// charlstm/vocabulary.hpp: the token ids of a text and the text of token ids, for the two kinds
// of vocabulary:
//  - characters (the default): the book's sorted unique code points (Python's
//    `sorted(set(text))`).  Characters are Unicode code points, never bytes.
//  - words: the Moe's Tavern project's level (words.hpp): the most frequent words up to a cap,
//    beside an unknown-word token.  A detokenizer turns ids back into readable text.
// It uses no Eigen: a text is plain std::u32string.  Not reading files (corpus.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "utf8.hpp"
#include "words.hpp"

namespace charlstm {

// What a token is: a Unicode code point, or a word of the word level (see tokenize_words).
enum class token_kind { character, word };

// The book's vocabulary: sorted unique code points; a token id is a position in that list.
//   vocabulary vocab(text);   std::vector<token_id> ids = vocab.encode(text);
// A word vocabulary (kind word, made by word_vocabulary or from_words) holds `words` instead,
// and is used through encode_text / decode_text / detokenizer; encode, decode, id_of and symbol
// are for characters only.
struct vocabulary {
  std::vector<char32_t> symbols;  // characters: sorted, unique
  token_kind kind = token_kind::character;
  std::vector<std::u32string> words;                      // words: words[id]
  std::unordered_map<std::u32string, token_id> word_ids;  // words: the inverse of `words`

  vocabulary() = default;
  explicit vocabulary(const std::u32string& text) {
    std::vector<bool> seen_small(0x3000, false);  // most text lives below U+3000
    std::vector<char32_t> large;
    for (char32_t c : text) {
      if (c < seen_small.size()) {
        seen_small[c] = true;
      } else {
        large.push_back(c);
      }
    }
    for (char32_t c = 0; c < seen_small.size(); ++c) {
      if (seen_small[c]) symbols.push_back(c);
    }
    std::sort(large.begin(), large.end());
    large.erase(std::unique(large.begin(), large.end()), large.end());
    symbols.insert(symbols.end(), large.begin(), large.end());
  }
  // Adopts a stored symbol list (e.g. from a checkpoint); it must be sorted and unique.
  static vocabulary from_symbols(std::vector<char32_t> symbols) {
    for (std::size_t k = 1; k < symbols.size(); ++k) {
      require(symbols[k - 1] < symbols[k],
              "vocabulary: symbols must be sorted and unique (position " + std::to_string(k) + ")");
    }
    vocabulary v;
    v.symbols = std::move(symbols);
    return v;
  }

  index size() const {
    return static_cast<index>(kind == token_kind::word ? words.size() : symbols.size());
  }
  bool contains(char32_t c) const { return std::binary_search(symbols.begin(), symbols.end(), c); }

  // The id of c; throws if c is not in the vocabulary.
  token_id id_of(char32_t c) const {
    auto it = std::lower_bound(symbols.begin(), symbols.end(), c);
    if (it == symbols.end() || *it != c) {
      throw error("character " + describe_code_point(c) + " is not in the vocabulary of " +
                  std::to_string(symbols.size()) + " symbols");
    }
    return static_cast<token_id>(it - symbols.begin());
  }
  char32_t symbol(token_id id) const {
    if (!(id >= 0 && id < size())) {
      throw error("token id " + std::to_string(id) + " outside the vocabulary");
    }
    return symbols[static_cast<std::size_t>(id)];
  }

  std::vector<token_id> encode(const std::u32string& text) const {
    std::vector<token_id> ids(text.size());
    for (std::size_t k = 0; k < text.size(); ++k) ids[k] = id_of(text[k]);
    return ids;
  }
  std::u32string decode(const std::vector<token_id>& ids) const {
    std::u32string text(ids.size(), U'\0');
    for (std::size_t k = 0; k < ids.size(); ++k) text[k] = symbol(ids[k]);
    return text;
  }
};

// Encodes text with `vocab`.  Characters outside it are an error that lists each of them (code
// point and glyph) with `what` naming the text, or are dropped when `drop` is true.
//   auto ids = encode_known(vocab, prime, /*drop=*/false, "--prime");
inline std::vector<token_id> encode_known(const vocabulary& vocab, const std::u32string& text,
                                          bool drop, const std::string& what) {
  std::vector<char32_t> unknown;
  std::vector<token_id> ids;
  ids.reserve(text.size());
  // A direct table for the code points of most text, a binary search for the rest.
  std::vector<token_id> small(0x3000, token_id(-1));
  for (std::size_t k = 0; k < vocab.symbols.size() && vocab.symbols[k] < small.size(); ++k)
    small[vocab.symbols[k]] = static_cast<token_id>(k);
  for (char32_t c : text) {
    if (c < small.size()) {
      if (small[c] >= 0) {
        ids.push_back(small[c]);
      } else {
        unknown.push_back(c);
      }
      continue;
    }
    auto it = std::lower_bound(vocab.symbols.begin(), vocab.symbols.end(), c);
    if (it != vocab.symbols.end() && *it == c) {
      ids.push_back(static_cast<token_id>(it - vocab.symbols.begin()));
    } else {
      unknown.push_back(c);
    }
  }
  if (!unknown.empty() && !drop) {
    std::sort(unknown.begin(), unknown.end());
    unknown.erase(std::unique(unknown.begin(), unknown.end()), unknown.end());
    std::string list;
    for (char32_t c : unknown) list += (list.empty() ? "" : ", ") + describe_code_point(c);
    throw error(what + " has " + std::to_string(unknown.size()) +
                " character(s) outside the model's vocabulary: " + list +
                "; remove them or pass --drop-unknown");
  }
  return ids;
}

// The default cap on a word vocabulary (the unknown-word token included): enough for every word
// of Moe's Tavern and the frequent words of larger corpora, while the softmax stays small.
inline constexpr index default_max_vocab = 10000;

// A word vocabulary from a stored list (a checkpoint's): words[0] must be the unknown-word
// token; words must be unique, non-empty and free of whitespace.
inline vocabulary vocabulary_from_words(std::vector<std::u32string> words) {
  require(!words.empty() && words[0] == unknown_word(),
          "word vocabulary: the first word must be the unknown-word token " +
              encode_utf8(unknown_word()));
  vocabulary v;
  v.kind = token_kind::word;
  for (std::size_t k = 0; k < words.size(); ++k) {
    const std::vector<std::u32string> parts = split_words(words[k]);
    require(parts.size() == 1 && parts[0] == words[k],
            "word vocabulary: word " + std::to_string(k) + " is empty or holds whitespace");
    require(v.word_ids.emplace(words[k], static_cast<token_id>(k)).second,
            "word vocabulary: word '" + encode_utf8(words[k]) + "' appears twice");
  }
  v.words = std::move(words);
  return v;
}

// The word vocabulary of `text`: the unknown-word token, then the max_vocab - 1 most frequent
// tokens of tokenize_words(text), most frequent first (ties in code-point order), as the
// project's create_lookup_tables sorts by count.
//   vocabulary vocab = word_vocabulary(lowercase(text), 10000);
inline vocabulary word_vocabulary(const std::u32string& text, index max_vocab = default_max_vocab) {
  require(max_vocab >= 2,
          "--max-vocab must be at least 2 (the unknown-word token and one word), "
          "got " +
              std::to_string(max_vocab));
  std::unordered_map<std::u32string, std::size_t> counts;
  for (std::u32string& w : tokenize_words(text)) ++counts[std::move(w)];
  counts.erase(unknown_word());
  std::vector<std::pair<std::u32string, std::size_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::u32string> words = {unknown_word()};
  for (auto& entry : ranked) {
    if (static_cast<index>(words.size()) >= max_vocab) break;
    words.push_back(std::move(entry.first));
  }
  return vocabulary_from_words(std::move(words));
}

// Text to ids for either kind.  Characters: encode_known (unknown characters are an error, or
// dropped when `drop`).  Words: tokenize_words, and a word outside the vocabulary becomes the
// unknown-word token (or is dropped when `drop`).
//   std::vector<token_id> ids = encode_text(vocab, text, false, "corpus");
inline std::vector<token_id> encode_text(const vocabulary& vocab, const std::u32string& text,
                                         bool drop, const std::string& what) {
  if (vocab.kind == token_kind::character) return encode_known(vocab, text, drop, what);
  std::vector<token_id> ids;
  for (const std::u32string& w : tokenize_words(text)) {
    auto it = vocab.word_ids.find(w);
    if (it != vocab.word_ids.end()) {
      ids.push_back(it->second);
    } else if (!drop) {
      ids.push_back(0);
    }
  }
  return ids;
}

// Ids back to text, one token at a time, so that streamed output reads as the whole does.
// Characters: the code point.  Words: named punctuation becomes its mark again, re-attached to
// the word before it (. , ; ! ? and a closing parenthesis or quotation mark) or to the word after
// it (an opening parenthesis or quotation mark; quotation marks alternate opening and closing
// within a line); ||return|| is a newline; other words are separated by one space.
//   detokenizer d(vocab);  for (token_id id : ids) out += d.piece(id);
class detokenizer {
 public:
  explicit detokenizer(const vocabulary& vocab) : vocab_(&vocab) {}

  // The text token `id` adds after the tokens before it.
  std::u32string piece(token_id id) {
    require(id >= 0 && id < vocab_->size(), "token id " + std::to_string(id) +
                                                " outside the vocabulary of " +
                                                std::to_string(vocab_->size()));
    if (vocab_->kind == token_kind::character)
      return std::u32string(1, vocab_->symbols[static_cast<std::size_t>(id)]);
    const std::u32string& w = vocab_->words[static_cast<std::size_t>(id)];
    const bool space = !line_start_ && !glue_next_;
    line_start_ = glue_next_ = false;
    if (w == U"||return||") {
      line_start_ = true;
      quote_open_ = false;
      return U"\n";
    }
    if (w == U"||period||") return U".";
    if (w == U"||comma||") return U",";
    if (w == U"||semicolon||") return U";";
    if (w == U"||exclamation_mark||") return U"!";
    if (w == U"||question_mark||") return U"?";
    if (w == U"||right_parentheses||") return U")";
    if (w == U"||left_parentheses||") {
      glue_next_ = true;
      return space ? U" (" : U"(";
    }
    if (w == U"||dash||") return space ? U" --" : U"--";
    if (w == U"||quotation_mark||") {
      quote_open_ = !quote_open_;
      if (!quote_open_) return U"\"";
      glue_next_ = true;
      return space ? U" \"" : U"\"";
    }
    return space ? U" " + w : w;
  }

 private:
  const vocabulary* vocab_;
  bool line_start_ = true, glue_next_ = false, quote_open_ = false;
};

// All of ids as text (a detokenizer over them).
inline std::u32string decode_text(const vocabulary& vocab, const std::vector<token_id>& ids) {
  detokenizer d(vocab);
  std::u32string out;
  for (token_id id : ids) out += d.piece(id);
  return out;
}

}  // namespace charlstm
