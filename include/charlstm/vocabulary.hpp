// charlstm/vocabulary.hpp: the token ids of a text and the text of token ids, for the two kinds
// of vocabulary, each its own type with only the operations that make sense for it:
//  - char_vocabulary (the default): the book's sorted unique code points (Python's
//    `sorted(set(text))`).  Characters are Unicode code points, never bytes.
//  - word_vocabulary: the Moe's Tavern project's level (words.hpp): the most frequent words up
//    to a cap, beside an unknown-word token.
// token_vocabulary holds either (a checkpoint's, a run's); its kind says which, and asking it
// for the other kind throws.  encode_text and the detokenizer take any of the three.
// It uses no Eigen: a text is plain std::u32string.  Not reading files (corpus.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "utf8.hpp"
#include "words.hpp"

namespace charlstm {

// What a token is: a Unicode code point, or a word of the word level (see tokenize_words).
enum class token_kind { character, word };

// The book's vocabulary: sorted unique code points; a token id is a position in that list.
//   char_vocabulary vocab(text);   std::vector<token_id> ids = vocab.encode(text);
struct char_vocabulary {
  std::vector<char32_t> symbols;  // sorted, unique

  char_vocabulary() = default;
  explicit char_vocabulary(const std::u32string& text) {
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
  static char_vocabulary from_symbols(std::vector<char32_t> symbols) {
    for (std::size_t k = 1; k < symbols.size(); ++k) {
      require(symbols[k - 1] < symbols[k],
              "vocabulary: symbols must be sorted and unique (position " + std::to_string(k) + ")");
    }
    char_vocabulary v;
    v.symbols = std::move(symbols);
    return v;
  }

  index size() const { return static_cast<index>(symbols.size()); }
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
inline std::vector<token_id> encode_known(const char_vocabulary& vocab, const std::u32string& text,
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

// The word level's vocabulary: words[0] is the unknown-word token, standing for every word
// beyond the cap; a token id is a position in `words`.
//   word_vocabulary vocab(lowercase(text), 10000);
//   std::vector<token_id> ids = encode_text(vocab, text, false, "corpus");
struct word_vocabulary {
  static constexpr token_id unknown_id = 0;               // unknown_word()'s id
  std::vector<std::u32string> words;                      // words[id]
  std::unordered_map<std::u32string, token_id> word_ids;  // the inverse of `words`

  // The word vocabulary of `text`: the unknown-word token, then the max_vocab - 1 most frequent
  // tokens of tokenize_words(text), most frequent first (ties in code-point order), as the
  // project's create_lookup_tables sorts by count.
  explicit word_vocabulary(const std::u32string& text, index max_vocab = default_max_vocab) {
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
    std::vector<std::u32string> list = {unknown_word()};
    for (auto& entry : ranked) {
      if (static_cast<index>(list.size()) >= max_vocab) break;
      list.push_back(std::move(entry.first));
    }
    adopt(std::move(list));
  }
  // Adopts a stored list (a checkpoint's): words[0] must be the unknown-word token; words must
  // be unique, non-empty and free of whitespace.
  static word_vocabulary from_words(std::vector<std::u32string> words) {
    word_vocabulary v;
    v.adopt(std::move(words));
    return v;
  }

  index size() const { return static_cast<index>(words.size()); }
  bool contains(const std::u32string& w) const { return word_ids.count(w) != 0; }
  // The id of w, or unknown_id when w is not in the vocabulary.
  token_id id_of(const std::u32string& w) const {
    auto it = word_ids.find(w);
    return it == word_ids.end() ? unknown_id : it->second;
  }
  const std::u32string& word(token_id id) const {
    if (!(id >= 0 && id < size())) {
      throw error("token id " + std::to_string(id) + " outside the word vocabulary of " +
                  std::to_string(size()));
    }
    return words[static_cast<std::size_t>(id)];
  }

 private:
  word_vocabulary() = default;
  void adopt(std::vector<std::u32string> list) {
    require(!list.empty() && list[0] == unknown_word(),
            "word vocabulary: the first word must be the unknown-word token " +
                encode_utf8(unknown_word()));
    for (std::size_t k = 0; k < list.size(); ++k) {
      const std::vector<std::u32string> parts = split_words(list[k]);
      require(parts.size() == 1 && parts[0] == list[k],
              "word vocabulary: word " + std::to_string(k) + " is empty or holds whitespace");
      require(word_ids.emplace(list[k], static_cast<token_id>(k)).second,
              "word vocabulary: word '" + encode_utf8(list[k]) + "' appears twice");
    }
    words = std::move(list);
  }
};

// Either vocabulary, as a checkpoint or a run holds it: a closed sum whose kind says which.
// as_chars() / as_words() give the one it holds and throw charlstm::error for the other.
//   token_vocabulary v = char_vocabulary(text);   if (v.kind() == token_kind::word) ...
class token_vocabulary {
 public:
  token_vocabulary() = default;  // an empty character vocabulary
  token_vocabulary(char_vocabulary v) : v_(std::move(v)) {}
  token_vocabulary(word_vocabulary v) : v_(std::move(v)) {}

  token_kind kind() const {
    return std::holds_alternative<word_vocabulary>(v_) ? token_kind::word : token_kind::character;
  }
  index size() const {
    return kind() == token_kind::word ? std::get<word_vocabulary>(v_).size()
                                      : std::get<char_vocabulary>(v_).size();
  }
  const char_vocabulary& as_chars() const {
    require(kind() == token_kind::character,
            "token_vocabulary::as_chars: the vocabulary holds words, not characters; check "
            "kind() first, or use encode_text, decode_text or a detokenizer (either kind)");
    return std::get<char_vocabulary>(v_);
  }
  const word_vocabulary& as_words() const {
    require(kind() == token_kind::word,
            "token_vocabulary::as_words: the vocabulary holds characters, not words; check "
            "kind() first, or use encode_text, decode_text or a detokenizer (either kind)");
    return std::get<word_vocabulary>(v_);
  }

 private:
  std::variant<char_vocabulary, word_vocabulary> v_;
};

// Text to ids for either kind.  Characters: encode_known (unknown characters are an error, or
// dropped when `drop`).  Words: tokenize_words, and a word outside the vocabulary becomes the
// unknown-word token (or is dropped when `drop`).
//   std::vector<token_id> ids = encode_text(vocab, text, false, "corpus");
inline std::vector<token_id> encode_text(const char_vocabulary& vocab, const std::u32string& text,
                                         bool drop, const std::string& what) {
  return encode_known(vocab, text, drop, what);
}
inline std::vector<token_id> encode_text(const word_vocabulary& vocab, const std::u32string& text,
                                         bool drop, const std::string& /*what*/) {
  std::vector<token_id> ids;
  for (const std::u32string& w : tokenize_words(text)) {
    auto it = vocab.word_ids.find(w);
    if (it != vocab.word_ids.end()) {
      ids.push_back(it->second);
    } else if (!drop) {
      ids.push_back(word_vocabulary::unknown_id);
    }
  }
  return ids;
}
inline std::vector<token_id> encode_text(const token_vocabulary& vocab, const std::u32string& text,
                                         bool drop, const std::string& what) {
  if (vocab.kind() == token_kind::character) return encode_text(vocab.as_chars(), text, drop, what);
  return encode_text(vocab.as_words(), text, drop, what);
}

// Ids back to text, one token at a time, so that streamed output reads as the whole does.
// Characters: the code point.  Words: named punctuation becomes its mark again, re-attached to
// the word before it (. , ; ! ? and a closing parenthesis or quotation mark) or to the word after
// it (an opening parenthesis or quotation mark; quotation marks alternate opening and closing
// within a line); ||return|| is a newline; other words are separated by one space.
//   detokenizer d(vocab);  for (token_id id : ids) out += d.piece(id);
// It refers to the vocabulary it is given, which must outlive it (a temporary is refused).
class detokenizer {
 public:
  explicit detokenizer(const char_vocabulary& vocab) : chars_(&vocab) {}
  explicit detokenizer(const word_vocabulary& vocab) : words_(&vocab) {}
  explicit detokenizer(const token_vocabulary& vocab)
      : chars_(vocab.kind() == token_kind::character ? &vocab.as_chars() : nullptr),
        words_(vocab.kind() == token_kind::word ? &vocab.as_words() : nullptr) {}
  explicit detokenizer(char_vocabulary&&) = delete;
  explicit detokenizer(word_vocabulary&&) = delete;
  explicit detokenizer(token_vocabulary&&) = delete;

  // The text token `id` adds after the tokens before it.
  std::u32string piece(token_id id) {
    const index size = chars_ ? chars_->size() : words_->size();
    require(id >= 0 && id < size, "token id " + std::to_string(id) + " outside the vocabulary of " +
                                      std::to_string(size));
    if (chars_) return std::u32string(1, chars_->symbols[static_cast<std::size_t>(id)]);
    const std::u32string& w = words_->words[static_cast<std::size_t>(id)];
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
  const char_vocabulary* chars_ = nullptr;  // exactly one of the two is set
  const word_vocabulary* words_ = nullptr;
  bool line_start_ = true, glue_next_ = false, quote_open_ = false;
};

// All of ids as text (a detokenizer over them).
namespace vocabulary_detail {
template <class Vocabulary>
std::u32string decode_all(const Vocabulary& vocab, const std::vector<token_id>& ids) {
  detokenizer d(vocab);
  std::u32string out;
  for (token_id id : ids) out += d.piece(id);
  return out;
}
}  // namespace vocabulary_detail
inline std::u32string decode_text(const char_vocabulary& vocab, const std::vector<token_id>& ids) {
  return vocabulary_detail::decode_all(vocab, ids);
}
inline std::u32string decode_text(const word_vocabulary& vocab, const std::vector<token_id>& ids) {
  return vocabulary_detail::decode_all(vocab, ids);
}
inline std::u32string decode_text(const token_vocabulary& vocab, const std::vector<token_id>& ids) {
  return vocabulary_detail::decode_all(vocab, ids);
}

}  // namespace charlstm
