#!/usr/bin/env bash
# Writes fuzz_resume's seed corpus, tests/fuzz/corpus/fuzz_resume/: real checkpoints of tiny runs
# (4 hidden units, a 23-symbol alphabet, 2 to 4 KB each) in both modes, both token kinds, both
# optimizers, stopped part-way through an epoch (with sequence mode's carried state) and at an
# epoch boundary, one and two layers.  Run once with the built tool; the files are committed.
#   bash tests/fuzz/make_resume_seeds.sh build/release/examples/cli/charlstm
set -euo pipefail
cd "$(dirname "$0")/../.."
tool=$(realpath "$1")
out=tests/fuzz/corpus/fuzz_resume
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for k in $(seq 1 30); do echo "the cat sat on the mat. a dog ran to the cat, and sat."; done \
  >"$work/corpus.txt"
seed() {  # seed NAME FLAGS...
  local name=$1
  shift
  "$tool" train --corpus "$work/corpus.txt" --hidden 4 --sample-length 0 --threads 1 \
    --out "$work/$name.safetensors" "$@" >/dev/null
  cp "$work/$name.safetensors" "$out/$name.safetensors"
}
mkdir -p "$out"
seed sequence-char-rmsprop-partial --mode sequence --batch 3 --seq-len 8 --epochs 1 --max-steps 2
seed sequence-word-adam-partial --mode sequence --tokens word --optimizer adam --batch 2 \
  --seq-len 5 --epochs 1 --max-steps 3
seed sequence-char-adam-2layers-epoch --mode sequence --layers 2 --dropout 0.1 --optimizer adam \
  --batch 4 --seq-len 10 --epochs 1
seed window-char-adam-partial --mode window --optimizer adam --maxlen 6 --step 2 --batch 16 \
  --epochs 1 --max-steps 2
seed window-word-rmsprop-epoch --mode window --tokens word --maxlen 4 --step 2 --batch 8 \
  --epochs 1 --patience 3
ls -l "$out"
