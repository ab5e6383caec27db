// serve_load: N concurrent streaming clients against a running `charlstm serve` on loopback, for
// a bounded time: total characters per second and time to first character (from sending the
// request to the first generated piece), p50 and p99.  One client is one request at a time.
// benchmarks/serve.sh starts the server and runs it for 1, 8, 64 and 256 clients.
//   serve_load PORT CLIENTS SECONDS LENGTH
// Prints one line: clients, requests, characters, chars/s, ttfc p50 ms, ttfc p99 ms, errors.
// Not a pass/fail test.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: serve_load PORT CLIENTS SECONDS LENGTH\n");
    return 2;
  }
  const int port = std::atoi(argv[1]), clients = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const long length = std::atol(argv[4]);
  using clock_type = std::chrono::steady_clock;
  const auto start = clock_type::now();
  const auto stop_at = start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(seconds));
  std::atomic<long> chars{0}, requests{0}, errors{0};
  std::mutex mutex;
  std::vector<double> ttfc;  // ms
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(60);
      client.set_connection_timeout(10);
      for (long k = 0; clock_type::now() < stop_at; ++k) {
        const std::string body = "{\"prime\": \"the \", \"length\": " + std::to_string(length) +
                                 ", \"seed\": " + std::to_string(c * 100000 + k) +
                                 ", \"stream\": true}";
        const auto sent = clock_type::now();
        bool first = true;
        long got = 0;
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/generate";
        req.body = body;
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
          // Each generated piece is one "data: {"sample": ..." event; the prime's is
          // "event: prime".
          const std::string chunk(data, n);
          std::size_t at = 0;
          while ((at = chunk.find("\"sample\"", at)) != std::string::npos) {
            ++got;
            ++at;
            if (first) {
              first = false;
              const double ms =
                  std::chrono::duration<double, std::milli>(clock_type::now() - sent).count();
              const std::lock_guard<std::mutex> lock(mutex);
              ttfc.push_back(ms);
            }
          }
          return clock_type::now() < stop_at;  // the window closes: stop reading
        };
        httplib::Response res;
        httplib::Error error = httplib::Error::Success;
        const bool answered = client.send(req, res, error);
        chars += got;
        if (answered && res.status == 200) {
          ++requests;
        } else if (clock_type::now() < stop_at) {
          ++errors;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  std::sort(ttfc.begin(), ttfc.end());
  const auto pct = [&](double p) {
    if (ttfc.empty()) return 0.0;
    return ttfc[std::min(ttfc.size() - 1, static_cast<std::size_t>(p * ttfc.size()))];
  };
  std::printf(
      "%d clients: %ld requests, %ld characters in %.2f s: %.0f chars/s, time to first "
      "character p50 %.2f ms, p99 %.2f ms (%zu requests), %ld errors\n",
      clients, requests.load(), chars.load(), elapsed, chars / elapsed, pct(0.5), pct(0.99),
      ttfc.size(), errors.load());
  return errors == 0 ? 0 : 1;
}
