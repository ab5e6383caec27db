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
  r.chars_per_s = 1000.0 * static_cast<double>(step);
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
  CHECK(count_of(svg, "<circle") == 2);
  CHECK_THAT(svg, Catch::Contains("Loss &lt;nats&gt;") && Catch::Contains("training &amp; more"));
  CHECK(svg.find("<nats>") == std::string::npos);
  // Every vertex lies in the plot area (x in [64, 736], y in [40, 278] for the default size).
  const std::regex xy(R"((-?[\d.]+),(-?[\d.]+))");
  for (const auto& p : points) {
    for (auto it = std::sregex_iterator(p.begin(), p.end(), xy); it != std::sregex_iterator();
         ++it) {
      const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
      CHECK(x >= 64 - 1e-9);
      CHECK(x <= 736 + 1e-9);
      CHECK(y >= 40);
      CHECK(y <= 278);
    }
  }
  // The x range is the data's; the lowest loss is drawn lowest (the larger y in SVG), and the
  // y range has a margin: 2.0 in [1.94, 3.06] sits at 40 + 238 * 1.06 / 1.12.
  CHECK_THAT(points[0], Catch::StartsWith("64.0,"));
  const std::string last = points[0].substr(points[0].rfind(' ') + 1);
  CHECK(std::stod(last.substr(0, last.find(','))) == Approx(736.0));
  CHECK(std::stod(last.substr(last.find(',') + 1)) == Approx(40 + 238 * 1.06 / 1.12).margin(0.06));
}

TEST_CASE("Tick labels are round numbers at readable precision", "[report]") {
  double step = 0;
  const auto ticks = charlstm::report_detail::nice_ticks(1.234, 3.456, 6, step);
  CHECK(step == Approx(0.5));
  CHECK(ticks.front() == Approx(1.5));
  CHECK(ticks.back() == Approx(3.0));
  CHECK(charlstm::report_detail::tick_label(1.5, 0.5) == "1.5");
  CHECK(charlstm::report_detail::tick_label(0, 0.5) == "0");
  CHECK(charlstm::report_detail::tick_label(45000, 5000) == "45k");
  CHECK(charlstm::report_detail::tick_label(2500000, 500000) == "2.5M");
  CHECK(charlstm::report_detail::tick_label(120, 20) == "120");
}

TEST_CASE("The page is self-contained and escapes the run's text", "[report]") {
  charlstm::report_input in;
  in.title = "m<1>.safetensors";
  in.subtitle = "corpus a&b";
  in.hyperparameters = {{"corpus", "<script>alert(1)</script>"}, {"lr", "0.01"}};
  in.rows = {row(10, 3.0), row(20, 2.5, 2.6), row(30, 2.2), row(40, 2.0, 2.1)};
  in.samples = {{20, 1, 0.2, "seed </pre>", "text <b>bold</b> & \"q\""},
                {20, 1, 1.0, "seed", "more"},
                {40, 2, 0.2, "seed", "later"}};
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
  REQUIRE(points.size() == 3);          // loss: training, validation; throughput
  CHECK(vertex_count(points[0]) == 4);  // training
  CHECK(vertex_count(points[1]) == 2);  // validation, at the two epoch ends
  CHECK(vertex_count(points[2]) == 4);  // chars/s
  CHECK_THAT(html, Catch::Contains("2.1000 <span class=\"unit\">nats</span>"));  // best val
  CHECK(html.find("Learning rate</h2>") == std::string::npos);  // constant: no chart
  in.rows[3].lr = 0.005;
  CHECK(polyline_points(charlstm::render_report(in)).size() == 4);
}

TEST_CASE("report: a missing metrics file is a clear error", "[report][cli]") {
  temp_dir dir;
  const auto r = run_cli("report --model " + quote(dir / "none.safetensors"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("charlstm: error: ") && Catch::Contains("none.safetensors"));
  CHECK(::access((dir / "none.html").c_str(), F_OK) != 0);
}

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
  const auto rows = charlstm::read_metrics(dir / "m.metrics.csv");
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
const img = new Image();
img.onload = () => {
  const c = document.createElement('canvas');
  c.width = 760; c.height = 330;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, 760, 330);
  g.drawImage(img, 0, 0, 760, 330);
  const d = g.getImageData(66, 42, 626, 234).data;
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
  std::string page = html;
  const auto body_end = page.rfind("</body>");
  REQUIRE(body_end != std::string::npos);
  page.insert(body_end, probe);
  test_support::write_text(dir / "probe.html", page);
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
  const std::smatch m = [&] {
    std::smatch found;
    std::regex_search(dom, found, std::regex("<pre id=\"probe\">([^<]*)</pre>"));
    return found;
  }();
  REQUIRE(!m.empty());
  const std::string report = m[1];
  INFO("probe:\n" << report);

  // The charts are laid out at their width (the 900px column less padding).
  const std::regex svg_re(R"(svg (\d+) (\d+))");
  int charts = 0;
  for (auto it = std::sregex_iterator(report.begin(), report.end(), svg_re);
       it != std::sregex_iterator(); ++it, ++charts) {
    CHECK(std::stoi((*it)[1]) > 600);
    CHECK(std::stoi((*it)[2]) > 150);
  }
  CHECK(charts == 2);  // loss, throughput (the learning rate is constant)
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
  CHECK(std::stoul(lines["validation"][0]) == 2);
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
