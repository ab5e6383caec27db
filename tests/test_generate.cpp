// Generation beyond the book: batched streams, the word level, multilingual characters, the
// embedding API (charlstm::generator and its example program) and the CLI's sampling flags.
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "support/check.hpp"
#include "support/run.hpp"

using isize = charlstm::index;  // a bare `index` would clash with POSIX index()
using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;

namespace {

// German and Greek, with a few capitals and punctuation: code points up to U+1F00.
const std::u32string multilingual =
    U"Größe und Übermaß: Äpfel, Öl, Straße. Ἀρχὴ ἥμισυ παντός. Γνῶθι σεαυτόν! Μηδὲν ἄγαν.\n";

// A small script in the Moe's Tavern layout, for the word level.
std::string tavern_script() {
  const char* lines[] = {"Moe_Szyslak: Hey, Homer! (pause) \"What?\" -- no.\n",
                         "Homer_Simpson: A beer, Moe; a cold one.\n",
                         "Barney_Gumble: Can I have a beer too?\n", "\n"};
  std::string text;
  for (int k = 0; text.size() < 3000; ++k) text += lines[k % 4];
  return text;
}

// A character model trained briefly on `text` (windows of T, every step), saved to `path`.
void train_and_save(const std::u32string& text, const std::string& path, int steps) {
  const charlstm::char_vocabulary vocab(text);
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  charlstm::model<float> m(vocab.size(), 24, 5);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::rmsprop, m.params);
  charlstm::parameters<float> grads(m.params);
  const isize T = 12, B = 8;
  std::vector<charlstm::token_id> batch(static_cast<std::size_t>(T * B)), targets(B);
  auto gather = [&](int s) {
    for (isize b = 0; b < B; ++b) {
      const auto start = static_cast<std::size_t>((s * B + b) * 5) % (ids.size() - T - 1);
      for (isize t = 0; t < T; ++t) batch[static_cast<std::size_t>(t * B + b)] = ids[start + t];
      targets[static_cast<std::size_t>(b)] = ids[start + T];
    }
  };
  gather(0);
  const float before = m.loss(batch.data(), targets.data(), T, B);
  for (int s = 0; s < steps; ++s) {
    gather(s);
    m.forward_backward(grads, batch.data(), targets.data(), T, B);
    opt.step(m.params, grads);
  }
  gather(0);
  CHECK(m.loss(batch.data(), targets.data(), T, B) < before);  // it learned something
  charlstm::save_checkpoint(path, m, opt,
                            {vocab,
                             {{"lowercase", "0"},
                              {"maxlen", std::to_string(T)},
                              {"sample_window", charlstm::encode_utf8(text.substr(0, T))}}});
}

}  // namespace

TEST_CASE("A batched step equals each stream stepped alone", "[generate]") {
  for (isize layers : {1, 2}) {
  charlstm::model<double> m(7, 5, 3, layers);
  const isize B = 3, steps = 6;
  const auto ids = test_support::random_ids(B * steps, 7, 11);
  charlstm::batch_state<double> batch = m.initial_batch_state(B);
  std::vector<charlstm::lstm_state<double>> alone(B, m.initial_state());
  for (isize t = 0; t < steps; ++t) {
    m.feed_batch(batch, ids.data() + t * B);
    for (isize b = 0; b < B; ++b) m.feed(alone[static_cast<std::size_t>(b)], ids[t * B + b]);
  }
  const charlstm::matrix<double>& probs = m.batch_probabilities(batch);
  for (isize b = 0; b < B; ++b) {
    auto& s = alone[static_cast<std::size_t>(b)];
    const std::vector<double> p = m.probabilities(s);
    for (std::size_t l = 0; l < s.h.size(); ++l) {
      CHECK(test_support::compare(batch.h[l].col(b), s.h[l]).error < 1e-12);
      CHECK(test_support::compare(batch.c[l].col(b), s.c[l]).error < 1e-12);
    }
    CHECK(test_support::compare(probs.col(b).data(), p.data(), 7).error < 1e-12);
  }
  }
}

