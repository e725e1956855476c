// What the processes of one run share and check between them: that they
// train the same thing (binary, config, data), that their parameters stay
// one model, and strings packed to travel between them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/dist/process_group.h"
#include "rosetta/nn/module.h"

namespace rosetta {

// Strings as one length-prefixed string, and back.
std::string pack_strings(const std::vector<std::string>& strings);
std::vector<std::string> unpack_strings(const std::string& packed);

// The config as processes must share it: data paths, the run folder and the
// thread count may differ from machine to machine.
std::string shared_config_text(Config config);
// A checksum of the running executable ("unknown" where it cannot be read).
std::string executable_checksum();

// facts: (what, value) pairs, compared with rank 0's; a difference throws on
// every process naming the rank and what differs (for "config", the first
// differing line).
void check_processes_agree(dist::ProcessGroup& group, const std::vector<std::pair<std::string, std::string>>& facts);

// Rank 0's parameters replace the others'.
void broadcast_parameters(dist::ProcessGroup& group, const nn::NamedParameters& parameters);
// Every process holds the same parameters, or every process throws naming
// the rank that differs, the step and the last good checkpoint.
void check_replicas(dist::ProcessGroup& group, const nn::NamedParameters& parameters, int64_t step,
                    const std::string& last_checkpoint);

}  // namespace rosetta
