// The tool's inputs read with bounds: a regular file whole (its size checked against memory
// first); anything else, a FIFO, a device or /dev/stdin, up to a size cap and with a timeout for
// each wait, so that a FIFO with no writer or /dev/zero ends with a clear error, never a hang
// or an unbounded allocation.
#pragma once

#include <charlstm/checkpoint.hpp>
#include <charlstm/lowercase.hpp>
#include <string>

namespace cli {

// Bytes read from a non-regular input at most (64 MiB): save a larger stream to a file first.
constexpr std::size_t max_stream_bytes = std::size_t{64} << 20;

// Seconds a non-regular input may keep us waiting for its next bytes: 30, or the environment's
// CHARLSTM_INPUT_TIMEOUT.
double input_timeout();

// The whole of `path`, named `what` ("corpus", "checkpoint") in messages; `bytes_per_byte` is the
// memory that reading it leads to, per byte, checked before reading a regular file.
std::string read_input(const std::string& path, const std::string& what, double bytes_per_byte);

// A UTF-8 corpus as code points, lowercased if asked (the library's load_text, bounded).
std::u32string load_corpus(const std::string& path, bool lower);

// A checkpoint (the library's load_checkpoint, bounded).
charlstm::model<float> load_model(const std::string& path, charlstm::checkpoint_info& info);

}  // namespace cli
