// charlstm/corpus.hpp: a corpus file as the text a model reads: its bytes checked for being text,
// decoded as UTF-8 and optionally lowercased.  Not the vocabulary (vocabulary.hpp) nor the
// statistics (statistics.hpp); the bytes come from file.hpp, the only header that does I/O.
#pragma once

#include <string>
#include <utility>

#include "error.hpp"
#include "file.hpp"
#include "lowercase.hpp"
#include "utf8.hpp"

namespace charlstm {

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

}  // namespace charlstm
