#include "rosetta/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "rosetta/error.h"

namespace rosetta {

namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

std::string folder_of(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw Error(concat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::error_code ignored;
  std::filesystem::create_directories(folder_of(path_), ignored);
  temporary_ = concat(path_, ".tmp.", ::getpid());
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("create", temporary_);
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temporary_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  check(fd_ >= 0 && !committed_, "write to ", path_, " after commit");
  if (buffer_.size() + bytes <= kBufferBytes) {
    buffer_.append(static_cast<const char*>(data), bytes);
    return;
  }
  flush_buffer();
  if (bytes < kBufferBytes) {
    buffer_.append(static_cast<const char*>(data), bytes);
    return;
  }
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {  // large blocks (tensors) go straight to the file
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", temporary_);
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::flush_buffer() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", temporary_);
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::commit() {
  check(fd_ >= 0 && !committed_, "commit of ", path_, " twice");
  flush_buffer();
  if (::fsync(fd_) != 0) fail("flush", temporary_);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close", temporary_);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) fail(concat("rename ", temporary_, " to"), path_);
  committed_ = true;
  // Make the rename itself durable.
  if (const int dir = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, std::string_view contents) {
  AtomicFile file(path);
  file.write(contents);
  file.commit();
}

}  // namespace rosetta
