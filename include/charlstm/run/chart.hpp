// charlstm/run/chart.hpp: linear line charts as inline SVG for the training report: series of
// (x, y) points drawn as lines or markers, round tick labels, a legend, vertical markers, and
// margins measured from the labels so that no text overlaps.  Plus html_escape, which the SVG
// and the page both need.  Not a plotting library: what the report draws, nothing more.  No
// Eigen, no JavaScript.  Part of the tool's run files (charlstm/run/), not of charlstm.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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

namespace chart_detail {

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

}  // namespace chart_detail

// The chart as an inline <svg> element: the title and the legend above the plot, axes with tick
// labels, a light grid, the series as <polyline> elements (markers as <circle>).  Sized by its
// viewBox, so it scales.  The margins are measured from the labels, so that tick labels, axis
// titles, the legend and the title never overlap.
//   std::string svg = render_svg(chart);
// Pitfall: a series with fewer than two finite points draws no line; give it markers.
inline std::string render_svg(const line_chart& c) {
  using chart_detail::fixed;
  using chart_detail::text_width;
  std::vector<double> xs, ys;
  for (const auto& s : c.series) {
    for (const auto& p : s.points) {
      if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
      xs.push_back(p.first);
      ys.push_back(p.second);
    }
  }
  double x0, x1, y0, y1;
  chart_detail::range_of(xs, x0, x1, 0.0);
  chart_detail::range_of(ys, y0, y1, 0.06);
  double y_step = 1, y2_step = 1, x_step = 1;
  const std::vector<double> y_ticks = chart_detail::nice_ticks(y0, y1, 6, y_step);
  const std::vector<double> y2_ticks =
      c.y2_scale > 0 ? chart_detail::nice_ticks(y0 * c.y2_scale, y1 * c.y2_scale, 6, y2_step)
                     : std::vector<double>{};
  const std::vector<double> x_ticks = chart_detail::nice_ticks(x0, x1, 7, x_step);

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
    y_labels = std::max(y_labels, text_width(chart_detail::tick_label(t, y_step), 12));
  }
  for (double t : y2_ticks) {
    y2_labels = std::max(y2_labels, text_width(chart_detail::tick_label(t, y2_step), 12));
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
           chart_detail::tick_label(t, y_step) + "</text>\n";
  }
  for (double t : y2_ticks) {
    svg += "<text class=\"tick\" x=\"" + fixed(left + plot_w + 8, 1) + "\" y=\"" +
           fixed(py(t / c.y2_scale), 1) + "\" dominant-baseline=\"middle\">" +
           chart_detail::tick_label(t, y2_step) + "</text>\n";
  }
  for (double t : x_ticks) {
    const std::string x = fixed(px(t), 1);
    svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + fixed(top + plot_h, 1) + "\" y2=\"" +
           fixed(top + plot_h + 5, 1) + "\" stroke=\"#9ca3af\"/>\n";
    svg += "<text class=\"tick\" x=\"" + x + "\" y=\"" + fixed(top + plot_h + 20, 1) +
           "\" text-anchor=\"middle\">" + chart_detail::tick_label(t, x_step) + "</text>\n";
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
    for (const auto& p : chart_detail::drawn_points(s)) {
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

}  // namespace charlstm
