// charlstm/run/report.hpp: the training report as one self-contained HTML page: inline SVG line
// charts (loss in nats and bits per character, throughput, learning rate), the hyperparameters
// and the samples of each epoch.  No JavaScript, no network, no external fonts or stylesheets:
// the file opens anywhere, also offline, and prints.  Every text from the run is HTML-escaped.
// Not a plotting library: linear axes, lines and markers, what the report needs.  No Eigen.
// Part of the tool's run files (charlstm/run/), not of the library's umbrella charlstm.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "metrics.hpp"

namespace charlstm {

// Text safe inside HTML elements and attribute values.
//   html_escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;"
inline std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

struct chart_series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are left out
  bool markers = false;                           // a dot at every point
};

struct line_chart {
  std::string title, x_label, y_label;
  std::vector<chart_series> series;
  std::string y2_label;  // a right axis showing y * y2_scale, e.g. bits = nats / ln 2
  double y2_scale = 0;   // 0: no right axis
  std::vector<std::pair<double, std::string>> x_markers;  // labelled vertical lines (epoch ends)
  int width = 760, height = 330;
};

namespace report_detail {

inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi], about `count` of them.
inline std::vector<double> nice_ticks(double lo, double hi, int count, double& step) {
  const double raw = (hi - lo) / std::max(1, count);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double unit = raw / power;
  step = power * (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

// A tick label: as many decimals as the step needs; thousands as "k", millions as "M".
inline std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  const double a = std::max(std::abs(v), step);
  if (a >= 1e6 && step >= 1e5) return fixed(v / 1e6, step >= 1e6 ? 0 : 1) + "M";
  if (a >= 1e4 && step >= 1e3) return fixed(v / 1e3, step >= 1e3 ? 0 : 1) + "k";
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  return fixed(v, std::min(decimals, 6));
}

// [lo, hi] of the finite values, widened so that a flat or single-valued series still shows.
inline void range_of(const std::vector<double>& values, double& lo, double& hi, double pad) {
  lo = HUGE_VAL;
  hi = -HUGE_VAL;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo > hi) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    const double half = std::max(std::abs(hi) * 0.05, 1e-3);
    lo -= half;
    hi += half;
  }
  const double margin = (hi - lo) * pad;
  lo -= margin;
  hi += margin;
}

}  // namespace report_detail

