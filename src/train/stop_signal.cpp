#include "rosetta/train/stop_signal.h"

#include <atomic>
#include <csignal>

namespace rosetta {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int signal) {
  if (g_stop.exchange(true)) {  // a second signal: give up waiting
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
