// The tool's inputs read with bounds: a regular file whole (its size checked against memory
// first); anything else, a FIFO, a device or /dev/stdin, up to a size cap and with a timeout for
// each wait, so that a FIFO with no writer or /dev/zero ends with a clear error, never a hang
// or an unbounded allocation.
#pragma once

#include <charlstm/checkpoint.hpp>
#include <charlstm/lowercase.hpp>
#include <string>
#include <vector>

namespace cli {

// Bytes read from a non-regular input at most (64 MiB): save a larger stream to a file first.
constexpr std::size_t max_stream_bytes = std::size_t{64} << 20;

// Seconds a non-regular input may keep us waiting for its next bytes: 30, or the environment's
// CHARLSTM_INPUT_TIMEOUT.
double input_timeout();

// The whole of `path`, named `what` ("corpus", "checkpoint") in messages; `bytes_per_byte` is the
// memory that reading it leads to, per byte, checked before reading a regular file.
std::string read_input(const std::string& path, const std::string& what, double bytes_per_byte);

// A corpus's files (corpus_files' list) as code points, joined and lowercased as the library's
// read_corpus does, each file read with read_input ("-": standard input, bounded).
std::u32string load_corpus(const std::vector<std::string>& files, bool lower);
// One --corpus argument (a file, a folder, a name or "-") read so.
std::u32string load_corpus(const std::string& argument, bool lower);

// A checkpoint (the library's load_checkpoint, bounded).
charlstm::model<float> load_model(const std::string& path, charlstm::checkpoint_info& info);

}  // namespace cli
