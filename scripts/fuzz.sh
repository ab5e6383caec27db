#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang under ASan + UBSan and runs each for
# SECONDS (default 60) from its committed seed corpus.  Exits non-zero on any finding; the
# crashing input is left in build/fuzz/<target>/ as crash-* to add to tests/fuzz/regressions/.
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -isystem /usr/include/eigen3)
for source in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$source" .cpp)
  clang++ "${flags[@]}" "$source" -o "$out/$name"
  work="$out/$name.corpus"
  rm -rf "$work" && mkdir -p "$work"
  cp tests/fuzz/corpus/"$name"/* "$work"/
  # Regressions first: every input that once crashed must now pass.
  if ls tests/fuzz/regressions/"$name"-* >/dev/null 2>&1; then
    "$out/$name" tests/fuzz/regressions/"$name"-* >/dev/null 2>&1
  fi
  echo "fuzzing $name for ${seconds}s"
  (cd "$out" && ./"$name" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
     -artifact_prefix="$name-" "$name.corpus" 2>"$name.log") || { tail -40 "$out/$name.log"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$name.log" | sed "s/^/  $name /"
done
