#!/usr/bin/env bash
# sam build for arm64 (python3.13), then prove the packaged Pillow and cryptography are aarch64 binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
PATH="$(python313_path):$PATH" sam build --parallel --cached
"${VENV:-.venv}"/bin/python scripts/check_build_arch.py .aws-sam/build/ProcessFunction
# The signed cookies' functions (src/edgeauth) carry cryptography's Rust extension.
"${VENV:-.venv}"/bin/python scripts/check_build_arch.py .aws-sam/build/SessionFunction \
  "cryptography/hazmat/bindings/_rust.*"
