// The HTML report: SVG charts with one vertex per logged point, escaping of every text from the
// run, a self-contained page, and, end to end, `charlstm train` + `charlstm report` rendered by
// headless Chromium with the charts laid out and painted.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <charlstm/run/report.hpp>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;

namespace {

// The values of every `points="..."` attribute, in order.
std::vector<std::string> polyline_points(const std::string& svg) {
  std::vector<std::string> out;
  const std::regex re("<polyline[^>]* points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::size_t vertex_count(const std::string& points) {
  return points.empty() ? 0 : count_of(points, " ") + 1;
}

charlstm::metrics_row row(std::int64_t step, double train, double val = NAN) {
  charlstm::metrics_row r;
  r.step = step;
  r.epoch = static_cast<double>(step) / 10;
  r.train_loss = train;
  r.val_loss = val;
  r.tokens_per_s = 1000.0 * static_cast<double>(step);
  r.lr = 0.01;
  r.elapsed_s = static_cast<double>(step);
  return r;
}

}  // namespace

TEST_CASE("html_escape escapes the five special characters and nothing else", "[report]") {
  CHECK(charlstm::html_escape("a<b> & \"c\" 'd' \xce\xb1") ==
        "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; \xce\xb1");
}

TEST_CASE("A chart has one vertex per finite point, inside the plot", "[report]") {
  charlstm::line_chart c;
  c.title = "Loss <nats>";
  c.x_label = "step";
  c.y_label = "nats";
  c.series.push_back({"training & more", "#2563eb", {{1, 3.0}, {2, 2.5}, {3, NAN}, {4, 2.0}}});
  c.series.push_back({"validation", "#ea580c", {{2, 2.7}, {4, 2.2}}, true});
  const std::string svg = charlstm::render_svg(c);
  const auto points = polyline_points(svg);
  REQUIRE(points.size() == 2);
  CHECK(vertex_count(points[0]) == 3);
  CHECK(vertex_count(points[1]) == 2);
  CHECK(count_of(svg, "stroke=\"#ffffff\" stroke-width=\"1.5\"/>") == 2);  // not the legend's
  CHECK_THAT(svg, Catch::Contains("Loss &lt;nats&gt;") && Catch::Contains("training &amp; more"));
  CHECK(svg.find("<nats>") == std::string::npos);
  // Every vertex lies in the plot area, the first <rect>.
  std::smatch m;
  REQUIRE(std::regex_search(
      svg, m,
      std::regex(R"re(<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)")re")));
  const double left = std::stod(m[1]), top = std::stod(m[2]);
  const double right = left + std::stod(m[3]), bottom = top + std::stod(m[4]);
  const std::regex xy(R"((-?[\d.]+),(-?[\d.]+))");
  for (const auto& p : points) {
    for (auto it = std::sregex_iterator(p.begin(), p.end(), xy); it != std::sregex_iterator();
         ++it) {
      const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
      CHECK(x >= left - 0.05);
      CHECK(x <= right + 0.05);
      CHECK(y >= top - 0.05);
      CHECK(y <= bottom + 0.05);
    }
  }
  // The x range is the data's; the lowest loss is drawn lowest (the larger y in SVG), and the
  // y range has a margin: 2.0 in [1.94, 3.06] sits at top + height * 1.06 / 1.12.
  const std::string first = points[0].substr(0, points[0].find(' '));
  CHECK(std::stod(first.substr(0, first.find(','))) == Approx(left).margin(0.05));
  const std::string last = points[0].substr(points[0].rfind(' ') + 1);
  CHECK(std::stod(last.substr(0, last.find(','))) == Approx(right).margin(0.05));
  CHECK(std::stod(last.substr(last.find(',') + 1)) ==
        Approx(top + (bottom - top) * 1.06 / 1.12).margin(0.06));
}

TEST_CASE("Tick labels are round numbers at readable precision", "[report]") {
  double step = 0;
  const auto ticks = charlstm::chart_detail::nice_ticks(1.234, 3.456, 6, step);
  CHECK(step == Approx(0.5));
  CHECK(ticks.front() == Approx(1.5));
  CHECK(ticks.back() == Approx(3.0));
  CHECK(charlstm::chart_detail::tick_label(1.5, 0.5) == "1.5");
  CHECK(charlstm::chart_detail::tick_label(0, 0.5) == "0");
  CHECK(charlstm::chart_detail::tick_label(45000, 5000) == "45k");
  CHECK(charlstm::chart_detail::tick_label(2500000, 500000) == "2.5M");
  CHECK(charlstm::chart_detail::tick_label(120, 20) == "120");
}

TEST_CASE("The page is self-contained and escapes the run's text", "[report]") {
  charlstm::report_input in;
  in.title = "m<1>.safetensors";
  in.subtitle = "corpus a&b";
  charlstm::report_run run;
  run.name = "m<1>.safetensors";
  run.command = "charlstm train --corpus '<script>alert(1)</script>' --out m.safetensors";
  run.rows = {row(10, 3.0), row(20, 2.5, 2.6), row(30, 2.2), row(40, 2.0, 2.1)};
  run.samples = {{20, 1, 0.2, "seed </pre>", "text <b>bold</b> & \"q\""},
                 {20, 1, 1.0, "seed", "more"},
                 {40, 2, 0.2, "seed", "later"}};
  in.runs = {run};
  const std::string html = charlstm::render_report(in);
  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>"));
  for (const char* outside : {"<script", "<link", "@import", "url(", "src=", "href="}) {
    CHECK(html.find(outside) == std::string::npos);
  }
  CHECK(count_of(html, "http") == count_of(html, "http://www.w3.org/2000/svg"));
  CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(html, Catch::Contains("seed &lt;/pre&gt;</span>text &lt;b&gt;bold&lt;/b&gt; &amp; "
                                   "&quot;q&quot;</pre>"));
  CHECK(count_of(html, "<details") == 2);
  CHECK(count_of(html, "<details open>") == 1);
  const auto points = polyline_points(html);
  // Loss against wall time (training, validation), against epochs (the same), throughput.
  REQUIRE(points.size() == 5);
  CHECK(vertex_count(points[0]) == 4);  // training
  CHECK(vertex_count(points[1]) == 2);  // validation, at the two epoch ends
  CHECK(vertex_count(points[2]) == 4);
  CHECK(vertex_count(points[3]) == 2);
  CHECK(vertex_count(points[4]) == 4);                                           // chars/s
  CHECK_THAT(html, Catch::Contains("2.1000 <span class=\"unit\">nats/char</span>"));  // best
  CHECK(html.find("Learning rate</h2>") == std::string::npos);  // constant: no chart
  // The command that reproduces the run is shown, not the raw metadata.
  CHECK_THAT(html, Catch::Contains("<code>charlstm train --corpus"));
  // Each epoch's heading names its validation loss.
  CHECK_THAT(html, Catch::Contains("<summary>Epoch 1 · validation loss 2.6000 nats/char (3.751 "
                                   "bits/char)"));
  CHECK_THAT(html, Catch::Contains("<summary>Epoch 2 · validation loss 2.1000 nats/char"));
  in.runs[0].rows[3].lr = 0.005;
  CHECK(polyline_points(charlstm::render_report(in)).size() == 6);
  // A word model's page says per word wherever it names a unit, never per character.
  in.token = "word";
  const std::string words = charlstm::render_report(in);
  CHECK_THAT(words, Catch::Contains("2.1000 <span class=\"unit\">nats/word</span>") &&
                        Catch::Contains("bits/word at step 40") &&
                        Catch::Contains("validation loss 2.6000 nats/word (3.751 bits/word)") &&
                        Catch::Contains("2.1000 nats/word (3.030 bits/word)") &&
                        Catch::Contains("nats / word") && Catch::Contains("words/s"));
  for (const char* chars : {"nats/char", "bits/char", "/ char", "chars/s", "per char"})
    CHECK(words.find(chars) == std::string::npos);
}

TEST_CASE("The loss is drawn against wall time as well as epochs", "[report]") {
  charlstm::report_input in;
  charlstm::report_run run;
  run.name = "m";
  // Uneven wall time: the second epoch took three times the first.
  run.rows = {row(10, 3.0, 2.9), row(20, 2.5, 2.4)};
  run.rows[0].epoch = 1;
  run.rows[0].elapsed_s = 10;
  run.rows[1].epoch = 2;
  run.rows[1].elapsed_s = 40;
  in.runs = {run};
  const std::string html = charlstm::render_report(in);
  CHECK_THAT(html, Catch::Contains("against wall time") && Catch::Contains("wall time (s)") &&
                       Catch::Contains("against epochs"));
  const auto points = polyline_points(html);
  REQUIRE(points.size() >= 4);
  // Both charts span the plot; what differs is where the x range starts: at 10 s of 40 on the
  // time axis, at epoch 1 of 2 on the other, so the first vertex sits at the left edge of each.
  const auto xs = [](const std::string& p) {
    std::vector<double> out;
    const std::regex xy(R"((-?[\d.]+),(-?[\d.]+))");
    for (auto it = std::sregex_iterator(p.begin(), p.end(), xy); it != std::sregex_iterator(); ++it)
      out.push_back(std::stod((*it)[1]));
    return out;
  };
  const auto t = xs(points[1]), e = xs(points[3]);
  REQUIRE(t.size() == 2);
  REQUIRE(e.size() == 2);
  CHECK(t[1] > t[0]);
  CHECK(e[1] > e[0]);
  // Over 120 s the time axis is in minutes.
  in.runs[0].rows[1].elapsed_s = 600;
  CHECK_THAT(charlstm::render_report(in), Catch::Contains("wall time (min)"));
}

TEST_CASE("Several runs overlay on one chart, each in its colour, with a legend", "[report]") {
  charlstm::report_input in;
  for (int k = 0; k < 3; ++k) {
    charlstm::report_run run;
    run.name = "run" + std::to_string(k) + ".safetensors";
    run.command = "charlstm train --corpus c --seed " + std::to_string(k);
    run.rows = {row(10, 3.0 - k * 0.1), row(20, 2.5 - k * 0.1, 2.6 - k * 0.1)};
    in.runs.push_back(run);
  }
  const std::string html = charlstm::render_report(in);
  // Per run: training and validation against time and against epochs, throughput, learning rate.
  const auto points = polyline_points(html);
  CHECK(points.size() == 3 * 6);
  const std::regex stroke(
      R"re(<polyline[^>]* data-series="run(\d)[^"]*validation" fill="none" stroke="([^"]*)")re");
  std::map<std::string, std::set<std::string>> colors;  // run -> its validation colours
  for (auto it = std::sregex_iterator(html.begin(), html.end(), stroke);
       it != std::sregex_iterator(); ++it)
    colors[(*it)[1]].insert((*it)[2]);
  REQUIRE(colors.size() == 3);
  std::set<std::string> all;
  for (const auto& kv : colors) {
    CHECK(kv.second.size() == 1);  // the same colour in every chart
    all.insert(*kv.second.begin());
  }
  CHECK(all.size() == 3);  // distinct runs, distinct colours
  // The legend names each run in each chart, and says which line is which.
  for (int k = 0; k < 3; ++k) {
    CHECK(count_of(html, "<g class=\"legend\">") >= 3 * 4);
    CHECK_THAT(html, Catch::Contains("dominant-baseline=\"middle\">run" + std::to_string(k) +
                                     ".safetensors</text></g>"));
    CHECK_THAT(html, Catch::Contains("<code>charlstm train --corpus c --seed " + std::to_string(k) +
                                     "</code>"));
  }
  CHECK_THAT(html,
             Catch::Contains(">validation</text></g>") && Catch::Contains(">training</text></g>"));
  CHECK_THAT(html, Catch::Contains("<h1>" + charlstm::html_escape(in.title)));
}

TEST_CASE("Learning-rate changes are drawn as steps", "[report]") {
  charlstm::line_chart c;
  charlstm::chart_series lr{"lr", "#000", {{0, 0.01}, {1, 0.01}, {2, 0.005}, {3, 0.0025}}};
  lr.steps = true;
  c.series = {lr};
  const auto points = polyline_points(charlstm::render_svg(c));
  REQUIRE(points.size() == 1);
  std::vector<std::pair<double, double>> v;
  const std::regex xy(R"((-?[\d.]+),(-?[\d.]+))");
  for (auto it = std::sregex_iterator(points[0].begin(), points[0].end(), xy);
       it != std::sregex_iterator(); ++it)
    v.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  // Two changes, each a vertical riser: 4 points + 2 corners.
  REQUIRE(v.size() == 6);
  for (std::size_t k = 1; k < v.size(); ++k) {
    INFO("segment " << k);
    const bool horizontal = v[k].second == v[k - 1].second;
    const bool vertical = v[k].first == v[k - 1].first;
    CHECK((horizontal || vertical));  // never a slope
  }
  // The new rate starts where the previous interval ends: the riser sits at the earlier x.
  CHECK(v[2].first == v[1].first);
  CHECK(v[2].second > v[1].second);  // a lower rate is drawn lower: a larger y in SVG
}

TEST_CASE("Margins grow with the tick labels, so the axis title clears them", "[report]") {
  charlstm::line_chart c;
  c.y_label = "learning rate";
  c.series = {{"lr", "#000", {{0, 0.00123}, {1, 0.00456}}}};
  const std::string svg = charlstm::render_svg(c);
  // The plot's left edge is the first <rect>'s x; the y title sits at x = 16 (rotated, 12.5 px
  // high, so it spans about 10..22); the widest tick label ends 8 px left of the plot.
  const std::regex rect(R"re(<rect x="([\d.]+)")re");
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, rect));
  const double left = std::stod(m[1]);
  const std::regex tick(
      R"re(<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="end" dominant-baseline="middle">([^<]*)</text>)re");
  std::size_t ticks = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tick); it != std::sregex_iterator();
       ++it, ++ticks) {
    const double end = std::stod((*it)[1]);
    const double width = charlstm::chart_detail::text_width((*it)[2], 12);
    CHECK(end == Approx(left - 8));
    CHECK(end - width >= 16 + 7);  // clear of the title's half-height
  }
  CHECK(ticks >= 3);
}

