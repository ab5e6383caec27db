// charlstm/trainer.hpp: training on batches, split over threads, and one epoch in either mode:
// the book's model.fit on windows (shuffle, cut into batches of B windows, the last one smaller,
// one update each) or sequence mode (B streams read in order, T steps per update, the state
// carried from chunk to chunk).  Reports progress through a callback and never prints.  Not the
// command-line tool: no files, no flags.
//
// Threads split every batch into contiguous slices of windows or streams; each thread runs forward
// and backward on its slice with its own workspace and gradients; the gradients are then combined
// by a gradient_reducer (parallel.hpp: summed in slice order, weighted by slice size) and one
// optimizer update is applied.  With the same thread
// count the result does not depend on scheduling: bit-identical run to run.  A different thread
// count sums in a different order, so the weights differ in the last bits of float.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "model.hpp"
#include "optimizer.hpp"
#include "parallel.hpp"
#include "random.hpp"
#include "tensor.hpp"
#include "vectorizer.hpp"

namespace charlstm {

// Trains a model on time-major batches (see gather_batch and stream_set::gather), split over
// `threads` threads, updating it with `opt` (the run's optimizer state, counted in opt.steps).
//   optimizer_state<float> opt(optimizer_kind::rmsprop, m.params);
//   batch_trainer<float> trainer(m, opt, 2);   float loss = trainer.train_step(ids, targets, T, B);
// In sequence mode each thread's slice is a contiguous range of streams, and it reads and writes
// its columns of the carried state: the split changes only the gradient summation order.  The
// slices' gradients are combined by `reducer` (nullptr: this process's threads, in order); a
// reducer spanning processes also says which slices of each batch this process computes.
// Without an optimizer state it only evaluates (loss); the gradients are allocated at the first
// train_step.
template <class S>
class batch_trainer {
 public:
  batch_trainer(model<S>& m, optimizer_state<S>& opt, index threads,
                gradient_reducer<S>* reducer = nullptr)
      : batch_trainer(m, threads, reducer) {
    require(!opt.moments.empty() && opt.moments[0].size() == m.params.size(),
            "batch_trainer: the optimizer state has no buffers for this model's shape: make it "
            "with optimizer_state(kind, model.params)");
    optimizer_ = &opt;
  }
  // For evaluation only: loss() and the evaluate functions; train_step throws.
  batch_trainer(model<S>& m, index threads, gradient_reducer<S>* reducer = nullptr)
      : model_(m),
        team_(threads),
        own_reducer_(team_),
        reducer_(reducer ? reducer : &own_reducer_),
        slots_(reducer_->slots(threads)) {
    require(slots_.first >= 0 && slots_.first + threads <= slots_.total,
            "batch_trainer: the reducer placed this process's " + std::to_string(threads) +
                " workers at slice " + std::to_string(slots_.first) + " of " +
                std::to_string(slots_.total));
    workspaces_.resize(static_cast<std::size_t>(threads));
    slice_ids_.resize(static_cast<std::size_t>(threads));
    slice_targets_.resize(static_cast<std::size_t>(threads));
    losses_.resize(static_cast<std::size_t>(threads));
    sizes_.resize(static_cast<std::size_t>(threads));
  }

  index threads() const { return team_.size(); }
  // The columns of a B-column batch (its windows or streams) that this process's workers
  // compute: {first, count}; all of them for a process alone.
  std::pair<index, index> own_columns(index B) const {
    return {slice_begin(0, B), slice_begin(team_.size(), B) - slice_begin(0, B)};
  }
  const model<S>& trained_model() const { return model_; }
  optimizer_state<S>* optimizer() { return optimizer_; }

  // Gradient clipping by global norm: when the gradient's Euclidean norm over all parameters
  // exceeds this, it is scaled down to it before the update.  0 = off (the book).
  double clip_norm = 0;
  // Dropout between stacked layers while training (0: off), its masks drawn from this seed and
  // the step count (model.hpp's dropout_options).
  double dropout = 0;
  std::uint64_t dropout_seed = 0;
  // The gradient's global norm at the last step, before clipping.
  double last_gradient_norm = 0;

