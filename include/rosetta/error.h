// rosetta::Error, the one exception type the library throws, and check(),
// which builds its message only when the condition fails.
// The library never calls exit() or abort(): the command line catches, logs
// and exits non-zero, and tests can expect the throw.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rosetta {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <typename... Parts>
inline void check(bool condition, Parts&&... parts) {
  if (!condition) throw Error(concat(std::forward<Parts>(parts)...));
}

}  // namespace rosetta
