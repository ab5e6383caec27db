// charlstm/corpus.hpp: a corpus as the text a model reads: one file, several, or a folder's
// files, each checked for being text and decoded as UTF-8, joined with a blank line between
// documents, optionally lowercased.  Not the vocabulary (vocabulary.hpp) nor the statistics
// (statistics.hpp); the bytes come from file.hpp, the only header that does I/O, or from a
// reader the caller passes (the tool's bounded one).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "file.hpp"
#include "lowercase.hpp"
#include "utf8.hpp"

namespace charlstm {

// Between two documents of a corpus of several files: a blank line, so that no word or line runs
// from one file into the next.  Fixed: a resumed run must read the same text.  One file is read
// as it is (no separator).
inline const std::u32string document_separator = U"\n\n";

// The corpus's argument that stands for standard input.
inline const std::string standard_input_name = "-";

// The files of a corpus, in reading order: each argument as given, a folder replaced by its
// regular files in byte-wise name order (directory_files: hidden files and subfolders left out,
// so the folder is read one level deep).  "-" (standard input) is kept as it is.
//   corpus_files({"notes", "extra.txt"})  // notes/a.txt, notes/b.txt, extra.txt
// Throws for a folder with no file to read, and for "-" given twice (standard input is read once).
inline std::vector<std::string> corpus_files(const std::vector<std::string>& arguments) {
  std::vector<std::string> files;
  bool standard_input = false;
  for (const std::string& argument : arguments) {
    if (argument == standard_input_name) {
      require(!standard_input, "the corpus names '-' (standard input) twice: it can be read once");
      standard_input = true;
      files.push_back(argument);
    } else if (is_directory(argument)) {
      const std::vector<std::string> inside = directory_files(argument);
      require(!inside.empty(), "the corpus folder '" + argument +
                                   "' has no file to read (hidden files and subfolders are "
                                   "skipped): put text files in it, or name the files");
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(argument);
    }
  }
  return files;
}

// One document's bytes as code points; `name` names it in messages.  A NUL byte is an error:
// text has none, while binary and UTF-16 files are full of them.  Line endings are kept as they
// are: a CRLF file has '\r' in its vocabulary.
inline std::u32string document_text(const std::string& bytes, const std::string& name) {
  if (const std::size_t nul = bytes.find('\0'); nul != std::string::npos) {
    throw error(name + ": NUL byte at byte offset " + std::to_string(nul) +
                ": not a text file (UTF-16? convert it with iconv -f utf-16 -t utf-8; a binary "
                "file? leave it out of the corpus)");
  }
  return decode_utf8(bytes, name);
}

// The text of the corpus `files` (corpus_files' list): each read by `read(path)` (its bytes),
// decoded, joined with document_separator between documents, and lowercased if asked.  Each
// file's bytes are dropped once decoded.
//   std::u32string text = read_corpus({"a.txt", "b.txt"}, true, read_file_bytes);
// Pitfall: `read` gets "-" for standard input; the library's own reader (load_corpus) reads it
// from /dev/stdin.
template <class Read>
std::u32string read_corpus(const std::vector<std::string>& files, bool lower, Read&& read) {
  require(!files.empty(), "the corpus names no file: give a file, a folder or '-'");
  std::u32string text;
  for (std::size_t k = 0; k < files.size(); ++k) {
    if (k > 0) text += document_separator;
    const std::string& path = files[k];
    text += document_text(read(path), path == standard_input_name ? "standard input" : path);
  }
  if (lower) text = lowercase(std::move(text));
  return text;  // moved out: no copy
}

// read_corpus with the library's reader: read_file_bytes, "-" as /dev/stdin.
//   std::u32string text = load_corpus(corpus_files({"letters"}), /*lower=*/true);
inline std::u32string load_corpus(const std::vector<std::string>& files, bool lower) {
  return read_corpus(files, lower, [](const std::string& path) {
    return read_file_bytes(path == standard_input_name ? "/dev/stdin" : path);
  });
}

// Reads one UTF-8 text file as code points, lowercased if asked (the book lowercases Nietzsche).
//   std::u32string text = load_text("nietzsche.txt", /*lower=*/true);
inline std::u32string load_text(const std::string& path, bool lower) {
  return load_corpus({path}, lower);
}

}  // namespace charlstm
