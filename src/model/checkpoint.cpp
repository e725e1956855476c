#include "rosetta/model/checkpoint.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <string_view>

#include "rosetta/error.h"
#include "rosetta/io/atomic_file.h"
#include "rosetta/io/stable_hash.h"

namespace rosetta {

// Numbers are stored as the machine holds them, and every machine we build
// for is little-endian: the format is little-endian.
static_assert(std::endian::native == std::endian::little, "checkpoints are little-endian; this machine is not");

namespace {

constexpr char kMagic[8] = {'R', 'S', 'T', 'A', 'C', 'K', 'P', 'T'};
constexpr char kEndMagic[8] = {'R', 'S', 'T', 'A', 'E', 'N', 'D', '\0'};
constexpr uint8_t kText = 1, kTensor = 2;
constexpr uint32_t kMaxRank = 8;
static_assert(kMaxRank <= Extents::kCapacity, "a checkpoint must not hold tensors a Shape cannot describe");

// Reads from the payload with bounds checks: corruption that slips past the
// checksum still ends in an error, never a read past the end.
class Reader {
 public:
  Reader(std::string_view data, const std::string& path) : data_(data), path_(path) {}
  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  const char* take(uint64_t bytes) {
    if (bytes > data_.size() - pos_) throw Error(concat(path_, ": checkpoint is truncated or corrupted"));
    const char* p = data_.data() + pos_;
    pos_ += bytes;
    return p;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  const std::string& path_;
  size_t pos_ = 0;
};

}  // namespace

const std::string& Checkpoint::text(const std::string& name) const {
  auto it = texts.find(name);
  if (it == texts.end()) throw Error(concat("checkpoint has no '", name, "' record"));
  return it->second;
}

const Tensor* Checkpoint::find_tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

// Streams the records straight from the tensors into the file, the CRC
// computed on the way: saving holds no copy of the training state.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  uint64_t payload_size = 0;
  for (const auto& [name, value] : checkpoint.texts) payload_size += 1 + 4 + name.size() + 8 + value.size();
  for (const auto& [name, tensor] : checkpoint.tensors)
    payload_size += 1 + 4 + name.size() + 4 + 8 * tensor.shape().size() + sizeof(float) * tensor.numel();

