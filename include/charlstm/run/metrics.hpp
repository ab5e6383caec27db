// charlstm/run/metrics.hpp: the writer of a training run's logs, metrics.csv and samples.jsonl
// (their format, file names and reader are run/metrics_format.hpp's).  Both are append-only logs
// written one whole line per write(2), so a crash leaves at worst a torn last line.  Reopening a
// log for a run keeps the rows at or before the checkpoint's step and touches the file only when
// the run commits (its first save), so a start that fails changes nothing; a malformed row in the
// middle is an error, never a silent cut.  No Eigen.
// Part of the tool's run files (charlstm/run/), not of the library's umbrella charlstm.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../file.hpp"
#include "metrics_format.hpp"

namespace charlstm {

// An append-only log of lines that each carry a step, with an optional header line.  Opening it
// reads the lines of `source` up to the first with a step above `keep_through_step`, the rows a
// resumed run continues from; a malformed line among them throws (file untouched).  Nothing is
// written until commit(): then the file is cut back to (or rewritten with) those lines and the
// lines written since open() follow; after it each line is one write(2) on an O_APPEND
// descriptor.  Pitfall: a run that never commits leaves the file as it was.
class append_log {
 public:
  using step_of_line = bool (*)(const std::string& header, const std::string& line,
                                std::int64_t& step);

  // `source` may equal `path` (resume in place), be another file (resume into a new --out), or
  // be empty (a fresh run).  A missing source is a fresh start.  A CSV source (`header` given)
  // keeps its own header, extra columns included.
  void open(const std::string& path, const std::string& source, std::int64_t keep_through_step,
            const std::string& header, step_of_line step_of) {
    path_ = path;
    pending_.clear();
    std::string text;
    if (!source.empty() && file_exists(source)) text = read_file_bytes(source);
    const std::vector<std::string> lines = metrics_detail::complete_lines(text);
    std::size_t first = 0;
    header_ = header;
    if (!header.empty() && !lines.empty()) {
      header_ = lines[0];
      first = 1;
      require(
          metrics_detail::split(header_, ',')[0] == "step",
          source + ":1: the header '" + header_ + "' does not start with 'step': not written " +
              "by `charlstm train`; the file was left as it is: move it aside to start a new log");
    }
    kept_ = header_.empty() ? "" : header_ + "\n";
    for (std::size_t k = first; k < lines.size(); ++k) {
      std::int64_t step = 0;
      require(step_of(header_, lines[k], step),
              source + ":" + std::to_string(k + 1) + ": malformed line '" + lines[k].substr(0, 80) +
                  "': the log was left as it is; correct or delete that line, or move the file " +
                  "aside, and run again");
      if (step > keep_through_step) break;
      kept_ += lines[k] + "\n";
    }
    in_place_ = source == path && text.compare(0, kept_.size(), kept_) == 0;
  }

  // The run's first save is done: the file now becomes the kept lines and those written since.
  void commit() {
    if (committed_) return;
    // In place: cut the file back to the kept prefix, one ftruncate.  Otherwise: rewrite it.
    file_.open(path_, in_place_ ? kept_.size() : 0);
    committed_ = true;
    std::string lines = in_place_ ? std::string() : kept_;
    lines += pending_;
    pending_.clear();
    file_.write_line(lines);
  }

  // Appends `line` (newline included): in one write once committed, kept in memory before.
  void write_line(const std::string& line) {
    if (!committed_) {
      pending_ += line;
      return;
    }
    file_.write_line(line);
  }

  const std::string& path() const { return path_; }
  // The header line in use (the source file's, or the one given) and the lines kept from it.
  const std::string& header() const { return header_; }
  const std::string& kept() const { return kept_; }

