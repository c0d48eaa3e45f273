#!/usr/bin/env bash
# The browser tests drive Debian's Chromium; install it when it is missing and we may.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed and cannot be installed here (apt-get install chromium); the browser tests (tests/e2e/test_page.py) will fail" >&2
fi
