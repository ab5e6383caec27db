#!/usr/bin/env bash
# Loopback load on `charlstm serve`: 1, 8, 64 and 256 concurrent streaming clients, each sending
# one streaming request after another for SECONDS; total characters/s and time to first
# character (p50, p99), the load average before each run and the CPU seconds the server and the
# clients used during it (they share the machine).  One client is one request at a time, the
# baseline.  docs/serve.md has the table.
#   bash benchmarks/serve.sh MODEL [SECONDS] [LENGTH] [CLIENTS...]   (from the repository, after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: benchmarks/serve.sh MODEL [SECONDS] [LENGTH] [CLIENTS...]}
seconds=${2:-10}
length=${3:-2000}
shift $(($# < 3 ? $# : 3))
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 8 64 256)
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
# The server's CPU seconds so far (user + system), from /proc.
server_cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$server/stat"; }
for clients in "${counts[@]}"; do
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  before=$(server_cpu)
  "$load" "$port" "$clients" "$seconds" "$length" || true
  echo "server CPU: $(awk -v a="$before" -v b="$(server_cpu)" 'BEGIN { printf "%.2f", b - a }') s"
done
