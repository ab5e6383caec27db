// charlstm/generate.hpp: text generation, both ways.
//  - generate_window: the book's loop.  For each new character, re-read the last maxlen
//    characters from a zero state (model.predict), sample, slide the window.  O(maxlen) LSTM
//    steps per character.
//  - generate_stateful: feed the seed once, then one LSTM step per character, carrying (h, c).
//    O(1) steps per character.  Its first distribution equals the window loop's; later ones
//    differ because the state remembers more than maxlen characters back.
// Both return only the generated characters and draw from the caller's engine.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "model.hpp"
#include "sampler.hpp"

namespace charlstm {

// Called with each generated character as soon as it exists (for streaming output).
using on_character = std::function<void(char32_t)>;

// The book's generation loop; the window length is the seed's length (the book: 60).
//   std::mt19937_64 engine(seed);
//   std::u32string text = generate_window(m, vocab, seed_text, 400, 0.5, engine);
// Throws if the seed is empty or holds a character outside the vocabulary.
template <class S, class Engine>
std::u32string generate_window(model<S>& m, const vocabulary& vocab, const std::u32string& seed,
                               index length, double temperature, Engine& engine,
                               const on_character& emit = {}) {
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

// Stateful generation: the seed is fed once, then each sampled character is fed back.
//   std::u32string text = generate_stateful(m, vocab, seed_text, 400, 0.5, engine);
template <class S, class Engine>
std::u32string generate_stateful(const model<S>& m, const vocabulary& vocab,
                                 const std::u32string& seed, index length, double temperature,
                                 Engine& engine, const on_character& emit = {}) {
  require(!seed.empty(), "generate: the seed text is empty");
  require_temperature(temperature);
  lstm_state<S> state = m.initial_state();
  for (token_id id : vocab.encode(seed)) m.feed(state, id);
  std::u32string out;
  for (index k = 0; k < length; ++k) {
    const index next = sample(m.probabilities(state), temperature, engine);
    out += vocab.symbol(static_cast<token_id>(next));
    if (emit) emit(out.back());
    m.feed(state, static_cast<token_id>(next));
  }
  return out;
}

}  // namespace charlstm