TEST_CASE("One stream's state and logits have the same bits alone or in a batch of one or three",
          "[generate]") {
  // float and H 128 (4H is whole register tiles of gemm): the one-stream step (lstm_step_fused,
  // model::feed and feed_batch with one stream) chains each gate's sum as gemm does for a column
  // of the batched step, so a stream's text cannot depend on how it is batched.
  for (isize layers : {1, 2}) {
    charlstm::model<float> m(57, 128, 5, layers);
    const isize steps = 30;
    const auto ids = test_support::random_ids(3 * steps, 57, 23);
    charlstm::batch_state<float> three = m.initial_batch_state(3), one = m.initial_batch_state(1);
    charlstm::lstm_state<float> alone = m.initial_state();
    for (isize t = 0; t < steps; ++t) {
      m.feed_batch(three, ids.data() + 3 * t);
      m.feed_batch(one, ids.data() + 3 * t + 1);
      m.feed(alone, ids[static_cast<std::size_t>(3 * t + 1)]);
    }
    for (std::size_t l = 0; l < alone.h.size(); ++l) {
      INFO("layers " << layers << ", layer " << l);
      CHECK((three.h[l].col(1).array() == alone.h[l].array()).all());
      CHECK((three.c[l].col(1).array() == alone.c[l].array()).all());
      CHECK((one.h[l].col(0).array() == alone.h[l].array()).all());
      CHECK((one.c[l].col(0).array() == alone.c[l].array()).all());
      CHECK(alone.h[l].cwiseAbs().maxCoeff() > 0.01f);  // a state that moved
    }
    // The logits too (gemv_chained, column by column).
    const charlstm::vector<float> single = m.logits(alone);
    CHECK((m.batch_logits(three).col(1).array() == single.array()).all());
    CHECK((m.batch_logits(one).col(0).array() == single.array()).all());
  }
}

TEST_CASE("generate_batch: one batch, each stream reproducible from its own engine", "[generate]") {
  const charlstm::char_vocabulary vocab(std::u32string(U"abcdefghijk"));
  charlstm::model<double> m(vocab.size(), 8, 4);
  const std::vector<charlstm::token_id> prime = {1, 2, 3, 4};
  const std::vector<charlstm::sampling_options> options = {{0.7, 0, 1}, {1.0, 3, 1}, {1.2, 0, 0.9}};
  auto run = [&](std::vector<charlstm::sampling_options> opts, std::vector<std::uint64_t> seeds) {
    std::vector<std::mt19937_64> engines;
    for (auto s : seeds) engines.emplace_back(s);
    std::vector<std::vector<charlstm::token_id>> out(opts.size());
    charlstm::generate_batch(m, prime, 40, opts, engines, [&](isize b, charlstm::token_id id) {
      out[static_cast<std::size_t>(b)].push_back(id);
      return true;
    });
    return out;
  };
  const auto a = run(options, {10, 11, 12});
  CHECK(a == run(options, {10, 11, 12}));
  CHECK(a != run(options, {10, 11, 13}));
  for (const auto& stream : a) CHECK(stream.size() == 40);
  // Stream 1 alone, with its engine, gives the same tokens as inside the batch.
  CHECK(run({options[1]}, {11})[0] == a[1]);
  // One stream at one temperature is the library's stateful loop.
  std::mt19937_64 engine(10);
  const std::u32string text =
      charlstm::generate_stateful(m, vocab, vocab.decode(prime), 40, 0.7, engine);
  CHECK(vocab.decode(a[0]) == text);
  // A stream ends when the callback says so; the others go on.
  std::vector<std::mt19937_64> engines = {std::mt19937_64(1), std::mt19937_64(2)};
  std::vector<int> counts(2, 0);
  charlstm::generate_batch(m, prime, 30, {options[0], options[1]}, engines,
                           [&](isize b, charlstm::token_id) {
                             return ++counts[static_cast<std::size_t>(b)] < (b == 0 ? 5 : 100);
                           });
  CHECK(counts == std::vector<int>{5, 30});
}

