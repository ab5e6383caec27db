// Step time of data-parallel training across MPI ranks, and how much of it is spent combining
// the gradients: K steps of batch_trainer on real Nietzsche batches (lowercased, 57 symbols),
// the reducer wrapped in a decorator that times every reduce().  One JSON line from rank 0:
// seconds per step (step_s), inside reduce() (reduce_s, mean over ranks; reduce_s_rank_max),
// waiting at a barrier before it for the slowest rank (wait_s, mean over ranks), and rank 0's
// CPU seconds per step, all its threads (cpu_s).
// Not a test: distributed.sh runs it under mpirun in several configurations.
//   bench_mpi --model book|recipe --reduce ordered|allreduce|none --threads T [--steps K]
//   mpirun -np 2 --bind-to none bench_mpi --model book --reduce ordered --threads 1
// book:   window mode, LSTM(128), maxlen 60, batch 128, RMSprop (the book's model)
// recipe: sequence mode, 2 x LSTM(384), batch 64 x 100 steps, Adam, dropout 0.4 (docs/results.md)
// --reduce none: one process alone (run it without mpirun), its threads' slices combined by
// thread_team_reducer on a team of its own as large as the trainer's.
#include <mpi.h>

#include <charlstm/charlstm.hpp>
#include <charlstm/mpi/allreduce_reducer.hpp>
#include <charlstm/mpi/reducer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

using idx = charlstm::index;  // not `index`: <strings.h>, reached through <mpi.h>, has one

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds of this process, all its threads: on a shared machine, what the work cost apart
// from waiting for a core.
double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Any reducer, timed.  Across ranks, a barrier first: its wait (`waiting`) is the ranks'
// skew, how much sooner one finished its slices than the slowest, so that `seconds`, the wall
// time of reduce() itself, is the combining alone.
class timed_reducer : public charlstm::gradient_reducer<float> {
 public:
  timed_reducer(charlstm::gradient_reducer<float>& inner, bool across_ranks)
      : inner_(inner), across_ranks_(across_ranks) {}
  double seconds = 0, waiting = 0;

  charlstm::reduced_step<float> reduce(std::vector<charlstm::parameters<float>>& parts,
                                       const std::vector<float>& losses,
                                       const std::vector<idx>& sizes, idx B) override {
    if (across_ranks_) {
      const double arrived = now();
      MPI_Barrier(MPI_COMM_WORLD);
      waiting += now() - arrived;
    }
    const double start = now();
    const charlstm::reduced_step<float> r = inner_.reduce(parts, losses, sizes, B);
    seconds += now() - start;
    return r;
  }
  float reduce_loss(const std::vector<float>& losses, const std::vector<idx>& sizes,
                    idx B) override {
    return inner_.reduce_loss(losses, sizes, B);
  }
  charlstm::worker_slots slots(idx local) const override { return inner_.slots(local); }

 private:
  charlstm::gradient_reducer<float>& inner_;
  bool across_ranks_;
};

struct options {
  std::string model = "book", reduce = "ordered";
  idx threads = 1, steps = 20, warmup = 2;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") {
      o.model = value;
    } else if (flag == "--reduce") {
      o.reduce = value;
    } else if (flag == "--threads") {
      o.threads = std::atol(value.c_str());
    } else if (flag == "--steps") {
      o.steps = std::atol(value.c_str());
    } else if (flag == "--warmup") {
      o.warmup = std::atol(value.c_str());
    } else {
      throw charlstm::error("bench_mpi: unknown flag " + flag);
    }
  }
  charlstm::require(o.model == "book" || o.model == "recipe", "bench_mpi: --model book|recipe");
  charlstm::require(o.reduce == "ordered" || o.reduce == "allreduce" || o.reduce == "none",
                    "bench_mpi: --reduce ordered|allreduce|none");
  charlstm::require(o.steps >= 1 && o.warmup >= 0, "bench_mpi: --steps >= 1, --warmup >= 0");
  return o;
}

struct measured {
  idx params = 0;
  double step = 0, reduce = 0, wait = 0, cpu = 0;  // seconds per step, mean over timed steps
};

