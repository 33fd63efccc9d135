#!/usr/bin/env bash
# Soak test (not in ctest): `brain align` at np 2 for SOAK_MINUTES (default 20) with the RSS of each rank
# sampled every 2 s; prints each rank's RSS growth after round 1 against the bound
# max(SOAK_BOUND_MIB (default 64), 10% of the round-1 RSS) and exits non-zero past it.
#   BRAIN_BUILD_DIR  build directory holding bin/brain (default build)
#   SOAK_MINUTES     run length in minutes (default 20)
#   SOAK_BOUND_MIB   absolute growth bound in MiB (default 64)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BRAIN_BUILD_DIR:-$repo/build}"
python="${BRAIN_PYTHON:-$HOME/.cache/brain/venv/bin/python}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec "$python" "$repo/tests/reliability/soak.py" "$build/bin/brain" "$(command -v mpirun)" \
  "${SOAK_MINUTES:-20}" "${SOAK_BOUND_MIB:-64}" --oversubscribe
