#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (never `playwright install`).
set -u
[ -x /usr/bin/chromium ] && exit 0
bash "$(dirname "$0")/apt-install.sh" ensure-chromium chromium fonts-dejavu-core
if [ -x /usr/bin/chromium ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "ensure-chromium: chromium is not installed; browser tests will be skipped." >&2
fi
exit 0
