// charlstm/run/metrics_format.hpp: the logs `charlstm train` writes beside the checkpoint X for
// `charlstm report` (named from X's whole name, see run_files below), as records and as text:
//   X.metrics.csv    one row per logged point (every N steps and at each epoch's end):
//                    step,epoch,train_loss,val_loss,train_bits_per_char,val_bits_per_char,
//                    chars_per_s,lr,elapsed_s   (empty field: not measured at that row)
//                    Losses are per token, and the columns name the token: a word model's are
//                    train_bits_per_word, val_bits_per_word and words_per_s (metrics_header).
//                    The reader takes either naming; a word run's log begun before the names
//                    followed the token keeps its char-named header when resumed (one table).
//   X.samples.jsonl  one JSON object per line: {"step","epoch","temperature","seed","text"}
// The readers skip a last line without its newline (a write torn by a crash) and accept CRLF line
// ends; a malformed row elsewhere is an error, never a silent cut.  Not a general CSV library: it
// reads what it writes, columns found by name (extra columns are kept).  Writing the files
// (append-only, cut back to a checkpoint on resume) is run/metrics.hpp's.  No Eigen.
// Part of the tool's run files (charlstm/run/), not of the library's umbrella charlstm.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../file.hpp"
#include "../json.hpp"
#include "../vocabulary.hpp"

namespace charlstm {

// One logged point.  NaN marks a field that was not measured at this row.
struct metrics_row {
  std::int64_t step = 0;  // optimizer steps in all
  double epoch = 0;       // epochs completed, fractional: 2.5 = half-way through the third
  double train_loss =
      std::numeric_limits<double>::quiet_NaN();  // nats per token, mean since the last row
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // nats per token, at epoch ends
  // Training throughput since the last row: characters, or words for a word model, per second.
  double tokens_per_s = std::numeric_limits<double>::quiet_NaN();
  double lr = std::numeric_limits<double>::quiet_NaN();  // learning rate in use
  double elapsed_s = 0;  // wall-clock seconds since training began, across resumes
};

// One generated sample, as printed after an epoch.
struct sample_record {
  std::int64_t step = 0;
  long epoch = 0;
  double temperature = 0;
  std::string seed, text;  // UTF-8; `text` excludes the seed
};

// What a run's losses and throughput are per, named from its vocabulary's kind: "char" or "word".
inline std::string token_unit(token_kind tokens) {
  return tokens == token_kind::word ? "word" : "char";
}

// metrics.csv's header for a run of `tokens`: the bits and throughput columns name the token.
//   metrics_header(token_kind::word) == "step,epoch,train_loss,val_loss,train_bits_per_word,"
//                                       "val_bits_per_word,words_per_s,lr,elapsed_s"
// Pitfall: a resumed run writes under its file's header (run/metrics.hpp), not this one.
inline std::string metrics_header(token_kind tokens) {
  const std::string unit = token_unit(tokens);
  return "step,epoch,train_loss,val_loss,train_bits_per_" + unit + ",val_bits_per_" + unit + "," +
         unit + "s_per_s,lr,elapsed_s";
}

// What a column of metrics.csv holds, under either token's name ("train_bits_per_char" and
// "train_bits_per_word" are both train_bits); `other` for a column this version does not write.
enum class metrics_column {
  step,
  epoch,
  train_loss,
  val_loss,
  train_bits,
  val_bits,
  tokens_per_s,
  lr,
  elapsed_s,
  other
};
inline metrics_column column_of(const std::string& name) {
  using c = metrics_column;
  if (name == "step") return c::step;
  if (name == "epoch") return c::epoch;
  if (name == "train_loss") return c::train_loss;
  if (name == "val_loss") return c::val_loss;
  if (name == "train_bits_per_char" || name == "train_bits_per_word") return c::train_bits;
  if (name == "val_bits_per_char" || name == "val_bits_per_word") return c::val_bits;
  if (name == "chars_per_s" || name == "words_per_s") return c::tokens_per_s;
  if (name == "lr") return c::lr;
  if (name == "elapsed_s") return c::elapsed_s;
  return c::other;
}

// ---- File names ------------------------------------------------------------------------------

// The files of the run whose checkpoint is `checkpoint`, all named from its whole name (never cut
// at a dot), so that runs "lr0.01" and "lr0.02", or "model" and "model.bak", share no file:
//   run_files f = files_of_run("runs/m.safetensors");
//   // f.metrics == "runs/m.safetensors.metrics.csv"
// The best checkpoint is the engine's best_checkpoint_path (file.hpp).
struct run_files {
  std::string checkpoint, best, metrics, samples, lock;
};
inline run_files files_of_run(const std::string& checkpoint) {
  return {checkpoint, best_checkpoint_path(checkpoint), checkpoint + ".metrics.csv",
          checkpoint + ".samples.jsonl", checkpoint + ".lock"};
}
inline std::string metrics_path(const std::string& model) { return files_of_run(model).metrics; }
inline std::string samples_path(const std::string& model) { return files_of_run(model).samples; }

// The name before 0.2, cut at the last dot of the file name ("runs/m.safetensors" -> "runs/m"):
// read (never written) when a run's log has no file under its whole name yet.
inline std::string legacy_path_stem(const std::string& model_path) {
  const auto slash = model_path.find_last_of('/');
  const auto dot = model_path.find_last_of('.');
  const std::size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  if (dot == std::string::npos || dot <= name_start) return model_path;
  return model_path.substr(0, dot);
}
// The log of `model` to read: its whole-name file, or the legacy one if only that exists.
inline std::string existing_log_path(const std::string& model, const std::string& suffix) {
  const std::string whole = model + suffix, legacy = legacy_path_stem(model) + suffix;
  if (!file_exists(whole) && legacy != whole && legacy != model && file_exists(legacy))
    return legacy;
  return whole;
}

// The report's default page: X.safetensors -> X.html, any other name X -> X.html appended
// ("run.html" -> "run.html.html"), so that the page is never the model it describes.
inline std::string report_path(const std::string& model) {
  const std::string ext = ".safetensors";
  if (model.size() > ext.size() && model.compare(model.size() - ext.size(), ext.size(), ext) == 0)
    return model.substr(0, model.size() - ext.size()) + ".html";
  return model + ".html";
}

// ---- Rows as text ----------------------------------------------------------------------------

namespace metrics_detail {

inline std::string number(double v, const char* format) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

inline std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out(1);
  for (char ch : line) {
    if (ch == sep) {
      out.emplace_back();
    } else {
      out.back() += ch;
    }
  }
  return out;
}

// A finite number, or NaN for an empty field; false if the field is neither.
inline bool parse_field(const std::string& s, double& value) {
  if (s.empty()) {
    value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  char* end = nullptr;
  value = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && std::isfinite(value);
}

inline bool parse_step(const std::string& s, std::int64_t& step) {
  if (s.empty() || s.size() > 18) return false;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
  }
  step = std::strtoll(s.c_str(), nullptr, 10);
  return true;
}

// The complete lines of `text` (each ended by '\n', a '\r' before it dropped: CRLF files read
// as LF ones); a last line without one is torn and left out.
inline std::vector<std::string> complete_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::size_t end = nl > start && text[nl - 1] == '\r' ? nl - 1 : nl;
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

}  // namespace metrics_detail

