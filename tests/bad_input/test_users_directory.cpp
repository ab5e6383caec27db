// A user's directory and the mistakes real users make in it (issue 12): notes, a corpus, a trained
// model with its logs, a symlink, a FIFO, a device node (a copy of /dev/full made with mknod) and
// a subdirectory.  After every misuse the exit code and the message are asserted, and so is that
// every entry of the directory has the same inode, kind and bytes as before, and that no entry
// appeared or went: nothing of the user's is ever overwritten.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <charlstm/checkpoint.hpp>
#include <charlstm/run/metrics_format.hpp>
#include <map>
#include <string>
#include <vector>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::run_result;
using test_support::temp_dir;
using test_support::write_text;

namespace {

const std::string tiny =
    " --maxlen 20 --step 3 --hidden 8 --batch 32 --sample-length 0 --threads 1 --epochs 1";

// What a directory entry is: its inode and kind, and its bytes (a regular file) or its target
// (a symlink).  Devices and FIFOs are never read.
struct entry {
  ino_t inode = 0;
  mode_t mode = 0;
  dev_t device = 0;
  std::string content;
  bool operator==(const entry& o) const {
    return inode == o.inode && mode == o.mode && device == o.device && content == o.content;
  }
};

std::map<std::string, entry> snapshot(const std::string& dir) {
  std::map<std::string, entry> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    entry x{st.st_ino, st.st_mode, st.st_rdev, ""};
    if (S_ISREG(st.st_mode)) x.content = charlstm::read_file_bytes(path);
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlink(path.c_str(), target, sizeof target);
      x.content = std::string(target, n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    out[name] = x;
  }
  ::closedir(d);
  return out;
}

// The entries that differ, appeared or went, as text ("" if none).
std::string differences(const std::map<std::string, entry>& before,
                        const std::map<std::string, entry>& after) {
  std::string diff;
  for (const auto& kv : before) {
    const auto it = after.find(kv.first);
    if (it == after.end()) {
      diff += kv.first + " went; ";
    } else if (!(it->second == kv.second)) {
      diff += kv.first + (it->second.inode != kv.second.inode ? " was replaced (new inode); "
                                                               : " changed; ");
    }
  }
  for (const auto& kv : after) {
    if (!before.count(kv.first)) diff += kv.first + " appeared; ";
  }
  return diff;
}

// The user's directory.  The model is trained here once, so that its logs and lock exist too.
struct user_directory {
  temp_dir dir;
  std::map<std::string, entry> before;

  user_directory() {
    write_text(dir / "notes.txt", "Buy milk.\nCall the bank about the loan.\n");
    write_text(dir / "corpus.txt", test_support::small_corpus());
    const run_result r = run_cli("train --corpus " + quote(dir / "corpus.txt") + tiny +
                                 " --out " + quote(dir / "model.safetensors"));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(::symlink("notes.txt", (dir / "link").c_str()) == 0);
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0644) == 0);
    // /dev/full's major and minor: every write fails with ENOSPC.  Needs root (CI runs as root).
    INFO("mknod needs root: run the tests as root");
    REQUIRE(::mknod((dir / "full").c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0);
    REQUIRE(::mkdir((dir / "sub").c_str(), 0755) == 0);
    before = snapshot(dir.path);
  }
  std::string operator/(const std::string& name) const { return dir / name; }
  std::string q(const std::string& name) const { return quote(dir / name); }

  // Runs `charlstm ARGS`; checks the exit code, that stderr holds each of `parts`, and that
  // nothing in the directory changed.
  run_result misuse(const std::string& args, int code, const std::vector<std::string>& parts,
                    const std::string& prefix = "", const std::string& binary = CHARLSTM_CLI) {
    const run_result r = run_cli(args, prefix, binary);
    INFO("charlstm " << args << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == code);
    for (const auto& part : parts) CHECK_THAT(r.err, Catch::Contains(part));
    if (code == 1) {
      // The error is one line, the last; train's progress may come before it on stderr (a run
      // that fails once training has started), any other command says nothing else.
      REQUIRE(!r.err.empty());
      const std::size_t before_last = r.err.rfind('\n', r.err.size() - 2);
      const std::string last = r.err.substr(before_last == std::string::npos ? 0 : before_last + 1);
      CHECK(last.rfind("charlstm: error: ", 0) == 0);
      CHECK(last.find('\n') == last.size() - 1);
      if (args.rfind("train ", 0) != 0) CHECK(last.size() == r.err.size());
    }
    CHECK(differences(before, snapshot(dir.path)).empty());
    return r;
  }

