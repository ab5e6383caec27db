// Checkpoints: exact round trip, and every kind of damaged or mismatched file rejected with a
// precise charlstm::error, never a crash or an out-of-bounds read (the asan preset runs these).
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <charlstm/checkpoint.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "support/check.hpp"

namespace {

struct small_model {
  charlstm::char_vocabulary vocab{U"abcdefg hij\u00e9"};
  charlstm::model<float> m{vocab.size(), 6, 3};
  charlstm::optimizer_state<float> opt{charlstm::optimizer_kind::rmsprop, m.params};
  small_model() {
    for (auto& t : opt.moments[0].tensors()) {  // not the padding between tensors, not saved
      for (long k = 0; k < t.rows * t.cols; ++k)
        t.data[k] = 0.001f * static_cast<float>(k % 17 + 1);
    }
    opt.steps = 42;
  }
  std::string bytes() {
    return charlstm::checkpoint_bytes(
        m, opt, {vocab, {{"maxlen", "60"}, {"note", "a \"quoted\"\nline"}}});
  }
};

std::string temp_path(const std::string& name) {
  return std::string("/tmp/charlstm_test_") + std::to_string(::getpid()) + "_" + name;
}

// Runs `fn` in a child process as an unprivileged user and returns the text it returns (or
// "threw: " and the message).  Permission checks do not apply to root, and CI runs as root, so
// root's child becomes `nobody` (uid and gid 65534, no groups); anyone else's stays themselves.
std::string unprivileged(const std::function<std::string()>& fn) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string result;
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                             ::setresuid(65534, 65534, 65534) != 0)) {
      result = "cannot become nobody";
    } else {
      try {
        result = fn();
      } catch (const std::exception& e) {
        result = std::string("threw: ") + e.what();
      }
    }
    const char* p = result.data();
    for (std::size_t left = result.size(); left > 0;) {
      const ssize_t n = ::write(pipe_fds[1], p, left);
      if (n <= 0) break;
      p += n, left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) result.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  return result;
}

std::string parse_error(const std::string& bytes) {
  charlstm::checkpoint_info info;
  try {
    charlstm::parse_checkpoint<float>(bytes, info, "model.safetensors");
  } catch (const charlstm::error& e) {
    return e.what();
  }
  return "no error";
}

// The same through the resume path, which also reads the optimizer's state.
std::string parse_error_resuming(const std::string& bytes) {
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  try {
    charlstm::parse_checkpoint<float>(bytes, info, "model.safetensors", opt);
  } catch (const charlstm::error& e) {
    return e.what();
  }
  return "no error";
}

// The checkpoint with its JSON header replaced by `header` (padding and length recomputed).
std::string with_header(const std::string& bytes, std::string header) {
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(k)]);
  const std::string data = bytes.substr(8 + n);
  while (header.size() % 8) header += ' ';
  std::string out(8, '\0');
  for (int k = 0; k < 8; ++k)
    out[static_cast<std::size_t>(k)] = static_cast<char>((header.size() >> (8 * k)) & 0xFF);
  return out + header + data;
}

std::string header_of(const std::string& bytes) {
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(k)]);
  return bytes.substr(8, n);
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("A checkpoint round-trips exactly", "[checkpoint]") {
  small_model s;
  const std::string path = temp_path("roundtrip.safetensors");
  charlstm::save_checkpoint(path, s.m, s.opt, {s.vocab, {{"note", "a \"quoted\"\nline"}}});
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  const charlstm::model<float> loaded = charlstm::load_checkpoint<float>(path, info, opt);
  CHECK(loaded.params.data == s.m.params.data);
  REQUIRE(opt.moments.size() == 1);
  CHECK(opt.moments[0].data == s.opt.moments[0].data);
  CHECK(opt.steps == 42);
  // Loading for inference gives the same parameters, without the optimizer's buffers.
  charlstm::checkpoint_info inference_info;
  CHECK(charlstm::load_checkpoint<float>(path, inference_info).params.data == s.m.params.data);
  CHECK(info.vocab.as_chars().symbols == s.vocab.symbols);
  CHECK(info.metadata.at("note") == "a \"quoted\"\nline");
  std::remove(path.c_str());
}

