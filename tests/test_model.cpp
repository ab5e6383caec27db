// Structural truths of the model: closed forms, state carrying, generation both ways, the loss
// at initialisation, and that it can learn.
#include <catch2/catch.hpp>
#include <charlstm/generate.hpp>
#include <charlstm/model.hpp>
#include <charlstm/optimizer.hpp>
#include <charlstm/vectorizer.hpp>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "support/check.hpp"

using charlstm::matrix;
using charlstm::token_id;
using isize = charlstm::index;  // a bare `index` would clash with POSIX index()
using test_support::compare;
using test_support::random_ids;

namespace {}  // namespace

TEST_CASE("Constant gates give the cell's closed form", "[lstm]") {
  // With w_x = w_h = 0 every step sees the same gates i, f, g, o from the bias alone, so
  // c_t = i g (1 - f^t) / (1 - f) and h_t = o tanh(c_t).
  const isize V = 3, H = 5, T = 7, B = 2;
  charlstm::parameters<double> p(V, H);
  p.lstm.b.segment(0, H).setConstant(0.3);       // i
  p.lstm.b.segment(H, H).setConstant(-0.2);      // f
  p.lstm.b.segment(2 * H, H).setConstant(0.7);   // g
  p.lstm.b.segment(3 * H, H).setConstant(-1.1);  // o
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double i = sigmoid(0.3), f = sigmoid(-0.2), g = std::tanh(0.7), o = sigmoid(-1.1);
  charlstm::lstm_cache<double> cache;
  const auto ids = random_ids(T * B, V, 1);
  const matrix<double> zeros = matrix<double>::Zero(H, B);
  charlstm::lstm_forward(cache, p.lstm, ids.data(), T, B, zeros, zeros);
  for (isize t = 1; t <= T; ++t) {
    const double c = i * g * (1 - std::pow(f, static_cast<double>(t))) / (1 - f);
    CHECK(cache.c_at(t).maxCoeff() == Approx(c).epsilon(1e-12));
    CHECK(cache.c_at(t).minCoeff() == Approx(c).epsilon(1e-12));
    CHECK(cache.h_at(t).maxCoeff() == Approx(o * std::tanh(c)).epsilon(1e-12));
  }
}

TEST_CASE("Two chunks with carried state equal the whole sequence", "[lstm]") {
  const isize V = 6, H = 9, T = 10, B = 3;
  charlstm::model<double> m(V, H, 4);
  const auto ids = random_ids(T * B, V, 2);
  charlstm::lstm_cache<double> whole, first, second;
  const matrix<double> zeros = matrix<double>::Zero(H, B);
  charlstm::lstm_forward(whole, m.params.lstm, ids.data(), T, B, zeros, zeros);
  charlstm::lstm_forward(first, m.params.lstm, ids.data(), 4, B, zeros, zeros);
  const matrix<double> h4 = first.h_at(4), c4 = first.c_at(4);
  charlstm::lstm_forward(second, m.params.lstm, ids.data() + 4 * B, T - 4, B, h4, c4);
  CHECK(compare(second.h_at(T - 4), whole.h_at(T)).error < 1e-14);
  CHECK(compare(second.c_at(T - 4), whole.c_at(T)).error < 1e-14);
}

