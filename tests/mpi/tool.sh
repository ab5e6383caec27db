#!/bin/bash
# `charlstm train` under the real mpirun (a build with -DCHARLSTM_MPI=ON), one case per call:
#   tool.sh CASE CHARLSTM SERIAL_CHARLSTM MPIEXEC DATA_DIR
# identical-sequence, identical-window  1 x 4, 2 x 2 and 4 x 1 give the same checkpoint bytes
#                                       and losses; 1 x 1 (another summation order) does not
# resume-sequence, resume-window        saved at 2 ranks, resumed at 4: the uninterrupted run
# killed-rank, stopped-rank             the job ends within bounds, naming the rank and the step
# sigterm, sigusr1                      mpirun forwards the signal: every rank stops after the
#                                       same step, rank 0 saves, and the run resumes from it
# two-hosts                             two "hosts" on loopback addresses: one process's bytes
# allreduce                             --reduce allreduce trains close to the ordered run
# different-weights                     ranks whose weights differ stop at the first save
# serial-refuses                        a build without MPI refuses to run under mpirun
set -u
case_name=$1 charlstm=$2 serial=$3 mpiexec=$4 data=$5
work=$(mktemp -d)
launcher=""
trap '[ -n "$launcher" ] && kill -KILL $launcher 2> /dev/null; rm -rf "$work"' EXIT
cd "$work"
head -c 30000 "$data/nietzsche.txt" > corpus.txt
launch="--oversubscribe --bind-to none"
mpirun() { "$mpiexec" $launch "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
# Tiny models: ~85 sequence-mode chunks or ~64 window batches per epoch, so 130 steps cross an
# epoch's validation and save.
base="--corpus corpus.txt --batch 16 --seq-len 20 --maxlen 20 --step 7 --log-every 5 --patience 0"
common="$base --hidden 24 --sample-length 20"
losses() { cut -d, -f1-6 "$1"; }  # step, epoch, train and validation losses (not the timings)
same_run() {
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
  diff <(losses "$1.metrics.csv") <(losses "$2.metrics.csv") > /dev/null ||
    fail "the losses in $1.metrics.csv and $2.metrics.csv differ"
}
train_window_corpus() { head -c 9000 "$data/nietzsche.txt" > corpus.txt; }

case $case_name in
identical-sequence | identical-window)
  mode=${case_name#identical-}
  [ "$mode" = window ] && train_window_corpus
  run="train $common --mode $mode --max-steps 130"
  "$charlstm" $run --threads 4 --out one.safetensors 2> one.err || fail "1 x 4: $(tail -3 one.err)"
  mpirun -np 2 "$charlstm" $run --threads 2 --out two.safetensors 2> two.err ||
    fail "2 x 2: $(tail -3 two.err)"
  mpirun -np 4 "$charlstm" $run --threads 1 --out four.safetensors 2> four.err ||
    fail "4 x 1: $(tail -3 four.err)"
  "$charlstm" $run --threads 1 --out control.safetensors 2> /dev/null || fail "1 x 1"
  same_run one.safetensors two.safetensors
  same_run one.safetensors four.safetensors
  grep -q "^Epoch 2/" four.err || fail "the run did not reach a second epoch"
  cmp -s one.safetensors control.safetensors &&
    fail "1 thread gave the same bytes as 4: the comparison cannot see a summation order"
  # The samples rank 0 printed are the same text too.
  diff <(grep -A2 "temperature" one.err) <(grep -A2 "temperature" four.err) > /dev/null ||
    fail "the samples differ"
  ;;
resume-sequence | resume-window)
  mode=${case_name#resume-}
  [ "$mode" = window ] && train_window_corpus
  run="train $common --mode $mode"
  mpirun -np 4 "$charlstm" $run --max-steps 130 --threads 1 --out whole.safetensors 2> /dev/null ||
    fail "the uninterrupted run"
  # Step 40: part-way through the first epoch (sequence mode saves the carried state).
  mpirun -np 2 "$charlstm" $run --max-steps 40 --threads 2 --out part.safetensors 2> /dev/null ||
    fail "the first part at 2 ranks"
  mpirun -np 4 "$charlstm" train --resume part.safetensors --max-steps 130 --threads 1 \
    2> resume.err || fail "the resumed part at 4 ranks: $(tail -3 resume.err)"
  # The checkpoints are the same bytes.  The logs differ in where rows were cut (the first part's
  # stop wrote one), and a row's training loss is the mean since the row before: the last row's
  # validation loss is compared.
  cmp -s whole.safetensors part.safetensors || fail "the resumed run's checkpoint differs"
  [ "$(tail -1 whole.safetensors.metrics.csv | cut -d, -f1,2,4)" = \
    "$(tail -1 part.safetensors.metrics.csv | cut -d, -f1,2,4)" ] ||
    fail "the last validation losses differ"
  ;;
killed-rank | stopped-rank)
  signal=KILL
  [ "$case_name" = stopped-rank ] && signal=STOP
  start=$(date +%s)
  "$mpiexec" $launch -np 3 "$charlstm" train $base --epochs 100000 --hidden 64 --sample-length 0 --threads 1 \
    --rank-timeout 4 --out m.safetensors 2> err &
  launcher=$!
  # Rank 1 (OMPI_COMM_WORLD_RANK=1 in its environment) once training is under way.
  for _ in $(seq 200); do grep -q "^Epoch 2/" err 2> /dev/null && break; sleep 0.1; done
  victim=""
  for pid in $(pgrep -P "$launcher"); do
    tr '\0' '\n' < "/proc/$pid/environ" | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
  done
  [ -n "$victim" ] || fail "rank 1's process not found"
  kill -"$signal" "$victim"
  wait "$launcher"
  code=$?
  elapsed=$(($(date +%s) - start))
  kill -KILL "$victim" 2> /dev/null
  cat err | grep -v "^\(Epoch\|loss\|saved\|[0-9]*/\)" >&2
  [ "$code" -ne 0 ] || fail "mpirun exited 0"
  # Started, trained an epoch (a few seconds), then ended within the timeout and a margin.
  [ "$elapsed" -le 60 ] || fail "the job took ${elapsed}s to end"
  grep -q "during step [0-9]" err || fail "no message names the step"
  if [ "$signal" = STOP ]; then
    grep -q "rank 1 did not answer rank 0 within 4 s during step [0-9]" err ||
      fail "rank 0 did not name rank 1"
  else
    # mpirun names the rank that died; the survivors name it and the step they were in.
    grep -q "process rank 1 .*exited on signal 9" err || fail "mpirun did not name rank 1"
    grep -q "rank 1 did not answer rank [02] .*during step [0-9]" err ||
      fail "no survivor named rank 1"
  fi
  ;;
