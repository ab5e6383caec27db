// The command-line tool's helpers: corpora by name (found at run time in $CHARLSTM_DATA_DIR,
// ../shared/data, beside the executable or in the cache, else downloaded and checked against
// its SHA-256), a corpus's files, and the temperature list.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include "cli.hpp"

namespace cli {

namespace {

struct named_corpus {
  const char* name;
  const char* file;
  const char* url;
  const char* sha256;
};

const named_corpus known_corpora[] = {
    {"nietzsche", "nietzsche.txt", "https://s3.amazonaws.com/text-datasets/nietzsche.txt",
     "8f140bcac6986db4b7930f9573ec18a74e10ad6084e31a13303cc654025ec33b"},
    {"tinyshakespeare", "tinyshakespeare.txt",
     "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
     "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"},
    {"moes_tavern", "moes_tavern_lines.txt",
     "https://raw.githubusercontent.com/udacity/deep-learning/master/tv-script-generation/data/"
     "simpsons/moes_tavern_lines.txt",
     "44eaf379f2368165d52d395329d0c639ef1a0036d5b7e2c0f0d3acfd657d7ed4"},
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Where a download goes: $CHARLSTM_DATA_DIR when set, else the user's cache directory.
std::string download_directory() {
  if (const char* dir = std::getenv("CHARLSTM_DATA_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/charlstm";
  }
  const char* home = std::getenv("HOME");
  require(home && *home,
          "neither CHARLSTM_DATA_DIR nor HOME is set: set CHARLSTM_DATA_DIR to a directory for "
          "corpora");
  return std::string(home) + "/.cache/charlstm";
}

// The directory of the running executable (from /proc/self/exe), or "" if it cannot be read.
std::string executable_directory() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string path(buf, static_cast<std::size_t>(n));
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string sha256_of(const std::string& path) {
  FILE* pipe = ::popen(("sha256sum " + shell_quote(path)).c_str(), "r");
  require(pipe != nullptr, "cannot run sha256sum");
  char buf[65] = {0};
  const std::size_t n = std::fread(buf, 1, 64, pipe);
  ::pclose(pipe);
  return std::string(buf, n);
}

}  // namespace

bool file_exists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

std::string resolve_corpus(const std::string& arg) {
  if (arg == charlstm::standard_input_name) return arg;
  const named_corpus* known = nullptr;
  for (const auto& c : known_corpora) {
    if (arg == c.name) known = &c;
  }
  if (!known) {
    // A path that exists goes on to the reader, which says why it cannot be read if it cannot.
    if (::access(arg.c_str(), F_OK) != 0) {
      throw charlstm::error("corpus '" + arg + "' is neither a readable file nor a known name " +
                            "(nietzsche, tinyshakespeare, moes_tavern): " + std::strerror(errno));
    }
    return arg;
  }
  // The documented search order (docs/cli.md, "Corpora by name"); nothing is baked in at build
  // time, so an installed binary finds the same files as one in the build tree.
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CHARLSTM_DATA_DIR"); env && *env) dirs.emplace_back(env);
  dirs.emplace_back("../shared/data");
  if (const std::string exe = executable_directory(); !exe.empty()) {
    dirs.push_back(exe + "/../share/charlstm/data");
  }
  const std::string dir = download_directory(), target = dir + "/" + known->file;
  if (dirs.front() != dir) dirs.push_back(dir);
  std::string looked;
  for (const std::string& d : dirs) {
    if (file_exists(d + "/" + known->file)) return d + "/" + known->file;
    looked += (looked.empty() ? "" : ", ") + d + "/" + known->file;
  }
  const std::string how_to_fix = "set CHARLSTM_DATA_DIR to a directory holding " +
                                 std::string(known->file) + ", or pass the file's path";
  if (const char* offline = std::getenv("CHARLSTM_OFFLINE"); offline && *offline) {
    throw charlstm::error("corpus '" + arg + "' was not found (looked in " + looked +
                          ") and CHARLSTM_OFFLINE is set, so it was not downloaded: " + how_to_fix);
  }
  std::cerr << "downloading " << known->name << " from " << known->url << " into " << dir << "\n";
  require(std::system(("mkdir -p " + shell_quote(dir)).c_str()) == 0, "cannot create " + dir);
  const std::string temp = target + ".download";
  const int rc =
      std::system(("curl -fsSL --retry 2 -o " + shell_quote(temp) + " " + known->url).c_str());
  if (rc != 0) {
    std::remove(temp.c_str());
    throw charlstm::error("corpus '" + arg + "' was not found (looked in " + looked +
                          ") and its download from " + known->url + " failed (curl exit " +
                          std::to_string(rc) + "): check the network, " + how_to_fix);
  }
  const std::string sum = sha256_of(temp);
  if (sum != known->sha256) {
    std::remove(temp.c_str());
    throw charlstm::error("downloaded " + std::string(known->name) + " has SHA-256 " + sum +
                          ", expected " + known->sha256 + ": the file was not kept");
  }
  require(std::rename(temp.c_str(), target.c_str()) == 0, "cannot move the download to " + target);
  return target;
}

std::vector<std::string> corpus_files(const std::vector<std::string>& arguments) {
  std::vector<std::string> resolved;
  for (const std::string& argument : arguments) resolved.push_back(resolve_corpus(argument));
  return charlstm::corpus_files(resolved);
}

std::vector<std::string> input_paths(const std::vector<std::string>& files) {
  std::vector<std::string> paths = files;
  for (std::string& path : paths) {
    if (path == charlstm::standard_input_name) path = "/dev/stdin";
  }
  return paths;
}

std::vector<double> parse_temperatures(const std::string& list, const std::string& flag) {
  std::vector<double> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double t = std::strtod(item.c_str(), &end);
    require(!item.empty() && end && *end == '\0', flag + ": '" + item + "' is not a number");
    charlstm::require_temperature(t);
    out.push_back(t);
  }
  require(!out.empty(), flag + ": give at least one value, e.g. 0.2,0.5,1.0,1.2");
  return out;
}

}  // namespace cli
