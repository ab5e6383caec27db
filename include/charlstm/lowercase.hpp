// charlstm/lowercase.hpp: lowercasing text as Python's str.lower() does (the book lowercases
// Nietzsche; the CLI's --lowercase).  Not case folding, not locale-dependent.
#pragma once

#include <string>

namespace charlstm {

// The lowercase of one code point, as Python's str.lower() maps it, for the scripts a corpus here
// is likely to hold: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.  Code points outside
// these blocks are returned unchanged.  Two differences from Python, both documented here:
// U+0130 (I with dot) becomes plain 'i' (Python gives "i\u0307"), and a capital sigma always
// becomes U+03C3 (Python gives the final form U+03C2 at the end of a word).
inline char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;  // Latin-1 capitals
  if (c >= 0x100 && c <= 0x17F) {                            // Latin Extended-A: pairs
    if (c == 0x130) return U'i';
    if (c == 0x178) return 0xFF;
    const bool odd_capitals = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return (c % 2 == (odd_capitals ? 1u : 0u)) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek capitals
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x410 && c <= 0x42F) return c + 32;  // Cyrillic capitals
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

inline std::u32string lowercase(std::u32string text) {
  for (char32_t& c : text) c = to_lower(c);
  return text;
}

}  // namespace charlstm
