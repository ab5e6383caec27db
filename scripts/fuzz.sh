#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang under ASan + UBSan and runs each for
# SECONDS (default 60) from its committed seed corpus.  Exits non-zero on any finding: a crash, a
# sanitizer report, a leak, an input that runs longer than 20 s, more than 2 GB resident, or one
# allocation larger than the target's malloc limit (fuzz_resume: 128 MB, since its text is tiny
# and every model it loads fits in one input, so only a size taken from metadata unchecked can
# ask for more).  The input is left in build/fuzz/ as crash-*, leak-*, timeout-* or oom-* to add
# to tests/fuzz/regressions/.  With TARGET, only that target.  The targets run FUZZ_JOBS at a time
# (default: the number of cores), each on one core; each target's full output is in
# build/fuzz/NAME.out.
#   bash scripts/fuzz.sh [SECONDS [TARGET]]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
only=${2:-}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -isystem /usr/include/eigen3)
# Builds, checks the regressions of, and fuzzes one target; fails with the tail of its log.
fuzz_one() {
  local name=$1 source=tests/fuzz/$1.cpp
  local malloc_limit=2048
  [ "$name" = fuzz_resume ] && malloc_limit=128
  clang++ "${flags[@]}" "$source" -o "$out/$name"
  local work="$out/$name.corpus"
  rm -rf "$work" && mkdir -p "$work"
  if [ -d tests/fuzz/corpus/"$name" ]; then cp tests/fuzz/corpus/"$name"/* "$work"/; fi
  # fuzz_resume writes its seeds, real checkpoints of tiny runs (too large to commit).
  if [ "$name" = fuzz_resume ]; then FUZZ_RESUME_SEEDS="$PWD/$work" "$out/$name"; fi
  # Regressions first: every input that once crashed must now pass.
  if ls tests/fuzz/regressions/"$name"-* >/dev/null 2>&1; then
    "$out/$name" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_limit" tests/fuzz/regressions/"$name"-* \
      >"$out/$name.regressions.log" 2>&1 || { tail -40 "$out/$name.regressions.log"; return 1; }
  fi
  local dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="$PWD/tests/fuzz/$name.dict")
  echo "fuzzing $name for ${seconds}s"
  (cd "$out" && ./"$name" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_limit" \
     -timeout=20 -max_len=65536 -print_final_stats=1 "${dict[@]}" \
     -artifact_prefix="$name-" "$name.corpus" 2>"$name.log") || { tail -40 "$out/$name.log"; return 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$name.log" | sed "s/^/  $name /"
}

jobs=${FUZZ_JOBS:-$(nproc)}
declare -A running=()  # pid -> target
failed=()
# Waits for one target to end; prints its output and records a failure.
reap() {
  local pid status=0
  wait -n -p pid || status=$?
  local name=${running[$pid]}
  unset "running[$pid]"
  cat "$out/$name.out"
  if [ "$status" -ne 0 ]; then failed+=("$name"); fi
}
for source in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$source" .cpp)
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  while [ "${#running[@]}" -ge "$jobs" ]; do reap; done
  fuzz_one "$name" >"$out/$name.out" 2>&1 &
  running[$!]=$name
done
while [ "${#running[@]}" -gt 0 ]; do reap; done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]} (inputs in $out/)"
  exit 1
fi
