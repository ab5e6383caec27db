#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang under ASan + UBSan and runs each for
# SECONDS (default 60) from its committed seed corpus.  Exits non-zero on any finding: a crash, a
# sanitizer report, a leak, an input that runs longer than 20 s, more than 2 GB resident, or one
# allocation larger than the target's malloc limit (fuzz_resume: 128 MB, since its text is tiny
# and every model it loads fits in one input, so only a size taken from metadata unchecked can
# ask for more).  The input is left in build/fuzz/ as crash-*, leak-*, timeout-* or oom-* to add
# to tests/fuzz/regressions/.  With TARGET, only that target.
#   bash scripts/fuzz.sh [SECONDS [TARGET]]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
only=${2:-}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -isystem /usr/include/eigen3)
for source in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$source" .cpp)
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  malloc_limit=2048
  [ "$name" = fuzz_resume ] && malloc_limit=128
  clang++ "${flags[@]}" "$source" -o "$out/$name"
  work="$out/$name.corpus"
  rm -rf "$work" && mkdir -p "$work"
  if [ -d tests/fuzz/corpus/"$name" ]; then cp tests/fuzz/corpus/"$name"/* "$work"/; fi
  # fuzz_resume writes its seeds, real checkpoints of tiny runs (too large to commit).
  if [ "$name" = fuzz_resume ]; then FUZZ_RESUME_SEEDS="$PWD/$work" "$out/$name"; fi
  # Regressions first: every input that once crashed must now pass.
  if ls tests/fuzz/regressions/"$name"-* >/dev/null 2>&1; then
    "$out/$name" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_limit" tests/fuzz/regressions/"$name"-* \
      >"$out/$name.regressions.log" 2>&1 || { tail -40 "$out/$name.regressions.log"; exit 1; }
  fi
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="$PWD/tests/fuzz/$name.dict")
  echo "fuzzing $name for ${seconds}s"
  (cd "$out" && ./"$name" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_limit" \
     -timeout=20 -max_len=65536 -print_final_stats=1 "${dict[@]}" \
     -artifact_prefix="$name-" "$name.corpus" 2>"$name.log") || { tail -40 "$out/$name.log"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$name.log" | sed "s/^/  $name /"
done
