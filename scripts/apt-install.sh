#!/usr/bin/env bash
# apt-install.sh WHO PACKAGE...: install Debian packages for tests (root, or sudo -n), without
# starting their services; says why and exits 0 when it cannot (the tests that need them skip).
set -u
WHO=$1; shift
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$WHO: apt-get is not available; install $* to run the tests that need them."
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "$WHO: not root and no sudo; the tests that need $* will be skipped."
    exit 0
  fi
fi
echo "$WHO: installing $* ..."
export DEBIAN_FRONTEND=noninteractive
# a policy-rc.d keeps apt from starting system services: tests start their own on free ports
OWN_POLICY=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  OWN_POLICY=1
fi
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
[ -n "$OWN_POLICY" ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit 0