  // Forward, backward and one optimizer update on B windows; returns the mean loss before it.
  // With one thread and no clipping this is exactly forward_backward and optimizer_state::step.
  S train_step(const token_id* ids, const token_id* targets, index T, index B) {
    return train_step({ids, targets, T, B, false, 0}, nullptr);
  }
  // The same for any batch.  In sequence mode `state` (per layer (H, B)) is the initial state
  // and receives the final one; nullptr starts from zero.
  S train_step(const batch_input& in, layer_states<S>* state) {
    check_state(in, state);
    require(optimizer_ != nullptr,
            "batch_trainer: made for evaluation (no optimizer state): it cannot train");
    if (grads_.empty()) {
      for (index k = 0; k < team_.size(); ++k)
        grads_.emplace_back(model_.vocab_size(), model_.hidden_size(), model_.layers());
    }
    run_slices(in, state, /*backward=*/true);
    const reduced_step<S> r = reducer_->reduce(grads_, losses_, sizes_, in.B);
    const index n = model_.params.size(), threads = team_.size();
    last_gradient_norm = std::sqrt(r.squared_norm);
    const bool clip = clip_norm > 0 && last_gradient_norm > clip_norm;
    const S scale = clip ? static_cast<S>(clip_norm / last_gradient_norm) : S(1);
    team_.run([&](index k) {
      const index begin = chunk_begin(k, threads, n), end = chunk_begin(k + 1, threads, n);
      S* g = r.grads->data.data();
      if (clip) {
        for (index i = begin; i < end; ++i) g[i] *= scale;
      }
      optimizer_->update(model_.params, *r.grads, begin, end);
    });
    ++optimizer_->steps;
    return r.loss;
  }

  // The mean loss on B windows, without gradients or updates.
  S loss(const token_id* ids, const token_id* targets, index T, index B) {
    return loss({ids, targets, T, B, false, 0}, nullptr);
  }
  // The same for any batch, carrying `state` as train_step does; no dropout.
  S loss(const batch_input& in, layer_states<S>* state) {
    check_state(in, state);
    run_slices(in, state, /*backward=*/false);
    return reducer_->reduce_loss(losses_, sizes_, in.B);
  }

 private:
  model<S>& model_;
  optimizer_state<S>* optimizer_ = nullptr;
  thread_team team_;
  thread_team_reducer<S> own_reducer_;
  gradient_reducer<S>* reducer_;
  worker_slots slots_;  // this process's slices of every batch (all of them, alone)
  std::vector<workspace<S>> workspaces_;
  std::vector<parameters<S>> grads_;  // one per thread: its slice's gradient
  std::vector<std::vector<token_id>> slice_ids_, slice_targets_;
  std::vector<S> losses_;
  std::vector<index> sizes_;

  // Thread k computes slice slots_.first + k of the batch cut into slots_.total slices.
  index slice_begin(index k, index B) const { return B * (slots_.first + k) / slots_.total; }
  index slice_size(index k, index B) const { return slice_begin(k + 1, B) - slice_begin(k, B); }

  void check_state(const batch_input& in, const layer_states<S>* state) const {
    if (!state) return;
    require(static_cast<index>(state->h.size()) == model_.layers() &&
                static_cast<index>(state->c.size()) == model_.layers() &&
                state->h[0].rows() == model_.hidden_size() && state->h[0].cols() == in.B &&
                state->c[0].rows() == model_.hidden_size() && state->c[0].cols() == in.B,
            "batch_trainer: the carried state must hold " + std::to_string(model_.layers()) +
                " layers of " + shape_string(model_.hidden_size(), in.B) +
                " (use layer_states::reset)");
  }

  // Slice k's forward (and backward into *grads, unless null) in workspace k.
  S run_slice(index k, const batch_input& in, layer_states<S>* state, parameters<S>* grads) {
    const auto slot = static_cast<std::size_t>(k);
    const index b0 = slice_begin(k, in.B), bs = slice_size(k, in.B), T = in.T;
    if (bs == 0) return S(0);
    batch_input sub = in;
    sub.B = bs;
    sub.first_column = in.first_column + b0;
    if (bs != in.B) {
      std::vector<token_id>& ids = slice_ids_[slot];
      ids.resize(static_cast<std::size_t>(T * bs));
      for (index t = 0; t < T; ++t) {
        std::copy(in.ids + t * in.B + b0, in.ids + t * in.B + b0 + bs, ids.begin() + t * bs);
      }
      sub.ids = ids.data();
      if (in.sequence) {
        std::vector<token_id>& targets = slice_targets_[slot];
        targets.resize(static_cast<std::size_t>(T * bs));
        for (index t = 0; t < T; ++t) {
          std::copy(in.targets + t * in.B + b0, in.targets + t * in.B + b0 + bs,
                    targets.begin() + t * bs);
        }
        sub.targets = targets.data();
      } else {
        sub.targets = in.targets + b0;
      }
    }
    workspace<S>& ws = workspaces_[slot];
    if (state) {
      ws.take_state(*state, b0, bs);
    } else {
      ws.zero_state(model_.layers(), model_.hidden_size(), bs);
    }
    const S loss =
        grads ? model_.forward_backward(ws, *grads, sub, {dropout, dropout_seed, optimizer_->steps})
              : model_.loss(ws, sub);
    if (state) ws.give_state(*state, b0, bs);
    return loss;
  }

