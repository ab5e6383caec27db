#!/usr/bin/env bash
# Peak memory and wall time of `charlstm train`: one whole epoch of the book on Nietzsche (window
# mode, all 200,275 windows, the four 400-character samples after it, as the book), then a 100 MB
# text (tinyshakespeare repeated, written to a temporary directory) in both modes, stopped after
# 5 optimizer steps: memory peaks while loading and vectorising, and training allocates nothing
# per step.
#   bash benchmarks/memory.sh
# Needs the release build (cmake --preset release && cmake --build --preset release) and GNU time
# (/usr/bin/time, Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
cli=build/release/examples/charlstm
[ -x "$cli" ] || { echo "memory.sh: build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "memory.sh: needs GNU time: apt-get install -y time" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

src=../shared/data/tinyshakespeare.txt
big=$tmp/corpus-100MB.txt
while [ "$(stat -c %s "$big" 2>/dev/null || echo 0)" -lt 100000000 ]; do cat "$src" >> "$big"; done
truncate -s 100000000 "$big"

# name, then the train arguments
run() {
  local name=$1; shift
  /usr/bin/time -f "%M %e" -o "$tmp/time" "$cli" train --out "$tmp/m.safetensors" "$@" \
    > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt" >&2; exit 1; }
  read -r kb seconds < "$tmp/time"
  awk -v n="$name" -v kb="$kb" -v s="$seconds" 'BEGIN { printf "%-60s %10.1f MB %8.1f s\n", n, kb / 1024, s }'
}
printf "%-60s %13s %10s\n" "run" "peak RSS" "wall"
run "Nietzsche, the book's model, window mode, 1 epoch + samples" --corpus nietzsche --mode window --epochs 1 --val-fraction 0
run "100 MB text, window mode, 5 steps" --corpus "$big" --mode window --max-steps 5 --val-fraction 0.001 --sample-length 0
run "100 MB text, sequence mode, 5 steps" --corpus "$big" --mode sequence --max-steps 5 --val-fraction 0.001 --sample-length 0