TEST_CASE("report: a missing metrics file is a clear error", "[report][cli]") {
  temp_dir dir;
  const auto r = run_cli("report --model " + quote(dir / "none.safetensors"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("charlstm: error: ") && Catch::Contains("none.safetensors"));
  CHECK(::access((dir / "none.html").c_str(), F_OK) != 0);
}

namespace {

// Runs headless Chromium on `page` with `probe` (a script) added before </body>; returns the
// text the probe put in <pre id="probe">.
std::string probe_in_chromium(const temp_dir& dir, const std::string& page,
                              const std::string& probe) {
  std::string html = page;
  const auto body_end = html.rfind("</body>");
  REQUIRE(body_end != std::string::npos);
  html.insert(body_end, probe);
  test_support::write_text(dir / "probe.html", html);
  const std::string command =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--user-data-dir=" +
      quote(dir / "profile") + " --window-size=1000,2000 --virtual-time-budget=10000 --dump-dom " +
      quote("file://" + dir / "probe.html") + " >" + quote(dir / "dom.html") + " 2>" +
      quote(dir / "chromium.log");
  const int status = std::system(command.c_str());
  const std::string dom = charlstm::read_file_bytes(dir / "dom.html");
  INFO("chromium: " << charlstm::read_file_bytes(dir / "chromium.log"));
  REQUIRE(status == 0);
  std::smatch m;
  REQUIRE(std::regex_search(dom, m, std::regex("<pre id=\"probe\">([^<]*)</pre>")));
  return m[1];
}

}  // namespace

// Chromium lays the page out and paints it: the charts have size, every polyline has its
// vertices and a stroke, and the loss chart, rasterized, holds pixels of both series' colours
// inside the plot area.  Sample text with markup shows as text, never as elements.
TEST_CASE("report renders in headless Chromium with the charts drawn", "[report][cli][chromium]") {
  const int has_chromium = std::system("command -v chromium >/dev/null 2>&1");
  if (has_chromium != 0) {
    FAIL(
        "chromium is not installed: run scripts/install-deps.sh (Debian package 'chromium'); "
        "this test needs it to render the HTML report");
  }
  temp_dir dir;
  std::string text;
  for (int k = 0; text.size() < 3000; ++k) {
    text += k % 2 ? "<b>bold</b> & \"quoted\" text.\n" : "the <i>tavern</i> & the bar.\n";
  }
  test_support::write_text(dir / "corpus.txt", text);
  const std::string model = dir / "m.safetensors";
  auto r = run_cli("train --corpus " + quote(dir / "corpus.txt") +
                   " --mode window --maxlen 20 --hidden 8 --batch 32 --epochs 2 --log-every 4 --threads 1"
                   " --no-lowercase --sample-length 60 --temperatures 0.5,1.2 --out " +
                   quote(model));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  r = run_cli("report --model " + quote(model));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("wrote " + dir / "m.html"));
  const std::string html = charlstm::read_file_bytes(dir / "m.html");
  const auto rows = charlstm::read_metrics(dir / "m.safetensors.metrics.csv");
  REQUIRE(rows.size() >= 10);

  // The probe: the page plus a script that measures it once loaded (the report has none).
  const std::string probe = R"(<script>
const out = [];
for (const svg of document.querySelectorAll('svg.chart')) {
  const r = svg.getBoundingClientRect();
  out.push('svg ' + Math.round(r.width) + ' ' + Math.round(r.height));
}
for (const p of document.querySelectorAll('polyline.series')) {
  const b = p.getBBox();
  out.push('line ' + p.dataset.series.replace(/ /g, '_') + ' ' + p.points.numberOfItems + ' ' +
           Math.round(b.width) + ' ' + Math.round(b.height) + ' ' + getComputedStyle(p).stroke);
}
out.push('markup_in_samples ' + document.querySelectorAll('pre b, pre i').length);
out.push('samples_with_lt ' + [...document.querySelectorAll('pre')].filter(
  e => e.textContent.includes('<b>')).length);
function done(line) {
  out.push(line);
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
}
const chart = document.querySelector('svg.chart');
const box = chart.viewBox.baseVal, plot = chart.querySelector('rect');
const img = new Image();
img.onload = () => {
  const c = document.createElement('canvas');
  c.width = box.width; c.height = box.height;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, box.width, box.height);
  g.drawImage(img, 0, 0, box.width, box.height);
  const d = g.getImageData(+plot.getAttribute('x') + 2, +plot.getAttribute('y') + 2,
                           +plot.getAttribute('width') - 4, +plot.getAttribute('height') - 4).data;
  let blue = 0, orange = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] < 90 && d[i + 1] < 140 && d[i + 2] > 190) ++blue;
    if (d[i] > 190 && d[i + 1] > 50 && d[i + 1] < 130 && d[i + 2] < 70) ++orange;
  }
  done('pixels ' + blue + ' ' + orange);
};
img.onerror = () => done('pixels error');
img.src = 'data:image/svg+xml;charset=utf-8,' +
          encodeURIComponent(new XMLSerializer().serializeToString(chart));
