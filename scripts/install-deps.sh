#!/usr/bin/env bash
# Installs every Debian 12 package that charlstm's build, tests, examples and benchmarks use.
# Safe to run again.  Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build       # compiler and build
  libeigen3-dev libxsimd-dev              # the library's two dependencies
  catch2 libbenchmark-dev libcli11-dev    # tests, benchmarks, command-line tool
  python3-torch python3-numpy             # PyTorch reference: fixtures and speed comparison
  libopenblas0-pthread                    # the BLAS PyTorch runs fastest on (else reference BLAS)
  curl ca-certificates                    # corpus download
  clang libclang-rt-14-dev                # libFuzzer targets (scripts/fuzz.sh)
  chromium                                # renders the HTML training report in a test
  libdnnl-dev                             # oneDNN, for its LSTM primitive in benchmarks/compare.sh
  time                                    # GNU time: peak memory in benchmarks/memory.sh
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
