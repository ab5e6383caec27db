// The `charlstm` tool, driven as a user would: output when not a terminal, checkpoints that
// round-trip, exact resume, and clear errors for bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <charlstm/checkpoint.hpp>
#include <charlstm/generate.hpp>
#include <charlstm/trainer.hpp>
#include <charlstm/vectorizer.hpp>
#include <cstdio>
#include <numeric>
#include <random>
#include <regex>
#include <sstream>
#include <string>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::small_corpus;
using test_support::temp_dir;

namespace {

// Small settings so that an epoch takes milliseconds.
std::string small_flags(const temp_dir& dir) {
  return "--corpus " + quote(dir / "corpus.txt") +
         " --maxlen 20 --step 3 --hidden 16 --batch 32 --sample-length 30 --threads 2";
}

// A checkpoint's model and optimizer state, as `train --resume` loads them.
struct run {
  charlstm::model<float> model;
  charlstm::optimizer_state<float> optimizer;
};
run load(const std::string& path, charlstm::checkpoint_info& info) {
  charlstm::optimizer_state<float> opt;
  charlstm::model<float> m = charlstm::load_checkpoint<float>(path, info, opt);
  return {m, opt};
}

}  // namespace

TEST_CASE("train prints one plain line per epoch on stderr when not a terminal", "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  const auto r =
      run_cli("train " + small_flags(dir) + " --epochs 2 --out " + quote(dir / "m.safetensors"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // Its product is the checkpoint: stdout stays empty, everything it says is on stderr.
  CHECK(r.out.empty());
  CHECK(r.err.find('\r') == std::string::npos);
  CHECK_THAT(r.err, Catch::Contains("Epoch 1/2\n") && Catch::Contains("Epoch 2/2\n"));
  const std::regex bar(R"(\n(\d+)/\1 \[=+\] - \d+s \d+ms/step - loss: \d+\.\d{4}\n)");
  CHECK(std::distance(std::sregex_iterator(r.err.begin(), r.err.end(), bar),
                      std::sregex_iterator()) == 2);
  CHECK(std::regex_search(r.err,
                          std::regex(R"(loss: \d\.\d{4} nats/char \(\d\.\d{4} bits/char\) - )"
                                     R"(val_loss: \d\.\d{4} nats/char \(\d\.\d{4} bits/char\))")));
  for (const char* t : {"0.2", "0.5", "1", "1.2"}) {
    CHECK_THAT(r.err, Catch::Contains(std::string("------ temperature: ") + t + "\n"));
  }
  CHECK_THAT(r.err, Catch::Contains("saved " + dir / "m.safetensors" + " (epoch 2, "));
  // The last line says where the run got to: the best of the epochs' validation losses.
  double best = 1e300;
  const std::regex val(R"(val_loss: (\d\.\d{4}) nats/char)");
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), val);
       it != std::sregex_iterator(); ++it) {
    best = std::min(best, std::stod((*it)[1].str()));
  }
  char expected[64];
  std::snprintf(expected, sizeof expected, "%.4f", best);
  const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  CHECK(std::regex_match(
      last, std::regex("last epoch done: best validation loss " + std::string(expected) +
                       R"( nats/char \(\d\.\d{4} bits/char\) in .*\n)")));
  CHECK_THAT(last, Catch::EndsWith(" in " + dir / "m.best.safetensors\n"));
}

TEST_CASE("A checkpoint reloads bit-identically and generates the same text", "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  REQUIRE(run_cli("train " + small_flags(dir) + " --epochs 1 --out " + quote(dir / "m.safetensors"))
              .exit_code == 0);
  charlstm::checkpoint_info info;
  auto m = load(dir / "m.safetensors", info);
  charlstm::save_checkpoint(dir / "copy.safetensors", m.model, m.optimizer, info);
  CHECK(charlstm::read_file_bytes(dir / "copy.safetensors") ==
        charlstm::read_file_bytes(dir / "m.safetensors"));
  const auto eval = run_cli("eval --model " + quote(dir / "m.safetensors") + " --corpus " +
                            quote(dir / "corpus.txt"));
  CHECK(eval.exit_code == 0);
  // Six decimals, as metrics.csv.
  CHECK(std::regex_search(eval.out,
                          std::regex(R"(loss \d\.\d{6} nats/char, \d\.\d{6} bits/char\n$)")));
}

