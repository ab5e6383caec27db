// `charlstm train`'s console on stderr: the plan, the progress (Keras's bar on a terminal,
// timed lines with the whole run's ETA elsewhere), the losses, the saves and the samples.
#include "progress.hpp"

#include <algorithm>
#include <charlstm/training.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace cli {

namespace {

// "12/43 [=======>......................]"
std::string bar(const charlstm::epoch_progress& p) {
  const int width = 30;
  const int filled =
      p.batches_total ? static_cast<int>(width * p.batches_done / p.batches_total) : width;
  std::string b(static_cast<std::size_t>(width), '.');
  for (int k = 0; k < filled; ++k) b[static_cast<std::size_t>(k)] = '=';
  if (filled < width) b[static_cast<std::size_t>(filled)] = '>';
  const std::string total = std::to_string(p.batches_total);
  std::string done = std::to_string(p.batches_done);
  done.insert(0, total.size() - std::min(total.size(), done.size()), ' ');
  return done + "/" + total + " [" + b + "]";
}

}  // namespace

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60) return std::to_string(s) + "s";
  char buf[32];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  }
  return buf;
}

run_plan plan_run(const charlstm::training_config& c, index batches_per_epoch, long epochs_done,
                  index epoch_batch, std::int64_t steps) {
  run_plan p;
  p.first_epoch = epochs_done + 1;
  p.first_step = steps;
  p.max_steps = c.max_steps;
  p.time_limit_s = c.time_limit * 60;
  p.patience = c.val_fraction > 0 ? c.patience : 0;
  const std::int64_t per_epoch = std::max<index>(1, batches_per_epoch);
  const std::int64_t to_epochs =
      epochs_done >= c.epochs ? 0 : (c.epochs - epochs_done) * per_epoch - epoch_batch;
  p.last_epoch = epochs_done >= c.epochs ? epochs_done : c.epochs;
  p.last_step = steps + to_epochs;
  if (c.max_steps > 0 && to_epochs > 0 && c.max_steps < p.last_step) {
    // The step limit is checked after each step: at least one step runs.
    const std::int64_t left = std::max<std::int64_t>(1, c.max_steps - steps);
    p.last_step = steps + left;
    p.last_epoch =
        epochs_done + static_cast<long>((epoch_batch + left + per_epoch - 1) / per_epoch);
  }
  return p;
}

console::console(const run_plan& plan, std::string unit, bool validation, bool terminal,
                 double progress_every)
    : plan_(plan),
      unit_(std::move(unit)),
      validation_(validation),
      terminal_(terminal),
      progress_every_(progress_every) {}

std::string console::run_eta(std::int64_t steps, bool why) const {
  const double elapsed = seconds_since(run_start_);
  const std::int64_t done = steps - plan_.first_step;
  const double by_steps =
      done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(plan_.last_step - steps)
               : std::numeric_limits<double>::infinity();
  if (plan_.time_limit_s > 0 && plan_.time_limit_s - elapsed < by_steps) {
    return format_duration(plan_.time_limit_s - elapsed) + (why ? " (--time-limit)" : "");
  }
  if (!std::isfinite(by_steps)) return "?";
  return format_duration(by_steps) +
         (why ? " (step " + std::to_string(plan_.last_step) + ")" : std::string());
}

void console::epoch_begin(const charlstm::epoch_begin& e) {
  if (!planned_) {
    // What this run will do, once: the header below counts to its real last epoch.
    planned_ = true;
    std::string sooner;
    if (plan_.time_limit_s > 0)
      sooner +=
          "--time-limit " + charlstm::training_detail::general(plan_.time_limit_s / 60) + " min";
    if (plan_.patience > 0) {
      sooner += (sooner.empty() ? "" : ", ") + std::string("--patience ") +
                std::to_string(plan_.patience);
    }
    std::fprintf(stderr, "run: epoch %ld to %ld, at most %lld steps (to step %lld%s)%s%s\n",
                 plan_.first_epoch, plan_.last_epoch,
                 static_cast<long long>(plan_.last_step - plan_.first_step),
                 static_cast<long long>(plan_.last_step),
                 plan_.max_steps > 0 && plan_.last_step == plan_.max_steps ? ", --max-steps" : "",
                 sooner.empty() ? "" : "; may end sooner: ", sooner.c_str());
  }
  // The time limit may end the run before its last epoch: the count is then a bound.
  std::fprintf(stderr, "Epoch %ld/%ld%s\n", e.epoch, std::max(e.epoch, plan_.last_epoch),
               plan_.time_limit_s > 0 ? " (at most: --time-limit)" : "");
  epoch_ = e.epoch;
  epoch_start_ = clock_type::now();
  last_draw_ = -1;
}

void console::step(const charlstm::step_end& s) {
  const charlstm::epoch_progress& p = s.progress;
  if (terminal_) {
    const double now = seconds_since(epoch_start_);
    if (now - last_draw_ < 0.1 && p.batches_done != p.batches_total) return;
    last_draw_ = now;
    const double per_batch =
        now / static_cast<double>(std::max<index>(1, p.batches_done - s.first_batch));
    const double eta = per_batch * static_cast<double>(p.batches_total - p.batches_done);
    std::fprintf(stderr, "\r%s - ETA: %s - loss: %.4f - run ETA: %s   ", bar(p).c_str(),
                 format_duration(eta).c_str(), p.mean_loss, run_eta(s.steps, false).c_str());
    std::fflush(stderr);
    return;
  }
  const double now = seconds_since(run_start_);
  if (now - last_line_ < progress_every_) return;
  last_line_ = now;
  std::fprintf(stderr, "epoch %ld/%ld - batch %ld/%ld - loss: %.4f - %s elapsed - ETA %s\n", epoch_,
               std::max(plan_.last_epoch, epoch_), static_cast<long>(p.batches_done),
               static_cast<long>(p.batches_total), p.mean_loss, format_duration(now).c_str(),
               run_eta(s.steps, true).c_str());
  std::fflush(stderr);
}

