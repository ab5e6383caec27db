// metrics.csv and samples.jsonl: the row format, a reader that survives a torn last line, logs
// cut back to a checkpoint's step on resume, and what `charlstm train` writes through them.
#include <catch2/catch.hpp>
#include <charlstm/run/metrics.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;

namespace {

using charlstm::token_kind;

const std::string char_header = charlstm::metrics_header(token_kind::character);
const std::string header = char_header + "\n";
const std::vector<std::string> char_columns = charlstm::metrics_columns(char_header);

std::vector<std::int64_t> steps_of(const std::vector<charlstm::metrics_row>& rows) {
  std::vector<std::int64_t> steps;
  for (const auto& r : rows) steps.push_back(r.step);
  return steps;
}

std::string small_corpus() {
  std::string text;
  const char* lines[] = {"The quick brown fox jumps over the lazy dog.\n",
                         "Man is something that shall be overcome.\n",
                         "What does not kill me makes me stronger.\n"};
  for (int k = 0; text.size() < 3000; ++k) text += lines[k % 3];
  return text;
}

std::string small_flags(const temp_dir& dir) {
  return "--corpus " + quote(dir / "corpus.txt") +
         " --mode window --maxlen 20 --step 3 --hidden 8 --batch 32 --sample-length 20 --threads 1"
         " --temperatures 0.5,1.0 --log-every 4";
}

}  // namespace

TEST_CASE("File names derive from the checkpoint's", "[metrics]") {
  CHECK(charlstm::metrics_path("runs/m.safetensors") == "runs/m.safetensors.metrics.csv");
  CHECK(charlstm::samples_path("m.safetensors") == "m.safetensors.samples.jsonl");
  // Never cut at a dot: these runs share no file.
  CHECK(charlstm::metrics_path("lr0.01") != charlstm::metrics_path("lr0.02"));
  CHECK(charlstm::metrics_path("model") != charlstm::metrics_path("model.bak"));
  CHECK(charlstm::samples_path("model") != charlstm::samples_path("model.bak"));
  const charlstm::run_files f = charlstm::files_of_run("runs/m.safetensors");
  CHECK(f.best == "runs/m.best.safetensors");
  CHECK(f.lock == "runs/m.safetensors.lock");
  CHECK(charlstm::files_of_run("model.bak").best == "model.bak.best");
  CHECK(charlstm::report_path("run.v2.safetensors") == "run.v2.html");
  CHECK(charlstm::report_path("model") == "model.html");
  CHECK(charlstm::report_path("dir.d/model") == "dir.d/model.html");
  CHECK(charlstm::report_path(".hidden") == ".hidden.html");
  CHECK(charlstm::report_path("run.html") == "run.html.html");  // never the model itself
}

TEST_CASE("A metrics row round-trips through CSV, empty fields as NaN", "[metrics]") {
  charlstm::metrics_row a;
  a.step = 40;
  a.epoch = 0.5;
  a.train_loss = 2.5;
  a.tokens_per_s = 12345.6;
  a.lr = 0.01;
  a.elapsed_s = 3.25;
  charlstm::metrics_row b = a;
  b.step = 80;
  b.epoch = 1;
  b.val_loss = std::log(2.0) * 3;
  const std::string line_b = charlstm::format_metrics_row(b, char_columns);
  CHECK(line_b == "80,1.0000,2.500000,2.079442,3.606738,3.000000,12345.6,0.01,3.250\n");
  const auto rows = charlstm::parse_metrics(
      header + charlstm::format_metrics_row(a, char_columns) + line_b, "test.csv");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].step == 40);
  CHECK(rows[0].epoch == 0.5);
  CHECK(rows[0].train_loss == 2.5);
  CHECK(std::isnan(rows[0].val_loss));
  CHECK(rows[0].lr == 0.01);
  CHECK(rows[1].val_loss == Approx(2.079442).margin(1e-6));
  CHECK(rows[1].elapsed_s == 3.25);
}

