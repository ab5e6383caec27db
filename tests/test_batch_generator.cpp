// The batched generation engine (batch_generator.hpp): a request's text is the same alone and
// inside a batch whose other requests join and leave at any step; stop text; limits.
#include <algorithm>
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

using isize = charlstm::index;  // a bare `index` would clash with POSIX index()

namespace {

// A float model (the tool's scalar) with an odd hidden size, so that the products have partial
// register tiles and scalar rows, over an ASCII vocabulary.
struct fixture {
  charlstm::token_vocabulary vocab{charlstm::char_vocabulary(std::u32string(U"abcdefgh ijk.,"))};
  charlstm::model<float> m{vocab.size(), 37, 5, 2};
};

charlstm::generation_request request(std::uint64_t seed, isize length,
                                     charlstm::sampling_options o = {0.9, 0, 1}) {
  charlstm::generation_request r;
  r.prime = {1, 2, 3, 8, 4};
  r.length = length;
  r.sampling = o;
  r.seed = seed;
  return r;
}

// Every sample's text and how it ended, by (request, sample).
struct outcome {
  std::map<std::pair<std::uint64_t, isize>, std::string> text;
  std::map<std::pair<std::uint64_t, isize>, charlstm::sample_end> end;
  std::vector<std::uint64_t> done;
  void take(const std::vector<charlstm::generated_piece>& pieces) {
    for (const charlstm::generated_piece& p : pieces) {
      text[{p.request, p.sample}] += p.text;
      if (p.end != charlstm::sample_end::none) end[{p.request, p.sample}] = p.end;
      if (p.request_done) done.push_back(p.request);
    }
  }
};

// The text of request r run alone, sample 0.
std::string alone(const fixture& f, const charlstm::generation_request& r) {
  charlstm::batch_generator<float> g(f.m, f.vocab);
  const std::uint64_t id = g.add(r);
  outcome o;
  while (g.streams() > 0) o.take(g.step());
  return o.text[{id, 0}];
}

}  // namespace

TEST_CASE("batch_generator: a request alone and among others joining and leaving", "[serve]") {
  const fixture f;
  const charlstm::generation_request target = request(42, 120, {0.8, 0, 0.95});
  const std::string expected = alone(f, target);
  REQUIRE(expected.size() == 120);
  CHECK(expected != alone(f, request(43, 120, {0.8, 0, 0.95})));  // the seed matters

  // Joins third, after others have stepped; others join after it, one leaves by cancel, short
  // ones leave by length, while it runs.
  charlstm::batch_generator<float> g(f.m, f.vocab);
  outcome o;
  const std::uint64_t a = g.add(request(1, 200, {1.0, 5, 1}));
  const std::uint64_t b = g.add(request(2, 7));
  for (int k = 0; k < 3; ++k) o.take(g.step());
  const std::uint64_t t = g.add(target);
  for (int k = 0; k < 5; ++k) o.take(g.step());
  charlstm::generation_request many = request(3, 30, {1.3, 0, 1});
  many.num_samples = 4;
  const std::uint64_t c = g.add(many);
  CHECK(g.streams() == 1 + 1 + 4);  // b has ended
  for (int k = 0; k < 10; ++k) o.take(g.step());
  CHECK(g.cancel(a));
  CHECK_FALSE(g.cancel(a));
  CHECK(g.requests() == 2);
  bool joined_late = false;
  while (g.streams() > 0) {
    o.take(g.step());
    if (g.streams() == 1 && !joined_late) {  // joins after c has left
      g.add(request(4, 3));
      joined_late = true;
    }
  }
  CHECK(joined_late);
  CHECK(o.text[{t, 0}] == expected);
  CHECK(o.end[{t, 0}] == charlstm::sample_end::length);
  CHECK(o.text[{b, 0}].size() == 7);
  CHECK(o.end.count({a, 0}) == 0);  // cancelled: no last piece
  for (isize s = 0; s < 4; ++s) CHECK(o.text[{c, s}].size() == 30);
  CHECK(std::find(o.done.begin(), o.done.end(), t) != o.done.end());
  CHECK(std::find(o.done.begin(), o.done.end(), c) != o.done.end());

  // Sample n of a request is the request with first_stream n alone; sample 0 is the seed's.
  for (isize s = 0; s < 4; ++s) {
    charlstm::generation_request one = many;
    one.num_samples = 1;
    one.first_stream = s;
    CHECK(alone(f, one) == o.text[{c, s}]);
  }
  CHECK(o.text[{c, 0}] != o.text[{c, 1}]);
}

