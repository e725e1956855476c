#include "rosetta/train/stop_signal.h"

#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>

namespace rosetta {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int64_t> g_first_signal_ns{0};

int64_t monotonic_ns() {  // clock_gettime is async-signal-safe
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

extern "C" void on_stop_signal(int signal) {
  const int64_t now = monotonic_ns();
  if (!g_stop.exchange(true)) {
    g_first_signal_ns = now;
    return;
  }
  // A second signal gives up waiting, unless it came with the first: tools
  // like timeout(1) signal both the process and its group.
  if (now - g_first_signal_ns > 1000000000) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

void request_stop() { g_stop = true; }
bool stop_requested() { return g_stop; }
void clear_stop_request() { g_stop = false; }

}  // namespace rosetta
