#!/usr/bin/env bash
# A rank that stops participating makes every rank exit non-zero within timeout + 10 s, and stderr
# carries the watchdog report (rank, op, sequence number, bytes, history).
# usage: watchdog_test.sh MPIEXEC STALL_BINARY [mpiexec flags...]
set -u
mpiexec="$1"; binary="$2"; shift 2
timeout_s=2
out="$(mktemp)"
start=$(date +%s)
BRAIN_TEST_STALL_RANK=1 BRAIN_TEST_STALL_SEQ=5 timeout 60 "$mpiexec" -n 3 "$@" \
  -x BRAIN_TEST_STALL_RANK -x BRAIN_TEST_STALL_SEQ "$binary" "$timeout_s" >"$out" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
cat "$out"
fail() { echo "FAIL: $*"; rm -f "$out"; exit 1; }
[[ $rc != 0 ]] || fail "job exited 0"
[[ $rc != 124 ]] || fail "job hung until the test's 60 s limit"
(( elapsed <= timeout_s + 10 )) || fail "took ${elapsed}s, more than timeout + 10 s"
grep -q "\[brain watchdog\] rank [02]: collective timed out" "$out" || fail "no watchdog report from a waiting rank"
grep -q "stuck: seq 5 op all_reduce bytes 4000" "$out" || fail "report lacks op/seq/bytes of the stuck collective"
grep -q "seq 4 all_reduce 4000 bytes: .* ms" "$out" || fail "report lacks the collective history"
grep -q "finished all collectives" "$out" && fail "a rank finished although rank 1 stalled"
echo "job aborted after ${elapsed}s with exit $rc"
rm -f "$out"
echo "1 passed, 0 failed"
