// charlstm/generate.hpp: text generation, both ways.
//  - generate_window: the book's loop.  For each new character, re-read the last maxlen
//    characters from a zero state (model.predict), sample, slide the window.  O(maxlen) LSTM
//    steps per character.
//  - generate_stateful: feed the seed once, then one LSTM step per character, carrying (h, c).
//    O(1) steps per character.  Its first distribution equals the window loop's; later ones
//    differ because the state remembers more than maxlen characters back.
// Both return only the generated characters and draw from the caller's engine.  The stateful
// loops draw from the logits (sample_logits: softmax(z / T), the same distribution as
// reweight_distribution(softmax(z), T)), the window loop from the probabilities, as the book.
// Beside them, the same two loops on token ids (either token kind, any sampling_options), and
// generate_batch: B streams from one prime advanced together, one batched LSTM step per token.
// Not the embedding API (generator.hpp), not the CLI's output (examples/cli/).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model.hpp"
#include "sampler.hpp"
#include "vocabulary.hpp"

namespace charlstm {

// Called with each generated character as soon as it exists (for streaming output).
using on_character = std::function<void(char32_t)>;
// Called with each generated token id as soon as it exists.
using on_token = std::function<void(token_id)>;

// The book's generation loop; the window length is the seed's length (the book: 60).
//   std::mt19937_64 engine(seed);
//   std::u32string text = generate_window(m, vocab, seed_text, 400, 0.5, engine);
// Throws if the seed is empty or holds a character outside the vocabulary.
template <class S, class Engine>
std::u32string generate_window(model<S>& m, const char_vocabulary& vocab,
                               const std::u32string& seed, index length, double temperature,
                               Engine& engine, const on_character& emit = {}) {
  require(!seed.empty(), "generate: the seed text is empty");
  require_temperature(temperature);
  std::vector<token_id> window = vocab.encode(seed);
  std::u32string out;
  for (index k = 0; k < length; ++k) {
    const index next =
        sample(m.predict(window.data(), static_cast<index>(window.size())), temperature, engine);
    out += vocab.symbol(static_cast<token_id>(next));
    if (emit) emit(out.back());
    window.erase(window.begin());
    window.push_back(static_cast<token_id>(next));
  }
  return out;
}

// The stateful loop on ids: the prime fed once, then one step per token; any token kind.
//   auto ids = generate_stateful_ids(m, prime_ids, 100, sampling_options{0.5}, engine);
template <class S, class Engine>
std::vector<token_id> generate_stateful_ids(const model<S>& m, const std::vector<token_id>& prime,
                                            index length, const sampling_options& options,
                                            Engine& engine, const on_token& emit = {}) {
  require(!prime.empty(), "generate: the prime is empty");
  require_sampling(options);
  lstm_state<S> state = m.initial_state();
  for (token_id id : prime) m.feed(state, id);
  std::vector<double> scratch;
  std::vector<token_id> out;
  for (index k = 0; k < length; ++k) {
    const auto next = static_cast<token_id>(
        sample_logits(m.logits(state).data(), m.vocab_size(), options, engine, scratch));
    out.push_back(next);
    if (emit) emit(next);
    if (k + 1 < length) m.feed(state, next);
  }
  return out;
}

// Stateful generation: the seed is fed once, then each sampled character is fed back.
//   std::u32string text = generate_stateful(m, vocab, seed_text, 400, 0.5, engine);
template <class S, class Engine>
std::u32string generate_stateful(const model<S>& m, const char_vocabulary& vocab,
                                 const std::u32string& seed, index length, double temperature,
                                 Engine& engine, const on_character& emit = {}) {
  require(!seed.empty(), "generate: the seed text is empty");
  require_temperature(temperature);
  std::u32string out;
  generate_stateful_ids(m, vocab.encode(seed), length, sampling_options{temperature}, engine,
                        [&](token_id id) {
                          out += vocab.symbol(id);
                          if (emit) emit(out.back());
                        });
  return out;
}

// The book's window loop on ids: the window is the prime's length; any token kind.
//   auto ids = generate_window_ids(m, prime_ids, 100, sampling_options{0.5}, engine);
template <class S, class Engine>
std::vector<token_id> generate_window_ids(model<S>& m, std::vector<token_id> window, index length,
                                          const sampling_options& options, Engine& engine,
                                          const on_token& emit = {}) {
  require(!window.empty(), "generate: the prime is empty");
  require_sampling(options);
  std::vector<token_id> out;
  for (index k = 0; k < length; ++k) {
    const auto next = static_cast<token_id>(
        sample(m.predict(window.data(), static_cast<index>(window.size())), options, engine));
    out.push_back(next);
    if (emit) emit(next);
    window.erase(window.begin());
    window.push_back(next);
  }
  return out;
}

// B = options.size() streams from the same prime, advanced together: each step is one batched
// LSTM step (model::feed_batch) for all streams, then one draw per live stream with its own
// options[b] and engines[b] (so stream b's text depends only on its own engine, not on B).
// on_token(b, id) receives each new token of stream b, streams in order within a step, and
// returns false to end that stream (e.g. a stop string was produced).  Ends when every stream
// has ended or holds `length` tokens.
//   generate_batch(m, prime, 200, options, engines, [&](index b, token_id id) { ...; return true;
//   });
template <class S, class Engine>
void generate_batch(const model<S>& m, const std::vector<token_id>& prime, index length,
                    const std::vector<sampling_options>& options, std::vector<Engine>& engines,
                    const std::function<bool(index, token_id)>& on_token) {
  require(!prime.empty(), "generate: the prime is empty");
  require(!options.empty() && engines.size() == options.size(),
          "generate_batch: give one sampling_options and one engine per stream");
  for (const sampling_options& o : options) require_sampling(o);
  const auto B = static_cast<index>(options.size());
  batch_state<S> state = m.initial_batch_state(B);
  std::vector<token_id> ids(static_cast<std::size_t>(B));
  for (token_id id : prime) {
    std::fill(ids.begin(), ids.end(), id);
    m.feed_batch(state, ids.data());
  }
  std::vector<bool> live(static_cast<std::size_t>(B), true);
  index live_count = B;
  std::vector<double> scratch;
  for (index k = 0; k < length && live_count > 0; ++k) {
    const matrix<S>& logits = m.batch_logits(state);
    for (index b = 0; b < B; ++b) {
      const auto ub = static_cast<std::size_t>(b);
      if (!live[ub]) continue;  // an ended stream keeps its last token: its column is unused
      ids[ub] = static_cast<token_id>(
          sample_logits(logits.col(b).data(), logits.rows(), options[ub], engines[ub], scratch));
      if (!on_token(b, ids[ub])) {
        live[ub] = false;
        --live_count;
      }
    }
    if (k + 1 < length && live_count > 0) m.feed_batch(state, ids.data());
  }
}

}  // namespace charlstm
