// Beyond the book: stacked layers, dropout, sequence mode with a carried state, and Adam.
// Gradients against central differences in double (every parameter and every initial state, on
// tiny odd shapes B, T, V, H = 2, 3, 5, 4 with 2 and 3 layers) and against PyTorch 1.13
// fixtures (nn.LSTM(num_layers=L), dropout off, torch.optim.Adam) from tools/make_fixtures.py.
#include <catch2/catch.hpp>
#include <charlstm/trainer.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "support/assertions.hpp"

using charlstm::matrix;
using charlstm::token_id;
using isize = charlstm::index;  // a bare `index` would clash with POSIX index()
using test_support::as_ids;
using test_support::check_close;
using test_support::check_gradient;
using test_support::compare;
using test_support::fixture;
using test_support::random_ids;
using test_support::random_matrix;
using test_support::tolerance;

namespace {

constexpr isize B = 2, T = 3, V = 5, H = 4;
// A model of L layers with random biases and a random initial state of every layer in ws.
charlstm::model<double> random_model(isize L, std::mt19937_64& engine) {
  charlstm::model<double> m(V, H, 7, L);
  for (auto& w : m.params.lstm_layers) w.b = random_matrix(4 * H, 1, engine);
  m.params.dense.b = random_matrix(V, 1, engine);
  return m;
}

// Checks the gradient of `in`'s loss from the state in ws over every parameter and every
// initial state of every layer.
void check_model_gradient(charlstm::model<double>& m, charlstm::workspace<double>& ws,
                          const charlstm::batch_input& in,
                          const charlstm::dropout_options& drop = {}) {
  charlstm::parameters<double> grads(m.params);
  charlstm::parameters<double> scratch(m.params);
  charlstm::workspace<double> other;
  m.forward_backward(ws, grads, in, drop);
  std::vector<matrix<double>> d_h0, d_c0;
  for (auto& cache : ws.caches) d_h0.push_back(cache.d_h), d_c0.push_back(cache.d_c);
  // The loss as forward_backward computes it (dropout included), from ws's initial state.
  auto loss = [&] {
    other.h0 = ws.h0, other.c0 = ws.c0;
    return m.forward_backward(other, scratch, in, drop);
  };
  auto g = grads.tensors();
  auto p = m.params.tensors();
  for (std::size_t k = 0; k < p.size(); ++k) {
    check_gradient(p[k].name, g[k].data, p[k].data, p[k].rows * p[k].cols, loss);
  }
  for (std::size_t l = 0; l < ws.h0.size(); ++l) {
    check_gradient("h0 of layer " + std::to_string(l), d_h0[l].data(), ws.h0[l].data(),
                   ws.h0[l].size(), loss);
    check_gradient("c0 of layer " + std::to_string(l), d_c0[l].data(), ws.c0[l].data(),
                   ws.c0[l].size(), loss);
  }
}

}  // namespace

TEST_CASE("Stacked layers: the gradient matches finite differences in both modes", "[stacked]") {
  for (isize L : {2, 3}) {
    for (bool sequence : {false, true}) {
      DYNAMIC_SECTION(L << " layers, " << (sequence ? "sequence" : "window") << " mode") {
        std::mt19937_64 engine(static_cast<std::uint64_t>(10 * L + sequence));
        charlstm::model<double> m = random_model(L, engine);
        const std::vector<token_id> ids = random_ids(T * B, V, engine);
        const std::vector<token_id> targets = random_ids(sequence ? T * B : B, V, engine);
        charlstm::workspace<double> ws;
        ws.zero_state(L, H, B);
        for (isize l = 0; l < L; ++l) {
          ws.h0[static_cast<std::size_t>(l)] = random_matrix(H, B, engine);
          ws.c0[static_cast<std::size_t>(l)] = random_matrix(H, B, engine);
        }
        check_model_gradient(m, ws, {ids.data(), targets.data(), T, B, sequence, 0});
      }
    }
  }
}

