// charlstm: the command-line tool.  Train the book's model on any text, resume, generate,
// evaluate, and print a corpus's statistics.  `charlstm --help` and `charlstm CMD --help` list
// the flags; docs/cli.md explains them.  All library errors arrive as charlstm::error and end
// here as one line on stderr and a non-zero exit.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charlstm/charlstm.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using charlstm::index;
using charlstm::require;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// ---- Corpora by name ---------------------------------------------------------------------

struct named_corpus {
  const char* name;
  const char* file;
  const char* url;
  const char* sha256;
};

const named_corpus known_corpora[] = {
    {"nietzsche", "nietzsche.txt", "https://s3.amazonaws.com/text-datasets/nietzsche.txt",
     "8f140bcac6986db4b7930f9573ec18a74e10ad6084e31a13303cc654025ec33b"},
    {"tinyshakespeare", "tinyshakespeare.txt",
     "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
     "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"},
    {"moes_tavern", "moes_tavern_lines.txt",
     "https://raw.githubusercontent.com/udacity/deep-learning/master/tv-script-generation/data/"
     "simpsons/moes_tavern_lines.txt",
     "44eaf379f2368165d52d395329d0c639ef1a0036d5b7e2c0f0d3acfd657d7ed4"},
};

bool file_exists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string cache_directory() {
  if (const char* dir = std::getenv("CHARLSTM_DATA"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  require(home && *home,
          "neither CHARLSTM_DATA nor HOME is set: set CHARLSTM_DATA to a directory for corpora");
  return std::string(home) + "/.cache/charlstm";
}

std::string sha256_of(const std::string& path) {
  FILE* pipe = ::popen(("sha256sum " + shell_quote(path)).c_str(), "r");
  require(pipe != nullptr, "cannot run sha256sum");
  char buf[65] = {0};
  const std::size_t n = std::fread(buf, 1, 64, pipe);
  ::pclose(pipe);
  return std::string(buf, n);
}

// A path as given, or a corpus name resolved to ../shared/data, the cache, or a download.
std::string resolve_corpus(const std::string& arg) {
  const named_corpus* known = nullptr;
  for (const auto& c : known_corpora) {
    if (arg == c.name) known = &c;
  }
  if (!known) {
    // A path that exists goes on to the reader, which says why it cannot be read if it cannot.
    if (::access(arg.c_str(), F_OK) != 0) {
      throw charlstm::error("corpus '" + arg + "' is neither a readable file nor a known name " +
                            "(nietzsche, tinyshakespeare, moes_tavern): " + std::strerror(errno));
    }
    return arg;
  }
  for (const char* dir : {"../shared/data", CHARLSTM_DATA_DIR}) {
    if (file_exists(std::string(dir) + "/" + known->file))
      return std::string(dir) + "/" + known->file;
  }
  const std::string dir = cache_directory(), target = dir + "/" + known->file;
  if (file_exists(target)) return target;
  std::cerr << "downloading " << known->name << " from " << known->url << " into " << dir << "\n";
  require(std::system(("mkdir -p " + shell_quote(dir)).c_str()) == 0, "cannot create " + dir);
  const std::string temp = target + ".download";
  const int rc =
      std::system(("curl -fsSL --retry 2 -o " + shell_quote(temp) + " " + known->url).c_str());
  if (rc != 0) {
    std::remove(temp.c_str());
    throw charlstm::error("download of " + std::string(known->url) + " failed (curl exit " +
                          std::to_string(rc) + "): check the network, or pass the file's path");
  }
  const std::string sum = sha256_of(temp);
  if (sum != known->sha256) {
    std::remove(temp.c_str());
    throw charlstm::error("downloaded " + std::string(known->name) + " has SHA-256 " + sum +
                          ", expected " + known->sha256 + ": the file was not kept");
  }
  require(std::rename(temp.c_str(), target.c_str()) == 0, "cannot move the download to " + target);
  return target;
}

// ---- Text helpers ------------------------------------------------------------------------

std::vector<double> parse_temperatures(const std::string& list,
                                       const std::string& flag = "--temperatures") {
  std::vector<double> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double t = std::strtod(item.c_str(), &end);
    require(!item.empty() && end && *end == '\0', flag + ": '" + item + "' is not a number");
    charlstm::require_temperature(t);
    out.push_back(t);
  }
  require(!out.empty(), flag + ": give at least one value, e.g. 0.2,0.5,1.0,1.2");
  return out;
}

std::string format_number(double v, int precision = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string format_general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string format_duration(double seconds) {
  const long s = std::lround(seconds);
  if (s < 60) return std::to_string(s) + "s";
  char buf[32];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  }
  return buf;
}

// ---- Progress ------------------------------------------------------------------------------

// Keras's progress bar on a terminal; on anything else, one line when the epoch ends.
class progress_bar {
 public:
  explicit progress_bar(bool terminal) : terminal_(terminal) {}

  void update(const charlstm::epoch_progress& p, index first_batch) {
    if (!terminal_) return;
    const double now = seconds_since(start_);
    if (now - last_draw_ < 0.1 && p.batches_done != p.batches_total) return;
    last_draw_ = now;
    const double per_batch =
        now / static_cast<double>(std::max<index>(1, p.batches_done - first_batch));
    const double eta = per_batch * static_cast<double>(p.batches_total - p.batches_done);
    std::printf("\r%s - ETA: %s - loss: %.4f   ", bar(p).c_str(), format_duration(eta).c_str(),
                p.mean_loss);
    std::fflush(stdout);
  }

  void finish(const charlstm::epoch_progress& p, index first_batch) {
    const double total = seconds_since(start_);
    const double ms =
        1000 * total / static_cast<double>(std::max<index>(1, p.batches_done - first_batch));
    std::printf("%s%s - %s %.0fms/step - loss: %.4f\n", terminal_ ? "\r" : "", bar(p).c_str(),
                format_duration(total).c_str(), ms, p.mean_loss);
    std::fflush(stdout);
  }

 private:
  bool terminal_;
  clock_type::time_point start_ = clock_type::now();
  double last_draw_ = -1;

  static std::string bar(const charlstm::epoch_progress& p) {
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
};

// Ctrl-C: the first finishes the current step and saves; the second exits at once.
std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) {
  interrupted = true;
  std::signal(SIGINT, SIG_DFL);
}

// ---- train ---------------------------------------------------------------------------------

// The metrics logs beside the checkpoint are secondary: if they cannot be written (disk full,
// read-only directory), say so once and train on without them.  The checkpoint is what must
// not be lost.
class optional_metrics {
 public:
  optional_metrics(const std::string& model_path, const std::string& resumed_from,
                   std::int64_t steps, double chars_per_sequence) {
    guard([&] {
      writer_ = std::make_unique<charlstm::metrics_writer>(model_path, resumed_from, steps,
                                                           chars_per_sequence);
    });
  }
  void begin_epoch(index sequences_done, double mean_loss) {
    guard([&] { writer_->begin_epoch(sequences_done, mean_loss); });
  }
  void pause() {
    guard([&] { writer_->pause(); });
  }
  void log(std::int64_t step, double epoch, index sequences_done, double mean_loss, double lr,
           double val_loss = std::numeric_limits<double>::quiet_NaN()) {
    guard([&] { writer_->log(step, epoch, sequences_done, mean_loss, lr, val_loss); });
  }
  void sample(const charlstm::sample_record& s) {
    guard([&] { writer_->sample(s); });
  }

 private:
  std::unique_ptr<charlstm::metrics_writer> writer_;
  bool failed_ = false;

  template <class F>
  void guard(const F& write) {
    if (failed_) return;
    try {
      write();
    } catch (const charlstm::error& e) {
      failed_ = true;
      writer_.reset();
      std::fflush(stdout);
      std::fprintf(stderr, "charlstm: warning: %s; training continues without the metrics log\n",
                   e.what());
    }
  }
};

// A character vocabulary larger than this is almost surely not text (or a binary file that
// happens to be valid UTF-8); `--max-char-vocab` raises it for scripts with many characters.
constexpr long default_max_char_vocab = 1000;

struct train_options {
  std::string corpus = "nietzsche", out, resume, temperatures = "0.2,0.5,1.0,1.2";
  std::string tokens = "char";
  long max_vocab = static_cast<long>(charlstm::default_max_vocab);
  std::string mode = "sequence", optimizer = "rmsprop";
  long epochs = 60, max_steps = -1, maxlen = 60, step = 3, hidden = 128, batch = 128;
  long max_char_vocab = default_max_char_vocab;
  long seq_len = 100, layers = 1, lr_decay_after = 10, patience = 0;
  long threads = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
  long sample_length = 400, log_every = 20;
  double lr = 0.01, val_fraction = 0.1, clip_norm = 5, dropout = 0, lr_decay = 1;
  bool lowercase = true;
  unsigned long long seed = 1;
};

// The learning rate of `epoch` (1-based): --lr, times --lr-decay for every epoch finished after
// the first --lr-decay-after.
double learning_rate_at(const train_options& o, long epoch) {
  return o.lr * std::pow(o.lr_decay, static_cast<double>(std::max(0L, epoch - 1 - o.lr_decay_after)));
}

// Where the best-validation checkpoint goes: MODEL.safetensors -> MODEL.best.safetensors.
std::string best_path(const std::string& out) {
  const std::string ext = ".safetensors";
  if (out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0)
    return out.substr(0, out.size() - ext.size()) + ".best" + ext;
  return out + ".best";
}

// The checkpoint's metadata for `o` and the training position.
std::map<std::string, std::string> training_metadata(const train_options& o, long epoch,
                                                     index epoch_batch, double epoch_loss,
                                                     const std::mt19937_64& engine,
                                                     const std::u32string& sample_window) {
  std::ostringstream rng;
  rng << engine;
  return {{"corpus", o.corpus},
          {"mode", o.mode},
          {"seq_len", std::to_string(o.seq_len)},
          {"dropout", format_number(o.dropout, 17)},
          {"lr_decay", format_number(o.lr_decay, 17)},
          {"lr_decay_after", std::to_string(o.lr_decay_after)},
          {"patience", std::to_string(o.patience)},
          {"maxlen", std::to_string(o.maxlen)},
          {"step", std::to_string(o.step)},
          {"batch", std::to_string(o.batch)},
          {"lr", format_number(o.lr, 17)},
          {"lowercase", o.lowercase ? "1" : "0"},
          {"val_fraction", format_number(o.val_fraction, 17)},
          {"seed", std::to_string(o.seed)},
          {"clip_norm", format_number(o.clip_norm, 17)},
          {"epoch", std::to_string(epoch)},
          {"epoch_batch", std::to_string(epoch_batch)},
          {"epoch_loss", format_number(epoch_loss, 17)},
          {"rng", rng.str()},
          {"sample_window", charlstm::encode_utf8(sample_window)}};
}

const std::string& meta_at(const charlstm::checkpoint_info& info, const std::string& key) {
  auto it = info.metadata.find(key);
  require(it != info.metadata.end(),
          "checkpoint metadata has no '" + key + "' (not written by `charlstm train`?)");
  return it->second;
}

long meta_long(const charlstm::checkpoint_info& info, const std::string& key) {
  const std::string& v = meta_at(info, key);
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  require(!v.empty() && *end == '\0',
          "checkpoint metadata '" + key + "' is not an integer: '" + v + "'");
  return static_cast<long>(x);
}

double meta_double(const charlstm::checkpoint_info& info, const std::string& key) {
  const std::string& v = meta_at(info, key);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  require(!v.empty() && *end == '\0' && std::isfinite(x),
          "checkpoint metadata '" + key + "' is not a number: '" + v + "'");
  return x;
}

void validate(const train_options& o) {
  require(o.epochs >= 1, "--epochs must be at least 1, got " + std::to_string(o.epochs));
  require(o.max_steps == -1 || o.max_steps >= 1, "--max-steps must be at least 1");
  require(o.maxlen >= 1 && o.maxlen <= 100000,
          "--maxlen must be in [1, 100000], got " + std::to_string(o.maxlen));
  require(o.step >= 1, "--step must be at least 1, got " + std::to_string(o.step));
  require(o.hidden >= 1 && o.hidden <= 16384,
          "--hidden must be in [1, 16384], got " + std::to_string(o.hidden));
  require(o.batch >= 1 && o.batch <= 1000000,
          "--batch must be in [1, 1000000], got " + std::to_string(o.batch));
  // Any rate a float holds is accepted: a rate that makes training diverge is stopped by the
  // divergence guard in train(), with the last good checkpoint kept.
  require(std::isfinite(o.lr) && o.lr > 0 && o.lr <= std::numeric_limits<float>::max(),
          "--lr must be a positive finite number (at most 3.4e38), got " + format_general(o.lr));
  require(std::isfinite(o.val_fraction) && o.val_fraction >= 0 && o.val_fraction < 1,
          "--val-fraction must be in [0, 1), got " + format_number(o.val_fraction, 6));
  require(o.threads >= 1 && o.threads <= 256,
          "--threads must be in [1, 256], got " + std::to_string(o.threads));
  require(o.sample_length >= 0, "--sample-length must be >= 0");
  require(o.log_every >= 1, "--log-every must be at least 1, got " + std::to_string(o.log_every));
  require(std::isfinite(o.clip_norm) && o.clip_norm >= 0,
          "--clip-norm must be a finite number >= 0 (0: off), got " + format_general(o.clip_norm));
  require(o.max_char_vocab >= 1,
          "--max-char-vocab must be at least 1, got " + std::to_string(o.max_char_vocab));
  require(o.mode == "sequence" || o.mode == "window",
          "--mode must be sequence or window, got '" + o.mode + "'");
  require(o.optimizer == "rmsprop" || o.optimizer == "adam",
          "--optimizer must be rmsprop or adam, got '" + o.optimizer + "'");
  require(o.seq_len >= 1 && o.seq_len <= 100000,
          "--seq-len must be in [1, 100000], got " + std::to_string(o.seq_len));
  require(o.layers >= 1 && o.layers <= 16,
          "--layers must be in [1, 16], got " + std::to_string(o.layers));
  require(std::isfinite(o.dropout) && o.dropout >= 0 && o.dropout < 1,
          "--dropout must be in [0, 1), got " + format_number(o.dropout, 6));
  require(o.dropout == 0 || o.layers > 1,
          "--dropout acts between stacked layers: use --layers 2 or more, or --dropout 0");
  require(std::isfinite(o.lr_decay) && o.lr_decay > 0 && o.lr_decay <= 1,
          "--lr-decay must be in (0, 1] (1: off), got " + format_number(o.lr_decay, 6));
  require(o.lr_decay_after >= 0, "--lr-decay-after must be >= 0");
  require(o.patience >= 0, "--patience must be >= 0 (0: off)");
  parse_temperatures(o.temperatures);
  require(o.tokens == "char" || o.tokens == "word",
          "--tokens must be char or word, got '" + o.tokens + "'");
  require(o.max_vocab >= 2 && o.max_vocab <= 1000000,
          "--max-vocab must be in [2, 1000000], got " + std::to_string(o.max_vocab));
}

// The carried state of sequence mode as checkpoint tensors "state.h.l<l>", "state.c.l<l>".
std::map<std::string, charlstm::matrix<double>> state_tensors(
    const charlstm::layer_states<float>& state) {
  std::map<std::string, charlstm::matrix<double>> out;
  for (std::size_t l = 0; l < state.h.size(); ++l) {
    out["state.h.l" + std::to_string(l)] = state.h[l].cast<double>();
    out["state.c.l" + std::to_string(l)] = state.c[l].cast<double>();
  }
  return out;
}

charlstm::layer_states<float> state_from(const charlstm::checkpoint_info& info, index layers,
                                         index hidden, index streams) {
  charlstm::layer_states<float> state;
  state.reset(layers, hidden, streams);
  for (index l = 0; l < layers; ++l) {
    for (const char* part : {"h", "c"}) {
      const std::string name = std::string("state.") + part + ".l" + std::to_string(l);
      auto it = info.state_tensors.find(name);
      require(it != info.state_tensors.end() && it->second.rows() == hidden &&
                  it->second.cols() == streams,
              "checkpoint has no carried state '" + name + "' of shape " +
                  charlstm::shape_string(hidden, streams) +
                  " for its unfinished sequence-mode epoch (written by another tool?)");
      (part[0] == 'h' ? state.h : state.c)[static_cast<std::size_t>(l)] =
          it->second.cast<float>();
    }
  }
  return state;
}

int train(train_options o, const CLI::App& cmd) {
  charlstm::checkpoint_info resumed;
  std::unique_ptr<charlstm::model<float>> model;
  double best_val = INFINITY;
  long bad_epochs = 0;
  if (!o.resume.empty()) {
    model = std::make_unique<charlstm::model<float>>(
        charlstm::load_checkpoint<float>(o.resume, resumed));
    // The checkpoint's hyperparameters win; an explicit flag that disagrees is an error.
    auto adopt_long = [&](const char* flag, const char* key, long& value) {
      const long stored = meta_long(resumed, key);
      require(cmd.count(flag) == 0 || value == stored,
              std::string(flag) + " " + std::to_string(value) + " differs from the checkpoint's " +
                  std::to_string(stored));
      value = stored;
    };
    auto adopt_text = [&](const char* flag, const std::string& stored, std::string& value) {
      require(cmd.count(flag) == 0 || value == stored,
              std::string(flag) + " " + value + " differs from the checkpoint's " + stored);
      value = stored;
    };
    adopt_long("--maxlen", "maxlen", o.maxlen);
    adopt_long("--step", "step", o.step);
    adopt_long("--batch", "batch", o.batch);
    long hidden = o.hidden;
    o.hidden = static_cast<long>(model->hidden_size());
    require(cmd.count("--hidden") == 0 || hidden == o.hidden,
            "--hidden differs from the checkpoint's " + std::to_string(o.hidden));
    long layers = o.layers;
    o.layers = static_cast<long>(model->layers());
    require(cmd.count("--layers") == 0 || layers == o.layers,
            "--layers differs from the checkpoint's " + std::to_string(o.layers));
    adopt_text("--optimizer", charlstm::optimizer_name(model->optimizer_type), o.optimizer);
    // Checkpoints of version 1 were written by the book's trainer only: window mode.
    const bool has_mode = resumed.metadata.count("mode") != 0;
    adopt_text("--mode", has_mode ? meta_at(resumed, "mode") : "window", o.mode);
    if (has_mode) {
      adopt_long("--seq-len", "seq_len", o.seq_len);
      if (cmd.count("--dropout") == 0) o.dropout = meta_double(resumed, "dropout");
      if (cmd.count("--lr-decay") == 0) o.lr_decay = meta_double(resumed, "lr_decay");
      if (cmd.count("--lr-decay-after") == 0) o.lr_decay_after = meta_long(resumed, "lr_decay_after");
      if (cmd.count("--patience") == 0) o.patience = meta_long(resumed, "patience");
      if (resumed.metadata.count("best_val")) best_val = meta_double(resumed, "best_val");
      bad_epochs = meta_long(resumed, "bad_epochs");
    } else {
      o.lr_decay = 1;
    }
    if (cmd.count("--lr") == 0) o.lr = meta_double(resumed, "lr");
    if (cmd.count("--val-fraction") == 0) o.val_fraction = meta_double(resumed, "val_fraction");
    if (cmd.count("--clip-norm") == 0) o.clip_norm = meta_double(resumed, "clip_norm");
    o.lowercase = meta_at(resumed, "lowercase") == "1";
    o.seed = static_cast<unsigned long long>(meta_long(resumed, "seed"));
    if (cmd.count("--corpus") == 0) o.corpus = meta_at(resumed, "corpus");
    if (o.out.empty()) o.out = o.resume;
  } else if (o.optimizer == "adam" && cmd.count("--lr") == 0) {
    o.lr = 0.002;  // Adam's default here (PyTorch's is 0.001; char-rnn's 0.002)
  }
  require(!o.corpus.empty(), "train: give --corpus PATH|NAME (or --resume MODEL)");
  require(!o.out.empty(), "train: give --out MODEL, the checkpoint to write");
  validate(o);
  const bool sequence = o.mode == "sequence";
  const std::vector<double> temperatures = parse_temperatures(o.temperatures);

  const std::string path = resolve_corpus(o.corpus);
  const std::u32string text = charlstm::load_text(path, o.lowercase);
  require(!text.empty(), "corpus '" + path + "' is empty: pass a text file with at least " +
                             std::to_string(o.maxlen + 1) + " characters");
  const charlstm::vocabulary vocab =
      model ? resumed.vocab
            : (o.tokens == "word" ? charlstm::word_vocabulary(text, o.max_vocab)
                                  : charlstm::vocabulary(text));
  require(model || o.tokens != "char" || vocab.size() <= o.max_char_vocab,
          "corpus '" + path + "' has " + std::to_string(vocab.size()) +
              " distinct characters, more than --max-char-vocab " +
              std::to_string(o.max_char_vocab) +
              ": is it a binary file? For a script with that many characters, raise "
              "--max-char-vocab");
  const std::vector<charlstm::token_id> ids =
      charlstm::encode_text(vocab, text, false, "corpus " + path);
  const auto n_train = static_cast<index>(static_cast<double>(ids.size()) * (1 - o.val_fraction));
  const std::vector<charlstm::token_id> train_ids(ids.begin(), ids.begin() + n_train);
  const std::vector<charlstm::token_id> val_ids(ids.begin() + n_train, ids.end());
  require(n_train > o.maxlen,
          "corpus '" + path + "' has " + std::to_string(ids.size()) + " characters (" +
              std::to_string(n_train) + " for training after --val-fraction " +
              format_general(o.val_fraction) + "), fewer than maxlen + 1 = " +
              std::to_string(o.maxlen + 1) + ": use a longer text or a smaller --maxlen");
  charlstm::window_set train_windows, val_windows;
  charlstm::stream_set train_streams, val_streams;
  if (sequence) {
    train_streams = charlstm::make_streams(train_ids, o.batch, o.seq_len);
    require(o.val_fraction == 0 || val_ids.size() >= 2,
            "the validation part (" + std::to_string(val_ids.size()) +
                " characters) is too short: raise --val-fraction or pass --val-fraction 0");
    if (o.val_fraction > 0) {
      val_streams = charlstm::make_streams(
          val_ids, std::min<index>(o.batch, static_cast<index>(val_ids.size()) - 1), o.seq_len);
    }
  } else {
    train_windows = charlstm::make_windows(train_ids, o.maxlen, o.step);
    val_windows = {val_ids.data(), static_cast<index>(val_ids.size()), o.maxlen, o.step};
    require(o.val_fraction == 0 || val_windows.size() > 0,
            "the validation part (" + std::to_string(val_ids.size()) +
                " characters) is shorter than maxlen + 1: " +
                "raise --val-fraction, lower --maxlen, or pass --val-fraction 0");
  }

  if (!model) {
    model = std::make_unique<charlstm::model<float>>(vocab.size(), o.hidden, o.seed, o.layers);
    model->optimizer_type =
        o.optimizer == "adam" ? charlstm::optimizer_kind::adam : charlstm::optimizer_kind::rmsprop;
  }
  model->dropout = o.dropout;
  model->dropout_seed = o.seed;  // a loaded model does not know it: masks must match on resume
  charlstm::batch_trainer<float> trainer(*model, o.threads);
  trainer.clip_norm = o.clip_norm;
  std::mt19937_64 engine(o.seed);
  long first_epoch = 1;
  charlstm::epoch_range range;
  charlstm::layer_states<float> carried;
  if (!o.resume.empty()) {
    std::istringstream rng(meta_at(resumed, "rng"));
    rng >> engine;
    require(!rng.fail(), "checkpoint metadata 'rng' is not a random engine state");
    first_epoch = meta_long(resumed, "epoch") + 1;
    range.first_batch = meta_long(resumed, "epoch_batch");
    range.loss_so_far = meta_double(resumed, "epoch_loss");
    if (sequence && range.first_batch > 0) {
      carried = state_from(resumed, model->layers(), model->hidden_size(), o.batch);
    }
  }
  if (sequence) {
    std::printf(
        "corpus %s: %zu characters, %s%ld symbols; %ld streams of %ld tokens in chunks of %ld "
        "(%ld per epoch), %zu validation tokens; %ld layer(s) of %ld, %s\n",
        path.c_str(), text.size(),
        vocab.kind == charlstm::token_kind::word
            ? (std::to_string(ids.size()) + " word tokens, ").c_str()
            : "",
        static_cast<long>(vocab.size()), o.batch,
        static_cast<long>(train_streams.stream_length()), o.seq_len,
        static_cast<long>(train_streams.batches()), o.val_fraction > 0 ? val_ids.size() : 0,
        o.layers, o.hidden, o.optimizer.c_str());
  } else {
    std::printf(
        "corpus %s: %zu characters, %s%ld symbols; %ld training windows, %ld validation windows\n",
        path.c_str(), text.size(),
        vocab.kind == charlstm::token_kind::word
            ? (std::to_string(ids.size()) + " word tokens, ").c_str()
            : "",
        static_cast<long>(vocab.size()), static_cast<long>(train_windows.size()),
        static_cast<long>(o.val_fraction > 0 ? val_windows.size() : 0));
  }
  if (first_epoch > o.epochs) {
    std::printf(
        "the checkpoint has trained %ld epoch(s) already; pass --epochs above that to continue\n",
        first_epoch - 1);
    return 0;
  }
  if (o.patience > 0 && bad_epochs >= o.patience) {
    std::printf("the checkpoint stopped early (no better validation loss for %ld epochs)\n",
                bad_epochs);
    return 0;
  }

  // metrics.csv and samples.jsonl beside the checkpoint, cut back to the checkpoint's step.
  // In sequence mode a "sequence" of the progress is one predicted token.
  optional_metrics metrics(o.out, o.resume, model->steps,
                           sequence ? 1.0 : static_cast<double>(o.maxlen));
  const bool terminal = ::isatty(STDOUT_FILENO);
  std::signal(SIGINT, on_sigint);
  for (long epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    model->set_learning_rate(learning_rate_at(o, epoch));
    std::printf("Epoch %ld/%ld\n", epoch, o.epochs);
    const std::mt19937_64 engine_at_start = engine;
    progress_bar bar(terminal);
    charlstm::epoch_progress last;
    last.batches_total = sequence ? train_streams.batches()
                                  : (train_windows.size() + o.batch - 1) / o.batch;
    last.batches_done = range.first_batch;
    const index first_batch = range.first_batch;
    const auto epochs_done = [&](const charlstm::epoch_progress& p) {
      return static_cast<double>(epoch - 1) +
             static_cast<double>(p.batches_done) / static_cast<double>(p.batches_total);
    };
    metrics.begin_epoch(sequence ? train_streams.targets_before(first_batch)
                                 : std::min(train_windows.size(), first_batch * o.batch),
                        range.loss_so_far);
    bool stopped = false, diverged = false;
    const auto on_batch = [&](const charlstm::epoch_progress& p) {
      last = p;
      bar.update(p, first_batch);
      // Checked after every step, so that no non-finite value can reach a save.
      diverged = !std::isfinite(p.mean_loss) || !model->params.all_finite() ||
                 !model->rms_acc.all_finite() || !model->adam_m.all_finite() ||
                 !model->adam_v.all_finite();
      stopped = diverged || interrupted || (o.max_steps > 0 && model->steps >= o.max_steps);
      if (!stopped && model->steps % o.log_every == 0 && p.batches_done < p.batches_total) {
        metrics.log(model->steps, epochs_done(p), p.sequences_done, p.mean_loss,
                    model->learning_rate());
      }
      return !stopped;
    };
    const double loss =
        sequence ? charlstm::train_sequence_epoch(trainer, train_streams, carried, on_batch, range)
                 : charlstm::train_epoch(trainer, train_windows, o.batch, engine, on_batch, range);
    metrics.pause();
    last.mean_loss = loss;
    bar.finish(last, first_batch);
    if (diverged || !model->params.all_finite() || !model->rms_acc.all_finite()) {
      throw charlstm::error(
          "training diverged at step " + std::to_string(model->steps) + " (" +
          (model->params.all_finite() && model->rms_acc.all_finite()
               ? "the mean loss is " + format_general(last.mean_loss)
               : std::string("the weights or RMSprop's state are no longer finite")) +
          "); " +
          (file_exists(o.out) ? o.out + " was not overwritten and keeps the last good checkpoint"
                              : "nothing was saved") +
          ": lower --lr or set --clip-norm");
    }
    range = {};
    const bool partial = last.batches_done < last.batches_total;
    std::printf("loss: %.4f (%.4f bits/char)", loss, loss / std::log(2.0));
    double val = std::numeric_limits<double>::quiet_NaN();
    if (o.val_fraction > 0) {
      val = sequence ? charlstm::evaluate_sequence(trainer, val_streams)
                     : charlstm::evaluate(trainer, val_windows, o.batch);
      std::printf(" - val_loss: %.4f (%.4f bits/char)", val, val / std::log(2.0));
    }
    std::printf(" - lr: %.6g\n", model->learning_rate());
    metrics.log(model->steps, epochs_done(last), last.sequences_done, loss,
                model->learning_rate(), val);
    const bool improved = !partial && o.val_fraction > 0 && val < best_val;
    if (!partial && o.val_fraction > 0) {
      if (improved) {
        best_val = val;
        bad_epochs = 0;
      } else {
        ++bad_epochs;
      }
    }

    std::mt19937_64 sampler(o.seed * 1000003ULL + static_cast<unsigned long long>(epoch));
    const auto start = static_cast<std::size_t>(
        charlstm::uniform01(sampler) *
        static_cast<double>(train_ids.size() - static_cast<std::size_t>(o.maxlen)));
    const std::vector<charlstm::token_id> seed_ids(
        train_ids.begin() + static_cast<long>(start),
        train_ids.begin() + static_cast<long>(start) + o.maxlen);
    const std::u32string seed_text = charlstm::decode_text(vocab, seed_ids);
    auto meta = training_metadata(o, partial ? epoch - 1 : epoch, partial ? last.batches_done : 0,
                                  partial ? loss : 0.0, partial ? engine_at_start : engine,
                                  seed_text);
    if (std::isfinite(best_val)) meta["best_val"] = format_number(best_val, 17);
    meta["bad_epochs"] = std::to_string(bad_epochs);
    const charlstm::checkpoint_info info(
        vocab, meta,
        sequence && partial ? state_tensors(carried)
                            : std::map<std::string, charlstm::matrix<double>>{});
    // A failed save (disk full, read-only directory...) leaves the previous file intact.  The
    // model is still in memory: before the last save, warn and retry at the next one.
    const bool last_save = stopped || interrupted || epoch == o.epochs;
    bool saved = false;
    try {
      charlstm::save_checkpoint(o.out, *model, info);
      if (improved) charlstm::save_checkpoint(best_path(o.out), *model, info);
      saved = true;
    } catch (const charlstm::error& e) {
      if (last_save) {
        throw charlstm::error(
            std::string(e.what()) + "; the model was not saved: " +
            (file_exists(o.out)
                 ? o.out + " keeps the last good checkpoint; fix the cause, then continue with " +
                       "`charlstm train --resume " + o.out + " --epochs " +
                       std::to_string(o.epochs) + "`"
                 : "fix the cause or choose another --out, then train again"));
      }
      std::fflush(stdout);
      std::fprintf(stderr,
                   "charlstm: warning: %s; training continues and the next epoch tries to save "
                   "again\n",
                   e.what());
    }
    if (saved && partial) {
      std::printf("saved %s (epoch %ld stopped after batch %ld of %ld, %lld steps in all)\n",
                  o.out.c_str(), epoch, static_cast<long>(last.batches_done),
                  static_cast<long>(last.batches_total), static_cast<long long>(model->steps));
    } else if (saved) {
      std::printf("saved %s (epoch %ld, %lld steps in all)%s\n", o.out.c_str(), epoch,
                  static_cast<long long>(model->steps),
                  improved ? (", best validation so far: " + best_path(o.out)).c_str() : "");
    }
    if (interrupted) {
      std::fprintf(stderr,
                   "interrupted: the checkpoint %s holds every finished step; continue with\n"
                   "  charlstm train --resume %s --epochs %ld\n",
                   o.out.c_str(), o.out.c_str(), o.epochs);
      return 130;
    }
    if (o.sample_length > 0) {
      std::printf("--- Generating with seed: \"%s\"\n", charlstm::encode_utf8(seed_text).c_str());
      for (double t : temperatures) {
        std::printf("------ temperature: %g\n%s", t, charlstm::encode_utf8(seed_text).c_str());
        std::fflush(stdout);
        std::u32string sample;
        charlstm::detokenizer pieces(vocab);
        for (charlstm::token_id id : seed_ids) pieces.piece(id);
        const auto emit = [&](charlstm::token_id id) {
          const std::u32string piece = pieces.piece(id);
          sample += piece;
          std::fputs(charlstm::encode_utf8(piece).c_str(), stdout);
        };
        if (sequence) {
          // Stateful, as the model was trained: the seed fed once, then one step per token.
          charlstm::lstm_state<float> state = model->initial_state();
          for (charlstm::token_id id : seed_ids) model->feed(state, id);
          for (long k = 0; k < o.sample_length; ++k) {
            const auto next = static_cast<charlstm::token_id>(
                charlstm::sample(model->probabilities(state), charlstm::sampling_options{t},
                                 sampler));
            emit(next);
            model->feed(state, next);
          }
        } else {
          charlstm::generate_window_ids(*model, seed_ids, o.sample_length,
                                        charlstm::sampling_options{t}, sampler, emit);
        }
        std::printf("\n");
        metrics.sample({model->steps, epoch, t, charlstm::encode_utf8(seed_text),
                        charlstm::encode_utf8(sample)});
      }
    }
    std::fflush(stdout);
    if (stopped) break;
    if (o.patience > 0 && bad_epochs >= o.patience) {
      std::printf("early stopping: no better validation loss for %ld epochs (best %.4f in %s)\n",
                  bad_epochs, best_val, best_path(o.out).c_str());
      break;
    }
  }
  return 0;
}

// ---- generate, eval, stats -----------------------------------------------------------------

struct generate_options {
  std::string model, prime, temperatures = "1.0", stop, out;
  long length = 400, top_k = 0, num_samples = 1;
  double top_p = 1.0;
  unsigned long long seed = 1;
  bool window = false, drop_unknown = false, greedy = false;
};

// Stream b's engine: the seed itself for stream 0 (so one sample is what it always was), then
// distinct, well-mixed seeds; a stream's text does not depend on how many streams run.
std::mt19937_64 stream_engine(unsigned long long seed, std::size_t b) {
  return std::mt19937_64(b == 0 ? seed : seed ^ (0x9E3779B97F4A7C15ULL * (b + 1)));
}

int generate(const generate_options& o) {
  require(o.length >= 1,
          "--length must be at least 1 (tokens to generate), got " + std::to_string(o.length));
  require(o.num_samples >= 1 && o.num_samples <= 4096,
          "--num-samples must be in [1, 4096], got " + std::to_string(o.num_samples));
  const std::vector<double> temperatures =
      o.greedy ? std::vector<double>{0.0} : parse_temperatures(o.temperatures, "--temperature");
  // One stream per (temperature, sample), temperature-major: the batch the model advances.
  std::vector<charlstm::sampling_options> options;
  std::vector<std::string> labels;
  for (double t : temperatures) {
    for (long n = 1; n <= o.num_samples; ++n) {
      options.push_back({t, static_cast<index>(o.top_k), o.top_p});
      charlstm::require_sampling(options.back());
      char shown[32];
      std::snprintf(shown, sizeof shown, "%g", t);  // as train labels its samples
      labels.push_back("------ temperature: " + std::string(shown) +
                       (o.num_samples > 1
                            ? ", sample " + std::to_string(n) + "/" + std::to_string(o.num_samples)
                            : ""));
    }
  }
  charlstm::checkpoint_info info;
  charlstm::model<float> model = charlstm::load_checkpoint<float>(o.model, info);
  std::vector<charlstm::token_id> prime = charlstm::encode_prime(info, o.prime, o.drop_unknown);
  if (o.window) {
    const auto maxlen = static_cast<std::size_t>(meta_long(info, "maxlen"));
    if (prime.size() > maxlen) prime.erase(prime.begin(), prime.end() - static_cast<long>(maxlen));
  }
  const std::string prime_text = charlstm::encode_utf8(charlstm::decode_text(info.vocab, prime));

  // Output: stdout as it is produced, or the whole of it into --out, written atomically.
  std::string file_text;
  const auto write = [&](const std::string& text) {
    if (!o.out.empty()) {
      file_text += text;
    } else {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    }
  };
  // One stream streams token by token; several print each sample, labelled, when it ends.
  const std::size_t B = options.size();
  const bool streaming = B == 1;
  std::vector<std::mt19937_64> engines;
  std::vector<charlstm::detokenizer> pieces;
  std::vector<std::string> texts(B);
  std::vector<bool> printed(B, false);
  for (std::size_t b = 0; b < B; ++b) {
    engines.push_back(stream_engine(o.seed, b));
    pieces.emplace_back(info.vocab);
    for (charlstm::token_id id : prime) pieces.back().piece(id);
  }
  const auto finish = [&](std::size_t b) {
    if (printed[b]) return;
    printed[b] = true;
    if (streaming) {
      write("\n");
    } else {
      write(labels[b] + "\n" + prime_text + texts[b] + "\n");
    }
  };
  if (streaming) write(prime_text);
  index produced = 0;
  // Adds token id to stream b; false once the stream has produced --stop.
  const auto on_token = [&](index bi, charlstm::token_id id) {
    const auto b = static_cast<std::size_t>(bi);
    const std::string piece = charlstm::encode_utf8(pieces[b].piece(id));
    const std::size_t before = texts[b].size();
    texts[b] += piece;
    ++produced;
    if (streaming) write(piece);
    if (!o.stop.empty()) {
      const std::size_t from = before >= o.stop.size() ? before - o.stop.size() + 1 : 0;
      if (texts[b].find(o.stop, from) != std::string::npos) {
        finish(b);
        return false;
      }
    }
    return true;
  };
  const auto start = clock_type::now();
  if (o.window) {
    // The book's loop re-reads a window per token and does not batch: streams run in turn.
    for (std::size_t b = 0; b < B; ++b) {
      std::vector<charlstm::token_id> window = prime;
      for (index k = 0; k < o.length; ++k) {
        const auto next = static_cast<charlstm::token_id>(
            charlstm::sample(model.predict(window.data(), static_cast<index>(window.size())),
                             options[b], engines[b]));
        window.erase(window.begin());
        window.push_back(next);
        if (!on_token(static_cast<index>(b), next)) break;
      }
      finish(b);
    }
  } else {
    charlstm::generate_batch(model, prime, o.length, options, engines, on_token);
    for (std::size_t b = 0; b < B; ++b) finish(b);
  }
  const double elapsed = seconds_since(start);
  if (!o.out.empty()) charlstm::write_file_atomically(o.out, file_text);
  const char* unit = info.vocab.kind == charlstm::token_kind::word ? "tokens" : "characters";
  std::fprintf(stderr, "generated %ld %s in %zu sample(s) (%s) in %.3fs: %.0f %s/s\n",
               static_cast<long>(produced), unit, B, o.window ? "window" : "stateful", elapsed,
               static_cast<double>(produced) / std::max(elapsed, 1e-9), unit);
  return 0;
}

int evaluate_command(const std::string& model_path, const std::string& corpus, bool drop_unknown,
                     long threads) {
  charlstm::checkpoint_info info;
  charlstm::model<float> model = charlstm::load_checkpoint<float>(model_path, info);
  const std::string path = resolve_corpus(corpus);
  const std::u32string text = charlstm::load_text(path, meta_at(info, "lowercase") == "1");
  const std::vector<charlstm::token_id> ids =
      charlstm::encode_text(info.vocab, text, drop_unknown, "corpus " + path);
  charlstm::batch_trainer<float> trainer(model, threads);
  const auto mode = info.metadata.find("mode");
  if (mode != info.metadata.end() && mode->second == "sequence") {
    // As validation in training: up to `batch` streams, the state carried, the loss at every step.
    require(ids.size() >= 2, "the text is too short to evaluate (fewer than 2 characters)");
    const charlstm::stream_set streams = charlstm::make_streams(
        ids, std::min<index>(meta_long(info, "batch"), static_cast<index>(ids.size()) - 1),
        meta_long(info, "seq_len"));
    const double loss = charlstm::evaluate_sequence(trainer, streams);
    std::printf("%s: %ld characters predicted (sequence mode), loss %.4f nats/char, %.4f bits/char\n",
                path.c_str(), static_cast<long>(streams.targets_before(streams.batches())), loss,
                loss / std::log(2.0));
    return 0;
  }
  const charlstm::window_set windows =
      charlstm::make_windows(ids, meta_long(info, "maxlen"), meta_long(info, "step"));
  const double loss = charlstm::evaluate(trainer, windows, meta_long(info, "batch"));
  const char* unit = info.vocab.kind == charlstm::token_kind::word ? "word" : "char";
  std::printf("%s: %ld windows, loss %.4f nats/%s, %.4f bits/%s\n", path.c_str(),
              static_cast<long>(windows.size()), loss, unit, loss / std::log(2.0), unit);
  return 0;
}

int stats(const std::string& corpus, long max_vocab) {
  require(max_vocab >= 2 && max_vocab <= 1000000,
          "--max-vocab must be in [2, 1000000], got " + std::to_string(max_vocab));
  const std::string path = resolve_corpus(corpus);
  const std::u32string text = charlstm::load_text(path, false);
  const charlstm::text_statistics s = charlstm::statistics(text);
  std::printf("Dataset stats for %s\n", path.c_str());
  std::printf("Length: %zu characters, %zu unique (%ld lowercased)\n", s.characters,
              s.unique_characters,
              static_cast<long>(charlstm::vocabulary(charlstm::lowercase(text)).size()));
  std::printf("Roughly the number of unique words: %zu\n", s.unique_words);
  std::printf("Number of scenes: %zu\n", s.scenes);
  std::printf("Average number of lines in each scene: %.4f\n", s.lines_per_scene);
  std::printf("Number of lines: %zu\n", s.lines);
  std::printf("Average number of words in each line: %.4f\n", s.words_per_line);
  // The word level of `train --tokens word` (lowercased, punctuation as named tokens).
  const charlstm::word_statistics w =
      charlstm::word_level_statistics(charlstm::lowercase(text), max_vocab);
  std::printf("Word tokens (lowercased, punctuation as named tokens): %zu, %zu unique\n", w.tokens,
              w.unique_tokens);
  std::printf("Word vocabulary at --max-vocab %ld: %zu tokens; %zu tokens (%.2f%%) unknown\n",
              max_vocab, w.vocabulary_size, w.unknown_tokens,
              w.tokens
                  ? 100.0 * static_cast<double>(w.unknown_tokens) / static_cast<double>(w.tokens)
                  : 0.0);
  return 0;
}

// ---- report ---------------------------------------------------------------------------------

int report(const std::string& model_path, std::string out) {
  charlstm::checkpoint_info info;
  const charlstm::model<float> model = charlstm::load_checkpoint<float>(model_path, info);
  const std::string csv = charlstm::metrics_path(model_path);
  require(file_exists(csv), "no metrics beside " + model_path + ": " + csv +
                                " is missing (it is written by `charlstm train` since 0.1; " +
                                "train or resume the model to record them)");
  charlstm::report_input in;
  in.rows = charlstm::read_metrics(csv);
  const std::string samples = charlstm::samples_path(model_path);
  if (file_exists(samples)) {
    in.samples = charlstm::parse_samples(charlstm::read_file_bytes(samples), samples);
  }
  const auto slash = model_path.find_last_of('/');
  in.title = slash == std::string::npos ? model_path : model_path.substr(slash + 1);
  const auto corpus = info.metadata.find("corpus");
  in.subtitle = "charlstm training report";
  if (corpus != info.metadata.end()) in.subtitle += " · corpus " + corpus->second;
  in.subtitle += " · " + std::to_string(model.steps) + " steps · " +
                 std::to_string(info.vocab.size()) + " symbols";
  // The run's settings as the checkpoint stores them, the usual ones first; numbers stored
  // with 17 digits are shown with 6; the resume state is left out.
  const auto shown = [](const std::string& v) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || v.find('.') == std::string::npos) return v;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return std::string(buf);
  };
  std::map<std::string, std::string> rest = info.metadata;
  in.hyperparameters.emplace_back("parameters", std::to_string(model.params.size()));
  for (const char* key :
       {"corpus", "mode", "layers", "hidden_size", "vocab_size", "optimizer", "seq_len", "maxlen",
        "step", "batch", "lr", "lr_decay", "dropout", "clip_norm",
        "val_fraction", "lowercase", "seed", "epoch", "optimizer_steps"}) {
    const auto it = rest.find(key);
    if (it == rest.end()) continue;
    in.hyperparameters.emplace_back(key, shown(it->second));
    rest.erase(it);
  }
  for (const char* key :
       {"rng", "epoch_batch", "epoch_loss", "sample_window", "format", "format_version"})
    rest.erase(key);
  for (const auto& kv : rest) in.hyperparameters.emplace_back(kv.first, shown(kv.second));
  if (out.empty()) out = charlstm::report_path(model_path);
  charlstm::write_file_atomically(out, charlstm::render_report(in));
  std::printf("wrote %s (%zu metric rows, %zu samples)\n", out.c_str(), in.rows.size(),
              in.samples.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Past `ulimit -f`, write() must fail with EFBIG so that a save reports it; by default
  // SIGXFSZ would kill the process instead.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"charlstm: train character-level LSTM language models and generate text"};
  app.require_subcommand(1);
  app.set_version_flag("--version", charlstm::version_string);

  train_options t;
  CLI::App* train_cmd = app.add_subcommand(
      "train", "train a model (sequence mode; --mode window is the book's), writing a checkpoint after every epoch");
  train_cmd
      ->add_option("--corpus", t.corpus, "text file, or nietzsche | tinyshakespeare | moes_tavern")
      ->capture_default_str();
  train_cmd->add_option("--out", t.out, "checkpoint to write (default: the --resume file)");
  train_cmd->add_option("--epochs", t.epochs, "total epochs to reach")->capture_default_str();
  train_cmd->add_option("--max-steps", t.max_steps, "stop after this many optimizer steps in all");
  train_cmd
      ->add_option("--maxlen", t.maxlen, "window length (window mode; the samples' seed length)")
      ->capture_default_str();
  train_cmd->add_option("--step", t.step, "characters between window starts")
      ->capture_default_str();
  train_cmd->add_option("--hidden", t.hidden, "LSTM units")->capture_default_str();
  train_cmd->add_option("--batch", t.batch, "windows per batch, or streams in sequence mode")
      ->capture_default_str();
  train_cmd
      ->add_option("--mode", t.mode,
                   "sequence: streams with carried state, loss at every step; window: the book's")
      ->capture_default_str();
  train_cmd->add_option("--seq-len", t.seq_len, "steps per update in sequence mode")
      ->capture_default_str();
  train_cmd->add_option("--layers", t.layers, "stacked LSTM layers")->capture_default_str();
  train_cmd
      ->add_option("--dropout", t.dropout, "dropout between stacked layers (training only)")
      ->capture_default_str();
  train_cmd->add_option("--optimizer", t.optimizer, "rmsprop | adam")->capture_default_str();
  train_cmd->add_option("--lr", t.lr, "learning rate (default 0.01 for rmsprop, 0.002 for adam)");
  train_cmd
      ->add_option("--lr-decay", t.lr_decay,
                   "multiply the learning rate by this every epoch after --lr-decay-after (1: off)")
      ->capture_default_str();
  train_cmd->add_option("--lr-decay-after", t.lr_decay_after, "epochs at the full learning rate")
      ->capture_default_str();
  train_cmd
      ->add_option("--patience", t.patience,
                   "stop after this many epochs without a better validation loss (0: off)")
      ->capture_default_str();
  train_cmd->add_flag("--lowercase,!--no-lowercase", t.lowercase,
                      "lowercase the corpus (default on, as the book)");
  train_cmd
      ->add_option("--val-fraction", t.val_fraction, "fraction held out at the end for validation")
      ->capture_default_str();
  train_cmd->add_option("--seed", t.seed, "random seed")->capture_default_str();
  train_cmd
      ->add_option("--clip-norm", t.clip_norm,
                   "clip the gradient's global norm to this (0: off, as the book)")
      ->capture_default_str();
  train_cmd->add_option("--threads", t.threads, "threads (default: all cores)")
      ->capture_default_str();
  train_cmd->add_option("--resume", t.resume, "continue training from this checkpoint");
  train_cmd
      ->add_option("--max-char-vocab", t.max_char_vocab,
                   "refuse a corpus with more distinct characters than this (binary files)")
      ->capture_default_str();
  train_cmd->add_option("--temperatures", t.temperatures, "sampling temperatures after each epoch")
      ->capture_default_str();
  train_cmd
      ->add_option("--log-every", t.log_every,
                   "steps between rows of MODEL's metrics.csv (and one at each epoch's end)")
      ->capture_default_str();
  train_cmd
      ->add_option("--sample-length", t.sample_length,
                   "characters sampled per temperature (0: none)")
      ->capture_default_str();
  train_cmd
      ->add_option("--tokens", t.tokens,
                   "char: Unicode code points (the book); word: words and named punctuation")
      ->capture_default_str();
  train_cmd
      ->add_option(
          "--max-vocab", t.max_vocab,
          "--tokens word: keep this many most frequent tokens (unknown-word token included)")
      ->capture_default_str();

  generate_options g;
  CLI::App* gen_cmd = app.add_subcommand("generate", "generate text from a checkpoint");
  gen_cmd->add_option("--model", g.model, "checkpoint")->required();
  gen_cmd->add_option("--prime", g.prime,
                      "text to start from (default: a window of the training text)");
  gen_cmd->add_option("--length", g.length, "tokens (characters or words) to generate per sample")
      ->capture_default_str();
  gen_cmd
      ->add_option("--temperature", g.temperatures,
                   "one value or a comma list (one sample each); 0 = the most likely token, "
                   "1 = the model's distribution")
      ->capture_default_str();
  gen_cmd->add_option("--top-k", g.top_k, "sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  gen_cmd
      ->add_option(
          "--top-p", g.top_p,
          "sample among the smallest set of most likely tokens reaching this mass (1: all)")
      ->capture_default_str();
  gen_cmd->add_flag("--greedy", g.greedy, "always the most likely token (temperature 0)");
  gen_cmd->add_option("--stop", g.stop, "end a sample once it has produced this text");
  gen_cmd
      ->add_option("--num-samples", g.num_samples,
                   "samples per temperature, generated together as one batch")
      ->capture_default_str();
  gen_cmd->add_option("--out", g.out, "write the text to this file (atomically) instead of stdout");
  gen_cmd->add_option("--seed", g.seed, "random seed")->capture_default_str();
  auto* stateful_flag =
      gen_cmd->add_flag("--stateful", "one LSTM step per character, carrying the state (default)");
  gen_cmd
      ->add_flag("--window", g.window,
                 "the book's loop: re-read the last maxlen characters for each one")
      ->excludes(stateful_flag);
  gen_cmd->add_flag("--drop-unknown", g.drop_unknown,
                    "drop prime characters outside the vocabulary instead of failing");

  std::string eval_model, eval_corpus;
  bool eval_drop = false;
  long eval_threads = t.threads;
  CLI::App* eval_cmd = app.add_subcommand(
      "eval", "mean loss of a checkpoint on a text, in nats and bits per character");
  eval_cmd->add_option("--model", eval_model, "checkpoint")->required();
  eval_cmd->add_option("--corpus", eval_corpus, "text file or corpus name")->required();
  eval_cmd->add_flag("--drop-unknown", eval_drop,
                     "drop characters outside the vocabulary instead of failing");
  eval_cmd->add_option("--threads", eval_threads, "threads")->capture_default_str();

  std::string stats_corpus;
  long stats_max_vocab = static_cast<long>(charlstm::default_max_vocab);
  CLI::App* stats_cmd = app.add_subcommand("stats", "dataset statistics (the Simpsons notebook's)");
  stats_cmd->add_option("--corpus", stats_corpus, "text file or corpus name")->required();
  stats_cmd
      ->add_option("--max-vocab", stats_max_vocab, "word vocabulary cap for the word-level lines")
      ->capture_default_str();

  std::string report_model, report_out;
  CLI::App* report_cmd = app.add_subcommand(
      "report", "an HTML page of a training run: loss curves, throughput, settings, samples");
  report_cmd->add_option("--model", report_model, "checkpoint written by train")->required();
  report_cmd->add_option("--out", report_out, "page to write (default: MODEL with .html)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (train_cmd->parsed()) return train(t, *train_cmd);
    if (gen_cmd->parsed()) return generate(g);
    if (eval_cmd->parsed()) {
      require(eval_threads >= 1 && eval_threads <= 256, "--threads must be in [1, 256]");
      return evaluate_command(eval_model, eval_corpus, eval_drop, eval_threads);
    }
    if (stats_cmd->parsed()) return stats(stats_corpus, stats_max_vocab);
    if (report_cmd->parsed()) return report(report_model, report_out);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "charlstm: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
