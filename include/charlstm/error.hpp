// charlstm/error.hpp: the one exception type the library throws.
// Every message says what is wrong, where, and how to fix it; the library never prints or exits.
#pragma once

#include <stdexcept>
#include <string>

namespace charlstm {

class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error(what) {}
};

// Throws charlstm::error(message) unless `condition` holds.
//   require(temperature >= 0, "temperature must be >= 0");
// Pitfall: the message is built even when the condition holds; keep it cheap on hot paths.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw error(message);
}

}  // namespace charlstm