// The chart as an inline <svg> element: axes with tick labels, a light grid, the series as
// <polyline> elements (markers as <circle>), a legend.  Sized by its viewBox, so it scales.
//   std::string svg = render_svg(chart);
// Pitfall: a series with fewer than two finite points draws no line; give it markers.
inline std::string render_svg(const line_chart& c) {
  using report_detail::fixed;
  const double left = 64, right = c.y2_scale > 0 ? 64 : 24, top = 40, bottom = 52;
  const double plot_w = c.width - left - right, plot_h = c.height - top - bottom;
  std::vector<double> xs, ys;
  for (const auto& s : c.series) {
    for (const auto& p : s.points) {
      if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
      xs.push_back(p.first);
      ys.push_back(p.second);
    }
  }
  double x0, x1, y0, y1;
  report_detail::range_of(xs, x0, x1, 0.0);
  report_detail::range_of(ys, y0, y1, 0.06);
  const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  const auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * plot_h; };

  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    std::to_string(c.width) + " " + std::to_string(c.height) +
                    "\" role=\"img\" aria-label=\"" + html_escape(c.title) + "\">\n";
  svg += "<rect x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" +
         fixed(plot_w, 1) + "\" height=\"" + fixed(plot_h, 1) + "\" fill=\"#ffffff\"/>\n";
  double step = 1;
  svg += "<g class=\"grid\">\n";
  for (double t : report_detail::nice_ticks(y0, y1, 6, step)) {
    const std::string y = fixed(py(t), 1);
    svg += "<line x1=\"" + fixed(left, 1) + "\" x2=\"" + fixed(left + plot_w, 1) + "\" y1=\"" + y +
           "\" y2=\"" + y + "\" stroke=\"#e5e7eb\"/>\n";
    svg += "<text x=\"" + fixed(left - 8, 1) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" +
           report_detail::tick_label(t, step) + "</text>\n";
  }
  if (c.y2_scale > 0) {
    double step2 = 1;
    for (double t : report_detail::nice_ticks(y0 * c.y2_scale, y1 * c.y2_scale, 6, step2)) {
      svg += "<text x=\"" + fixed(left + plot_w + 8, 1) + "\" y=\"" + fixed(py(t / c.y2_scale), 1) +
             "\" dominant-baseline=\"middle\">" + report_detail::tick_label(t, step2) + "</text>\n";
    }
  }
  for (double t : report_detail::nice_ticks(x0, x1, 7, step)) {
    const std::string x = fixed(px(t), 1);
    svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + fixed(top + plot_h, 1) + "\" y2=\"" +
           fixed(top + plot_h + 5, 1) + "\" stroke=\"#9ca3af\"/>\n";
    svg += "<text x=\"" + x + "\" y=\"" + fixed(top + plot_h + 20, 1) +
           "\" text-anchor=\"middle\">" + report_detail::tick_label(t, step) + "</text>\n";
  }
  svg += "</g>\n";
  // Epoch ends: dashed lines, labelled while the labels do not crowd each other.
  const std::size_t every = c.x_markers.size() / 12 + 1;
  for (std::size_t k = 0; k < c.x_markers.size(); ++k) {
    const double x = px(c.x_markers[k].first);
    if (!(x >= left - 0.5 && x <= left + plot_w + 0.5)) continue;
    svg += "<line class=\"marker\" x1=\"" + fixed(x, 1) + "\" x2=\"" + fixed(x, 1) + "\" y1=\"" +
           fixed(top, 1) + "\" y2=\"" + fixed(top + plot_h, 1) +
           "\" stroke=\"#cbd5e1\" stroke-dasharray=\"4 4\"/>\n";
    if ((k + 1) % every == 0 || k + 1 == c.x_markers.size()) {
      svg += "<text class=\"marker-label\" x=\"" + fixed(x - 4, 1) + "\" y=\"" +
             fixed(top + 12, 1) + "\" text-anchor=\"end\">" + html_escape(c.x_markers[k].second) +
             "</text>\n";
    }
  }
  svg += "<rect x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" +
         fixed(plot_w, 1) + "\" height=\"" + fixed(plot_h, 1) +
         "\" fill=\"none\" stroke=\"#9ca3af\"/>\n";
  for (const auto& s : c.series) {
    std::string points;
    std::string dots;
    for (const auto& p : s.points) {
      if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
      const std::string xy = fixed(px(p.first), 1) + "," + fixed(py(p.second), 1);
      points += (points.empty() ? "" : " ") + xy;
      if (s.markers) {
        dots += "<circle cx=\"" + fixed(px(p.first), 1) + "\" cy=\"" + fixed(py(p.second), 1) +
                "\" r=\"3.5\" fill=\"" + s.color + "\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>\n";
      }
    }
    svg += "<polyline class=\"series\" data-series=\"" + html_escape(s.name) +
           "\" fill=\"none\" stroke=\"" + s.color +
           "\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"" +
           points + "\"/>\n" + dots;
  }
  // Axis titles and the legend, above the plot on the right.
  svg += "<text class=\"axis-title\" x=\"" + fixed(left + plot_w / 2, 1) + "\" y=\"" +
         fixed(c.height - 10.0, 1) + "\" text-anchor=\"middle\">" + html_escape(c.x_label) +
         "</text>\n";
  svg += "<text class=\"axis-title\" transform=\"translate(16 " + fixed(top + plot_h / 2, 1) +
         ") rotate(-90)\" text-anchor=\"middle\">" + html_escape(c.y_label) + "</text>\n";
  if (c.y2_scale > 0) {
    svg += "<text class=\"axis-title\" transform=\"translate(" + fixed(c.width - 14.0, 1) + " " +
           fixed(top + plot_h / 2, 1) + ") rotate(90)\" text-anchor=\"middle\">" +
           html_escape(c.y2_label) + "</text>\n";
  }
  double lx = left + plot_w;
  for (auto it = c.series.rbegin(); it != c.series.rend(); ++it) {
    const double w = 34 + 7.2 * static_cast<double>(it->name.size());
    lx -= w;
    svg += "<g class=\"legend\"><line x1=\"" + fixed(lx, 1) + "\" x2=\"" + fixed(lx + 20, 1) +
           "\" y1=\"20\" y2=\"20\" stroke=\"" + it->color +
           "\" stroke-width=\"3\" stroke-linecap=\"round\"/><text x=\"" + fixed(lx + 26, 1) +
           "\" y=\"20\" dominant-baseline=\"middle\">" + html_escape(it->name) + "</text></g>\n";
  }
  svg += "<text class=\"chart-title\" x=\"" + fixed(left, 1) + "\" y=\"20\" " +
         "dominant-baseline=\"middle\">" + html_escape(c.title) + "</text>\n";
  return svg + "</svg>\n";
}

