#!/usr/bin/env bash
# Configures and builds brain into build/ (executables in build/bin/). Run scripts/bootstrap.sh first.
#   BRAIN_BUILD_DIR   build directory (default build)
#   BRAIN_BUILD_JOBS  parallel compile jobs (default 2: LibTorch units need ~1 GB each)
#   extra arguments are passed to cmake's configure step, e.g. -DCMAKE_BUILD_TYPE=Debug
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BRAIN_BUILD_DIR:-$repo/build}"
# ccache keys on compile commands; relative paths let clones (CI's fresh checkout) share the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$repo}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S "$repo" -B "$build" -G Ninja "$@" >"${build}.configure.log" 2>&1 || {
  cat "${build}.configure.log"; echo "[build] cmake configure failed (log: ${build}.configure.log)"; exit 1; }
grep -E '^-- brain:' "${build}.configure.log" || true
cmake --build "$build" -j "${BRAIN_BUILD_JOBS:-2}"