</script>
)";
  const std::string report = probe_in_chromium(dir, html, probe);
  INFO("probe:\n" << report);

  // The charts are laid out at their width (the 900px column less padding).
  const std::regex svg_re(R"(svg (\d+) (\d+))");
  int charts = 0;
  for (auto it = std::sregex_iterator(report.begin(), report.end(), svg_re);
       it != std::sregex_iterator(); ++it, ++charts) {
    CHECK(std::stoi((*it)[1]) > 600);
    CHECK(std::stoi((*it)[2]) > 150);
  }
  CHECK(charts == 3);  // loss against time and epochs, throughput (the learning rate is constant)
  // Each polyline: its vertex count, a non-empty extent and its colour.
  const std::regex line_re(R"(line (\S+) (\d+) (\d+) (\d+) (rgb\([^)]*\)))");
  std::map<std::string, std::vector<std::string>> lines;
  for (auto it = std::sregex_iterator(report.begin(), report.end(), line_re);
       it != std::sregex_iterator(); ++it) {
    lines[(*it)[1]] = {(*it)[2], (*it)[3], (*it)[4], (*it)[5]};
  }
  REQUIRE(lines.count("training") == 1);
  REQUIRE(lines.count("validation") == 1);
  REQUIRE(lines.count("chars/s") == 1);
  CHECK(std::stoul(lines["training"][0]) == rows.size());
  CHECK(std::stoul(lines["validation"][0]) == 2);  // (against epochs, the last one drawn)
  CHECK(std::stoul(lines["chars/s"][0]) == rows.size());
  for (const auto& kv : lines) {
    CHECK(std::stoi(kv.second[1]) > 100);  // spans the plot's width
    CHECK(std::stoi(kv.second[2]) > 0);
  }
  CHECK(lines["training"][3] == "rgb(37, 99, 235)");
  CHECK(lines["validation"][3] == "rgb(234, 88, 12)");
  // Markup in the samples is text: no <b> or <i> elements, and the text shows "<b>".
  CHECK_THAT(report, Catch::Contains("markup_in_samples 0"));
  const std::smatch lt = [&] {
    std::smatch found;
    std::regex_search(report, found, std::regex(R"(samples_with_lt (\d+))"));
    return found;
  }();
  REQUIRE(!lt.empty());
  CHECK(std::stoi(lt[1]) > 0);
  // Painted: both series' colours inside the loss chart's plot area.
  const std::smatch px = [&] {
    std::smatch found;
    std::regex_search(report, found, std::regex(R"(pixels (\d+) (\d+))"));
    return found;
  }();
  REQUIRE(!px.empty());
  CHECK(std::stoi(px[1]) > 200);  // the training line
  CHECK(std::stoi(px[2]) > 20);   // the validation line and its two markers
}