TEST_CASE("metrics.csv's columns name the run's token, and the reader takes either naming",
          "[metrics]") {
  // A character model's names are those of every log written so far; a word model's say words.
  CHECK(char_header ==
        "step,epoch,train_loss,val_loss,train_bits_per_char,val_bits_per_char,chars_per_s,lr,"
        "elapsed_s");
  const std::string word_header = charlstm::metrics_header(token_kind::word);
  CHECK(word_header ==
        "step,epoch,train_loss,val_loss,train_bits_per_word,val_bits_per_word,words_per_s,lr,"
        "elapsed_s");
  CHECK(charlstm::token_unit(token_kind::word) == "word");
  CHECK(charlstm::token_unit(token_kind::character) == "char");
  charlstm::metrics_row r;
  r.step = 80;
  r.epoch = 1;
  r.train_loss = 2.5;
  r.val_loss = std::log(2.0) * 3;
  r.tokens_per_s = 12345.6;
  r.lr = 0.01;
  r.elapsed_s = 3.25;
  // The same values in the same places under either header.
  const std::string line = "80,1.0000,2.500000,2.079442,3.606738,3.000000,12345.6,0.01,3.250\n";
  CHECK(charlstm::format_metrics_row(r, charlstm::metrics_columns(word_header)) == line);
  CHECK(charlstm::format_metrics_row(r, char_columns) == line);
  for (const std::string& h : {char_header, word_header}) {
    INFO(h);
    const auto rows = charlstm::parse_metrics(h + "\n" + line, "m.csv");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].step == 80);
    CHECK(rows[0].train_loss == 2.5);
    CHECK(rows[0].val_loss == Approx(2.079442).margin(1e-6));
    CHECK(rows[0].tokens_per_s == 12345.6);
    CHECK(rows[0].lr == 0.01);
    CHECK(rows[0].elapsed_s == 3.25);
  }
  // Columns found by name: the throughput is read under either name, wherever it stands.
  const auto moved = charlstm::parse_metrics("step,words_per_s\n5,99.5\n", "m.csv");
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].tokens_per_s == 99.5);
}

TEST_CASE("The reader skips a torn last line and rejects a malformed one elsewhere", "[metrics]") {
  const std::string good = "10,0.5000,2.0,,2.885390,,100.0,0.01,1.0\n";
  SECTION("torn in the middle of a number") {
    const auto rows = charlstm::parse_metrics(header + good + "20,1.0000,1.9", "m.csv");
    CHECK(steps_of(rows) == std::vector<std::int64_t>{10});
  }
  SECTION("torn right before its newline") {
    const auto rows = charlstm::parse_metrics(header + good + good.substr(0, good.size() - 1), "m");
    CHECK(rows.size() == 1);
  }
  SECTION("a torn header leaves nothing to read") {
    CHECK_THROWS_WITH(charlstm::parse_metrics("step,epo", "m.csv"),
                      Catch::Contains("m.csv: no header line"));
  }
  SECTION("a malformed complete line names its line") {
    CHECK_THROWS_WITH(charlstm::parse_metrics(header + good + "20,1.0,abc,,,,,,\n" + good, "m.csv"),
                      Catch::Contains("m.csv:3: malformed row '20,1.0,abc,,,,,,'"));
    CHECK_THROWS_WITH(charlstm::parse_metrics(header + "20,1.0\n", "m.csv"),
                      Catch::Contains("m.csv:2:"));
    CHECK_THROWS_WITH(charlstm::parse_metrics("time,loss\n1,2\n", "m.csv"),
                      Catch::Contains("does not start with 'step'"));
  }
  SECTION("columns are found by name") {
    const auto rows = charlstm::parse_metrics("step,extra,val_loss,lr\n7,x9,1.5,0.002\n", "m.csv");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].step == 7);
    CHECK(rows[0].val_loss == 1.5);
    CHECK(rows[0].lr == 0.002);
    CHECK(std::isnan(rows[0].train_loss));
  }
}

