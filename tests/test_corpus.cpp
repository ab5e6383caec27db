// Corpus, vocabulary and the book's windows.
#include <catch2/catch.hpp>
#include <charlstm/corpus.hpp>
#include <charlstm/lowercase.hpp>
#include <charlstm/utf8.hpp>
#include <charlstm/vectorizer.hpp>
#include <charlstm/vocabulary.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/check.hpp"
#include "support/run.hpp"

using charlstm::token_id;
using isize = charlstm::index;  // a bare `index` would clash with POSIX index()

TEST_CASE("The book's vocabularies: 57 symbols for Nietzsche, 65 for Moe's Tavern", "[corpus]") {
  const auto nietzsche = charlstm::load_text(test_support::data_path("nietzsche.txt"), true);
  CHECK(nietzsche.size() == 600885);  // code points; Python's len(text) on this copy
  CHECK(charlstm::char_vocabulary(nietzsche).size() == 57);
  const auto moe = charlstm::load_text(test_support::data_path("moes_tavern_lines.txt"), true);
  CHECK(charlstm::char_vocabulary(moe).size() == 65);
}

TEST_CASE("Lowercasing and the vocabulary agree with Python on the three corpora", "[corpus]") {
  // tools/make_fixtures.py wrote Python's sorted(set(text.lower())) and every code point that
  // str.lower() changes, with its lowercase, for each corpus.
  const auto f = test_support::load_fixture(test_support::fixture_path("lowercase_vocab.txt"));
  for (std::string stem : {"nietzsche", "moes_tavern_lines", "tinyshakespeare"}) {
    INFO(stem);
    const auto raw = charlstm::load_text(test_support::data_path(stem + ".txt"), false);
    const auto lower = charlstm::lowercase(raw);
    CHECK(static_cast<double>(lower.size()) == f[stem + "_len_lower"].scalar());
    for (auto [text, name] : {std::pair{&raw, stem + "_vocab"}, {&lower, stem + "_vocab_lower"}}) {
      const charlstm::char_vocabulary vocab(*text);
      const auto& expected = f[name].values;
      REQUIRE(vocab.symbols.size() == expected.size());
      for (std::size_t k = 0; k < expected.size(); ++k) {
        CHECK(static_cast<double>(vocab.symbols[k]) == expected[k]);
      }
    }
    const auto& map = f[stem + "_lower_map"];
    for (std::size_t k = 0; k + 1 < map.values.size(); k += 2) {
      const auto c = static_cast<char32_t>(map.values[k]);
      CHECK(static_cast<double>(charlstm::to_lower(c)) == map.values[k + 1]);
    }
  }
}