TEST_CASE("Word tokens: named punctuation, a capped vocabulary, readable decoding", "[generate]") {
  const std::u32string text =
      U"moe_szyslak: hey, homer! (pause) \"what?\" -- ok.\nhomer_simpson: no; yes.\n";
  const std::vector<std::u32string> expected = {U"moe_szyslak:",
                                                U"hey",
                                                U"||comma||",
                                                U"homer",
                                                U"||exclamation_mark||",
                                                U"||left_parentheses||",
                                                U"pause",
                                                U"||right_parentheses||",
                                                U"||quotation_mark||",
                                                U"what",
                                                U"||question_mark||",
                                                U"||quotation_mark||",
                                                U"||dash||",
                                                U"ok",
                                                U"||period||",
                                                U"||return||",
                                                U"homer_simpson:",
                                                U"no",
                                                U"||semicolon||",
                                                U"yes",
                                                U"||period||",
                                                U"||return||"};
  CHECK(charlstm::tokenize_words(text) == expected);
  const charlstm::token_vocabulary vocab = charlstm::word_vocabulary(text, 1000);
  CHECK(vocab.kind() == charlstm::token_kind::word);
  CHECK(vocab.as_words().words[0] == charlstm::unknown_word());
  // Every token kept; decoding gives the text back, spacing and newlines included.
  CHECK(vocab.size() == 20);  // 19 distinct tokens and <unk>
  const auto ids = charlstm::encode_text(vocab, text, false, "text");
  CHECK(ids.size() == expected.size());
  CHECK(charlstm::decode_text(vocab, ids) == text);
  // Streamed pieces concatenate to the same text.
  charlstm::detokenizer d(vocab);
  std::u32string streamed;
  for (auto id : ids) streamed += d.piece(id);
  CHECK(streamed == text);

  // The cap keeps the most frequent words; the rest become the unknown-word token.
  const charlstm::word_vocabulary small(U"a a a b b c d", 3);
  CHECK(small.words == std::vector<std::u32string>{U"<unk>", U"a", U"b"});
  const auto some = charlstm::encode_text(small, U"a c b", false, "text");
  CHECK(some == std::vector<charlstm::token_id>{1, 0, 2});
  CHECK(charlstm::decode_text(small, some) == U"a <unk> b");
  CHECK(charlstm::encode_text(small, U"a c b", true, "text") ==
        std::vector<charlstm::token_id>{1, 2});
  CHECK_THROWS_WITH(charlstm::word_vocabulary(U"a b", 1), Catch::Contains("--max-vocab"));
}

TEST_CASE("Checkpoints record the token kind and old ones load as characters", "[generate]") {
  const charlstm::word_vocabulary words(U"hey, moe. hey homer!\n", 100);
  charlstm::model<float> m(words.size(), 4, 1);
  charlstm::checkpoint_info info;
  charlstm::parse_checkpoint<float>(charlstm::checkpoint_bytes(m, {words, {}}), info, "words");
  CHECK(info.metadata.at("tokens") == "word");
  CHECK(info.vocab.kind() == charlstm::token_kind::word);
  CHECK(info.vocab.as_words().words == words.words);
  CHECK(info.vocab.as_words().word_ids.at(U"moe") == words.word_ids.at(U"moe"));

  const charlstm::char_vocabulary chars(std::u32string(U"abcß"));
  charlstm::model<float> c(chars.size(), 4, 1);
  std::string bytes = charlstm::checkpoint_bytes(c, {chars, {}});
  // A checkpoint from before token kinds: the same header without the "tokens" entry (blanked
  // with spaces, which JSON ignores, so the header's length and the offsets stay).
  const std::string entry = "\"tokens\":\"char\",";
  const auto at = bytes.find(entry);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, entry.size(), std::string(entry.size(), ' '));
  charlstm::parse_checkpoint<float>(bytes, info, "old");
  CHECK(info.metadata.count("tokens") == 0);
  CHECK(info.vocab.kind() == charlstm::token_kind::character);
  CHECK(info.vocab.as_chars().symbols == chars.symbols);

  bytes.replace(at, entry.size(), "\"tokens\":\"byte\",");
  CHECK_THROWS_WITH(charlstm::parse_checkpoint<float>(bytes, info, "bad"),
                    Catch::Contains("tokens is 'byte'"));
}

TEST_CASE("German and Greek: code points round-trip, train, and generate valid UTF-8",
          "[generate]") {
  std::u32string text;
  while (text.size() < 1500) text += multilingual;
  const charlstm::char_vocabulary vocab(text);
  CHECK(vocab.contains(U'ß'));
  CHECK(vocab.contains(U'ῶ'));
  CHECK(vocab.decode(vocab.encode(text)) == text);
  CHECK(charlstm::decode_utf8(charlstm::encode_utf8(text)) == text);

  temp_dir dir;
  train_and_save(text, dir / "m.safetensors", 60);
  charlstm::generator::options o;
  o.prime = "Größe und Ἀρχὴ";
  o.seed = 3;
  charlstm::generator g(dir / "m.safetensors", o);
  CHECK(g.prime() == o.prime);
  const std::string out = g.generate(300);
  const std::u32string decoded = charlstm::decode_utf8(out, "generated");  // throws if invalid
  CHECK(decoded.size() == 300);
  for (char32_t c : decoded) CHECK(vocab.contains(c));
}

