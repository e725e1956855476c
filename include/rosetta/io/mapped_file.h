// A file mapped read-only into memory. The OS reads pages in as they are
// touched and may drop them again under memory pressure (they are clean), so
// a file larger than memory can be used, and every process of a machine that
// maps the same file shares one copy.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace rosetta {

class MappedFile {
 public:
  // Throws naming the file when it cannot be opened or mapped.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace rosetta
