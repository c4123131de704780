#!/bin/sh
# Runs every test of h2gate and ends with one line: "N passed, M failed"
# (", K skipped" when K > 0). Exit status is non-zero when anything failed,
# crashed, timed out or ran no tests.
#
#   sh tests/run-all.sh              build/ and build-asan/: unit binaries,
#                                    then the pytest integration suite; then
#                                    the ThreadSanitizer run of
#                                    build-tsan/h2gate (tests/integration/
#                                    test_tsan.py)
#   sh tests/run-all.sh --unit-only  the unit binaries of build/ only
#
# Called by `make test` after the three builds. Integration tests need Debian's
# python (python3-h2, python3-pytest), not whatever python3 is first on PATH.

set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
PY=/usr/bin/python3
UNIT_TIMEOUT=300
PYTEST_TIMEOUT=900
# pytest-xdist workers per integration suite (two suites run at once).
JOBS=${H2GATE_TEST_JOBS:-2}

UNIT_ONLY=0
case "${1:-}" in
    --unit-only) UNIT_ONLY=1 ;;
    "") ;;
    *) echo "usage: $0 [--unit-only]" >&2; exit 2 ;;
esac

PASSED=0
FAILED=0
SKIPPED=0
BROKEN=0        # something crashed, timed out or ran nothing

TMP=$(mktemp -d "${TMPDIR:-/tmp}/h2gate-tests.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# san_env BUILD: the environment a BUILD's binaries run with.
san_env() {
    if [ "$1" = build-asan ]; then
        echo "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0" \
             "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
    elif [ "$1" = build-tsan ]; then
        echo "TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1" \
             "H2GATE_TSAN_BIN=$ROOT/build-tsan/h2gate"
    fi
}

# run_unit BUILD: every executable under BUILD/tests/unit, cmocka-counted.
run_unit() {
    build=$1
    dir=$build/tests/unit
    if [ ! -d "$dir" ]; then
        echo "== $build: unit tests: none built ($dir missing)"
        return
    fi
    find "$dir" -type f -executable | sort > "$TMP/unit-list"
    if [ ! -s "$TMP/unit-list" ]; then
        echo "== $build: unit tests: none built"
        return
    fi
    echo "== $build: unit tests"
    while IFS= read -r bin; do
        out=$TMP/unit.out
        # shellcheck disable=SC2046
        env CMOCKA_MESSAGE_OUTPUT=stdout $(san_env "$build") \
            timeout "$UNIT_TIMEOUT" "$bin" > "$out" 2>&1 < /dev/null
        rc=$?
        # cmocka prints one summary per group; a binary may run several.
        p=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$out")
        f=$(awk '/^\[  FAILED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$out")
        note=""
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            # Crashed, timed out, or failed without saying so: one failure.
            f=1
            BROKEN=1
            note=" (exit status $rc)"
        elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
            p=1     # not cmocka, or no summary: a clean exit is one pass
        fi
        if grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' \
                -e 'runtime error:' "$out" && [ "$f" -eq 0 ]; then
            f=1
            note=" (sanitizer report)"
        fi
        PASSED=$((PASSED + p))
        FAILED=$((FAILED + f))
        if [ "$f" -gt 0 ]; then
            echo "   FAIL ${bin#"$build"/tests/unit/}: $p passed, $f failed$note"
            sed 's/^/      | /' "$out" | tail -n 60
        else
            echo "   ok   ${bin#"$build"/tests/unit/}: $p passed"
        fi
    done < "$TMP/unit-list"
}

# run_pytest BUILD [TESTS [PORTS]]: the integration suite (or just TESTS)
# against BUILD/h2gate and BUILD/origin, with the loopback ports PORTS
# ("LO-HI", conftest.py's H2GATE_TEST_PORTS). build-tsan has only h2gate,
# so it runs build/'s h2gate and origin with $H2GATE_TSAN_BIN set
# (san_env), and test_tsan.py starts the TSan h2gate; the other builds
# skip that file.
run_pytest() {
    build=$1
    tests=${2:-tests/integration}
    ports=${3:-10000-31999}
    bins=$build
    [ "$build" = build-tsan ] && bins=build
    echo "== $build: integration tests"
    for b in "$bins/h2gate" "$bins/origin" "$build/h2gate"; do
        if [ ! -x "$b" ]; then
            echo "   FAIL $b is not built"
            FAILED=$((FAILED + 1))
            BROKEN=1
            return
        fi
    done
    ignore=""
    jobs=""
    if [ "$build" != build-tsan ]; then
        ignore=--ignore=tests/integration/test_tsan.py
        # The suite mostly waits on sockets and timers (a quarter of a
        # core on its own): pytest-xdist runs it in JOBS workers, each
        # with its own slice of the ports (conftest.py).
        "$PY" -c "import xdist" 2>/dev/null && jobs="-n $JOBS"
    fi
    xml=$TMP/junit-$build.xml
    rm -f "$xml"
    # shellcheck disable=SC2046,SC2086
    env H2GATE_BIN="$ROOT/$bins/h2gate" ORIGIN_BIN="$ROOT/$bins/origin" \
        H2GATE_TEST_PORTS="$ports" $(san_env "$build") \
        timeout "$PYTEST_TIMEOUT" "$PY" -m pytest -p no:cacheprovider -q -ra $jobs \
        --basetemp="$TMP/pytest-$build" --junitxml="$xml" $ignore $tests < /dev/null
    rc=$?
    counts=$("$PY" - "$xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    tree = ET.parse(sys.argv[1])
except (OSError, ET.ParseError):
    print("0 0 0 missing")
    sys.exit()
# A test that fails and also errors at teardown appears twice: count it once,
# as failed; skipped beats passed.
rank = {"passed": 0, "skipped": 1, "failed": 2}
res = {}
for tc in tree.iter("testcase"):
    tags = {c.tag for c in tc}
    s = ("failed" if tags & {"failure", "error"} else
         "skipped" if "skipped" in tags else "passed")
    key = (tc.get("classname"), tc.get("name"))
    if rank[s] >= rank.get(res.get(key), -1):
        res[key] = s
vals = list(res.values())
print(vals.count("passed"), vals.count("failed"), vals.count("skipped"), "ok")
EOF
)
    # shellcheck disable=SC2086  # split "P F S STATE" into words
    set -- $counts
    p=$1 f=$2 s=$3 state=$4
    case "$rc" in
        0|1) ;;
        5) echo "   FAIL pytest collected no tests"; BROKEN=1 ;;
        124) echo "   FAIL pytest timed out after ${PYTEST_TIMEOUT}s"; BROKEN=1 ;;
        *) echo "   FAIL pytest exit status $rc"; BROKEN=1 ;;
    esac
    if [ "$state" = missing ]; then
        echo "   FAIL no junit report from pytest"
        BROKEN=1
    fi
    # A non-zero exit that the report does not explain is one failure.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        BROKEN=1
    fi
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    SKIPPED=$((SKIPPED + s))
    echo "   $build integration: $p passed, $f failed, $s skipped"
}

