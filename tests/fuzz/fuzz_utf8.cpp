// libFuzzer target: UTF-8 decoding, lowercasing and the vocabulary.  Valid input must round-trip
// byte for byte, and the vocabulary must encode and decode the text exactly.
#include <charlstm/lowercase.hpp>
#include <charlstm/utf8.hpp>
#include <charlstm/vocabulary.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::u32string text;
  try {
    text = charlstm::decode_utf8(bytes, "fuzz");
  } catch (const charlstm::error&) {
    return 0;
  }
  if (charlstm::encode_utf8(text) != bytes) __builtin_trap();
  const std::u32string lower = charlstm::lowercase(text);
  // One code point more per U+0130 (its lowercase is "i" + U+0307), as Python's str.lower().
  const auto dotted = static_cast<std::size_t>(std::count(text.begin(), text.end(), U'\u0130'));
  if (lower.size() != text.size() + dotted) __builtin_trap();
  const charlstm::char_vocabulary vocab(lower);
  if (vocab.decode(vocab.encode(lower)) != lower) __builtin_trap();
  return 0;
}