TEST_CASE("The tool generates from a saved model what the model in memory generates", "[cli]") {
  // A model trained here, never loaded: the reference.  Saved, then read by `charlstm generate`
  // in another process, it must draw the same text both ways from the same seed.
  const std::u32string text = charlstm::decode_utf8(small_corpus());
  const charlstm::char_vocabulary vocab(text);
  const auto ids = vocab.encode(text);
  const auto windows = charlstm::make_windows(ids, 20, 3);
  charlstm::model<float> m(vocab.size(), 16, 4);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  charlstm::batch_trainer<float> trainer(m, opt, 1);
  std::vector<charlstm::index> which(32);
  std::vector<charlstm::token_id> batch(20 * 32), targets(32);
  for (int step = 0; step < 20; ++step) {
    std::iota(which.begin(), which.end(), step * 32);
    charlstm::gather_batch(windows, which.data(), 32, batch.data(), targets.data());
    trainer.train_step(batch.data(), targets.data(), 20, 32);
  }
  temp_dir dir;
  charlstm::save_checkpoint(dir / "m.safetensors", m,
                            {vocab, {{"lowercase", "0"}, {"maxlen", "20"}, {"mode", "window"}}});
  const std::u32string prime = U"the quick brown";
  for (const bool window : {false, true}) {
    std::mt19937_64 engine(7);
    const std::u32string expected =
        window ? charlstm::generate_window(m, vocab, prime, 80, 0.7, engine)
               : charlstm::generate_stateful(m, vocab, prime, 80, 0.7, engine);
    const auto r = run_cli(std::string("generate --length 80 --seed 7 --temperature 0.7 ") +
                           (window ? "--window" : "--stateful") + " --prime 'the quick brown'" +
                           " --model " + quote(dir / "m.safetensors"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == charlstm::encode_utf8(prime + expected) + "\n");
    CHECK_THAT(r.err, Catch::Contains("characters/s"));
  }
}

TEST_CASE("A time limit stops after the step that reaches it and saves like --max-steps", "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  // A limit of 1e-9 minutes is past after the first step, whatever the machine's speed.
  const auto r = run_cli("train " + small_flags(dir) + " --epochs 3 --time-limit 1e-9 --out " +
                         quote(dir / "m.safetensors"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("epoch 1 stopped after batch 1 of ") &&
                        Catch::Contains(", 1 steps in all)"));
  CHECK_THAT(r.err, !Catch::Contains("Epoch 2/3"));
  // No epoch was validated yet: the last line names the checkpoint instead.
  CHECK_THAT(r.err, Catch::EndsWith("time limit reached: the model is in " + dir / "m.safetensors" +
                                    "\n"));
  charlstm::checkpoint_info info;
  CHECK(load(dir / "m.safetensors", info).optimizer.steps == 1);
  // The limit is for this run: resuming without it trains to the end.
  const auto resumed = run_cli("train --resume " + quote(dir / "m.safetensors") + " --epochs 3");
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("Epoch 3/3"));
  CHECK_THAT(resumed.err, Catch::Contains("last epoch done: best validation loss "));
}

TEST_CASE("Resuming gives bit-identical weights", "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  const std::string flags = "train " + small_flags(dir);
  REQUIRE(run_cli(flags + " --epochs 2 --out " + quote(dir / "two.safetensors")).exit_code == 0);
  REQUIRE(run_cli(flags + " --epochs 1 --out " + quote(dir / "one.safetensors")).exit_code == 0);
  const auto resumed = run_cli("train --resume " + quote(dir / "one.safetensors") +
                               " --epochs 2 --threads 2 --sample-length 30 --out " +
                               quote(dir / "resumed.safetensors"));
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  // Stopped part-way through the first epoch, then resumed to the end of the second.
  REQUIRE(run_cli(flags + " --epochs 2 --max-steps 5 --out " + quote(dir / "part.safetensors"))
              .exit_code == 0);
  REQUIRE(run_cli("train --resume " + quote(dir / "part.safetensors") +
                  " --epochs 2 --threads 2 --sample-length 30")
              .exit_code == 0);

  charlstm::checkpoint_info a, b, c;
  const auto two = load(dir / "two.safetensors", a);
  const auto again = load(dir / "resumed.safetensors", b);
  const auto part = load(dir / "part.safetensors", c);
  CHECK(two.model.params.data == again.model.params.data);
  CHECK(two.optimizer.moments[0].data == again.optimizer.moments[0].data);
  CHECK(two.optimizer.steps == again.optimizer.steps);
  CHECK(two.model.params.data == part.model.params.data);
  CHECK(two.optimizer.steps == part.optimizer.steps);
  CHECK(a.metadata.at("rng") == b.metadata.at("rng"));
}

TEST_CASE("Window mode, stacked layers with Adam, lr decay, patience and the best checkpoint",
          "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  // The book's recipe, exactly as before sequence mode existed.
  const auto window = run_cli("train " + small_flags(dir) + " --mode window --epochs 1 --out " +
                              quote(dir / "w.safetensors"));
  INFO(window.out << window.err);
  REQUIRE(window.exit_code == 0);
  CHECK_THAT(window.err, Catch::Contains("training windows"));
  const auto n_train = static_cast<long>(static_cast<double>(small_corpus().size()) * 0.9);
  const long windows = (n_train - 20 + 2) / 3, stream_length = (n_train - 1) / 32;
  charlstm::checkpoint_info w_info;
  CHECK(load(dir / "w.safetensors", w_info).optimizer.steps == (windows + 31) / 32);
  CHECK(w_info.metadata.at("mode") == "window");

  const std::string deep = "train " + small_flags(dir) +
                           " --layers 2 --dropout 0.1 --optimizer adam --seq-len 25"
                           " --lr-decay 0.5 --lr-decay-after 1 --patience 1 --epochs 6 --out " +
                           quote(dir / "d.safetensors");
  const auto r = run_cli(deep);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("32 streams of " + std::to_string(stream_length) +
                                    " tokens in chunks of 25 (" +
                                    std::to_string((stream_length + 24) / 25) + " per epoch)") &&
                        Catch::Contains("2 layer(s) of 16, adam"));
  // lr 0.002 (Adam's default here) for epochs 1 and 2, then halved every epoch.
  CHECK_THAT(r.err, Catch::Contains("lr: 0.002\n") && Catch::Contains("lr: 0.001\n"));
  charlstm::checkpoint_info info, best_info;
  const auto m = load(dir / "d.safetensors", info);
  const auto best = load(dir / "d.best.safetensors", best_info);
  CHECK(m.model.layers() == 2);
  CHECK(m.optimizer.kind == charlstm::optimizer_kind::adam);
  CHECK(info.metadata.at("mode") == "sequence");
  CHECK(info.metadata.at("seq_len") == "25");
  CHECK(best.optimizer.steps <= m.optimizer.steps);
  CHECK(std::stod(best_info.metadata.at("best_val")) == std::stod(info.metadata.at("best_val")));
  // Generation works both ways from a stacked model.
  for (const char* mode : {"--stateful", "--window"}) {
    const auto g = run_cli(std::string("generate --length 40 --seed 3 ") + mode + " --model " +
                           quote(dir / "d.best.safetensors"));
    INFO(g.err);
    CHECK(g.exit_code == 0);
    CHECK(g.out.size() > 40);
  }
  const auto eval = run_cli("eval --model " + quote(dir / "d.safetensors") + " --corpus " +
                            quote(dir / "corpus.txt"));
  CHECK(eval.exit_code == 0);
  CHECK_THAT(eval.out, Catch::Contains("(sequence mode)"));
  // A flag that contradicts the checkpoint is refused on resume.
  const auto bad =
      run_cli("train --resume " + quote(dir / "d.safetensors") + " --optimizer rmsprop");
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("--optimizer rmsprop differs from the checkpoint's adam"));
}

