// lowercase() equals Python 3's str.lower() on every code point of Unicode, the final sigma
// included.  The expected values are Python's: tests/fixtures/python_lower.txt, written by
// /usr/bin/python3 tools/make_lowercase_table.py from str.lower() itself.
#include <catch2/catch.hpp>
#include <charlstm/lowercase.hpp>
#include <charlstm/utf8.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/check.hpp"

namespace {

struct python_lower {
  std::string version;                                  // the fixture's first line
  std::map<char32_t, std::u32string> map;               // code points str.lower() changes
  std::vector<std::pair<char32_t, char32_t>> probe[3];  // before, alone, after: final-form ranges
  std::vector<std::pair<std::u32string, std::u32string>> texts;
};

std::u32string read_code_points(std::istringstream& in) {
  std::u32string out;
  std::string hex;
  while (in >> hex && hex != ":") out += static_cast<char32_t>(std::stoul(hex, nullptr, 16));
  return out;
}

python_lower load() {
  std::ifstream file(test_support::fixture_path("python_lower.txt"));
  REQUIRE(file);
  python_lower f;
  std::string line;
  std::getline(file, f.version);
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string kind, a, b;
    in >> kind;
    if (kind == "map") {
      in >> a;
      f.map[static_cast<char32_t>(std::stoul(a, nullptr, 16))] = read_code_points(in);
    } else if (kind == "text") {
      std::u32string from = read_code_points(in);
      f.texts.emplace_back(from, read_code_points(in));
    } else {
      in >> a >> b;
      const int k = kind == "before" ? 0 : kind == "alone" ? 1 : kind == "after" ? 2 : -1;
      REQUIRE(k >= 0);
      f.probe[k].emplace_back(static_cast<char32_t>(std::stoul(a, nullptr, 16)),
                              static_cast<char32_t>(std::stoul(b, nullptr, 16)));
    }
  }
  return f;
}

bool in(const std::vector<std::pair<char32_t, char32_t>>& ranges, char32_t c) {
  for (const auto& r : ranges) {
    if (r.first <= c && c <= r.second) return true;
  }
  return false;
}

std::string hex(const std::u32string& s) {
  std::string out;
  char buf[16];
  for (char32_t c : s) {
    std::snprintf(buf, sizeof buf, "%s%04X", out.empty() ? "" : " ", static_cast<unsigned>(c));
    out += buf;
  }
  return out;
}

}  // namespace

TEST_CASE("lowercase equals Python's str.lower() on every code point", "[lowercase]") {
  const python_lower f = load();
  INFO(f.version);
  REQUIRE(f.map.size() > 1400);  // Unicode 14 has 1,433 code points with a lowercase
  std::size_t mismatches = 0, changed = 0;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    const auto it = f.map.find(c);
    const std::u32string expected = it == f.map.end() ? std::u32string(1, c) : it->second;
    const std::u32string got = charlstm::lowercase(std::u32string(1, c));
    if (got != std::u32string(1, c)) ++changed;
    if (got != expected && ++mismatches <= 10) {
      FAIL_CHECK("U+" << hex(std::u32string(1, c)) << ": got " << hex(got) << ", Python "
                      << hex(expected));
    }
    // to_lower is the one-code-point mapping: Python's whenever that is one code point.
    if (expected.size() == 1 && charlstm::to_lower(c) != expected[0] && ++mismatches <= 10) {
      FAIL_CHECK("to_lower(U+" << hex(std::u32string(1, c)) << ")");
    }
  }
  CHECK(mismatches == 0);
  CHECK(changed == f.map.size());

  // All of them in one text (ASCII blocks first, then single code points, U+0130 growing the
  // text), capital sigma left out: its lowercase depends on its neighbours (next test).
  std::u32string text, expected;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c == 0x3A3) continue;
    text += c;
    const auto it = f.map.find(c);
    expected += it == f.map.end() ? std::u32string(1, c) : it->second;
  }
  const std::u32string got = charlstm::lowercase(text);
  REQUIRE(got.size() == expected.size());
  CHECK(got == expected);
}

TEST_CASE("Capital sigma takes its final form where Python's does, beside every code point",
          "[lowercase]") {
  const python_lower f = load();
  INFO(f.version);
  for (const auto& ranges : f.probe) REQUIRE(!ranges.empty());
  std::size_t mismatches = 0;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    // Python: ('A'+c+'Σ').lower()[-1], (' '+c+'Σ').lower()[-1], ('AΣ'+c).lower()[1].
    const std::u32string before = charlstm::lowercase(std::u32string{U'A', c, 0x3A3});
    const std::u32string alone = charlstm::lowercase(std::u32string{U' ', c, 0x3A3});
    const std::u32string after = charlstm::lowercase(std::u32string{U'A', 0x3A3, c});
    const char32_t got[3] = {before.back(), alone.back(), after[1]};
    for (int k = 0; k < 3; ++k) {
      const char32_t expected = in(f.probe[k], c) ? 0x3C2 : 0x3C3;
      if (got[k] != expected && ++mismatches <= 10) {
        FAIL_CHECK("probe " << k << " beside U+" << hex(std::u32string(1, c)) << ": got U+"
                            << hex(std::u32string(1, got[k])));
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("Whole texts lowercase as Python's: Vietnamese, Greek words, dotted capital I",
          "[lowercase]") {
  const python_lower f = load();
  REQUIRE(f.texts.size() >= 5);
  for (const auto& [text, expected] : f.texts) {
    INFO(charlstm::encode_utf8(text));
    const std::u32string got = charlstm::lowercase(text);
    CHECK(hex(got) == hex(expected));
  }
}
