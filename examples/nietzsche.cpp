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

int main(int argc, char** argv) try {
  std::string path = CHARLSTM_DATA_DIR "/nietzsche.txt";
  long epochs = 60;
  unsigned long long seed = 1;
  long threads = std::max(1u, std::thread::hardware_concurrency());
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if ((arg == "--epochs" || arg == "--seed" || arg == "--threads") && k + 1 < argc) {
      const unsigned long long value = std::stoull(argv[++k]);
      if (arg == "--seed")
        seed = value;
      else
        (arg == "--epochs" ? epochs : threads) = static_cast<long>(value);
    } else if (arg.rfind("--", 0) == 0) {
      throw charlstm::error("unknown option " + arg +
                            "; usage: nietzsche [CORPUS] [--epochs N] [--seed S] [--threads N]");
    } else {
      path = arg;
    }
  }
  if (epochs < 1) throw charlstm::error("--epochs must be at least 1");

  // Preparing the data: lowercase, one vocabulary of characters, 60-character windows every 3.
  const std::u32string text = charlstm::load_text(path, /*lower=*/true);
  std::cout << "Corpus length: " << text.size() << "\n";
  const charlstm::vocabulary vocab(text);
  std::cout << "Unique characters: " << vocab.size() << "\n";
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  const charlstm::index maxlen = 60, step = 3, batch_size = 128;
  const charlstm::window_set windows = charlstm::make_windows(ids, maxlen, step);
  std::cout << "Number of sequences: " << windows.size() << "\n";

  // The model: LSTM(128) -> Dense(softmax), RMSprop(lr=0.01), categorical cross-entropy.
  charlstm::model<float> model(vocab.size(), 128, seed);
  model.optimizer.lr = 0.01;
  charlstm::batch_trainer<float> trainer(model, threads);  // batches split over threads
  std::mt19937_64 engine(seed);
  const bool terminal = isatty(fileno(stderr));

  for (long epoch = 1; epoch <= epochs; ++epoch) {
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
    const auto start_index = static_cast<std::size_t>(
        charlstm::uniform01(engine) * static_cast<double>(text.size() - maxlen - 1));
    const std::u32string seed_text = text.substr(start_index, maxlen);
    std::cout << "--- Generating with seed: \"" << charlstm::encode_utf8(seed_text) << "\"\n";
    for (double temperature : {0.2, 0.5, 1.0, 1.2}) {
      std::cout << "------ temperature: " << temperature << "\n"
                << charlstm::encode_utf8(seed_text);
      charlstm::generate_window(model, vocab, seed_text, 400, temperature, engine,
                                [](char32_t c) { std::cout << charlstm::encode_utf8({c}); });
      std::cout << std::endl;
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "nietzsche: " << e.what() << "\n";
  return 1;
}
