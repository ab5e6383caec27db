// examples/book_options.hpp: the command line the book's examples share:
//   NAME [CORPUS] [--epochs N] [--seed S] [--threads N]
#pragma once

#include <algorithm>
#include <charlstm/error.hpp>
#include <string>
#include <thread>

struct book_options {
  std::string corpus;  // a path
  long epochs;
  unsigned long long seed = 1;
  long threads = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
};

// Parses argv over the given defaults; throws charlstm::error with the usage on a bad option.
inline book_options parse_book_options(int argc, char** argv, book_options o,
                                       const std::string& name) {
  const std::string usage = "usage: " + name + " [CORPUS] [--epochs N] [--seed S] [--threads N]";
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if ((arg == "--epochs" || arg == "--seed" || arg == "--threads") && k + 1 < argc) {
      const std::string value = argv[++k];
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        throw charlstm::error(arg + " needs a non-negative integer, got '" + value + "'; " + usage);
      }
      const unsigned long long number = std::stoull(value);
      if (arg == "--seed") {
        o.seed = number;
      } else {
        (arg == "--epochs" ? o.epochs : o.threads) = static_cast<long>(number);
      }
    } else if (arg.rfind("--", 0) == 0) {
      throw charlstm::error("unknown option " + arg + "; " + usage);
    } else {
      o.corpus = arg;
    }
  }
  if (o.epochs < 1) throw charlstm::error("--epochs must be at least 1");
  return o;
}

// The book's samples after an epoch: a random maxlen-character seed from the text, then 400
// generated characters at each of the temperatures 0.2, 0.5, 1.0 and 1.2 (the book's loop).
inline void print_book_samples(charlstm::model<float>& model,
                               const charlstm::char_vocabulary& vocab, const std::u32string& text,
                               charlstm::index maxlen, std::mt19937_64& engine) {
  const auto start = static_cast<std::size_t>(charlstm::uniform01(engine) *
                                              static_cast<double>(text.size() - maxlen - 1));
  const std::u32string seed_text = text.substr(start, static_cast<std::size_t>(maxlen));
  std::cout << "--- Generating with seed: \"" << charlstm::encode_utf8(seed_text) << "\"\n";
  for (double temperature : {0.2, 0.5, 1.0, 1.2}) {
    std::cout << "------ temperature: " << temperature << "\n" << charlstm::encode_utf8(seed_text);
    charlstm::generate_window(model, vocab, seed_text, 400, temperature, engine,
                              [](char32_t c) { std::cout << charlstm::encode_utf8({c}); });
    std::cout << std::endl;
  }
}