  // The same with stdout going to `target` (run_cli's own redirection would win over one in ARGS).
  void misuse_stdout(const std::string& args, const std::string& target,
                     const std::vector<std::string>& parts) {
    const temp_dir out;
    const int status = std::system((CHARLSTM_CLI " " + args + " </dev/null >" + target + " 2>" +
                                    quote(out / "err"))
                                       .c_str());
    const std::string err = charlstm::read_file_bytes(out / "err");
    INFO("charlstm " << args << " >" << target << "\nstderr: " << err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    for (const auto& part : parts) CHECK_THAT(err, Catch::Contains(part));
    CHECK(err.rfind("charlstm: error: ", 0) == 0);
    CHECK(err.find('\n') == err.size() - 1);
    CHECK(differences(before, snapshot(dir.path)).empty());
  }
};

}  // namespace

TEST_CASE("The corpus, the model being read and any input are never an output",
          "[bad_input][users_directory]") {
  user_directory u;
  u.misuse("train --corpus " + u.q("notes.txt") + tiny + " --out " + u.q("notes.txt"), 1,
           {"--out '" + u / "notes.txt" + "' is the input", "writing it would destroy it"});
  // --force replaces a file of another kind, never an input.
  u.misuse("train --corpus " + u.q("notes.txt") + tiny + " --force --out " + u.q("notes.txt"), 1,
           {"is the input"});
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 5 --out " +
               u.q("model.safetensors"),
           1, {"--out '" + u / "model.safetensors" + "' is the input"});
  u.misuse("report --model " + u.q("model.safetensors") + " --out " + u.q("model.safetensors"), 1,
           {"is the input"});
  // The model's own log is an input of report.
  u.misuse("report --model " + u.q("model.safetensors") + " --out " +
               u.q("model.safetensors.metrics.csv"),
           1, {"is the input"});
  // Through a symlink to the corpus.
  u.misuse("train --corpus " + u.q("notes.txt") + tiny + " --out " + u.q("link"), 1,
           {"--out '" + u / "link" + "' ->", "is the input"});
  // Through another name for the model (a hard link is the same inode).
  REQUIRE(::link((u / "model.safetensors").c_str(), (u / "model-alias").c_str()) == 0);
  u.before = snapshot(u.dir.path);
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 5 --out " +
               u.q("model-alias"),
           1, {"is the input"});
}

TEST_CASE("An existing file of another kind is replaced only with --force",
          "[bad_input][users_directory]") {
  user_directory u;
  u.misuse("train --corpus " + u.q("corpus.txt") + tiny + " --out " + u.q("notes.txt"), 1,
           {"--out '" + u / "notes.txt" + "' exists and is not a charlstm checkpoint",
            "choose another name, or pass --force to replace it"});
  // A symlink is followed: the check applies to notes.txt, and the link is never replaced.
  u.misuse("train --corpus " + u.q("corpus.txt") + tiny + " --out " + u.q("link"), 1,
           {"'" + u / "notes.txt" + "' exists and is not a charlstm checkpoint"});
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 5 --out " +
               u.q("model.best.safetensors"),
           1, {"exists and is a charlstm checkpoint", "--force"});
  u.misuse("report --model " + u.q("model.safetensors") + " --out " + u.q("notes.txt"), 1,
           {"exists and is not an HTML page", "--force"});

  // With --force, generate replaces the regular file behind the link; the link stays a link.
  const run_result r = run_cli("generate --model " + u.q("model.safetensors") +
                               " --length 5 --prime the --force --out " + u.q("link"));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const auto after = snapshot(u.dir.path);
  CHECK(after.at("link") == u.before.at("link"));
  CHECK(after.at("notes.txt").content.rfind("the", 0) == 0);
}

TEST_CASE("Devices and FIFOs are written through or refused, never replaced",
          "[bad_input][users_directory]") {
  user_directory u;
  for (const char* node : {"full", "fifo"}) {
    u.misuse("train --corpus " + u.q("corpus.txt") + tiny + " --out " + u.q(node), 1,
             {"--out '" + u / node + "' is a", "not a regular file", "give a file name"});
  }
  u.misuse("train --corpus " + u.q("corpus.txt") + tiny + " --out /dev/stdout", 1,
           {"is a stream"});
  // Written through: the device's ENOSPC is the command's error.
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 5 --out " + u.q("full"), 1,
           {"cannot write '" + u / "full" + "': No space left on device"});
  u.misuse("report --model " + u.q("model.safetensors") + " --out " + u.q("full"), 1,
           {"No space left on device"});
  // A FIFO with no reader is an error at once, not a hang.
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 5 --out " + u.q("fifo"), 1,
           {"a FIFO with no reader: start the reader first"});
  // /dev/stdout streams into whatever stdout is.
  const run_result r = run_cli("generate --model " + u.q("model.safetensors") +
                               " --length 7 --prime the --out /dev/stdout");
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("the", 0) == 0);
  CHECK(differences(u.before, snapshot(u.dir.path)).empty());
}

