// The training engine through the public API: a run stopped on request and resumed from its
// checkpoint ends bit-identical to the uninterrupted run (examples/resume.cpp's logic, in both
// modes); the one divergence guard names the active optimizer; the checkpoint's training state
// is validated before anything uses it.
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <string>

#include "support/run.hpp"

namespace {

struct run {
  charlstm::model<float> model;
  charlstm::training_state<float> state;
};

charlstm::training_config small_config(charlstm::training_mode mode, const std::string& out) {
  charlstm::training_config c;
  c.mode = mode;
  c.hidden = 12, c.batch = 8, c.seq_len = 15, c.maxlen = 15, c.step = 5, c.epochs = 2;
  c.threads = 2, c.sample_length = 10, c.corpus = {"small"}, c.out = out;
  return c;
}

}  // namespace

TEST_CASE("A run stopped on request and resumed from its checkpoint is bit-identical",
          "[engine]") {
  test_support::temp_dir dir;
  const std::u32string text = charlstm::decode_utf8(test_support::small_corpus());
  const charlstm::char_vocabulary vocab(text);
  for (auto mode : {charlstm::training_mode::sequence, charlstm::training_mode::window}) {
    DYNAMIC_SECTION(charlstm::mode_name(mode)) {
      charlstm::training_config c = small_config(mode, dir.path + "/whole.safetensors");
      const charlstm::training_data data = charlstm::make_training_data(vocab.encode(text), c, "t");
      REQUIRE(data.batches(c) > 6);
      charlstm::model<float> whole(vocab.size(), c.hidden, c.seed);
      auto whole_state = charlstm::training_state<float>::fresh(c, whole);
      long progress_events = 0;
      charlstm::training_events events;
      events.on_step = [&](const charlstm::step_end&) { ++progress_events; };
      const auto done = charlstm::fit(c, data, vocab, whole, whole_state, events);
      CHECK(done.reason == charlstm::stop_reason::finished);
      CHECK(progress_events == whole_state.optimizer.steps);
      CHECK(whole_state.optimizer.steps == 2 * data.batches(c));

      c.out = dir.path + "/part.safetensors";
      charlstm::model<float> part(vocab.size(), c.hidden, c.seed);
      auto part_state = charlstm::training_state<float>::fresh(c, part);
      events.stop_requested = [&] { return part_state.optimizer.steps >= 5; };
      const auto stopped = charlstm::fit(c, data, vocab, part, part_state, events);
      CHECK(stopped.reason == charlstm::stop_reason::stop_requested);
      CHECK(part_state.optimizer.steps == 5);
      CHECK(part.params.data != whole.params.data);

      charlstm::checkpoint_info info;
      charlstm::optimizer_state<float> opt;
      charlstm::model<float> resumed = charlstm::load_checkpoint<float>(c.out, info, opt);
      charlstm::training_config rc = charlstm::read_training_config(info, resumed);
      CHECK(rc.mode == mode);
      CHECK(rc.batch == c.batch);
      rc.epochs = c.epochs, rc.threads = c.threads, rc.out = c.out;
      auto state = charlstm::read_training_state(info, rc, resumed, std::move(opt));
      CHECK(state.epoch_batch == 5);
      const auto finished = charlstm::fit(rc, data, info.vocab, resumed, state);
      CHECK(finished.reason == charlstm::stop_reason::finished);
      CHECK(resumed.params.data == whole.params.data);
      CHECK(state.optimizer.moments[0].data == whole_state.optimizer.moments[0].data);
      CHECK(state.optimizer.steps == whole_state.optimizer.steps);
      CHECK(charlstm::read_file_bytes(c.out) == charlstm::read_file_bytes(dir.path +
                                                                           "/whole.safetensors"));
    }
  }
}

TEST_CASE("The divergence guard checks the active optimizer's state and names it", "[engine]") {
  test_support::temp_dir dir;
  const std::u32string text = charlstm::decode_utf8(test_support::small_corpus());
  const charlstm::char_vocabulary vocab(text);
  for (auto kind : {charlstm::optimizer_kind::rmsprop, charlstm::optimizer_kind::adam}) {
    charlstm::training_config c =
        small_config(charlstm::training_mode::sequence, dir.path + "/d.safetensors");
    c.optimizer = kind;
    c.lr = 3e38;
    c.clip_norm = 0;
    const charlstm::training_data data = charlstm::make_training_data(vocab.encode(text), c, "t");
    charlstm::model<float> m(vocab.size(), c.hidden, c.seed);
    auto state = charlstm::training_state<float>::fresh(c, m);
    const std::string name =
        kind == charlstm::optimizer_kind::adam ? "Adam's state" : "RMSprop's state";
    CHECK_THROWS_WITH(charlstm::fit(c, data, vocab, m, state),
                      Catch::Contains("training diverged at step 1 (") &&
                          Catch::Contains("nothing was saved"));
    // The message names the weights or the active optimizer's state, never the other one's.
    try {
      charlstm::model<float> again(vocab.size(), c.hidden, c.seed);
      auto s = charlstm::training_state<float>::fresh(c, again);
      charlstm::fit(c, data, vocab, again, s);
    } catch (const charlstm::error& e) {
      const std::string what = e.what();
      if (what.find("no longer finite") != std::string::npos) {
        CHECK_THAT(what, Catch::Contains("the weights or " + name));
      }
    }
  }
}

