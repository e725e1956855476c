#include "rosetta/model/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "rosetta/error.h"

namespace rosetta {

namespace {

constexpr char kMagic[8] = {'R', 'S', 'T', 'A', 'C', 'K', 'P', 'T'};
constexpr char kEndMagic[8] = {'R', 'S', 'T', 'A', 'E', 'N', 'D', '\0'};
constexpr uint8_t kText = 1, kTensor = 2;
constexpr uint32_t kMaxRank = 8;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

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

uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t pos = 0;
  while (pos < bytes.size()) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(bytes.size() - pos, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + pos), chunk);
    pos += chunk;
  }
  return static_cast<uint32_t>(crc);
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) throw Error(concat("cannot write ", path, ": ", std::strerror(errno)));
    written += static_cast<size_t>(n);
  }
}

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

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  std::string payload;
  for (const auto& [name, value] : checkpoint.texts) {
    put<uint8_t>(payload, kText);
    put<uint32_t>(payload, static_cast<uint32_t>(name.size()));
    payload += name;
    put<uint64_t>(payload, value.size());
    payload += value;
  }
  for (const auto& [name, tensor] : checkpoint.tensors) {
    put<uint8_t>(payload, kTensor);
    put<uint32_t>(payload, static_cast<uint32_t>(name.size()));
    payload += name;
    put<uint32_t>(payload, static_cast<uint32_t>(tensor.ndim()));
    for (int64_t d : tensor.shape()) put<int64_t>(payload, d);
    const std::vector<float> values = tensor.to_vector();
    payload.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  std::string file(kMagic, sizeof(kMagic));
  put<uint32_t>(file, kCheckpointVersion);
  put<uint32_t>(file, 0);
  put<uint64_t>(file, payload.size());
  file += payload;
  put<uint32_t>(file, crc32_of(payload));
  file.append(kEndMagic, sizeof(kEndMagic));

  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(concat("cannot create ", temporary, ": ", std::strerror(errno)));
  try {
    write_all(fd, file, temporary);
    if (::fsync(fd) != 0) throw Error(concat("cannot flush ", temporary, ": ", std::strerror(errno)));
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw Error(concat("cannot rename ", temporary, " to ", path, ": ", std::strerror(errno)));
  }
  // Make the rename itself durable.
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Checkpoint load_checkpoint(const std::string& path, const std::function<bool(const std::string&)>& keep_tensor) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(concat("cannot open checkpoint ", path));
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
  if (std::memcmp(file.data() + kHeader + payload_size + 4, kEndMagic, 8) != 0 ||
      stored_crc != crc32_of(payload))
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
