#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a copy of its seed corpus (the checked-in corpus is
# never modified). Prints the executions and corpus size; with BRAIN_RELIABILITY_FIGURES=DIR it also
# writes DIR/fuzz_<target>.txt ("executions N") for the reliability summary.
#   run_fuzzer.sh FUZZER_BINARY SEED_CORPUS_DIR SECONDS
# Exit status: libFuzzer's (non-zero on a crash, leak, sanitizer report or timeout); the crashing input is
# kept as ./crash-* in the working directory (ctest: the build's tests/reliability directory).
set -euo pipefail
bin="$1"; seeds="$2"; seconds="$3"
name="$(basename "$bin")"
work="$(mktemp -d "${TMPDIR:-/tmp}/brain_${name}_XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
set +e
"$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
  -artifact_prefix="./${name}-" "$work/corpus" >"$work/log" 2>&1
rc=$?
set -e
execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)"
units="$(ls "$work/corpus" | wc -l)"
if [[ $rc -ne 0 ]]; then
  tail -60 "$work/log"
  echo "[fuzz] $name: FAILED (exit $rc) after $execs executions; reproducer saved as ./${name}-*"
  exit $rc
fi
echo "[fuzz] $name: $execs executions in ${seconds} s, no crash; corpus $(ls "$seeds" | wc -l) seeds -> $units units"
if [[ -n "${BRAIN_RELIABILITY_FIGURES:-}" ]]; then
  mkdir -p "$BRAIN_RELIABILITY_FIGURES"
  echo "executions $execs" >"$BRAIN_RELIABILITY_FIGURES/fuzz_$name.txt"
fi
