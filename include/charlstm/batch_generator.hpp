// charlstm/batch_generator.hpp: many generation requests advanced together, one batched LSTM
// step per token for all of them, requests joining and leaving between steps: the engine of
// `charlstm generate`'s stateful loop and of `charlstm serve`.  Each request has its own prime,
// sampling options, length, stop text, number of samples and seed.  Sample n of a request draws
// from its own engine, sample_engine(seed, first_stream + n), and a column of the batch does not
// depend on the others (lstm_step_batch, model::batch_logits), so a request's text is the same
// bits alone or among any others, joining or leaving at any step.
// Prints nothing and knows no HTTP.  Not the one-stream embedding API (generator.hpp) nor the
// book's window loop (generate.hpp).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model.hpp"
#include "sampler.hpp"
#include "utf8.hpp"
#include "vocabulary.hpp"

namespace charlstm {

// The engine of stream b of a run seeded `seed`: the seed itself for stream 0 (so one sample is
// what it always was), then distinct, well-mixed seeds; a stream's text does not depend on how
// many streams run.
//   std::mt19937_64 e = sample_engine(42, 1);   // the second sample of seed 42
inline std::mt19937_64 sample_engine(std::uint64_t seed, index b) {
  const auto k = static_cast<std::uint64_t>(b);
  return std::mt19937_64(b == 0 ? seed : seed ^ (0x9E3779B97F4A7C15ULL * (k + 1)));
}

// Whether a text given piece by piece has produced `stop`, keeping only the bytes a match can
// still use.  An empty stop text never matches.
//   stop_matcher m{"mat."};  m.add("the ma");  m.add("t.") == true
struct stop_matcher {
  std::string stop;
  std::string tail;  // the last stop.size() bytes of the text: where a match can end

  explicit stop_matcher(std::string text) : stop(std::move(text)) {}

  // Adds `piece`; true once the text holds `stop`.  A match must end in the new piece: it
  // starts at most stop.size() - 1 bytes before it.
  bool add(const std::string& piece) {
    if (stop.empty()) return false;
    const std::size_t before = tail.size();
    tail += piece;
    const std::size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
    const bool found = tail.find(stop, from) != std::string::npos;
    if (tail.size() > stop.size()) tail.erase(0, tail.size() - stop.size());
    return found;
  }
};

// Tokens one sample may have.
constexpr index max_generation_length = 100'000'000;

// One request: num_samples samples of up to `length` tokens each after `prime`.
struct generation_request {
  std::vector<token_id> prime;  // token ids (encode_prime in generator.hpp), at least one
  index length = 400;           // tokens per sample, in [1, max_generation_length]
  sampling_options sampling;    // temperature (0: greedy), top_k, top_p
  std::string stop;             // UTF-8; a sample ends with the piece that completes it ("": never)
  index num_samples = 1;
  std::uint64_t seed = 1;
  index first_stream = 0;  // sample n draws from sample_engine(seed, first_stream + n)
};

// Why a sample ended: none (it goes on), it holds `length` tokens, it produced the stop text.
enum class sample_end { none, length, stop };

// One new token of one sample, as step() gives it.
struct generated_piece {
  std::uint64_t request = 0;  // add()'s number
  index sample = 0;           // 0 .. num_samples - 1
  token_id id = 0;
  std::string text;                   // UTF-8: a character, or a word with its spacing
  sample_end end = sample_end::none;  // set on the sample's last piece
  bool request_done = false;          // the request's last piece: every sample has ended
};

// The engine.  Single-threaded: the caller serialises add, cancel and step (`charlstm serve` has
// one thread own it).
//   batch_generator<float> g(model, info.vocab);
//   std::uint64_t r = g.add({prime, 200, sampling_options{0.5}});
//   while (g.streams() > 0) for (const generated_piece& p : g.step()) out += p.text;
// Pitfall: it refers to the model and vocabulary it is given, which must outlive it.
template <class S>
class batch_generator {
 public:
  batch_generator(const model<S>& m, const token_vocabulary& vocab, index max_streams = 4096)
      : m_(m), vocab_(vocab), max_streams_(max_streams) {
    require(max_streams >= 1, "batch_generator: max_streams must be >= 1");
    const auto L = static_cast<std::size_t>(m.layers());
    state_.h.assign(L, matrix<S>(m.hidden_size(), 0));
    state_.c.assign(L, matrix<S>(m.hidden_size(), 0));
    prime_ = m.initial_batch_state(1);
    state_.packed = prime_.packed;  // one stream left steps over them (model::feed_batch)
  }
  batch_generator(const model<S>&, token_vocabulary&&, index = 4096) = delete;

