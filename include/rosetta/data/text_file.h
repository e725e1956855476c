// Reading text a line at a time with UTF-8 checked: an invalid byte sequence
// is an error that names the file and line, never a crash or a silent
// replacement.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace rosetta {

bool is_valid_utf8(std::string_view text);

class LineReader {
 public:
  explicit LineReader(const std::string& path);  // throws if the file cannot be opened
  // The next line without its newline (and without a trailing '\r');
  // false at the end of the file. Throws on invalid UTF-8.
  bool next(std::string& line);
  int64_t line_number() const { return line_number_; }  // of the line last returned, from 1
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t line_number_ = 0;
};

int64_t count_lines(const std::string& path);
// Every line of a file ("-": standard input), UTF-8 checked.
std::vector<std::string> read_lines(const std::string& path);

}  // namespace rosetta
