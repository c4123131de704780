#!/bin/sh
# Installs what `make fuzz` needs, when missing: clang with libFuzzer and the
# sanitizer runtimes (on Debian 12 they are libclang-rt-dev, only a
# Recommends of clang) and the http-parser headers. A quick no-op when a
# libFuzzer program already links. Same apt logic as install-deps.sh.
set -e
PKGS="clang libclang-rt-dev libhttp-parser-dev"

probe() {
    command -v clang >/dev/null 2>&1 || return 1
    [ -f /usr/include/http_parser.h ] || return 1
    d=$(mktemp -d) || return 1
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/p.c"
    clang -fsanitize=fuzzer,address,undefined -o "$d/p" "$d/p.c" >/dev/null 2>&1
    rc=$?
    rm -rf "$d"
    return $rc
}

probe && exit 0
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "h2gate: clang cannot link a libFuzzer program although$PKGS are installed" >&2
    exit 1
fi
echo "h2gate: installing missing packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || { echo "h2gate: apt-get update failed; check the network or your apt sources" >&2; exit 1; }
$SUDO apt-get install -y -q --no-install-recommends $missing || {
    echo "h2gate: could not install:$missing (install them by hand and re-run)" >&2; exit 1; }
probe || { echo "h2gate: clang still cannot link a libFuzzer program" >&2; exit 1; }