TEST_CASE("Samples round-trip through JSON lines with any text", "[metrics]") {
  const charlstm::sample_record s{12, 3, 0.5, "seed \"q\"\n", "<b>&amp;\t\xce\xb1\xce\xb2</b>\\"};
  const std::string line = charlstm::format_sample(s);
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  const auto back = charlstm::parse_samples(line + line + "{\"step\":1", "s.jsonl");
  REQUIRE(back.size() == 2);
  CHECK(back[1].step == 12);
  CHECK(back[1].epoch == 3);
  CHECK(back[1].temperature == 0.5);
  CHECK(back[1].seed == s.seed);
  CHECK(back[1].text == s.text);
  CHECK_THROWS_WITH(charlstm::parse_samples(line + "{}\n", "s.jsonl"),
                    Catch::Contains("s.jsonl:2: not a sample record"));
}

TEST_CASE("Reopening the logs keeps exactly the rows up to the checkpoint's step", "[metrics]") {
  temp_dir dir;
  const std::string model = dir / "m.safetensors";
  {
    charlstm::metrics_writer w(model, "", 0, token_kind::character, 10);
    w.begin_epoch(0, 0);
    for (int step = 1; step <= 5; ++step) w.log(step, 0.2 * step, 4 * step, 2.0, 0.01);
    w.sample({5, 1, 0.2, "ab", "cd"});
    w.commit();
  }
  // A crash mid-write: a torn row at the end.
  test_support::write_text(charlstm::metrics_path(model),
                           charlstm::read_file_bytes(charlstm::metrics_path(model)) + "6,1.2,2.");
  CHECK(charlstm::read_metrics(charlstm::metrics_path(model)).size() == 5);

  SECTION("resume in place from step 3: rows 4 and 5 and the torn line go") {
    {
      charlstm::metrics_writer w(model, model, 3, token_kind::character, 10);
      w.begin_epoch(0, 0);
      w.log(4, 0.8, 4, 1.5, 0.01);
      w.commit();
    }
    const auto rows = charlstm::read_metrics(charlstm::metrics_path(model));
    CHECK(steps_of(rows) == std::vector<std::int64_t>{1, 2, 3, 4});
    CHECK(rows[3].train_loss == 1.5);
    CHECK(rows[3].elapsed_s >= rows[2].elapsed_s);
    CHECK(charlstm::parse_samples(charlstm::read_file_bytes(charlstm::samples_path(model)), "s")
              .empty());
  }
  SECTION("resume from step 5 into another file copies the history") {
    const std::string other = dir / "n.safetensors";
    charlstm::metrics_writer(other, model, 5, token_kind::character, 10).commit();
    CHECK(steps_of(charlstm::read_metrics(charlstm::metrics_path(other))) ==
          std::vector<std::int64_t>{1, 2, 3, 4, 5});
    CHECK(charlstm::parse_samples(charlstm::read_file_bytes(charlstm::samples_path(other)), "s")
              .size() == 1);
    CHECK(charlstm::read_metrics(charlstm::metrics_path(model)).size() == 5);
  }
  SECTION("a fresh run starts the files over") {
    charlstm::metrics_writer(model, "", 0, token_kind::character, 10).commit();
    CHECK(charlstm::read_file_bytes(charlstm::metrics_path(model)) == header);
    CHECK(charlstm::read_file_bytes(charlstm::samples_path(model)).empty());
  }
}

TEST_CASE("A start that never commits changes no file of the run", "[metrics]") {
  temp_dir dir;
  const std::string model = dir / "m.safetensors";
  {
    charlstm::metrics_writer w(model, "", 0, token_kind::character, 10);
    w.begin_epoch(0, 0);
    for (int step = 1; step <= 3; ++step) w.log(step, 0.1 * step, 4 * step, 2.0, 0.01);
    w.sample({3, 1, 0.2, "ab", "cd"});
    w.commit();
  }
  const std::string csv = charlstm::read_file_bytes(charlstm::metrics_path(model));
  const std::string samples = charlstm::read_file_bytes(charlstm::samples_path(model));
  {
    // A fresh run into the same name that fails before its first save.
    charlstm::metrics_writer w(model, "", 0, token_kind::character, 10);
    w.begin_epoch(0, 0);
    w.log(1, 0.1, 4, 9.0, 0.01);
    w.sample({1, 1, 0.2, "x", "y"});
  }
  CHECK(charlstm::read_file_bytes(charlstm::metrics_path(model)) == csv);
  CHECK(charlstm::read_file_bytes(charlstm::samples_path(model)) == samples);
}

