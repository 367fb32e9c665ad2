#!/usr/bin/env bash
# Install Debian's PostgreSQL server and nginx (with its stream module) for the store and
# cluster tests and `make cluster`. Tests start their own throwaway servers; nothing is enabled.
set -u
present() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 \
    && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]
}
present && exit 0
bash "$(dirname "$0")/apt-install.sh" ensure-cluster-tools postgresql nginx libnginx-mod-stream
present || echo "ensure-cluster-tools: PostgreSQL or nginx is still missing; their tests will be skipped." >&2
exit 0
