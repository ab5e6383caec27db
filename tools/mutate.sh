#!/usr/bin/env bash
# tools/mutate.sh: the mutation check.  Does the test suite catch small, plausible bugs?
#
# Each mutation below changes one line of the library: a file, the exact text it replaces there
# (which must occur exactly once) and its replacement, and the test suite that should catch it
# (a one-file test executable `suite_<name>`, tests/CMakeLists.txt, and a Catch filter).  The
# script copies the committed HEAD into a scratch directory, builds the suites once unmutated
# and checks they pass, then for each mutation: applies it, rebuilds only that suite, runs it,
# records whether it failed and which test cases failed, and restores the file.  A mutation
# whose text is no longer in its file (the code moved or changed) is reported as "no longer
# applies", never skipped silently.  Run on demand, not in CI: it rebuilds a suite per mutation.
#
#   tools/mutate.sh [-j JOBS] [ID_REGEX]     # e.g. tools/mutate.sh 'sampler|gemv' 
#
# Prints one Markdown table row per mutation (docs/testing.md holds the last run's table) and
# exits non-zero if any mutation survived, no longer applies or does not compile.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=1
if [ "${1:-}" = "-j" ]; then
  jobs=$2
  shift 2
fi
pattern=${1:-}

# The mutations: a header line "id | file | suite | Catch filter" (a comma in a test name is
# escaped, \, as Catch reads commas as "or"), the exact original text, the replacement (each
# on one line; leading blanks are not part of the text), a blank line.
mutations=$(cat <<'MUTATIONS'
# SIMD kernels: the vector bodies and the scalar tails (test_simd compares each with its twin).
simd-cell-forward | include/charlstm/simd.hpp | test_simd | [simd]
  const batch cn = xsimd::fma(f, batch::load_unaligned(c_prev + col + j), i * g);
  const batch cn = xsimd::fma(f, batch::load_unaligned(c_prev + col + j), i + g);

simd-cell-backward | include/charlstm/simd.hpp | test_simd | [simd]
  (dc * i * (one - g * g)).store_unaligned(dz + 2 * H + j);
  (dc * i * (one - g)).store_unaligned(dz + 2 * H + j);

simd-cell-backward-twin | include/charlstm/simd.hpp | test_simd | [simd]
  dz[H + j] = dc * c_prev[k] * f * (S(1) - f);
  dz[H + j] = dc * c_prev[k] * f;

simd-lse-tail | include/charlstm/simd.hpp | test_simd | [simd]
  for (index j = vec_end; j < n; ++j) sum += std::exp(x[j] - m);
  for (index j = vec_end; j < n; ++j) sum += std::exp(x[j] - m - S(1));

simd-softmax-tail | include/charlstm/simd.hpp | test_simd | [simd]
  for (index j = vec_end; j < V; ++j) d[j] = scale * std::exp(x[j] - lse);
  for (index j = vec_end; j < V; ++j) d[j] = std::exp(x[j] - lse);

simd-rmsprop-body | include/charlstm/simd.hpp | test_simd | [simd]
  const batch a = xsimd::fma(vrho, batch::load_unaligned(acc + k), vkeep * g * g);
  const batch a = xsimd::fma(vrho, batch::load_unaligned(acc + k), vkeep * g);

gemm-tile | include/charlstm/gemm.hpp | test_simd | [simd]
  c3[j] = xsimd::fma(a3, bj, c3[j]);
  c3[j] = xsimd::fma(a3, bj, c2[j]);

gemm-partial-panel | include/charlstm/gemm.hpp | test_simd | [simd]
  for (index r = 0; r < rows; ++r) cn[r + j * ldc] = tile[r + j * mr];
  for (index r = 1; r < rows; ++r) cn[r + j * ldc] = tile[r + j * mr];

gemm-depth-blocks | include/charlstm/gemm.hpp | test_simd | [simd]
  c + m0 + n0 * ldc, ldc, accumulate || k0 > 0);
  c + m0 + n0 * ldc, ldc, accumulate);

