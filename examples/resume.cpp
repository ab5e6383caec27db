// A training run through the library's engine: charlstm::fit with a progress listener, stopped
// part-way (a stop request after 7 steps, as a signal handler would make), resumed from the
// checkpoint it saved, and compared with the same run uninterrupted: bit-identical.
//   resume CORPUS [DIRECTORY]      exit 0 when identical
#include <charlstm/charlstm.hpp>
#include <cstdio>
#include <string>

using charlstm::training_state;

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: resume CORPUS [DIRECTORY]\n"), 2;
  const std::string dir = argc > 2 ? argv[2] : ".";
  charlstm::training_config c;  // sequence mode, RMSprop; a small model for a quick run
  c.corpus = {argv[1]};
  c.hidden = 32, c.batch = 16, c.seq_len = 25, c.epochs = 2, c.sample_length = 0;
  c.threads = 2;
  const std::u32string text = charlstm::load_text(argv[1], c.lowercase);
  const charlstm::char_vocabulary vocab(text);
  const charlstm::training_data data = charlstm::make_training_data(vocab.encode(text), c, argv[1]);

  charlstm::training_events events;  // the progress listener
  events.on_epoch_end = [](const charlstm::epoch_end& e) {
    std::printf("epoch %ld: %ld/%ld batches, loss %.4f, val_loss %.4f\n", e.epoch,
                static_cast<long>(e.progress.batches_done),
                static_cast<long>(e.progress.batches_total), e.loss, e.val_loss);
  };

  // 1. Uninterrupted.
  c.out = dir + "/whole.safetensors";
  charlstm::model<float> whole(vocab.size(), c.hidden, c.seed, c.layers);
  auto whole_state = training_state<float>::fresh(c, whole);
  charlstm::fit(c, data, vocab, whole, whole_state, events);

  // 2. Stopped after 7 steps: fit saves where it is and returns.
  c.out = dir + "/part.safetensors";
  charlstm::model<float> part(vocab.size(), c.hidden, c.seed, c.layers);
  auto part_state = training_state<float>::fresh(c, part);
  charlstm::training_events stopping = events;
  stopping.stop_requested = [&] { return part_state.optimizer.steps >= 7; };
  const auto stop = charlstm::fit(c, data, vocab, part, part_state, stopping);
  std::printf("stopped at step %lld%s, saved %s\n",
              static_cast<long long>(part_state.optimizer.steps),
              stop.reason == charlstm::stop_reason::stop_requested ? " on request" : "", c.out.c_str());

  // 3. Resumed from the checkpoint alone: model, optimizer, settings and position.
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::model<float> resumed = charlstm::load_checkpoint<float>(c.out, info, opt);
  charlstm::training_config rc = charlstm::read_training_config(info, resumed);
  rc.epochs = c.epochs, rc.threads = c.threads, rc.sample_length = 0, rc.out = c.out;
  auto state = charlstm::read_training_state(info, rc, resumed, std::move(opt));
  charlstm::fit(rc, data, info.vocab, resumed, state, events);

  const bool same = resumed.params.data == whole.params.data &&
                    state.optimizer.moments[0].data == whole_state.optimizer.moments[0].data &&
                    state.optimizer.steps == whole_state.optimizer.steps;
  std::printf("%s after %lld steps\n", same ? "bit-identical" : "DIFFERENT",
              static_cast<long long>(state.optimizer.steps));
  return same ? 0 : 1;
}