TEST_CASE("A prime with unknown characters is an error that lists them", "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  REQUIRE(run_cli("train " + small_flags(dir) + " --epochs 1 --out " + quote(dir / "m.safetensors"))
              .exit_code == 0);
  const auto bad =
      run_cli("generate --model " + quote(dir / "m.safetensors") + " --prime 'the {#} \xce\xa9'");
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err,
             Catch::Contains("--prime has 4 character(s) outside the model's vocabulary") &&
                 Catch::Contains("U+007B '{'") && Catch::Contains("U+0023 '#'") &&
                 Catch::Contains("U+03C9 'ω'") && Catch::Contains("--drop-unknown"));
  CHECK(bad.out.empty());
  const auto dropped = run_cli("generate --drop-unknown --length 10 --model " +
                               quote(dir / "m.safetensors") + " --prime 'the {#} \xce\xa9'");
  CHECK(dropped.exit_code == 0);
  CHECK_THAT(dropped.out, Catch::StartsWith("the  "));
}

TEST_CASE("Bad flags and files are clear errors with a non-zero exit", "[cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  const std::string train = "train --out " + quote(dir / "m.safetensors") + " --corpus " +
                            quote(dir / "corpus.txt") + " ";
  const std::pair<std::string, std::string> cases[] = {
      {train + "--step 0", "--step must be at least 1"},
      {train + "--maxlen 0", "--maxlen must be in [1, 100000]"},
      {train + "--mode window --maxlen 5000", "fewer than maxlen + 1"},
      {train + "--maxlen 5000", "fewer than maxlen + 1"},
      {train + "--mode words", "--mode must be sequence or window"},
      {train + "--optimizer sgd", "--optimizer must be rmsprop or adam"},
      {train + "--seq-len 0", "--seq-len must be in [1, 100000]"},
      {train + "--layers 0", "--layers must be in [1, 16]"},
      {train + "--dropout 0.5", "--dropout acts between stacked layers"},
      {train + "--layers 2 --dropout 1", "--dropout must be in [0, 1)"},
      {train + "--lr-decay 0", "--lr-decay must be in (0, 1]"},
      {train + "--patience -1", "--patience must be >= 0"},
      {train + "--batch 5000", "too few for 5000 streams"},
      {train + "--val-fraction 1", "--val-fraction must be in [0, 1)"},
      {train + "--val-fraction nan", "--val-fraction must be in [0, 1)"},
      {train + "--lr -1", "--lr must be a positive finite number"},
      {train + "--threads 0", "--threads must be in [1, 256]"},
      {train + "--hidden 0", "--hidden must be in [1, 16384]"},
      {train + "--temperatures 0.5,-1", "temperature must be a finite number >= 0"},
      {train + "--temperatures 0.5,abc", "'abc' is not a number"},
      {train + "--epochs 0", "--epochs must be at least 1"},
      {"train --corpus " + quote(dir / "missing.txt") + " --out x",
       "is neither a readable file nor a known name"},
      {"train --corpus " + quote(dir / "corpus.txt"), "give --out MODEL"},
      {"generate --model " + quote(dir / "missing.safetensors"), "cannot open checkpoint"},
      {"generate --model " + quote(dir.path), "is a directory"},
      {"generate --model " + quote(dir / "corpus.txt"), "not a valid charlstm checkpoint"},
      {"generate --model x --temperature -1", "temperature must be"},
      {"train --no-such-flag", "--no-such-flag"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_cli(args);
    INFO(args << "\nstderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err + r.out, Catch::Contains(message));
  }
}

TEST_CASE("stats prints the Simpsons notebook's statistics, lowercased as train reads", "[cli]") {
  // The notebook's numbers on the whole file, from /usr/bin/python3 (text.lower(), then
  // text.split(), split('\n\n'), np.average): the averages as Python prints them.
  const auto r = run_cli("stats --corpus moes_tavern", test_support::with_data_dir());
  REQUIRE(r.exit_code == 0);
  const std::string notebook =
      "Dataset Stats\n"
      "Roughly the number of unique words: 10353\n"
      "Number of scenes: 263\n"
      "Average number of sentences in each scene: 15.190114068441064\n"
      "Number of lines: 4258\n"
      "Average number of words in each line: 11.504462188821043\n";
  CHECK_THAT(r.out, Catch::Contains(notebook));
  CHECK_THAT(r.out, Catch::Contains("(lowercased)"));
  // --no-lowercase keeps the case, as train --no-lowercase: Python's len(set(text.split())).
  const auto kept =
      run_cli("stats --no-lowercase --corpus moes_tavern", test_support::with_data_dir());
  REQUIRE(kept.exit_code == 0);
  CHECK_THAT(kept.out, Catch::Contains("Roughly the number of unique words: 11501\n") &&
                           Catch::Contains("(case kept)"));
}