TEST_CASE("Keras initialisation: orthogonal recurrent kernel, forget bias 1", "[lstm]") {
  charlstm::model<double> m(57, 128, 9);
  const matrix<double> gram = m.params.lstm.w_h.transpose() * m.params.lstm.w_h;
  CHECK((gram - matrix<double>::Identity(128, 128)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(m.params.lstm.b.segment(0, 128).cwiseAbs().maxCoeff() == 0.0);
  CHECK(m.params.lstm.b.segment(128, 128).minCoeff() == 1.0);
  CHECK(m.params.lstm.b.segment(256, 256).cwiseAbs().maxCoeff() == 0.0);
  const double limit = std::sqrt(6.0 / (57 + 4 * 128));
  CHECK(m.params.lstm.w_x.cwiseAbs().maxCoeff() <= limit);
  CHECK(m.params.lstm.w_x.cwiseAbs().maxCoeff() > 0.9 * limit);
}

TEST_CASE("Token-at-a-time generation equals re-reading the window", "[generate]") {
  const isize V = 23, H = 40, T = 60;
  charlstm::model<float> m(V, H, 5);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  charlstm::parameters<float> grads(m.params);
  // Train a few steps first so that the distribution is not near uniform.
  const auto corpus = random_ids(2000, V, 3);
  const auto windows = charlstm::make_windows(corpus, T, 3);
  std::vector<token_id> batch(T * 16), targets(16);
  std::vector<isize> which(16);
  for (int step = 0; step < 5; ++step) {
    std::iota(which.begin(), which.end(), step * 16);
    charlstm::gather_batch(windows, which.data(), 16, batch.data(), targets.data());
    m.forward_backward(grads, batch.data(), targets.data(), T, 16);
    opt.step(m.params, grads);
  }
  for (isize w : {0, 100, 500}) {
    const token_id* window = windows.window(w);
    const std::vector<double> reread = m.predict(window, T);
    charlstm::lstm_state<float> state = m.initial_state();
    // The same without the packed kernels: the steps read the weights as stored.
    charlstm::lstm_state<float> unpacked = m.initial_state();
    unpacked.packed.clear();
    for (isize t = 0; t < T; ++t) {
      m.feed(state, window[t]);
      m.feed(unpacked, window[t]);
    }
    const std::vector<double> stateful = m.probabilities(state);
    const auto c = compare(stateful.data(), reread.data(), static_cast<long>(V));
    INFO(c.describe("stateful vs window"));
    CHECK(c.error < 1e-5);
    const std::vector<double> plain = m.probabilities(unpacked);
    const auto p = compare(plain.data(), stateful.data(), static_cast<long>(V));
    INFO(p.describe("unpacked vs packed"));
    CHECK(p.error < 1e-5);
    CHECK(std::accumulate(reread.begin(), reread.end(), 0.0) == Approx(1.0).epsilon(1e-6));
  }
}

TEST_CASE("Generation is reproducible from the seed, both ways", "[generate]") {
  const std::u32string text = U"abcabcabd abcabcabd abcabcabd";
  const charlstm::char_vocabulary vocab(text);
  charlstm::model<float> m(vocab.size(), 16, 1);
  const std::u32string seed = text.substr(0, 10);
  for (double temperature : {0.0, 0.5, 1.2}) {
    std::mt19937_64 a(42), b(42), c(42), d(42);
    const auto w1 = charlstm::generate_window(m, vocab, seed, 50, temperature, a);
    const auto w2 = charlstm::generate_window(m, vocab, seed, 50, temperature, b);
    const auto s1 = charlstm::generate_stateful(m, vocab, seed, 50, temperature, c);
    const auto s2 = charlstm::generate_stateful(m, vocab, seed, 50, temperature, d);
    CHECK(w1.size() == 50);
    CHECK(w1 == w2);
    CHECK(s1 == s2);
    CHECK(w1[0] == s1[0]);  // the first distribution and the first draw are the same
  }
  std::mt19937_64 engine(1);
  CHECK_THROWS_WITH(charlstm::generate_stateful(m, vocab, U"xyz", 5, 1.0, engine),
                    Catch::Contains("not in the vocabulary"));
}

TEST_CASE("The loss at initialisation is ln(V) within 5%", "[model]") {
  const isize V = 57, H = 128, T = 60, B = 64;
  charlstm::model<float> m(V, H, 123);
  const auto corpus = random_ids(10000, V, 9);
  const auto windows = charlstm::make_windows(corpus, T, 3);
  std::vector<isize> which(B);
  std::iota(which.begin(), which.end(), 0);
  std::vector<token_id> batch(T * B), targets(B);
  charlstm::gather_batch(windows, which.data(), B, batch.data(), targets.data());
  const float loss = m.loss(batch.data(), targets.data(), T, B);
  CHECK(std::abs(loss - std::log(57.0)) < 0.05 * std::log(57.0));
}

TEST_CASE("A model overfits a 200-character string", "[model]") {
  std::u32string text;
  const std::u32string line = U"the quick brown fox jumps over the lazy dog; ";
  while (text.size() < 200) text += line;
  text.resize(200);
  const charlstm::char_vocabulary vocab(text);
  const auto ids = vocab.encode(text);
  const isize T = 20;
  const auto windows = charlstm::make_windows(ids, T, 1);  // 180 windows
  const isize B = windows.size();
  std::vector<isize> which(static_cast<std::size_t>(B));
  std::iota(which.begin(), which.end(), 0);
  std::vector<token_id> batch(static_cast<std::size_t>(T * B)),
      targets(static_cast<std::size_t>(B));
  charlstm::gather_batch(windows, which.data(), B, batch.data(), targets.data());
  charlstm::model<float> m(vocab.size(), 64, 7);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  charlstm::parameters<float> grads(m.params);
  float loss = 0;
  int steps = 0;
  for (; steps < 400; ++steps) {
    loss = m.forward_backward(grads, batch.data(), targets.data(), T, B);
    opt.step(m.params, grads);
    if (loss < 0.05f) break;
  }
  INFO("loss " << loss << " after " << steps << " steps");
  CHECK(loss < 0.05f);
}
