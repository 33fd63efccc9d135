#!/usr/bin/env bash
# Bootstrap + build + the built-in demo (`brain demo`) on 2 MPI ranks.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/bootstrap.sh"
"$repo/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$repo"
exec mpirun -np 2 --oversubscribe "${BRAIN_BUILD_DIR:-$repo/build}/bin/brain" demo "$@"