  AtomicFile file(path);
  file.write(kMagic, sizeof(kMagic));
  file.write_value<uint32_t>(kCheckpointVersion);
  file.write_value<uint32_t>(0);
  file.write_value<uint64_t>(payload_size);
  Crc32 crc;
  uint64_t written = 0;
  const auto emit = [&](const void* data, size_t bytes) {
    file.write(data, bytes);
    crc.add(data, bytes);
    written += bytes;
  };
  const auto emit_header = [&](uint8_t kind, const std::string& name) {
    const auto name_size = static_cast<uint32_t>(name.size());
    emit(&kind, 1);
    emit(&name_size, 4);
    emit(name.data(), name.size());
  };
  for (const auto& [name, value] : checkpoint.texts) {
    emit_header(kText, name);
    const uint64_t size = value.size();
    emit(&size, 8);
    emit(value.data(), value.size());
  }
  for (const auto& [name, tensor] : checkpoint.tensors) {
    emit_header(kTensor, name);
    const auto rank = static_cast<uint32_t>(tensor.ndim());
    emit(&rank, 4);
    for (const int64_t d : tensor.shape()) emit(&d, 8);
    if (tensor.is_contiguous()) {
      emit(tensor.data(), sizeof(float) * tensor.numel());
    } else {
      const std::vector<float> values = tensor.to_vector();
      emit(values.data(), sizeof(float) * values.size());
    }
  }
  check(written == payload_size, "checkpoint ", path, ": wrote ", written, " payload bytes, planned ", payload_size);
  file.write_value<uint32_t>(crc.value());
  file.write(kEndMagic, sizeof(kEndMagic));
  file.commit();
}

std::string read_checkpoint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(concat("cannot open checkpoint ", path));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Checkpoint load_checkpoint(const std::string& path, const std::function<bool(const std::string&)>& keep_tensor) {
  return parse_checkpoint(read_checkpoint_file(path), path, keep_tensor);
}

Checkpoint parse_checkpoint(const std::string& file, const std::string& path,
                            const std::function<bool(const std::string&)>& keep_tensor) {
  constexpr size_t kHeader = 8 + 4 + 4 + 8, kTrailer = 4 + 8;
  if (file.size() < 8 || std::memcmp(file.data(), kMagic, 8) != 0)
    throw Error(concat(path, " is not a Rosetta checkpoint"));
  if (file.size() < kHeader + kTrailer) throw Error(concat(path, ": checkpoint is truncated"));
  uint32_t version, flags;
  uint64_t payload_size;
  std::memcpy(&version, file.data() + 8, 4);
  std::memcpy(&flags, file.data() + 12, 4);
  std::memcpy(&payload_size, file.data() + 16, 8);
  if (version != kCheckpointVersion)
    throw Error(concat(path, ": checkpoint format version ", version, ", this build reads version ",
                       kCheckpointVersion));
  if (flags != 0) throw Error(concat(path, ": checkpoint is corrupted (unknown flags ", flags, ")"));
  if (payload_size != file.size() - kHeader - kTrailer)
    throw Error(concat(path, ": checkpoint is truncated (", file.size(), " bytes, expected ",
                       kHeader + kTrailer + payload_size, ")"));
  const std::string_view payload = std::string_view(file).substr(kHeader, payload_size);
  uint32_t stored_crc;
  std::memcpy(&stored_crc, file.data() + kHeader + payload_size, 4);
  Crc32 crc;
  crc.add(payload.data(), payload.size());
  if (std::memcmp(file.data() + kHeader + payload_size + 4, kEndMagic, 8) != 0 ||
      stored_crc != crc.value())
    throw Error(concat(path, ": checkpoint is corrupted (checksum mismatch)"));

  Checkpoint checkpoint;
  Reader reader(payload, path);
  while (!reader.done()) {
    const auto kind = reader.get<uint8_t>();
    const auto name_size = reader.get<uint32_t>();
    const std::string name(reader.take(name_size), name_size);
    if (kind == kText) {
      const auto size = reader.get<uint64_t>();
      checkpoint.texts[name] = std::string(reader.take(size), size);
    } else if (kind == kTensor) {
      const auto rank = reader.get<uint32_t>();
      if (rank > kMaxRank) throw Error(concat(path, ": checkpoint is corrupted (tensor ", name, ")"));
      Shape shape(rank);
      for (auto& d : shape) {
        d = reader.get<int64_t>();
        if (d < 0 || d > (int64_t{1} << 40)) throw Error(concat(path, ": checkpoint is corrupted (tensor ", name, ")"));
      }
      const int64_t count = numel(shape);
      const char* data = reader.take(static_cast<uint64_t>(count) * sizeof(float));
      if (keep_tensor && !keep_tensor(name)) continue;
      Tensor t = Tensor::empty(shape);
      std::memcpy(t.data(), data, count * sizeof(float));
      checkpoint.tensors.emplace_back(name, std::move(t));
    } else {
      throw Error(concat(path, ": checkpoint is corrupted (record kind ", int(kind), ")"));
    }
  }
  return checkpoint;
}

void store_parameters(const nn::Module& model, Checkpoint& checkpoint, const std::string& prefix) {
  for (const auto& [name, var] : model.named_parameters())
    checkpoint.tensors.emplace_back(prefix + name, var.value());
}

void restore_parameters(const Checkpoint& checkpoint, const nn::Module& model, const std::string& prefix) {
  for (auto [name, var] : model.named_parameters()) {
    const Tensor* saved = checkpoint.find_tensor(prefix + name);
    check(saved != nullptr, "checkpoint has no parameter ", prefix + name);
    check(saved->shape() == var.shape(), "checkpoint parameter ", prefix + name, " has shape ",
          shape_text(saved->shape()), ", the model expects ", shape_text(var.shape()));
    std::memcpy(var.mutable_value().data(), saved->data(), saved->numel() * sizeof(float));
  }
}

}  // namespace rosetta
