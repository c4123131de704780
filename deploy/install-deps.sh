#!/bin/sh
# Installs every Debian package h2gate's build, tests and demo need, when
# missing. A quick no-op when everything is present.
set -e
PKGS="build-essential libnghttp2-dev android-libboringssl-dev libev-dev libjemalloc-dev
libc-ares-dev libhttp-parser-dev libcrypt-dev libcmocka-dev python3 python3-pytest python3-pytest-xdist python3-h2
python3-prometheus-client python3-yaml python3-grpcio curl nghttp2-client apache2-utils openssl nodejs socat procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# npm packages of the integration tests (tests/integration/package.json:
# `ws`, the WebSocket client of test_websocket.py; `playwright-core`, which
# drives Chromium in test_dashboard.py); a quick no-op when installed.
# Without the network the tests that need them are skipped.
npm_deps() {
    dir="$(dirname "$0")/../tests/integration"
    [ -d "$dir/node_modules/ws" ] && [ -d "$dir/node_modules/playwright-core" ] && return 0
    if ! command -v npm >/dev/null 2>&1; then
        # Debian's nodejs comes without npm (its own package); a nodejs
        # from elsewhere may conflict with it: then the tests skip.
        echo "h2gate: installing npm (for the node WebSocket tests)"
        $SUDO apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1 ||
            { echo "h2gate: npm missing: node WebSocket tests will be skipped" >&2; return 0; }
    fi
    (cd "$dir" && npm ci --no-audit --no-fund --silent) ||
        echo "h2gate: npm ci failed (no network?): node WebSocket and dashboard tests will be skipped" >&2
}
# Debian's chromium, for the dashboard's browser tests only: optional, so a
# failure to install it (no such package on this system, no network) never
# fails `make deps`; test_dashboard.py then skips those tests and says why.
chromium_dep() {
    dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed' && return 0
    echo "h2gate: installing chromium (for the dashboard test)"
    if [ -z "${apt_updated:-}" ]; then
        $SUDO apt-get update -q >/dev/null 2>&1 || true
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
        >/dev/null 2>&1 ||
        echo "h2gate: chromium could not be installed: the dashboard test" \
             "(tests/integration/test_dashboard.py) will be skipped" >&2
}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
[ -z "$missing" ] && { npm_deps; chromium_dep; exit 0; }
echo "h2gate: installing missing packages:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || { echo "h2gate: apt-get update failed; check the network or your apt sources" >&2; exit 1; }
apt_updated=1
$SUDO apt-get install -y -q --no-install-recommends $missing || {
    echo "h2gate: could not install:$missing (install them by hand and re-run)" >&2; exit 1; }
npm_deps
chromium_dep
