// charlstm/json.hpp: the small, strict JSON that a safetensors header needs: objects, arrays,
// strings, integers, numbers, true/false/null.  A parser that rejects anything malformed with
// the byte offset, never reads past its input and limits nesting, in time linear in its input
// (duplicate keys are found with a hash set); and a writer with escaping.
// Not a general JSON library: no comments, no duplicate keys, numbers kept as their text.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "error.hpp"
#include "utf8.hpp"

namespace charlstm {

struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  std::string text;               // a string's value, or a number's literal text
  std::vector<json_value> items;  // array
  std::vector<std::pair<std::string, json_value>> members;  // object, in file order

  // The member named `key`, or nullptr.
  const json_value* find(const std::string& key) const {
    for (const auto& m : members) {
      if (m.first == key) return &m.second;
    }
    return nullptr;
  }
  // A non-negative integer that fits in int64; throws otherwise.  `what` names it in messages.
  std::int64_t as_count(const std::string& what) const {
    bool digits = type == kind::number && !text.empty() && text.size() <= 18;
    for (char ch : text) digits = digits && ch >= '0' && ch <= '9';
    if (!digits) throw error(what + ": expected a non-negative integer, got '" + text + "'");
    return std::strtoll(text.c_str(), nullptr, 10);
  }
};

namespace json_detail {

class parser {
 public:
  parser(const char* data, std::size_t size, std::string source)
      : p_(data), size_(size), source_(std::move(source)) {}

  json_value parse_document() {
    json_value v = parse_value(0);
    skip_space();
    if (pos_ != size_) fail("unexpected data after the JSON value");
    return v;
  }

 private:
  const char* p_;
  std::size_t size_, pos_ = 0;
  std::string source_;
  static constexpr int max_depth = 32;

  [[noreturn]] void fail(const std::string& why) const {
    throw error(source_ + ": invalid JSON at byte " + std::to_string(pos_) + ": " + why);
  }
  bool at_end() const { return pos_ >= size_; }
  char peek() const { return at_end() ? '\0' : p_[pos_]; }
  void skip_space() {
    while (!at_end() &&
           (p_[pos_] == ' ' || p_[pos_] == '\n' || p_[pos_] == '\r' || p_[pos_] == '\t'))
      ++pos_;
  }
  void expect(char ch) {
    if (peek() != ch || at_end()) fail(std::string("expected '") + ch + "'");
    ++pos_;
  }
  void expect_word(const char* word) {
    for (const char* w = word; *w; ++w) {
      if (at_end() || p_[pos_] != *w) fail(std::string("expected '") + word + "'");
      ++pos_;
    }
  }

  json_value parse_value(int depth) {
    if (depth > max_depth) fail("nested deeper than " + std::to_string(max_depth));
    skip_space();
    json_value v;
    const char ch = peek();
    if (at_end()) fail("unexpected end of input");
    if (ch == '{') {
      v.type = json_value::kind::object;
      ++pos_;
      skip_space();
      if (peek() == '}' && !at_end()) {
        ++pos_;
        return v;
      }
      std::unordered_set<std::string> keys;
      while (true) {
        skip_space();
        if (peek() != '"' || at_end()) fail("expected a string key");
        std::string key = parse_string();
        if (!keys.insert(key).second) fail("duplicate key \"" + key + "\"");
        skip_space();
        expect(':');
        v.members.emplace_back(std::move(key), parse_value(depth + 1));
        skip_space();
        if (peek() == ',' && !at_end()) {
          ++pos_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (ch == '[') {
      v.type = json_value::kind::array;
      ++pos_;
      skip_space();
      if (peek() == ']' && !at_end()) {
        ++pos_;
        return v;
      }
      while (true) {
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        if (peek() == ',' && !at_end()) {
          ++pos_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (ch == '"') {
      v.type = json_value::kind::string;
      v.text = parse_string();
      return v;
    }
    if (ch == 't' || ch == 'f') {
      v.type = json_value::kind::boolean;
      v.boolean = ch == 't';
      expect_word(v.boolean ? "true" : "false");
      return v;
    }
    if (ch == 'n') {
      expect_word("null");
      return v;
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
      v.type = json_value::kind::number;
      const std::size_t start = pos_;
      if (peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9') || at_end()) fail("expected a digit");
      while (!at_end() &&
             ((p_[pos_] >= '0' && p_[pos_] <= '9') || p_[pos_] == '.' || p_[pos_] == 'e' ||
              p_[pos_] == 'E' || p_[pos_] == '+' || p_[pos_] == '-'))
        ++pos_;
      v.text.assign(p_ + start, pos_ - start);
      return v;
    }
    fail(std::string("unexpected character '") + ch + "'");
  }

  unsigned hex4() {
    unsigned value = 0;
    for (int k = 0; k < 4; ++k) {
      if (at_end()) fail("truncated \\u escape");
      const char h = p_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9')
        value |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        value |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        value |= static_cast<unsigned>(h - 'A' + 10);
      else
        fail("bad hex digit in \\u escape");
    }
    return value;
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      const char ch = p_[pos_++];
      if (ch == '"') return out;
      if (static_cast<unsigned char>(ch) < 0x20) fail("control character in string");
      if (ch != '\\') {
        out += ch;
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = p_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (at_end() || p_[pos_] != '\\') fail("unpaired surrogate in \\u escape");
            ++pos_;
            if (at_end() || p_[pos_] != 'u') fail("unpaired surrogate in \\u escape");
            ++pos_;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate in \\u escape");
          }
          out += encode_utf8(std::u32string(1, static_cast<char32_t>(cp)));
          break;
        }
        default:
          fail(std::string("unknown escape '\\") + e + "'");
      }
    }
  }
};

}  // namespace json_detail

// Parses one JSON document; `source` names it in error messages.
//   json_value header = parse_json(text.data(), text.size(), "model.safetensors header");
inline json_value parse_json(const char* data, std::size_t size, const std::string& source) {
  return json_detail::parser(data, size, source).parse_document();
}

// A JSON string literal for `s` (UTF-8 passed through, control characters escaped).
inline std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

}  // namespace charlstm
