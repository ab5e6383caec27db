// examples/generator.cpp: charlstm embedded in another program.  Loads a checkpoint written by
// `charlstm train` and streams text from it through charlstm::generator, the whole API being
// `#include <charlstm/charlstm.hpp>`.  Works for character and word models alike.
//   generator MODEL [PRIME] [LENGTH]
#include <charlstm/charlstm.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: generator MODEL [PRIME] [LENGTH]\n");
    return 2;
  }
  try {
    charlstm::generator::options options;
    if (argc > 2) options.prime = argv[2];  // empty: the checkpoint's own sample window
    options.sampling.temperature = 0.5;
    options.sampling.top_k = 20;
    options.seed = 42;
    const long length = argc > 3 ? std::atol(argv[3]) : 200;
    charlstm::generator g(argv[1], options);

    std::cout << g.prime();
    std::cout << g.next_token();  // one token, pulled when the caller wants it
    g.generate(length - 1, [](const std::string& piece) { std::cout << piece << std::flush; });
    std::cout << "\n";
  } catch (const charlstm::error& e) {
    std::fprintf(stderr, "generator: %s\n", e.what());
    return 1;
  }
  return 0;
}
