// The Simpsons notebook's dataset statistics, printed as the notebook prints them.  The expected
// figures are Python's: /usr/bin/python3 running the notebook's cell on
// ../shared/data/moes_tavern_lines.txt lowercased (text.lower(); len({w: None for w in
// text.split()}), text.split('\n\n'), np.average of scene.count('\n') and of len(line.split())).
#include <catch2/catch.hpp>
#include <charlstm/corpus.hpp>
#include <charlstm/statistics.hpp>
#include <string>
#include <utility>

#include "support/check.hpp"

TEST_CASE("python_repr writes a double as Python's repr() does", "[statistics]") {
  // Each pair: a double and repr() of it in Python 3.11.
  const std::pair<double, const char*> cases[] = {
      {0.1, "0.1"},
      {1e16, "1e+16"},
      {1e-05, "1e-05"},
      {123456789.0, "123456789.0"},
      {1.5e-7, "1.5e-07"},
      {1e22, "1e+22"},
      {0.0001, "0.0001"},
      {2.0 / 3, "0.6666666666666666"},
      {-0.0, "-0.0"},
      {1e15, "1000000000000000.0"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {3995.0 / 263, "15.190114068441064"},
      {48986.0 / 4258, "11.504462188821043"},
      {100.0, "100.0"},
      {-2.5e-5, "-2.5e-05"},
  };
  for (const auto& [value, expected] : cases) CHECK(charlstm::python_repr(value) == expected);
}

TEST_CASE("Moe's Tavern lowercased has the notebook's figures, to full precision", "[statistics]") {
  const std::u32string text =
      charlstm::load_text(test_support::data_path("moes_tavern_lines.txt"), /*lower=*/true);
  const charlstm::text_statistics s = charlstm::statistics(text);
  CHECK(s.unique_words == 10353);
  CHECK(s.scenes == 263);
  CHECK(s.lines == 4258);
  CHECK(charlstm::python_repr(s.lines_per_scene) == "15.190114068441064");
  CHECK(charlstm::python_repr(s.words_per_line) == "11.504462188821043");
  CHECK(charlstm::notebook_statistics(s) ==
        "Dataset Stats\n"
        "Roughly the number of unique words: 10353\n"
        "Number of scenes: 263\n"
        "Average number of sentences in each scene: 15.190114068441064\n"
        "Number of lines: 4258\n"
        "Average number of words in each line: 11.504462188821043\n");

  // With the case kept, as the notebook's figures were before it lowercased: more words.
  const charlstm::text_statistics kept = charlstm::statistics(
      charlstm::load_text(test_support::data_path("moes_tavern_lines.txt"), /*lower=*/false));
  CHECK(kept.unique_words == 11501);
  CHECK(kept.scenes == 263);
}
