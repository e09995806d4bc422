#!/bin/sh
# tests/install-deps.sh - installs the Debian packages syncengine needs to build,
# test and run its demo, when some are missing.  Needs root (or sudo).
set -eu
PKGS="build-essential pkg-config clang libcurl4-openssl-dev libpq-dev libjansson-dev libinih-dev
libcmocka-dev libmicrohttpd-dev libsystemd-dev systemd groff-base postgresql postgresql-client pgbouncer python3
ca-certificates valgrind prometheus chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "missing Debian packages:$missing" >&2
    echo "run as root: apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