TEST_CASE("A checkpoint's training state is validated before it is used", "[engine]") {
  test_support::temp_dir dir;
  const std::u32string text = charlstm::decode_utf8(test_support::small_corpus());
  const charlstm::char_vocabulary vocab(text);
  charlstm::training_config c =
      small_config(charlstm::training_mode::sequence, dir.path + "/v.safetensors");
  const charlstm::training_data data = charlstm::make_training_data(vocab.encode(text), c, "t");
  charlstm::model<float> m(vocab.size(), c.hidden, c.seed);
  auto state = charlstm::training_state<float>::fresh(c, m);
  charlstm::training_events events;
  events.stop_requested = [&] { return state.optimizer.steps >= 3; };
  charlstm::fit(c, data, vocab, m, state, events);
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  const charlstm::model<float> loaded = charlstm::load_checkpoint<float>(c.out, info, opt);
  const auto read = [&](const std::string& key, const std::string& value) {
    charlstm::checkpoint_info changed = info;
    changed.metadata[key] = value;
    const charlstm::training_config rc = charlstm::read_training_config(changed, loaded);
    charlstm::read_training_state(changed, rc, loaded, opt);
  };
  CHECK_NOTHROW(read("epoch", "0"));
  CHECK_THROWS_WITH(read("epoch_batch", "-1"), Catch::Contains("'epoch_batch' is -1, outside"));
  CHECK_THROWS_WITH(read("batch", "0"), Catch::Contains("'batch' is 0, outside [1, 1000000]"));
  CHECK_THROWS_WITH(read("maxlen", "99999999999"), Catch::Contains("'maxlen' is 99999999999"));
  CHECK_THROWS_WITH(read("rng", "1 2 3"), Catch::Contains("not a random engine state"));
  CHECK_THROWS_WITH(read("dropout", "0.5"), Catch::Contains("--dropout acts between stacked"));
  // A carried state of another width (--batch 9 written over the stored 8).
  CHECK_THROWS_WITH(read("batch", "9"), Catch::Contains("carried state 'state.h.l0' of shape"));
  // A position beyond the epoch is refused by fit before the first step.
  charlstm::checkpoint_info beyond = info;
  beyond.metadata["epoch_batch"] = std::to_string(data.batches(c) + 3);
  const charlstm::training_config rc = charlstm::read_training_config(beyond, loaded);
  auto far = charlstm::read_training_state(beyond, rc, loaded, opt);
  charlstm::model<float> copy = loaded;
  charlstm::training_config run = rc;
  run.out = c.out, run.epochs = 2;
  CHECK_THROWS_WITH(charlstm::fit(run, data, info.vocab, copy, far),
                    Catch::Contains("of an epoch that now has"));
}

TEST_CASE("The corpus setting is stored as one argument, or as a list when several", "[engine]") {
  const charlstm::char_vocabulary vocab(U"abc");
  const charlstm::model<float> m(vocab.size(), 4, 1);
  charlstm::training_config c;
  const auto state = charlstm::training_state<float>::fresh(c, m);
  const auto round_trip = [&](const std::vector<std::string>& corpus) {
    c.corpus = corpus;
    const charlstm::checkpoint_info info =
        charlstm::training_checkpoint_info(vocab, c, state, U"ab");
    CHECK(charlstm::read_training_config(info, m).corpus == corpus);
    return info.metadata;
  };
  // One argument: "corpus" alone, as every checkpoint before lists.
  const auto one = round_trip({"nietzsche"});
  CHECK(one.at("corpus") == "nietzsche");
  CHECK(one.count("corpus_list") == 0);
  // Several (quotes, spaces and '-' included): a JSON list, and "corpus" joined for reading.
  const auto several = round_trip({"a b.txt", "say \"hi\".txt", "-", "folder/"});
  CHECK(several.at("corpus") == "a b.txt say \"hi\".txt - folder/");
  CHECK(several.at("corpus_list") == R"(["a b.txt","say \"hi\".txt","-","folder/"])");
  // A checkpoint written before lists (no "corpus_list") reads its one path.
  charlstm::checkpoint_info old = charlstm::training_checkpoint_info(vocab, c, state, U"ab");
  old.metadata.erase("corpus_list");
  old.metadata["corpus"] = "/data/old corpus.txt";
  CHECK(charlstm::read_training_config(old, m).corpus ==
        std::vector<std::string>{"/data/old corpus.txt"});
  old.metadata["corpus_list"] = R"({"a": 1})";
  CHECK_THROWS_WITH(charlstm::read_training_config(old, m),
                    Catch::Contains("'corpus_list' is not a JSON array"));
}
