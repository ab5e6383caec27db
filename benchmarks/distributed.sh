#!/usr/bin/env bash
# Data-parallel training on this machine: one process of 2 threads against 2 ranks of 1 thread
# over shared memory, over TCP on loopback, and as two "hosts" (127.0.0.2 and 127.0.0.3, a
# hostfile and a stand-in for ssh), for the book's model and the 2 x 384 recipe, with the ordered
# (chain) and the unordered (MPI_Allreduce) reduction.  Prints a table: step time, time combining
# gradients per step (inside the reducer), skew per step (waiting, at a barrier before it, for
# the slowest rank), rank 0's CPU time per step (all its threads: on a shared machine, the work
# apart from waiting for a core), efficiency = (1 process x 2 threads step time) /
# (configuration's).
#   bash benchmarks/distributed.sh [RAW_JSON_LINES_FILE]
# Every configuration runs REPEATS times (default 3); the table shows the run with the median
# step time.  BOOK_STEPS (default 20) and RECIPE_STEPS (10) timed steps after WARMUP (2); BENCH
# another bench_mpi binary.  Needs the release build with Open MPI (cmake --preset release && cmake --build
# --preset release --target bench_mpi), jq and column (Debian: jq, bsdextrautils).
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BENCH:-$PWD/build/release/benchmarks/bench_mpi}
[ -x "$bench" ] || { echo "distributed.sh: build first: cmake --preset release && cmake --build --preset release --target bench_mpi" >&2; exit 1; }
for tool in jq column; do
  command -v $tool > /dev/null || { echo "distributed.sh: needs $tool: apt-get install -y jq bsdextrautils" >&2; exit 1; }
done
raw=${1:-$(mktemp)}
: > "$raw"
repeats=${REPEATS:-3}

# As tests/mpi/CMakeLists.txt: root allowed (CI), no cross-process memory attach (containers).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpirun=(mpirun -np 2 --oversubscribe --bind-to none)
shm=(--mca btl self,vader)
tcp=(--mca btl self,tcp --mca btl_tcp_if_include lo)
# Two hosts: Open MPI starts a daemon on each through the agent (which drops the host name and
# runs the command here); everything, its own wire-up too, on the loopback interface.
hosts=(--hostfile tests/mpi/loopback_hosts --mca plm_rsh_agent "$PWD/tests/mpi/rsh_agent_local.sh"
       --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)

# configuration label, then the command line; the JSON line gets the label
run() {
  local label=$1; shift
  for ((i = 0; i < repeats; i++)); do
    "$@" | jq -c --arg c "$label" '. + {config: $c}' >> "$raw"
  done
}

for model in book recipe; do
  steps=${BOOK_STEPS:-20}
  [ "$model" = recipe ] && steps=${RECIPE_STEPS:-10}
  run "1 process x 2 threads" "$bench" --model $model --reduce none --threads 2 --steps $steps --warmup ${WARMUP:-2}
  for reduce in ordered allreduce; do
    common=(--model $model --reduce $reduce --threads 1 --steps $steps --warmup ${WARMUP:-2})
    run "2 ranks x 1, shared memory" "${mpirun[@]}" "${shm[@]}" "$bench" "${common[@]}"
    run "2 ranks x 1, TCP loopback" "${mpirun[@]}" "${tcp[@]}" "$bench" "${common[@]}"
    run "2 hosts x 1, TCP (127.0.0.2/.3)" "${mpirun[@]}" "${hosts[@]}" "$bench" "${common[@]}"
  done
done

# The median run of each (model, configuration, reduction), then the table.
jq -rs '
  group_by([.model, .config, .reduce])
  | map(sort_by(.step_s) | .[(length / 2 | floor)])
  | (map(select(.reduce == "none")) | map({key: .model, value: .step_s}) | from_entries) as $base
  | ["model", "configuration", "reduction", "step ms", "combine ms/step", "skew ms/step", "CPU ms/step", "efficiency"],
    (sort_by(.model, (.reduce != "none"), .reduce, .config)[]
     | [.model, .config, (if .reduce == "none" then "threads" else .reduce end),
        (.step_s * 1000 * 10 | round / 10 | tostring),
        (.reduce_s * 1000 * 100 | round / 100 | tostring),
        ((.wait_s // 0) * 1000 * 100 | round / 100 | tostring),
        ((.cpu_s // 0) * 1000 | round | tostring),
        ($base[.model] / .step_s * 100 | round | tostring + " %")])
  | @tsv' "$raw" | column -t -s $'\t'
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
