#include "unicode_text.h"

#include <utf8proc.h>

#include "rosetta/error.h"

namespace rosetta::unicode {

std::vector<int32_t> code_points(std::string_view text) {
  std::vector<int32_t> out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    const utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    check(n > 0, "invalid UTF-8 in text being scored");
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

void append_utf8(std::string& out, int32_t point) {
  utf8proc_uint8_t buffer[4];
  const auto n = utf8proc_encode_char(point, buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

std::string to_utf8(const std::vector<int32_t>& points) {
  std::string out;
  for (int32_t p : points) append_utf8(out, p);
  return out;
}

bool is_python_space(int32_t c) {
  // Python's str.isspace(): bidirectional class WS, B or S, or category Zs.
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  bool ascii = true;
  for (unsigned char ch : text) ascii &= ch < 0x80;
  if (ascii) {  // the common case, without decoding
    for (char ch : text) {
      if (is_python_space(static_cast<unsigned char>(ch))) {
        if (!current.empty()) tokens.push_back(std::move(current)), current.clear();
      } else {
        current += ch;
      }
    }
  } else {
    for (int32_t cp : code_points(text)) {
      if (is_python_space(cp)) {
        if (!current.empty()) tokens.push_back(std::move(current)), current.clear();
      } else {
        append_utf8(current, cp);
      }
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::string rstrip(std::string_view text) {
  const auto points = code_points(text);
  size_t end = points.size();
  while (end > 0 && is_python_space(points[end - 1])) --end;
  return to_utf8({points.begin(), points.begin() + end});
}

std::string lower(std::string_view text) {
  std::string out;
  for (int32_t cp : code_points(text)) append_utf8(out, utf8proc_tolower(cp));
  return out;
}

namespace {
utf8proc_category_t category(int32_t c) { return utf8proc_category(c); }
}  // namespace

bool is_punctuation(int32_t c) {
  const auto k = category(c);
  return k == UTF8PROC_CATEGORY_PC || k == UTF8PROC_CATEGORY_PD || k == UTF8PROC_CATEGORY_PS ||
         k == UTF8PROC_CATEGORY_PE || k == UTF8PROC_CATEGORY_PI || k == UTF8PROC_CATEGORY_PF ||
         k == UTF8PROC_CATEGORY_PO;
}

bool is_number(int32_t c) {
  const auto k = category(c);
  return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

bool is_symbol(int32_t c) {
  const auto k = category(c);
  return k == UTF8PROC_CATEGORY_SM || k == UTF8PROC_CATEGORY_SC || k == UTF8PROC_CATEGORY_SK ||
         k == UTF8PROC_CATEGORY_SO;
}

}  // namespace rosetta::unicode
