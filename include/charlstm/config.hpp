// charlstm/config.hpp: the library's version and its one index type.
// Not a configuration system: nothing here is meant to be edited by users.
#pragma once

#include <cstdint>

#define CHARLSTM_VERSION_MAJOR 0
#define CHARLSTM_VERSION_MINOR 1
#define CHARLSTM_VERSION_PATCH 0

namespace charlstm {

// Sizes and indices.  Signed, like Eigen::Index, so that `i - 1` never wraps.
using index = std::ptrdiff_t;

// A token id: an index into the vocabulary.  4 bytes per corpus character.
using token_id = std::int32_t;

inline constexpr const char* version_string = "0.1.0";

}  // namespace charlstm
