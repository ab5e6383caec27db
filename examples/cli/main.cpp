// charlstm: the command-line tool.  Train the book's model on any text, resume, generate,
// evaluate, report, and print a corpus's statistics.  Each subcommand's file adds its flags and
// runs it (cli.hpp's subcommand); this one parses, and reports usage errors (exit 2) and every
// charlstm::error as one line on stderr with a non-zero exit.  `charlstm --help` and
// `charlstm CMD --help` list the flags; docs/cli.md explains them.  Under mpirun (a build with
// -DCHARLSTM_MPI=ON) `train` runs as one process of the job (distributed.hpp); a failure on any
// process then ends the whole job.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "cli.hpp"
#include "distributed.hpp"
#include "memory.hpp"
#include "outputs.hpp"

using namespace cli;

namespace {

// `charlstm --version`: the version and the SIMD instruction set the kernels were compiled for
// (xsimd's default architecture, which -march=native picks from the build machine).
std::string version_text() {
  return std::string("charlstm ") + charlstm::version_string +
         "\nSIMD target: " + xsimd::default_arch::name() + " (xsimd " +
         std::to_string(XSIMD_VERSION_MAJOR) + "." + std::to_string(XSIMD_VERSION_MINOR) + ")" +
#ifdef CHARLSTM_HAVE_HTTPLIB
         "\nserve: yes (cpp-httplib)";
#else
         "\nserve: no (built without cpp-httplib: install libcpp-httplib-dev and rebuild)";
#endif
}

// A usage error (unknown flag, missing or malformed value): one line with the same prefix as
// every other error, a pointer to the help, and exit code 2 as shells and getopt use.
int usage_error(const CLI::App& app, const std::string& what) {
  std::string help = "charlstm --help";
  for (const CLI::App* sub : app.get_subcommands())
    help = "charlstm " + sub->get_name() + " --help";
  std::fflush(stdout);
  // Under mpirun every copy parsed the same command line: one message is enough.
  if (launch_rank() == 0) {
    std::fprintf(stderr, "charlstm: error: %s (see `%s`)\n", what.c_str(), help.c_str());
  }
  return 2;
}

// An error's line; under mpirun it names the process it happened on.
void print_error(const std::string& what) {
  std::fflush(stdout);
  if (mpi_launch_variable().empty()) {
    std::fprintf(stderr, "charlstm: error: %s\n", what.c_str());
  } else {
    std::fprintf(stderr, "charlstm: error: (rank %d) %s\n", launch_rank(), what.c_str());
  }
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  // Past `ulimit -f`, write() must fail with EFBIG so that a save reports it; by default
  // SIGXFSZ would kill the process instead.
  std::signal(SIGXFSZ, SIG_IGN);
  // A closed pipe (`| head`) is a write error that ends the command quietly, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"charlstm: train character-level LSTM language models and generate text"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text());
  app.set_help_all_flag("--help-all", "print the help of every subcommand");

  // Each subcommand's file adds its own flags (train.cpp, generate.cpp, ...).
  std::vector<subcommand> commands = {add_train(app), add_generate(app), add_eval(app),
                                      add_stats(app), add_report(app)};
#ifdef CHARLSTM_HAVE_HTTPLIB
  commands.push_back(add_serve(app));
#endif
  commands.push_back(add_completion(app));  // last: its script covers every subcommand above

  // CLI11 says only "A subcommand is required" for a misspelt one: name it and the choices.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      return usage_error(app, "unknown subcommand '" + std::string(argv[1]) + "' (" + names + ")");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with exit code 0 and their text on stdout.
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(app, e.what());
  }
  // N copies of a tool that does not train across processes would all write one --out.
  const std::string launched = mpi_launch_variable();
  if (!launched.empty() && !built_with_mpi()) {
    return usage_error(app, "started by an MPI launcher (" + launched +
                                "), but this charlstm does not train across processes (build it "
                                "with -DCHARLSTM_MPI=ON): run it without mpirun");
  }
  for (const subcommand& command : commands) {
    if (!command.app->parsed()) continue;
    if (!launched.empty() && command.app->get_name() != "train") {
      return usage_error(app, "started by an MPI launcher (" + launched + "), but only `train` "
                                  "runs across processes: run `" + command.app->get_name() +
                                  "` without mpirun");
    }
    if (const std::string problem = command.usage_problem(); !problem.empty()) {
      return usage_error(app, problem);
    }
    job_scope job(!launched.empty());
    try {
      return finish_stdout(command.run());
    } catch (const output_closed&) {
      return 0;  // the reader went away (`| head`): what it wanted was written
    } catch (const std::bad_alloc&) {
      print_error(out_of_memory_message());
      job.abort(1);
      return 1;
    } catch (const std::exception& e) {
      print_error(e.what());
      job.abort(1);
      return 1;
    }
  }
  return 1;
}
