// `charlstm train`'s files beside the checkpoint: checked and locked before any work, and the
// metrics logs (metrics.csv, samples.jsonl) written as a listener that never stops training.
// Not the checkpoint's save (the engine's) nor the output checks themselves (outputs.hpp).
#pragma once

#include <charlstm/run/metrics.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "outputs.hpp"

namespace cli {

// The run's files checked before any work: the checkpoint absent or a checkpoint, its logs
// absent or regular files, none of them an input (unless `force`, only for a regular file that
// is not an input).  `out` through a symlink becomes the link's target.  Returns the lock on
// them.
std::unique_ptr<run_lock> check_run_files(std::string& out, bool force,
                                          const std::vector<std::string>& inputs);

// The metrics logs beside the checkpoint are secondary: if they cannot be written (disk full,
// read-only directory), it says so once on stderr and training goes on without them.  The
// checkpoint is what must not be lost.
class optional_metrics {
 public:
  optional_metrics(const std::string& model_path, const std::string& resumed_from,
                   std::int64_t steps, charlstm::token_kind tokens, double tokens_per_sequence);
  void begin_epoch(index sequences_done, double mean_loss);
  void pause();
  void log(std::int64_t step, double epoch, index sequences_done, double mean_loss, double lr,
           double val_loss = std::numeric_limits<double>::quiet_NaN());
  void sample(const charlstm::sample_record& s);
  // The checkpoint was saved: the logs are written from now on (a start that fails changes none).
  void commit();

 private:
  std::unique_ptr<charlstm::metrics_writer> writer_;
  bool failed_ = false;

  template <class F>
  void guard(const F& write);
};

}  // namespace cli