TEST_CASE("The file is safetensors: header length, JSON, row-major tensors", "[checkpoint]") {
  small_model s;
  const std::string bytes = s.bytes();
  const std::string header = header_of(bytes);
  CHECK((header.size() % 8) == 0);
  const auto json = charlstm::parse_json(header.data(), header.size(), "header");
  const auto* w_x = json.find("lstm.w_x");
  REQUIRE(w_x != nullptr);
  CHECK(w_x->find("dtype")->text == "F32");
  CHECK(w_x->find("shape")->items.size() == 2);
  CHECK(w_x->find("shape")->items[0].text == "24");  // 4H rows, as PyTorch's weight_ih_l0
  CHECK(w_x->find("shape")->items[1].text == std::to_string(s.vocab.size()));
  // Row-major: the second float of the data is w_x(0, 1).
  const auto begin =
      static_cast<std::size_t>(w_x->find("data_offsets")->items[0].as_count("begin"));
  float second;
  std::memcpy(&second, bytes.data() + 8 + header.size() + begin + sizeof(float), sizeof second);
  CHECK(second == s.m.params.lstm.w_x(0, 1));
}

TEST_CASE("A checkpoint truncated at any length is rejected", "[checkpoint]") {
  small_model s;
  const std::string bytes = s.bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::string message = parse_error(bytes.substr(0, n));
    INFO("truncated to " << n << " bytes: " << message);
    CHECK_THAT(message, Catch::StartsWith("model.safetensors"));
  }
}

TEST_CASE("Random damage never crashes the loader", "[checkpoint]") {
  small_model s;
  const std::string bytes = s.bytes();
  std::mt19937_64 engine(99);
  const std::size_t header_end = 8 + header_of(bytes).size();
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string damaged = bytes;
    const int flips = 1 + static_cast<int>(engine() % 4);
    for (int f = 0; f < flips; ++f) {
      damaged[engine() % header_end] = static_cast<char>(engine() & 0xFF);
    }
    const std::string message = parse_error(damaged);
    if (message != "no error") ++rejected;
  }
  CHECK(rejected > 2500);  // a flip inside a metadata string can leave a valid file
  // Random bytes of every small length.
  for (std::size_t n = 0; n < 200; ++n) {
    std::string junk(n, '\0');
    for (char& ch : junk) ch = static_cast<char>(engine() & 0xFF);
    CHECK(parse_error(junk) != "no error");
  }
}

TEST_CASE("A header with many metadata keys parses in time linear in its size", "[checkpoint]") {
  // 5,000 and 50,000 extra metadata keys (a 0.1 and a 1 MB header): the larger may cost at most
  // 30 times the smaller's CPU time (linear: 10, n log n: about 12, quadratic: 100).  Before the
  // header was parsed through a hash set, 10,000 keys took 1.7 s and 100,000 took 190 s.
  small_model s;
  const std::string bytes = s.bytes();
  const auto with_keys = [&](int keys) {
    std::string extra;
    for (int k = 0; k < keys; ++k) extra += "\"key" + std::to_string(k) + "\":\"value\",";
    return with_header(bytes, replace_once(header_of(bytes), "{\"__metadata__\":{",
                                           "{\"__metadata__\":{" + extra));
  };
  const auto cpu_seconds = [](const std::string& file) {
    double best = 1e300;
    for (int run = 0; run < 3; ++run) {  // the least of three: the machine's noise only adds
      timespec t0{}, t1{};
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
      charlstm::checkpoint_info info;
      charlstm::parse_checkpoint<float>(file, info, "many.safetensors");
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
      REQUIRE(info.metadata.count("key0") == 1);
      best = std::min(best, static_cast<double>(t1.tv_sec - t0.tv_sec) +
                                1e-9 * static_cast<double>(t1.tv_nsec - t0.tv_nsec));
    }
    return best;
  };
  const std::string small = with_keys(5000), large = with_keys(50000);
  const double small_cpu = cpu_seconds(small), large_cpu = cpu_seconds(large);
  INFO("CPU " << small_cpu << " s for a " << small.size() << "-byte file, " << large_cpu
              << " s for " << large.size());
  CHECK(large_cpu < 30 * std::max(small_cpu, 0.001));
}

