#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (never `playwright install`).
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: apt-get is not available; browser tests will be skipped (install Debian's chromium at /usr/bin/chromium to run them)."
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure-chromium: not root and no sudo; browser tests will be skipped."
    exit 0
  fi
fi
echo "ensure-chromium: installing Debian chromium for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
if [ -x /usr/bin/chromium ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "ensure-chromium: apt-get could not install chromium; browser tests will be skipped." >&2
fi
exit 0