TEST_CASE("charlstm::generator streams what generate returns, reproducibly", "[generate]") {
  std::u32string text;
  while (text.size() < 1500) text += multilingual;
  temp_dir dir;
  train_and_save(text, dir / "m.safetensors", 60);
  charlstm::generator::options o;
  o.prime = "Öl, ";
  o.sampling = {0.8, 0, 1};
  o.seed = 9;
  charlstm::generator a(dir / "m.safetensors", o), b(dir / "m.safetensors", o);
  std::string pieces;
  for (int k = 0; k < 100; ++k) pieces += a.next_token();
  std::string streamed;
  CHECK(b.generate(100, [&](const std::string& p) { streamed += p; }) == pieces);
  CHECK(streamed == pieces);
  // The library's stateful loop with the same engine gives the same characters.
  charlstm::checkpoint_info info;
  charlstm::model<float> m = charlstm::load_checkpoint<float>(dir / "m.safetensors", info);
  std::mt19937_64 engine(9);
  CHECK(charlstm::encode_utf8(charlstm::generate_stateful(m, info.vocab.as_chars(), U"Öl, ", 100,
                                                          0.8, engine)) == pieces);
  o.seed = 10;
  charlstm::generator other(dir / "m.safetensors", o);
  CHECK(other.generate(100) != pieces);
  // Bad input is a charlstm::error.
  o.prime = "日本";
  CHECK_THROWS_WITH(charlstm::generator(dir / "m.safetensors", o),
                    Catch::Contains("outside the model's vocabulary"));
  o.prime = "Öl";
  o.sampling.top_p = 0;
  CHECK_THROWS_WITH(charlstm::generator(dir / "m.safetensors", o), Catch::Contains("top-p"));
}

TEST_CASE("The embedding example prints what charlstm::generator yields", "[generate]") {
  std::u32string text;
  while (text.size() < 1500) text += multilingual;
  temp_dir dir;
  train_and_save(text, dir / "m.safetensors", 60);
  const std::string command = std::string(CHARLSTM_GENERATOR_EXAMPLE) + " " +
                              quote(dir / "m.safetensors") + " 'Straße' 60 >" +
                              quote(dir / "out.txt");
  REQUIRE(std::system(command.c_str()) == 0);
  charlstm::generator::options o;  // the example's settings
  o.prime = "Straße";
  o.sampling.temperature = 0.5;
  o.sampling.top_k = 20;
  o.seed = 42;
  charlstm::generator g(dir / "m.safetensors", o);
  const std::string expected = g.prime() + g.generate(60) + "\n";
  CHECK(charlstm::read_file_bytes(dir / "out.txt") == expected);
}

TEST_CASE("CLI: word models, sampling flags, batches, --stop, --out, seeds", "[generate][cli]") {
  temp_dir dir;
  test_support::write_text(dir / "moe.txt", tavern_script());
  const auto trained = run_cli("train --corpus " + quote(dir / "moe.txt") +
                               " --tokens word --max-vocab 20 --maxlen 8 --step 2 --hidden 16"
                               " --batch 16 --epochs 1 --sample-length 10 --threads 1 --out " +
                               quote(dir / "w.safetensors"));
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.err, Catch::Contains("word tokens, 20 symbols"));
  // A word model's losses are per word, never per character.
  CHECK(std::regex_search(trained.err,
                          std::regex(R"(loss: \d+\.\d{4} nats/word \(\d+\.\d{4} )"
                                     R"(bits/word\) - val_loss: \d+\.\d{4} nats/word)")));
  CHECK(trained.err.find("nats/char") == std::string::npos);
  CHECK(trained.err.find("bits/char") == std::string::npos);
  CHECK(trained.out.empty());
  charlstm::checkpoint_info info;
  charlstm::load_checkpoint<float>(dir / "w.safetensors", info);
  CHECK(info.vocab.kind() == charlstm::token_kind::word);
  CHECK(info.vocab.size() == 20);

  const std::string model = " --model " + quote(dir / "w.safetensors");
  const std::string base = "generate --length 40 --prime 'Moe_Szyslak: Hey, Homer!'" + model;
  const auto a = run_cli(base + " --seed 5");
  const auto b = run_cli(base + " --seed 5");
  const auto c = run_cli(base + " --seed 6");
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  CHECK_THAT(a.out, Catch::StartsWith("moe_szyslak: hey, homer!"));
  CHECK_THAT(a.err, Catch::Contains("generated 40 tokens in 1 sample(s)"));

  // Two temperatures times three samples: six labelled samples from one batch.
  const auto many = run_cli(base + " --seed 5 --temperature 0.5,1.0 --num-samples 3 --top-k 5");
  REQUIRE(many.exit_code == 0);
  for (const char* t : {"0.5", "1"}) {
    for (const char* n : {"1/3", "2/3", "3/3"}) {
      CHECK_THAT(many.out, Catch::Contains(std::string("------ temperature: ") + t + ", sample " +
                                           n + "\nmoe_szyslak: hey, homer!"));
    }
  }
  // Sample 1 at the first temperature uses the seed's own engine, as a single sample does
  // (top-k 5 changes the draws, so compare with a single run with the same flags).
  const auto single = run_cli(base + " --seed 5 --temperature 0.5 --top-k 5");
  CHECK_THAT(many.out, Catch::Contains("sample 1/3\n" + single.out));

  // Greedy: every sample is the same (--stop is tested below, on a model made to produce it).
  const auto greedy = run_cli(base + " --greedy --num-samples 2");
  REQUIRE(greedy.exit_code == 0);
  const std::regex labelled(R"(------ temperature: 0, sample (\d)/2\n([^\n]*)\n)");
  std::vector<std::string> texts;
  for (auto it = std::sregex_iterator(greedy.out.begin(), greedy.out.end(), labelled);
       it != std::sregex_iterator(); ++it) {
    texts.push_back((*it)[2]);
  }
  REQUIRE(texts.size() == 2);
  CHECK(texts[0] == texts[1]);

  // --out writes the same text to a file, nothing to stdout.
  const auto to_file = run_cli(base + " --seed 5 --out " + quote(dir / "sample.txt"));
  REQUIRE(to_file.exit_code == 0);
  CHECK(to_file.out.empty());
  CHECK(charlstm::read_file_bytes(dir / "sample.txt") == a.out);

  const auto stats = run_cli("stats --max-vocab 20 --corpus " + quote(dir / "moe.txt"));
  REQUIRE(stats.exit_code == 0);
  CHECK_THAT(stats.out, Catch::Contains("Word vocabulary at --max-vocab 20: 20 tokens"));
  CHECK(std::regex_search(
      stats.out,
      std::regex(R"(Word tokens \(lowercased, punctuation as named tokens\): \d+, 27 unique)")));

  for (const auto& bad : std::vector<std::pair<std::string, std::string>>{
           {base + " --top-k -1", "top-k must be >= 0"},
           {base + " --top-p 1.5", "top-p must be in (0, 1]"},
           {base + " --num-samples 0", "--num-samples must be in [1, 4096]"},
           {base + " --temperature 0.5,x", "--temperature: 'x' is not a number"},
           {base + " --out " + quote(dir / "no/such/dir/x.txt"), "does not exist: create it first"},
           {"train --tokens bytes --corpus " + quote(dir / "moe.txt") + " --out x",
            "--tokens must be char or word"}}) {
    const auto r = run_cli(bad.first);
    INFO(bad.first);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(bad.second));
  }
}

