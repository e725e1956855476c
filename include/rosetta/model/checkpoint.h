// One self-contained checkpoint file: everything needed to translate (config,
// vocabulary, parameters) and to resume training (optimizer moments, RNG
// states, step, epoch, data position).
//
// Layout: "RSTACKPT", u32 format version, u32 flags, u64 payload bytes,
// payload, u32 CRC-32 of the payload, "RSTAEND\0". The payload is a list of
// records: u8 kind (1 text, 2 tensor), u32 name length, name, then for text
// u64 length + bytes, for a tensor u32 rank, i64 extents, f32 values. All
// numbers are little-endian (the build refuses a big-endian machine).
// Records stream from the tensors into the file (no copy of the state is
// made); the file is written atomically (rosetta/io/atomic_file.h), so a
// crash never leaves a half-written checkpoint under the real name.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rosetta/nn/module.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta {

constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::map<std::string, std::string> texts;                // "config", "vocab", "state/step", ...
  std::vector<std::pair<std::string, Tensor>> tensors;     // "param/<name>", "adam_m/<name>", ...

  const std::string& text(const std::string& name) const;  // throws naming the file's lack
  bool has_text(const std::string& name) const { return texts.count(name) > 0; }
  const Tensor* find_tensor(const std::string& name) const;
};

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);
// Throws rosetta::Error naming the path for a missing, truncated, corrupted,
// wrong-version or non-checkpoint file. keep_tensor, when given, picks the
// tensors worth holding (translation needs no optimizer state); the whole
// file is checked either way.
Checkpoint load_checkpoint(const std::string& path,
                           const std::function<bool(const std::string&)>& keep_tensor = {});

// The same from a checkpoint file's bytes (as another process sent them);
// path names it in errors.
std::string read_checkpoint_file(const std::string& path);
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path,
                            const std::function<bool(const std::string&)>& keep_tensor = {});

// Parameters under "param/<name>" in the checkpoint.
void store_parameters(const nn::Module& model, Checkpoint& checkpoint, const std::string& prefix = "param/");
// Copies them into the model; every parameter must be there with its shape.
void restore_parameters(const Checkpoint& checkpoint, const nn::Module& model,
                        const std::string& prefix = "param/");

}  // namespace rosetta
