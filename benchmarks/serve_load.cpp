// serve_load: N concurrent streaming clients against a running `charlstm serve` on loopback, for
// a bounded time: total characters per second and time to first character (from sending the
// request to the first generated text), p50 and p99.  One client is one request at a time.
// benchmarks/serve.sh starts the server and runs it for 1, 8, 64 and 256 clients.
//   serve_load PORT CLIENTS SECONDS LENGTH
// Prints one line: clients, requests, characters, chars/s, ttfc p50 ms, ttfc p99 ms, errors (by
// kind), and the CPU seconds the clients themselves used (so that a reader can tell whether the
// clients, which share the machine with the server, were the bottleneck).
// Not a pass/fail test.
#include <httplib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// Characters in the JSON string that starts at s[at] (after its opening quote): each escape is
// one character (the server escapes only quotes, backslashes and control characters), each
// UTF-8 lead byte one.
long json_string_chars(const std::string& s, std::size_t at) {
  long n = 0;
  while (at < s.size() && s[at] != '"') {
    if (s[at] == '\\') {
      at += at + 1 < s.size() && s[at + 1] == 'u' ? 6 : 2;
      ++n;
    } else {
      if ((static_cast<unsigned char>(s[at]) & 0xC0) != 0x80) ++n;
      ++at;
    }
  }
  return n;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: serve_load PORT CLIENTS SECONDS LENGTH\n");
    return 2;
  }
  const int port = std::atoi(argv[1]), clients = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const long length = std::atol(argv[4]);
  using clock_type = std::chrono::steady_clock;
  const double cpu_before = cpu_seconds();
  const auto start = clock_type::now();
  const auto stop_at = start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(seconds));
  std::atomic<long> chars{0}, requests{0};
  std::mutex mutex;
  std::vector<double> ttfc;            // ms
  std::map<std::string, long> errors;  // by kind
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(60);
      client.set_connection_timeout(10);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as curl and browsers: no Nagle wait for the body
      for (long k = 0; clock_type::now() < stop_at; ++k) {
        const std::string body = "{\"prime\": \"the \", \"length\": " + std::to_string(length) +
                                 ", \"seed\": " + std::to_string(c * 100000 + k) +
                                 ", \"stream\": true}";
        const auto sent = clock_type::now();
        bool first = true;
        long got = 0;
        std::string pending;  // bytes of an event not yet whole
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/generate";
        req.body = body;
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
          // Events end with a blank line; a generated text's is `data: {"sample": S, "text":
          // "..."}` (the prime's is `event: prime`).
          pending.append(data, n);
          std::size_t from = 0, end;
          while ((end = pending.find("\n\n", from)) != std::string::npos) {
            const std::size_t text = pending.find("\"sample\": ", from);
            if (text != std::string::npos && text < end) {
              const std::size_t quote = pending.find("\"text\": \"", text);
              const long k = json_string_chars(pending, quote + 9);
              got += k;
              if (first && k > 0) {
                first = false;
                const double ms =
                    std::chrono::duration<double, std::milli>(clock_type::now() - sent).count();
                const std::lock_guard<std::mutex> lock(mutex);
                ttfc.push_back(ms);
              }
            }
            from = end + 2;
          }
          pending.erase(0, from);
          return clock_type::now() < stop_at;  // the window closes: stop reading
        };
        httplib::Response res;
        httplib::Error error = httplib::Error::Success;
        const bool answered = client.send(req, res, error);
        chars += got;
        if (answered && res.status == 200) {
          ++requests;
        } else if (clock_type::now() < stop_at) {
          const std::lock_guard<std::mutex> lock(mutex);
          ++errors[answered ? "HTTP " + std::to_string(res.status) : httplib::to_string(error)];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  const double cpu = cpu_seconds() - cpu_before;
  std::sort(ttfc.begin(), ttfc.end());
  const auto pct = [&](double p) {
    if (ttfc.empty()) return 0.0;
    return ttfc[std::min(ttfc.size() - 1, static_cast<std::size_t>(p * ttfc.size()))];
  };
  long error_count = 0;
  std::string kinds;
  for (const auto& [kind, n] : errors) {
    error_count += n;
    kinds += (kinds.empty() ? " (" : ", ") + kind + ": " + std::to_string(n);
  }
  if (!kinds.empty()) kinds += ")";
  std::printf(
      "%d clients: %ld requests, %ld characters in %.2f s: %.0f chars/s, time to first "
      "character p50 %.2f ms, p99 %.2f ms (%zu requests), %ld errors%s; clients' CPU %.2f s\n",
      clients, requests.load(), chars.load(), elapsed, chars / elapsed, pct(0.5), pct(0.99),
      ttfc.size(), error_count, kinds.c_str(), cpu);
  return error_count == 0 ? 0 : 1;
}
