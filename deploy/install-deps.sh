#!/bin/sh
# Installs every Debian package h2gate's build, tests and demo need, when
# missing. A quick no-op when everything is present.
set -e
PKGS="build-essential libnghttp2-dev android-libboringssl-dev libev-dev libjemalloc-dev
libc-ares-dev libhttp-parser-dev libcrypt-dev libcmocka-dev python3 python3-pytest python3-h2
python3-prometheus-client curl nghttp2-client openssl nodejs socat procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "h2gate: installing missing packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || { echo "h2gate: apt-get update failed; check the network or your apt sources" >&2; exit 1; }
$SUDO apt-get install -y -q --no-install-recommends $missing || {
    echo "h2gate: could not install:$missing (install them by hand and re-run)" >&2; exit 1; }
