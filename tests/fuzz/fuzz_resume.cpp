// libFuzzer target: what `charlstm eval` and `charlstm train --resume` do with a checkpoint's
// bytes past the loader, on a tiny text in the checkpoint's vocabulary.
//   eval:   the inference loader, read_training_config, evaluate_text (eval.cpp's calls).
//   resume: the loader with the optimizer's state, read_training_config, read_training_state,
//           the resumed run's configuration (the stored settings; this run's own as a resume
//           without flags gives them: one more epoch, one thread, no samples), validate,
//           make_training_data, then fit (train.cpp's calls) asked to stop after its first step,
//           so that it continues the stored state (carried state, optimizer buffers and step
//           count, random engine, position in the epoch) for one step, validates and saves.
// Any charlstm::error is fine.  A crash, a sanitizer report, another exception, a leak, a hang
// (-timeout) or an allocation past -malloc_limit_mb (scripts/fuzz.sh) is a finding: every size
// a checkpoint's metadata gives must be checked before it is used.
#include <unistd.h>

#include <charlstm/charlstm.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// The tiny text: about 120 tokens cycling through the vocabulary, written out and read back as
// the tool reads a corpus (unknown symbols, as a word vocabulary's <unk>, dropped).  Short, so
// that every allocation it sizes stays far below the fuzzer's malloc limit.
std::vector<charlstm::token_id> tiny_text(const charlstm::token_vocabulary& vocab) {
  std::vector<charlstm::token_id> ids;
  for (charlstm::index k = 0; k < 120; ++k)
    ids.push_back(static_cast<charlstm::token_id>((k * 7 + k / 5) % vocab.size()));
  const std::u32string text = charlstm::decode_text(vocab, ids);
  return charlstm::encode_text(vocab, text, /*drop_unknown=*/true, "the tiny text");
}

void eval(const std::string& bytes) {
  charlstm::checkpoint_info info;
  charlstm::model<float> m = charlstm::parse_checkpoint<float>(bytes, info, "fuzz");
  const charlstm::training_config c = charlstm::read_training_config(info, m);
  charlstm::read_inference_settings(info);  // what generate reads besides the model
  charlstm::batch_trainer<float> trainer(m, 1);
  charlstm::evaluate_text(trainer, c, tiny_text(info.vocab));
}

void resume(const std::string& bytes, const std::string& out) {
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::model<float> m = charlstm::parse_checkpoint<float>(bytes, info, "fuzz", opt);
  charlstm::training_config c = charlstm::read_training_config(info, m);
  charlstm::training_state<float> state = charlstm::read_training_state(info, c, m, std::move(opt));
  c.epochs = state.epoch + 1;
  c.threads = 1;
  c.sample_length = 0;
  c.out = out;
  charlstm::validate(c);
  const charlstm::training_data data =
      charlstm::make_training_data(tiny_text(info.vocab), c, "the tiny text");
  charlstm::training_events events;
  events.stop_requested = [] { return true; };
  charlstm::fit(c, data, info.vocab, m, state, events);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // fit saves where it stopped: into memory-backed /dev/shm when there is one.
  static const std::string out =
      (::access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) +
      "/fuzz_resume." + std::to_string(::getpid()) + ".safetensors";
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    eval(bytes);
  } catch (const charlstm::error&) {
  }
  try {
    resume(bytes, out);
  } catch (const charlstm::error&) {
  }
  std::remove(out.c_str());
  std::remove(charlstm::best_checkpoint_path(out).c_str());
  return 0;
}
