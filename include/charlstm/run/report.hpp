// charlstm/run/report.hpp: the training report as one self-contained HTML page for one run or
// several overlaid: inline SVG line charts (loss in nats and bits per character against wall time
// and against epochs, throughput, the learning rate as steps), the command of each run and the
// samples of each epoch.  No JavaScript, no network, no external fonts or stylesheets:
// the file opens anywhere, also offline, and prints.  Every text from the run is HTML-escaped.
// Not a plotting library: linear axes, lines and markers, what the report needs.  No Eigen.
// Part of the tool's run files (charlstm/run/), not of the library's umbrella charlstm.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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
  // A step function: each y holds from the previous point's x up to its own (the value in use
  // over the interval that ends at the point, as the learning rate of a logged row).
  bool steps = false;
  std::string dash{};  // stroke-dasharray, e.g. "5 4"; empty: solid
  double width = 2;    // stroke width
  double opacity = 1;  // stroke opacity
};

// A legend entry: a short line in the series' style (and a dot for series with markers).
struct legend_entry {
  std::string name, color, dash;
  bool marker = false;
};

struct line_chart {
  std::string title, x_label, y_label;
  std::vector<chart_series> series;
  std::string y2_label;  // a right axis showing y * y2_scale, e.g. bits = nats / ln 2
  double y2_scale = 0;   // 0: no right axis
  std::vector<std::pair<double, std::string>> x_markers;  // labelled vertical lines (epoch ends)
  std::vector<legend_entry> legend;  // empty: one entry per series, named as the series
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

// The width a text takes in the chart's sans-serif font, generously: layout reserves this much
// so that labels never overlap (digits are 0.64 em in DejaVu Sans, most letters less).
inline double text_width(const std::string& text, double font_px) {
  std::size_t glyphs = 0;
  for (unsigned char ch : text) glyphs += (ch & 0xC0) != 0x80;  // UTF-8 lead bytes
  return static_cast<double>(glyphs) * font_px * 0.64;
}

// The vertices drawn for a series: its finite points, or for a step function two per point.
inline std::vector<std::pair<double, double>> drawn_points(const chart_series& s) {
  std::vector<std::pair<double, double>> out;
  for (const auto& p : s.points) {
    if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
    if (s.steps && !out.empty() && out.back().second != p.second) {
      out.emplace_back(out.back().first, p.second);
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace report_detail

// The chart as an inline <svg> element: the title and the legend above the plot, axes with tick
// labels, a light grid, the series as <polyline> elements (markers as <circle>).  Sized by its
// viewBox, so it scales.  The margins are measured from the labels, so that tick labels, axis
// titles, the legend and the title never overlap.
//   std::string svg = render_svg(chart);
// Pitfall: a series with fewer than two finite points draws no line; give it markers.
inline std::string render_svg(const line_chart& c) {
  using report_detail::fixed;
  using report_detail::text_width;
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
  double y_step = 1, y2_step = 1, x_step = 1;
  const std::vector<double> y_ticks = report_detail::nice_ticks(y0, y1, 6, y_step);
  const std::vector<double> y2_ticks =
      c.y2_scale > 0 ? report_detail::nice_ticks(y0 * c.y2_scale, y1 * c.y2_scale, 6, y2_step)
                     : std::vector<double>{};
  const std::vector<double> x_ticks = report_detail::nice_ticks(x0, x1, 7, x_step);

  // Legend entries flow left to right in rows under the title.
  std::vector<legend_entry> legend = c.legend;
  if (legend.empty()) {
    for (const auto& s : c.series) legend.push_back({s.name, s.color, s.dash, s.markers});
  }
  const double legend_font = 12.5, row_h = 18, title_y = 16;
  std::vector<std::pair<double, double>> legend_at;  // (x, y) of each entry's line start
  const double legend_x0 = 8, legend_x1 = c.width - 8.0;
  double lx = legend_x0, ly = title_y + 22;
  for (const auto& e : legend) {
    const double w = 28 + text_width(e.name, legend_font) + 16;
    if (lx > legend_x0 && lx + w > legend_x1) {
      lx = legend_x0;
      ly += row_h;
    }
    legend_at.emplace_back(lx, ly);
    lx += w;
  }
  const double legend_bottom = legend.empty() ? title_y + 6 : ly + row_h / 2;

  // Margins from what they hold: tick labels, a gap, the rotated axis title (12.5 px high).
  double y_labels = 0, y2_labels = 0;
  for (double t : y_ticks) {
    y_labels = std::max(y_labels, text_width(report_detail::tick_label(t, y_step), 12));
  }
  for (double t : y2_ticks) {
    y2_labels = std::max(y2_labels, text_width(report_detail::tick_label(t, y2_step), 12));
  }
  const double left = 8 + 16 + 10 + y_labels + 8;
  const double right = c.y2_scale > 0 ? 8 + 16 + 10 + y2_labels + 8 : 28;
  const double top = legend_bottom + 12, bottom = 52;
  const double height = std::max<double>(c.height, top + bottom + 120);
  const double plot_w = c.width - left - right, plot_h = height - top - bottom;
  const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  const auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * plot_h; };

  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    std::to_string(c.width) + " " + fixed(height, 0) +
                    "\" role=\"img\" aria-label=\"" + html_escape(c.title) + "\">\n";
  svg += "<rect x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" +
         fixed(plot_w, 1) + "\" height=\"" + fixed(plot_h, 1) + "\" fill=\"#ffffff\"/>\n";
  svg += "<g class=\"grid\">\n";
  for (double t : y_ticks) {
    const std::string y = fixed(py(t), 1);
    svg += "<line x1=\"" + fixed(left, 1) + "\" x2=\"" + fixed(left + plot_w, 1) + "\" y1=\"" + y +
           "\" y2=\"" + y + "\" stroke=\"#e5e7eb\"/>\n";
    svg += "<text class=\"tick\" x=\"" + fixed(left - 8, 1) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" +
           report_detail::tick_label(t, y_step) + "</text>\n";
  }
  for (double t : y2_ticks) {
    svg += "<text class=\"tick\" x=\"" + fixed(left + plot_w + 8, 1) + "\" y=\"" +
           fixed(py(t / c.y2_scale), 1) + "\" dominant-baseline=\"middle\">" +
           report_detail::tick_label(t, y2_step) + "</text>\n";
  }
  for (double t : x_ticks) {
    const std::string x = fixed(px(t), 1);
    svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + fixed(top + plot_h, 1) + "\" y2=\"" +
           fixed(top + plot_h + 5, 1) + "\" stroke=\"#9ca3af\"/>\n";
    svg += "<text class=\"tick\" x=\"" + x + "\" y=\"" + fixed(top + plot_h + 20, 1) +
           "\" text-anchor=\"middle\">" + report_detail::tick_label(t, x_step) + "</text>\n";
  }
  svg += "</g>\n";
  // Epoch ends: dashed lines; a label only where it clears the previous one.
  double label_free_from = -HUGE_VAL;
  for (std::size_t k = 0; k < c.x_markers.size(); ++k) {
    const double x = px(c.x_markers[k].first);
    if (!(x >= left - 0.5 && x <= left + plot_w + 0.5)) continue;
    svg += "<line class=\"marker\" x1=\"" + fixed(x, 1) + "\" x2=\"" + fixed(x, 1) + "\" y1=\"" +
           fixed(top, 1) + "\" y2=\"" + fixed(top + plot_h, 1) +
           "\" stroke=\"#cbd5e1\" stroke-dasharray=\"4 4\"/>\n";
    const double w = text_width(c.x_markers[k].second, 11);
    if (x - 4 - w >= std::max(left + 2, label_free_from)) {
      svg += "<text class=\"marker-label\" x=\"" + fixed(x - 4, 1) + "\" y=\"" +
             fixed(top + 12, 1) + "\" text-anchor=\"end\">" + html_escape(c.x_markers[k].second) +
             "</text>\n";
      label_free_from = x + 6;
    }
  }
  svg += "<rect x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" +
         fixed(plot_w, 1) + "\" height=\"" + fixed(plot_h, 1) +
         "\" fill=\"none\" stroke=\"#9ca3af\"/>\n";
  for (const auto& s : c.series) {
    std::string points;
    std::string dots;
    for (const auto& p : report_detail::drawn_points(s)) {
      const std::string xy = fixed(px(p.first), 1) + "," + fixed(py(p.second), 1);
      points += (points.empty() ? "" : " ") + xy;
    }
    if (s.markers) {
      for (const auto& p : s.points) {
        if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
        dots += "<circle cx=\"" + fixed(px(p.first), 1) + "\" cy=\"" + fixed(py(p.second), 1) +
                "\" r=\"3.5\" fill=\"" + s.color + "\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>\n";
      }
    }
    svg += "<polyline class=\"series\" data-series=\"" + html_escape(s.name) +
           "\" fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"" + fixed(s.width, 1) +
           "\"" + (s.opacity < 1 ? " stroke-opacity=\"" + fixed(s.opacity, 2) + "\"" : "") +
           (s.dash.empty() ? "" : " stroke-dasharray=\"" + s.dash + "\"") +
           " stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"" + points + "\"/>\n" +
           dots;
  }
  // Axis titles: under the x tick labels, and outside the y tick labels on each side.
  svg += "<text class=\"axis-title\" x=\"" + fixed(left + plot_w / 2, 1) + "\" y=\"" +
         fixed(height - 10.0, 1) + "\" text-anchor=\"middle\">" + html_escape(c.x_label) +
         "</text>\n";
  svg += "<text class=\"axis-title\" transform=\"translate(16 " + fixed(top + plot_h / 2, 1) +
         ") rotate(-90)\" text-anchor=\"middle\">" + html_escape(c.y_label) + "</text>\n";
  if (c.y2_scale > 0) {
    svg += "<text class=\"axis-title\" transform=\"translate(" + fixed(c.width - 16.0, 1) + " " +
           fixed(top + plot_h / 2, 1) + ") rotate(90)\" text-anchor=\"middle\">" +
           html_escape(c.y2_label) + "</text>\n";
  }
  svg += "<text class=\"chart-title\" x=\"8\" y=\"" + fixed(title_y, 1) +
         "\" dominant-baseline=\"middle\">" + html_escape(c.title) + "</text>\n";
  for (std::size_t k = 0; k < legend.size(); ++k) {
    const legend_entry& e = legend[k];
    const double x = legend_at[k].first, y = legend_at[k].second;
    svg += "<g class=\"legend\"><line x1=\"" + fixed(x, 1) + "\" x2=\"" + fixed(x + 22, 1) +
           "\" y1=\"" + fixed(y, 1) + "\" y2=\"" + fixed(y, 1) + "\" stroke=\"" + e.color +
           "\" stroke-width=\"3\"" +
           (e.dash.empty() ? "" : " stroke-dasharray=\"" + e.dash + "\"") + "/>" +
           (e.marker ? "<circle cx=\"" + fixed(x + 11, 1) + "\" cy=\"" + fixed(y, 1) +
                           "\" r=\"3.5\" fill=\"" + e.color + "\"/>"
                     : std::string()) +
           "<text x=\"" + fixed(x + 28, 1) + "\" y=\"" + fixed(y, 1) +
           "\" dominant-baseline=\"middle\">" + html_escape(e.name) + "</text></g>\n";
  }
  return svg + "</svg>\n";
}

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
  std::string token = "char";  // what the losses are per: "char" or "word"
  std::vector<report_run> runs;
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
    if (std::isfinite(r.chars_per_s)) speeds.push_back(r.chars_per_s);
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
  using report_detail::fixed;
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
          card("Best validation loss", fixed(best->val_loss, 4) + " nats",
               fixed(best->val_loss / ln2, 4) + " bits" + per + " at step " +
                   std::to_string(best->step) + " (epoch " + report_detail::epochs(best->epoch) +
                   ", " + report_detail::duration(best->elapsed_s) + ")");
    }
    if (last_train) {
      html += card("Last training loss", fixed(last_train->train_loss, 4) + " nats",
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
        (best ? fixed(best->val_loss, 4) + " nats (" + fixed(best->val_loss / ln2, 3) + " bits)"
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
        chars.points.emplace_back(t, r.chars_per_s);
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
              (std::isfinite(val) ? " · validation loss " + fixed(val, 4) + " nats (" +
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
