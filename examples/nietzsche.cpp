// The book's listing 8.1 in C++: character-level LSTM text generation on Nietzsche.
//   nietzsche [CORPUS] [--epochs N] [--seed S] [--threads N]
// CORPUS defaults to ../shared/data/nietzsche.txt; the book trains 60 epochs.
#include <unistd.h>

#include <algorithm>
#include <charlstm/charlstm.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include "book.hpp"

int main(int argc, char** argv) try {
  const book_options o =
      parse_book_options(argc, argv, {CHARLSTM_DATA_DIR "/nietzsche.txt", 60}, "nietzsche");

  // Preparing the data: lowercase, one vocabulary of characters, 60-character windows every 3.
  const std::u32string text = charlstm::load_text(o.corpus, /*lower=*/true);
  std::cout << "Corpus length: " << text.size() << "\n";
  const charlstm::char_vocabulary vocab(text);
  std::cout << "Unique characters: " << vocab.size() << "\n";
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  const charlstm::index maxlen = 60, step = 3, batch_size = 128;
  const charlstm::window_set windows = charlstm::make_windows(ids, maxlen, step);
  std::cout << "Number of sequences: " << windows.size() << "\n";

  // The model: LSTM(128) -> Dense(softmax), RMSprop(lr=0.01), categorical cross-entropy.
  charlstm::model<float> model(vocab.size(), 128, o.seed);
  charlstm::optimizer_state<float> rmsprop(charlstm::optimizer_kind::rmsprop, model.params);
  rmsprop.set_learning_rate(0.01);
  charlstm::batch_trainer<float> trainer(model, rmsprop, o.threads);  // batches over threads
  std::mt19937_64 engine(o.seed);
  const bool terminal = isatty(fileno(stderr));

  for (long epoch = 1; epoch <= o.epochs; ++epoch) {
    std::cout << "epoch " << epoch << std::endl;
    const auto start = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    const double loss = charlstm::train_epoch(
        trainer, windows, batch_size, engine, [&](const charlstm::epoch_progress& p) {
          if (terminal && (p.batches_done % 10 == 0 || p.batches_done == p.batches_total)) {
            std::fprintf(stderr, "\r%ld/%ld - %.0fs - loss: %.4f",
                         static_cast<long>(p.batches_done), static_cast<long>(p.batches_total),
                         seconds(), p.mean_loss);
          }
          return true;
        });
    if (terminal) std::fprintf(stderr, "\n");
    const double elapsed = seconds();
    std::printf("%ld sequences - %.1fs - loss: %.4f - %.0f chars/s\n",
                static_cast<long>(windows.size()), elapsed, loss,
                static_cast<double>(windows.size() * maxlen) / elapsed);

    // Generate from a random 60-character seed at four temperatures, as the book does.
    print_book_samples(model, vocab, text, maxlen, engine);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "nietzsche: " << e.what() << "\n";
  return 1;
}
