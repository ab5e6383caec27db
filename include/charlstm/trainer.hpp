// charlstm/trainer.hpp: one epoch of the book's model.fit over windows: shuffle, cut into
// batches of B windows (the last one smaller), one train_step each.  Reports progress through a
// callback and never prints.  Not the command-line tool: no files, no flags.
#pragma once

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

#include "model.hpp"
#include "vectorizer.hpp"

namespace charlstm {

// What a progress callback sees after each batch.
struct epoch_progress {
  index batches_done = 0, batches_total = 0;
  index sequences_done = 0;
  double mean_loss = 0;  // over the windows trained so far this epoch
};

// Fisher-Yates with our portable uniform draw, so that a seed gives the same order everywhere.
template <class Engine>
void shuffle_indices(std::vector<index>& order, Engine& engine) {
  for (std::size_t k = order.size(); k > 1; --k) {
    const auto j = static_cast<std::size_t>(uniform01(engine) * static_cast<double>(k));
    std::swap(order[k - 1], order[std::min(j, k - 1)]);
  }
}

// One epoch over all windows in a random order; returns the mean training loss (the number
// Keras prints as `loss`).
//   std::mt19937_64 engine(seed);
//   double loss = train_epoch(m, windows, 128, engine, [](const epoch_progress& p) {...});
template <class S, class Engine>
double train_epoch(model<S>& m, const window_set& windows, index batch_size, Engine& engine,
                   const std::function<void(const epoch_progress&)>& on_batch = {}) {
  require(batch_size > 0, "batch size must be positive, got " + std::to_string(batch_size));
  const index n = windows.size(), T = windows.maxlen;
  std::vector<index> order(static_cast<std::size_t>(n));
  for (index k = 0; k < n; ++k) order[static_cast<std::size_t>(k)] = k;
  shuffle_indices(order, engine);
  std::vector<token_id> ids(static_cast<std::size_t>(T * batch_size));
  std::vector<token_id> targets(static_cast<std::size_t>(batch_size));
  epoch_progress progress;
  progress.batches_total = (n + batch_size - 1) / batch_size;
  double loss_sum = 0;
  for (index start = 0; start < n; start += batch_size) {
    const index B = std::min(batch_size, n - start);
    gather_batch(windows, order.data() + start, B, ids.data(), targets.data());
    loss_sum += static_cast<double>(m.train_step(ids.data(), targets.data(), T, B)) * B;
    ++progress.batches_done;
    progress.sequences_done = start + B;
    progress.mean_loss = loss_sum / static_cast<double>(progress.sequences_done);
    if (on_batch) on_batch(progress);
  }
  return progress.mean_loss;
}

}  // namespace charlstm
