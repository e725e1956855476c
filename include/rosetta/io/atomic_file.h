// Files that appear whole or not at all. The bytes go to a temporary name in
// the target's folder; commit() flushes them to disk, renames the file over
// the target and flushes the folder, so a crash or a full disk leaves either
// the old file or the complete new one, never a torn one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rosetta {

class AtomicFile {
 public:
  // Creates the target's folder when missing. Throws naming the file.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // without commit(): the temporary is removed, the target untouched
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);  // buffered; throws naming the file
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  template <typename T>
  void write_value(const T& value) {
    write(&value, sizeof(T));
  }
  void commit();
  const std::string& path() const { return path_; }

 private:
  void flush_buffer();

  std::string path_, temporary_;
  int fd_ = -1;
  std::string buffer_;
  bool committed_ = false;
};

void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace rosetta