// The columns of a header line: metrics_columns(metrics_header(token_kind::word)).
inline std::vector<std::string> metrics_columns(const std::string& header) {
  return metrics_detail::split(header, ',');
}

// A row as one CSV line, newline included, in `columns` (a header split at commas, e.g. a file's
// own): a column this version does not write is left empty.
//   format_metrics_row(row, metrics_columns(metrics_header(token_kind::character)))
inline std::string format_metrics_row(const metrics_row& r,
                                      const std::vector<std::string>& columns) {
  using metrics_detail::number;
  const double ln2 = std::log(2.0);
  const auto field = [&](const std::string& name) -> std::string {
    switch (column_of(name)) {
      case metrics_column::step:
        return std::to_string(r.step);
      case metrics_column::epoch:
        return number(r.epoch, "%.4f");
      case metrics_column::train_loss:
        return number(r.train_loss, "%.6f");
      case metrics_column::val_loss:
        return number(r.val_loss, "%.6f");
      case metrics_column::train_bits:
        return number(r.train_loss / ln2, "%.6f");
      case metrics_column::val_bits:
        return number(r.val_loss / ln2, "%.6f");
      case metrics_column::tokens_per_s:
        return number(r.tokens_per_s, "%.1f");
      case metrics_column::lr:
        return number(r.lr, "%.6g");
      case metrics_column::elapsed_s:
        return number(r.elapsed_s, "%.3f");
      case metrics_column::other:
        break;
    }
    return "";
  };
  std::string line;
  for (std::size_t k = 0; k < columns.size(); ++k) line += (k ? "," : "") + field(columns[k]);
  return line + "\n";
}

