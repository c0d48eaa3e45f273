#!/usr/bin/env bash
# sam build for arm64 (python3.13), then prove the packaged Pillow is an aarch64 binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
PATH="$(python313_path):$PATH" sam build --parallel --cached
"${VENV:-.venv}"/bin/python scripts/check_build_arch.py .aws-sam/build/ProcessFunction
