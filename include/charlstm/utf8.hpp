// charlstm/utf8.hpp: UTF-8 bytes to Unicode code points and back, strictly (Python's 'utf-8'
// codec's rules), and a code point named for a message.  Characters here are code points, never
// bytes.  Not files (file.hpp) nor case (lowercase.hpp).
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

#include "error.hpp"

namespace charlstm {

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

// "U+00E9 'é'" for messages.
inline std::string describe_code_point(char32_t c) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(c));
  std::string out = hex;
  if (c >= 0x20 && c != 0x7F) out += " '" + encode_utf8(std::u32string(1, c)) + "'";
  return out;
}

}  // namespace charlstm