// The row in one CSV line (no newline) under `header`'s column names; false if malformed.
// Columns are found by name, so a file with columns added later still reads, and so do both
// namings of the per-token columns (chars_per_s or words_per_s, both tokens_per_s).
inline bool parse_metrics_line(const std::vector<std::string>& header, const std::string& line,
                               metrics_row& row) {
  const std::vector<std::string> fields = metrics_detail::split(line, ',');
  if (fields.size() != header.size()) return false;
  row = metrics_row{};
  bool has_step = false;
  for (std::size_t k = 0; k < fields.size(); ++k) {
    const metrics_column column = column_of(header[k]);
    if (column == metrics_column::step) {
      if (!metrics_detail::parse_step(fields[k], row.step)) return false;
      has_step = true;
      continue;
    }
    // The bits columns repeat the losses (divided by ln 2) and are not read.
    double* target = column == metrics_column::epoch          ? &row.epoch
                     : column == metrics_column::train_loss   ? &row.train_loss
                     : column == metrics_column::val_loss     ? &row.val_loss
                     : column == metrics_column::tokens_per_s ? &row.tokens_per_s
                     : column == metrics_column::lr           ? &row.lr
                     : column == metrics_column::elapsed_s    ? &row.elapsed_s
                                                              : nullptr;
    if (target && !metrics_detail::parse_field(fields[k], *target)) return false;
  }
  if (!std::isfinite(row.epoch)) row.epoch = 0;
  if (!std::isfinite(row.elapsed_s)) row.elapsed_s = 0;
  return has_step;
}

// The rows of a metrics.csv's text.  A torn last line (no newline: the writer was killed
// mid-write) is skipped; any other malformed line throws with its line number.
//   std::vector<metrics_row> rows = parse_metrics(read_file_bytes(path), path);
inline std::vector<metrics_row> parse_metrics(const std::string& text, const std::string& source) {
  const std::vector<std::string> lines = metrics_detail::complete_lines(text);
  require(!lines.empty(), source + ": no header line: expected one such as '" +
                              metrics_header(token_kind::character) + "'");
  const std::vector<std::string> header = metrics_detail::split(lines[0], ',');
  require(header[0] == "step",
          source + ":1: the header does not start with 'step': not written by `charlstm train`?");
  std::vector<metrics_row> rows;
  for (std::size_t k = 1; k < lines.size(); ++k) {
    metrics_row row;
    require(parse_metrics_line(header, lines[k], row),
            source + ":" + std::to_string(k + 1) + ": malformed row '" + lines[k] + "' (expected " +
                std::to_string(header.size()) + " comma-separated numbers)");
    rows.push_back(row);
  }
  return rows;
}

inline std::vector<metrics_row> read_metrics(const std::string& path) {
  return parse_metrics(read_file_bytes(path), path);
}

// A sample as one JSON line, newline included.
inline std::string format_sample(const sample_record& s) {
  char temperature[32];
  std::snprintf(temperature, sizeof temperature, "%.6g", s.temperature);
  return "{\"step\":" + std::to_string(s.step) + ",\"epoch\":" + std::to_string(s.epoch) +
         ",\"temperature\":" + temperature + ",\"seed\":" + json_quote(s.seed) +
         ",\"text\":" + json_quote(s.text) + "}\n";
}

// One JSON line as a sample; false if it is not one.
inline bool parse_sample_line(const std::string& line, sample_record& s) {
  try {
    const json_value v = parse_json(line.data(), line.size(), "sample");
    const json_value* step = v.find("step");
    const json_value* epoch = v.find("epoch");
    const json_value* temperature = v.find("temperature");
    const json_value* seed = v.find("seed");
    const json_value* text = v.find("text");
    if (!step || !epoch || !temperature || !seed || !text) return false;
    if (temperature->type != json_value::kind::number || seed->type != json_value::kind::string ||
        text->type != json_value::kind::string)
      return false;
    s.step = step->as_count("step");
    s.epoch = static_cast<long>(epoch->as_count("epoch"));
    s.temperature = std::strtod(temperature->text.c_str(), nullptr);
    s.seed = seed->text;
    s.text = text->text;
    return true;
  } catch (const error&) {
    return false;
  }
}

// The samples of a samples.jsonl's text; a torn last line is skipped, others throw.
inline std::vector<sample_record> parse_samples(const std::string& text,
                                                const std::string& source) {
  std::vector<sample_record> out;
  const std::vector<std::string> lines = metrics_detail::complete_lines(text);
  for (std::size_t k = 0; k < lines.size(); ++k) {
    sample_record s;
    require(parse_sample_line(lines[k], s), source + ":" + std::to_string(k + 1) +
                                                ": not a sample record (a JSON object with " +
                                                "step, epoch, temperature, seed and text)");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace charlstm
