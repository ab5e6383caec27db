#!/usr/bin/env bash
# One command, one run: charlstm and PyTorch side by side on this machine for the book's model
# (T 60, B 128, V 57, H 128, RMSprop), training with 1 and 2 threads and generation, and for the
# recipe people run (docs/results.md: sequence mode, 2 x LSTM(384), dropout 0.4, Adam, 64 streams
# x 100 steps) against nn.LSTM(num_layers=2), plus the machine's FMA peak.  Prints a table and writes it as JSON (default build/compare.json).
#   bash benchmarks/compare.sh [OUT.json]
# Needs the release build (cmake --preset release && cmake --build --preset release).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/compare.json}
bench=build/release/benchmarks/bench_train
[ -x "$bench" ] || { echo "compare.sh: build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "measuring the FMA peak (../shared/tools/peak_flops.cpp)..." >&2
peak_src=../shared/tools/peak_flops.cpp
if ! grep -qw avx512f /proc/cpuinfo; then
  # peak_flops.cpp runs its AVX-512 kernels unconditionally (they neither build nor run here):
  # a copy without them measures this CPU's peak, its AVX2 FMA.
  echo "no AVX-512 on this CPU: the peak is the AVX2 FMA's (peak_flops.cpp without its AVX-512 runs)" >&2
  grep -v '^ *B512(' "$peak_src" > "$tmp/peak_flops.cpp"
  peak_src=$tmp/peak_flops.cpp
fi
g++ -O2 -march=native -std=c++17 -pthread -I../shared/tools "$peak_src" -o "$tmp/peak_flops"
for t in 1 2; do "$tmp/peak_flops" $t 3 > "$tmp/peak$t.txt"; done

echo "measuring charlstm..." >&2
"$bench" --benchmark_min_time=2 --benchmark_format=json > "$tmp/charlstm.json"

dnnl=build/release/benchmarks/bench_dnnl_lstm
if [ -x "$dnnl" ]; then
  echo "measuring oneDNN's LSTM primitive (forward + backward only)..." >&2
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$dnnl" --benchmark_min_time=2 --benchmark_format=json > "$tmp/dnnl$t.json"
  done
else
  echo "oneDNN not measured: install libdnnl-dev (scripts/install-deps.sh) and rebuild" >&2
fi

echo "measuring PyTorch (as shipped, and with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset)..." >&2
# name: torch threads, BLAS threads.  2 threads: the faster of 2+2 and 1 torch + 2 BLAS.
for cfg in "1 1 1" "2 2 2" "2 1 2"; do
  set -- $cfg
  OPENBLAS_NUM_THREADS=$3 /usr/bin/python3 benchmarks/torch_reference.py --threads $2 --seconds 8 > "$tmp/torch_shipped_$1_$2.json"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$3 /usr/bin/python3 benchmarks/torch_reference.py --threads $2 --seconds 8 > "$tmp/torch_unset_$1_$2.json"
done
echo "measuring PyTorch on the 2 x 384 recipe (nn.LSTM(num_layers=2))..." >&2
for cfg in "1 1 1" "2 2 2" "2 1 2"; do
  set -- $cfg
  OPENBLAS_NUM_THREADS=$3 /usr/bin/python3 benchmarks/torch_reference.py --recipe --threads $2 --seconds 8 > "$tmp/recipe_shipped_$1_$2.json"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$3 /usr/bin/python3 benchmarks/torch_reference.py --recipe --threads $2 --seconds 8 > "$tmp/recipe_unset_$1_$2.json"
done

/usr/bin/python3 - "$tmp" "$out" <<'PY'
import json, re, sys
tmp, out = sys.argv[1], sys.argv[2]
def peak(t):
    best = 0.0
    for line in open(f"{tmp}/peak{t}.txt"):
        m = re.search(r"fma.*GFLOP/s median=\s*([\d.]+)", line)
        if m: best = max(best, float(m.group(1)))
    return best
c = {b["name"]: b for b in json.load(open(f"{tmp}/charlstm.json"))["benchmarks"]}
flop_per_seq = 3.0 * 2 * 4 * 128 * 128 * 60 + 3.0 * 2 * 57 * 128
rows, result = [], {"flop_per_sequence": flop_per_seq}
def dnnl(t):
    try:
        return json.load(open(f"{tmp}/dnnl{t}.json"))["benchmarks"][0]["items_per_second"]
    except (OSError, KeyError, IndexError, ValueError):
        return float("nan")
def torch_runs(t, kind="torch"):
    """PyTorch's runs on t threads (kind "torch": the book model, "recipe": the 2 x 384 recipe)."""
    import glob
    return [json.load(open(f)) | {"config": f.rsplit("/", 1)[1]} for f in sorted(glob.glob(f"{tmp}/{kind}_*_{t}_*.json"))]
def shipped_and_unset(runs, key):
    """The best of `key` as shipped and with the OpenBLAS variables unset."""
    return (max(r[key] for r in runs if "shipped" in r["config"]),
            max(r[key] for r in runs if "unset" in r["config"]))
for t in (1, 2):
    ours = c[f"bm_train_book/{t}/real_time"]["items_per_second"]
    runs = torch_runs(t)
    shipped, unset = shipped_and_unset(runs, "train_sequences_per_s")
    best = max(shipped, unset)
    pk = peak(t)
    pct = 100 * ours * flop_per_seq / (pk * 1e9) if pk else float("nan")
    dn = dnnl(t)
    result[f"train_{t}_threads"] = {"charlstm": ours, "torch_shipped": shipped, "torch_unset": unset,
                                    "onednn_lstm_only": dn if dn == dn else None,
                                    "ratio_vs_best_torch": ours / best,
                                    "ratio_vs_onednn": ours / dn if dn == dn else None,
                                    "peak_gflops": pk, "percent_of_peak": pct,
                                    "onednn_percent_of_peak": 100 * dn * flop_per_seq / (pk * 1e9) if pk and dn == dn else None,
                                    "torch_runs": runs}
    rows.append((f"training, {t} thread(s), sequences/s", ours, shipped, unset, ours / best, pct, dn))
gs = c["bm_generate_stateful/real_time"]["items_per_second"]
gw = c["bm_generate_window/real_time"]["items_per_second"]
t1 = torch_runs(1)
ship1 = [r for r in t1 if "shipped" in r["config"]][0]
unset1 = [r for r in t1 if "unset" in r["config"]][0]
tw = max(x["generate_window_chars_per_s"] for x in t1)
ts = max(x["generate_stateful_chars_per_s"] for x in t1)
recipe_flop_per_char = 3.0 * 2 * (4 * 384 * 384 + 8 * 384 * 384 + 57 * 384)
result["recipe_flop_per_character"] = recipe_flop_per_char
for t in (1, 2):
    ours = c[f"bm_train_recipe/threads:{t}/real_time"]["items_per_second"]
    runs = torch_runs(t, "recipe")
    shipped, unset = shipped_and_unset(runs, "recipe_chars_per_s")
    pk = peak(t)
    pct = 100 * ours * recipe_flop_per_char / (pk * 1e9) if pk else float("nan")
    result[f"recipe_{t}_threads"] = {"charlstm": ours, "torch_shipped": shipped, "torch_unset": unset,
                                     "ratio_vs_best_torch": ours / max(shipped, unset),
                                     "peak_gflops": pk, "percent_of_peak": pct, "torch_runs": runs}
    rows.append((f"recipe 2x384 B64, {t} thread(s), chars/s", ours, shipped, unset, ours / max(shipped, unset), pct, float("nan")))
rows.append(("generation, stateful, chars/s", gs, ship1["generate_stateful_chars_per_s"], unset1["generate_stateful_chars_per_s"], gs / ts, float("nan"), float("nan")))
rows.append(("generation, window loop, chars/s", gw, ship1["generate_window_chars_per_s"], unset1["generate_window_chars_per_s"], gw / tw, float("nan"), float("nan")))
result["generate"] = {"charlstm_stateful": gs, "charlstm_window": gw, "torch_stateful": ts, "torch_window": tw,
                      "stateful_vs_torch_window_loop": gs / tw}
print(f"{'what':40} {'charlstm':>10} {'torch':>10} {'torch*':>10} {'ratio':>7} {'% peak':>7} {'oneDNN':>8} {'vs oneDNN':>9}")
for r in rows:
    dn = f"{r[6]:8.0f} {r[1] / r[6]:8.2f}x" if r[6] == r[6] else f"{'':8} {'':9}"
    print(f"{r[0]:40} {r[1]:10.0f} {r[2]:10.0f} {r[3]:10.0f} {r[4]:6.2f}x {r[5]:6.1f}% {dn}")
scaling = result["train_2_threads"]["charlstm"] / result["train_1_threads"]["charlstm"]
result["scaling_1_to_2_threads"] = scaling
print(f"stateful charlstm vs PyTorch's window loop: {gs / tw:.0f}x; charlstm training 1 -> 2 threads: {scaling:.2f}x")
print("torch: as shipped; torch*: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; each the best of its thread")
print("configurations (1: 1 torch + 1 BLAS thread; 2: 2+2 or 1 torch + 2 BLAS); ratio: charlstm / the faster torch")
print("oneDNN: its LSTM primitive alone (lstm_forward training + lstm_backward, no dense, loss or optimizer),")
print("OMP_NUM_THREADS = the row's threads; empty when libdnnl-dev is not installed")
print("recipe: sequence mode, 2 x LSTM(384), dropout 0.4, Adam, 64 streams x 100 steps; torch: nn.LSTM(num_layers=2);")
print(f"% peak counts {recipe_flop_per_char / 1e6:.2f} MFLOP per character (the three products of each kernel and the dense layer)")
print(f"FMA peak: 1 thread {peak(1):.0f} GFLOP/s, 2 threads {peak(2):.0f} GFLOP/s")
seq = sorted((int(b["name"].split("/")[1].split(":")[1]), int(b["name"].split("/")[2].split(":")[1]), b)
             for b in c.values() if b["name"].startswith("bm_train_sequence/"))
if seq:
    print()
    print("sequence mode (128 streams, 100 steps per update, RMSprop), 2 threads: characters/s (% of the 2-thread peak)")
    print(f"{'hidden':>6} " + " ".join(f"{f'{l} layer(s)':>22}" for l in sorted({l for _, l, _ in seq})))
    result["sequence_mode_2_threads"] = []
    for h in sorted({h for h, _, _ in seq}):
        cells = []
        for hh, l, b in seq:
            if hh != h: continue
            pct = 100 * b["GFLOP/s"] / peak(2) if peak(2) else float("nan")
            cells.append(f"{b['items_per_second']:>12,.0f} ({pct:4.1f} %)")
            result["sequence_mode_2_threads"].append({"hidden": h, "layers": l, "chars_per_s": b["items_per_second"],
                                                      "gflops": b["GFLOP/s"], "percent_of_peak": pct})
        print(f"{h:>6} " + " ".join(f"{x:>22}" for x in cells))
json.dump(result, open(out, "w"), indent=2)
print(f"wrote {out}")
PY