TEST_CASE("Mismatched and malformed checkpoints give precise errors", "[checkpoint]") {
  small_model s;
  const std::string bytes = s.bytes();
  const std::string header = header_of(bytes);
  const std::string V = std::to_string(s.vocab.size());

  CHECK_THAT(parse_error(""), Catch::Contains("fewer than the 8-byte header length"));
  CHECK_THAT(parse_error(std::string(8, '\xff') + "{}"), Catch::Contains("truncated file"));
  CHECK_THAT(parse_error(with_header(bytes, "[1, 2]")), Catch::Contains("not a JSON object"));
  CHECK_THAT(parse_error(with_header(bytes, "{\"a\": ")), Catch::Contains("invalid JSON at byte"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"F32\"", "\"F16\""))),
             Catch::Contains("dtype F16, expected F32"));
  CHECK_THAT(
      parse_error(with_header(
          bytes, replace_once(header, "\"shape\":[24," + V + "]", "\"shape\":[25," + V + "]"))),
      Catch::Contains("tensor 'lstm.w_x' has shape [25, " + V + "], expected [24, " + V + "]"));
  CHECK_THAT(parse_error(with_header(
                 bytes, replace_once(header, "\"hidden_size\":\"6\"", "\"hidden_size\":\"5\""))),
             Catch::Contains("expected [20, " + V + "]"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"hidden_size\":\"6\"",
                                                         "\"hidden_size\":\"16000\""))),
             Catch::Contains("hidden_size 16000 and 1 layer(s) need") &&
                 Catch::Contains("bytes of tensors, the file has"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"vocab_size\":\"" + V + "\"",
                                                         "\"vocab_size\":\"99\""))),
             Catch::Contains("the vocabulary has " + V + " symbols but vocab_size is 99"));
  CHECK_THAT(parse_error(with_header(
                 bytes, replace_once(header, "\"vocabulary\":\" a", "\"vocabulary\":\"a "))),
             Catch::Contains("sorted and unique"));
  CHECK_THAT(parse_error(with_header(
                 bytes, replace_once(header, "\"format\":\"charlstm\"", "\"format\":\"other\""))),
             Catch::Contains("format is 'other'"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"format_version\":\"2\"",
                                                         "\"format_version\":\"3\""))),
             Catch::Contains("format version 3 is not 1 or 2") &&
                 Catch::Contains("written by a newer charlstm"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"layers\":\"1\"",
                                                         "\"layers\":\"17\""))),
             Catch::Contains("layers 17 outside [1, 16]"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"optimizer\":\"rmsprop\"",
                                                         "\"optimizer\":\"sgd\""))),
             Catch::Contains("optimizer 'sgd' is not rmsprop or adam"));
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"optimizer\":\"rmsprop\"",
                                                         "\"optimizer\":\"adam\""))),
             Catch::Contains("need"));
  CHECK_THAT(parse_error(with_header(
                 bytes, replace_once(header, "\"data_offsets\":[0,", "\"data_offsets\":[4,"))),
             Catch::Contains("spans 4.."));
  CHECK_THAT(parse_error(bytes.substr(0, bytes.size() - 4)),
             Catch::Contains("bytes of tensors, the file has"));
  {  // The last tensor moved past the end of the data (and the file padded so the size check
     // passes).
    const auto json = charlstm::parse_json(header.data(), header.size(), "header");
    const auto* last = json.find("rmsprop.dense.b")->find("data_offsets");
    const std::string from = "[" + last->items[0].text + "," + last->items[1].text + "]";
    const std::string to = "[" + std::to_string(std::stol(last->items[0].text) + 64) + "," +
                           std::to_string(std::stol(last->items[1].text) + 64) + "]";
    CHECK_THAT(parse_error(with_header(bytes, replace_once(header, from, to))),
               Catch::Contains("ends at byte"));
  }
  {  // Ranges that overlap: 'lstm.b' moved to start inside 'lstm.w_x' (4 bytes after its start,
     // and 4 bytes before its end, running into the next tensor) and onto its very start.  Its
     // size stays right and it stays inside the data, so only the overlap check can refuse it.
    const auto json = charlstm::parse_json(header.data(), header.size(), "header");
    const auto offsets = [&](const char* name) {
      const auto* o = json.find(name)->find("data_offsets");
      return std::make_pair(std::stoul(o->items[0].text), std::stoul(o->items[1].text));
    };
    const auto w_x = offsets("lstm.w_x"), b = offsets("lstm.b");
    const unsigned long b_size = b.second - b.first;
    REQUIRE(w_x.second - w_x.first > b_size + 8);
    const std::string from =
        "\"data_offsets\":[" + std::to_string(b.first) + "," + std::to_string(b.second) + "]";
    for (const unsigned long start : {w_x.first + 4, w_x.second - 4, w_x.first}) {
      const std::string to =
          "\"data_offsets\":[" + std::to_string(start) + "," + std::to_string(start + b_size) + "]";
      INFO("lstm.b moved to start at byte " << start << " of lstm.w_x's " << w_x.first << ".."
                                            << w_x.second);
      const std::string moved = replace_once(header, from, to);
      REQUIRE(moved.find("\"lstm.b\":{\"dtype\":\"F32\",\"shape\":[24]," + to) !=
              std::string::npos);
      CHECK_THAT(parse_error(with_header(bytes, moved)),
                 Catch::Contains("overlaps another tensor"));
      if (start != w_x.first) {
        CHECK_THAT(parse_error(with_header(bytes, moved)),
                   Catch::Contains("tensor 'lstm.b' overlaps another tensor"));
      }
    }
  }
  CHECK_THAT(parse_error(with_header(bytes, replace_once(header, "\"lstm.b\"", "\"lstm.bias\""))),
             Catch::Contains("unexpected tensor 'lstm.bias'"));
  CHECK_THAT(parse_error(with_header(
                 bytes, replace_once(header, "\"data_offsets\":[0,", "\"data_offsets\":[-1,"))),
             Catch::Contains("non-negative integer"));

  // A tensor holding NaN, or an infinity (in the last tensor's last value).
  std::string nan_bytes = bytes;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan_bytes[8 + header.size()], &nan, sizeof nan);
  CHECK_THAT(parse_error(nan_bytes), Catch::Contains("NaN or infinite"));
  // An infinity in the optimizer's state (the last tensor's last value): resuming refuses it;
  // loading for inference never reads the optimizer's tensors, so it loads the parameters.
  std::string inf_bytes = bytes;
  const float inf = -std::numeric_limits<float>::infinity();
  std::memcpy(&inf_bytes[inf_bytes.size() - sizeof inf], &inf, sizeof inf);
  CHECK_THAT(parse_error_resuming(inf_bytes), Catch::Contains("NaN or infinite"));
  CHECK(parse_error(inf_bytes) == "no error");
}

