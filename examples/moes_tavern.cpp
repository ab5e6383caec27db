// The book's recipe on the Simpsons "Moe's Tavern" scripts: dataset statistics, a look at the
// training sequences, then the same training and generation loop as nietzsche.cpp.
//   moes_tavern [CORPUS] [--epochs N] [--seed S] [--threads N]
// CORPUS defaults to ../shared/data/moes_tavern_lines.txt.
#include <algorithm>
#include <charlstm/charlstm.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include "book.hpp"

int main(int argc, char** argv) try {
  const book_options o = parse_book_options(
      argc, argv, {CHARLSTM_DATA_DIR "/moes_tavern_lines.txt", 20}, "moes_tavern");

  // Explore the data, as the Simpsons notebook does: on the lowercased text, its statistics and
  // the lines 0 to 10, printed as its cell prints them (the averages at full precision).
  const std::u32string text = charlstm::load_text(o.corpus, /*lower=*/true);
  std::cout << charlstm::notebook_statistics(charlstm::statistics(text))
            << "\nThe sentences 0 to 10:\n";
  const auto lines = charlstm::split_on(text, U"\n");
  for (std::size_t k = 0; k < 10 && k < lines.size(); ++k)
    std::cout << charlstm::encode_utf8(lines[k]) << "\n";

  // The book's preparation: vocabulary, 60-character windows every 3 characters.
  const charlstm::char_vocabulary vocab(text);
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  const charlstm::index maxlen = 60, step = 3, batch_size = 128;
  const charlstm::window_set windows = charlstm::make_windows(ids, maxlen, step);
  std::printf("\nCorpus length: %zu\nUnique characters: %ld\nNumber of sequences: %ld\n",
              text.size(), static_cast<long>(vocab.size()), static_cast<long>(windows.size()));
  std::cout << "Example sequences (window -> next character):\n";
  for (charlstm::index w : {charlstm::index{0}, windows.size() / 2}) {
    const std::vector<charlstm::token_id> window(windows.window(w), windows.window(w) + maxlen);
    std::cout << "  \"" << charlstm::encode_utf8(vocab.decode(window)) << "\" -> \""
              << charlstm::encode_utf8({vocab.symbol(windows.target(w))}) << "\"\n";
  }

  charlstm::model<float> model(vocab.size(), 128, o.seed);  // LSTM(128) -> Dense softmax
  charlstm::optimizer_state<float> rmsprop(charlstm::optimizer_kind::rmsprop, model.params);
  rmsprop.set_learning_rate(0.01);                          // RMSprop(lr=0.01)
  charlstm::batch_trainer<float> trainer(model, rmsprop, o.threads);
  std::mt19937_64 engine(o.seed);
  for (long epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const double loss = charlstm::train_epoch(trainer, windows, batch_size, engine);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("epoch %ld/%ld - %.1fs - loss: %.4f - %.0f chars/s\n", epoch, o.epochs, seconds,
                loss, static_cast<double>(windows.size() * maxlen) / seconds);

    // Generate from a random 60-character seed at four temperatures, as the book does.
    print_book_samples(model, vocab, text, maxlen, engine);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "moes_tavern: " << e.what() << "\n";
  return 1;
}
