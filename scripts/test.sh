#!/usr/bin/env bash
# Bootstrap + build + the whole test suite (ctest). Prints ctest's summary; exits non-zero on failure.
#   BRAIN_TEST_JOBS   parallel tests (default 2)
#   extra arguments go to ctest, e.g. scripts/test.sh -L objectives
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/bootstrap.sh"
"$repo/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${BRAIN_BUILD_DIR:-$repo/build}" --output-on-failure -j "${BRAIN_TEST_JOBS:-2}" "$@"
