// `charlstm train`'s console, all of it on stderr: train's product is the checkpoint, so its
// stdout stays empty (docs/cli.md).  The run's plan, each epoch's header and progress, its
// losses, the saves and the samples.  On a terminal the progress is Keras's bar redrawn in
// place; otherwise one line every --progress-every seconds, flushed as written, with the ETA of
// the whole run.  Not the metrics logs (run_files.hpp).
#pragma once

#include <charlstm/engine.hpp>
#include <cstdint>
#include <string>

#include "cli.hpp"

namespace cli {

// A duration as 42s, 3:05 or 1:02:03.
std::string format_duration(double seconds);

// How far a run goes at most, from --epochs and --max-steps: --time-limit and early stopping may
// end it sooner, never later.
struct run_plan {
  long first_epoch = 1, last_epoch = 0;        // 1-based; last < first: nothing to train
  std::int64_t first_step = 0, last_step = 0;  // optimizer steps in all, at the start and end
  std::int64_t max_steps = -1;                 // --max-steps (-1: none)
  double time_limit_s = 0;                     // 0: none
  long patience = 0;                           // 0 or no validation: off
};

// The plan of a run of `c` that starts after `epochs_done` epochs and `epoch_batch` batches of
// the next one, `steps` steps in all, with `batches_per_epoch` batches per epoch.
//   run_plan p = plan_run(c, data.batches(c), s.epoch, s.epoch_batch, s.optimizer.steps);
run_plan plan_run(const charlstm::training_config& c, index batches_per_epoch, long epochs_done,
                  index epoch_batch, std::int64_t steps);

// One line on what the run reads: the corpus, its symbols, and how it is cut.
void print_corpus_summary(const charlstm::training_config& c, const charlstm::training_corpus& p,
                          const std::string& path);

// The training events' console half: train.cpp calls one method per event.
class console {
 public:
  // `unit` is "char" or "word"; `terminal` whether stderr is one; `progress_every` the seconds
  // between progress lines when it is not.
  console(const run_plan& plan, std::string unit, bool validation, bool terminal,
          double progress_every);

  void epoch_begin(const charlstm::epoch_begin& e);
  void step(const charlstm::step_end& s);
  void epoch_trained(const charlstm::epoch_end& e);
  void epoch_end(const charlstm::epoch_end& e);
  void saved(const charlstm::checkpoint_saved& s);
  void sample_seed(const std::u32string& seed);
  void sample_begin(double temperature);
  void sample_piece(const std::u32string& piece);
  void sample_end();
  // Why a run that was not stopped by a signal ended, when it is worth a line.
  void run_ended(charlstm::stop_reason reason, long epochs_done, long bad_epochs, double best_val,
                 const std::string& out);

 private:
  run_plan plan_;
  std::string unit_;
  bool validation_, terminal_;
  double progress_every_;
  clock_type::time_point run_start_ = clock_type::now(), epoch_start_ = run_start_;
  double last_line_ = 0, last_draw_ = -1;
  bool planned_ = false;
  long epoch_ = 0;
  std::u32string seed_;

  // The time until the run ends at the latest, at `steps` steps in all; with `why`, what ends it:
  // "3:12 (step 2580)" or "2:05 (--time-limit)".
  std::string run_eta(std::int64_t steps, bool why) const;
};

}  // namespace cli
