// Every JSON the project writes (metrics lines, scores, reports) is built
// with nlohmann::json, so it is escaped and valid by construction. Keys keep
// the order they were written in; non-finite numbers become null; bytes that
// are not UTF-8 (a path, say) become U+FFFD instead of failing the write.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace rosetta {

using Json = nlohmann::ordered_json;

// One line of JSON, without the newline.
inline std::string json_line(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace rosetta
