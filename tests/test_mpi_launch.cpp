// A tool built without MPI does not train across processes: started by an MPI launcher (N copies
// that would all write one --out), it refuses before touching anything.  The launchers are
// recognised by the environment they give each copy (tests/mpi runs the real mpirun when built
// with Open MPI).  In a build with MPI, CHARLSTM_SERIAL_CLI is the tool built without it
// (charlstm_serial), and the MPI tool refuses every subcommand but train under a launcher.
#include <catch2/catch.hpp>

#include "support/run.hpp"

#ifndef CHARLSTM_SERIAL_CLI
#define CHARLSTM_SERIAL_CLI CHARLSTM_CLI
#endif

using namespace test_support;

TEST_CASE("A tool started by an MPI launcher refuses to run and writes nothing", "[cli][mpi]") {
  const temp_dir dir;
  write_text(dir / "corpus.txt", std::string(2000, 'a'));
  for (const std::string variable :
       {"OMPI_COMM_WORLD_SIZE=2", "PMIX_RANK=0", "PMI_SIZE=4", "PMI_RANK=1"}) {
    CAPTURE(variable);
    const run_result r = run_cli("train --corpus " + quote(dir / "corpus.txt") +
                                     " --hidden 8 --epochs 1 --out " + quote(dir / "m.safetensors"),
                                 "env " + variable, CHARLSTM_SERIAL_CLI);
    CHECK(r.exit_code == 2);
    if (variable == "PMI_RANK=1") {
      CHECK(r.err.empty());  // every copy refuses; rank 0 alone says why
    } else {
      CHECK(r.err.find("charlstm: error: started by an MPI launcher (" + variable +
                       "), but this charlstm does not train across processes") == 0);
    }
    CHECK(r.out.empty());
    CHECK_FALSE(charlstm::file_exists(dir / "m.safetensors"));
  }
  // Control: the same command without the variable trains and writes the checkpoint.
  const run_result alone =
      run_cli("train --corpus " + quote(dir / "corpus.txt") +
              " --hidden 8 --batch 4 --seq-len 10 --epochs 1 --sample-length 0 --out " +
              quote(dir / "m.safetensors"));
  CHECK(alone.exit_code == 0);
  CHECK(charlstm::file_exists(dir / "m.safetensors"));
}

#ifdef CHARLSTM_MPI_CLI
TEST_CASE("Under an MPI launcher the MPI build runs only train", "[cli][mpi]") {
  const temp_dir dir;
  write_text(dir / "prime.txt", "abc");
  const run_result r = run_cli("stats --corpus " + quote(dir / "prime.txt"),
                               "env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("charlstm: error: started by an MPI launcher (OMPI_COMM_WORLD_SIZE=2), but "
                   "only `train` runs across processes: run `stats` without mpirun") == 0);
  CHECK(r.out.empty());
  // Control: alone, the same command runs.
  CHECK(run_cli("stats --corpus " + quote(dir / "prime.txt")).exit_code == 0);
}
#endif
