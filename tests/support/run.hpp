// tests/support/run.hpp: runs the real `charlstm` binary and captures what it says, and makes
// throw-away directories for its files.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charlstm/file.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace test_support {

struct run_result {
  int exit_code = -1;
  std::string out, err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// A fresh empty directory under /tmp, removed with everything in it when this goes away.
struct temp_dir {
  std::string path;
  temp_dir() {
    char name[] = "/tmp/charlstm_test_XXXXXX";
    path = ::mkdtemp(name);
  }
  ~temp_dir() { std::system(("rm -rf " + quote(path)).c_str()); }
  std::string operator/(const std::string& file) const { return path + "/" + file; }
};

// `charlstm ARGS` with stdin from /dev/null; stdout and stderr are files, so not a terminal.
// `prefix` goes before the command in the shell: "ulimit -f 8;", or unprivileged(...).
inline run_result run_cli(const std::string& args, const std::string& prefix = "",
                          const std::string& binary = CHARLSTM_CLI) {
  const temp_dir dir;
  const std::string command = prefix + " " + binary + " " + args + " </dev/null >" +
                              quote(dir / "out") + " 2>" + quote(dir / "err");
  const int status = std::system(command.c_str());
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = charlstm::read_file_bytes(dir / "out");
  r.err = charlstm::read_file_bytes(dir / "err");
  return r;
}

// A run_cli prefix under which the tool finds the corpora by name (nietzsche, tinyshakespeare,
// moes_tavern) in the source tree's ../shared/data, wherever the test runs.
inline std::string with_data_dir() { return "CHARLSTM_DATA_DIR=" + quote(CHARLSTM_DATA_DIR); }

// Starts `charlstm ARGS` in the background with stdout and stderr in files; returns its pid.
inline pid_t spawn_cli(const std::string& args, const std::string& out, const std::string& err,
                       const std::string& prefix = "", const std::string& binary = CHARLSTM_CLI) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string command = "exec " + prefix + " " + binary + " " + args + " </dev/null >" +
                                quote(out) + " 2>" + quote(err);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits for pid; its exit code, or 128 + the signal that ended it.
inline int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Three sentences repeated to about `size` characters: a corpus that trains in milliseconds.
inline std::string small_corpus(std::size_t size = 4000) {
  std::string text;
  const char* lines[] = {"The quick brown fox jumps over the lazy dog.\n",
                         "Man is something that shall be overcome.\n",
                         "What does not kill me makes me stronger.\n"};
  for (int k = 0; text.size() < size; ++k) text += lines[k % 3];
  return text;
}

// How many "<name>.tmp.XXXXXX" files (unfinished or failed saves) are in `dir`.
inline int count_temporaries(const std::string& dir) {
  int n = 0;
  DIR* d = ::opendir(dir.c_str());
  while (const dirent* e = ::readdir(d))
    n += std::string(e->d_name).find(".tmp.") != std::string::npos;
  ::closedir(d);
  return n;
}

// Permission checks do not apply to root, and tests often run as root.  To meet a permission
// error honestly, root runs the tool as `nobody` (setpriv, util-linux); anyone else runs it as
// themselves.  The tool is copied into `dir` first, so that `nobody` can run it wherever the
// build tree is; `dir` becomes world-readable.  Returns {prefix for run_cli, binary}.
struct unprivileged_runner {
  std::string prefix, binary;
};
inline unprivileged_runner unprivileged(const temp_dir& dir) {
  ::chmod(dir.path.c_str(), 0755);
  if (::geteuid() != 0) return {"", CHARLSTM_CLI};
  const std::string binary = dir / "charlstm";
  std::system(("cp " + quote(CHARLSTM_CLI) + " " + quote(binary)).c_str());
  return {"setpriv --reuid=65534 --regid=65534 --clear-groups", binary};
}

}  // namespace test_support