gemv-tail-vector | include/charlstm/gemv.hpp | test_simd | [simd]
  y[r] = (accumulate ? y[r] : S(0)) + last[r - (M - W)];
  y[r] = y[r] + last[r - (M - W)];

gemv-depth-tail | include/charlstm/gemv.hpp | test_simd | [simd]
  for (; k < K; ++k) {
  for (; k + 1 < K; ++k) {

gemv-packed-partial | include/charlstm/gemv.hpp | test_simd | [simd]
  for (index r = 0; r < rows - v * W; ++r) out[r] = (accumulate ? out[r] : S(0)) + last[r];
  for (index r = 1; r < rows - v * W; ++r) out[r] = (accumulate ? out[r] : S(0)) + last[r];

# The sampler (its softmax at a temperature is simd.hpp's exp_shifted, tail and body).
sampler-tail-temperature | include/charlstm/simd.hpp | test_sampler | [sampler]
  for (index k = 0; k < n; ++k) x[k] = std::exp((x[k] - shift) / divisor);
  for (index k = 0; k < n; ++k) x[k] = std::exp((x[k] - shift) * divisor);

sampler-vector-temperature | include/charlstm/simd.hpp | test_sampler | [sampler]
  xsimd::exp((batch::load_unaligned(x + k) - batch(shift)) / batch(divisor))
  xsimd::exp((batch::load_unaligned(x + k) - batch(shift)) * batch(divisor))

sampler-draw-total | include/charlstm/sampler.hpp | test_sampler | [sampler]
  const double u = uniform01(engine) * sum;
  const double u = uniform01(engine);

sampler-reweight | include/charlstm/sampler.hpp | test_sampler | [sampler]
  q[k] = p[k] > 0 ? std::exp(std::log(p[k]) / temperature - top) : 0.0;
  q[k] = p[k] > 0 ? std::exp(std::log(p[k]) - top) : 0.0;

# The vectorizer.
vectorizer-window-count | include/charlstm/vectorizer.hpp | test_corpus | [vectorizer]
  index size() const { return length > maxlen ? (length - maxlen + step - 1) / step : 0; }
  index size() const { return length > maxlen ? (length - maxlen) / step : 0; }

vectorizer-time-major | include/charlstm/vectorizer.hpp | test_corpus | [vectorizer]
  for (index t = 0; t < set.maxlen; ++t) ids_out[t * B + b] = src[t];
  for (index t = 0; t < set.maxlen; ++t) ids_out[b * set.maxlen + t] = src[t];

vectorizer-stream-target | include/charlstm/vectorizer.hpp | test_stacked | Streams: B parallel streams of the corpus\, targets one step later
  targets_out[t * streams + b] = ids[at + 1];
  targets_out[t * streams + b] = ids[at];

# The LSTM, dense and loss backward.
lstm-backward-bias | include/charlstm/lstm.hpp | test_gradients | [gradient]
  grads.b.noalias() += d_z.rowwise().sum();
  grads.b.noalias() = d_z.rowwise().sum();

lstm-backward-dh | include/charlstm/lstm.hpp | test_gradients | [gradient]
  /*accumulate=*/false);
  /*accumulate=*/true);

lstm-backward-gather | include/charlstm/lstm.hpp | test_gradients | [gradient]
  for (index k = 0; k < cache.T * cache.B; ++k) grads.w_x.col(ids[k]) += cache.d_gates.col(k);
  for (index k = 0; k < cache.T * cache.B; ++k) grads.w_x.col(ids[k]) = cache.d_gates.col(k);

dense-backward-bias | include/charlstm/dense.hpp | test_gradients | [gradient]
  grads.b.noalias() += d_logits.rowwise().sum();
  grads.b.noalias() += d_logits.col(0);

loss-mean | include/charlstm/loss.hpp | test_pytorch_parity | [pytorch]
  const S scale = S(1) / static_cast<S>(N);
  const S scale = S(1);

