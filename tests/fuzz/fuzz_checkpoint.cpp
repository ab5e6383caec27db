// libFuzzer target: the checkpoint loader on arbitrary bytes.  It must either load or throw
// charlstm::error; anything else (a crash, a sanitizer report, another exception) is a finding.
#include <charlstm/checkpoint.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  charlstm::checkpoint_info info;
  try {
    const charlstm::model<float> m = charlstm::parse_checkpoint<float>(bytes, info, "fuzz");
    if (m.vocab_size() != info.vocab.size()) __builtin_trap();
  } catch (const charlstm::error&) {
  }
  return 0;
}