TEST_CASE("Loading a directory, a missing file or an empty file is a clear error", "[checkpoint]") {
  charlstm::checkpoint_info info;
  CHECK_THROWS_WITH(charlstm::load_checkpoint<float>("/tmp", info),
                    Catch::Contains("is a directory"));
  CHECK_THROWS_WITH(charlstm::load_checkpoint<float>("/nonexistent/m.safetensors", info),
                    Catch::Contains("cannot open checkpoint"));
  const std::string empty = temp_path("empty.safetensors");
  std::ofstream(empty).close();
  CHECK_THROWS_WITH(charlstm::load_checkpoint<float>(empty, info), Catch::Contains("0 bytes"));
  std::remove(empty.c_str());
}

TEST_CASE("A failed save leaves the previous checkpoint intact and no temporary file",
          "[checkpoint]") {
  small_model s;
  const std::string dir = temp_path("readonly_dir");
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/model.safetensors";
  charlstm::save_checkpoint(path, s.m, {s.vocab, {}});
  const std::string before = charlstm::read_file_bytes(path);
  // The directory belongs to the user who saves (nobody, when root runs the tests), so that only
  // its mode stops the save.
  if (::geteuid() == 0) REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
  ::chmod(dir.c_str(), 0555);
  s.m.params.data[0] += 1;
  const auto save = [&] {
    charlstm::save_checkpoint(path, s.m, {s.vocab, {}});
    return std::string("saved");
  };
  CHECK_THAT(unprivileged(save), Catch::StartsWith("threw: ") &&
                                     Catch::Contains("cannot create a temporary file beside") &&
                                     Catch::Contains("Permission denied"));
  CHECK(charlstm::read_file_bytes(path) == before);
  // Writable again, the same user's save succeeds: the mode was what stopped it.
  ::chmod(dir.c_str(), 0755);
  CHECK(unprivileged(save) == "saved");
  charlstm::checkpoint_info info;
  CHECK(charlstm::load_checkpoint<float>(path, info).params.data == s.m.params.data);
  CHECK_THROWS_WITH(
      charlstm::save_checkpoint(dir + "/missing/model.safetensors", s.m, {s.vocab, {}}),
      Catch::Contains("does the directory exist"));
  std::remove(path.c_str());
  CHECK(::rmdir(dir.c_str()) == 0);  // empty: no temporary file was left behind
}