namespace {

std::string tiny_train(const temp_dir& dir, const std::string& name, const std::string& flags) {
  const std::string model = dir / name;
  const auto r = run_cli("train --corpus " + quote(dir / "corpus.txt") +
                         " --seq-len 20 --batch 4 --epochs 3 --log-every 2 --threads 1"
                         " --sample-length 40 --out " +
                         quote(model) + " " + flags);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return model;
}

}  // namespace

// Two runs overlaid, laid out by Chromium: no text box of a chart (title, legend, tick labels,
// axis titles, epoch labels) overlaps another, and every one lies inside its chart.
TEST_CASE("report overlays runs with no overlapping labels in Chromium",
          "[report][cli][chromium]") {
  REQUIRE(std::system("command -v chromium >/dev/null 2>&1") == 0);
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus(3000));
  const std::string a =
      tiny_train(dir, "small.safetensors", "--hidden 8 --lr-decay 0.5 --lr-decay-after 1");
  const std::string b = tiny_train(dir, "a-longer-name-for-the-second-run.safetensors",
                                   "--hidden 12 --optimizer adam");
  const auto r =
      run_cli("report " + quote(a) + " " + quote(b) + " --out " + quote(dir / "both.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("2 runs"));
  const std::string page = charlstm::read_file_bytes(dir / "both.html");
  const std::string report = probe_in_chromium(dir, page, R"(<script>
const out = [];
let charts = 0, texts = 0, overlaps = 0, outside = 0;
for (const svg of document.querySelectorAll('svg.chart')) {
  ++charts;
  const frame = svg.getBoundingClientRect();
  const boxes = [...svg.querySelectorAll('text')].map(t => [t, t.getBoundingClientRect()]);
  texts += boxes.length;
  for (const [t, b] of boxes) {
    if (b.left < frame.left - 0.5 || b.right > frame.right + 0.5 || b.top < frame.top - 0.5 ||
        b.bottom > frame.bottom + 0.5) {
      ++outside;
      out.push('outside "' + t.textContent + '"');
    }
  }
  for (let i = 0; i < boxes.length; ++i) {
    for (let j = i + 1; j < boxes.length; ++j) {
      const a = boxes[i][1], b = boxes[j][1];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 0.5 && h > 0.5) {
        ++overlaps;
        out.push('overlap "' + boxes[i][0].textContent + '" "' + boxes[j][0].textContent + '"');
      }
    }
  }
}
out.push('charts ' + charts + ' texts ' + texts + ' overlaps ' + overlaps + ' outside ' + outside);
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = out.join('\n');
document.body.appendChild(pre);
</script>
)");
  INFO("probe:\n" << report);
  // Loss against time and epochs, throughput, learning rate (several runs: always shown).
  CHECK_THAT(report, Catch::Contains("charts 4 texts "));
  CHECK_THAT(report, Catch::EndsWith("overlaps 0 outside 0"));
  // The learning rate decayed in the first run: its line has risers.
  CHECK_THAT(page, Catch::Contains("data-series=\"small.safetensors learning rate\""));
}

