#!/usr/bin/env bash
# Loopback load on `charlstm serve`: 1, 8, 64 and 256 concurrent streaming clients, each sending
# one streaming request after another for SECONDS; total characters/s and time to first
# character (p50, p99).  One client is one request at a time, the baseline.  docs/serve.md has
# the table.
#   bash benchmarks/serve.sh MODEL [SECONDS] [LENGTH]      (from the repository, after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: benchmarks/serve.sh MODEL [SECONDS] [LENGTH]}
seconds=${2:-10}
length=${3:-2000}
tool=build/release/examples/charlstm
load=build/release/benchmarks/serve_load
out=$(mktemp)
"$tool" serve --model "$model" --port 0 --max-clients 256 >"$out" 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 200); do
  grep -q "listening on" "$out" && break
  sleep 0.05
done
port=$(grep -o '127\.0\.0\.1:[0-9]*' "$out" | cut -d: -f2)
lscpu | grep "Model name" || true
for clients in 1 8 64 256; do
  "$load" "$port" "$clients" "$seconds" "$length"
done
