// charlstm/corpus.hpp: text in, token ids out.  Reads a UTF-8 file, optionally lowercases it as
// Python's str.lower() does, and builds a vocabulary of one of two kinds:
//  - characters (the default): the book's sorted unique code points (Python's
//    `sorted(set(text))`).  Characters are Unicode code points, never bytes.
//  - words: the Moe's Tavern (Udacity TV-script) project's level: punctuation becomes named
//    tokens (||period|| ...), the text is split on whitespace, and the most frequent words up to a
//    cap are kept beside an unknown-word token.  A detokenizer turns ids back into readable text.
// It uses no Eigen: a corpus is plain std::u32string.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config.hpp"
#include "error.hpp"

namespace charlstm {

// The whole file as bytes.  Throws, naming the path and the system's reason, if it cannot be
// opened or read, or if it is a directory.
//   std::string bytes = read_file_bytes("model.safetensors");
inline std::string read_file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw error("cannot open '" + path + "' for reading: " + std::strerror(errno) +
                ": check the path and permissions");
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw error("'" + path + "' is a directory, not a file: pass the path of a file inside it");
  }
  std::string bytes;
  if (S_ISREG(st.st_mode) && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw error("error while reading '" + path + "' after " + std::to_string(bytes.size()) +
                  " bytes: " + why + ": check the file and the disk");
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

// Strict UTF-8 decoding: rejects overlong forms, surrogates, code points above U+10FFFF and
// truncated sequences, naming the byte offset.  `source` names the input in the message.
//   std::u32string text = decode_utf8(read_file_bytes(path), path);
// A leading byte-order mark is kept as U+FEFF, as Python's 'utf-8' codec does.
inline std::u32string decode_utf8(const std::string& bytes, const std::string& source = "input") {
  std::u32string out(bytes.size(), U'\0');  // at most one code point per byte
  std::size_t size = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  for (std::size_t k = 0; k < n;) {
    const unsigned char b0 = p[k];
    if (b0 < 0x80) {  // ASCII, most of any text
      out[size++] = b0;
      ++k;
      continue;
    }
    int len = 0;
    char32_t cp = 0, min = 0;
    if (b0 < 0x80) {
      len = 1, cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    }
    auto fail = [&](const char* why) {
      std::ostringstream msg;
      msg << source << ": invalid UTF-8 at byte offset " << k << " (byte 0x" << std::hex
          << static_cast<int>(b0) << std::dec << "): " << why
          << "; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)";
      throw error(msg.str());
    };
    if (len == 0) fail("not a valid leading byte");
    if (k + len > n) fail("sequence truncated at end of input");
    for (int m = 1; m < len; ++m) {
      if ((p[k + m] & 0xC0) != 0x80) fail("expected a continuation byte");
      cp = (cp << 6) | (p[k + m] & 0x3F);
    }
    if (cp < min) fail("overlong encoding");
    if (cp >= 0xD800 && cp <= 0xDFFF) fail("encodes a UTF-16 surrogate");
    if (cp > 0x10FFFF) fail("code point above U+10FFFF");
    out[size++] = cp;
    k += len;
  }
  out.resize(size);
  return out;
}

inline std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// The lowercase of one code point, as Python's str.lower() maps it, for the scripts a corpus here
// is likely to hold: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.  Code points outside
// these blocks are returned unchanged.  Two differences from Python, both documented here:
// U+0130 (I with dot) becomes plain 'i' (Python gives "i\u0307"), and a capital sigma always
// becomes U+03C3 (Python gives the final form U+03C2 at the end of a word).
inline char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;  // Latin-1 capitals
  if (c >= 0x100 && c <= 0x17F) {                            // Latin Extended-A: pairs
    if (c == 0x130) return U'i';
    if (c == 0x178) return 0xFF;
    const bool odd_capitals = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return (c % 2 == (odd_capitals ? 1u : 0u)) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek capitals
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x410 && c <= 0x42F) return c + 32;  // Cyrillic capitals
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

inline std::u32string lowercase(std::u32string text) {
  for (char32_t& c : text) c = to_lower(c);
  return text;
}

// Reads a UTF-8 text file as code points, lowercased if asked (the book lowercases Nietzsche).
//   std::u32string text = load_text("nietzsche.txt", /*lower=*/true);
// A NUL byte is an error: text has none, while binary and UTF-16 files are full of them.
// Line endings are kept as they are: a CRLF file has '\r' in its vocabulary.
inline std::u32string load_text(const std::string& path, bool lower) {
  const std::string bytes = read_file_bytes(path);
  if (const std::size_t nul = bytes.find('\0'); nul != std::string::npos) {
    throw error(path + ": NUL byte at byte offset " + std::to_string(nul) +
                ": not a text file (UTF-16? convert it with iconv -f utf-16 -t utf-8)");
  }
  std::u32string text = decode_utf8(bytes, path);
  if (lower) text = lowercase(std::move(text));
  return text;  // moved out: no copy (a `lower ? ... : text` would copy the whole text)
}

// "U+00E9 'é'" for messages.
inline std::string describe_code_point(char32_t c) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(c));
  std::string out = hex;
  if (c >= 0x20 && c != 0x7F) out += " '" + encode_utf8(std::u32string(1, c)) + "'";
  return out;
}

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
