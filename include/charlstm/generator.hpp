// charlstm/generator.hpp: the embedding API.  A generator loads a checkpoint written by
// `charlstm train` (or save_checkpoint) and yields text a token at a time, as UTF-8 pieces that
// concatenate to the whole: a character for a character model, a word or punctuation mark with
// its spacing for a word model.  Another project needs only `#include <charlstm/charlstm.hpp>`:
//
//   charlstm::generator::options o;
//   o.prime = "the meaning of life is";  o.sampling.temperature = 0.5;  o.seed = 42;
//   charlstm::generator g("nietzsche.safetensors", o);
//   std::string piece = g.next_token();                    // one token, decoded
//   g.generate(200, [](const std::string& s) { std::cout << s << std::flush; });
//
// It runs the stateful loop (one LSTM step per token) in float.  Not the CLI (which also batches
// several samples: generate_batch in generate.hpp) and not the book's window loop.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "generate.hpp"
#include "training.hpp"
#include "lowercase.hpp"
#include "utf8.hpp"
#include "vocabulary.hpp"

namespace charlstm {

// The prime as token ids, as `charlstm generate` reads it: `prime` (UTF-8), or the checkpoint's
// "sample_window" metadata when `prime` is empty; lowercased when the checkpoint's "lowercase"
// metadata is "1"; tokenised with the checkpoint's vocabulary (encode_text: unknown characters
// are an error unless `drop_unknown`; unknown words become the unknown-word token).
//   std::vector<token_id> ids = encode_prime(info, "the meaning of", false);
// Throws when the prime is empty after that, or there is neither a prime nor a sample window;
// `what` names the prime in messages (the tool's flag, or a request's field).
inline std::vector<token_id> encode_prime(const checkpoint_info& info, const std::string& prime,
                                          bool drop_unknown, const std::string& what = "--prime") {
  const inference_settings settings = read_inference_settings(info);
  std::u32string text;
  if (prime.empty()) {
    require(settings.has_sample_window,
            "no prime given and the checkpoint has no sample_window: pass a prime text");
    text = settings.sample_window;
  } else {
    text = decode_utf8(prime, what);
  }
  if (settings.lowercase) text = lowercase(std::move(text));
  std::vector<token_id> ids = encode_text(info.vocab, text, drop_unknown, what);
  require(!ids.empty(), "the prime text is empty (after dropping unknown characters or words)");
  return ids;
}

class generator {
 public:
  struct options {
    std::string prime;          // UTF-8; empty: the checkpoint's sample window
    sampling_options sampling;  // temperature (0: greedy), top_k, top_p
    std::uint64_t seed = 1;     // the same seed and options give the same text
    bool drop_unknown = false;  // drop prime characters outside the vocabulary, not throw
  };

  // Loads the checkpoint and reads the prime.  Throws charlstm::error for a missing or invalid
  // checkpoint, bad sampling options, or a prime the vocabulary cannot encode.
  explicit generator(const std::string& checkpoint_path) : generator(checkpoint_path, options()) {}
  generator(const std::string& checkpoint_path, const options& o)
      : model_(load_checkpoint<float>(checkpoint_path, info_)),
        state_(model_.initial_state()),
        engine_(o.seed),
        sampling_(o.sampling),
        detokenizer_(info_.vocab) {
    require_sampling(sampling_);
    for (token_id id : encode_prime(info_, o.prime, o.drop_unknown)) {
      model_.feed(state_, id);
      prime_ += encode_utf8(detokenizer_.piece(id));
    }
  }
  // It refers to its own vocabulary: neither copied nor moved (hold it in a std::unique_ptr).
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;

  // Samples one token, feeds it back, and returns its text (UTF-8: a character, or a word or
  // punctuation mark with the spacing before it).
  std::string next_token() {
    const auto id = static_cast<token_id>(sample_logits(
        model_.logits(state_).data(), model_.vocab_size(), sampling_, engine_, scratch_));
    model_.feed(state_, id);
    return encode_utf8(detokenizer_.piece(id));
  }

  // n tokens; on_piece, if given, receives each piece as soon as it exists.  Returns them all.
  std::string generate(index n, const std::function<void(const std::string&)>& on_piece = {}) {
    std::string out;
    for (index k = 0; k < n; ++k) {
      const std::string piece = next_token();
      if (on_piece) on_piece(piece);
      out += piece;
    }
    return out;
  }

  // The prime as the model read it (lowercased and tokenised, then decoded).
  const std::string& prime() const { return prime_; }
  // The checkpoint's vocabulary (its kind says characters or words) and metadata.
  const checkpoint_info& info() const { return info_; }
  // The options of the next draws; may be changed between tokens.  Checked at the next draw.
  sampling_options& sampling() { return sampling_; }

 private:
  checkpoint_info info_;  // declared first: model_ is loaded into it
  model<float> model_;
  lstm_state<float> state_;
  std::mt19937_64 engine_;
  sampling_options sampling_;
  std::vector<double> scratch_;  // sample_logits's
  detokenizer detokenizer_;
  std::string prime_;
};

}  // namespace charlstm