 private:
  append_file file_;
  bool in_place_ = false, committed_ = false;
  std::string path_, header_, kept_, pending_;
};

// The metrics and samples of one training run: turns the trainer's running mean over an epoch
// into rows over intervals of steps, and appends them.
//   metrics_writer metrics(out, resume, model.steps, vocab.kind(), maxlen);
//   metrics.begin_epoch(0, 0);  ...  metrics.log(step, epoch, sequences_done, mean_loss, lr);
//   save_checkpoint(out, ...);  metrics.commit();
// Pitfall: call begin_epoch at each epoch's start, after validation and sampling, so that the
// throughput counts training time only; nothing reaches the files before commit().
class metrics_writer {
 public:
  // `model_path` is the checkpoint being written; `resumed_from` the checkpoint it continues
  // ("" for a fresh run), whose step count is `steps`; `tokens` the run's token kind, which
  // names a new file's columns (metrics_header); `tokens_per_sequence` converts sequences to
  // tokens for the throughput.  A resumed run's rows go under its file's own header, whichever
  // token that names (a word run logged before the names followed the token keeps its
  // char-named columns): the file stays one table.
  metrics_writer(const std::string& model_path, const std::string& resumed_from, std::int64_t steps,
                 token_kind tokens, double tokens_per_sequence)
      : tokens_per_sequence_(tokens_per_sequence) {
    const std::string metrics_source =
        resumed_from.empty() ? "" : existing_log_path(resumed_from, ".metrics.csv");
    csv_.open(metrics_path(model_path), metrics_source, steps, metrics_header(tokens), csv_step);
    samples_.open(samples_path(model_path),
                  resumed_from.empty() ? "" : existing_log_path(resumed_from, ".samples.jsonl"),
                  steps, "", sample_step);
    columns_ = metrics_columns(csv_.header());
    const std::vector<metrics_row> rows = parse_metrics(csv_.kept(), csv_.path());
    if (!rows.empty()) elapsed_before_ = rows.back().elapsed_s;
  }

  // The checkpoint of this run was saved: the logs are written from now on (see append_log).
  void commit() {
    csv_.commit();
    samples_.commit();
  }

  // An epoch starts (or resumes) with `sequences_done` already trained at mean loss `mean_loss`.
  void begin_epoch(index sequences_done, double mean_loss) {
    sequences_ = sequences_done;
    loss_sum_ = mean_loss * static_cast<double>(sequences_done);
    interval_start_ = clock::now();
    paused_ = false;
  }

  // Training stops here (validation and sampling follow): the next row's throughput ends now.
  void pause() {
    pause_time_ = clock::now();
    paused_ = true;
  }

  // Appends the row for the steps since the previous row.  `val_loss` NaN: not measured.
  void log(std::int64_t step, double epoch, index sequences_done, double mean_loss, double lr,
           double val_loss = std::numeric_limits<double>::quiet_NaN()) {
    const auto now = clock::now();
    const double seconds =
        std::chrono::duration<double>((paused_ ? pause_time_ : now) - interval_start_).count();
    const double loss_sum = mean_loss * static_cast<double>(sequences_done);
    const index sequences = sequences_done - sequences_;
    metrics_row row;
    row.step = step;
    row.epoch = epoch;
    if (sequences > 0) {
      row.train_loss = (loss_sum - loss_sum_) / static_cast<double>(sequences);
      if (seconds > 0)
        row.tokens_per_s = static_cast<double>(sequences) * tokens_per_sequence_ / seconds;
    }
    row.val_loss = val_loss;
    row.lr = lr;
    row.elapsed_s = elapsed_before_ + std::chrono::duration<double>(now - start_).count();
    csv_.write_line(format_metrics_row(row, columns_));
    sequences_ = sequences_done;
    loss_sum_ = loss_sum;
    interval_start_ = now;
  }

  void sample(const sample_record& s) { samples_.write_line(format_sample(s)); }

  const std::string& csv_path() const { return csv_.path(); }
  const std::string& samples_file() const { return samples_.path(); }

 private:
  using clock = std::chrono::steady_clock;
  append_log csv_, samples_;
  std::vector<std::string> columns_;
  double tokens_per_sequence_;
  double elapsed_before_ = 0, loss_sum_ = 0;
  index sequences_ = 0;
  clock::time_point start_ = clock::now(), interval_start_ = start_, pause_time_ = start_;
  bool paused_ = false;

  static bool csv_step(const std::string& header, const std::string& line, std::int64_t& step) {
    metrics_row row;
    if (!parse_metrics_line(metrics_columns(header), line, row)) return false;
    step = row.step;
    return true;
  }
  static bool sample_step(const std::string&, const std::string& line, std::int64_t& step) {
    sample_record s;
    if (!parse_sample_line(line, s)) return false;
    step = s.step;
    return true;
  }
};

}  // namespace charlstm