TEST_CASE("Resume reads CRLF logs and extra columns without dropping a row, or refuses",
          "[metrics]") {
  temp_dir dir;
  const std::string model = dir / "m.safetensors";
  const std::string csv = charlstm::metrics_path(model);
  auto row = [](int step) {
    charlstm::metrics_row r;
    r.step = step;
    r.epoch = 0.1 * step;
    r.train_loss = 2.0;
    r.elapsed_s = step;
    return r;
  };
  SECTION("CRLF line ends (the file went through a Windows editor)") {
    std::string text = char_header + "\r\n";
    for (int step = 1; step <= 4; ++step) {
      std::string line = charlstm::format_metrics_row(row(step), char_columns);
      line.insert(line.size() - 1, "\r");
      text += line;
    }
    test_support::write_text(csv, text);
    REQUIRE(charlstm::read_metrics(csv).size() == 4);
    charlstm::metrics_writer w(model, model, 3, token_kind::character, 10);
    w.begin_epoch(0, 0);
    w.log(5, 0.5, 4, 1.5, 0.01);
    w.commit();
    CHECK(steps_of(charlstm::read_metrics(csv)) == std::vector<std::int64_t>{1, 2, 3, 5});
    CHECK(charlstm::read_metrics(csv).back().elapsed_s >= 3);  // continued from row 3's
  }
  SECTION("an extra column, added by hand: kept, and new rows leave it empty") {
    std::string text = char_header + ",note\n";
    for (int step = 1; step <= 4; ++step) {
      std::string line = charlstm::format_metrics_row(row(step), char_columns);
      line.insert(line.size() - 1, ",n" + std::to_string(step));
      text += line;
    }
    test_support::write_text(csv, text);
    charlstm::metrics_writer w(model, model, 4, token_kind::character, 10);
    w.begin_epoch(0, 0);
    w.log(5, 0.5, 4, 1.5, 0.01);
    w.commit();
    const std::string after = charlstm::read_file_bytes(csv);
    CHECK(after.compare(0, text.size(), text) == 0);
    CHECK_THAT(after, Catch::EndsWith(",\n"));
    CHECK(steps_of(charlstm::read_metrics(csv)) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  }
  SECTION("a malformed row in the middle: refused, the file untouched") {
    const std::string text = char_header + "\n" +
                             charlstm::format_metrics_row(row(1), char_columns) + "garbage\n" +
                             charlstm::format_metrics_row(row(2), char_columns);
    test_support::write_text(csv, text);
    CHECK_THROWS_WITH(charlstm::metrics_writer(model, model, 4, token_kind::character, 10),
                      Catch::Contains(csv + ":3: malformed line 'garbage'") &&
                          Catch::Contains("the log was left as it is"));
    CHECK(charlstm::read_file_bytes(csv) == text);
  }
  SECTION("a log under the name before 0.2 (cut at the last dot) is read, never written") {
    const std::string legacy = dir / "m.metrics.csv";
    const std::string text = char_header + "\n" +
                             charlstm::format_metrics_row(row(1), char_columns) +
                             charlstm::format_metrics_row(row(2), char_columns);
    test_support::write_text(legacy, text);
    charlstm::metrics_writer(model, model, 2, token_kind::character, 10).commit();
    CHECK(steps_of(charlstm::read_metrics(csv)) == std::vector<std::int64_t>{1, 2});
    CHECK(charlstm::read_file_bytes(legacy) == text);
  }
}

namespace {

// The first line of a file, without its newline.
std::string first_line(const std::string& path) {
  const std::string text = charlstm::read_file_bytes(path);
  return text.substr(0, text.find('\n'));
}

// How many lines of a file start as a header does.
std::size_t header_lines(const std::string& path) {
  std::size_t n = 0;
  const std::string text = "\n" + charlstm::read_file_bytes(path);
  for (auto at = text.find("\nstep,"); at != std::string::npos; at = text.find("\nstep,", at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("A new log's header follows the run's token kind", "[metrics]") {
  temp_dir dir;
  for (const token_kind kind : {token_kind::character, token_kind::word}) {
    const std::string model = dir / (charlstm::token_unit(kind) + ".safetensors");
    charlstm::metrics_writer w(model, "", 0, kind, 10);
    w.begin_epoch(0, 0);
    w.log(1, 0.1, 4, 2.0, 0.01);
    w.commit();
    CHECK(first_line(charlstm::metrics_path(model)) == charlstm::metrics_header(kind));
    const auto rows = charlstm::read_metrics(charlstm::metrics_path(model));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].train_loss == 2.0);
    CHECK(rows[0].tokens_per_s > 0);
  }
  CHECK_THAT(first_line(dir / "word.safetensors.metrics.csv"),
             Catch::Contains("train_bits_per_word,val_bits_per_word,words_per_s"));
  CHECK_THAT(first_line(dir / "char.safetensors.metrics.csv"),
             Catch::Contains("train_bits_per_char,val_bits_per_char,chars_per_s"));
}

TEST_CASE("A word run resumed from a log with the char names keeps that header: one table",
          "[metrics]") {
  temp_dir dir;
  const std::string model = dir / "m.safetensors";
  // Written by a word run before the names followed the token.
  charlstm::metrics_row old;
  old.step = 1;
  old.epoch = 0.5;
  old.train_loss = 4.0;
  old.tokens_per_s = 100;
  old.lr = 0.01;
  old.elapsed_s = 1;
  const std::string text = header + charlstm::format_metrics_row(old, char_columns);
  test_support::write_text(charlstm::metrics_path(model), text);
  // Into another --out first (the history copied), then in place (the file appended to).
  for (const std::string& out : {dir / "n.safetensors", model}) {
    INFO(out);
    {
      charlstm::metrics_writer w(out, model, 1, token_kind::word, 10);
      w.begin_epoch(0, 0);
      w.log(2, 1.0, 4, 1.5, 0.01, 1.25);
      w.commit();
    }
    const std::string csv = charlstm::metrics_path(out);
    const std::string after = charlstm::read_file_bytes(csv);
    CHECK(after.compare(0, text.size(), text) == 0);  // the old header and rows as they were
    CHECK(header_lines(csv) == 1);
    // The new row's values under the old names, each in its column.
    CHECK_THAT(after.substr(text.size()),
               Catch::StartsWith("2,1.0000,1.500000,1.250000,2.164043,1.803369,"));
    const auto rows = charlstm::read_metrics(csv);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].train_loss == 4.0);
    CHECK(rows[1].step == 2);
    CHECK(rows[1].train_loss == 1.5);
    CHECK(rows[1].val_loss == 1.25);
    CHECK(rows[1].tokens_per_s > 0);
  }
}

TEST_CASE("The writer's rows hold the interval's mean loss and throughput", "[metrics]") {
  temp_dir dir;
  charlstm::metrics_writer w(dir / "m.safetensors", "", 0, token_kind::character, 60);
  w.begin_epoch(100, 3.0);         // resumed after 100 sequences at mean 3.0
  w.log(10, 0.5, 200, 2.5, 0.01);  // the next 100 at mean 2.0
  w.pause();
  w.log(20, 1.0, 300, 2.0, 0.005, 1.75);  // the next 100 at mean 1.0
  w.commit();
  const auto rows = charlstm::read_metrics(dir / "m.safetensors.metrics.csv");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].train_loss == Approx(2.0));
  CHECK(rows[1].train_loss == Approx(1.0));
  CHECK(std::isnan(rows[0].val_loss));
  CHECK(rows[1].val_loss == 1.75);
  CHECK(rows[1].lr == 0.005);
  CHECK(rows[0].tokens_per_s > 0);
}

