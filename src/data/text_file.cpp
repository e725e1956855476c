#include "rosetta/data/text_file.h"

#include <utf8proc.h>

#include "rosetta/error.h"

namespace rosetta {

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    if (*p < 0x80) {  // ASCII fast path
      ++p;
      --left;
      continue;
    }
    utf8proc_int32_t codepoint;
    const utf8proc_ssize_t n = utf8proc_iterate(p, left, &codepoint);
    if (n <= 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

LineReader::LineReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  check(in_.good(), "cannot open ", path);
}

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  check(is_valid_utf8(line), path_, ":", line_number_, ": invalid UTF-8");
  return true;
}

int64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "cannot open ", path);
  int64_t lines = 0;
  std::string line;
  while (std::getline(in, line)) ++lines;
  return lines;
}

std::vector<std::string> read_lines(const std::string& path) {
  LineReader reader(path == "-" ? "/dev/stdin" : path);
  std::vector<std::string> lines;
  std::string line;
  while (reader.next(line)) lines.push_back(line);
  return lines;
}

}  // namespace rosetta
