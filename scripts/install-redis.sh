#!/usr/bin/env bash
# Installs Debian's Redis server (redis-server) for tests/fleet.rs, when it is missing.
# Idempotent: does nothing when redis-server is on PATH. Uses sudo when not run as root.
# Starts no service: the tests run their own redis-server on a free port of 127.0.0.1.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-redis: redis-server is missing and this user is not root (no sudo either)" >&2
    exit 1
fi

# The package's maintainer scripts would start the Debian service: while installing, a
# policy-rc.d that refuses every start (101), unless one is already there (then it decides).
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    trap '"${SUDO[@]}" rm -f "$POLICY"' EXIT
fi

echo "install-redis: installing Debian's redis-server" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends redis-server >&2

if ! command -v redis-server >/dev/null 2>&1; then
    echo "install-redis: apt-get finished but redis-server is still missing" >&2
    exit 1
fi
