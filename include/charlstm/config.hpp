// charlstm/config.hpp: the library's version, its one index type and the size limits that every
// check (flags, checkpoints, constructors) uses.
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

// The largest sizes accepted anywhere, each written once: beyond them a request is a mistake
// (or a damaged file), not a model.
inline constexpr index max_vocab_size = 1000000;     // symbols
inline constexpr index max_hidden_size = 16384;      // units per layer
inline constexpr index max_layers = 16;              // stacked LSTM layers
inline constexpr index max_threads = 256;            // training and evaluation threads
inline constexpr index max_batch = 1000000;          // windows or streams per batch
inline constexpr index max_sequence_length = 100000;  // window length, steps per update

}  // namespace charlstm
