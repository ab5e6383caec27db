#!/usr/bin/env bash
# Installs the Debian 12 packages charlstm needs.  Safe to run again.  Uses sudo when not root.
#   bash scripts/install-deps.sh --tool   what building, installing and running the `charlstm` tool needs
#   bash scripts/install-deps.sh          everything: the tool's set plus the tests', examples' and
#                                         benchmarks' (PyTorch, Chromium, oneDNN, fuzzing, Catch2...)
set -euo pipefail

tool_packages=(
  build-essential cmake ninja-build       # compiler and build
  libeigen3-dev libxsimd-dev              # the library's two dependencies
  libcli11-dev                            # the command-line tool's flag parser
  libcpp-httplib-dev pkg-config           # `charlstm serve` (optional: built without it if absent)
  help2man                                # the tool's man page, generated from --help at build time
  curl ca-certificates                    # corpus download (when ../shared/data has no copy)
)
test_packages=(
  catch2 libbenchmark-dev                 # tests, benchmarks
  python3-torch python3-numpy             # PyTorch reference: fixtures and speed comparison
  libopenblas0-pthread                    # the BLAS PyTorch runs fastest on (else reference BLAS)
  clang libclang-rt-14-dev                # libFuzzer targets (scripts/fuzz.sh)
  chromium                                # renders the HTML training report; drives serve's page
  nodejs                                  # the browser test of serve's page (tests/browser: npm ci)
  libdnnl-dev                             # oneDNN, for its LSTM primitive in benchmarks/compare.sh
  time                                    # GNU time: peak memory in benchmarks/memory.sh
  dpkg-dev file                           # cpack -G DEB (dpkg-shlibdeps) in CI's packaging step
  libopenmpi-dev openmpi-bin              # training across processes (-DCHARLSTM_MPI=ON, tests/mpi)
  jq bsdextrautils                        # benchmarks/distributed.sh: JSON lines to a table (jq, column)
)

case "${1:-}" in
  --tool) packages=("${tool_packages[@]}") ;;
  "") packages=("${tool_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 [--tool]" >&2; exit 2 ;;
esac

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
