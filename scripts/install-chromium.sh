#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for tests/browser.rs, when it is missing.
# Idempotent: does nothing when /usr/bin/chromium exists. Uses sudo when not run as root.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-chromium: /usr/bin/chromium is missing and this user is not root (no sudo either)" >&2
    exit 1
fi

echo "install-chromium: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >&2

if [ ! -x /usr/bin/chromium ]; then
    echo "install-chromium: apt-get finished but /usr/bin/chromium is still missing" >&2
    exit 1
fi