TEST_CASE("Stacked layers, Adam's state and a carried state round-trip exactly", "[checkpoint]") {
  charlstm::char_vocabulary vocab{U"abcdefgh"};
  charlstm::model<float> m(vocab.size(), 5, 9, 3);
  charlstm::optimizer_state<float> opt(charlstm::optimizer_kind::adam, m.params);
  for (auto& buffer : opt.moments) {
    for (auto& t : buffer.tensors()) {
      for (long k = 0; k < t.rows * t.cols; ++k) t.data[k] = 0.01f * static_cast<float>(k % 7 + 1);
    }
  }
  opt.steps = 17;
  charlstm::matrix<double> h(5, 4);
  for (long k = 0; k < h.size(); ++k) h.data()[k] = 0.25 * static_cast<double>(k) - 2;
  const charlstm::checkpoint_info info(vocab, {{"mode", "sequence"}},
                                       {{"state.h.l0", h}, {"state.c.l2", -h}});
  const std::string bytes = charlstm::checkpoint_bytes(m, opt, info);
  charlstm::checkpoint_info back;
  charlstm::optimizer_state<float> back_opt;
  auto loaded = charlstm::parse_checkpoint<float>(bytes, back, "m", back_opt);
  CHECK(loaded.layers() == 3);
  CHECK(back_opt.kind == charlstm::optimizer_kind::adam);
  CHECK(loaded.params.data == m.params.data);
  REQUIRE(back_opt.moments.size() == 2);
  CHECK(back_opt.moments[0].data == opt.moments[0].data);
  CHECK(back_opt.moments[1].data == opt.moments[1].data);
  CHECK(back_opt.steps == 17);
  REQUIRE(back.state_tensors.size() == 2);
  CHECK(back.state_tensors.at("state.h.l0") == h);
  CHECK(back.state_tensors.at("state.c.l2") == -h);
  CHECK(charlstm::checkpoint_bytes(loaded, back_opt, back) == bytes);
  // A state tensor whose name does not start with "state." is refused on save.
  CHECK_THROWS_WITH(charlstm::checkpoint_bytes(m, {vocab, {}, {{"carried", h}}}),
                    Catch::Contains("named \"state.*\""));
}

TEST_CASE("A version-1 checkpoint (one layer, RMSprop) still loads", "[checkpoint]") {
  // Written by charlstm before stacked layers and Adam (the checkpoint fuzzer's seed).
  const std::string path = std::string(CHARLSTM_FIXTURE_DIR) +
                           "/../fuzz/corpus/fuzz_checkpoint/small.safetensors";
  const std::string bytes = charlstm::read_file_bytes(path);
  REQUIRE(bytes.find("\"format_version\":\"1\"") != std::string::npos);
  REQUIRE(bytes.find("\"layers\"") == std::string::npos);
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  const auto m = charlstm::parse_checkpoint<float>(bytes, info, path, opt);
  CHECK(m.layers() == 1);
  CHECK(opt.kind == charlstm::optimizer_kind::rmsprop);
  CHECK(m.params.all_finite());
  CHECK(info.state_tensors.empty());
  // It saves as version 2 and reloads to the same model.
  charlstm::model<float> copy = m;
  charlstm::checkpoint_info again;
  charlstm::optimizer_state<float> again_opt;
  const auto reloaded = charlstm::parse_checkpoint<float>(
      charlstm::checkpoint_bytes(copy, opt, info), again, "copy", again_opt);
  CHECK(reloaded.params.data == m.params.data);
  CHECK(again_opt.moments[0].data == opt.moments[0].data);
}
