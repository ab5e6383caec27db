// Nothing lost: Ctrl-C saves and says how to resume; kill -9 at any moment leaves the previous
// checkpoint loadable; stale temporary files go away with the next save; a save that fails
// (file size limit, read-only directory) keeps the previous checkpoint and training goes on;
// a diverging run stops before it writes a non-finite weight; the same seed and thread count
// give the same bytes.
#include <dirent.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <charlstm/checkpoint.hpp>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "support/run.hpp"

using test_support::count_temporaries;
using test_support::quote;
using test_support::temp_dir;

namespace {

std::string corpus_text() {
  std::string text;
  for (int k = 0; text.size() < 20000; ++k) {
    text += k % 2 ? "Whoever fights monsters should see to it that he does not become one.\n"
                  : "And if you gaze long into an abyss, the abyss also gazes into you.\n";
  }
  return text;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE(
    "Ctrl-C, SIGTERM, SIGHUP and SIGUSR1 finish the step, save, say how to resume, exit 128 + "
    "signal",
    "[reliability]") {
  // SIGTERM: kill, docker stop, Slurm; SIGHUP: a closed terminal or ssh session; SIGUSR1: a batch
  // system's warning (mpirun forwards it).
  const int signal = GENERATE(SIGINT, SIGTERM, SIGHUP, SIGUSR1);
  const std::string reason = signal == SIGINT    ? "interrupted:"
                             : signal == SIGTERM ? "terminated (SIGTERM):"
                             : signal == SIGHUP  ? "hung up (SIGHUP):"
                                                 : "asked to stop (SIGUSR1):";
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", corpus_text());
  const std::string model = dir / "m.safetensors";
  const pid_t pid = test_support::spawn_cli(
      "train --corpus " + quote(dir / "corpus.txt") +
          " --maxlen 40 --hidden 64 --batch 16 --epochs 1000 --patience 0 --sample-length 0"
          " --threads 1 --out " +
          quote(model),
      dir / "out", dir / "err");
  // Interrupt once training has started (the handler is installed before the first epoch).
  for (int waited = 0; waited < 60000; waited += 50) {
    if (::access((dir / "err").c_str(), R_OK) == 0 &&
        charlstm::read_file_bytes(dir / "err").find("Epoch 1/") != std::string::npos) {
      break;
    }
    sleep_ms(50);
  }
  sleep_ms(300);
  ::kill(pid, signal);
  const int code = test_support::wait_exit_code(pid);
  const std::string err = charlstm::read_file_bytes(dir / "err");
  INFO(err);
  CHECK(code == 128 + signal);
  CHECK_THAT(err, Catch::Contains(reason + " the checkpoint " + model) &&
                      Catch::Contains("charlstm train --resume " + model));
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::load_checkpoint<float>(model, info, opt);
  CHECK(opt.steps > 0);
  CHECK(count_temporaries(dir.path) == 0);
  // It resumes where it stopped.
  const auto resumed =
      test_support::run_cli("train --resume " + quote(model) + " --epochs 1000 --max-steps " +
                            std::to_string(opt.steps + 3) + " --threads 1");
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  charlstm::checkpoint_info after;
  charlstm::optimizer_state<float> after_opt;
  charlstm::load_checkpoint<float>(model, after, after_opt);
  CHECK(after_opt.steps == opt.steps + 3);
}

namespace {

// The names of the unfinished saves of `model` in `dir` ("<name>.tmp.XXXXXX").
std::set<std::string> temporaries_of(const std::string& dir, const std::string& model) {
  const std::string prefix = model.substr(model.rfind('/') + 1) + ".tmp.";
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  while (const dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).rfind(prefix, 0) == 0) names.insert(e->d_name);
  }
  ::closedir(d);
  return names;
}

struct file_id {
  ino_t inode = 0;
  off_t size = -1;
};
file_id stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, st.st_size};
}

}  // namespace

