// charlstm/engine.hpp: a whole training run as one library call.  fit() trains a model in
// window or sequence mode from where a training_state says, epoch after epoch: the learning-rate
// schedule, the divergence guard, validation, early stopping, the checkpoint and the best one
// (a failed save retried at the next epoch), the step and time limits, stopping when asked, and
// samples after every epoch.  It prints nothing: what happens reaches the caller as events
// (progress, metrics, samples), and the caller asks it to stop through one (a signal handler
// sets a flag the callback reads).
//
//   training_corpus corpus = prepare_training_corpus(load_text("corpus.txt", true), config,
//                                                    "corpus.txt");  // training_data.hpp
//   training_state<float> state = training_state<float>::fresh(config, m);
//   fit_result r = fit(config, corpus.data, corpus.vocab, m, state, events);
//
// Resuming is the same call with the model and state read from the checkpoint (training.hpp);
// the run then continues bit-identically, with the same thread count.
//
// Across processes (process_group.hpp), every process calls fit with the same arguments and its
// own c.threads; each computes its slices of every batch, and together they train as one process
// with all their threads would, bit for bit.  Only rank 0 saves and sees events (the others' are
// ignored but for stop_requested); a stop asked of any process, or any process's time limit,
// stops all after the same step.  Not the tool (no flags, no files but the checkpoints), not the
// step itself (trainer.hpp).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "generate.hpp"
#include "process_group.hpp"
#include "trainer.hpp"
#include "training.hpp"
#include "training_data.hpp"

namespace charlstm {

// A model's loss on a text, as the run it came from validated: the mean loss per prediction
// and how many predictions (tokens in sequence mode, windows in window mode).
struct text_loss {
  double loss = 0;
  index predicted = 0;
};

// The loss of `trainer`'s model on `ids` in c's mode, as validation does it: in sequence mode
// up to c.batch streams (fewer on a short text) with the state carried and the loss at every
// step; in window mode every window of c.maxlen, c.step apart, c.batch at a time.  What
// `charlstm eval` prints.
//   text_loss r = evaluate_text(trainer, read_training_config(info, m), ids);
// Throws if the text is too short for one prediction.
template <class S>
text_loss evaluate_text(batch_trainer<S>& trainer, const training_config& c,
                        const std::vector<token_id>& ids) {
  if (c.mode == training_mode::sequence) {
    require(ids.size() >= 2, "the text is too short to evaluate (fewer than 2 tokens)");
    const stream_set streams =
        make_streams(ids, std::min<index>(c.batch, static_cast<index>(ids.size()) - 1), c.seq_len);
    return {evaluate_sequence(trainer, streams), streams.targets_before(streams.batches())};
  }
  const window_set windows = make_windows(ids, c.maxlen, c.step);
  return {evaluate(trainer, windows, c.batch), windows.size()};
}

// What the events receive.
struct epoch_begin {
  long epoch = 0, epochs = 0;     // this one (1-based) and the total to reach
  double learning_rate = 0;
  index first_batch = 0;          // > 0 when resuming part-way
  index batches_total = 0;
  index sequences_done = 0;       // before first_batch
  double loss_so_far = 0;         // their mean loss
};
struct step_end {
  epoch_progress progress;  // this epoch so far
  index first_batch = 0;    // where this run started the epoch
  std::int64_t steps = 0;   // optimizer steps in all
  double epochs_done = 0;   // fractional, e.g. 2.25
  double learning_rate = 0;
  bool log = false;  // every log_every steps, but not on the epoch's last batch (epoch_end logs)
};
struct epoch_end {
  long epoch = 0;
  epoch_progress progress;  // as trained (batches_done < batches_total: stopped part-way)
  index first_batch = 0;
  std::int64_t steps = 0;
  double epochs_done = 0;
  double loss = 0, val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN: no validation
  double learning_rate = 0;
  bool partial = false, improved = false;
};
struct checkpoint_saved {
  std::string path, best_path;  // best_path empty unless the validation loss improved
  long epoch = 0;
  bool partial = false;
  index batches_done = 0, batches_total = 0;
  std::int64_t steps = 0;
};
struct epoch_sample {
  long epoch = 0;
  std::int64_t steps = 0;
  double temperature = 0;
  std::u32string seed, text;  // text excludes the seed
};

// The listeners: every member may be empty.  `stop_requested` is asked after every step and
// after every save; when it says true the run saves where it is and returns.
struct training_events {
  std::function<void(const epoch_begin&)> on_epoch_begin;
  std::function<void(const step_end&)> on_step;
  std::function<void(const epoch_end&)> on_epoch_trained;  // before validation
  std::function<void(const epoch_end&)> on_epoch_end;      // after validation
  std::function<void(const checkpoint_saved&)> on_saved;
  std::function<void(const std::string& why)> on_save_failed;  // training goes on
  std::function<void(const std::u32string& seed)> on_sample_seed;
  std::function<void(double temperature)> on_sample_begin;
  std::function<void(const std::u32string& piece)> on_sample_piece;
  std::function<void(const epoch_sample&)> on_sample_end;
  std::function<bool()> stop_requested;  // asked on every process of a group
  // How to continue the run, quoted when the last save fails (e.g. the tool's command line).
  std::string continue_hint = "resume from it";
};

enum class stop_reason {
  finished,           // the last epoch is done
  already_finished,   // the state had trained c.epochs already: nothing done
  early_stopping,     // patience ran out
  already_stopped,    // the state had stopped early already: nothing done
  step_limit,         // max_steps
  time_limit,         // time_limit
  stop_requested,     // events.stop_requested said so
};

struct fit_result {
  stop_reason reason = stop_reason::finished;
  long epoch = 0;  // the last epoch run (or finished before)
};

namespace engine_detail {

inline bool file_readable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f) std::fclose(f);
  return f != nullptr;
}

}  // namespace engine_detail