TEST_CASE("Sequence mode: the gradient from a carried state matches finite differences",
          "[stacked]") {
  // Chunk 1 runs from zero; chunk 2 starts from chunk 1's final state (truncated BPTT: the
  // gradient stops at the chunk boundary, so it is checked with the carried state held fixed).
  std::mt19937_64 engine(31);
  const isize L = 2;
  charlstm::model<double> m = random_model(L, engine);
  const std::vector<token_id> ids = random_ids(2 * T * B, V, engine);
  const std::vector<token_id> targets = random_ids(2 * T * B, V, engine);
  charlstm::layer_states<double> state;
  state.reset(L, H, B);
  charlstm::workspace<double> ws;
  charlstm::parameters<double> grads(m.params);
  ws.take_state(state, 0, B);
  m.forward_backward(ws, grads, {ids.data(), targets.data(), T, B, true, 0});
  ws.give_state(state, 0, B);
  CHECK(state.h[1].cwiseAbs().maxCoeff() > 0);
  ws.take_state(state, 0, B);
  check_model_gradient(m, ws, {ids.data() + T * B, targets.data() + T * B, T, B, true, 0});
}

TEST_CASE("Dropout between layers: the gradient matches finite differences, masks are "
          "deterministic and off in evaluation",
          "[stacked]") {
  std::mt19937_64 engine(41);
  const isize L = 3;
  charlstm::model<double> m = random_model(L, engine);
  charlstm::dropout_options drop{0.3, 7, 5};
  const std::vector<token_id> ids = random_ids(T * B, V, engine);
  const std::vector<token_id> targets = random_ids(T * B, V, engine);
  const charlstm::batch_input in{ids.data(), targets.data(), T, B, true, 0};
  charlstm::workspace<double> ws;
  ws.zero_state(L, H, B);
  check_model_gradient(m, ws, in, drop);

  // The masks: zeros at about the rate p, the rest 1 / (1 - p); a pure function of the seed,
  // the step and the position.
  charlstm::parameters<double> grads(m.params);
  m.forward_backward(ws, grads, in, drop);
  const matrix<double> mask = ws.masks[1];
  const double zeros = static_cast<double>((mask.array() == 0).count()) / mask.size();
  CHECK(zeros > 0.05);
  CHECK(zeros < 0.6);
  CHECK(((mask.array() == 0) || (mask.array() - 1 / 0.7).abs() < 1e-12).all());
  m.forward_backward(ws, grads, in, drop);
  CHECK(ws.masks[1] == mask);
  ++drop.step;
  m.forward_backward(ws, grads, in, drop);
  CHECK(ws.masks[1] != mask);
  // Column b of a batch has the mask of column first_column + b of a larger one.
  const charlstm::batch_input right{ids.data(), targets.data(), T, B, true, 7};
  m.forward_backward(ws, grads, right, drop);
  const matrix<double> shifted = ws.masks[1];
  charlstm::workspace<double> wide;
  const std::vector<token_id> wide_ids = random_ids(T * 9, V, 3), wide_targets = random_ids(T * 9, V, 4);
  wide.zero_state(L, H, 9);
  m.forward_backward(wide, grads, {wide_ids.data(), wide_targets.data(), T, 9, true, 0}, drop);
  for (isize t = 0; t < T; ++t) {
    CHECK(wide.masks[1].col(t * 9 + 7) == shifted.col(t * B));
    CHECK(wide.masks[1].col(t * 9 + 8) == shifted.col(t * B + 1));
  }

  // Evaluation (loss) has no dropout: it equals the training loss with p = 0.
  const double eval = m.loss(ws, in);
  drop.rate = 0;
  ws.zero_state(L, H, B);
  CHECK(m.forward_backward(ws, grads, in, drop) == eval);
}

