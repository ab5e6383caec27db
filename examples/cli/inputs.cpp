// Bounded reading of the tool's inputs (see inputs.hpp).
#include "inputs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "cli.hpp"
#include "memory.hpp"

namespace cli {

using charlstm::require;

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

}  // namespace

double input_timeout() {
  if (const char* text = std::getenv("CHARLSTM_INPUT_TIMEOUT"); text && *text) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end && *end == '\0' && std::isfinite(seconds) && seconds > 0) return seconds;
  }
  return 30;
}

std::string read_input(const std::string& path, const std::string& what, double bytes_per_byte) {
  // Non-blocking, so that opening a FIFO without a writer does not wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    throw charlstm::error("cannot open '" + path + "' for reading: " + std::strerror(errno) +
                          ": check the path and permissions");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    ::close(fd);
    if (S_ISREG(st.st_mode)) {
      require_memory(static_cast<double>(st.st_size) * bytes_per_byte,
                     "reading the " + what + " '" + path + "' (" + std::to_string(st.st_size) +
                         " bytes)",
                     "use a part of it (e.g. head -c 100M)");
    }
    return charlstm::read_file_bytes(path);  // the library's reader and its messages
  }
  const std::string kind = kind_of(st.st_mode);
  const double seconds = input_timeout();
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min(seconds * 1000, 2e9)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      ::close(fd);
      throw charlstm::error("the " + what + " '" + path + "' is " + kind + " and gave no data for " +
                            std::to_string(static_cast<long>(std::lround(seconds))) +
                            " s (no writer?): start what writes to it, or save the data to a " +
                            "file and pass that (CHARLSTM_INPUT_TIMEOUT sets the wait)");
    }
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw charlstm::error("error while reading '" + path + "' after " +
                            std::to_string(bytes.size()) + " bytes: " + why +
                            ": check the file and the disk");
    }
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > max_stream_bytes) {
      ::close(fd);
      throw charlstm::error("the " + what + " '" + path + "' is " + kind + " that gave more than " +
                            std::to_string(max_stream_bytes >> 20) + " MiB, the limit for " +
                            "input that is not a regular file (endless, like /dev/zero or " +
                            "/dev/urandom?): save the data to a file and pass that");
    }
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

std::u32string load_corpus(const std::vector<std::string>& files, bool lower) {
  const std::string what = files.size() == 1
                               ? "the corpus '" + files.front() + "'"
                               : "the corpus's " + std::to_string(files.size()) + " files";
  activity doing("reading " + what, "use a smaller part of it");
  // Per file, the bytes, then the text as code points (4 bytes each), then the ids (4 each).
  return charlstm::read_corpus(files, lower, [](const std::string& path) {
    return read_input(path == charlstm::standard_input_name ? "/dev/stdin" : path, "corpus", 9);
  });
}

std::u32string load_corpus(const std::string& argument, bool lower) {
  return load_corpus(corpus_files({argument}), lower);
}

charlstm::model<float> load_model(const std::string& path, charlstm::checkpoint_info& info) {
  activity doing("loading the checkpoint '" + path + "'", "use a smaller model");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw charlstm::error("cannot open checkpoint '" + path + "': " + std::strerror(errno) +
                          ": check the path");
  }
  require(!S_ISDIR(st.st_mode), "checkpoint '" + path + "' is a directory, not a file");
  // The file's bytes, then the model and its optimizer's state as large again.
  return charlstm::parse_checkpoint<float>(read_input(path, "checkpoint", 2), info, path);
}

}  // namespace cli
