// charlstm/run/report.hpp: the training report as one self-contained HTML page for one run or
// several overlaid: inline SVG line charts (loss in nats and bits per token, character or word,
// against wall time and epochs, throughput, the learning rate as steps), the command of each run
// and the samples of each epoch.  No JavaScript, no network, no external fonts or stylesheets: the
// file opens anywhere, also offline, and prints.  Every text from the run is HTML-escaped. The
// charts are run/chart.hpp's.  No Eigen. Part of the tool's run files (charlstm/run/), not of the
// library's umbrella charlstm.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "chart.hpp"
#include "metrics_format.hpp"

namespace charlstm {

// One training run as the page shows it, gathered by the caller (the CLI reads the checkpoint
// and the logs beside it).
struct report_run {
  std::string name;     // the legend's label, e.g. the checkpoint's file name
  std::string command;  // the command that reproduces the run
  std::string summary;  // e.g. "corpus nietzsche · 2 × LSTM(256) · 57 symbols · 1,234 steps"
  std::vector<metrics_row> rows;
  std::vector<sample_record> samples;
};

// What the page shows: one run, or several overlaid (each in its own colour).
struct report_input {
  std::string title;           // e.g. the checkpoint's file name
  std::string subtitle;        // e.g. "charlstm training report"
  std::string token = "char";  // what the losses are per: "char", "word", or "token" (a mix)
  std::vector<report_run> runs;
};

namespace report_detail {

using chart_detail::fixed;

inline const char* page_style() {
  return R"(:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2937;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","DejaVu Sans",sans-serif}
main{max-width:900px;margin:0 auto;padding:32px 24px 64px}
header h1{margin:0;font-size:26px;font-weight:650;letter-spacing:-.01em}
header p{margin:4px 0 0;color:#6b7280}
h2{font-size:17px;font-weight:650;margin:36px 0 12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin-top:24px}
.card,.panel{background:#fff;border:1px solid #e5e7eb;border-radius:10px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card{padding:14px 16px}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:#6b7280}
.card .value{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card .unit{font-size:14px;font-weight:500;color:#6b7280}
.card .note{font-size:13px;color:#6b7280}
.panel{padding:12px}
svg.chart{display:block;width:100%;height:auto;font-size:12px;fill:#4b5563}
svg.chart .chart-title{font-size:14px;font-weight:600;fill:#1f2937}
svg.chart .axis-title{font-size:12.5px;fill:#374151}
svg.chart .legend text{font-size:12.5px;fill:#374151}
svg.chart .marker-label{font-size:11px;fill:#94a3b8}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
td{padding:7px 12px;border-top:1px solid #f0f1f3;vertical-align:top}
tr:first-child td{border-top:0}
th{text-align:left;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#6b7280;padding:6px 12px}
.runs tr.command td{border-top:0;padding-top:0}
code{display:block;font:12.5px/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;color:#374151;background:#f8fafc;border:1px solid #eef0f3;border-radius:6px;padding:6px 8px;white-space:pre-wrap;word-break:break-all}
.runs .note{font-size:13px;color:#6b7280;margin-bottom:4px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:8px;vertical-align:-1px}
h3.run{font-size:15px;margin:20px 0 8px}
.panel+.panel{margin-top:12px}
details{background:#fff;border:1px solid #e5e7eb;border-radius:10px;margin:10px 0}
summary{cursor:pointer;padding:10px 14px;font-weight:600}
summary .note{font-weight:400;color:#6b7280}
.sample{padding:0 14px 12px}
.sample h3{margin:8px 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:#6b7280}
pre{margin:0;padding:10px 12px;background:#f8fafc;border:1px solid #eef0f3;border-radius:8px;white-space:pre-wrap;word-wrap:break-word;font:13px/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre .seed{color:#94a3b8}
.empty{color:#6b7280;font-style:italic}
footer{margin-top:40px;color:#9ca3af;font-size:12px}
)";
}

// A summary card; `value`'s unit (after its first space) is set smaller.
inline std::string card(const std::string& label, const std::string& value,
                        const std::string& note) {
  const auto space = value.find(' ');
  const std::string unit = space == std::string::npos ? "" : value.substr(space + 1);
  return "<div class=\"card\"><div class=\"label\">" + html_escape(label) +
         "</div><div class=\"value\">" + html_escape(value.substr(0, space)) +
         (unit.empty() ? "" : " <span class=\"unit\">" + html_escape(unit) + "</span>") +
         "</div><div class=\"note\">" + html_escape(note) + "</div></div>\n";
}

inline std::string duration(double seconds) {
  const long s = std::lround(seconds);
  char buf[32];
  if (seconds < 10) return fixed(seconds, 1) + " s";
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld min", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld h", s / 3600, (s / 60) % 60, s % 60);
  }
  return buf;
}

// An epoch count: "3" at an epoch's end, "2.47" part-way.
inline std::string epochs(double e) { return e == std::floor(e) ? fixed(e, 0) : fixed(e, 2); }

}  // namespace report_detail

namespace report_detail {

// The runs' colours, in order (Tailwind's 600 shades: distinct, and legible on white).
inline const char* run_color(std::size_t k) {
  static const char* const colors[] = {"#2563eb", "#ea580c", "#059669", "#7c3aed",
                                       "#db2777", "#0891b2", "#ca8a04", "#4b5563"};
  return colors[k % (sizeof colors / sizeof colors[0])];
}

// The best (lowest) validation row of a run, or null.
inline const metrics_row* best_row(const std::vector<metrics_row>& rows) {
  const metrics_row* best = nullptr;
  for (const auto& r : rows) {
    if (std::isfinite(r.val_loss) && (!best || r.val_loss < best->val_loss)) best = &r;
  }
  return best;
}

inline double median_speed(const std::vector<metrics_row>& rows) {
  std::vector<double> speeds;
  for (const auto& r : rows) {
    if (std::isfinite(r.tokens_per_s)) speeds.push_back(r.tokens_per_s);
  }
  if (speeds.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(speeds.begin(), speeds.end());
  return speeds[speeds.size() / 2];
}

inline std::string speed_text(double v) {
  return v >= 1e6 ? fixed(v / 1e6, 2) + "M" : fixed(v / 1e3, 1) + "k";
}

}  // namespace report_detail

// The whole page: summary, the loss against wall time and against epochs (every run overlaid,
// validation solid with markers, training dashed), the throughput, the learning rate as steps,
// each run's command, and the samples per epoch headed by that epoch's validation loss.
//   write_file_atomically(report_path(model), render_report(input));
inline std::string render_report(const report_input& in) {
  using report_detail::card;
  using chart_detail::fixed;
  const double ln2 = std::log(2.0);
  const std::string per = "/" + in.token;           // "/char"
  const std::string per_spaced = " / " + in.token;  // "nats / char"
  const bool several = in.runs.size() > 1;
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>" +
      html_escape(in.title) + " · charlstm report</title>\n<style>" + report_detail::page_style() +
      "</style>\n</head>\n<body>\n<main>\n";
  html += "<header><h1>" + html_escape(in.title) + "</h1><p>" + html_escape(in.subtitle) +
          "</p></header>\n";

  // Summary cards for one run; for several, the table of runs below says the same per run.
  if (in.runs.size() == 1) {
    const report_run& run = in.runs.front();
    const metrics_row* best = report_detail::best_row(run.rows);
    const metrics_row* last_train = nullptr;
    for (const auto& r : run.rows) {
      if (std::isfinite(r.train_loss)) last_train = &r;
    }
    html += "<section class=\"cards\">\n";
    if (best) {
      html +=
          card("Best validation loss", fixed(best->val_loss, 4) + " nats" + per,
               fixed(best->val_loss / ln2, 4) + " bits" + per + " at step " +
                   std::to_string(best->step) + " (epoch " + report_detail::epochs(best->epoch) +
                   ", " + report_detail::duration(best->elapsed_s) + ")");
    }
    if (last_train) {
      html += card("Last training loss", fixed(last_train->train_loss, 4) + " nats" + per,
                   fixed(last_train->train_loss / ln2, 4) + " bits" + per + " at step " +
                       std::to_string(last_train->step));
    }
    const double speed = report_detail::median_speed(run.rows);
    if (std::isfinite(speed)) {
      html += card("Throughput", report_detail::speed_text(speed) + " " + in.token + "s/s",
                   "median over the logged intervals");
    }
    if (!run.rows.empty()) {
      html += card("Training time", report_detail::duration(run.rows.back().elapsed_s),
                   std::to_string(run.rows.back().step) + " steps, " +
                       report_detail::epochs(run.rows.back().epoch) + " epochs");
    }
    html += "</section>\n";
  }

  // The runs: colour, best validation loss and when, time, speed, and the command.
  html += std::string("<h2>") + (several ? "Runs" : "Run") +
          "</h2>\n<div class=\"panel\"><table class=\"runs\">\n"
          "<tr><th>run</th><th>best validation</th><th>reached at</th><th>trained</th>"
          "<th>speed</th></tr>\n";
  for (std::size_t k = 0; k < in.runs.size(); ++k) {
    const report_run& run = in.runs[k];
    const metrics_row* best = report_detail::best_row(run.rows);
    const double speed = report_detail::median_speed(run.rows);
    html +=
        "<tr><td><span class=\"swatch\" style=\"background:" +
        std::string(report_detail::run_color(k)) + "\"></span>" + html_escape(run.name) +
        "</td><td>" +
        (best ? fixed(best->val_loss, 4) + " nats" + per + " (" + fixed(best->val_loss / ln2, 3) +
                    " bits" + per + ")"
              : std::string("—")) +
        "</td><td>" +
        (best ? "epoch " + report_detail::epochs(best->epoch) + ", " +
                    report_detail::duration(best->elapsed_s)
              : std::string("—")) +
        "</td><td>" +
        (run.rows.empty() ? std::string("—")
                          : report_detail::duration(run.rows.back().elapsed_s) + ", " +
                                report_detail::epochs(run.rows.back().epoch) + " epochs") +
        "</td><td>" +
        (std::isfinite(speed) ? report_detail::speed_text(speed) + " " + in.token + "s/s"
                              : std::string("—")) +
        "</td></tr>\n<tr class=\"command\"><td colspan=\"5\">" +
        (run.summary.empty() ? "" : "<div class=\"note\">" + html_escape(run.summary) + "</div>") +
        "<code>" + html_escape(run.command) + "</code></td></tr>\n";
  }
  html += "</table></div>\n";

  // Charts.
  bool any_rows = false, lr_changes = false;
  double max_elapsed = 0;
  for (const auto& run : in.runs) {
    any_rows = any_rows || !run.rows.empty();
    for (const auto& r : run.rows) {
      max_elapsed = std::max(max_elapsed, r.elapsed_s);
      lr_changes = lr_changes || (std::isfinite(r.lr) && r.lr != run.rows.front().lr);
    }
  }
  lr_changes = lr_changes || several;  // several runs: their rates side by side
  html += "<h2>Loss</h2>\n";
  if (!any_rows) {
    html += "<p class=\"empty\">No metrics were logged yet.</p>\n";
  } else {
    const bool minutes = max_elapsed >= 120;
    const std::string time_label = minutes ? "wall time (min)" : "wall time (s)";
    const double time_unit = minutes ? 60 : 1;
    line_chart by_time, by_epoch, speed, rate;
    by_time.title = "Loss per " + in.token + " against wall time";
    by_time.x_label = time_label;
    by_epoch.title = "Loss per " + in.token + " against epochs";
    by_epoch.x_label = "epoch";
    for (line_chart* c : {&by_time, &by_epoch}) {
      c->y_label = "nats" + per_spaced;
      c->y2_label = "bits" + per_spaced;
      c->y2_scale = 1 / ln2;
    }
    speed.title = "Training throughput";
    speed.x_label = time_label;
    speed.y_label = in.token + "s / s";
    speed.height = 260;
    rate.title = "Learning rate";
    rate.x_label = "epoch";
    rate.y_label = "learning rate";
    rate.height = 240;
    for (std::size_t k = 0; k < in.runs.size(); ++k) {
      const report_run& run = in.runs[k];
      const std::string color = report_detail::run_color(k);
      const std::string prefix = several ? run.name + " " : "";
      // One run: training blue, validation orange; several: one colour per run, the line's
      // style telling training (dashed) from validation (solid, with dots).
      chart_series train_t{prefix + "training", color, {}, run.rows.size() < 2};
      train_t.dash = "5 4";
      train_t.width = several ? 1.6 : 2;
      train_t.opacity = several ? 0.75 : 1;
      chart_series val_t{prefix + "validation", several ? color : "#ea580c", {}, true};
      chart_series train_e = train_t, val_e = val_t;
      chart_series chars{prefix + in.token + "s/s", color, {}, run.rows.size() < 2};
      chart_series lr{prefix + "learning rate", color, {}, run.rows.size() < 2};
      lr.steps = true;
      for (const auto& r : run.rows) {
        const double t = r.elapsed_s / time_unit;
        train_t.points.emplace_back(t, r.train_loss);
        val_t.points.emplace_back(t, r.val_loss);
        train_e.points.emplace_back(r.epoch, r.train_loss);
        val_e.points.emplace_back(r.epoch, r.val_loss);
        chars.points.emplace_back(t, r.tokens_per_s);
        lr.points.emplace_back(r.epoch, r.lr);
        if (!several && std::isfinite(r.val_loss) && r.epoch == std::floor(r.epoch) &&
            r.epoch > 0) {
          by_time.x_markers.emplace_back(t, "epoch " + fixed(r.epoch, 0));
        }
      }
      by_time.series.push_back(train_t);
      by_time.series.push_back(val_t);
      by_epoch.series.push_back(train_e);
      by_epoch.series.push_back(val_e);
      speed.series.push_back(chars);
      rate.series.push_back(lr);
      if (several) {
        by_time.legend.push_back({run.name, color, "", false});
        speed.legend.push_back({run.name, color, "", false});
        rate.legend.push_back({run.name, color, "", false});
      }
    }
    if (several) {
      by_time.legend.push_back({"validation", "#6b7280", "", true});
      by_time.legend.push_back({"training", "#6b7280", "5 4", false});
    }
    by_epoch.legend = by_time.legend;
    html += "<div class=\"panel\">" + render_svg(by_time) + "</div>\n";
    html += "<div class=\"panel\">" + render_svg(by_epoch) + "</div>\n";
    html += "<h2>Throughput</h2>\n<div class=\"panel\">" + render_svg(speed) + "</div>\n";
    if (lr_changes) {
      html += "<h2>Learning rate</h2>\n<div class=\"panel\">" + render_svg(rate) + "</div>\n";
    }
  }

  // Samples, grouped by the step they were drawn at, each headed by the validation loss logged
  // at that step; the newest of each run open.
  html += "<h2>Samples</h2>\n";
  for (std::size_t r = 0; r < in.runs.size(); ++r) {
    const report_run& run = in.runs[r];
    if (several) {
      html += "<h3 class=\"run\"><span class=\"swatch\" style=\"background:" +
              std::string(report_detail::run_color(r)) + "\"></span>" + html_escape(run.name) +
              "</h3>\n";
    }
    if (run.samples.empty()) html += "<p class=\"empty\">No samples were recorded.</p>\n";
    for (std::size_t k = 0; k < run.samples.size();) {
      std::size_t end = k;
      while (end < run.samples.size() && run.samples[end].step == run.samples[k].step) ++end;
      const sample_record& first = run.samples[k];
      double val = std::numeric_limits<double>::quiet_NaN();
      for (const auto& row : run.rows) {
        if (row.step == first.step && std::isfinite(row.val_loss)) val = row.val_loss;
      }
      html += std::string("<details") + (end == run.samples.size() ? " open" : "") +
              "><summary>Epoch " + std::to_string(first.epoch) +
              (std::isfinite(val) ? " · validation loss " + fixed(val, 4) + " nats" + per + " (" +
                                        fixed(val / ln2, 3) + " bits" + per + ")"
                                  : std::string()) +
              " <span class=\"note\">· step " + std::to_string(first.step) + "</span></summary>\n";
      for (; k < end; ++k) {
        const sample_record& s = run.samples[k];
        char t[32];
        std::snprintf(t, sizeof t, "%g", s.temperature);
        html += "<div class=\"sample\"><h3>temperature " + std::string(t) +
                "</h3><pre><span class=\"seed\">" + html_escape(s.seed) + "</span>" +
                html_escape(s.text) + "</pre></div>\n";
      }
      html += "</details>\n";
    }
  }
  html += std::string("<footer>Written by charlstm ") + version_string +
          " · training loss is the mean over the steps since the previous point (dashed); "
          "validation loss is measured at each epoch's end (dots); wall time includes loading, "
          "validation, sampling and saving.</footer>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace charlstm
