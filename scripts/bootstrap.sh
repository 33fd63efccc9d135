#!/usr/bin/env bash
# Installs what brain needs on Debian 12: system packages (apt) and a Python virtualenv holding PyPI's
# torch (LibTorch, the C++ library brain links) plus the test-only reference libraries.
# Idempotent: a second run checks and does nothing slow.
#   BRAIN_VENV   virtualenv location (default $HOME/.cache/brain/venv, outside the repository)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BRAIN_VENV:-$HOME/.cache/brain/venv}"
log() { printf '[bootstrap] %s\n' "$*"; }

# ---------------------------------------------------------------- system packages
apt_packages=(
  build-essential cmake ninja-build ccache pkg-config git    # toolchain
  libopenmpi-dev openmpi-bin                                 # processes, CPU collectives
  libprotobuf-dev protobuf-compiler                          # config schema, checkpoint records
  libabsl-dev                                                # Status, flags, strings
  nlohmann-json3-dev                                         # HF config.json, tokenizer.json, JSONL
  libgtest-dev libgmock-dev libbenchmark-dev                 # tests, microbenchmarks
  slurm-wlm munge                                            # local Slurm for the launch tests
  clang libclang-rt-14-dev                                   # libFuzzer targets (tests/reliability/fuzz)
  python3 python3-venv python3-pip                           # the reference/LibTorch venv
)
missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) != 0 ]] && sudo="sudo"
  log "installing apt packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "apt packages: all ${#apt_packages[@]} present"
fi

# ---------------------------------------------------------------- python virtualenv
requirements="$repo/scripts/requirements.txt"
stamp="$venv/.brain-requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating virtualenv $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log "installing Python packages into $venv:"
  grep -Ev '^\s*(#|$)' "$requirements" | sed 's/^/[bootstrap]   /'
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$requirements"
  echo "$want" >"$stamp"
else
  log "virtualenv $venv: requirements up to date"
fi
"$venv/bin/python" - <<'PY'
import torch
print(f"[bootstrap] LibTorch {torch.__version__} (CUDA {torch.version.cuda}) at {torch.utils.cmake_prefix_path}")
PY
if command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  log "nvcc found: CUDA kernels will be compiled"
else
  log "nvcc not found: building without CUDA kernels"
fi
