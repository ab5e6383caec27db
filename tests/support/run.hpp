// tests/support/run.hpp: runs the real `charlstm` binary and captures what it says, and makes
// throw-away directories for its files.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charlstm/corpus.hpp>
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
inline run_result run_cli(const std::string& args) {
  const temp_dir dir;
  const std::string command = std::string(CHARLSTM_CLI) + " " + args + " </dev/null >" +
                              quote(dir / "out") + " 2>" + quote(dir / "err");
  const int status = std::system(command.c_str());
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = charlstm::read_file_bytes(dir / "out");
  r.err = charlstm::read_file_bytes(dir / "err");
  return r;
}

// Starts `charlstm ARGS` in the background with stdout and stderr in files; returns its pid.
inline pid_t spawn_cli(const std::string& args, const std::string& out, const std::string& err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string command = "exec " + std::string(CHARLSTM_CLI) + " " + args + " </dev/null >" +
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

}  // namespace test_support