measured run(const options& o, charlstm::gradient_reducer<float>& inner) {
  const bool book = o.model == "book";
  const idx H = book ? 128 : 384, L = book ? 1 : 2, B = book ? 128 : 64, T = book ? 60 : 100;
  const std::u32string text = charlstm::load_text(CHARLSTM_DATA_DIR "/nietzsche.txt", true);
  const charlstm::char_vocabulary vocab(text);
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  charlstm::model<float> m(vocab.size(), H, 1, L);
  charlstm::optimizer_state<float> opt(
      book ? charlstm::optimizer_kind::rmsprop : charlstm::optimizer_kind::adam, m.params);
  if (!book) opt.set_learning_rate(0.004);
  timed_reducer timed(inner, o.reduce != "none");
  charlstm::batch_trainer<float> trainer(m, opt, o.threads, &timed);
  if (!book) trainer.dropout = 0.4;
  const charlstm::window_set windows = charlstm::make_windows(ids, T, 3);
  const charlstm::stream_set streams = charlstm::make_streams(ids, B, T);
  charlstm::layer_states<float> state;
  state.reset(L, H, B);
  std::vector<charlstm::token_id> batch_ids(static_cast<std::size_t>(T * B)),
      targets(static_cast<std::size_t>(book ? B : T * B));
  std::vector<idx> which(static_cast<std::size_t>(B));
  std::uint64_t seed = 1;  // every rank draws the same windows
  double start = 0, cpu_start = 0;
  for (idx s = 0; s < o.warmup + o.steps; ++s) {
    if (s == o.warmup) {
      MPI_Barrier(MPI_COMM_WORLD);
      start = now();
      cpu_start = cpu_now();
      timed.seconds = timed.waiting = 0;
    }
    if (book) {
      for (idx& w : which) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        w = static_cast<idx>((seed >> 33) % static_cast<std::uint64_t>(windows.size()));
      }
      charlstm::gather_batch(windows, which.data(), B, batch_ids.data(), targets.data());
      trainer.train_step(batch_ids.data(), targets.data(), T, B);
    } else {
      streams.gather(s % streams.batches(), batch_ids.data(), targets.data());
      trainer.train_step({batch_ids.data(), targets.data(), T, B, true, 0}, &state);
    }
  }
  const double cpu = cpu_now() - cpu_start;
  MPI_Barrier(MPI_COMM_WORLD);
  const double steps = static_cast<double>(o.steps);
  return {m.params.size(), (now() - start) / steps, timed.seconds / steps, timed.waiting / steps,
          cpu / steps};
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int status = 0;
  try {
    const options o = parse(argc, argv);
    charlstm::require(o.reduce != "none" || ranks == 1,
                      "bench_mpi: --reduce none is one process: run it without mpirun");
    std::unique_ptr<charlstm::thread_team> team;
    std::unique_ptr<charlstm::gradient_reducer<float>> reducer;
    if (o.reduce == "none") {
      team = std::make_unique<charlstm::thread_team>(o.threads);
      reducer = std::make_unique<charlstm::thread_team_reducer<float>>(*team);
    } else if (o.reduce == "ordered") {
      reducer = std::make_unique<charlstm::mpi_chain_reducer<float>>(MPI_COMM_WORLD, o.threads);
    } else {
      reducer = std::make_unique<charlstm::mpi_allreduce_reducer<float>>(MPI_COMM_WORLD, o.threads);
    }
    const measured mine = run(o, *reducer);
    double reduce_max = 0, reduce_sum = 0, wait_sum = 0;
    MPI_Reduce(&mine.reduce, &reduce_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&mine.reduce, &reduce_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&mine.wait, &wait_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      std::printf(
          "{\"model\": \"%s\", \"reduce\": \"%s\", \"ranks\": %d, \"threads\": %ld, "
          "\"steps\": %ld, \"parameters\": %ld, \"gradient_bytes\": %ld, \"step_s\": %.6f, "
          "\"reduce_s\": %.6f, \"reduce_s_rank_max\": %.6f, \"wait_s\": %.6f, \"cpu_s\": %.6f}\n",
          o.model.c_str(), o.reduce.c_str(), ranks, static_cast<long>(o.threads),
          static_cast<long>(o.steps), static_cast<long>(mine.params),
          static_cast<long>(mine.params * 4), mine.step, reduce_sum / ranks, reduce_max,
          wait_sum / ranks, mine.cpu);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_mpi (rank %d): %s\n", rank, e.what());
    status = 1;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return status;
}
