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

int main(int argc, char** argv) try {
  std::string path = CHARLSTM_DATA_DIR "/moes_tavern_lines.txt";
  long epochs = 20, threads = std::max(1u, std::thread::hardware_concurrency());
  unsigned long long seed = 1;
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
                            "; usage: moes_tavern [CORPUS] [--epochs N] [--seed S] [--threads N]");
    } else {
      path = arg;
    }
  }
  if (epochs < 1) throw charlstm::error("--epochs must be at least 1");

  // Explore the data, as the Simpsons notebook does.
  const std::u32string raw = charlstm::load_text(path, /*lower=*/false);
  const charlstm::text_statistics stats = charlstm::statistics(raw);
  std::printf(
      "Dataset stats\nRoughly the number of unique words: %zu\nNumber of scenes: %zu\n"
      "Average number of lines in each scene: %.3f\nNumber of lines: %zu\n"
      "Average number of words in each line: %.3f\n\n",
      stats.unique_words, stats.scenes, stats.lines_per_scene, stats.lines, stats.words_per_line);
  std::cout << "The lines 0 to 5:\n";
  const auto lines = charlstm::split_on(raw, U"\n");
  for (std::size_t k = 0; k < 5 && k < lines.size(); ++k)
    std::cout << charlstm::encode_utf8(lines[k]) << "\n";

  // The book's preparation: lowercase, vocabulary, 60-character windows every 3 characters.
  const std::u32string text = charlstm::lowercase(raw);
  const charlstm::vocabulary vocab(text);
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

  charlstm::model<float> model(vocab.size(), 128, seed);  // LSTM(128) -> Dense softmax
  model.optimizer.lr = 0.01;                              // RMSprop(lr=0.01)
  charlstm::batch_trainer<float> trainer(model, threads);
  std::mt19937_64 engine(seed);
  for (long epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const double loss = charlstm::train_epoch(trainer, windows, batch_size, engine);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("epoch %ld/%ld - %.1fs - loss: %.4f - %.0f chars/s\n", epoch, epochs, seconds, loss,
                static_cast<double>(windows.size() * maxlen) / seconds);

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
  std::cerr << "moes_tavern: " << e.what() << "\n";
  return 1;
}