TEST_CASE("A bad --out is refused before any work", "[bad_input][users_directory]") {
  user_directory u;
  const std::string train = "train --corpus " + u.q("corpus.txt") + tiny + " --out ";
  auto no_work = [](const run_result& r) { CHECK(r.err.find("Epoch") == std::string::npos); };
  no_work(u.misuse(train + u.q("missing/m.safetensors"), 1,
                   {"the directory '" + u / "missing" + "' does not exist", "mkdir -p"}));
  no_work(u.misuse(train + u.q("sub"), 1, {"is a directory: give a file name inside it"}));
  no_work(u.misuse(train + u.q("sub/"), 1, {"names a directory"}));
  no_work(u.misuse(train + u.q(std::string(250, 'x')), 1,
                   {"the file name is 250 bytes long", "choose a shorter name"}));
  no_work(u.misuse(train + u.q("fifo/m"), 1, {"Not a directory"}));
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 5 --out " +
               u.q("missing/out.txt"),
           1, {"does not exist"});
  u.misuse("report --model " + u.q("model.safetensors") + " --out " + u.q("sub"), 1,
           {"is a directory"});
  // A directory that cannot be written (root runs the tool as nobody).
  ::chmod((u / "sub").c_str(), 0555);
  u.before = snapshot(u.dir.path);
  const auto user = test_support::unprivileged(u.dir);
  u.before = snapshot(u.dir.path);  // unprivileged() copied the binary in
  u.misuse("train --corpus " + u.q("corpus.txt") + tiny + " --out " + u.q("sub/m"), 1,
           {"cannot write into the directory '" + u / "sub" + "': Permission denied"},
           user.prefix, user.binary);
}

TEST_CASE("A run's files belong to it: whole-name logs, a lock, a failed start changes nothing",
          "[bad_input][users_directory]") {
  user_directory u;
  // A fresh start into the existing run that fails after its checks (corpus too short; the
  // learning rate diverges in the first epoch): the run's checkpoint, logs and lock are as they were.
  write_text(u / "short.txt", "too short");
  u.before = snapshot(u.dir.path);
  u.misuse("train --corpus " + u.q("short.txt") + tiny + " --out " + u.q("model.safetensors"), 1,
           {"fewer than maxlen + 1"});
  u.misuse("train --corpus " + u.q("corpus.txt") + tiny + " --lr 3e38 --clip-norm 0 --out " +
               u.q("model.safetensors"),
           1, {"training diverged", "was not overwritten"});

  // Names that differ after their last dot have their own logs.
  for (const char* name : {"lr0.01", "lr0.02"}) {
    const run_result r = run_cli("train --corpus " + u.q("corpus.txt") + tiny + " --out " +
                                 u.q(name));
    REQUIRE(r.exit_code == 0);
  }
  const auto after = snapshot(u.dir.path);
  for (const char* log : {"lr0.01.metrics.csv", "lr0.02.metrics.csv", "lr0.01.samples.jsonl",
                          "lr0.02.samples.jsonl", "lr0.01.lock", "lr0.02.lock"})
    CHECK(after.count(log) == 1);
  CHECK(after.count("lr0.metrics.csv") == 0);
  CHECK(!charlstm::read_metrics(u / "lr0.01.metrics.csv").empty());
  CHECK(!charlstm::read_metrics(u / "lr0.02.metrics.csv").empty());

  // Two trainings into one --out: the second is refused, naming the lock.
  write_text(u / "long.txt", test_support::small_corpus(200000));
  const pid_t first =
      test_support::spawn_cli("train --corpus " + u.q("long.txt") +
                                  " --hidden 32 --batch 16 --threads 1 --sample-length 0"
                                  " --epochs 50 --patience 0 --out " +
                                  u.q("busy.safetensors"),
                              u / "busy.out", u / "busy.err");
  // Once the first epoch is saved the run holds its lock and handles signals.
  for (int k = 0; k < 800 && ::access((u / "busy.safetensors").c_str(), F_OK) != 0; ++k)
    ::usleep(25000);
  REQUIRE(::access((u / "busy.safetensors").c_str(), F_OK) == 0);
  u.before = snapshot(u.dir.path);
  const run_result second = run_cli("train --corpus " + u.q("corpus.txt") + tiny + " --out " +
                                    u.q("busy.safetensors"));
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Catch::Contains("the run '" + u / "busy.safetensors" + "' is in use") &&
                             Catch::Contains("holds the lock '" + u / "busy.safetensors.lock" +
                                             "'"));
  ::kill(first, SIGTERM);
  CHECK(test_support::wait_exit_code(first) == 128 + SIGTERM);
  CHECK_THAT(charlstm::read_file_bytes(u / "busy.err"),
             Catch::Contains("terminated (SIGTERM): the checkpoint") &&
                 Catch::Contains("charlstm train --resume " + u / "busy.safetensors"));
  charlstm::checkpoint_info info;
  CHECK_NOTHROW(charlstm::load_checkpoint<float>(u / "busy.safetensors", info));
}

