// `charlstm serve` against real clients: the server is started on a free loopback port (--port
// 0, the port read from its first line) and stopped by each test case with SIGTERM.  Every bad
// request gets a JSON error while another client keeps streaming; the same seed gives the text of
// `charlstm generate`; SIGTERM lets a running stream finish and exits 0.  Every wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/run.hpp"

// After Eigen: its <resolv.h> defines `_res`, which breaks Eigen's headers.
#include <httplib.h>

using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;

namespace {

using clock_type = std::chrono::steady_clock;

// A small trained model, shared by the test cases (trained once, in well under a second).
const std::string& model_path() {
  static const temp_dir dir;
  static const std::string path = [] {
    const std::string corpus = dir / "corpus.txt";
    std::string text;
    for (int k = 0; k < 60; ++k) text += "the cat sat on the mat. the dog ate the hat, and ran.\n";
    test_support::write_text(corpus, text);
    const auto r = run_cli("train --corpus " + quote(corpus) +
                           " --hidden 48 --batch 8 --seq-len 20 --epochs 2 --sample-length 10 "
                           "--threads 1 --out " +
                           quote(dir / "m.safetensors"));
    REQUIRE(r.exit_code == 0);
    return dir / "m.safetensors";
  }();
  return path;
}

// `charlstm serve` on a free loopback port; SIGTERM and its exit code on stop().
struct server {
  temp_dir dir;
  pid_t pid = -1;
  int port = 0;
  explicit server(const std::string& flags = "") {
    pid = test_support::spawn_cli("serve --model " + quote(model_path()) + " --port 0 " + flags,
                                  dir / "out", dir / "err");
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    std::smatch m;
    while (clock_type::now() < deadline) {
      const std::string out = ::access((dir / "out").c_str(), R_OK) == 0
                                  ? charlstm::read_file_bytes(dir / "out")
                                  : std::string();
      if (std::regex_search(out, m, listening)) {
        port = std::stoi(m[1]);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("the server did not start: " + charlstm::read_file_bytes(dir / "err"));
  }
  // SIGTERM, then its exit code (killed after 20 s: 128 + 9).
  int stop() {
    ::kill(pid, SIGTERM);
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (clock_type::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~server() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5);
    c.set_read_timeout(20);
    c.set_write_timeout(5);
    return c;
  }
};

charlstm::json_value parse(const std::string& body) {
  return charlstm::parse_json(body.data(), body.size(), "response");
}

// POST /v1/generate; the status and the parsed body.
struct reply {
  int status = 0;
  charlstm::json_value body;
  std::string error() const {
    const charlstm::json_value* e = body.find("error");
    return e ? e->text : "";
  }
};
reply post(const server& s, const std::string& body) {
  auto c = s.client();
  auto r = c.Post("/v1/generate", body, "application/json");
  REQUIRE(r);
  return {r->status, parse(r->body)};
}

// POST /v1/generate with `body`, the answer's bytes given to `receive` as they arrive (false
// stops reading); the status, or 0 when there was no answer.
int post_streaming(const server& s, const std::string& body,
                   const std::function<bool(const char*, std::size_t)>& receive) {
  auto c = s.client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/generate";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    return receive(data, n);
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  return c.send(req, res, error) ? res.status : 0;
}

// The events of a streamed generation: the prime, the text of sample 0, and the last event.
struct streamed {
  std::string prime, text, last_event;
  int status = 0;
  bool ok = false;
};
streamed stream(const server& s, const std::string& body) {
  std::string raw;
  const int status = post_streaming(s, body, [&](const char* data, std::size_t n) {
    raw.append(data, n);
    return true;
  });
  streamed out;
  out.status = status;
  if (status != 200) return out;
  std::size_t at = 0, cut;
  while ((cut = raw.find("\n\n", at)) != std::string::npos) {
    const std::string block = raw.substr(at, cut - at);
    at = cut + 2;
    std::string event = "message", data;
    std::size_t line_at = 0;
    while (line_at <= block.size()) {
      std::size_t nl = block.find('\n', line_at);
      if (nl == std::string::npos) nl = block.size();
      const std::string line = block.substr(line_at, nl - line_at);
      if (line.rfind("event: ", 0) == 0) event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data = line.substr(6);
      line_at = nl + 1;
    }
    const charlstm::json_value d = parse(data);
    if (event == "prime") out.prime = d.find("text")->text;
    if (event == "message" && d.find("sample")->text == "0") out.text += d.find("text")->text;
    out.last_event = event;
  }
  out.ok = out.last_event == "done" && at == raw.size();
  return out;
}

// A raw connection that sends `request` and reads `bytes` bytes of the answer, then stays open.
struct raw_client {
  int fd = -1;
  std::string received;
  raw_client(int port, const std::string& request, std::size_t bytes) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval t{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    char buf[4096];
    while (received.size() < bytes) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      received.append(buf, static_cast<std::size_t>(n));
    }
  }
  ~raw_client() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};
std::string http_post(const std::string& body) {
  return "POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// /health's count of clients being generated for.
long health_clients(const server& s) {
  auto c = s.client();
  auto r = c.Get("/health");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return std::stol(parse(r->body).find("clients")->text);
}
// Polls /health until at most `n` clients remain (at most 10 s); the last count.
long wait_clients_at_most(const server& s, long n) {
  long now = health_clients(s);
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (now > n && clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = health_clients(s);
  }
  return now;
}

}  // namespace

TEST_CASE("serve: each bad request gets a JSON error while another client keeps streaming",
          "[serve]") {
  server s("--max-clients 3");
  // The other client: streams one request after another until told to stop, each checked whole.
  // Between two of its requests the limit below may be full: a 429 then is a refusal, not a
  // broken stream, and it asks again.
  std::atomic<bool> go_on{true};
  std::atomic<int> whole{0}, broken{0};
  std::thread other([&] {
    while (go_on) {
      const streamed r =
          stream(s, R"({"prime": "the ", "length": 3000, "seed": 5, "stream": true})");
      if (r.status == 429) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      (r.ok && r.text.size() == 3000 ? whole : broken)++;
    }
  });
  const auto refused = [&](const std::string& body, int status, const std::string& says) {
    const reply r = post(s, body);
    CHECK(r.status == status);
    CHECK_THAT(r.error(), Catch::Contains(says));
  };
  refused(R"({"prime": "the", "length": )", 400, "invalid JSON");
  refused(R"([1, 2])", 400, "must be a JSON object");
  refused(R"({"prime": "the", "temprature": 0.5})", 400, "unknown field \"temprature\"");
  refused(R"({"prime": "the", "temperature": -1})", 400, "temperature must be");
  refused(R"({"prime": "the", "top_p": 1.5})", 400, "top-p must be in (0, 1]");
  refused(R"({"prime": "the", "top_k": -3})", 400, "top_k");
  refused(R"({"prime": "the", "length": 0})", 400, "length must be in [1, 100000]");
  refused(R"({"prime": "the", "length": 1000000000})", 400, "length must be in [1, 100000]");
  refused(R"({"prime": "the", "length": "ten"})", 400, "length must be an integer");
  refused(R"({"prime": "the", "num_samples": 17})", 400, "num_samples must be in [1, 16]");
  refused(R"({"prime": "the", "seed": 1.5})", 400, "seed");
  refused(R"({"prime": "the", "stream": "yes"})", 400, "stream must be true or false");
  refused(R"({"prime": "the QUIZ"})", 400, "prime");
  // An oversized body: 413, its own JSON error.
  refused("{\"prime\": \"" + std::string(100'000, 'a') + "\"}", 413, "larger than");
  {  // an unknown endpoint
    auto c = s.client();
    auto r = c.Get("/v2/nothing");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK_THAT(parse(r->body).find("error")->text, Catch::Contains("no such endpoint"));
  }
  // A client that goes away mid-stream: its slot is freed and its stream dropped.
  {
    raw_client gone(s.port, http_post(R"({"prime": "the ", "length": 100000, "stream": true})"),
                    300);
    CHECK(gone.received.find("200 OK") != std::string::npos);
    CHECK(gone.received.find("data: ") != std::string::npos);
  }
  CHECK(wait_clients_at_most(s, 1) <= 1);  // the other client's at most
  // More than --max-clients: with the other client and two long streams held open, the fourth
  // is refused with 429.
  {
    const std::string slow = http_post(R"({"prime": "the ", "length": 100000, "stream": true})");
    // A generation slot is held from the request's arrival: wait until the other client holds one.
    const auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (health_clients(s) < 1 && clock_type::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // The other client's finished request holds its slot until the server has let go of its
    // response, a moment after the client read its end and sent the next one: a long stream
    // that arrives in that moment is refused (429), and asks again.
    const auto open_slow = [&] {
      auto c = std::make_unique<raw_client>(s.port, slow, 200);
      for (int k = 0; k < 50 && c->received.find("200 OK") == std::string::npos; ++k) {
        INFO(c->received);
        CHECK(c->received.find("429") != std::string::npos);
        c = std::make_unique<raw_client>(s.port, slow, 200);
      }
      return c;
    };
    const auto a = open_slow();
    const auto b = open_slow();
    CHECK(a->received.find("200 OK") != std::string::npos);
    CHECK(b->received.find("200 OK") != std::string::npos);
    // The other client may be between two requests: retry until the limit is met.
    reply r;
    for (int k = 0; k < 200 && r.status != 429; ++k)
      r = post(s, R"({"prime": "the ", "length": 5})");
    CHECK(r.status == 429);
    CHECK_THAT(r.error(), Catch::Contains("too many clients"));
  }
  CHECK(wait_clients_at_most(s, 1) <= 1);
  // Still serving: a good request is answered, and the other client never saw a broken stream.
  const reply fine = post(s, R"({"prime": "the ", "length": 20})");
  CHECK(fine.status == 200);
  CHECK(fine.body.find("samples")->items.at(0).find("text")->text.size() == 20);
  go_on = false;
  other.join();
  CHECK(whole > 0);
  CHECK(broken == 0);
  CHECK(s.stop() == 0);
}

TEST_CASE("serve: the same seed gives the text of charlstm generate, alone or in a batch",
          "[serve]") {
  // Two batches stepped in parallel: the requests are spread over both.
  server s("--batches 2");
  struct one {
    std::string json, flags;
  };
  const std::vector<one> cases = {
      {R"("length": 300, "seed": 7)", "--length 300 --seed 7"},
      {R"("length": 200, "temperature": 0.4, "top_k": 3, "seed": 11)",
       "--length 200 --temperature 0.4 --top-k 3 --seed 11"},
      {R"("length": 250, "temperature": 1.2, "top_p": 0.8, "seed": 3, "stop": "mat.")",
       "--length 250 --temperature 1.2 --top-p 0.8 --seed 3 --stop mat."},
      {R"("length": 150, "temperature": 0, "seed": 1)", "--length 150 --greedy --seed 1"},
  };
  // All at once, each also streamed: the batch holds several requests at every step.
  std::vector<reply> replies(cases.size());
  std::vector<streamed> streams(cases.size());
  std::vector<std::thread> clients;
  for (std::size_t k = 0; k < cases.size(); ++k) {
    clients.emplace_back(
        [&, k] { replies[k] = post(s, R"({"prime": "the c", )" + cases[k].json + "}"); });
    clients.emplace_back([&, k] {
      streams[k] = stream(s, R"({"prime": "the c", "stream": true, )" + cases[k].json + "}");
    });
  }
  for (std::thread& t : clients) t.join();
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO(cases[k].flags);
    const auto cli =
        run_cli("generate --model " + quote(model_path()) + " --prime 'the c' " + cases[k].flags);
    REQUIRE(cli.exit_code == 0);
    REQUIRE(replies[k].status == 200);
    const std::string prime = replies[k].body.find("prime")->text;
    const std::string text = replies[k].body.find("samples")->items.at(0).find("text")->text;
    CHECK(prime + text + "\n" == cli.out);
    CHECK(streams[k].ok);
    CHECK(streams[k].prime == prime);
    CHECK(streams[k].text == text);
  }
  // Several samples: each is the tool's sample of the same number.
  const reply two = post(s, R"({"prime": "the c", "length": 60, "num_samples": 2, "seed": 9})");
  REQUIRE(two.status == 200);
  const auto cli = run_cli("generate --model " + quote(model_path()) +
                           " --prime 'the c' --length 60 --num-samples 2 --seed 9");
  std::string expected;
  for (int n = 0; n < 2; ++n) {
    expected += "------ temperature: 1, sample " + std::to_string(n + 1) + "/2\nthe c" +
                two.body.find("samples")->items.at(static_cast<std::size_t>(n)).find("text")->text +
                "\n";
  }
  CHECK(expected == cli.out);
  CHECK(s.stop() == 0);
}

TEST_CASE("serve: SIGTERM lets a running stream finish, refuses new requests, exits 0", "[serve]") {
  server s;
  auto info = s.client().Get("/v1/model");
  REQUIRE(info);
  const charlstm::json_value m = parse(info->body);
  CHECK(m.find("token_kind")->text == "character");
  CHECK(m.find("hidden")->text == "48");
  CHECK(m.find("validation_loss")->type == charlstm::json_value::kind::number);
  CHECK(m.find("training")->find("corpus") != nullptr);

  std::atomic<bool> started{false};
  streamed running;
  std::thread t([&] {
    std::string raw;
    const std::string body = R"({"prime": "the ", "length": 60000, "seed": 2, "stream": true})";
    post_streaming(s, body, [&](const char* data, std::size_t n) {
      raw.append(data, n);
      started = true;
      return true;
    });
    running.ok = raw.find("event: done") != std::string::npos;
    running.text = raw;
  });
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (!started && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE(started);
  ::kill(s.pid, SIGTERM);
  // Draining: new requests are refused (503) or find the port closed.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    auto c = s.client();
    auto r = c.Post("/v1/generate", R"({"prime": "the "})", "application/json");
    if (r) {
      CHECK(r->status == 503);
      CHECK_THAT(parse(r->body).find("error")->text, Catch::Contains("shutting down"));
    }
  }
  t.join();
  CHECK(running.ok);  // the stream ran to its end
  int status = 0;
  const auto until = clock_type::now() + std::chrono::seconds(20);
  while (::waitpid(s.pid, &status, WNOHANG) == 0 && clock_type::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  s.pid = -1;
}
