// libFuzzer target: a user's prime text against a model's vocabulary, as `charlstm generate
// --prime` treats it: decode, lowercase, encode (failing with a list, or dropping unknowns).
#include <charlstm/lowercase.hpp>
#include <charlstm/utf8.hpp>
#include <charlstm/vocabulary.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const charlstm::char_vocabulary vocab(
      U"\n !\"'(),-.:;?abcdefghijklmnopqrstuvwxyz\u00e4\u00e6\u00e9\u00eb");
  if (size == 0) return 0;
  const bool drop = data[0] & 1;
  try {
    const std::u32string prime = charlstm::lowercase(charlstm::decode_utf8(
        std::string(reinterpret_cast<const char*>(data + 1), size - 1), "--prime"));
    const auto ids = charlstm::encode_known(vocab, prime, drop, "--prime");
    if (ids.size() > prime.size()) __builtin_trap();
    for (auto id : ids) {
      if (id < 0 || id >= vocab.size()) __builtin_trap();
    }
  } catch (const charlstm::error&) {
  }
  return 0;
}
