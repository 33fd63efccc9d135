#!/usr/bin/env bash
# launch/brainrun: the mpirun flags it computes (dry runs against hand-written expectations) and a real
# `brainrun -np 2 brain version`.
# usage: brainrun_test.sh BRAIN_BINARY SOURCE_DIR
set -uo pipefail
brain="$(realpath "$1")"; src="$(realpath "$2")"
brainrun="$src/launch/brainrun"
fails=0 passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
root=""
[[ $(id -u) == 0 ]] && root="--allow-run-as-root "
env_flags="-x OMP_NUM_THREADS -x BRAIN_THREADS_PER_RANK"

expect_dry() {  # NAME EXPECTED-COMMAND ENV... -- BRAINRUN-ARGS...
  local name="$1" want="$2"; shift 2
  local envs=()
  while [[ "$1" != -- ]]; do envs+=("$1"); shift; done
  shift
  local got
  got="$(env -u CUDA_VISIBLE_DEVICES -u BRAINRUN_GPUS PATH="/usr/bin:/bin" "${envs[@]}" \
    BRAIN="$brain" "$brainrun" --dry-run "$@" 2>/dev/null)"
  if [[ "$got" == "$want" ]]; then pass "$name"; else fail "$name"; echo "  want: $want"; echo "  got:  $got"; fi
}

# 8 cores, 2 GPUs listed in CUDA_VISIBLE_DEVICES: one rank per GPU, 4 cores each, bound.
expect_dry "one rank per GPU" \
  "mpirun -np 2 ${root}--bind-to core --map-by slot:PE=4 $env_flags $brain align --config c" \
  BRAINRUN_CORES=8 CUDA_VISIBLE_DEVICES=0,1 -- brain align --config c
# GPUs hidden (CUDA_VISIBLE_DEVICES=""): one rank per core.
expect_dry "CPU run: one rank per core" \
  "mpirun -np 8 ${root}--bind-to core --map-by slot:PE=1 $env_flags $brain version" \
  BRAINRUN_CORES=8 CUDA_VISIBLE_DEVICES= -- brain version
# More ranks than cores: oversubscribe, no binding, 1 thread.
expect_dry "oversubscribed" \
  "mpirun -np 4 ${root}--oversubscribe --bind-to none $env_flags $brain version" \
  BRAINRUN_CORES=2 -- -np 4 brain version
# Explicit threads: 2 ranks x 3 threads on 8 cores.
expect_dry "--threads" \
  "mpirun -np 2 ${root}--bind-to core --map-by slot:PE=3 $env_flags $brain version" \
  BRAINRUN_CORES=8 -- -np 2 --threads 3 brain version
# The user's own binding wins; other mpirun options pass through in order.
expect_dry "user --bind-to wins" \
  "mpirun -np 2 ${root}$env_flags --bind-to socket --tag-output $brain version" \
  BRAINRUN_CORES=8 -- -np 2 --bind-to socket --tag-output brain version

# Exported thread count.
fake="$(mktemp)"; trap 'rm -f "$fake"' EXIT
printf '#!/bin/sh\nenv\n' >"$fake"; chmod +x "$fake"   # an "mpirun" that prints its environment
got="$(BRAINRUN_CORES=8 CUDA_VISIBLE_DEVICES=0,1 MPIRUN="$fake" "$brainrun" brain 2>/dev/null |
  grep -E '^(OMP_NUM_THREADS|BRAIN_THREADS_PER_RANK)=' | sort | tr '\n' ' ')"
[[ "$got" == "BRAIN_THREADS_PER_RANK=4 OMP_NUM_THREADS=4 " ]] && pass "threads exported" ||
  fail "threads exported: got '$got'"

# Bad input is a usage error (exit 2).
"$brainrun" --dry-run -np 0 brain version >/dev/null 2>&1; rc=$?
((rc == 2)) && pass "-np 0 rejected" || fail "-np 0: exit $rc, want 2"
"$brainrun" --dry-run >/dev/null 2>&1; rc=$?
((rc == 2)) && pass "no command rejected" || fail "no command: exit $rc, want 2"

# The real thing: 2 ranks of brain version, 1 thread each requested through brainrun.
out="$(BRAIN="$brain" timeout 60 "$brainrun" -np 2 --threads 1 brain version 2>&1)"; rc=$?
if ((rc == 0)) && grep -q "^\[brainrun\] mpirun -np 2 .*$brain version$" <<<"$out" &&
   grep -q '^rank 0/2 (local 0/2 via openmpi) on .*, 1 thread$' <<<"$out" &&
   grep -q '^rank 1/2 (local 1/2 via openmpi) on .*, 1 thread$' <<<"$out"; then
  pass "brainrun -np 2 brain version"
else
  fail "brainrun -np 2 brain version (exit $rc)"; echo "$out"
fi
# brain reads BRAIN_THREADS_PER_RANK: 3 threads per rank (more than the cores here: not bound).
out="$(BRAIN="$brain" BRAINRUN_CORES=1 timeout 60 "$brainrun" -np 2 --threads 3 brain version 2>&1)"; rc=$?
if ((rc == 0)) && [[ "$(grep -c '^rank [01]/2 .*, 3 threads$' <<<"$out")" == 2 ]]; then
  pass "brain uses brainrun's thread count"
else
  fail "brainrun --threads 3 (exit $rc)"; echo "$out"
fi

echo "$passes passed, $fails failed"
((fails == 0))
