// Nothing lost: Ctrl-C saves and says how to resume; kill -9 at any moment leaves the previous
// checkpoint loadable; stale temporary files go away with the next save.
#include <dirent.h>

#include <catch2/catch.hpp>
#include <charlstm/checkpoint.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "support/run.hpp"

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

int count_temporaries(const std::string& dir) {
  int n = 0;
  DIR* d = ::opendir(dir.c_str());
  while (const dirent* e = ::readdir(d))
    n += std::string(e->d_name).find(".tmp.") != std::string::npos;
  ::closedir(d);
  return n;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE("Ctrl-C finishes the step, saves, says how to resume and exits 130", "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", corpus_text());
  const std::string model = dir / "m.safetensors";
  const pid_t pid = test_support::spawn_cli(
      "train --corpus " + quote(dir / "corpus.txt") +
          " --maxlen 40 --hidden 64 --batch 16 --epochs 1000 --sample-length 0 --threads 1 --out " +
          quote(model),
      dir / "out", dir / "err");
  // Interrupt once training has started (the handler is installed before the first epoch).
  for (int waited = 0; waited < 60000; waited += 50) {
    if (::access((dir / "out").c_str(), R_OK) == 0 &&
        charlstm::read_file_bytes(dir / "out").find("Epoch 1/") != std::string::npos) {
      break;
    }
    sleep_ms(50);
  }
  sleep_ms(300);
  ::kill(pid, SIGINT);
  const int code = test_support::wait_exit_code(pid);
  const std::string err = charlstm::read_file_bytes(dir / "err");
  INFO(err);
  CHECK(code == 130);
  CHECK_THAT(err,
             Catch::Contains("interrupted") && Catch::Contains("charlstm train --resume " + model));
  charlstm::checkpoint_info info;
  const auto m = charlstm::load_checkpoint<float>(model, info);
  CHECK(m.steps > 0);
  CHECK(count_temporaries(dir.path) == 0);
  // It resumes where it stopped.
  const auto resumed =
      test_support::run_cli("train --resume " + quote(model) + " --epochs 1000 --max-steps " +
                            std::to_string(m.steps + 3) + " --threads 1");
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  charlstm::checkpoint_info after;
  CHECK(charlstm::load_checkpoint<float>(model, after).steps == m.steps + 3);
}

TEST_CASE("kill -9 at any moment never damages the last checkpoint", "[reliability]") {
  temp_dir dir;
  test_support::write_text(dir / "corpus.txt", corpus_text().substr(0, 3000));
  const std::string model = dir / "m.safetensors";
  // Short epochs and a 9 MB checkpoint, so that the process spends much of its time saving.
  const std::string args =
      "train --corpus " + quote(dir / "corpus.txt") +
      " --maxlen 5 --step 30 --hidden 512 --batch 8 --epochs 100000 --sample-length 0"
      " --threads 1 --val-fraction 0 --out " +
      quote(model);
  REQUIRE(test_support::run_cli(args.substr(0, args.find("--epochs")) + "--epochs 1" +
                                args.substr(args.find(" --sample-length")))
              .exit_code == 0);
  int loaded = 0;
  for (int round = 0; round < 20; ++round) {
    const pid_t pid =
        test_support::spawn_cli(args + " --resume " + quote(model), dir / "out", dir / "err");
    sleep_ms(300 + (53 * round) % 400);
    ::kill(pid, SIGKILL);
    test_support::wait_exit_code(pid);
    charlstm::checkpoint_info info;
    CHECK_NOTHROW(charlstm::load_checkpoint<float>(model, info));
    ++loaded;
  }
  CHECK(loaded == 20);
  // One clean save removes whatever temporaries the kills left.
  charlstm::checkpoint_info info;
  auto m = charlstm::load_checkpoint<float>(model, info);
  charlstm::save_checkpoint(model, m, info);
  CHECK(count_temporaries(dir.path) == 0);
}
