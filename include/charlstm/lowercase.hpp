// charlstm/lowercase.hpp: lowercasing text exactly as Python 3's str.lower() does (the book
// lowercases Nietzsche; the CLI's --lowercase), for every code point: Unicode's full lowercase
// mapping (U+0130 'İ' becomes two code points, "i" + U+0307), and capital sigma's final form
// ς at the end of a word (Final_Sigma, as CPython decides it).  The data is
// lowercase_table.hpp, generated from /usr/bin/python3 by tools/make_lowercase_table.py.
// Not case folding (str.casefold()), not locale-dependent (no Turkish or Lithuanian rules,
// as Python has none).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

#include "lowercase_table.hpp"

namespace charlstm {

namespace lowercase_detail {

// The one-to-one lowercase of a code point outside ASCII (itself if it has none).
inline char32_t map_one(char32_t c) {
  using lowercase_table::run;
  const run* begin = std::begin(lowercase_table::runs);
  const run* end = std::end(lowercase_table::runs);
  const run* it =
      std::upper_bound(begin, end, c, [](char32_t v, const run& r) { return v < r.first; });
  if (it == begin) return c;
  --it;
  if (c > it->last || (c - it->first) % static_cast<char32_t>(it->stride) != 0) return c;
  return static_cast<char32_t>(static_cast<std::int64_t>(c) + it->delta);
}

template <std::size_t N>
bool in_ranges(const lowercase_table::range (&ranges)[N], char32_t c) {
  using lowercase_table::range;
  const range* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                     [](char32_t v, const range& r) { return v < r.first; });
  return it != std::begin(ranges) && c <= (it - 1)->last;
}

// The mapping of c to several code points, or nullptr.
inline const lowercase_table::expansion* expansion_of(char32_t c) {
  for (const auto& e : lowercase_table::expansions) {
    if (e.from == c) return &e;
  }
  return nullptr;
}

// Whether a capital sigma between `behind` (the nb code points before it) and `ahead` (the na
// after it) takes the final form: a cased code point before it and none after, skipping
// case-ignorable ones both ways (CPython's handle_capital_sigma).  `behind` may already be
// lowercased: lowercasing keeps every code point's class (the generator checks it).
inline bool final_sigma(const char32_t* behind, std::size_t nb, const char32_t* ahead,
                        std::size_t na) {
  using lowercase_table::case_ignorable;
  using lowercase_table::cased;
  std::size_t j = nb;
  while (j > 0 && in_ranges(case_ignorable, behind[j - 1])) --j;
  if (j == 0 || !in_ranges(cased, behind[j - 1])) return false;
  std::size_t k = 0;
  while (k < na && in_ranges(case_ignorable, ahead[k])) ++k;
  return k == na || !in_ranges(cased, ahead[k]);
}

// lowercase() from position `from` on, once a code point that grows has been met there:
// text[0, from) is already lowercased and is copied, the rest is written into a new string.
inline std::u32string lowercase_growing(const std::u32string& text, std::size_t from) {
  std::u32string out(text, 0, from);
  out.reserve(text.size() + text.size() / 16 + 4);
  for (std::size_t i = from; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out += (c - U'A' < 26u) ? c + 32 : c;
    } else if (c == 0x3A3) {
      const bool final =
          final_sigma(out.data(), out.size(), text.data() + i + 1, text.size() - i - 1);
      out += final ? char32_t{0x3C2} : char32_t{0x3C3};
    } else if (const auto* e = expansion_of(c)) {
      for (char32_t x : e->to) {
        if (x != 0) out += x;
      }
    } else {
      out += map_one(c);
    }
  }
  return out;
}

}  // namespace lowercase_detail

// The simple (one code point) lowercase of c, Unicode's UnicodeData.txt mapping: str.lower() of
// chr(c) for every code point but U+0130 (simple 'i', full "i" + U+0307); a capital sigma gives
// σ as alone it would.  For text use lowercase(), which applies the full mapping and the sigma.
//   to_lower(U'Ạ') == U'ạ'
inline char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c - U'A' < 26u) ? c + 32 : c;
  if (const auto* e = lowercase_detail::expansion_of(c)) return e->to[0];
  return lowercase_detail::map_one(c);
}

// The text as Python's text.lower() gives it.  In place (no copy when moved in) unless a code
// point whose lowercase is longer occurs (U+0130), then from there into a new string.  Blocks
// of 16 ASCII code points take a few vector instructions; others a binary search over about 180
// runs (100 MB of Nietzsche's text: 0.2 s).
//   std::u32string lower = lowercase(U"ΟΔΥΣΣΕΥΣ İ");   // U"οδυσσευς i\u0307"
// Pitfall: the result can be longer than the text (one more code point per U+0130).
inline std::u32string lowercase(std::u32string text) {
  const std::size_t n = text.size();
  constexpr std::size_t block = 16;
  char32_t* p = text.data();
  for (std::size_t i = 0; i < n; ++i) {
    // Blocks of ASCII, most of any corpus here, branch-free (the compiler vectorises both loops).
    while (i + block <= n) {
      char32_t any = 0;
      for (std::size_t k = 0; k < block; ++k) any |= p[i + k];
      if (any >= 0x80) break;
      for (std::size_t k = 0; k < block; ++k) p[i + k] += (p[i + k] - U'A' < 26u) ? 32 : 0;
      i += block;
    }
    if (i == n) break;
    const char32_t c = text[i];
    if (c < 0x80) {
      text[i] = (c - U'A' < 26u) ? c + 32 : c;
    } else if (c == 0x3A3) {
      const bool final =
          lowercase_detail::final_sigma(text.data(), i, text.data() + i + 1, n - i - 1);
      text[i] = final ? char32_t{0x3C2} : char32_t{0x3C3};
    } else if (lowercase_detail::expansion_of(c)) {
      return lowercase_detail::lowercase_growing(text, i);
    } else {
      text[i] = lowercase_detail::map_one(c);
    }
  }
  return text;
}

}  // namespace charlstm