// The command a report shows for a run is one that reproduces it: run it again and the
// validation losses come out the same.
TEST_CASE("report shows the command that reproduces each run", "[report][cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus(3000));
  const std::string model =
      tiny_train(dir, "m.safetensors",
                 "--hidden 10 --layers 2 --dropout 0.25 --optimizer adam --lr 0.003 --lr-decay 0.8 "
                 "--lr-decay-after 1 --clip-norm 2 --val-fraction 0.2 --seed 7 --no-lowercase");
  REQUIRE(run_cli("report " + quote(model)).exit_code == 0);
  const std::string page = charlstm::read_file_bytes(dir / "m.html");
  std::smatch m;
  REQUIRE(std::regex_search(page, m, std::regex("<code>(charlstm train [^<]*)</code>")));
  std::string command = m[1];
  // HTML-unescaped: the page escapes the quotes around paths.
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"&#39;", "'"}, {"&quot;", "\""}, {"&amp;", "&"}}) {
    for (auto at = command.find(from); at != std::string::npos; at = command.find(from, at + 1))
      command.replace(at, from.size(), to);
  }
  INFO(command);
  for (const char* flag :
       {"--hidden 10", "--layers 2", "--dropout 0.25", "--optimizer adam", "--lr 0.003",
        "--lr-decay 0.8", "--lr-decay-after 1", "--clip-norm 2", "--val-fraction 0.2", "--seed 7",
        "--no-lowercase", "--epochs 3", "--seq-len 20", "--batch 4"}) {
    CHECK_THAT(command, Catch::Contains(flag));
  }
  // The same command with another --out (the last flag).
  const std::string prefix = "charlstm ";
  REQUIRE(command.rfind(prefix + "train ", 0) == 0);
  const auto out_at = command.rfind(" --out ");
  REQUIRE(out_at != std::string::npos);
  CHECK_THAT(command.substr(out_at), Catch::Contains(model));
  const auto r = run_cli(command.substr(prefix.size(), out_at - prefix.size()) +
                         " --threads 1 --out " + quote(dir / "again.safetensors"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto val_losses = [](const std::string& csv) {
    std::vector<double> out;
    for (const auto& row : charlstm::read_metrics(csv)) {
      if (std::isfinite(row.val_loss)) out.push_back(row.val_loss);
    }
    return out;
  };
  const auto first = val_losses(dir / "m.safetensors.metrics.csv");
  CHECK(first.size() == 3);
  CHECK(val_losses(dir / "again.safetensors.metrics.csv") == first);
}

TEST_CASE("report names the token of the runs: words, characters, or tokens for a mix",
          "[report][cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus(3000));
  const std::string words = tiny_train(dir, "w.safetensors", "--tokens word");
  const std::string chars = tiny_train(dir, "c.safetensors", "");
  const auto page = [&](const std::string& models, const std::string& name) {
    const auto r = run_cli("report " + models + " --out " + quote(dir / name));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return charlstm::read_file_bytes(dir / name);
  };
  const std::string w = page(quote(words), "w.html");
  CHECK_THAT(w, Catch::Contains("nats / word") && Catch::Contains("bits / word") &&
                    Catch::Contains("words / s") && Catch::Contains("words/s") &&
                    Catch::Contains("Loss per word"));
  // Units hold a '/', which no sample of this corpus does.
  const std::vector<std::string> char_units = {"nats/char",   "nats / char", "bits/char",
                                               "bits / char", "chars/s",     "chars / s"};
  const std::vector<std::string> word_units = {"nats/word",   "nats / word", "bits/word",
                                               "bits / word", "words/s",     "words / s"};
  for (const std::string& unit : char_units) CHECK(w.find(unit) == std::string::npos);
  CHECK(w.find("/ token") == std::string::npos);
  const std::string c = page(quote(chars), "c.html");
  CHECK_THAT(c, Catch::Contains("nats / char") && Catch::Contains("bits / char") &&
                    Catch::Contains("chars / s") && Catch::Contains("Loss per char"));
  for (const std::string& unit : word_units) CHECK(c.find(unit) == std::string::npos);
  // A word run beside a character run: neither unit is every run's.
  const std::string mix = page(quote(words) + " " + quote(chars), "mix.html");
  CHECK_THAT(mix, Catch::Contains("nats / token") && Catch::Contains("tokens / s") &&
                      Catch::Contains("Loss per token"));
  for (const auto* units : {&char_units, &word_units}) {
    for (const std::string& unit : *units) CHECK(mix.find(unit) == std::string::npos);
  }
}
