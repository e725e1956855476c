#include "rosetta/train/replicas.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>

#include "rosetta/error.h"
#include "rosetta/io/stable_hash.h"

namespace rosetta {

std::string pack_strings(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) {
    const uint64_t n = s.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof(n));
    out += s;
  }
  return out;
}

std::vector<std::string> unpack_strings(const std::string& packed) {
  std::vector<std::string> out;
  for (size_t at = 0; at < packed.size();) {
    uint64_t n = 0;
    std::memcpy(&n, packed.data() + at, sizeof(n));
    out.push_back(packed.substr(at + sizeof(n), n));
    at += sizeof(n) + n;
  }
  return out;
}

std::string shared_config_text(Config c) {
  for (CorpusPaths* paths : {&c.data.train, &c.data.valid, &c.data.test}) paths->src = paths->tgt = "";
  c.train.run_dir = "";
  c.train.threads = 0;
  return to_yaml(c);
}

std::string executable_checksum() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes.empty() ? std::string("unknown") : stable_hash_hex(bytes);
}

namespace {

// The first line where two texts differ, for the message.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream in_a(a), in_b(b);
  std::string line_a, line_b;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(in_a, line_a)), more_b = static_cast<bool>(std::getline(in_b, line_b));
    if (!more_a && !more_b) return "";
    if (!more_a) line_a = "(end)";
    if (!more_b) line_b = "(end)";
    if (line_a != line_b) return concat(": rank 0 has \"", line_a, "\", it has \"", line_b, "\"");
  }
}

}  // namespace

void check_processes_agree(dist::ProcessGroup& group, const std::vector<std::pair<std::string, std::string>>& facts) {
  if (!group.distributed()) return;
  std::vector<std::string> fields;
  for (const auto& [what, value] : facts) fields.insert(fields.end(), {what, value});
  const std::vector<std::string> all = group.all_gather(pack_strings(fields));
  const std::vector<std::string> root = unpack_strings(all[0]);
  for (size_t r = 1; r < all.size(); ++r) {
    const std::vector<std::string> theirs = unpack_strings(all[r]);
    for (size_t i = 0; i + 1 < root.size(); i += 2) {
      const std::string& theirs_value = i + 1 < theirs.size() ? theirs[i + 1] : std::string();
      const bool text = root[i] == "config";
      check(theirs_value == root[i + 1], "rank ", r, " does not train what rank 0 trains: its ", root[i], " differs",
            text ? first_difference(root[i + 1], theirs_value)
                 : concat(" (", theirs_value, " against rank 0's ", root[i + 1], ")"),
            ". Every process needs the same rosetta binary, config (data paths, train.run_dir and train.threads "
            "aside) and data");
    }
  }
}

void broadcast_parameters(dist::ProcessGroup& group, const nn::NamedParameters& parameters) {
  if (!group.distributed()) return;
  for (auto [name, p] : parameters) {  // Var copies share the node and the value's storage
    Tensor value = p.value();
    group.broadcast(std::span<float>(value.data(), static_cast<size_t>(value.numel())));
  }
}

void check_replicas(dist::ProcessGroup& group, const nn::NamedParameters& parameters, int64_t step,
                    const std::string& last_checkpoint) {
  if (!group.distributed()) return;
  StableHasher hasher;
  for (const auto& [name, p] : parameters)
    hasher.add(p.value().data(), sizeof(float) * static_cast<size_t>(p.value().numel()));
  const int64_t mine = static_cast<int64_t>(hasher.value());
  const std::vector<int64_t> all = group.all_gather(std::span<const int64_t>(&mine, 1));
  for (size_t r = 1; r < all.size(); ++r)
    check(all[r] == all[0], "step ", step, ": the parameters of rank ", r, " (checksum ",
          hex64(static_cast<uint64_t>(all[r])), ") differ from rank 0's (", hex64(static_cast<uint64_t>(all[0])),
          "): the processes no longer train one model. Stopping; the last good checkpoint is ",
          last_checkpoint.empty() ? std::string("none yet") : last_checkpoint);
}

}  // namespace rosetta
