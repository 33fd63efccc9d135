#!/usr/bin/env bash
# `mpirun -np 2 brain version` runs both ranks: each prints its placement line, in rank order.
# usage: mpi_version_test.sh MPIEXEC BRAIN_BINARY [mpiexec flags...]
set -u
mpiexec="$1"; brain="$2"; shift 2
out="$("$mpiexec" -n 2 "$@" "$brain" version 2>&1)" || { echo "FAIL: exit $?"; echo "$out"; exit 1; }
echo "$out"
grep -q "^rank 0/2 (local 0/2 via openmpi)" <<<"$out" || { echo "FAIL: no rank 0/2 line"; exit 1; }
grep -q "^rank 1/2 (local 1/2 via openmpi)" <<<"$out" || { echo "FAIL: no rank 1/2 line"; exit 1; }
[[ "$(grep -c '^  LibTorch' <<<"$out")" == 1 ]] || { echo "FAIL: versions must print once (rank 0)"; exit 1; }
echo "1 passed, 0 failed"
