// `charlstm serve`: generation over HTTP for many clients at once (docs/serve.md).  Scheduler
// threads (one per batch, --batches) each own a batch (charlstm::batch_generator) over the shared
// model and advance its requests one token per step; cpp-httplib's handler threads check a
// request, queue it and pass its pieces on, as server-sent events or as one JSON response.  Built
// only with cpp-httplib (Debian's libcpp-httplib-dev); not the engine (the library's
// batch_generator.hpp).
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "inputs.hpp"
#include "serve_page.hpp"
#include "serve_scheduler.hpp"
#include "signals.hpp"

// After Eigen (through cli.hpp): it includes <resolv.h>, whose `_res` macro breaks Eigen's
// headers.
#include <httplib.h>

namespace cli {

namespace {

using serve_detail::job;
using serve_detail::scheduler;
using serve_detail::schedulers;
using clock_type = std::chrono::steady_clock;

struct serve_options {
  std::string model, host = "127.0.0.1";
  int port = 8080;
  long threads = 0, max_clients = 64, batches = 0;
};

// What one request may ask for: each client's samples are kept in the batch until they end.
constexpr long max_request_length = 100'000;
constexpr long max_request_samples = 16;
constexpr std::size_t max_body_bytes = 64 * 1024;

// How often a streaming handler writes once its first piece is out: it sends everything the
// scheduler produced since its last write as one event per sample, so a client costs one wake-up
// and one write per interval, not per character (the first piece goes out as soon as it exists).
constexpr auto stream_interval = std::chrono::milliseconds(20);

// A JSON error body, as every refusal sends it.
void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content("{\"error\": " + charlstm::json_quote(message) + "}\n", "application/json");
}

// A request's field as a number, integer or string, or a clear 400.
double number_field(const charlstm::json_value& v, const std::string& name) {
  require(v.type == charlstm::json_value::kind::number, name + " must be a number");
  char* end = nullptr;
  const double x = std::strtod(v.text.c_str(), &end);
  require(end == v.text.c_str() + v.text.size() && std::isfinite(x),
          name + " must be a finite number, got " + v.text);
  return x;
}
long count_field(const charlstm::json_value& v, const std::string& name, long lo, long hi) {
  require(v.type == charlstm::json_value::kind::number, name + " must be an integer");
  const std::int64_t x = v.as_count(name);
  require(x >= lo && x <= hi, name + " must be in [" + std::to_string(lo) + ", " +
                                  std::to_string(hi) + "], got " + v.text);
  return static_cast<long>(x);
}
std::string string_field(const charlstm::json_value& v, const std::string& name) {
  require(v.type == charlstm::json_value::kind::string, name + " must be a string");
  return v.text;
}

// The body of POST /v1/generate as a request for the engine (the prime tokenised as `charlstm
// generate --prime` reads it); `stream` says how to answer.  Throws charlstm::error, a 400.
charlstm::generation_request parse_generate(const std::string& body,
                                            const charlstm::checkpoint_info& info, bool& stream) {
  const charlstm::json_value doc = charlstm::parse_json(body.data(), body.size(), "request body");
  require(doc.type == charlstm::json_value::kind::object, "the request body must be a JSON object");
  charlstm::generation_request r;
  std::string prime;
  stream = false;
  for (const auto& [name, v] : doc.members) {
    if (name == "prime") {
      prime = string_field(v, name);
    } else if (name == "length") {
      r.length = count_field(v, name, 1, max_request_length);
    } else if (name == "temperature") {
      r.sampling.temperature = number_field(v, name);
    } else if (name == "top_k") {
      r.sampling.top_k = count_field(v, name, 0, 1'000'000);
    } else if (name == "top_p") {
      r.sampling.top_p = number_field(v, name);
    } else if (name == "stop") {
      r.stop = string_field(v, name);
    } else if (name == "num_samples") {
      r.num_samples = count_field(v, name, 1, max_request_samples);
    } else if (name == "seed") {
      r.seed = static_cast<std::uint64_t>(v.as_count(name));
    } else if (name == "stream") {
      require(v.type == charlstm::json_value::kind::boolean, "stream must be true or false");
      stream = v.boolean;
    } else {
      throw charlstm::error("unknown field \"" + name +
                            "\" (known: prime, length, temperature, top_k, top_p, stop, "
                            "num_samples, seed, stream)");
    }
  }
  charlstm::require_sampling(r.sampling);
  r.prime = charlstm::encode_prime(info, prime, false, "prime");
  return r;
}

// cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into
// Debian's library): when more clients connect at once the kernel drops their SYNs and they
// resend them a second later (the 1 s time to first character measured at 64 clients before
// this).  Linux takes a new backlog from listen() on a socket already listening: the server's
// socket is the one listening on `port`.
void widen_backlog(int port) {
  for (int fd = 0; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t size = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) continue;
    const int at = address.ss_family == AF_INET
                       ? ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port)
                   : address.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port)
                       : -1;
    if (at == port) ::listen(fd, SOMAXCONN);
  }
}