TEST_CASE("batch_generator: one request equals the one-stream stateful loop", "[serve]") {
  // Within rounding the batched column equals model::feed; on this model and seed the draws agree.
  const fixture f;
  std::mt19937_64 engine(9);
  const std::vector<charlstm::token_id> ids = charlstm::generate_stateful_ids(
      f.m, {1, 2, 3, 8, 4}, 80, charlstm::sampling_options{0.7, 0, 1}, engine);
  CHECK(alone(f, request(9, 80, {0.7, 0, 1})) ==
        charlstm::encode_utf8(charlstm::decode_text(f.vocab, ids)));
}

TEST_CASE("batch_generator: stop text ends a sample with the piece that completes it", "[serve]") {
  const fixture f;
  const std::string full = alone(f, request(7, 300, {0.6, 0, 1}));
  // A three-character stop text first found well inside the text.
  const std::string stop = full.substr(100, 3);
  const std::size_t first = full.find(stop);
  REQUIRE(first <= 100);
  charlstm::generation_request r = request(7, 300, {0.6, 0, 1});
  r.stop = stop;
  charlstm::batch_generator<float> g(f.m, f.vocab);
  outcome o;
  const std::uint64_t id = g.add(r);
  const std::uint64_t other = g.add(request(8, 300));  // no stop: runs to its length
  while (g.streams() > 0) o.take(g.step());
  CHECK(o.text[{id, 0}] == full.substr(0, first + stop.size()));
  CHECK(o.end[{id, 0}] == charlstm::sample_end::stop);
  CHECK(o.text[{other, 0}].size() == 300);
  CHECK(o.end[{other, 0}] == charlstm::sample_end::length);

  // The matcher across pieces, and a match that must end in the newest piece.
  charlstm::stop_matcher m("mat.");
  CHECK_FALSE(m.add("the ma"));
  CHECK(m.add("t."));
  charlstm::stop_matcher never("");
  CHECK_FALSE(never.add("anything"));
}

TEST_CASE("batch_generator: bad requests throw and leave the batch as it was", "[serve]") {
  const fixture f;
  charlstm::batch_generator<float> g(f.m, f.vocab, 4);
  const std::uint64_t keep = g.add(request(1, 50));
  const auto refused = [&](charlstm::generation_request r, const std::string& what) {
    CHECK_THROWS_WITH(g.add(r), Catch::Contains(what));
    CHECK(g.streams() == 1);
    CHECK(g.requests() == 1);
  };
  charlstm::generation_request r = request(2, 10);
  r.prime.clear();
  refused(r, "prime is empty");
  r = request(2, 10);
  r.prime.push_back(static_cast<charlstm::token_id>(f.vocab.size()));
  refused(r, "outside the vocabulary");
  refused(request(2, 0), "length must be in [1, ");
  refused(request(2, charlstm::max_generation_length + 1), "length must be in [1, ");
  refused(request(2, 10, {-1, 0, 1}), "temperature");
  refused(request(2, 10, {1, -1, 1}), "top-k");
  refused(request(2, 10, {1, 0, 0}), "top-p");
  r = request(2, 10);
  r.num_samples = 0;
  refused(r, "num_samples must be >= 1");
  r.num_samples = 4;  // 1 + 4 > 4
  refused(r, "the batch is full: 1 of 4 streams in use");
  r.num_samples = 3;
  g.add(r);
  CHECK(g.streams() == 4);
  outcome o;
  while (g.streams() > 0) o.take(g.step());
  CHECK(o.text[{keep, 0}].size() == 50);
  CHECK(g.step().empty());  // an empty batch steps to nothing
}