TEST_CASE("Inputs are bounded: FIFOs time out, endless devices and huge sizes are refused",
          "[bad_input][users_directory]") {
  user_directory u;
  const std::string quick = "CHARLSTM_INPUT_TIMEOUT=1";
  u.misuse("train --corpus " + u.q("fifo") + tiny + " --out " + u.q("model.safetensors"), 1,
           {"the corpus '" + u / "fifo" + "' is a FIFO (pipe) and gave no data for 1 s",
            "CHARLSTM_INPUT_TIMEOUT"},
           quick);
  u.misuse("generate --model " + u.q("fifo") + " --length 5", 1, {"gave no data for 1 s"},
           quick);
  u.misuse("eval --model " + u.q("model.safetensors") + " --corpus " + u.q("fifo"), 1,
           {"gave no data"}, quick);
  for (const char* device : {"/dev/zero", "/dev/urandom"}) {
    u.misuse(std::string("stats --corpus ") + device, 1,
             {std::string("the corpus '") + device + "' is a character device that gave more " +
                  "than 64 MiB",
              "save the data to a file"});
  }
  // A pipe is read to its end: `cat corpus | charlstm stats --corpus /dev/stdin` works.
  const int piped = std::system(("cat " + u.q("corpus.txt") + " | " CHARLSTM_CLI
                                 " stats --corpus /dev/stdin >" + u.q("stats.out"))
                                    .c_str());
  CHECK(piped == 0);
  CHECK_THAT(charlstm::read_file_bytes(u / "stats.out"),
             Catch::Contains("Length: " + std::to_string(test_support::small_corpus().size())));
  u.before = snapshot(u.dir.path);

  // Sizes from flags, checked before allocating: a message naming the flags, not std::bad_alloc.
  u.misuse("train --corpus " + u.q("corpus.txt") + " --maxlen 20 --sample-length 0 --epochs 1" +
               " --threads 1 --hidden 16384 --layers 16 --out " + u.q("model.safetensors"),
           1,
           {"training a model of ", "--hidden 16384, --layers 16, --batch 128, --seq-len 100",
            "needs about", "more than this machine's", "lower --hidden, --batch or --seq-len"});
  u.misuse("generate --model " + u.q("model.safetensors") +
               " --num-samples 4096 --temperature 0.5,1.0",
           1, {"--num-samples 4096 times 2 temperatures is 8192 samples, more than 4096"});
  u.misuse("generate --model " + u.q("model.safetensors") +
               " --num-samples 1000 --length 100000",
           1, {"at most 10000000 tokens in all", "lower --length or --num-samples"});
  u.misuse("generate --model " + u.q("model.safetensors") + " --length 100000001", 1,
           {"--length must be in [1, 100000000]"});
}

TEST_CASE("Output errors are errors, and a closed pipe is quiet and successful",
          "[bad_input][users_directory]") {
  user_directory u;
  u.misuse_stdout("generate --model " + u.q("model.safetensors") + " --length 50", "/dev/full",
                  {"cannot write to standard output: No space left on device"});
  u.misuse_stdout("stats --corpus " + u.q("corpus.txt"), "/dev/full",
                  {"cannot write to standard output: No space left on device"});
  u.misuse_stdout("eval --model " + u.q("model.safetensors") + " --corpus " + u.q("corpus.txt"),
                  u.q("full"), {"cannot write to standard output: No space left on device"});
  // `| head`: generation stops when the reader goes, exit 0 and nothing on stderr but the speed.
  const std::string command = "bash -c " + quote("set -o pipefail; " CHARLSTM_CLI
                                                 " generate --model " + u.q("model.safetensors") +
                                                 " --length 10000000 2>" + u.q("pipe.err") +
                                                 " | head -c 10 >/dev/null");
  const int status = std::system(command.c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(charlstm::read_file_bytes(u / "pipe.err").find("error") == std::string::npos);
}