const char* end_name(charlstm::sample_end end) {
  return end == charlstm::sample_end::stop ? "stop" : "length";
}

// GET /v1/model: what the checkpoint is and how it was trained.
std::string model_json(const charlstm::model<float>& m, const charlstm::checkpoint_info& info) {
  std::string training;
  for (const auto& [key, value] : info.metadata) {
    if (key == "rng" || key == "vocabulary" || key == "sample_window" || key == "format" ||
        key == "format_version")
      continue;
    training += (training.empty() ? "" : ", ") + charlstm::json_quote(key) + ": " +
                charlstm::json_quote(value);
  }
  const auto best = info.metadata.find("best_val");
  const std::string validation =
      best != info.metadata.end() && std::isfinite(std::strtod(best->second.c_str(), nullptr))
          ? best->second
          : "null";
  return "{\"vocab_size\": " + std::to_string(m.vocab_size()) + ", \"token_kind\": \"" +
         (info.vocab.kind() == charlstm::token_kind::word ? "word" : "character") +
         "\", \"layers\": " + std::to_string(m.layers()) +
         ", \"hidden\": " + std::to_string(m.hidden_size()) +
         ", \"parameters\": " + std::to_string(m.params.size()) +
         ", \"validation_loss\": " + validation + ", \"training\": {" + training + "}}\n";
}

