// Stop signals as a flag a run polls after every step (see signals.hpp).
#include "signals.hpp"

#include <csignal>

namespace cli {

namespace {

volatile std::sig_atomic_t received = 0;

extern "C" void on_stop_signal(int signal) {
  if (received == 0) received = signal;
  // The next one of any kind takes the default action: the process ends at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGHUP, SIG_DFL);
  std::signal(SIGUSR1, SIG_DFL);
}

}  // namespace

void catch_stop_signals() {
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) std::signal(signal, on_stop_signal);
}

int stop_signal() { return received; }

std::string stop_reason(int signal) {
  return signal == SIGTERM ? "terminated (SIGTERM)"
         : signal == SIGHUP ? "hung up (SIGHUP)"
         : signal == SIGUSR1 ? "asked to stop (SIGUSR1)"
                            : "interrupted";
}

}  // namespace cli
