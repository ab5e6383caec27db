// Out of memory for real: the tool runs under an address-space limit (`ulimit -v`) with a model
// that passes its up-front memory check (the machine has the memory) but cannot be allocated
// under the limit, so an allocation really fails.  The tool must say what it was doing and which
// flag to lower, exit non-zero and write no file.  Not built under ASan (tests/CMakeLists.txt):
// ASan reserves terabytes of address space for its shadow memory, so no process can start under
// such a limit.
#include <dirent.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "support/run.hpp"

using test_support::quote;
using test_support::temp_dir;

namespace {

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(d);
  return names;
}

}  // namespace

TEST_CASE("A failed allocation names what was done and the flag to lower, and writes nothing",
          "[out_of_memory]") {
  const temp_dir dir;
  test_support::write_text(dir / "corpus.txt", test_support::small_corpus());
  // --hidden 4096: about 0.8 GB to train (the up-front check passes on any machine with 1 GB),
  // and its first buffer alone, the parameters (4 * 4096 * (4096 + V + 1) floats), is 0.27 GB:
  // more than the 256 MB of address space the tool is given.
  const std::string args = "train --corpus " + quote(dir / "corpus.txt") +
                           " --hidden 4096 --batch 2 --seq-len 10 --epochs 1 --threads 1" +
                           " --sample-length 0 --out " + quote(dir / "model.safetensors");
  const test_support::run_result r = test_support::run_cli(args, "ulimit -v 262144;");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  // One line: what it was doing, with the sizes, and the flags that size it.
  CHECK(r.err ==
        "charlstm: error: out of memory while training (--hidden 4096, --layers 1, --batch 2, "
        "--seq-len 10, --threads 1): lower --hidden, --batch or --seq-len\n");
  // Not the up-front check's refusal: the allocation itself failed.
  CHECK_THAT(r.err, !Catch::Contains("needs about"));
  // No checkpoint, log or temporary written: the directory holds the corpus and the run's lock
  // (which a run takes before any work, and which holds no data).
  CHECK(entries(dir.path) == std::set<std::string>{"corpus.txt", "model.safetensors.lock"});
  CHECK(test_support::count_temporaries(dir.path) == 0);
}
