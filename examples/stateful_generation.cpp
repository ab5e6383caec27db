// Generation two ways, as in the PyTorch variant of the book's example: the book re-reads the
// last 60 characters for every new one; a stateful generator feeds one character at a time and
// carries the LSTM's (h, c).  Train briefly, show that both give the same next-character
// distribution for the same window, then time both.
//   stateful_generation [CORPUS] [--steps N] [--seed S]
#include <algorithm>
#include <charlstm/charlstm.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <thread>

int main(int argc, char** argv) try {
  std::string path = CHARLSTM_DATA_DIR "/nietzsche.txt";
  long steps = 300;
  unsigned long long seed = 1;
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if ((arg == "--steps" || arg == "--seed") && k + 1 < argc) {
      const unsigned long long value = std::stoull(argv[++k]);
      if (arg == "--seed")
        seed = value;
      else
        steps = static_cast<long>(value);
    } else if (arg.rfind("--", 0) == 0) {
      throw charlstm::error("unknown option " + arg +
                            "; usage: stateful_generation [CORPUS] [--steps N] [--seed S]");
    } else {
      path = arg;
    }
  }

  const std::u32string text = charlstm::load_text(path, /*lower=*/true);
  const charlstm::char_vocabulary vocab(text);
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  const charlstm::index maxlen = 60, batch_size = 128;
  const charlstm::window_set windows = charlstm::make_windows(ids, maxlen, 3);

  // Train briefly: `steps` batches of the book's model.
  charlstm::model<float> model(vocab.size(), 128, seed);
  charlstm::optimizer_state<float> rmsprop(charlstm::optimizer_kind::rmsprop, model.params);
  charlstm::batch_trainer<float> trainer(model, rmsprop,
                                         std::max(1u, std::thread::hardware_concurrency()));
  std::mt19937_64 engine(seed);
  charlstm::train_epoch(
      trainer, windows, batch_size, engine, [&](const charlstm::epoch_progress& p) {
        if (p.batches_done % 100 == 0)
          std::printf("step %ld - loss %.4f\n", static_cast<long>(p.batches_done), p.mean_loss);
        return p.batches_done < steps;
      });

  // The same window, both ways: the next-character distributions agree.
  const charlstm::token_id* window = windows.window(windows.size() / 2);
  const std::vector<double> reread = model.predict(window, maxlen);
  charlstm::lstm_state<float> state = model.initial_state();
  for (charlstm::index t = 0; t < maxlen; ++t) model.feed(state, window[t]);
  const std::vector<double> stateful = model.probabilities(state);
  double worst = 0;
  for (std::size_t k = 0; k < reread.size(); ++k)
    worst = std::max(worst, std::abs(reread[k] - stateful[k]));
  std::printf("largest difference between the two next-character distributions: %.2e\n", worst);

  // Then 2000 characters each way, at temperature 0.5, timed.
  const std::u32string seed_text = vocab.decode({window, window + maxlen});
  const charlstm::index length = 2000;
  auto timed = [&](auto&& generate) {
    std::mt19937_64 sampler(seed);
    const auto start = std::chrono::steady_clock::now();
    const std::u32string out = generate(sampler);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::make_pair(out, static_cast<double>(length) / seconds);
  };
  const auto [window_text, window_speed] = timed([&](std::mt19937_64& s) {
    return charlstm::generate_window(model, vocab, seed_text, length, 0.5, s);
  });
  const auto [stateful_text, stateful_speed] = timed([&](std::mt19937_64& s) {
    return charlstm::generate_stateful(model, vocab, seed_text, length, 0.5, s);
  });
  std::cout << "--- seed: \"" << charlstm::encode_utf8(seed_text)
            << "\"\n--- stateful, first 300 characters:\n"
            << charlstm::encode_utf8(stateful_text.substr(0, 300)) << "\n";
  std::printf("window loop (re-reads %ld characters each): %8.0f characters/s\n",
              static_cast<long>(maxlen), window_speed);
  std::printf("stateful (one LSTM step each):              %8.0f characters/s (%.0fx faster)\n",
              stateful_speed, stateful_speed / window_speed);
  return worst < 1e-5 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "stateful_generation: " << e.what() << "\n";
  return 1;
}
