// The tool's outputs: checked before any work, written through a temporary file or streamed, and
// standard output's errors turned into exit codes (see outputs.hpp).
#include "outputs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charlstm/error.hpp>
#include <charlstm/file.hpp>
#include <charlstm/json.hpp>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace cli {

using charlstm::require;

namespace {

std::string quoted(const std::string& path) { return "'" + path + "'"; }

std::string node_kind(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

// The descriptor that /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N names, or -1.
int descriptor_named(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const std::size_t n = std::strlen(prefix);
    if (path.compare(0, n, prefix) != 0 || path.size() == n || path.size() > n + 6) continue;
    int fd = 0;
    for (std::size_t k = n; k < path.size(); ++k) {
      if (path[k] < '0' || path[k] > '9') return -1;
      fd = fd * 10 + (path[k] - '0');
    }
    return fd;
  }
  return -1;
}

// The input of `inputs` that is the same file as `st`, or "".
std::string same_file_as(const struct stat& st, const std::vector<std::string>& inputs) {
  for (const auto& input : inputs) {
    struct stat in {};
    if (!input.empty() && ::stat(input.c_str(), &in) == 0 && in.st_dev == st.st_dev &&
        in.st_ino == st.st_ino)
      return input;
  }
  return "";
}

// Up to `size` bytes from the start of a regular file.
std::string file_start(const std::string& path, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  std::string bytes(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, &bytes[done], size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

bool looks_like_html(const std::string& path) {
  std::string start = file_start(path, 15);
  for (char& ch : start) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return start.compare(0, 14, "<!doctype html") == 0;
}

// What `kind` may replace, for the message.
const char* kind_written(output_kind kind) {
  switch (kind) {
    case output_kind::checkpoint:
      return "a charlstm checkpoint";
    case output_kind::html:
      return "an HTML page";
    default:
      return "a text file";
  }
}

bool streamable(output_kind kind) { return kind == output_kind::text || kind == output_kind::html; }

}  // namespace

bool looks_like_checkpoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 8) return false;
  const std::string head = file_start(path, 8);
  if (head.size() != 8) return false;
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(head[std::size_t(k)]);
  // Our headers are a few kilobytes (the vocabulary); 64 MiB bounds what a sniff reads.
  if (n < 2 || n > static_cast<std::uint64_t>(st.st_size) - 8 || n > (64u << 20)) return false;
  const std::string header = file_start(path, 8 + static_cast<std::size_t>(n)).substr(8);
  try {
    const charlstm::json_value v = charlstm::parse_json(header.data(), header.size(), path);
    const charlstm::json_value* meta = v.find("__metadata__");
    const charlstm::json_value* format = meta ? meta->find("format") : nullptr;
    return format && format->type == charlstm::json_value::kind::string &&
           format->text == "charlstm";
  } catch (const charlstm::error&) {
    return false;
  }
}

output_target check_output(const std::string& path, const std::string& flag, output_kind kind,
                           const std::vector<std::string>& inputs, bool force,
                           std::size_t suffix_room) {
  require(!path.empty(), flag + " is empty: give a file name");
  const std::string what = flag + " " + quoted(path);
  output_target target;

  // /dev/stdout and its kin: the descriptor itself, so that `--out /dev/stdout > file` appends
  // where the shell's redirection points instead of reopening the file at offset 0.
  if (const int fd = descriptor_named(path); fd >= 0) {
    struct stat st {};
    require(::fstat(fd, &st) == 0,
            what + " names descriptor " + std::to_string(fd) + ", which is not open");
    require(streamable(kind), what + " is a stream: this command writes " + kind_written(kind) +
                                  " and files beside it; give a file name");
    const std::string input = same_file_as(st, inputs);
    require(input.empty(), what + " is the input " + quoted(input) +
                               ": writing it would destroy it; choose another output");
    target.stream_fd = fd;
    return target;
  }

  const auto slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  require(!name.empty() && name != "." && name != "..",
          what + " names a directory: give a file name inside it, e.g. " +
              (path.back() == '/' ? path : path + "/") + "model.safetensors");
  const std::size_t name_max = NAME_MAX;
  require(name.size() + suffix_room <= name_max,
          what + ": the file name is " + std::to_string(name.size()) +
              " bytes long; with the suffixes written beside it (up to " +
              std::to_string(suffix_room) + " bytes) it must be at most " +
              std::to_string(name_max - suffix_room) + ": choose a shorter name");
  require(path.size() + suffix_room < PATH_MAX,
          what + ": the path is " + std::to_string(path.size()) + " bytes long, at most " +
              std::to_string(PATH_MAX - 1 - suffix_room) + " fit: choose a shorter path");

  struct stat lst {};
  if (::lstat(path.c_str(), &lst) == 0) {
    if (S_ISLNK(lst.st_mode)) {
      // Followed, never replaced: the checks and the write apply to what it points to.
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        throw charlstm::error(what + " is a symbolic link to a missing file (" +
                              std::strerror(errno) +
                              "): fix or remove the link, or choose another name");
      }
      std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr),
                                                       &std::free);
      if (!real) {
        throw charlstm::error(what + ": cannot resolve the symbolic link: " + std::strerror(errno));
      }
      return check_output(real.get(), flag + " " + quoted(path) + " ->", kind, inputs, force,
                          suffix_room);
    }
    const std::string input = same_file_as(lst, inputs);
    require(input.empty(), what + " is the input " + quoted(input) +
                               ": writing it would destroy it; choose another output");
    require(!S_ISDIR(lst.st_mode), what + " is a directory: give a file name inside it, e.g. " +
                                       path + "/model.safetensors");
    if (!S_ISREG(lst.st_mode)) {
      // Devices and FIFOs are written through in place (never replaced by a file), or refused.
      require(streamable(kind) && (S_ISCHR(lst.st_mode) || S_ISFIFO(lst.st_mode)),
              what + " is " + node_kind(lst.st_mode) + ", not a regular file: this command " +
                  "writes " + kind_written(kind) +
                  (kind == output_kind::checkpoint ? " and logs beside it" : "") +
                  "; give a file name");
      target.stream_path = path;
      return target;
    }
    const bool expected = kind == output_kind::checkpoint ? looks_like_checkpoint(path)
                          : kind == output_kind::html     ? looks_like_html(path)
                          : kind == output_kind::text     ? !looks_like_checkpoint(path)
                                                          : true;
    require(expected || force,
            what + " exists and is " +
                (kind == output_kind::text ? std::string("a charlstm checkpoint")
                                           : "not " + std::string(kind_written(kind))) +
                ": choose another name, or pass --force to replace it");
  } else {
    require(errno == ENOENT, what + ": " + std::strerror(errno) + ": choose another name");
  }
  const std::string directory = charlstm::directory_of(path);
  struct stat dst {};
  require(::stat(directory.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode),
          what + ": the directory " + quoted(directory) + " does not exist: create it first " +
              "(mkdir -p " + directory + ") or choose another name");
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    throw charlstm::error(what + ": cannot write into the directory " + quoted(directory) + ": " +
                          std::strerror(errno) + ": choose another directory");
  }
  target.path = path;
  return target;
}