TEST_CASE("train writes metrics.csv and samples.jsonl, resumed without duplicates",
          "[metrics][cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  const std::string model = dir / "m.safetensors";
  // ~2700 training characters: 894 windows, 28 batches of 32 per epoch.
  auto r =
      run_cli("train " + small_flags(dir) + " --epochs 2 --max-steps 30 --out " + quote(model));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(first_line(dir / "m.safetensors.metrics.csv") == char_header);
  // A crash after the checkpoint: rows beyond it and a torn row, which the resume must drop.
  test_support::write_text(dir / "m.safetensors.metrics.csv", charlstm::read_file_bytes(dir / "m.safetensors.metrics.csv") +
                                                      "31,1.1,2.0,,2.9,,10.0,0.01,1.0\n32,1.1,2.");
  r = run_cli("train " + small_flags(dir) + " --epochs 2 --resume " + quote(model));
  REQUIRE(r.exit_code == 0);

  const auto rows = charlstm::read_metrics(dir / "m.safetensors.metrics.csv");
  // Every 4 steps, plus the epoch ends (28, 56) and the stop at 30.
  CHECK(steps_of(rows) ==
        std::vector<std::int64_t>{4, 8, 12, 16, 20, 24, 28, 30, 32, 36, 40, 44, 48, 52, 56});
  int with_val = 0;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    CHECK(std::isfinite(rows[k].train_loss));
    CHECK(rows[k].train_loss > 0);
    CHECK(rows[k].tokens_per_s > 0);
    CHECK(rows[k].lr == 0.01);
    if (k > 0) CHECK(rows[k].elapsed_s >= rows[k - 1].elapsed_s);
    if (std::isfinite(rows[k].val_loss)) ++with_val;
  }
  CHECK(with_val == 3);  // epoch 1, the stop at step 30, epoch 2
  CHECK(rows[6].epoch == 1.0);
  CHECK(rows.back().epoch == 2.0);
  const auto samples =
      charlstm::parse_samples(charlstm::read_file_bytes(dir / "m.safetensors.samples.jsonl"), "samples");
  REQUIRE(samples.size() == 6);  // epoch 1, the stop in epoch 2, epoch 2; two temperatures each
  CHECK(samples[0].epoch == 1);
  CHECK(samples[0].step == 28);
  CHECK(samples[0].temperature == 0.5);
  CHECK(samples[1].temperature == 1.0);
  CHECK(samples[5].step == 56);
  CHECK(samples[5].seed.size() == 20);
  CHECK(charlstm::decode_utf8(samples[5].text).size() == 20);
  CHECK_THAT(r.err, Catch::Contains(samples[5].text));
}

TEST_CASE("train --tokens word names its columns per word, and keeps them on resume",
          "[metrics][cli]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", small_corpus());
  const std::string model = dir / "w.safetensors";
  const std::string csv = charlstm::metrics_path(model);
  auto r = run_cli("train " + small_flags(dir) + " --tokens word --epochs 1 --out " + quote(model));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(first_line(csv) == charlstm::metrics_header(token_kind::word));
  const std::size_t rows_before = charlstm::read_metrics(csv).size();
  REQUIRE(rows_before > 0);
  r = run_cli("train " + small_flags(dir) + " --tokens word --epochs 2 --resume " + quote(model));
  REQUIRE(r.exit_code == 0);
  CHECK(first_line(csv) == charlstm::metrics_header(token_kind::word));
  CHECK(header_lines(csv) == 1);
  const auto rows = charlstm::read_metrics(csv);
  CHECK(rows.size() > rows_before);
  for (const auto& row : rows) {
    CHECK(row.train_loss > 0);
    CHECK(row.tokens_per_s > 0);
  }
  CHECK(rows.back().epoch == 2.0);
}
