// `charlstm train`'s run files: checked and locked up front, and the metrics logs that give up
// quietly (one warning) rather than stop a run.
#include "run_files.hpp"

#include <cstdio>

namespace cli {

std::unique_ptr<run_lock> check_run_files(std::string& out, bool force,
                                          const std::vector<std::string>& inputs) {
  // The longest suffix written beside --out: ".samples.jsonl", or ".best" + ".tmp.XXXXXX".
  const std::size_t suffixes = 16;
  out = check_output(out, "--out", output_kind::checkpoint, inputs, force, suffixes).path;
  const charlstm::run_files files = charlstm::files_of_run(out);
  check_output(files.best, "--out's best checkpoint", output_kind::checkpoint, inputs, force);
  for (const std::string& log : {files.metrics, files.samples, files.lock})
    check_output(log, "--out's log", output_kind::log, inputs, force);
  return std::make_unique<run_lock>(files.lock, "the run '" + out + "'");
}

template <class F>
void optional_metrics::guard(const F& write) {
  if (failed_) return;
  try {
    write();
  } catch (const charlstm::error& e) {
    failed_ = true;
    writer_.reset();
    std::fflush(stdout);
    std::fprintf(stderr, "charlstm: warning: %s; training continues without the metrics log\n",
                 e.what());
  }
}

optional_metrics::optional_metrics(const std::string& model_path, const std::string& resumed_from,
                                   std::int64_t steps, charlstm::token_kind tokens,
                                   double tokens_per_sequence) {
  guard([&] {
    writer_ = std::make_unique<charlstm::metrics_writer>(model_path, resumed_from, steps, tokens,
                                                         tokens_per_sequence);
  });
}

void optional_metrics::begin_epoch(index sequences_done, double mean_loss) {
  guard([&] { writer_->begin_epoch(sequences_done, mean_loss); });
}

void optional_metrics::pause() {
  guard([&] { writer_->pause(); });
}

void optional_metrics::log(std::int64_t step, double epoch, index sequences_done, double mean_loss,
                           double lr, double val_loss) {
  guard([&] { writer_->log(step, epoch, sequences_done, mean_loss, lr, val_loss); });
}

void optional_metrics::sample(const charlstm::sample_record& s) {
  guard([&] { writer_->sample(s); });
}

void optional_metrics::commit() {
  guard([&] { writer_->commit(); });
}

}  // namespace cli