TEST_CASE("CLI: --stop ends every sample right after the stop string the model produces",
          "[generate][cli]") {
  // One sentence, repeated: the model learns it, so its greedy continuation of "the cat" holds
  // "mat." (asserted, not assumed).  The stop string spans several tokens and is not in the prime.
  temp_dir dir;
  std::string text;
  while (text.size() < 3000) text += "the cat sat on the mat. ";
  test_support::write_text(dir / "corpus.txt", text);
  const auto trained = run_cli("train --corpus " + quote(dir / "corpus.txt") +
                               " --hidden 32 --batch 16 --seq-len 20 --epochs 20 --sample-length 0"
                               " --threads 1 --val-fraction 0 --out " +
                               quote(dir / "m.safetensors"));
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);
  const std::string prime = "the cat", stop = "mat.";
  for (const std::string mode : {" --stateful", " --window"}) {
    const std::string base = "generate --greedy --length 80 --prime '" + prime + "'" + mode +
                             " --model " + quote(dir / "m.safetensors");
    const auto plain = run_cli(base);
    INFO(mode << "\n" << plain.out << plain.err);
    REQUIRE(plain.exit_code == 0);
    REQUIRE(plain.out.size() == prime.size() + 80 + 1);  // the prime, 80 characters, a newline
    const std::string generated = plain.out.substr(prime.size(), 80);
    const std::size_t at = generated.find(stop);
    REQUIRE(at != std::string::npos);
    // The first occurrence ends the sample: the same text, cut right after it.
    const std::string cut = prime + generated.substr(0, at + stop.size());
    const auto stopped = run_cli(base + " --stop '" + stop + "'");
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.out == cut + "\n");
    CHECK_THAT(stopped.err, Catch::Contains("generated " + std::to_string(at + stop.size()) +
                                            " characters in 1 sample(s)"));
    // Each sample of a batch ends at its own stop, labelled.
    const auto batch = run_cli(base + " --stop '" + stop + "' --num-samples 2");
    CHECK(batch.exit_code == 0);
    CHECK(batch.out == "------ temperature: 0, sample 1/2\n" + cut + "\n" +
                           "------ temperature: 0, sample 2/2\n" + cut + "\n");
  }
}
