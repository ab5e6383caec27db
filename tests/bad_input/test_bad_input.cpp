// Bad input through the real `charlstm` binary: every case of the reliability issue (corpora,
// flags, model files), each asserting the exit code and the message (what, where, how to fix).
// A user's mistake is one line on stderr, `charlstm: error: ...`, and exit 1; a flag the parser
// rejects is CLI11's message and its non-zero code.  Never a crash, a hang or a file written.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <charlstm/checkpoint.hpp>
#include <cstdint>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::run_result;
using test_support::temp_dir;
using test_support::write_text;

namespace {

// Tiny settings: an epoch takes milliseconds.
const std::string tiny =
    " --maxlen 20 --step 3 --hidden 8 --batch 32 --sample-length 0 --threads 1 --epochs 1";

// Our own errors are exactly one line.
bool one_error_line(const run_result& r) {
  return r.err.rfind("charlstm: error: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

void check_error(const run_result& r, const std::vector<std::string>& parts) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(one_error_line(r));
  for (const auto& part : parts) CHECK_THAT(r.err, Catch::Contains(part));
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A checkpoint's bytes split into its JSON header and its tensor data, and put back together
// with the header's length recomputed, so that a test can damage one field at a time.
struct checkpoint_parts {
  std::string header, data;
  explicit checkpoint_parts(const std::string& bytes) {
    std::uint64_t n = 0;
    for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(bytes[std::size_t(k)]);
    header = bytes.substr(8, n);
    data = bytes.substr(8 + n);
  }
  std::string bytes() const {
    std::string h = header;
    while (h.size() % 8) h += ' ';
    std::string out(8, '\0');
    for (int k = 0; k < 8; ++k)
      out[std::size_t(k)] = char((std::uint64_t(h.size()) >> 8 * k) & 0xFF);
    return out + h + data;
  }
};

// `text` with the first match of `pattern` replaced by `replacement` ($1... allowed).
std::string replace_first(const std::string& text, const std::string& pattern,
                          const std::string& replacement) {
  const std::regex re(pattern);
  REQUIRE(std::regex_search(text, re));
  return std::regex_replace(text, re, replacement, std::regex_constants::format_first_only);
}

}  // namespace

TEST_CASE("Bad corpora: missing, an empty folder, unreadable, empty, short, not UTF-8, NUL bytes",
          "[bad_input]") {
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus());
  const std::string out = " --out " + quote(dir / "m.safetensors");
  auto train = [&](const std::string& corpus, const std::string& more = "") {
    return run_cli("train --corpus " + quote(corpus) + tiny + out + more);
  };

  check_error(train(dir / "missing.txt"),
              {"corpus '" + dir / "missing.txt" + "' is neither a readable file nor a known name",
               "nietzsche, tinyshakespeare, moes_tavern"});
  // A path through a file: ENOTDIR, not a crash.
  check_error(train(dir / "corpus.txt/inner.txt"), {"is neither a readable file nor a known name"});
  // A folder is read as its files; one with none to read (hidden ones and subfolders are
  // skipped) is refused.
  ::mkdir((dir / "a_directory").c_str(), 0755);
  ::mkdir((dir / "a_directory/sub").c_str(), 0755);
  write_text(dir / "a_directory/.hidden.txt", test_support::small_corpus());
  check_error(train(dir / "a_directory"),
              {"the corpus folder '" + dir / "a_directory" + "' has no file to read",
               "hidden files and subfolders are skipped"});

  // Unreadable: permissions do not stop root, so the tool runs as `nobody` then.
  write_text(dir / "secret.txt", test_support::small_corpus());
  ::chmod((dir / "secret.txt").c_str(), 0);
  const auto user = test_support::unprivileged(dir);
  ::mkdir((dir / "writable").c_str(), 0777);  // so that --out passes its check as nobody
  ::chmod((dir / "writable").c_str(), 0777);
  check_error(run_cli("train --corpus " + quote(dir / "secret.txt") + tiny + " --out " +
                          quote(dir / "writable/m.safetensors"),
                      user.prefix, user.binary),
              {"cannot open '" + dir / "secret.txt" + "' for reading: Permission denied",
               "check the path and permissions"});
  // A file that opens but cannot be read (the kernel answers EIO).
  check_error(train("/proc/self/mem"),
              {"error while reading '/proc/self/mem'", "Input/output error"});

  write_text(dir / "empty.txt", "");
  check_error(train(dir / "empty.txt"),
              {"corpus '" + dir / "empty.txt" + "' is empty", "at least 21 characters"});
  write_text(dir / "short.txt", "twenty characters...");
  check_error(train(dir / "short.txt", " --val-fraction 0"),
              {"corpus '" + dir / "short.txt" + "' has 20 characters", "fewer than maxlen + 1 = 21",
               "use a longer text or a smaller --maxlen"});

  std::string latin1 = test_support::small_corpus(1000);
  latin1[1234 % latin1.size()] = '\xe9';  // 'é' in Latin-1: not UTF-8
  write_text(dir / "latin1.txt", latin1);
  check_error(train(dir / "latin1.txt"), {dir / "latin1.txt" + ": invalid UTF-8 at byte offset " +
                                              std::to_string(1234 % latin1.size()) + " (byte 0xe9)",
                                          "iconv -f latin1 -t utf-8"});
  write_text(dir / "truncated.txt", test_support::small_corpus(1000) + "\xe2\x82");
  check_error(train(dir / "truncated.txt"), {"truncated at end of input"});

  std::string nul = test_support::small_corpus(1000);
  nul[517] = '\0';
  write_text(dir / "nul.txt", nul);
  check_error(train(dir / "nul.txt"), {dir / "nul.txt" + ": NUL byte at byte offset 517",
                                       "not a text file", "iconv -f utf-16"});
  // The same text as UTF-16, as some editors save it: NUL bytes everywhere.
  std::string utf16 = "\xff\xfe";
  for (char c : test_support::small_corpus(200)) utf16 += std::string(1, c) + '\0';
  write_text(dir / "utf16.txt", utf16);
  check_error(train(dir / "utf16.txt"), {"NUL byte at byte offset 3"});

  // eval and stats read corpora the same way.
  check_error(run_cli("stats --corpus " + quote(dir / "a_directory")), {"has no file to read"});
  check_error(run_cli("stats --corpus " + quote(dir / "nul.txt")), {"NUL byte"});
  CHECK_FALSE(exists(dir / "m.safetensors"));
}

TEST_CASE("A corpus with thousands of distinct characters is refused with a hint", "[bad_input]") {
  temp_dir dir;
  // Valid UTF-8, but 3000 distinct code points in random order: what a binary file that
  // happens to decode looks like.
  std::u32string text;
  std::mt19937_64 engine(5);
  for (int k = 0; k < 12000; ++k) text += char32_t(0x4E00 + engine() % 3000);
  write_text(dir / "many.txt", charlstm::encode_utf8(text));
  const std::string args =
      "train --corpus " + quote(dir / "many.txt") + tiny + " --out " + quote(dir / "m.safetensors");
  const auto refused = run_cli(args);
  check_error(refused, {"corpus '" + dir / "many.txt" + "' has ",
                        " distinct characters, more than --max-char-vocab 1000",
                        "is it a binary file?", "raise --max-char-vocab"});
  CHECK_FALSE(exists(dir / "m.safetensors"));
  // The limit is a flag: a script with that many characters trains when asked.
  const auto allowed = run_cli(args + " --max-char-vocab 5000 --max-steps 1");
  INFO(allowed.err);
  CHECK(allowed.exit_code == 0);
  charlstm::checkpoint_info info;
  CHECK(charlstm::load_checkpoint<float>(dir / "m.safetensors", info).vocab_size() > 1000);
  check_error(run_cli(args + " --max-char-vocab 0"), {"--max-char-vocab must be at least 1"});
}

TEST_CASE("CRLF line endings are text: the carriage return is one more character", "[bad_input]") {
  temp_dir dir;
  std::string crlf;
  for (char c : test_support::small_corpus(2000))
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  write_text(dir / "crlf.txt", crlf);
  const auto r = run_cli("train --corpus " + quote(dir / "crlf.txt") + tiny + " --out " +
                         quote(dir / "m.safetensors"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  charlstm::checkpoint_info info;
  charlstm::load_checkpoint<float>(dir / "m.safetensors", info);
  CHECK(info.vocab.as_chars().contains(U'\r'));
  CHECK(info.vocab.as_chars().contains(U'\n'));
  const auto g = run_cli("generate --length 20 --model " + quote(dir / "m.safetensors") +
                         " --prime " + quote("the\r\nfox"));
  CHECK(g.exit_code == 0);
  CHECK_THAT(g.out, Catch::StartsWith("the\r\nfox"));
}

namespace {

// What one run of the tool cost: its CPU time (user + system, so not the machine's load) and
// its peak resident memory, from the kernel's accounting of the process.
struct run_cost {
  int exit_code = -1;
  std::string out, err;
  double cpu_seconds = 0;
  double peak_bytes = 0;
};

run_cost run_measured(const std::string& args, const temp_dir& dir) {
  const pid_t pid = test_support::spawn_cli(args, dir / "out", dir / "err");  // exec: no shell left
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  run_cost r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = charlstm::read_file_bytes(dir / "out");
  r.err = charlstm::read_file_bytes(dir / "err");
  r.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  r.peak_bytes = 1024.0 * static_cast<double>(usage.ru_maxrss);
  return r;
}

}  // namespace

TEST_CASE("A one-line 50 MB corpus trains on a step budget: no crash, nothing quadratic",
          "[bad_input]") {
  temp_dir dir;
  // One line, no newline at all, and the same at a tenth of the size: the work is linear if the
  // large run costs about 10 times the small one (less, with the fixed start-up cost), and 100
  // times if anything is quadratic in the line's length.  Under the sanitizers the files are
  // 5 MB and 0.5 MB to keep CI short.
#if defined(__SANITIZE_ADDRESS__)
  const std::size_t size = 5'000'000;
#else
  const std::size_t size = 50'000'000;
#endif
  std::string line;
  line.reserve(size);
  const char* words[] = {"whoever ", "fights ", "monsters ", "should ", "see ", "to ", "it "};
  std::mt19937_64 engine(3);
  while (line.size() < size) line += words[engine() % 7];
  line.resize(size);
  write_text(dir / "line.txt", line);
  write_text(dir / "tenth.txt", line.substr(0, size / 10));
  line = {};
  auto train = [&](const std::string& corpus) {
    return run_measured("train --corpus " + quote(dir / corpus) +
                            " --maxlen 60 --hidden 8 --batch 8 --sample-length 0 --threads 1"
                            " --val-fraction 0 --max-steps 2 --out " +
                            quote(dir / "m.safetensors"),
                        dir);
  };
  const run_cost small = train("tenth.txt");
  const run_cost r = train("line.txt");
  INFO(r.out << r.err);
  REQUIRE(small.exit_code == 0);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains(std::to_string(size) + " characters") &&
                        Catch::Contains("2 steps in all"));
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::load_checkpoint<float>(dir / "m.safetensors", info, opt);
  CHECK(opt.steps == 2);
  // Time: 10 times the text may cost at most 30 times the CPU (linear: 10; quadratic: 100).
  INFO("CPU " << small.cpu_seconds << " s for " << size / 10 << " characters, " << r.cpu_seconds
              << " s for " << size << "; peak memory " << small.peak_bytes / 1e6 << " MB and "
              << r.peak_bytes / 1e6 << " MB");
  CHECK(r.cpu_seconds < 30 * std::max(small.cpu_seconds, 0.01));
  // Size: the memory that 9/10 of the text adds is at most 12 bytes per character (the text as
  // code points and the token ids take 8 at their peak; reliability.md).  Not under the
  // sanitizers, whose allocator keeps freed blocks in quarantine: there the peak measures it.
#if !defined(__SANITIZE_ADDRESS__)
  CHECK(r.peak_bytes - small.peak_bytes < 12.0 * 0.9 * static_cast<double>(size));
#endif
}

TEST_CASE("Bad flags: sizes, steps, fractions, rates, temperatures, NaN, unknown flags",
          "[bad_input]") {
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus());
  // The book's defaults otherwise: every case fails before training starts.
  const std::string train = "train --out " + quote(dir / "m.safetensors") + " --corpus " +
                            quote(dir / "corpus.txt") + " ";
  // Our checks: one line, exit 1, the flag, the allowed range.
  const std::pair<std::string, std::string> ours[] = {
      {"--hidden 0", "--hidden must be in [1, 16384], got 0"},
      {"--hidden -3", "--hidden must be in [1, 16384], got -3"},
      {"--hidden 100000", "--hidden must be in [1, 16384], got 100000"},
      {"--batch 0", "--batch must be in [1, 1000000], got 0"},
      {"--batch 99999999999", "--batch must be in [1, 1000000]"},
      {"--maxlen 0", "--maxlen must be in [1, 100000], got 0"},
      {"--maxlen -1", "--maxlen must be in [1, 100000], got -1"},
      {"--maxlen 1000000", "--maxlen must be in [1, 100000], got 1000000"},
      {"--maxlen 5000", "fewer than maxlen + 1 = 5001"},
      {"--step 0", "--step must be at least 1, got 0"},
      {"--step -2", "--step must be at least 1, got -2"},
      {"--epochs 0", "--epochs must be at least 1, got 0"},
      {"--max-steps 0", "--max-steps must be at least 1"},
      {"--time-limit -1", "--time-limit must be a number of minutes >= 0 (0: no limit), got -1"},
      {"--time-limit nan", "--time-limit must be a number of minutes >= 0 (0: no limit), got nan"},
      {"--threads 0", "--threads must be in [1, 256], got 0"},
      {"--threads 100000", "--threads must be in [1, 256], got 100000"},
      {"--sample-length -1", "--sample-length must be >= 0"},
      {"--val-fraction 1", "--val-fraction must be in [0, 1), got 1"},
      {"--val-fraction -0.1", "--val-fraction must be in [0, 1), got -0.1"},
      {"--val-fraction 2.5", "--val-fraction must be in [0, 1)"},
      {"--val-fraction nan", "--val-fraction must be in [0, 1), got nan"},
      {"--val-fraction inf", "--val-fraction must be in [0, 1), got inf"},
      {"--mode window --val-fraction 0.001",
       "characters) is shorter than maxlen + 1: raise --val-fraction"},
      {"--val-fraction 0.0002", "characters) is too short: raise --val-fraction"},
      {"--val-fraction 0.999",
       "for training after --val-fraction 0.999), fewer than maxlen + 1 = 61"},
      {"--lr 0", "--lr must be a positive finite number (at most 3.4e38), got 0"},
      {"--lr -1", "--lr must be a positive finite number (at most 3.4e38), got -1"},
      {"--lr nan", "--lr must be a positive finite number (at most 3.4e38), got nan"},
      {"--lr inf", "--lr must be a positive finite number (at most 3.4e38), got inf"},
      {"--lr 1e39", "--lr must be a positive finite number (at most 3.4e38), got 1e+39"},
      {"--clip-norm -1", "--clip-norm must be a finite number >= 0 (0: off), got -1"},
      {"--clip-norm nan", "--clip-norm must be a finite number >= 0 (0: off), got nan"},
      {"--clip-norm inf", "--clip-norm must be a finite number >= 0 (0: off), got inf"},
      {"--temperatures 0.5,-1", "temperature must be a finite number >= 0"},
      {"--temperatures nan", "temperature must be a finite number >= 0"},
      {"--temperatures 1,inf", "temperature must be a finite number >= 0"},
      {"--temperatures 0.5,abc", "--temperatures: 'abc' is not a number"},
      {"--temperatures ,", "--temperatures: '' is not a number"},
  };
  for (const auto& [flag, message] : ours) {
    const auto r = run_cli(train + flag);
    INFO(flag);
    check_error(r, {message});
  }
  CHECK_FALSE(exists(dir / "m.safetensors"));

  // Not ours: the parser's own messages, still non-zero and naming the flag.
  const std::pair<std::string, std::string> parser[] = {
      {train + "--no-such-flag", "--no-such-flag"},
      {train + "--hidden abc", "--hidden"},
      {train + "--hidden 99999999999999999999999", "--hidden"},
      {"generate --model x --no-such-flag", "--no-such-flag"},
      {"generate", "--model is required"},
      {"frobnicate", "unknown subcommand 'frobnicate'"},
      {"", "A subcommand is required"},
  };
  for (const auto& [args, message] : parser) {
    const auto r = run_cli(args);
    INFO(args << "\nstderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.exit_code != 1 + 128);  // not a signal
    CHECK_THAT(r.err + r.out, Catch::Contains(message));
  }

  // generate and eval, with a real model so that the flag is what fails.
  REQUIRE(run_cli(train + tiny).exit_code == 0);
  const std::string model = " --model " + quote(dir / "m.safetensors");
  const std::pair<std::string, std::string> other[] = {
      {"generate --length 0" + model,
       "--length must be in [1, 100000000] (tokens per sample), got 0"},
      {"generate --length -5" + model, "--length must be in [1, 100000000]"},
      {"generate --temperature -1" + model, "temperature must be a finite number >= 0"},
      {"generate --temperature nan" + model, "temperature must be a finite number >= 0"},
      {"generate --temperature inf" + model, "temperature must be a finite number >= 0"},
      {"generate --prime " + quote("\xff") + model, "--prime: invalid UTF-8 at byte offset 0"},
      {"generate --prime '###'" + model, "outside the model's vocabulary"},
      {"generate --prime '###' --drop-unknown" + model, "the prime text is empty"},
      {"eval --threads 0 --corpus " + quote(dir / "corpus.txt") + model,
       "--threads must be in [1, 256]"},
      {"eval --corpus " + quote(dir / "missing.txt") + model,
       "is neither a readable file nor a known name"},
      {"train --resume " + quote(dir / "m.safetensors") + " --hidden 9",
       "--hidden 9 differs from the checkpoint's 8"},
      {"train --resume " + quote(dir / "m.safetensors") + " --maxlen 30",
       "--maxlen 30 differs from the checkpoint's 20"},
      {"train --resume " + quote(dir / "m.safetensors") + " --seed 9",
       "--seed 9 differs from the checkpoint's 1"},
      {"train --resume " + quote(dir / "m.safetensors") + " --no-lowercase",
       "--lowercase off differs from the checkpoint's on"},
      {"train --resume " + quote(dir / "m.safetensors") + " --tokens word",
       "--tokens word differs from the checkpoint's char"},
  };
  for (const auto& [args, message] : other) {
    const auto r = run_cli(args);
    INFO(args);
    check_error(r, {message});
  }
}

TEST_CASE("Bad model files: truncated, random, wrong shapes, offsets, dtype, vocabulary",
          "[bad_input]") {
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus());
  REQUIRE(run_cli("train --corpus " + quote(dir / "corpus.txt") + tiny + " --out " +
                  quote(dir / "good.safetensors"))
              .exit_code == 0);
  const std::string good = charlstm::read_file_bytes(dir / "good.safetensors");
  const checkpoint_parts parts(good);

  // generate, eval and train --resume load the same way; each case goes through one of them.
  int which = 0;
  auto load_with_cli = [&](const std::string& path) {
    const std::string commands[] = {
        "generate --length 5 --model " + quote(path),
        "eval --corpus " + quote(dir / "corpus.txt") + " --model " + quote(path),
        "train --epochs 2 --resume " + quote(path) + " --out " + quote(dir / "out.safetensors")};
    return run_cli(commands[which++ % 3]);
  };
  auto check_file = [&](const std::string& name, const std::string& bytes,
                        const std::vector<std::string>& parts_of_message) {
    write_text(dir / name, bytes);
    const auto r = load_with_cli(dir / name);
    INFO(name);
    std::vector<std::string> expected = {dir / name + ": not a valid charlstm checkpoint: ",
                                         "use another checkpoint or retrain"};
    expected.insert(expected.end(), parts_of_message.begin(), parts_of_message.end());
    check_error(r, expected);
  };

  // Truncated: inside the length, inside the header, at the data, inside a tensor, one short.
  const std::size_t header_end = 8 + parts.header.size();
  for (std::size_t length :
       {std::size_t(0), std::size_t(4), std::size_t(8), std::size_t(9), header_end / 2,
        header_end - 1, header_end, header_end + 100, good.size() - 1}) {
    check_file("truncated_" + std::to_string(length), good.substr(0, length), {});
  }
  check_file("empty", "", {"the file has 0 bytes, fewer than the 8-byte header length"});
  check_file("header_only", good.substr(0, header_end),
             {"need", "bytes of tensors, the file has 0"});

  // Random bytes, and random bytes behind a plausible header length.
  std::mt19937_64 engine(11);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(engine());
  check_file("random", noise, {});
  std::string framed = noise;
  framed.replace(0, 8, std::string("\x00\x01\x00\x00\x00\x00\x00\x00", 8));
  check_file("random_framed", framed, {});
  std::string huge_length = good;
  huge_length.replace(0, 8, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  check_file("huge_header_length", huge_length, {"the header claims", "(truncated file?)"});

  // A valid header with one field wrong at a time.
  auto with_header = [&](const std::string& header) {
    checkpoint_parts p = parts;
    p.header = header;
    return p.bytes();
  };
  check_file("not_json", with_header("{\"__metadata__\": nope}"), {"header"});
  check_file(
      "wrong_shape",
      with_header(replace_first(parts.header, R"("shape":\[(\d+),(\d+)\])", R"("shape":[$2,$1])")),
      {"has shape [", "], expected [", "for vocabulary "});
  check_file("wrong_dtype",
             with_header(replace_first(parts.header, R"("dtype":"F32")", R"("dtype":"F16")")),
             {"has dtype F16, expected F32"});
  check_file("f64_dtype",
             with_header(replace_first(parts.header, R"("dtype":"F32")", R"("dtype":"F64")")),
             {"has dtype F64, expected F32"});
  {
    // The last tensor moved past the end of the data, keeping its length.
    const std::regex offsets(R"("data_offsets":\[(\d+),(\d+)\])");
    std::smatch m;
    std::string h = parts.header, last;
    for (auto it = std::sregex_iterator(h.begin(), h.end(), offsets); it != std::sregex_iterator();
         ++it)
      last = it->str();
    REQUIRE(std::regex_match(last, m, offsets));
    const std::size_t shift = parts.data.size();
    const std::string moved = "\"data_offsets\":[" + std::to_string(std::stoul(m[1]) + shift) +
                              "," + std::to_string(std::stoul(m[2]) + shift) + "]";
    h.replace(h.rfind(last), last.size(), moved);
    check_file("offsets_past_end", with_header(h), {"ends at byte", "(truncated file?)"});
    check_file("offsets_reversed",
               with_header(replace_first(parts.header, R"("data_offsets":\[(\d+),(\d+)\])",
                                         R"("data_offsets":[$2,$1])")),
               {"spans", "expected"});
  }
  // A vocabulary that does not match vocab_size, and one that matches it but not the tensors.
  const std::string one_less =
      replace_first(parts.header, R"("vocabulary":"\\n)", R"("vocabulary":")");
  check_file("vocabulary_short", with_header(one_less), {"symbols but vocab_size is"});
  const std::smatch vs = [&] {
    std::smatch m;
    std::regex_search(parts.header, m, std::regex(R"re("vocab_size":"(\d+)")re"));
    return m;
  }();
  REQUIRE(vs.size() == 2);
  check_file(
      "vocabulary_not_tensors",
      with_header(replace_first(one_less, R"("vocab_size":"\d+")",
                                "\"vocab_size\":\"" + std::to_string(std::stol(vs[1]) - 1) + "\"")),
      {"has shape [", "expected ["});
  check_file(
      "vocabulary_unsorted",
      with_header(replace_first(parts.header, R"("vocabulary":"\\n )", R"("vocabulary":" \n)")),
      {"bad vocabulary", "sorted and unique"});
  check_file(
      "not_charlstm",
      with_header(replace_first(parts.header, R"("format":"charlstm")", R"("format":"llama")")),
      {"metadata format is 'llama', not 'charlstm'"});
  {
    checkpoint_parts p = parts;
    const char nan_bits[4] = {0, 0, '\xc0', '\x7f'};
    p.data.replace(0, 4, nan_bits, 4);
    check_file("nan_weights", p.bytes(), {"holds NaN or infinite values"});
  }

  // Not a file at all.
  ::mkdir((dir / "a_directory").c_str(), 0755);
  check_error(run_cli("generate --model " + quote(dir / "a_directory")),
              {"checkpoint '" + dir / "a_directory" + "' is a directory, not a file"});
  check_error(run_cli("generate --model " + quote(dir / "missing.safetensors")),
              {"cannot open checkpoint '" + dir / "missing.safetensors" + "'",
               "No such file or directory: check the path"});
  check_error(run_cli("generate --model " + quote(dir / "corpus.txt")),
              {"not a valid charlstm checkpoint"});
  // None of this wrote a model.
  CHECK_FALSE(exists(dir / "out.safetensors"));
  CHECK(test_support::count_temporaries(dir.path) == 0);
}