  // Checks the request, feeds its prime and adds its samples to the batch; they draw their first
  // token at the next step().  Returns the request's number.  Throws charlstm::error for an
  // empty prime, a token outside the vocabulary, a length, sample count or sampling option out
  // of range, or more samples than the batch has room for (max_streams in all).
  std::uint64_t add(const generation_request& r) {
    require(!r.prime.empty(), "generate: the prime is empty");
    for (token_id id : r.prime) {
      require(id >= 0 && id < m_.vocab_size(), "generate: prime token id " + std::to_string(id) +
                                                   " outside the vocabulary of " +
                                                   std::to_string(m_.vocab_size()));
    }
    require(r.length >= 1 && r.length <= max_generation_length,
            "length must be in [1, " + std::to_string(max_generation_length) +
                "] (tokens per sample), got " + std::to_string(r.length));
    require(r.num_samples >= 1, "num_samples must be >= 1, got " + std::to_string(r.num_samples));
    require(r.first_stream >= 0, "first_stream must be >= 0");
    require_sampling(r.sampling);
    require(r.num_samples <= max_streams_ - streams(),
            "the batch is full: " + std::to_string(streams()) + " of " +
                std::to_string(max_streams_) + " streams in use, " + std::to_string(r.num_samples) +
                " more asked for; try again later or ask for "
                "fewer samples");
    // The prime once, in a batch of one (the same bits as in any column), then copied to each
    // sample's column.
    for (matrix<S>& h : prime_.h) h.setZero();
    for (matrix<S>& c : prime_.c) c.setZero();
    for (token_id id : r.prime) m_.feed_batch(prime_, &id);
    const index B = streams(), n = r.num_samples;
    for (std::size_t l = 0; l < state_.h.size(); ++l) {
      state_.h[l].conservativeResize(Eigen::NoChange, B + n);
      state_.c[l].conservativeResize(Eigen::NoChange, B + n);
      for (index k = 0; k < n; ++k) {
        state_.h[l].col(B + k) = prime_.h[l].col(0);
        state_.c[l].col(B + k) = prime_.c[l].col(0);
      }
    }
    const std::uint64_t number = ++last_request_;
    for (index k = 0; k < n; ++k) {
      stream s{number,
               k,
               0,
               r.length,
               r.sampling,
               stop_matcher{r.stop},
               sample_engine(r.seed, r.first_stream + k),
               detokenizer(vocab_)};
      for (token_id id : r.prime) s.pieces.piece(id);  // word spacing follows the prime
      streams_.push_back(std::move(s));
    }
    live_[number] = n;
    return number;
  }

  // Removes the request's samples from the batch (a client went away); false if it has none.
  bool cancel(std::uint64_t request) {
    if (live_.erase(request) == 0) return false;
    std::vector<bool> keep(streams_.size());
    for (std::size_t b = 0; b < streams_.size(); ++b) keep[b] = streams_[b].request != request;
    compact(keep);
    return true;
  }

  // One token for every sample in the batch: one batched step of the model, one draw per sample
  // from its own engine.  The pieces come in the order the samples joined; a sample that ended
  // (end != none) has left the batch when step() returns.
  const std::vector<generated_piece>& step() {
    pieces_.clear();
    if (streams_.empty()) return pieces_;
    const matrix<S>& logits = m_.batch_logits(state_);
    std::vector<bool> keep(streams_.size(), true);
    bool any_ended = false;
    ids_.resize(streams_.size());
    for (std::size_t b = 0; b < streams_.size(); ++b) {
      stream& s = streams_[b];
      const auto id = static_cast<token_id>(sample_logits(
          logits.col(static_cast<index>(b)).data(), logits.rows(), s.sampling, s.engine, scratch_));
      ids_[b] = id;
      generated_piece p{s.request, s.sample, id, encode_utf8(s.pieces.piece(id))};
      ++s.produced;
      if (s.stop.add(p.text)) {
        p.end = sample_end::stop;
      } else if (s.produced >= s.length) {
        p.end = sample_end::length;
      }
      if (p.end != sample_end::none) {
        keep[b] = false;
        any_ended = true;
        if (--live_[s.request] == 0) {
          live_.erase(s.request);
          p.request_done = true;
        }
      }
      pieces_.push_back(std::move(p));
    }
    if (any_ended) compact(keep);
    if (!streams_.empty()) m_.feed_batch(state_, ids_.data());
    return pieces_;
  }

  // Samples in the batch, and requests with a sample in it.
  index streams() const { return static_cast<index>(streams_.size()); }
  index requests() const { return static_cast<index>(live_.size()); }
  index max_streams() const { return max_streams_; }

 private:
  struct stream {
    std::uint64_t request;
    index sample, produced, length;
    sampling_options sampling;
    stop_matcher stop;
    std::mt19937_64 engine;
    detokenizer pieces;
  };

  // Keeps the columns and streams with keep[b], in their order.
  void compact(const std::vector<bool>& keep) {
    std::size_t w = 0;
    for (std::size_t b = 0; b < streams_.size(); ++b) {
      if (!keep[b]) continue;
      if (w != b) {
        streams_[w] = std::move(streams_[b]);
        if (b < ids_.size()) ids_[w] = ids_[b];
        for (std::size_t l = 0; l < state_.h.size(); ++l) {
          state_.h[l].col(static_cast<index>(w)) = state_.h[l].col(static_cast<index>(b));
          state_.c[l].col(static_cast<index>(w)) = state_.c[l].col(static_cast<index>(b));
        }
      }
      ++w;
    }
    streams_.erase(streams_.begin() + static_cast<std::ptrdiff_t>(w), streams_.end());
    if (ids_.size() > w) ids_.resize(w);
    for (std::size_t l = 0; l < state_.h.size(); ++l) {
      state_.h[l].conservativeResize(Eigen::NoChange, static_cast<index>(w));
      state_.c[l].conservativeResize(Eigen::NoChange, static_cast<index>(w));
    }
  }

  const model<S>& m_;
  const token_vocabulary& vocab_;
  index max_streams_;
  batch_state<S> state_;  // (H, streams) per layer: column b is streams_[b]'s state
  batch_state<S> prime_;  // (H, 1): a prime being fed
  std::vector<stream> streams_;
  std::unordered_map<std::uint64_t, index> live_;  // request -> its samples in the batch
  std::uint64_t last_request_ = 0;
  std::vector<token_id> ids_;    // each stream's last token, fed at the end of step()
  std::vector<double> scratch_;  // sample_logits's
  std::vector<generated_piece> pieces_;
};

}  // namespace charlstm
