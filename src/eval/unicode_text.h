// The bits of Python's str semantics sacreBLEU relies on, over UTF-8:
// split() on Unicode whitespace, rstrip(), lower(), and code points.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rosetta::unicode {

std::vector<int32_t> code_points(std::string_view text);
std::string to_utf8(const std::vector<int32_t>& points);
void append_utf8(std::string& out, int32_t point);
bool is_python_space(int32_t point);
std::vector<std::string> split(std::string_view text);  // str.split()
std::string rstrip(std::string_view text);               // str.rstrip()
std::string lower(std::string_view text);                // str.lower() (simple case mapping)
bool is_punctuation(int32_t point);  // \p{P}
bool is_number(int32_t point);       // \p{N}
bool is_symbol(int32_t point);       // \p{S}

}  // namespace rosetta::unicode
