// A stop request from SIGINT or SIGTERM: the trainer finishes its step,
// writes a checkpoint and returns; a second signal (more than a second after
// the first) ends the process at once.
#pragma once

namespace rosetta {

void install_stop_handlers();
void request_stop();
bool stop_requested();
void clear_stop_request();

}  // namespace rosetta