output_file::output_file(const output_target& target) {
  if (target.stream_fd >= 0) {
    fd_ = ::fcntl(target.stream_fd, F_DUPFD_CLOEXEC, 3);
    if (fd_ < 0) {
      throw charlstm::error("cannot use descriptor " + std::to_string(target.stream_fd) + ": " +
                            std::strerror(errno));
    }
    path_ = "/dev/fd/" + std::to_string(target.stream_fd);
    streamed_ = true;
    return;
  }
  if (!target.stream_path.empty()) {
    path_ = target.stream_path;
    // Non-blocking, so that a FIFO without a reader is an error (ENXIO), not a hang.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) {
      const int err = errno;
      throw charlstm::error(
          "cannot open " + quoted(path_) + " for writing: " + std::strerror(err) +
          (err == ENXIO ? " (a FIFO with no reader: start the reader first)" : ""));
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    streamed_ = true;
    return;
  }
  path_ = target.path;
  std::string temp = path_ + ".tmp.XXXXXX";
  fd_ = ::mkstemp(&temp[0]);
  if (fd_ < 0) {
    throw charlstm::error("cannot create a temporary file beside " + quoted(path_) + ": " +
                          std::strerror(errno) + " (does the directory exist and is it writable?)");
  }
  ::fchmod(fd_, 0644);
  temp_ = temp;
}

output_file::~output_file() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void output_file::write(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) throw output_closed{};
    require(n > 0, "cannot write " + quoted(path_) + ": " + std::strerror(n < 0 ? errno : EIO) +
                       (temp_.empty() ? "" : "; the file was left as it was"));
    done += static_cast<std::size_t>(n);
  }
}

void output_file::commit() {
  const int fd = fd_;
  fd_ = -1;
  if (streamed_) {
    if (::close(fd) != 0)
      throw charlstm::error("cannot write " + quoted(path_) + ": " + std::strerror(errno));
    return;
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_error = errno;
  const bool closed = ::close(fd) == 0;
  require(synced && closed, "cannot write " + quoted(path_) + ": " +
                                std::strerror(synced ? errno : sync_error) +
                                "; the file was left as it was");
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    throw charlstm::error("cannot rename the temporary file over " + quoted(path_) + ": " +
                          std::strerror(errno));
  }
  temp_.clear();
  const int dir = ::open(charlstm::directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

namespace {

// True if stdout is a pipe or socket whose reader has gone (poll reports an error on it).
bool stdout_reader_gone() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    return false;
  pollfd p{STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

}  // namespace

void flush_stdout() {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return;
  const int err = errno;
  if (err == EPIPE || stdout_reader_gone()) throw output_closed{};
  throw charlstm::error(std::string("cannot write to standard output: ") +
                        (err ? std::strerror(err) : "write error") +
                        ": check where the output goes (a full disk?)");
}

int finish_stdout(int code) {
  try {
    flush_stdout();
  } catch (const output_closed&) {
    return code;
  } catch (const charlstm::error& e) {
    if (code != 0) return code;
    std::fprintf(stderr, "charlstm: error: %s\n", e.what());
    return 1;
  }
  return code;
}

run_lock::run_lock(const std::string& lock_path, const std::string& what) {
  fd_ = ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) {
    throw charlstm::error("cannot create the lock file " + quoted(lock_path) + ": " +
                          std::strerror(errno) + ": check the directory");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    require(err != EWOULDBLOCK, what + " is in use: another charlstm holds the lock " +
                                    quoted(lock_path) + " (see fuser " + lock_path +
                                    "): wait for it to finish, or choose another --out");
    throw charlstm::error("cannot lock " + quoted(lock_path) + ": " + std::strerror(err));
  }
}

run_lock::~run_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace cli