  // Every slice's loss (and gradient) into losses_[k] (grads_[k]), sizes_[k] its share.
  void run_slices(const batch_input& in, layer_states<S>* state, bool backward) {
    for (index k = 0; k < team_.size(); ++k)
      sizes_[static_cast<std::size_t>(k)] = slice_size(k, in.B);
    team_.run([&](index k) {
      const auto slot = static_cast<std::size_t>(k);
      losses_[slot] = run_slice(k, in, state, backward ? &grads_[slot] : nullptr);
    });
  }
};

// What a progress callback sees after each batch.
struct epoch_progress {
  index batches_done = 0, batches_total = 0;
  index sequences_done = 0;  // windows (window mode) or streams * steps (sequence mode) so far
  index targets_done = 0;    // predicted tokens so far this epoch: one per window, T*B per chunk
  double mean_loss = 0;      // over the targets trained so far this epoch
};

// Fisher-Yates with our portable uniform draw, so that a seed gives the same order everywhere.
template <class Engine>
void shuffle_indices(std::vector<index>& order, Engine& engine) {
  for (std::size_t k = order.size(); k > 1; --k) {
    const auto j = static_cast<std::size_t>(uniform01(engine) * static_cast<double>(k));
    std::swap(order[k - 1], order[std::min(j, k - 1)]);
  }
}

// Where an epoch starts and stops, for interrupted and resumed epochs.
struct epoch_range {
  index first_batch = 0;   // skip the batches before this one (already trained)
  index stop_batch = -1;   // stop before this batch; -1 = the end of the epoch
  double loss_so_far = 0;  // mean loss of the skipped batches, to continue the running mean
};

// One epoch of sequence mode: the chunks of `streams` in order, the loss at every step, the
// state carried from chunk to chunk in `state`.  The state is reset to zero at the start of the
// epoch unless range.first_batch > 0, in which case `state` is where the skipped chunks left it
// (a resumed epoch).  Returns the mean loss over the epoch's targets.
//   layer_states<float> state;
//   double loss = train_sequence_epoch(trainer, streams, state);
template <class S>
double train_sequence_epoch(batch_trainer<S>& trainer, const stream_set& streams,
                            layer_states<S>& state,
                            const std::function<bool(const epoch_progress&)>& on_batch = {},
                            const epoch_range& range = {}) {
  const model<S>& m = trainer.trained_model();
  const index B = streams.streams;
  require(B > 0 && streams.seq_len > 0 && streams.stream_length() > 0,
          "train_sequence_epoch: no chunks (too short a text for the batch)");
  epoch_progress progress;
  progress.batches_total = streams.batches();
  progress.batches_done = std::min(range.first_batch, progress.batches_total);
  if (progress.batches_done == 0) state.reset(m.layers(), m.hidden_size(), B);
  progress.targets_done = streams.targets_before(progress.batches_done);
  progress.sequences_done = progress.targets_done;
  double loss_sum = range.loss_so_far * static_cast<double>(progress.targets_done);
  progress.mean_loss = range.loss_so_far;
  // No chunk is longer than the streams, whatever seq_len says.
  std::vector<token_id> ids(
      static_cast<std::size_t>(std::min(streams.seq_len, streams.stream_length()) * B));
  std::vector<token_id> targets(ids.size());
  for (index batch = progress.batches_done; batch < progress.batches_total; ++batch) {
    if (range.stop_batch >= 0 && batch >= range.stop_batch) break;
    const index T = streams.steps_in(batch);
    streams.gather(batch, ids.data(), targets.data());
    const S loss = trainer.train_step({ids.data(), targets.data(), T, B, true, 0}, &state);
    loss_sum += static_cast<double>(loss) * static_cast<double>(T * B);
    progress.batches_done = batch + 1;
    progress.targets_done = streams.targets_before(batch + 1);
    progress.sequences_done = progress.targets_done;
    progress.mean_loss = loss_sum / static_cast<double>(progress.targets_done);
    if (on_batch && !on_batch(progress)) break;
  }
  return progress.mean_loss;
}

// Mean loss per target over all chunks of `streams` from a zero state, the state carried, no
// dropout: the validation loss in sequence mode.
template <class S>
double evaluate_sequence(batch_trainer<S>& trainer, const stream_set& streams) {
  const model<S>& m = trainer.trained_model();
  const index B = streams.streams;
  require(B > 0 && streams.seq_len > 0 && streams.stream_length() > 0,
          "evaluate_sequence: no chunks (too short a text for the batch)");
  layer_states<S> state;
  state.reset(m.layers(), m.hidden_size(), B);
  std::vector<token_id> ids(
      static_cast<std::size_t>(std::min(streams.seq_len, streams.stream_length()) * B));
  std::vector<token_id> targets(ids.size());
  double sum = 0;
  for (index batch = 0; batch < streams.batches(); ++batch) {
    const index T = streams.steps_in(batch);
    streams.gather(batch, ids.data(), targets.data());
    sum += static_cast<double>(trainer.loss({ids.data(), targets.data(), T, B, true, 0}, &state)) *
           static_cast<double>(T * B);
  }
  return sum / static_cast<double>(streams.targets_before(streams.batches()));
}

// One epoch over all windows in a random order drawn from `engine`; returns the mean training
// loss (the number Keras prints as `loss`).  `on_batch` may return false to stop early.
//   std::mt19937_64 engine(seed);
//   double loss = train_epoch(trainer, windows, 128, engine, [](const epoch_progress& p) {...});
template <class S, class Engine>
double train_epoch(batch_trainer<S>& trainer, const window_set& windows, index batch_size,
                   Engine& engine, const std::function<bool(const epoch_progress&)>& on_batch = {},
                   const epoch_range& range = {}) {
  require(batch_size > 0, "batch size must be positive, got " + std::to_string(batch_size));
  const index n = windows.size(), T = windows.maxlen;
  std::vector<index> order(static_cast<std::size_t>(n));
  for (index k = 0; k < n; ++k) order[static_cast<std::size_t>(k)] = k;
  shuffle_indices(order, engine);
  // No batch is larger than the windows there are, whatever batch_size says.
  const index most = std::min(batch_size, n);
  std::vector<token_id> ids(static_cast<std::size_t>(T * most));
  std::vector<token_id> targets(static_cast<std::size_t>(most));
  epoch_progress progress;
  progress.batches_total = (n + batch_size - 1) / batch_size;
  progress.batches_done = std::min(range.first_batch, progress.batches_total);
  progress.sequences_done = std::min(n, progress.batches_done * batch_size);
  progress.targets_done = progress.sequences_done;
  double loss_sum = range.loss_so_far * static_cast<double>(progress.sequences_done);
  progress.mean_loss = range.loss_so_far;
  for (index batch = progress.batches_done; batch < progress.batches_total; ++batch) {
    if (range.stop_batch >= 0 && batch >= range.stop_batch) break;
    const index start = batch * batch_size, B = std::min(batch_size, n - start);
    gather_batch(windows, order.data() + start, B, ids.data(), targets.data());
    loss_sum += static_cast<double>(trainer.train_step(ids.data(), targets.data(), T, B)) * B;
    progress.batches_done = batch + 1;
    progress.sequences_done = start + B;
    progress.targets_done = start + B;
    progress.mean_loss = loss_sum / static_cast<double>(progress.sequences_done);
    if (on_batch && !on_batch(progress)) break;
  }
  return progress.mean_loss;
}

// The same on one thread.
template <class S, class Engine>
double train_epoch(model<S>& m, optimizer_state<S>& opt, const window_set& windows,
                   index batch_size, Engine& engine) {
  batch_trainer<S> trainer(m, opt, 1);
  return train_epoch(trainer, windows, batch_size, engine);
}

// Mean loss over all windows (the validation loss), in batches, without updates.
template <class S>
double evaluate(batch_trainer<S>& trainer, const window_set& windows, index batch_size) {
  const index n = windows.size(), T = windows.maxlen;
  require(n > 0, "evaluate: no windows");
  require(batch_size > 0, "batch size must be positive, got " + std::to_string(batch_size));
  // No batch is larger than the windows there are, whatever batch_size says.
  const index most = std::min(batch_size, n);
  std::vector<index> which(static_cast<std::size_t>(most));
  std::vector<token_id> ids(static_cast<std::size_t>(T * most)),
      targets(static_cast<std::size_t>(most));
  double sum = 0;
  for (index start = 0; start < n; start += batch_size) {
    const index B = std::min(batch_size, n - start);
    for (index b = 0; b < B; ++b) which[static_cast<std::size_t>(b)] = start + b;
    gather_batch(windows, which.data(), B, ids.data(), targets.data());
    sum += static_cast<double>(trainer.loss(ids.data(), targets.data(), T, B)) * B;
  }
  return sum / static_cast<double>(n);
}

}  // namespace charlstm
