// libFuzzer target: what `charlstm eval` and `charlstm train --resume` do with a checkpoint's
// bytes past the loader, on a tiny text in the checkpoint's vocabulary.
//   eval:   the inference loader, read_training_config, evaluate_text (eval.cpp's calls).
//   resume: the loader with the optimizer's state, read_training_config, read_training_state,
//           resumed_config (a resume that gives only this run's own settings: one more epoch,
//           one thread, no samples), validate, prepare_training_corpus with the checkpoint's
//           vocabulary, then fit (train.cpp's calls) asked to stop after its first step,
//           so that it continues the stored state (carried state, optimizer buffers and step
//           count, random engine, position in the epoch) for one step, validates and saves.
// The seed corpus is written by this binary (LLVMFuzzerInitialize, when FUZZ_RESUME_SEEDS names
// a directory: scripts/fuzz.sh does so before it fuzzes), since a run's checkpoint is not a few
// KB (the random engine's state alone is 6 KB of text): real checkpoints of tiny runs in both
// modes, both token kinds, both optimizers, stopped part-way through an epoch and at its end.
// Any charlstm::error is fine.  A crash, a sanitizer report, another exception, a leak, a hang
// (-timeout) or an allocation past -malloc_limit_mb (scripts/fuzz.sh) is a finding: every size
// a checkpoint's metadata gives must be checked before it is used.
#include <unistd.h>

#include <charlstm/charlstm.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// The tiny text: about 120 tokens cycling through the vocabulary, written out as the text a
// user would give.  Short, so that every allocation it sizes stays far below the fuzzer's malloc
// limit.
std::u32string tiny_text(const charlstm::token_vocabulary& vocab) {
  std::vector<charlstm::token_id> ids;
  for (charlstm::index k = 0; k < 120; ++k)
    ids.push_back(static_cast<charlstm::token_id>((k * 7 + k / 5) % vocab.size()));
  return charlstm::decode_text(vocab, ids);
}

void eval(const std::string& bytes) {
  charlstm::checkpoint_info info;
  charlstm::model<float> m = charlstm::parse_checkpoint<float>(bytes, info, "fuzz");
  const charlstm::training_config c = charlstm::read_training_config(info, m);
  charlstm::read_inference_settings(info);  // what generate reads besides the model
  charlstm::batch_trainer<float> trainer(m, 1);
  charlstm::evaluate_text(
      trainer, c, charlstm::encode_text(info.vocab, tiny_text(info.vocab), true, "the tiny text"));
}

void resume(const std::string& bytes, const std::string& out) {
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::model<float> m = charlstm::parse_checkpoint<float>(bytes, info, "fuzz", opt);
  const charlstm::training_config stored = charlstm::read_training_config(info, m);
  charlstm::training_state<float> state =
      charlstm::read_training_state(info, stored, m, std::move(opt));
  // A resume that gives no stored setting, only this run's own: one more epoch, one thread.
  charlstm::training_config given;
  given.epochs = state.epoch + 1;
  given.threads = 1;
  given.sample_length = 0;
  given.out = out;
  const charlstm::training_config c =
      charlstm::resumed_config(stored, given, state, [](const std::string&) { return false; });
  charlstm::validate(c);
  const charlstm::training_corpus corpus =
      charlstm::prepare_training_corpus(tiny_text(info.vocab), c, "the tiny text", info.vocab);
  charlstm::training_events events;
  events.stop_requested = [] { return true; };
  charlstm::fit(c, corpus.data, corpus.vocab, m, state, events);
}

// A seed: the checkpoint of a tiny run of `c` (4 hidden units, one epoch or up to c.max_steps,
// on a 16-symbol text of 1,650 characters), written as DIR/NAME.safetensors.
void write_seed(const std::string& dir, const std::string& name, charlstm::training_config c) {
  std::u32string text;
  for (int k = 0; k < 30; ++k) text += U"the cat sat on the mat. a dog ran to the cat, and sat.\n";
  c.corpus = {"seed.txt"};
  c.hidden = 4;
  c.epochs = 1;
  c.threads = 1;
  c.sample_length = 0;
  c.out = dir + "/" + name + ".safetensors";
  const charlstm::training_corpus corpus = charlstm::prepare_training_corpus(text, c, "seed");
  charlstm::model<float> m(corpus.vocab.size(), c.hidden, c.seed, c.layers);
  auto state = charlstm::training_state<float>::fresh(c, m);
  charlstm::fit(c, corpus.data, corpus.vocab, m, state);
  std::remove(charlstm::best_checkpoint_path(c.out).c_str());  // the same model again
}

void write_seeds(const std::string& dir) {
  using charlstm::optimizer_kind;
  using charlstm::token_kind;
  using charlstm::training_mode;
  charlstm::training_config c;
  c.mode = training_mode::sequence, c.batch = 3, c.seq_len = 8, c.max_steps = 2;
  write_seed(dir, "sequence-char-rmsprop-partial", c);
  c = {};
  c.mode = training_mode::sequence, c.tokens = token_kind::word, c.optimizer = optimizer_kind::adam;
  c.batch = 2, c.seq_len = 5, c.max_steps = 3;
  write_seed(dir, "sequence-word-adam-partial", c);
  c = {};
  c.mode = training_mode::sequence, c.layers = 2, c.dropout = 0.1;
  c.optimizer = optimizer_kind::adam, c.batch = 4, c.seq_len = 10;
  write_seed(dir, "sequence-char-adam-2layers-epoch", c);
  c = {};
  c.mode = training_mode::window, c.optimizer = optimizer_kind::adam;
  c.maxlen = 6, c.step = 2, c.batch = 16, c.max_steps = 2;
  write_seed(dir, "window-char-adam-partial", c);
  c = {};
  c.mode = training_mode::window, c.tokens = token_kind::word;
  c.maxlen = 4, c.step = 2, c.batch = 8, c.patience = 3;
  write_seed(dir, "window-word-rmsprop-epoch", c);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_RESUME_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // fit saves where it stopped: into memory-backed /dev/shm when there is one.
  static const std::string out =
      (::access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) +
      "/fuzz_resume." + std::to_string(::getpid()) + ".safetensors";
  // FUZZ_RESUME_VERBOSE=1: say how far each path got, to see what a seed or an input reaches.
  static const bool verbose = std::getenv("FUZZ_RESUME_VERBOSE") != nullptr;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    eval(bytes);
    if (verbose) std::fprintf(stderr, "eval: evaluated\n");
  } catch (const charlstm::error& e) {
    if (verbose) std::fprintf(stderr, "eval: %s\n", e.what());
  }
  try {
    resume(bytes, out);
    if (verbose) std::fprintf(stderr, "resume: trained and saved\n");
  } catch (const charlstm::error& e) {
    if (verbose) std::fprintf(stderr, "resume: %s\n", e.what());
  }
  std::remove(out.c_str());
  std::remove(charlstm::best_checkpoint_path(out).c_str());
  return 0;
}
