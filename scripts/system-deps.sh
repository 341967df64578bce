#!/usr/bin/env bash
# Installs the Debian packages a command needs when they are missing: `run` needs npm;
# `test` also needs Chromium (browser tests), PostgreSQL (the second test pass) and
# Redis (several web processes sharing sockets and limits).
set -euo pipefail
purpose="${1:-test}"
missing=()
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "$purpose" = test ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1 \
    || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "'make $purpose' needs these Debian packages: ${missing[*]}." >&2
  echo "Install them (sudo apt-get install ${missing[*]}) and run 'make $purpose' again." >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
