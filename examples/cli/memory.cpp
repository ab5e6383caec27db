// Up-front memory checks and what an out-of-memory was doing (see memory.hpp).
#include "memory.hpp"

#include <unistd.h>

#include <charlstm/error.hpp>
#include <cstdio>
#include <exception>
#include <utility>
#include <vector>

namespace cli {

namespace {

std::string gigabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes < 1e9 ? "%.0f MB" : "%.1f GB",
                bytes < 1e9 ? bytes / 1e6 : bytes / 1e9);
  return buf;
}

struct doing_entry {
  std::string doing, advice;
};
std::vector<doing_entry>& stack() {
  static std::vector<doing_entry> entries;
  return entries;
}
doing_entry& failed() {
  static doing_entry entry;
  return entry;
}

}  // namespace

std::uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || size <= 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(size);
}

void require_memory(double bytes, const std::string& what, const std::string& advice) {
  const double limit = static_cast<double>(physical_memory());
  charlstm::require(bytes <= limit, what + " needs about " + gigabytes(bytes) +
                                        ", more than this machine's " + gigabytes(limit) +
                                        " of memory: " + advice);
}

double training_bytes(double V, double H, double L, double B, double T, double threads,
                      bool adam) {
  const double params = 4 * H * V + 4 * H * H + 4 * H + V * H + V + (L - 1) * (8 * H * H + 4 * H);
  const double copies = 1 + threads + (adam ? 2 : 1);  // weights, grads per thread, optimizer
  const double cache = L * (T * B * 9 * H + (T + 1) * B * 2 * H + 3 * H * B + 4 * H * H);
  const double logits = 2 * T * B * V;  // the logits and their gradient
  return 4 * (params * copies + cache + logits);
}

activity::activity(std::string doing, std::string advice)
    : unwinding_(std::uncaught_exceptions()) {
  stack().push_back({std::move(doing), std::move(advice)});
}

activity::~activity() {
  // Left by an exception: the innermost activity it crossed is the one to report.
  if (std::uncaught_exceptions() > unwinding_ && failed().doing.empty()) failed() = stack().back();
  stack().pop_back();
}

std::string out_of_memory_message() {
  const doing_entry& e = !failed().doing.empty() ? failed()
                         : !stack().empty()      ? stack().back()
                                                 : doing_entry{"starting", "free some memory"};
  return "out of memory while " + e.doing + ": " + e.advice;
}

std::pair<std::string, std::string> check_training_memory(const charlstm::training_config& c,
                                                          charlstm::index symbols) {
  const bool sequence = c.mode == charlstm::training_mode::sequence;
  const std::string sizes = "--hidden " + std::to_string(c.hidden) + ", --layers " +
                            std::to_string(c.layers) + ", --batch " + std::to_string(c.batch) +
                            (sequence ? ", --seq-len " + std::to_string(c.seq_len)
                                      : ", --maxlen " + std::to_string(c.maxlen)) +
                            ", --threads " + std::to_string(c.threads);
  const std::string lower =
      sequence ? "lower --hidden, --batch or --seq-len" : "lower --hidden, --batch or --maxlen";
  const auto d = [](charlstm::index v) { return static_cast<double>(v); };
  require_memory(training_bytes(d(symbols), d(c.hidden), d(c.layers), d(c.batch),
                                d(sequence ? c.seq_len : c.maxlen), d(c.threads),
                                c.optimizer == charlstm::optimizer_kind::adam),
                 "training a model of " + std::to_string(symbols) + " symbols with " + sizes,
                 lower);
  return {sizes, lower};
}

}  // namespace cli
