#!/usr/bin/env bash
# Install Debian's PostgreSQL server and nginx (with its stream module) for the store and
# cluster tests and `make cluster`. Tests start their own throwaway servers; nothing is enabled.
set -u
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 \
    && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-cluster-tools: apt-get is not available; PostgreSQL and nginx tests will be skipped."
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure-cluster-tools: not root and no sudo; PostgreSQL and nginx tests will be skipped."
    exit 0
  fi
fi
echo "ensure-cluster-tools: installing Debian postgresql and nginx..."
export DEBIAN_FRONTEND=noninteractive
# a policy-rc.d keeps apt from starting the system services: tests run their own on free ports
OWN_POLICY=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  OWN_POLICY=1
fi
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
  postgresql nginx libnginx-mod-stream >/dev/null
[ -n "$OWN_POLICY" ] && $SUDO rm -f /usr/sbin/policy-rc.d
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo "ensure-cluster-tools: PostgreSQL did not install" >&2
command -v nginx >/dev/null 2>&1 || echo "ensure-cluster-tools: nginx did not install" >&2
exit 0