sigterm | sigusr1)
  signal=TERM message="terminated (SIGTERM)"
  [ "$case_name" = sigusr1 ] && signal=USR1 message="asked to stop (SIGUSR1)"
  "$mpiexec" $launch -np 2 "$charlstm" train $base --hidden 24 --epochs 100000 --threads 1 --sample-length 0 \
    --out m.safetensors 2> err &
  launcher=$!
  for _ in $(seq 200); do grep -q "^Epoch 2/" err 2> /dev/null && break; sleep 0.1; done
  kill -"$signal" "$launcher"
  wait "$launcher"
  code=$?
  [ "$code" -ne 0 ] || fail "mpirun exited 0 after SIG$signal"
  grep -q "$message: the checkpoint m.safetensors holds every finished step" err ||
    fail "rank 0 did not report the stop: $(tail -5 err)"
  grep -q "did not answer" err && fail "a rank was reported missing"
  # The last save: part-way through an epoch, or at its end if the stop came with its last step.
  step=$(grep -o "^saved m.safetensors (epoch [0-9]*.*, [0-9]* steps in all)" err |
    tail -1 | grep -o "[0-9]* steps in all" | cut -d' ' -f1)
  [ -n "$step" ] || fail "no save reported: $(tail -5 err)"
  # The saved run continues at another rank count, from that step.
  mpirun -np 3 "$charlstm" train --resume m.safetensors --max-steps $((step + 5)) --threads 1 \
    2> resume.err || fail "resuming: $(tail -3 resume.err)"
  grep -q "at most 5 steps (to step $((step + 5))" resume.err || fail "the resumed run did not start at step $step"
  ;;
two-hosts)
  # Two "hosts" on loopback addresses (CHARLSTM_TWO_HOSTS: the hostfile, the stand-in for ssh
  # and TCP on lo; docs/distributed.md): 1 + 2 threads, the bytes of one process of 3.
  run="train $common --max-steps 100"
  "$charlstm" $run --threads 3 --out one.safetensors 2> /dev/null || fail "1 x 3"
  "$mpiexec" -np 1 $CHARLSTM_TWO_HOSTS "$charlstm" $run --threads 1 --out two.safetensors : \
    -np 1 "$charlstm" $run --threads 2 --out two.safetensors 2> two.err ||
    fail "two hosts: $(tail -5 two.err)"
  same_run one.safetensors two.safetensors
  grep -q "^Epoch 2/" two.err || fail "the run did not reach a second epoch"
  ;;
allreduce)
  # The unordered reduction trains (and saves, every rank holding rank 0's weights: the
  # digests are compared at every save), close to the ordered run but not its bytes.
  run="train $common --max-steps 100"
  mpirun -np 2 "$charlstm" $run --threads 1 --out ordered.safetensors 2> /dev/null ||
    fail "ordered"
  mpirun -np 2 "$charlstm" $run --threads 1 --reduce allreduce --out all.safetensors \
    2> all.err || fail "allreduce: $(tail -3 all.err)"
  val() { tail -1 "$1.metrics.csv" | cut -d, -f4; }
  awk -v a="$(val ordered.safetensors)" -v b="$(val all.safetensors)" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 0.01) }' ||
    fail "validation losses $(val ordered.safetensors) and $(val all.safetensors) are not within 0.01"
  ;;
different-weights)
  # Two ranks started with different seeds hold different weights from the start.
  mpirun -np 1 "$charlstm" train $common --epochs 1 --threads 1 --seed 1 --out m.safetensors : \
    -np 1 "$charlstm" train $common --epochs 1 --threads 1 --seed 2 --out m.safetensors \
    2> err && fail "mpirun exited 0"
  grep -q "the weights of rank 1 differ from rank 0's at step [0-9]" err ||
    fail "no digest error: $(tail -5 err)"
  [ ! -e m.safetensors ] || fail "a checkpoint was written"
  ;;
serial-refuses)
  mpirun -np 2 "$serial" train $common --epochs 1 --out m.safetensors 2> err &&
    fail "mpirun exited 0"
  grep -q "started by an MPI launcher (OMPI_COMM_WORLD_SIZE=2)" err || fail "$(cat err)"
  [ ! -e m.safetensors ] || fail "a checkpoint was written"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