// Trains `m` from `state` to c.epochs (see the file's comment), alone or as one process of
// `group`.  Throws charlstm::error when training diverges (nothing is saved: the last good
// checkpoint stays) or when the last save of the run fails; `state` is then where training
// stopped.
template <class S>
fit_result fit(const training_config& c, const training_data& data, const token_vocabulary& vocab,
               model<S>& m, training_state<S>& state, const training_events& all_events = {},
               process_group<S>* group = nullptr) {
  using clock = std::chrono::steady_clock;
  validate(c);
  const bool sequence = c.mode == training_mode::sequence;
  require(state.optimizer.kind == c.optimizer && !state.optimizer.moments.empty() &&
              state.optimizer.moments[0].size() == m.params.size(),
          "fit: the state's optimizer is not a " + std::string(optimizer_name(c.optimizer)) +
              " state for this model");
  require(m.hidden_size() == c.hidden && m.layers() == c.layers,
          "fit: the model has " + std::to_string(m.layers()) + " layer(s) of " +
              std::to_string(m.hidden_size()) + ", the configuration " +
              std::to_string(c.layers) + " of " + std::to_string(c.hidden));
  const index batches_total = data.batches(c);
  require(state.epoch_batch < batches_total,
          "the checkpoint stopped after batch " + std::to_string(state.epoch_batch) +
              " of an epoch that now has " + std::to_string(batches_total) +
              " batches: resume with the corpus, --batch and --val-fraction it was trained with");
  if (state.epoch >= c.epochs) return {stop_reason::already_finished, state.epoch};
  if (c.patience > 0 && state.bad_epochs >= c.patience) {
    return {stop_reason::already_stopped, state.epoch};
  }

  // Only the lead reports; every process still hears its own stop requests.
  const bool lead = !group || group->lead();
  training_events quiet;
  quiet.stop_requested = all_events.stop_requested;
  const training_events& events = lead ? all_events : quiet;
  batch_trainer<S> trainer(m, state.optimizer, c.threads,
                           group ? &group->reducer(c.threads) : nullptr);
  trainer.clip_norm = c.clip_norm;
  trainer.dropout = c.dropout;
  trainer.dropout_seed = c.seed;
  optimizer_state<S>& opt = state.optimizer;
  const auto start = clock::now();
  const auto out_of_time = [&] {
    return c.time_limit > 0 &&
           std::chrono::duration<double>(clock::now() - start).count() >= c.time_limit * 60;
  };
  const auto asked_to_stop = [&] { return events.stop_requested && events.stop_requested(); };
  // What every process says after a step, ORed across the group: all stop after the same step.
  const auto votes = [&] {
    const unsigned mine = (asked_to_stop() ? vote_stop_requested : vote_none) |
                          (out_of_time() ? vote_out_of_time : vote_none);
    return group ? group->vote(mine, opt.steps) : mine;
  };
  const std::string best_path = best_checkpoint_path(c.out);

  for (long epoch = state.epoch + 1; epoch <= c.epochs; ++epoch) {
    opt.set_learning_rate(learning_rate_at(c, epoch));
    const std::mt19937_64 engine_at_start = state.rng;
    epoch_range range;
    range.first_batch = state.epoch_batch;
    range.loss_so_far = state.epoch_loss;
    const index first_batch = range.first_batch;
    if (events.on_epoch_begin) {
      events.on_epoch_begin({epoch, c.epochs, opt.learning_rate(), first_batch, batches_total,
                             sequence ? data.train_streams.targets_before(first_batch)
                                      : std::min(data.train_windows.size(), first_batch * c.batch),
                             range.loss_so_far});
    }
    epoch_progress last;
    last.batches_total = batches_total;
    last.batches_done = first_batch;
    const auto epochs_done = [&](const epoch_progress& p) {
      return static_cast<double>(epoch - 1) +
             static_cast<double>(p.batches_done) / static_cast<double>(p.batches_total);
    };
    // The one divergence guard, after every step, so that no non-finite value reaches a save.
    bool stopped = false, diverged = false;
    stop_reason why = stop_reason::finished;
    const auto on_batch = [&](const epoch_progress& p) {
      last = p;
      // The same on every process: their weights are the same bits.
      diverged = !std::isfinite(p.mean_loss) || !m.params.all_finite() || !opt.all_finite();
      const unsigned voted = diverged ? vote_none : votes();
      if (diverged) {
        stopped = true;
      } else if (voted & vote_stop_requested) {
        stopped = true, why = stop_reason::stop_requested;
      } else if (c.max_steps > 0 && opt.steps >= c.max_steps) {
        stopped = true, why = stop_reason::step_limit;
      } else if (voted & vote_out_of_time) {
        stopped = true, why = stop_reason::time_limit;
      }
      if (events.on_step) {
        events.on_step({p, first_batch, opt.steps, epochs_done(p), opt.learning_rate(),
                        !stopped && opt.steps % c.log_every == 0 &&
                            p.batches_done < p.batches_total});
      }
      return !stopped;
    };
    const double loss =
        sequence ? train_sequence_epoch(trainer, data.train_streams, state.carried, on_batch, range)
                 : train_epoch(trainer, data.train_windows, c.batch, state.rng, on_batch, range);
    last.mean_loss = loss;
    epoch_end report;
    report.epoch = epoch;
    report.progress = last;
    report.first_batch = first_batch;
    report.steps = opt.steps;
    report.epochs_done = epochs_done(last);
    report.loss = loss;
    report.learning_rate = opt.learning_rate();
    report.partial = last.batches_done < last.batches_total;
    if (events.on_epoch_trained) events.on_epoch_trained(report);
    if (diverged) {
      const bool weights_finite = m.params.all_finite() && opt.all_finite();
      throw error("training diverged at step " + std::to_string(opt.steps) + " (" +
                  (weights_finite ? "the mean loss is " + training_detail::general(loss)
                                  : "the weights or " + std::string(opt.state_name()) +
                                        " are no longer finite") +
                  "); " +
                  (engine_detail::file_readable(c.out)
                       ? c.out + " was not overwritten and keeps the last good checkpoint"
                       : "nothing was saved") +
                  ": lower --lr or set --clip-norm");
    }
    if (c.val_fraction > 0) {
      report.val_loss = sequence ? evaluate_sequence(trainer, data.val_streams)
                                 : evaluate(trainer, data.val_windows, c.batch);
    }
    report.improved = !report.partial && c.val_fraction > 0 && report.val_loss < state.best_val;
    if (!report.partial && c.val_fraction > 0) {
      if (report.improved) {
        state.best_val = report.val_loss;
        state.bad_epochs = 0;
      } else {
        ++state.bad_epochs;
      }
    }
    if (events.on_epoch_end) events.on_epoch_end(report);

    // The sample's seed window, drawn from a generator of its own so that sampling does not
    // change training; the checkpoint keeps it for `generate`.
    std::mt19937_64 sampler(c.seed * 1000003ULL + static_cast<unsigned long long>(epoch));
    const auto at = static_cast<std::size_t>(uniform01(sampler) *
                                             static_cast<double>(data.n_train - c.maxlen));
    const std::vector<token_id> seed_ids(data.train_ids() + at,
                                         data.train_ids() + at + static_cast<std::size_t>(c.maxlen));
    const std::u32string seed_text = decode_text(vocab, seed_ids);
    if (report.partial) {
      state.epoch = epoch - 1;
      state.epoch_batch = last.batches_done;
      state.epoch_loss = loss;
      state.rng = engine_at_start;
    } else {
      state.epoch = epoch;
      state.epoch_batch = 0;
      state.epoch_loss = 0;
    }
    if (group) {
      // Each process carried only its streams' state: the checkpoint needs all of them.
      if (sequence && report.partial) {
        const auto [first, count] = trainer.own_columns(state.carried.h[0].cols());
        for (std::vector<matrix<S>>* layers : {&state.carried.h, &state.carried.c}) {
          for (matrix<S>& x : *layers) {
            group->share_columns(x.data(), x.rows(), x.cols(), first, count);
          }
        }
      }
      group->check_same(digest_of(m.params.data.data(), m.params.size()), opt.steps);
    }
    // A failed save (disk full, read-only directory...) leaves the previous file intact.  The
    // model is still in memory: before the last save, report it and retry at the next one.
    // A stop asked for while a save failed makes that save the last: it is tried again.
    std::string save_failure;  // the last save failed: why
    bool saved = false;
    for (bool last_save = stopped || asked_to_stop() || epoch == c.epochs; lead && !saved;
         last_save = true) {
      try {
        const checkpoint_info info = training_checkpoint_info(vocab, c, state, seed_text);
        save_checkpoint(c.out, m, opt, info);
        if (report.improved) save_checkpoint(best_path, m, opt, info);
        saved = true;
      } catch (const error& e) {
        if (last_save) {
          save_failure = std::string(e.what()) + "; the model was not saved: " +
                         (engine_detail::file_readable(c.out)
                              ? c.out + " keeps the last good checkpoint; fix the cause, then " +
                                    events.continue_hint
                              : "fix the cause or choose another --out, then train again");
          break;
        }
        if (events.on_save_failed) events.on_save_failed(e.what());
        if (!asked_to_stop()) break;
      }
    }
    // After the save, as after a step, all processes decide together.
    const unsigned mine = (asked_to_stop() ? vote_stop_requested : vote_none) |
                          (save_failure.empty() ? vote_none : vote_save_failed);
    const unsigned after_save = group ? group->vote(mine, opt.steps) : mine;
    if (after_save & vote_save_failed) {
      throw error(lead ? save_failure
                       : "rank 0 could not save the checkpoint at step " +
                             std::to_string(opt.steps) + " (its message says why)");
    }
    if (saved && events.on_saved) {
      events.on_saved({c.out, report.improved ? best_path : "", epoch, report.partial,
                       last.batches_done, last.batches_total, opt.steps});
    }
    if (after_save & vote_stop_requested) return {stop_reason::stop_requested, epoch};
    if (c.sample_length > 0 && lead) {
      if (events.on_sample_seed) events.on_sample_seed(seed_text);
      for (double t : c.temperatures) {
        if (events.on_sample_begin) events.on_sample_begin(t);
        std::u32string text;
        detokenizer pieces(vocab);
        for (token_id id : seed_ids) pieces.piece(id);
        const auto emit = [&](token_id id) {
          const std::u32string piece = pieces.piece(id);
          text += piece;
          if (events.on_sample_piece) events.on_sample_piece(piece);
        };
        if (sequence) {
          // Stateful, as the model was trained: the seed fed once, then one step per token.
          generate_stateful_ids(m, seed_ids, c.sample_length, sampling_options{t}, sampler, emit);
        } else {
          generate_window_ids(m, seed_ids, c.sample_length, sampling_options{t}, sampler, emit);
        }
        if (events.on_sample_end) events.on_sample_end({epoch, opt.steps, t, seed_text, text});
      }
    }
    if (stopped) return {why, epoch};
    if (c.patience > 0 && state.bad_epochs >= c.patience) {
      return {stop_reason::early_stopping, epoch};
    }
  }
  return {stop_reason::finished, c.epochs};
}

}  // namespace charlstm