int serve(const serve_options& o) {
  require(o.port >= 0 && o.port <= 65535, "--port must be in [0, 65535] (0: any free port)");
  require(o.max_clients >= 1 && o.max_clients <= 4096, "--max-clients must be in [1, 4096]");
  const long threads = o.threads > 0 ? o.threads : o.max_clients + 8;
  require(threads <= 8192, "--threads must be at most 8192");
  charlstm::checkpoint_info info;
  const charlstm::model<float> model = load_model(o.model, info);
  const std::string model_info = model_json(model, info);
  const long batches = o.batches > 0
                           ? o.batches
                           : std::max(1L, static_cast<long>(std::thread::hardware_concurrency()));
  require(batches <= 64, "--batches must be at most 64");
  schedulers engine(model, info.vocab, o.max_clients * max_request_samples, batches);
  std::atomic<long> clients{0};
  std::atomic<bool> draining{false};

  httplib::Server server;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.set_payload_max_length(max_body_bytes);
  // Small events go out at once (no Nagle delay), and a client may send many requests on one
  // connection.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1000);
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // ours already
    if (res.status == 404) {
      send_error(res, 404,
                 "no such endpoint: " + req.method + " " + req.path +
                     " (GET /, POST /v1/generate, GET /v1/model, GET /health)");
    } else if (res.status == 413) {
      send_error(res, 413, "request body larger than " + std::to_string(max_body_bytes) + " bytes");
    } else {
      send_error(res, res.status,
                 res.status == 400 ? "malformed HTTP request"
                                   : "HTTP status " + std::to_string(res.status));
    }
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve_page(), "text/html; charset=utf-8");
  });
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string("{\"status\": \"") + (draining ? "draining" : "ok") +
                        "\", \"clients\": " + std::to_string(clients.load()) +
                        ", \"streams\": " + std::to_string(engine.streams()) + "}\n",
                    "application/json");
  });
  server.Get("/v1/model", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_info, "application/json");
  });
  server.Post("/v1/generate", [&](const httplib::Request& req, httplib::Response& res) {
    if (draining) return send_error(res, 503, "the server is shutting down");
    // A client slot for the request's life: freed, and the job cancelled if unfinished, when
    // the response (and its stream) is gone, however it ended.
    if (++clients > o.max_clients) {
      --clients;
      return send_error(res, 429,
                        "too many clients: " + std::to_string(o.max_clients) +
                            " requests are being generated (--max-clients); try again later");
    }
    struct slot {
      std::atomic<long>& clients;
      scheduler& engine;
      std::shared_ptr<job> j = std::make_shared<job>();
      slot(std::atomic<long>& c, scheduler& e) : clients(c), engine(e) {}
      slot(const slot&) = delete;
      slot& operator=(const slot&) = delete;
      ~slot() {
        j->cancelled = true;  // nothing if it has ended
        --clients;
        engine.wake();
      }
    };
    auto held = std::make_shared<slot>(clients, engine.least_busy());
    bool stream = false;
    try {
      held->j->request = parse_generate(req.body, info, stream);
    } catch (const std::exception& e) {
      return send_error(res, 400, e.what());
    }
    held->engine.submit(held->j);
    const std::string prime =
        charlstm::encode_utf8(charlstm::decode_text(info.vocab, held->j->request.prime));
    if (!stream) {
      job& j = *held->j;
      std::vector<std::string> texts(static_cast<std::size_t>(j.request.num_samples));
      std::vector<charlstm::sample_end> ends(texts.size(), charlstm::sample_end::none);
      std::unique_lock<std::mutex> lock(j.mutex);
      while (true) {
        // The scheduler wakes it when the request is done; the pieces so far are taken now
        // and then, so that they do not pile up.
        j.changed.wait_for(lock, std::chrono::milliseconds(50), [&] { return j.done; });
        for (const charlstm::generated_piece& p : j.pieces) {
          texts[static_cast<std::size_t>(p.sample)] += p.text;
          if (p.end != charlstm::sample_end::none) ends[static_cast<std::size_t>(p.sample)] = p.end;
        }
        j.pieces.clear();
        if (j.done) break;
      }
      if (!j.error.empty()) return send_error(res, 503, j.error);
      std::string samples;
      for (std::size_t s = 0; s < texts.size(); ++s) {
        samples += std::string(s ? ", " : "") + "{\"text\": " + charlstm::json_quote(texts[s]) +
                   ", \"end\": \"" + end_name(ends[s]) + "\"}";
      }
      return res.set_content(
          "{\"prime\": " + charlstm::json_quote(prime) + ", \"samples\": [" + samples + "]}\n",
          "application/json");
    }
    // Server-sent events: the prime, then at most every stream_interval one event per sample
    // with the text produced since the last write, then "done".
    res.set_header("Cache-Control", "no-cache");
    struct progress {
      bool sent_prime = false, sent_piece = false;
      clock_type::time_point last_write;
    };
    auto at = std::make_shared<progress>();
    res.set_chunked_content_provider(
        "text/event-stream", [held, prime, at](std::size_t, httplib::DataSink& sink) {
          job& j = *held->j;
          const auto write = [&](const std::string& text) {
            if (!sink.write(text.data(), text.size())) {
              j.cancelled = true;
              return false;
            }
            at->last_write = clock_type::now();
            return true;
          };
          const auto event = [](const std::string& name, const std::string& data) {
            return (name.empty() ? "" : "event: " + name + "\n") + "data: " + data + "\n\n";
          };
          if (!at->sent_prime) {
            at->sent_prime = true;
            return write(event("prime", "{\"text\": " + charlstm::json_quote(prime) + "}"));
          }
          std::vector<charlstm::generated_piece> pieces;
          bool done = false;
          std::string error;
          {
            std::unique_lock<std::mutex> lock(j.mutex);
            // After the first piece, let pieces gather until the interval is over (or the
            // request is done); then, or before the first, wait for one.  Wakes now and then
            // to notice a client that went away while nothing was produced.
            if (at->sent_piece) {
              j.changed.wait_until(lock, at->last_write + stream_interval, [&] { return j.done; });
            }
            j.waiting = true;
            j.changed.wait_for(lock, std::chrono::milliseconds(100),
                               [&] { return j.done || !j.pieces.empty(); });
            j.waiting = false;
            pieces.swap(j.pieces);
            done = j.done;
            error = j.error;
          }
          if (!sink.is_writable()) {
            j.cancelled = true;
            return false;
          }
          // One event per sample: its pieces joined, its end if it ended.
          std::string data;
          std::vector<bool> seen(static_cast<std::size_t>(j.request.num_samples), false);
          for (const charlstm::generated_piece& p : pieces) {
            if (seen[static_cast<std::size_t>(p.sample)]) continue;
            seen[static_cast<std::size_t>(p.sample)] = true;
            std::string text;
            charlstm::sample_end end = charlstm::sample_end::none;
            for (const charlstm::generated_piece& q : pieces) {
              if (q.sample != p.sample) continue;
              text += q.text;
              if (q.end != charlstm::sample_end::none) end = q.end;
            }
            data += event("", "{\"sample\": " + std::to_string(p.sample) +
                                  ", \"text\": " + charlstm::json_quote(text) +
                                  (end != charlstm::sample_end::none
                                       ? std::string(", \"end\": \"") + end_name(end) + "\""
                                       : std::string()) +
                                  "}");
          }
          if (!pieces.empty()) at->sent_piece = true;
          if (done) {
            data += error.empty()
                        ? event("done", "{}")
                        : event("error", "{\"error\": " + charlstm::json_quote(error) + "}");
          }
          if (!data.empty() && !write(data)) return false;
          if (done) sink.done();
          return true;
        });
  });

  catch_stop_signals();
  const int port = o.port == 0 ? server.bind_to_any_port(o.host) : o.port;
  require(port > 0 && (o.port == 0 || server.bind_to_port(o.host, port)),
          "cannot listen on " + o.host + ":" + std::to_string(o.port) +
              " (in use, or not an address of this machine?): choose another --port or --host");
  widen_backlog(port);
  engine.start();
  // SIGTERM, SIGINT or SIGHUP: refuse new requests, let the running ones finish, then stop.
  std::atomic<bool> over{false};
  std::thread watching([&] {
    while (!stop_signal() && !over) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (over) return;
    draining = true;
    std::fprintf(stderr, "charlstm serve: %s: finishing %ld request(s), refusing new ones\n",
                 stop_reason(stop_signal()).c_str(), clients.load());
    while (clients > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    server.stop();
  });
  std::printf(
      "charlstm serve: listening on http://%s:%d (%s, %ld threads, at most %ld clients, %ld "
      "batch(es))\n",
      o.host.c_str(), port, o.model.c_str(), threads, o.max_clients, batches);
  std::fflush(stdout);
  server.listen_after_bind();
  over = true;
  watching.join();
  engine.stop();
  require(stop_signal() != 0, "the server stopped listening on " + o.host + ":" +
                                  std::to_string(port) + " without being asked to");
  std::fprintf(stderr, "charlstm serve: stopped\n");
  return 0;
}

}  // namespace

subcommand add_serve(CLI::App& tool) {
  auto options = std::make_shared<serve_options>();
  serve_options& s = *options;
  CLI::App* cmd = tool.add_subcommand(
      "serve",
      "generate over HTTP for many clients at once, with a page to try it (docs/serve.md)");
  cmd->add_option("--model", s.model, "checkpoint")->required();
  cmd->add_option("--host", s.host, "address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port", s.port, "port to listen on (0: any free port, printed)")
      ->capture_default_str();
  cmd->add_option("--threads", s.threads,
                  "HTTP threads, each serving one connection at a time (default: "
                  "--max-clients + 8)");
  cmd->add_option("--max-clients", s.max_clients,
                  "generation requests served at once; more get 429")
      ->capture_default_str();
  cmd->add_option("--batches", s.batches,
                  "batches stepped in parallel, each on its own thread; a request joins the one "
                  "with the fewest samples (default: the number of cores)");
  subcommand command;
  command.app = cmd;
  command.run = [options] { return serve(*options); };
  return command;
}

}  // namespace cli