TEST_CASE("kill -9 during a save never damages the last checkpoint", "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", corpus_text().substr(0, 3000));
  const std::string model = dir / "m.safetensors";
  // Short epochs (13 window-mode steps of 5 characters) and a 9 MB checkpoint, so that the
  // process spends much of its time saving.
  const std::string args =
      "train --corpus " + quote(dir / "corpus.txt") +
      " --mode window --maxlen 5 --step 30 --hidden 512 --batch 8 --epochs 100000 --sample-length 0"
      " --threads 1 --val-fraction 0 --out " +
      quote(model);
  REQUIRE(test_support::run_cli(args.substr(0, args.find("--epochs")) + "--epochs 1" +
                                args.substr(args.find(" --sample-length")))
              .exit_code == 0);
  const off_t full_size = stat_file(model).size;
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::load_checkpoint<float>(model, info, opt);
  long steps = static_cast<long>(opt.steps);
  // Each round resumes, waits until the run has replaced the checkpoint once (the rename of its
  // first save gives the file a new inode) and has begun its next save (a temporary file that
  // was not there before), then kills it 0 to 2 ms into that save.  The temporary still being
  // there after the process is dead proves the kill landed inside the save (only the save's own
  // rename, or a later save, removes it); its size says how far the write had come.  A kill that
  // came after a (fast) save is counted apart and another round runs, up to 60.
  const int wanted = 20;
  int rounds = 0, during_save = 0, advanced = 0, partial = 0;
  while (during_save < wanted && rounds < 60) {
    ++rounds;
    const std::set<std::string> stale = temporaries_of(dir.path, model);
    const ino_t first_inode = stat_file(model).inode;
    const pid_t pid =
        test_support::spawn_cli(args + " --resume " + quote(model), dir / "out", dir / "err");
    bool replaced = false;
    std::string saving;
    for (int polls = 0; polls < 600000 && saving.empty(); ++polls) {  // at most 2 minutes
      if (!replaced) {
        replaced = stat_file(model).inode != first_inode;
      } else {
        for (const std::string& name : temporaries_of(dir.path, model)) {
          if (!stale.count(name)) saving = name;
        }
      }
      if (saving.empty()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500 * (rounds % 5)));
    ::kill(pid, SIGKILL);
    test_support::wait_exit_code(pid);
    INFO("round " << rounds << ": " << charlstm::read_file_bytes(dir / "err"));
    REQUIRE(replaced);
    REQUIRE(!saving.empty());
    const off_t left = stat_file(dir / saving).size;
    during_save += left >= 0;
    partial += left >= 0 && left < full_size;
    // The checkpoint loads, and holds at least the steps of this round's first save.
    long now = -1;
    CHECK_NOTHROW(charlstm::load_checkpoint<float>(model, info, opt));
    now = static_cast<long>(opt.steps);
    advanced += now > steps;
    steps = now;
  }
  INFO(rounds << " rounds: " << during_save << " kills inside a save (" << partial
              << " before its last byte was written), " << advanced
              << " rounds advanced the checkpoint");
  CHECK(during_save == wanted);
  CHECK(advanced == rounds);
  // One clean save removes whatever temporaries the kills left.
  CHECK(count_temporaries(dir.path) > 0);
  auto m = charlstm::load_checkpoint<float>(model, info);
  charlstm::save_checkpoint(model, m, info);
  CHECK(count_temporaries(dir.path) == 0);
}