// What the page shows, gathered by the caller (the CLI reads the checkpoint and the logs).
struct report_input {
  std::string title;     // e.g. the checkpoint's file name
  std::string subtitle;  // e.g. "corpus nietzsche.txt · 3 epochs · 171 steps"
  std::vector<std::pair<std::string, std::string>> hyperparameters;  // shown in this order
  std::vector<metrics_row> rows;
  std::vector<sample_record> samples;
};

namespace report_detail {

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
td:first-child{color:#6b7280;width:38%;font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
td:last-child{word-break:break-all}
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

// The whole page.
//   write_file_atomically(report_path(model), render_report(input));
inline std::string render_report(const report_input& in) {
  using report_detail::card;
  using report_detail::fixed;
  const double ln2 = std::log(2.0);
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>" +
      html_escape(in.title) + " · charlstm report</title>\n<style>" + report_detail::page_style() +
      "</style>\n</head>\n<body>\n<main>\n";
  html += "<header><h1>" + html_escape(in.title) + "</h1><p>" + html_escape(in.subtitle) +
          "</p></header>\n";

  // Summary cards.
  const metrics_row* best = nullptr;
  const metrics_row* last_train = nullptr;
  std::vector<double> speeds;
  for (const auto& r : in.rows) {
    if (std::isfinite(r.val_loss) && (!best || r.val_loss < best->val_loss)) best = &r;
    if (std::isfinite(r.train_loss)) last_train = &r;
    if (std::isfinite(r.chars_per_s)) speeds.push_back(r.chars_per_s);
  }
  html += "<section class=\"cards\">\n";
  if (best) {
    html +=
        card("Best validation loss", fixed(best->val_loss, 4) + " nats",
             fixed(best->val_loss / ln2, 4) + " bits/char at step " + std::to_string(best->step) +
                 " (epoch " + report_detail::epochs(best->epoch) + ")");
  }
  if (last_train) {
    html += card("Last training loss", fixed(last_train->train_loss, 4) + " nats",
                 fixed(last_train->train_loss / ln2, 4) + " bits/char at step " +
                     std::to_string(last_train->step));
  }
  if (!speeds.empty()) {
    std::sort(speeds.begin(), speeds.end());
    const double median = speeds[speeds.size() / 2];
    html += card(
        "Throughput",
        (median >= 1e6 ? fixed(median / 1e6, 2) + "M" : fixed(median / 1e3, 1) + "k") + " chars/s",
        "median over " + std::to_string(speeds.size()) + " logged intervals");
  }
  if (!in.rows.empty()) {
    html += card("Training time", report_detail::duration(in.rows.back().elapsed_s),
                 std::to_string(in.rows.back().step) + " steps, " +
                     report_detail::epochs(in.rows.back().epoch) + " epochs");
  }
  html += "</section>\n";

  // Charts.
  html += "<h2>Loss</h2>\n";
  if (in.rows.empty()) {
    html += "<p class=\"empty\">No metrics were logged yet.</p>\n";
  } else {
    line_chart loss;
    loss.title = "Loss per character";
    loss.x_label = "optimizer step";
    loss.y_label = "nats / char";
    loss.y2_label = "bits / char";
    loss.y2_scale = 1 / ln2;
    chart_series train{"training", "#2563eb", {}, false}, val{"validation", "#ea580c", {}, true};
    line_chart speed;
    speed.title = "Training throughput";
    const bool minutes = in.rows.back().elapsed_s >= 120;
    speed.x_label = minutes ? "elapsed time (min)" : "elapsed time (s)";
    speed.y_label = "characters / s";
    speed.height = 260;
    chart_series chars{"chars/s", "#059669", {}, false};
    line_chart rate;
    rate.title = "Learning rate";
    rate.x_label = "optimizer step";
    rate.y_label = "learning rate";
    rate.height = 220;
    chart_series lr{"learning rate", "#7c3aed", {}, false};
    bool lr_changes = false;
    for (const auto& r : in.rows) {
      const double x = static_cast<double>(r.step);
      train.points.emplace_back(x, r.train_loss);
      val.points.emplace_back(x, r.val_loss);
      chars.points.emplace_back(r.elapsed_s / (minutes ? 60 : 1), r.chars_per_s);
      lr.points.emplace_back(x, r.lr);
      lr_changes = lr_changes || (std::isfinite(r.lr) && r.lr != in.rows.front().lr);
      if (std::isfinite(r.val_loss) && r.epoch == std::floor(r.epoch) && r.epoch > 0) {
        loss.x_markers.emplace_back(x, "epoch " + fixed(r.epoch, 0));
        rate.x_markers.emplace_back(x, "epoch " + fixed(r.epoch, 0));
      }
    }
    train.markers = in.rows.size() < 2;
    chars.markers = in.rows.size() < 2;
    loss.series = {train, val};
    html += "<div class=\"panel\">" + render_svg(loss) + "</div>\n";
    html += "<h2>Throughput</h2>\n";
    speed.series = {chars};
    html += "<div class=\"panel\">" + render_svg(speed) + "</div>\n";
    if (lr_changes) {
      html += "<h2>Learning rate</h2>\n";
      rate.series = {lr};
      html += "<div class=\"panel\">" + render_svg(rate) + "</div>\n";
    }
  }

  html += "<h2>Hyperparameters</h2>\n<div class=\"panel\"><table>\n";
  for (const auto& kv : in.hyperparameters) {
    html +=
        "<tr><td>" + html_escape(kv.first) + "</td><td>" + html_escape(kv.second) + "</td></tr>\n";
  }
  html += "</table></div>\n";

  // Samples, grouped by the step they were drawn at; the newest open.
  html += "<h2>Samples</h2>\n";
  if (in.samples.empty()) html += "<p class=\"empty\">No samples were recorded.</p>\n";
  for (std::size_t k = 0; k < in.samples.size();) {
    std::size_t end = k;
    while (end < in.samples.size() && in.samples[end].step == in.samples[k].step) ++end;
    const sample_record& first = in.samples[k];
    html += std::string("<details") + (end == in.samples.size() ? " open" : "") +
            "><summary>Epoch " + std::to_string(first.epoch) + " <span class=\"note\">· step " +
            std::to_string(first.step) + "</span></summary>\n";
    for (; k < end; ++k) {
      const sample_record& s = in.samples[k];
      char t[32];
      std::snprintf(t, sizeof t, "%g", s.temperature);
      html += "<div class=\"sample\"><h3>temperature " + std::string(t) +
              "</h3><pre><span class=\"seed\">" + html_escape(s.seed) + "</span>" +
              html_escape(s.text) + "</pre></div>\n";
    }
    html += "</details>\n";
  }
  html += std::string("<footer>Written by charlstm ") + version_string +
          " · training loss is the mean over the steps since the previous point; validation loss "
          "is measured at each epoch's end.</footer>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace charlstm