TEST_CASE("UTF-8 decoding round-trips and names the offset of bad bytes", "[corpus]") {
  const std::string text =
      u8"Zarathustra sprach: \u00dcber-Mensch, \u03b1\u03b2\u03b3, \U0001F600.";
  const std::u32string decoded = charlstm::decode_utf8(text);
  CHECK(decoded.size() == 40);
  CHECK(charlstm::encode_utf8(decoded) == text);

  auto message_of = [](const std::string& bytes) {
    try {
      charlstm::decode_utf8(bytes, "sample.txt");
    } catch (const charlstm::error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message_of("abc\xff"), Catch::Contains("sample.txt: invalid UTF-8 at byte offset 3"));
  CHECK_THAT(message_of("ab\xc3"),
             Catch::Contains("byte offset 2") && Catch::Contains("truncated"));
  CHECK_THAT(message_of("a\xc0\xaf"), Catch::Contains("overlong"));
  CHECK_THAT(message_of("\xed\xa0\x80"), Catch::Contains("surrogate"));
  CHECK_THAT(message_of("\xf4\x90\x80\x80"), Catch::Contains("above U+10FFFF"));
  CHECK_THAT(message_of("ok\xe2\x82x"), Catch::Contains("continuation byte"));
}

TEST_CASE("A missing file is a clear error", "[corpus]") {
  CHECK_THROWS_WITH(charlstm::load_text("/nonexistent/corpus.txt", false),
                    Catch::Contains("cannot open '/nonexistent/corpus.txt'"));
}

TEST_CASE("A corpus of several files and a folder, in order, joined by a blank line", "[corpus]") {
  test_support::temp_dir dir;
  test_support::write_text(dir / "one.txt", "First File.\n");
  test_support::write_text(dir / "two.txt", "second");
  ::mkdir((dir / "folder").c_str(), 0755);
  // Byte-wise order: 'B' (0x42) < 'a' (0x61) < 'b' < '\xc3' (the first byte of 'e-acute').
  test_support::write_text(dir / "folder/b.txt", "bee");
  test_support::write_text(dir / "folder/\xc3\xa9.txt", "\xc3\xa9t\xc3\xa9");
  test_support::write_text(dir / "folder/a.txt", "ay");
  test_support::write_text(dir / "folder/B.txt", "Big");
  test_support::write_text(dir / "folder/.hidden.txt", "HIDDEN");
  ::mkdir((dir / "folder/sub").c_str(), 0755);
  test_support::write_text(dir / "folder/sub/inner.txt", "INNER");

  const std::vector<std::string> files =
      charlstm::corpus_files({dir / "one.txt", dir / "folder", dir / "two.txt"});
  const std::vector<std::string> expected = {
      dir / "one.txt",      dir / "folder/B.txt",        dir / "folder/a.txt",
      dir / "folder/b.txt", dir / "folder/\xc3\xa9.txt", dir / "two.txt"};
  CHECK(files == expected);
  // A folder named with a trailing slash lists the same files, without a doubled slash.
  CHECK(charlstm::corpus_files({dir / "folder/"}).front() == dir / "folder/B.txt");
  CHECK(charlstm::load_corpus(files, false) ==
        U"First File.\n\n\nBig\n\nay\n\nbee\n\n\u00e9t\u00e9\n\nsecond");
  CHECK(charlstm::load_corpus(files, true) ==
        U"first file.\n\n\nbig\n\nay\n\nbee\n\n\u00e9t\u00e9\n\nsecond");
  // One file is its text alone, as before several were possible.
  CHECK(charlstm::load_corpus({dir / "two.txt"}, false) == U"second");
  CHECK(charlstm::load_text(dir / "one.txt", true) == U"first file.\n");
}

TEST_CASE("A corpus refuses a binary file, an empty folder and standard input twice", "[corpus]") {
  test_support::temp_dir dir;
  ::mkdir((dir / "folder").c_str(), 0755);
  test_support::write_text(dir / "folder/.only_hidden", "text");
  CHECK_THROWS_WITH(
      charlstm::corpus_files({dir / "folder"}),
      Catch::Contains("the corpus folder '" + dir / "folder" + "' has no file to read"));
  test_support::write_text(dir / "folder/a.txt", "text");
  test_support::write_text(dir / "folder/b.bin", std::string("\177ELF\002\001\000\000", 8));
  const std::vector<std::string> files = charlstm::corpus_files({dir / "folder"});
  REQUIRE(files.size() == 2);
  CHECK_THROWS_WITH(charlstm::load_corpus(files, false),
                    Catch::Contains(dir / "folder/b.bin" + ": NUL byte at byte offset 6") &&
                        Catch::Contains("not a text file"));
  CHECK_THROWS_WITH(charlstm::corpus_files({"-", dir / "folder", "-"}),
                    Catch::Contains("'-' (standard input) twice"));
  // A missing path is kept: reading it says why it cannot be read.
  CHECK(charlstm::corpus_files({dir / "missing"}) == std::vector<std::string>{dir / "missing"});
  CHECK_THROWS_WITH(charlstm::load_corpus({dir / "missing"}, false),
                    Catch::Contains("cannot open '" + dir / "missing" + "'"));
}

TEST_CASE("The vocabulary encodes, decodes and rejects unknown characters", "[corpus]") {
  const std::u32string text = U"the cat sat on the mat";
  const charlstm::char_vocabulary vocab(text);
  CHECK(vocab.size() == 10);  // space a c e h m n o s t
  CHECK(vocab.symbols.front() == U' ');
  CHECK(vocab.decode(vocab.encode(text)) == text);
  CHECK_THROWS_WITH(vocab.id_of(U'z'), Catch::Contains("U+007A 'z' is not in the vocabulary"));
}

namespace {
// Whether V has a character lookup, symbol(id) -> char32_t.
template <class V, class = void>
struct has_symbol : std::false_type {};
template <class V>
struct has_symbol<V, std::void_t<decltype(std::declval<const V&>().symbol(token_id()))>>
    : std::true_type {};
}  // namespace

TEST_CASE("The two vocabularies are distinct types and a token_vocabulary refuses the wrong kind",
          "[corpus]") {
  // Only the character vocabulary has a character lookup; neither converts to the other, and a
  // detokenizer refuses a temporary it would outlive.
  static_assert(has_symbol<charlstm::char_vocabulary>::value, "characters have symbols");
  static_assert(!has_symbol<charlstm::word_vocabulary>::value, "words have no symbol()");
  static_assert(!has_symbol<charlstm::token_vocabulary>::value, "the sum has no symbol()");
  static_assert(!std::is_convertible<charlstm::word_vocabulary, charlstm::char_vocabulary>::value,
                "a word vocabulary is not a character vocabulary");
  static_assert(!std::is_convertible<charlstm::char_vocabulary, charlstm::word_vocabulary>::value,
                "a character vocabulary is not a word vocabulary");
  static_assert(!std::is_constructible<charlstm::detokenizer, charlstm::token_vocabulary&&>::value,
                "a detokenizer does not keep a pointer to a temporary");

  const std::u32string text = U"hey moe, hey homer!\n";
  const charlstm::word_vocabulary words_only(text, 100);
  const charlstm::token_vocabulary words = words_only;
  const charlstm::token_vocabulary chars = charlstm::char_vocabulary(text);
  CHECK(words.kind() == charlstm::token_kind::word);
  CHECK(chars.kind() == charlstm::token_kind::character);
  CHECK(words.size() == words_only.size());
  CHECK(chars.size() == static_cast<isize>(chars.as_chars().symbols.size()));
  // Asking a word vocabulary for characters (the unchecked union's symbol() read the empty
  // character table) or a character vocabulary for words throws.
  CHECK_THROWS_WITH(words.as_chars(), Catch::Contains("holds words, not characters"));
  CHECK_THROWS_WITH(chars.as_words(), Catch::Contains("holds characters, not words"));
  CHECK(chars.as_chars().symbol(chars.as_chars().id_of(U'm')) == U'm');
  CHECK(words.as_words().word(words.as_words().id_of(U"moe")) == U"moe");
  CHECK(words.as_words().id_of(U"bart") == charlstm::word_vocabulary::unknown_id);
  CHECK_THROWS_WITH(words_only.word(words_only.size()),
                    Catch::Contains("outside the word vocabulary"));
  // Through the sum, encoding and decoding are those of the vocabulary it holds.
  CHECK(charlstm::encode_text(words, text, false, "t") ==
        charlstm::encode_text(words_only, text, false, "t"));
  CHECK(charlstm::decode_text(words, charlstm::encode_text(words, text, false, "t")) ==
        charlstm::decode_text(words_only, charlstm::encode_text(words_only, text, false, "t")));
  CHECK(charlstm::decode_text(chars, charlstm::encode_text(chars, text, false, "t")) == text);
}

TEST_CASE("The book's windows: count, contents and targets", "[vectorizer]") {
  std::vector<token_id> ids(100);
  for (isize k = 0; k < 100; ++k) ids[static_cast<std::size_t>(k)] = static_cast<token_id>(k % 7);
  for (isize maxlen : {1, 10, 60, 99}) {
    for (isize step : {1, 3, 7}) {
      const auto windows = charlstm::make_windows(ids, maxlen, step);
      isize python_count = 0;  // len(range(0, len - maxlen, step))
      for (isize i = 0; i < 100 - maxlen; i += step) ++python_count;
      CHECK(windows.size() == python_count);
      const isize last = windows.size() - 1;
      CHECK(windows.window(last)[0] == ids[static_cast<std::size_t>(last * step)]);
      CHECK(windows.target(last) == ids[static_cast<std::size_t>(last * step + maxlen)]);
    }
  }
  CHECK_THROWS_WITH(charlstm::make_windows(ids, 100, 3), Catch::Contains("fewer than maxlen + 1"));
  CHECK_THROWS_WITH(charlstm::make_windows(ids, 10, 0), Catch::Contains("step must be positive"));
}

TEST_CASE("Nietzsche gives ceil((600885 - 60) / 3) = 200,275 windows", "[vectorizer]") {
  const auto text = charlstm::load_text(test_support::data_path("nietzsche.txt"), true);
  const charlstm::char_vocabulary vocab(text);
  const auto ids = vocab.encode(text);
  CHECK(charlstm::make_windows(ids, 60, 3).size() == 200275);
}

TEST_CASE("gather_batch is time-major and one_hot matches the windows", "[vectorizer]") {
  const std::vector<token_id> ids = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0};
  const auto windows = charlstm::make_windows(ids, 4, 2);
  REQUIRE(windows.size() == 4);
  const std::vector<isize> which = {3, 1};
  std::vector<token_id> batch(8), targets(2);
  charlstm::gather_batch(windows, which.data(), 2, batch.data(), targets.data());
  CHECK(batch == std::vector<token_id>{1, 2, 2, 3, 3, 4, 4, 0});
  CHECK(targets == std::vector<token_id>{0, 1});

  const auto arrays = charlstm::one_hot(windows, 5);
  CHECK(arrays.x.size() == 4 * 4 * 5);
  for (isize w = 0; w < 4; ++w) {
    for (isize t = 0; t < 4; ++t) {
      for (isize v = 0; v < 5; ++v) {
        const bool hot = windows.window(w)[t] == v;
        CHECK(arrays.x[static_cast<std::size_t>((w * 4 + t) * 5 + v)] == (hot ? 1 : 0));
      }
    }
    CHECK(arrays.y[static_cast<std::size_t>(w * 5 + windows.target(w))] == 1);
  }
}
