// charlstm/file.hpp: the library's only POSIX code: reading a whole file, listing a folder's
// files, replacing one durably and atomically (temporary file, fsync, rename, fsync of the
// directory), and an append-only file written one whole line per write(2).  Not text: bytes in,
// bytes out (corpus.hpp decodes text, checkpoint.hpp and the run logs say what the bytes mean).
// Every failure throws charlstm::error naming the path and the system's reason.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"

namespace charlstm {

// The whole file as bytes.  Throws, naming the path and the system's reason, if it cannot be
// opened or read, or if it is a directory.
//   std::string bytes = read_file_bytes("model.safetensors");
inline std::string read_file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw error("cannot open '" + path + "' for reading: " + std::strerror(errno) +
                ": check the path and permissions");
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw error("'" + path + "' is a directory, not a file: pass the path of a file inside it");
  }
  std::string bytes;
  if (S_ISREG(st.st_mode) && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw error("error while reading '" + path + "' after " + std::to_string(bytes.size()) +
                  " bytes: " + why + ": check the file and the disk");
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

// True if `path` names something that exists (a file, a directory...).
inline bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The directory a path's file is in: "runs/m.safetensors" -> "runs", "m" -> ".", "/m" -> "/".
inline std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// True if `path` names a directory (a symlink to one included).
inline bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The regular files directly inside `directory` (symlinks followed), as paths "directory/name",
// sorted by name byte by byte (as `LC_ALL=C ls`).  Hidden files (a name starting with '.'),
// subdirectories and anything that is not a regular file (FIFOs, sockets, devices) are left out:
// the listing never descends and never opens what could block.
//   std::vector<std::string> files = directory_files("letters");  // letters/a.txt, letters/b.txt
// Throws, naming the directory and the system's reason, if it cannot be listed.
inline std::vector<std::string> directory_files(const std::string& directory) {
  DIR* dir = ::opendir(directory.c_str());
  if (!dir) {
    throw error("cannot list the folder '" + directory + "': " + std::strerror(errno) +
                ": check the path and permissions");
  }
  const std::string prefix =
      !directory.empty() && directory.back() == '/' ? directory : directory + "/";
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;  // hidden, and "." and ".."
    struct stat st {};
    if (::stat((prefix + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
  }
  ::closedir(dir);
  // std::string compares as unsigned bytes (char_traits<char>), whatever the locale.
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const std::string& name : names) paths.push_back(prefix + name);
  return paths;
}

// Where the best-validation checkpoint of `out` goes, keeping its loadable extension:
// MODEL.safetensors -> MODEL.best.safetensors, anything else X -> X.best.
inline std::string best_checkpoint_path(const std::string& out) {
  const std::string ext = ".safetensors";
  if (out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0)
    return out.substr(0, out.size() - ext.size()) + ".best" + ext;
  return out + ".best";
}

namespace file_detail {

// Writes all of `bytes` to fd or throws with errno's text.
inline void write_all(int fd, const char* bytes, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw error("cannot write '" + path + "': " + std::strerror(errno) +
                  " (is the disk full or the directory read-only?)");
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Removes "<name>.tmp.XXXXXX" files left beside `path` by a save that was killed (kill -9, power
// loss) before it could clean up.  Called after a successful save.
inline void remove_stale_temporaries(const std::string& directory, const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR* dir = ::opendir(directory.c_str());
  if (!dir) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0) {
      ::unlink((directory + "/" + name).c_str());
    }
  }
  ::closedir(dir);
}

}  // namespace file_detail

// Writes `bytes` to `path` atomically: temp file beside it, fsync, rename, fsync the directory.
// On any error the temp file is removed, `path` is untouched, and charlstm::error is thrown.
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
  using file_detail::write_all;
  std::string temp = path + ".tmp.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    throw error("cannot create a temporary file beside '" + path + "': " + std::strerror(errno) +
                " (does the directory exist and is it writable?)");
  }
  temp = name.data();
  try {
    write_all(fd, bytes.data(), bytes.size(), path);
    if (::fsync(fd) != 0)
      throw error("cannot flush '" + path + "' to disk: " + std::strerror(errno));
    ::fchmod(fd, 0644);
    if (::close(fd) != 0) {
      ::unlink(temp.c_str());
      throw error("cannot close '" + path + "': " + std::strerror(errno));
    }
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    throw error("cannot rename the temporary file over '" + path + "': " + why);
  }
  const std::string directory = directory_of(path);
  const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  file_detail::remove_stale_temporaries(directory, path);
}

// A file opened for appending: each write_line is one write(2) on an O_APPEND descriptor, so a
// crash leaves at worst a torn last line.  Opening truncates the file to `keep` bytes (0: empty).
//   append_file log;  log.open("m.metrics.csv", 0);  log.write_line("step,epoch\n");
// Pitfall: `keep` must not exceed the file's size (ftruncate would pad it with NUL bytes).
class append_file {
 public:
  append_file() = default;
  append_file(const append_file&) = delete;
  append_file& operator=(const append_file&) = delete;
  ~append_file() {
    if (fd_ >= 0) ::close(fd_);
  }

  void open(const std::string& path, std::size_t keep) {
    if (fd_ >= 0) ::close(fd_);
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    require(fd_ >= 0, "cannot open '" + path + "' for writing: " + std::strerror(errno) +
                          " (does the directory exist and is it writable?)");
    require(::ftruncate(fd_, static_cast<off_t>(keep)) == 0,
            "cannot truncate '" + path + "': " + std::strerror(errno));
  }

  // Appends `line` (newline included) in one write.
  void write_line(const std::string& line) {
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      require(n > 0,
              "cannot write '" + path_ + "': " + std::strerror(errno) + " (is the disk full?)");
      done += static_cast<std::size_t>(n);
    }
  }

  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace charlstm