# The optimizers.
rmsprop-rho | include/charlstm/rmsprop.hpp | test_pytorch_parity | [pytorch]
  rmsprop_update(n, params, grads, acc, static_cast<S>(lr), static_cast<S>(rho),
  rmsprop_update(n, params, grads, acc, static_cast<S>(lr), static_cast<S>(0.99),

adam-second-moment | include/charlstm/adam.hpp | test_stacked | [pytorch]
  v[k] = b2 * v[k] + keep2 * g * g;
  v[k] = b2 * m[k] + keep2 * g * g;

adam-bias-correction | include/charlstm/adam.hpp | test_stacked | [pytorch]
  params[k] -= step_size * m[k] / (std::sqrt(v[k]) / sqrt_c2 + eps);
  params[k] -= step_size * m[k] / (std::sqrt(v[k]) * sqrt_c2 + eps);

# Checkpoint validation.
checkpoint-overlap | include/charlstm/safetensors.hpp | test_checkpoint | [checkpoint]
  if (ranges[k]->second.begin < ranges[k - 1]->second.end)
  if (ranges[k]->second.begin == ranges[k - 1]->second.begin)

checkpoint-finite | include/charlstm/checkpoint.hpp | test_checkpoint | [checkpoint]
  if (!Eigen::Map<matrix<S>>(t.data, t.rows, t.cols).allFinite())
  if (Eigen::Map<matrix<S>>(t.data, t.rows, t.cols).hasNaN())

checkpoint-shape | include/charlstm/checkpoint.hpp | test_checkpoint | [checkpoint]
  if (entry->shape != expected_dims) {
  if (entry->shape.size() != expected_dims.size()) {

checkpoint-vocab-size | include/charlstm/checkpoint.hpp | test_checkpoint | [checkpoint]
  if (info.vocab.size() != V) {
  if (info.vocab.size() > V) {

# The trainer's reduction over threads (parallel.hpp's reduction:: and thread_team_reducer).
trainer-slice-weight | include/charlstm/parallel.hpp | test_trainer | [trainer]
  const S weight = static_cast<S>(size) / static_cast<S>(B);
  const S weight = static_cast<S>(size) / static_cast<S>(B + 1);

trainer-norm-sum | include/charlstm/parallel.hpp | test_trainer | [trainer]
  for (double p : partial_squares_) squares += p;  // fixed order: deterministic
  for (double p : partial_squares_) squares = p;  // fixed order: deterministic

trainer-loss-weight | include/charlstm/parallel.hpp | test_trainer | [trainer]
  loss += losses[k] * static_cast<S>(sizes[k]) / static_cast<S>(B);
  loss += losses[k] * static_cast<S>(sizes[0]) / static_cast<S>(B);
MUTATIONS
)

# The scratch copy: <work>/repo beside <work>/shared/data, as the build expects the corpora.
work=$(mktemp -d /tmp/charlstm_mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo" "$work/shared"
ln -s "$(cd "$repo/../shared/data" && pwd)" "$work/shared/data"
git -C "$repo" archive HEAD | tar -x -C "$work/repo"
build="$work/repo/build/release"
echo "mutate: HEAD $(git -C "$repo" rev-parse --short HEAD) copied to $work" >&2
# The release preset at -O1: the suites compile about twice as fast, and the unmutated run
# below checks that they pass as built.
(cd "$work/repo" && cmake --preset release -DCHARLSTM_BUILD_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" >"$work/configure.log" 2>&1) ||
  { cat "$work/configure.log" >&2; exit 1; }

# Parses the list into parallel arrays.
ids=() files=() suites=() filters=() froms=() tos=()
while IFS= read -r header; do
  [[ -z "${header// }" || "$header" == \#* ]] && continue
  IFS= read -r from
  IFS= read -r to
  IFS='|' read -r id file suite filter <<<"$header"
  trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; echo "${s%"${s##*[![:space:]]}"}"; }
  id=$(trim "$id")
  [[ -n "$pattern" && ! "$id" =~ $pattern ]] && continue
  ids+=("$id") files+=("$(trim "$file")") suites+=("$(trim "$suite")") filters+=("$(trim "$filter")")
  froms+=("$(trim "$from")") tos+=("$(trim "$to")")
done <<<"$mutations"
[ ${#ids[@]} -gt 0 ] || { echo "mutate: no mutation matches '$pattern'" >&2; exit 1; }

# Runs suite $1 with filter $2; prints the names of the failed test cases, one per line.
run_suite() {
  local exe="$build/tests/suite_$1" out="$work/result.xml" status=0
  # --warn NoTests: a filter that matches nothing fails (Catch v2 would pass it).
  timeout 1200 "$exe" "$2" --warn NoTests -r junit -o "$out" >/dev/null 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    /usr/bin/python3 - "$out" "$status" <<'PY'
import re, sys, xml.etree.ElementTree as ET
failed = []
try:
    for case in ET.parse(sys.argv[1]).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            # A TEMPLATE_TEST_CASE's instances, "name - float" and "name - double", once.
            name = re.sub(r" - (float|double)$", "", case.get("name"))
            if name not in failed:
                failed.append(name)
except Exception:
    pass
print("\n".join(failed) if failed else f"(exit status {sys.argv[2]})")
PY
  fi
}

# The unmutated suites must build and pass, or every "caught" below would mean nothing.
needed=$(printf '%s\n' "${suites[@]}" | sort -u)
for suite in $needed; do
  echo "mutate: building suite_$suite" >&2
  cmake --build "$build" --target "suite_$suite" -j "$jobs" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; echo "mutate: suite_$suite does not build unmutated" >&2; exit 1; }
done
for k in "${!ids[@]}"; do
  key="${suites[$k]} ${filters[$k]}"
  [[ " ${baseline_done:-} " == *" $key "* ]] && continue
  baseline_done="${baseline_done:-} $key"
  failed=$(run_suite "${suites[$k]}" "${filters[$k]}")
  if [ -n "$failed" ]; then
    echo "mutate: suite_${suites[$k]} '${filters[$k]}' fails unmutated: $failed" >&2
    exit 1
  fi
done

echo "| # | mutation | file | result | test that caught it |"
echo "| --- | --- | --- | --- | --- |"
survived=0
for k in "${!ids[@]}"; do
  id=${ids[$k]} file=${files[$k]} suite=${suites[$k]} filter=${filters[$k]}
  target="$work/repo/$file"
  cp "$target" "$work/pristine"
  applied=$(FROM=${froms[$k]} TO=${tos[$k]} /usr/bin/python3 - "$target" <<'PY'
import os, sys
path, old, new = sys.argv[1], os.environ["FROM"], os.environ["TO"]
text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
n = text.count(old)
if n == 1:
    open(path, "w", encoding="utf-8").write(text.replace(old, new))
print(n)
PY
)
  shown="\`${froms[$k]}\` → \`${tos[$k]}\`"
  shown=${shown//|/\\|}
  if [ "$applied" != 1 ]; then
    result="no longer applies ($applied occurrences)" caught="-"
    survived=$((survived + 1))
  elif ! cmake --build "$build" --target "suite_$suite" -j "$jobs" >"$work/build.log" 2>&1; then
    result="does not compile" caught="-"
    survived=$((survived + 1))
  else
    failed=$(run_suite "$suite" "$filter")
    if [ -n "$failed" ]; then
      result="caught" caught="$(echo "$failed" | head -2 | sed 's/.*/"&"/' | paste -sd ';' | sed 's/;/, /g') (suite_$suite)"
    else
      result="**survived**" caught="-"
      survived=$((survived + 1))
    fi
  fi
  cp "$work/pristine" "$target"
  echo "| $id | $shown | \`$file\` | $result | ${caught//|/\\|} |"
  echo "mutate: $id: $result" >&2
done
# The restored files must rebuild before the scratch copy goes; nothing else to undo.
echo "mutate: ${#ids[@]} mutations, $((${#ids[@]} - survived)) caught" >&2
[ "$survived" -eq 0 ]