# run_pytest_bg BUILD PORTS: run_pytest in the background, its output and
# its counts (as shell assignments) kept for collect_pytest.
run_pytest_bg() {
    (
        PASSED=0 FAILED=0 SKIPPED=0 BROKEN=0
        run_pytest "$1" tests/integration "$2" > "$TMP/out-$1" 2>&1
        echo "PASSED=\$((PASSED + $PASSED)) FAILED=\$((FAILED + $FAILED))" \
             "SKIPPED=\$((SKIPPED + $SKIPPED)) BROKEN=\$((BROKEN | $BROKEN))" \
             > "$TMP/counts-$1"
    ) &
}

collect_pytest() {
    cat "$TMP/out-$1"
    if [ -s "$TMP/counts-$1" ]; then
        eval "$(cat "$TMP/counts-$1")"
    else
        echo "   FAIL the $1 integration run left no counts"
        FAILED=$((FAILED + 1))
        BROKEN=1
    fi
}

if [ "$UNIT_ONLY" -eq 1 ]; then
    run_unit build
else
    run_unit build
    run_unit build-asan
    # The two integration suites mostly wait on sockets: run side by side
    # (on disjoint port ranges and temp dirs) they take little more than
    # the slower one alone.
    echo "== integration tests of build and build-asan, side by side"
    run_pytest_bg build 10000-20999
    run_pytest_bg build-asan 21000-31999
    wait
    collect_pytest build
    collect_pytest build-asan
    run_pytest build-tsan tests/integration/test_tsan.py
fi

if [ "$SKIPPED" -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ] && [ "$BROKEN" -eq 0 ]