void console::epoch_trained(const charlstm::epoch_end& e) {
  const double total = seconds_since(epoch_start_);
  const double ms =
      1000 * total /
      static_cast<double>(std::max<index>(1, e.progress.batches_done - e.first_batch));
  std::fprintf(stderr, "%s%s - %s %.0fms/step - loss: %.4f\n", terminal_ ? "\r" : "",
               bar(e.progress).c_str(), format_duration(total).c_str(), ms, e.progress.mean_loss);
}

void console::epoch_end(const charlstm::epoch_end& e) {
  const double ln2 = std::log(2.0);
  const char* u = unit_.c_str();
  std::fprintf(stderr, "loss: %.4f nats/%s (%.4f bits/%s)", e.loss, u, e.loss / ln2, u);
  if (validation_) {
    std::fprintf(stderr, " - val_loss: %.4f nats/%s (%.4f bits/%s)", e.val_loss, u,
                 e.val_loss / ln2, u);
  }
  std::fprintf(stderr, " - lr: %.6g\n", e.learning_rate);
}

void console::saved(const charlstm::checkpoint_saved& s) {
  if (s.partial) {
    std::fprintf(stderr, "saved %s (epoch %ld stopped after batch %ld of %ld, %lld steps in all)\n",
                 s.path.c_str(), s.epoch, static_cast<long>(s.batches_done),
                 static_cast<long>(s.batches_total), static_cast<long long>(s.steps));
  } else {
    std::fprintf(stderr, "saved %s (epoch %ld, %lld steps in all)%s\n", s.path.c_str(), s.epoch,
                 static_cast<long long>(s.steps),
                 s.best_path.empty() ? "" : (", best validation so far: " + s.best_path).c_str());
  }
}

void console::sample_seed(const std::u32string& seed) {
  seed_ = seed;
  std::fprintf(stderr, "--- Generating with seed: \"%s\"\n", charlstm::encode_utf8(seed).c_str());
}

void console::sample_begin(double temperature) {
  std::fprintf(stderr, "------ temperature: %g\n%s", temperature,
               charlstm::encode_utf8(seed_).c_str());
}

void console::sample_piece(const std::u32string& piece) {
  std::fputs(charlstm::encode_utf8(piece).c_str(), stderr);
}

void console::sample_end() { std::fputs("\n", stderr); }

void print_corpus_summary(const charlstm::training_config& c, const charlstm::training_corpus& p,
                          const std::string& path) {
  const charlstm::training_data& data = p.data;
  const std::string words = p.vocab.kind() == charlstm::token_kind::word
                                ? std::to_string(p.tokens) + " word tokens, "
                                : "";
  const index val = c.val_fraction > 0 ? data.n_val : 0;
  std::fprintf(stderr, "corpus %s: %zu characters, %s%ld symbols; ", path.c_str(), p.characters,
               words.c_str(), static_cast<long>(p.vocab.size()));
  if (c.mode == charlstm::training_mode::sequence) {
    std::fprintf(stderr,
                 "%ld streams of %ld tokens in chunks of %ld (%ld per epoch), %ld validation "
                 "tokens; %ld layer(s) of %ld, %s\n",
                 static_cast<long>(c.batch), static_cast<long>(data.train_streams.stream_length()),
                 static_cast<long>(c.seq_len), static_cast<long>(data.train_streams.batches()),
                 static_cast<long>(val), static_cast<long>(c.layers), static_cast<long>(c.hidden),
                 charlstm::optimizer_name(c.optimizer));
  } else {
    std::fprintf(stderr, "%ld training windows, %ld validation windows\n",
                 static_cast<long>(data.train_windows.size()),
                 static_cast<long>(c.val_fraction > 0 ? data.val_windows.size() : 0));
  }
}

void console::run_ended(charlstm::stop_reason reason, long epochs_done, long bad_epochs,
                        double best_val, const std::string& out) {
  if (reason == charlstm::stop_reason::already_finished) {
    std::fprintf(stderr,
                 "the checkpoint has trained %ld epoch(s) already; pass --epochs above that to "
                 "continue\n",
                 epochs_done);
  } else if (reason == charlstm::stop_reason::already_stopped) {
    std::fprintf(stderr,
                 "the checkpoint stopped early (no better validation loss for %ld epochs)\n",
                 bad_epochs);
  } else if (reason == charlstm::stop_reason::early_stopping) {
    std::fprintf(stderr,
                 "early stopping: no better validation loss for %ld epochs (best %.4f nats/%s in "
                 "%s)\n",
                 bad_epochs, best_val, unit_.c_str(), charlstm::best_checkpoint_path(out).c_str());
  } else {
    // The last epoch, --max-steps or --time-limit: say where the run got to.
    const char* why = reason == charlstm::stop_reason::time_limit   ? "time limit reached"
                      : reason == charlstm::stop_reason::step_limit ? "step limit reached"
                                                                    : "last epoch done";
    if (validation_ && std::isfinite(best_val)) {
      std::fprintf(stderr, "%s: best validation loss %.4f nats/%s (%.4f bits/%s) in %s\n", why,
                   best_val, unit_.c_str(), best_val / std::log(2.0), unit_.c_str(),
                   charlstm::best_checkpoint_path(out).c_str());
    } else {
      std::fprintf(stderr, "%s: the model is in %s\n", why, out.c_str());
    }
  }
}

}  // namespace cli