namespace {

// Tiny settings: an epoch takes milliseconds.
std::string tiny_train(const temp_dir& dir) {
  return "train --corpus " + quote(dir / "corpus.txt") +
         " --maxlen 20 --hidden 8 --batch 32 --sample-length 0 --threads 1 --val-fraction 0";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("A save past the file size limit warns, trains on, and fails clearly at the end",
          "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus());
  const std::string model = dir / "m.safetensors";
  REQUIRE(test_support::run_cli(tiny_train(dir) + " --epochs 1 --out " + quote(model)).exit_code ==
          0);
  const std::string before = charlstm::read_file_bytes(model);
  REQUIRE(before.size() > 8 * 1024);
  // `ulimit -f 8`: writes past 8 KiB fail with EFBIG (the tool ignores SIGXFSZ, which would
  // otherwise kill it).  Epoch 2's save fails and training goes on; epoch 3's is the last.
  const auto r = test_support::run_cli(
      "train --resume " + quote(model) + " --epochs 3 --sample-length 0 --threads 1",
      "ulimit -f 8;");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err,
             Catch::Contains("charlstm: warning: cannot write '" + model + "': File too large") &&
                 Catch::Contains("training continues and the next epoch tries to save again"));
  CHECK_THAT(r.err,
             Catch::Contains("charlstm: error: cannot write '" + model + "': File too large") &&
                 Catch::Contains(model + " keeps the last good checkpoint") &&
                 Catch::Contains("charlstm train --resume " + model + " --epochs 3"));
  CHECK_THAT(r.err, Catch::Contains("Epoch 3/3"));
  CHECK(r.err.find("saved ") == std::string::npos);
  CHECK(charlstm::read_file_bytes(model) == before);
  CHECK(count_temporaries(dir.path) == 0);
  // Without a previous checkpoint, the message says so.
  const auto fresh = test_support::run_cli(
      tiny_train(dir) + " --epochs 1 --out " + quote(dir / "new.safetensors"), "ulimit -f 8;");
  CHECK(fresh.exit_code == 1);
  CHECK_THAT(fresh.err, Catch::Contains("File too large") &&
                            Catch::Contains("fix the cause or choose another --out"));
  CHECK_FALSE(exists(dir / "new.safetensors"));
  CHECK(count_temporaries(dir.path) == 0);
}

TEST_CASE("A read-only directory: the old checkpoint stays, and a later save succeeds",
          "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus());
  const std::string model = dir / "m.safetensors";
  REQUIRE(test_support::run_cli(tiny_train(dir) + " --epochs 1 --out " + quote(model)).exit_code ==
          0);
  const std::string before = charlstm::read_file_bytes(model);
  charlstm::checkpoint_info info;
  charlstm::optimizer_state<float> opt;
  charlstm::load_checkpoint<float>(model, info, opt);
  const long steps_before = opt.steps;
  // The directory is not writable by the user who trains (root runs the tool as `nobody`).
  const auto user = test_support::unprivileged(dir);
  ::chmod(dir.path.c_str(), 0555);
  const std::string resume = "train --resume " + quote(model) + " --sample-length 0 --threads 1";
  // Found before any work: the output is checked first.
  const auto last = test_support::run_cli(resume + " --epochs 2", user.prefix, user.binary);
  INFO(last.out << last.err);
  CHECK(last.exit_code == 1);
  CHECK_THAT(last.err, Catch::Contains("cannot write into the directory '" + dir.path +
                                       "': Permission denied"));
  CHECK(last.err.find("Epoch") == std::string::npos);
  CHECK(charlstm::read_file_bytes(model) == before);
  CHECK(count_temporaries(dir.path) == 0);

  // A long run whose directory turns read-only once it trains: the saves fail with a warning;
  // once the directory is writable again, the model still in memory is saved (here by Ctrl-C,
  // which saves and exits).  "Epoch" is on stderr, unbuffered.
  ::chmod(dir.path.c_str(), 0777);
  const temp_dir logs;
  const pid_t pid = test_support::spawn_cli(resume + " --epochs 100000 --patience 0", logs / "out",
                                            logs / "err", user.prefix, user.binary);
  for (int waited = 0; waited < 60000 && !(exists(logs / "err") &&
                                           charlstm::read_file_bytes(logs / "err").find("Epoch") !=
                                               std::string::npos);
       waited += 20)
    sleep_ms(20);
  ::chmod(dir.path.c_str(), 0555);
  bool warned = false;
  for (int waited = 0; waited < 60000 && !warned; waited += 20) {
    sleep_ms(20);
    warned = exists(logs / "err") &&
             charlstm::read_file_bytes(logs / "err").find("the next epoch tries to save again") !=
                 std::string::npos;
  }
  CHECK(warned);
  ::chmod(dir.path.c_str(), 0777);
  sleep_ms(100);
  ::kill(pid, SIGINT);
  const int code = test_support::wait_exit_code(pid);
  INFO(charlstm::read_file_bytes(logs / "err"));
  CHECK(code == 130);
  charlstm::load_checkpoint<float>(model, info, opt);
  CHECK(opt.steps > steps_before);
  CHECK(count_temporaries(dir.path) == 0);
}

TEST_CASE("A huge learning rate trips the divergence guard and the checkpoint stays finite",
          "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus());
  const std::string model = dir / "m.safetensors";
  REQUIRE(test_support::run_cli(tiny_train(dir) + " --epochs 1 --out " + quote(model)).exit_code ==
          0);
  const std::string before = charlstm::read_file_bytes(model);
  // RMSprop moves each weight by about lr per step: 1e37 overflows the loss within two steps,
  // 3e38 the weights in one.
  for (const char* lr : {"1e37", "3e38"}) {
    const auto r = test_support::run_cli("train --resume " + quote(model) +
                                         " --epochs 3 --sample-length 0 --threads 1 --lr " + lr);
    INFO(lr << "\n" << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(std::regex_search(r.err, std::regex("charlstm: error: training diverged at step \\d+ "
                                              "\\((the mean loss is (inf|nan)|the weights or "
                                              "RMSprop's state are no longer finite)\\)")));
    CHECK_THAT(r.err, Catch::Contains(model + " was not overwritten and keeps the last good "
                                              "checkpoint: lower --lr or set --clip-norm"));
    CHECK(charlstm::read_file_bytes(model) == before);
    charlstm::checkpoint_info info;
    charlstm::optimizer_state<float> opt;
    const auto m = charlstm::load_checkpoint<float>(model, info, opt);
    CHECK(m.params.all_finite());
    CHECK(opt.all_finite());
  }
  // From scratch: nothing is written at all.
  const auto fresh = test_support::run_cli(tiny_train(dir) + " --epochs 2 --lr 3e38 --out " +
                                           quote(dir / "new.safetensors"));
  CHECK(fresh.exit_code == 1);
  CHECK_THAT(fresh.err, Catch::Contains("the weights or RMSprop's state are no longer finite") &&
                            Catch::Contains("nothing was saved"));
  CHECK_FALSE(exists(dir / "new.safetensors"));
  CHECK(count_temporaries(dir.path) == 0);
}

TEST_CASE("Same seed and threads: identical checkpoints, samples and generated text",
          "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus());
  // Two independent processes; the per-epoch samples are part of what must repeat.
  auto train = [&](const std::string& name, const std::string& seed) {
    return test_support::run_cli("train --corpus " + quote(dir / "corpus.txt") +
                                 " --mode window --maxlen 20 --hidden 16 --batch 16 --epochs 2"
                                 " --max-steps 30"
                                 " --sample-length 40 --threads 2 --seed " +
                                 seed + " --out " + quote(dir / name));
  };
  const auto a = train("a.safetensors", "7"), b = train("b.safetensors", "7");
  const auto c = train("c.safetensors", "8");
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  REQUIRE(c.exit_code == 0);
  // Everything but the timings (on the progress lines, and the timed lines a slow machine
  // prints) and the output path.  All of it is on stderr: stdout stays empty.
  auto without_timings = [](const std::string& out) {
    const std::string untimed =
        std::regex_replace(std::regex_replace(out, std::regex(" - \\d+s \\d+ms/step"), ""),
                           std::regex("epoch \\d+/\\d+ - batch [^\\n]*\\n"), "");
    return std::regex_replace(untimed, std::regex("[abc](\\.best)?\\.safetensors"), "X");
  };
  CHECK(without_timings(a.err) == without_timings(b.err));
  CHECK_THAT(a.err, Catch::Contains("------ temperature: 1.2"));
  CHECK(a.out.empty());
  charlstm::checkpoint_info ia, ib, ic;
  charlstm::optimizer_state<float> oa, ob, oc;
  const auto ma = charlstm::load_checkpoint<float>(dir / "a.safetensors", ia, oa);
  const auto mb = charlstm::load_checkpoint<float>(dir / "b.safetensors", ib, ob);
  const auto mc = charlstm::load_checkpoint<float>(dir / "c.safetensors", ic, oc);
  CHECK(oa.steps == 30);
  CHECK(ma.params.data == mb.params.data);  // bit-identical
  CHECK(oa.moments[0].data == ob.moments[0].data);
  CHECK(ma.params.data != mc.params.data);  // the seed matters, so the check above could fail
  for (const char* mode : {"--stateful", "--window"}) {
    auto generate = [&](const std::string& name) {
      return test_support::run_cli(std::string("generate --length 200 --seed 3 ") + mode +
                                   " --model " + quote(dir / name));
    };
    const auto ga = generate("a.safetensors"), gb = generate("b.safetensors");
    REQUIRE(ga.exit_code == 0);
    CHECK(ga.out == gb.out);
    CHECK(ga.out.size() > 200);
  }
}