TEST_CASE("Sequence mode: chunks with a carried state equal the whole sequence", "[stacked]") {
  std::mt19937_64 engine(51);
  const isize L = 2, steps = 7, first = 3;
  charlstm::model<double> m = random_model(L, engine);
  const std::vector<token_id> ids = random_ids(steps * B, V, engine);
  const std::vector<token_id> targets = random_ids(steps * B, V, engine);
  charlstm::workspace<double> ws;
  ws.zero_state(L, H, B);
  const double whole = m.loss(ws, {ids.data(), targets.data(), steps, B, true, 0});
  charlstm::layer_states<double> state, whole_state;
  whole_state.reset(L, H, B);
  ws.give_state(whole_state, 0, B);
  state.reset(L, H, B);
  ws.take_state(state, 0, B);
  const double a = m.loss(ws, {ids.data(), targets.data(), first, B, true, 0});
  ws.give_state(state, 0, B);
  ws.take_state(state, 0, B);
  const double b =
      m.loss(ws, {ids.data() + first * B, targets.data() + first * B, steps - first, B, true, 0});
  ws.give_state(state, 0, B);
  CHECK(std::abs((a * first + b * (steps - first)) / steps - whole) < 1e-12);
  for (isize l = 0; l < L; ++l) {
    const auto k = static_cast<std::size_t>(l);
    CHECK((state.h[k] - whole_state.h[k]).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((state.c[k] - whole_state.c[k]).cwiseAbs().maxCoeff() < 1e-14);
  }
}

TEST_CASE("Stacked layers: stateful generation equals re-reading the window", "[stacked]") {
  charlstm::model<float> m(11, 16, 5, 3);
  const std::vector<token_id> window = random_ids(9, 11, 6);
  const std::vector<double> reread = m.predict(window.data(), 9);
  charlstm::lstm_state<float> s = m.initial_state();
  for (token_id id : window) m.feed(s, id);
  const std::vector<double> stateful = m.probabilities(s);
  const auto c = compare(stateful.data(), reread.data(), static_cast<long>(reread.size()));
  INFO(c.describe("stateful vs window"));
  CHECK(c.error < 1e-5);
}

namespace {

template <class S>
void check_stacked_fixture(const std::string& file) {
  const fixture f = test_support::load_fixture(test_support::fixture_path(file));
  const auto Vf = static_cast<isize>(f["V"].scalar()), Hf = static_cast<isize>(f["H"].scalar());
  const auto L = static_cast<isize>(f["L"].scalar()), Tf = static_cast<isize>(f["T"].scalar());
  const auto Bf = static_cast<isize>(f["B"].scalar());
  charlstm::model<S> m(Vf, Hf, 0, L);
  charlstm::parameters<S> grads(Vf, Hf, L);
  for (isize l = 0; l < L; ++l) {
    const std::string k = "_l" + std::to_string(l);
    auto& w = m.params.lstm_layers[static_cast<std::size_t>(l)];
    w.w_x = f["w_x" + k].as_matrix().cast<S>();
    w.w_h = f["w_h" + k].as_matrix().cast<S>();
    w.b = f["b" + k].as_matrix().cast<S>();
  }
  m.params.dense.w = f["dense_w"].as_matrix().cast<S>();
  m.params.dense.b = f["dense_b"].as_matrix().cast<S>();
  const std::vector<token_id> ids = as_ids(f["ids"]), targets = as_ids(f["targets"]);
  const std::vector<token_id> seq_targets = as_ids(f["seq_targets"]);
  charlstm::workspace<S> ws;
  auto set_state = [&] {
    ws.zero_state(L, Hf, Bf);
    for (isize l = 0; l < L; ++l) {
      const auto k = static_cast<std::size_t>(l);
      ws.h0[k] = f["h0_l" + std::to_string(l)].as_matrix().transpose().cast<S>();
      ws.c0[k] = f["c0_l" + std::to_string(l)].as_matrix().transpose().cast<S>();
    }
  };
  const double tol = tolerance<S>();
  for (bool sequence : {false, true}) {
    const std::string pre = sequence ? "seq_" : "";
    set_state();
    const S loss = m.forward_backward(
        ws, grads, {ids.data(), (sequence ? seq_targets : targets).data(), Tf, Bf, sequence, 0});
    matrix<double> expected(1, 1);
    expected(0, 0) = f[pre + "loss"].scalar();
    check_close(pre + "loss", matrix<S>::Constant(1, 1, loss), expected, tol);
    if (!sequence) check_close("logits", ws.logits, f["logits"].as_matrix().transpose(), tol);
    for (isize l = 0; l < L; ++l) {
      const auto k = static_cast<std::size_t>(l);
      const std::string n = "_l" + std::to_string(l);
      const auto& g = grads.lstm_layers[k];
      check_close(pre + "grad w_x" + n, g.w_x, f[pre + "grad_w_x" + n].as_matrix(), tol);
      check_close(pre + "grad w_h" + n, g.w_h, f[pre + "grad_w_h" + n].as_matrix(), tol);
      check_close(pre + "grad b" + n, g.b, f[pre + "grad_b" + n].as_matrix(), tol);
      check_close(pre + "d_h0" + n, ws.caches[k].d_h,
                  f[pre + "d_h0" + n].as_matrix().transpose(), tol);
      check_close(pre + "d_c0" + n, ws.caches[k].d_c,
                  f[pre + "d_c0" + n].as_matrix().transpose(), tol);
      check_close("h_T" + n, ws.caches[k].h_at(Tf), f["h_T" + n].as_matrix().transpose(), tol);
      check_close("c_T" + n, ws.caches[k].c_at(Tf), f["c_T" + n].as_matrix().transpose(), tol);
    }
    check_close(pre + "grad dense w", grads.dense.w, f[pre + "grad_dense_w"].as_matrix(), tol);
    check_close(pre + "grad dense b", grads.dense.b, f[pre + "grad_dense_b"].as_matrix(), tol);
  }

  // Three Adam steps (lr 0.01, PyTorch's betas and eps) on the loss the fixture names.
  charlstm::optimizer_state<S> adam(charlstm::optimizer_kind::adam, m.params);
  adam.set_learning_rate(0.01);
  const bool adam_sequence = f["adam_sequence"].scalar() != 0;
  const std::vector<double>& losses = f["adam_losses"].values;
  for (std::size_t k = 0; k < losses.size(); ++k) {
    set_state();
    const S step_loss = m.forward_backward(
        ws, grads,
        {ids.data(), (adam_sequence ? seq_targets : targets).data(), Tf, Bf, adam_sequence, 0});
    INFO("Adam loss " << k << ": " << step_loss << " vs " << losses[k]);
    CHECK(std::abs(step_loss - losses[k]) < tol * std::abs(losses[k]));
    if (k + 1 < losses.size()) adam.step(m.params, grads);
  }
  // The weights after 3 updates in double only: Adam's first step is lr * g / (|g| + eps),
  // about lr * sign(g), so a gradient element near zero flips on float rounding alone.
  if (std::is_same<S, double>::value) {
    for (isize l = 0; l < L; ++l) {
      const auto& w = m.params.lstm_layers[static_cast<std::size_t>(l)];
      const std::string n = "_l" + std::to_string(l);
      check_close("w_x after" + n, w.w_x, f["w_x" + n + "_after"].as_matrix(), tol);
      check_close("w_h after" + n, w.w_h, f["w_h" + n + "_after"].as_matrix(), tol);
      check_close("b after" + n, w.b, f["b" + n + "_after"].as_matrix(), tol);
    }
    check_close("dense w after", m.params.dense.w, f["dense_w_after"].as_matrix(), tol);
    check_close("dense b after", m.params.dense.b, f["dense_b_after"].as_matrix(), tol);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("Two layers with initial states and Adam on the sequence loss match PyTorch",
                   "[stacked][pytorch]", float, double) {
  check_stacked_fixture<TestType>("lstm_stacked2.txt");
}

TEMPLATE_TEST_CASE("Three layers from zero and Adam on the window loss match PyTorch",
                   "[stacked][pytorch]", float, double) {
  check_stacked_fixture<TestType>("lstm_stacked3.txt");
}

TEST_CASE("Streams: B parallel streams of the corpus, targets one step later", "[stacked]") {
  std::vector<token_id> ids(23);
  for (std::size_t k = 0; k < ids.size(); ++k) ids[k] = static_cast<token_id>(k);
  const charlstm::stream_set s = charlstm::make_streams(ids, 4, 2);  // L = 22 / 4 = 5
  CHECK(s.stream_length() == 5);
  CHECK(s.batches() == 3);
  CHECK(s.steps_in(2) == 1);
  CHECK(s.targets_before(3) == 20);
  std::vector<token_id> x(8), y(8);
  s.gather(1, x.data(), y.data());
  // Step t of stream b is ids[b*5 + 2 + t].
  CHECK(x == std::vector<token_id>{2, 7, 12, 17, 3, 8, 13, 18});
  CHECK(y == std::vector<token_id>{3, 8, 13, 18, 4, 9, 14, 19});
  CHECK_THROWS_WITH(charlstm::make_streams(ids, 23, 2), Catch::Contains("smaller --batch"));
}

namespace {

// A model and its optimizer's state after training.
struct trained {
  charlstm::model<double> m;
  charlstm::optimizer_state<double> opt;
};

// Two sequence-mode epochs of a 2-layer model with dropout and Adam on `threads` threads.
trained train_sequence(isize threads, const charlstm::stream_set& streams, isize stop_after = -1) {
  trained t{charlstm::model<double>(9, 12, 3, 2), {}};
  t.opt = charlstm::optimizer_state<double>(charlstm::optimizer_kind::adam, t.m.params);
  t.opt.set_learning_rate(0.01);
  charlstm::batch_trainer<double> trainer(t.m, t.opt, threads);
  trainer.dropout = 0.2;
  trainer.dropout_seed = 3;
  trainer.clip_norm = 5;
  charlstm::layer_states<double> state;
  for (int epoch = 0; epoch < 2; ++epoch) {
    if (epoch == 1 && stop_after > 0) {
      // Interrupt after `stop_after` chunks, then resume from the saved chunk and state.
      charlstm::epoch_range first;
      first.stop_batch = stop_after;
      const double partial = charlstm::train_sequence_epoch(trainer, streams, state, {}, first);
      charlstm::layer_states<double> saved = state;
      charlstm::epoch_range rest;
      rest.first_batch = stop_after;
      rest.loss_so_far = partial;
      charlstm::train_sequence_epoch(trainer, streams, saved, {}, rest);
    } else {
      charlstm::train_sequence_epoch(trainer, streams, state);
    }
  }
  return t;
}

}  // namespace

TEST_CASE("Sequence mode on threads: deterministic, equal to one thread, exact resume",
          "[stacked][trainer]") {
  const auto corpus = random_ids(600, 9, 8);
  const auto streams = charlstm::make_streams(corpus, 7, 10);  // 85 steps: 9 chunks, last 5
  const auto one = train_sequence(1, streams);
  const auto two_a = train_sequence(2, streams), two_b = train_sequence(2, streams);
  const auto three = train_sequence(3, streams);
  CHECK(two_a.m.params.data == two_b.m.params.data);
  CHECK(two_a.opt.moments[1].data == two_b.opt.moments[1].data);
  const auto c2 = compare(two_a.m.params.data.data(), one.m.params.data.data(),
                          static_cast<long>(one.m.params.size()));
  const auto c3 = compare(three.m.params.data.data(), one.m.params.data.data(),
                          static_cast<long>(one.m.params.size()));
  INFO(c2.describe("2 threads vs 1") << "; " << c3.describe("3 threads vs 1"));
  CHECK(c2.error < 1e-9);
  CHECK(c3.error < 1e-9);
  CHECK(one.opt.steps == 18);
  const auto resumed = train_sequence(2, streams, 4);
  CHECK(resumed.m.params.data == two_a.m.params.data);

  // The validation loss of the trained model is below ln V and finite.
  charlstm::model<double> model = one.m;
  charlstm::batch_trainer<double> evaluator(model, 2);
  const double val = charlstm::evaluate_sequence(evaluator, streams);
  CHECK(std::isfinite(val));
  CHECK(val < std::log(9.0));
}
