// The training engine through the public API: a run stopped on request and resumed from its
// checkpoint ends bit-identical to the uninterrupted run (examples/resume.cpp's logic, in both
// modes); the one divergence guard names the active optimizer; the checkpoint's training state
// is validated before anything uses it; a resumed run's configuration and a prepared corpus.
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <set>
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

TEST_CASE("resumed_config keeps the checkpoint's settings unless a flag was given explicitly",
          "[engine]") {
  charlstm::training_config stored = small_config(charlstm::training_mode::sequence, "m");
  stored.lr = 0.01, stored.corpus = {"a.txt"};
  charlstm::training_config given = stored;
  given.hidden = 64, given.lr = 0.5, given.corpus = {"b.txt"}, given.epochs = 9, given.threads = 1;
  given.max_steps = 40, given.out = "n";
  charlstm::training_state<float> at_boundary, part_way;
  part_way.epoch = 2, part_way.epoch_batch = 3;
  const auto only = [](std::set<std::string> flags) {
    return [flags](const std::string& flag) { return flags.count(flag) != 0; };
  };
  // Nothing given: the stored settings, this run's own ones from `given`.
  const auto none = charlstm::resumed_config(stored, given, at_boundary, only({}));
  CHECK(none.hidden == stored.hidden);
  CHECK(none.lr == 0.01);
  CHECK(none.corpus == std::vector<std::string>{"a.txt"});
  CHECK(none.epochs == 9);
  CHECK(none.threads == 1);
  CHECK(none.max_steps == 40);
  CHECK(none.out == "n");
  // An adjustable flag given explicitly changes the stored value.
  const auto adjusted =
      charlstm::resumed_config(stored, given, at_boundary, only({"--lr", "--corpus"}));
  CHECK(adjusted.lr == 0.5);
  CHECK(adjusted.corpus == std::vector<std::string>{"b.txt"});
  CHECK(adjusted.hidden == stored.hidden);
  // A stored setting that cannot change is an error naming both values.
  CHECK_THROWS_WITH(charlstm::resumed_config(stored, given, at_boundary, only({"--hidden"})),
                    "--hidden 64 differs from the checkpoint's 12");
  // Part-way through an epoch the data cannot change.
  CHECK_THROWS_WITH(charlstm::resumed_config(stored, given, part_way, only({"--corpus"})),
                    Catch::Contains("--corpus b.txt differs from the checkpoint's a.txt, which "
                                    "stopped part-way through epoch 3"));
  CHECK(charlstm::resumed_config(stored, given, part_way, only({"--lr"})).lr == 0.5);
  // The token kind is the checkpoint's; asking for another one is refused.
  given.tokens = charlstm::token_kind::word;
  CHECK(charlstm::resumed_config(stored, given, at_boundary, only({})).tokens ==
        charlstm::token_kind::character);
  CHECK_THROWS_WITH(charlstm::resumed_config(stored, given, at_boundary, only({"--tokens"})),
                    "--tokens word differs from the checkpoint's char");
}

TEST_CASE("prepare_training_corpus builds the vocabulary, the ids and the split", "[engine]") {
  charlstm::training_config c = small_config(charlstm::training_mode::window, "m");
  const std::string text = test_support::small_corpus();
  const charlstm::training_corpus p =
      charlstm::prepare_training_corpus(charlstm::decode_utf8(text), c, "small");
  const charlstm::char_vocabulary expected(charlstm::decode_utf8(text));
  CHECK(p.vocab.kind() == charlstm::token_kind::character);
  CHECK(p.vocab.size() == expected.size());
  CHECK(p.characters == text.size());
  CHECK(p.tokens == text.size());
  CHECK(p.data.ids == expected.encode(charlstm::decode_utf8(text)));
  CHECK(p.data.n_train == static_cast<charlstm::index>(static_cast<double>(text.size()) * 0.9));
  CHECK(p.data.train_windows.size() > 0);
  // Words: fewer tokens than characters, the vocabulary capped.
  c.tokens = charlstm::token_kind::word, c.max_vocab = 8;
  const auto words = charlstm::prepare_training_corpus(charlstm::decode_utf8(text), c, "small");
  CHECK(words.vocab.kind() == charlstm::token_kind::word);
  CHECK(words.vocab.size() == 8);
  CHECK(words.characters == text.size());
  CHECK(words.tokens < text.size() / 3);
  // A given vocabulary is used as it is: no cap, and a character outside it is an error.
  c.tokens = charlstm::token_kind::character, c.max_char_vocab = 5;
  CHECK_THROWS_WITH(charlstm::prepare_training_corpus(charlstm::decode_utf8(text), c, "small"),
                    Catch::Contains("distinct characters, more than --max-char-vocab 5"));
  const charlstm::token_vocabulary given = p.vocab;
  CHECK(charlstm::prepare_training_corpus(charlstm::decode_utf8(text), c, "small", given)
            .vocab.size() == expected.size());
  CHECK_THROWS_WITH(
      charlstm::prepare_training_corpus(charlstm::decode_utf8(text + "{"), c, "small", given),
      Catch::Contains("corpus small"));
  CHECK_THROWS_WITH(charlstm::prepare_training_corpus(U"", c, "empty.txt"),
                    Catch::Contains("corpus 'empty.txt' is empty"));
}

TEST_CASE("fine_tuning_config takes the base model's shape, token kind and case", "[engine]") {
  const charlstm::char_vocabulary vocab(U"abc");
  const charlstm::model<float> base(vocab.size(), 6, 1, 2);
  charlstm::checkpoint_info info(vocab, {{"lowercase", "0"}}, {});
  charlstm::training_config flags = small_config(charlstm::training_mode::sequence, "m");
  flags.hidden = 128, flags.layers = 1, flags.lowercase = true, flags.lr = 0.3;
  const auto given = [](std::set<std::string> names) {
    return [names](const std::string& flag) { return names.count(flag) != 0; };
  };
  const auto c = charlstm::fine_tuning_config(flags, base, info, "base.safetensors", given({}));
  CHECK(c.hidden == 6);
  CHECK(c.layers == 2);
  CHECK(c.tokens == charlstm::token_kind::character);
  CHECK_FALSE(c.lowercase);  // the base model's case, unless given
  CHECK(c.lr == 0.3);        // everything else is the flags'
  CHECK(c.init_from == "base.safetensors");
  CHECK(charlstm::fine_tuning_config(flags, base, info, "b", given({"--lowercase"})).lowercase);
  CHECK_THROWS_WITH(
      charlstm::fine_tuning_config(flags, base, info, "b", given({"--hidden"})),
      "--hidden 128 differs from 6, the --init-from model's: fine-tuning keeps the model's "
      "architecture (leave --hidden out)");
}
