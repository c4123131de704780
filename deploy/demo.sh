#!/bin/sh
# The demo behind `make run`: build/origin on 127.0.0.1:8080 behind
# build/h2gate on 127.0.0.1:8443 (TLS, ALPN h2 and http/1.1) and
# 127.0.0.1:8000 (cleartext: HTTP/2 prior knowledge or HTTP/1.1), with a
# self-signed certificate made once under build/demo/. Ctrl-C stops both.
# BUILD=build-asan runs the sanitizer binaries instead.
set -eu
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
DEMO=$BUILD/demo
HOST=127.0.0.1
ORIGIN_PORT=8080
TLS_PORT=8443
PLAIN_PORT=8000
ADMIN_PORT=9090

for bin in "$BUILD/origin" "$BUILD/h2gate"; do
    if [ ! -x "$bin" ]; then
        echo "demo: $bin is missing; run 'make' first" >&2
        exit 1
    fi
done

# True when some socket LISTENs on TCP port $1 (any address). Read from
# /proc so the check itself opens no connection.
listening() {
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

for port in $ORIGIN_PORT $TLS_PORT $PLAIN_PORT $ADMIN_PORT; do
    if listening "$port"; then
        echo "demo: port $port is already in use; stop whatever listens there" \
             "(ss -ltnp 'sport = :$port') and try again" >&2
        exit 1
    fi
done

mkdir -p "$DEMO"
if [ ! -s "$DEMO/key.pem" ] || [ ! -s "$DEMO/cert.pem" ]; then
    echo "demo: making a self-signed certificate for localhost in $DEMO/"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$DEMO/key.pem" -out "$DEMO/cert.pem" -days 365 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        >"$DEMO/openssl.log" 2>&1 || {
        echo "demo: openssl failed:" >&2
        cat "$DEMO/openssl.log" >&2
        exit 1
    }
fi

ORIGIN_PID=
GATE_PID=

stop() {
    for pid in $GATE_PID $ORIGIN_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $GATE_PID $ORIGIN_PID; do
        # Give each a few seconds for its graceful exit, then insist.
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    GATE_PID=
    ORIGIN_PID=
}

trap 'echo; echo "demo: stopping"; stop; exit 0' INT TERM
trap 'stop' EXIT

# Waits until $2 listens on port $3; fails if process $1 exits first.
wait_listen() {
    n=0
    while ! listening "$3"; do
        if ! kill -0 "$1" 2>/dev/null; then
            echo "demo: $2 exited before listening on $HOST:$3" >&2
            return 1
        fi
        if [ $n -ge 100 ]; then
            echo "demo: $2 did not listen on $HOST:$3 within 10 s" >&2
            return 1
        fi
        sleep 0.1
        n=$((n + 1))
    done
}

"$BUILD/origin" -a "$HOST" -p "$ORIGIN_PORT" &
ORIGIN_PID=$!
wait_listen "$ORIGIN_PID" origin "$ORIGIN_PORT" || exit 1

"$BUILD/h2gate" -f "$HOST,$TLS_PORT" -f "$HOST,$PLAIN_PORT;no-tls" -b "$HOST,$ORIGIN_PORT" \
    --admin="$HOST,$ADMIN_PORT" "$DEMO/key.pem" "$DEMO/cert.pem" &
GATE_PID=$!
wait_listen "$GATE_PID" h2gate "$TLS_PORT" || exit 1
wait_listen "$GATE_PID" h2gate "$PLAIN_PORT" || exit 1
wait_listen "$GATE_PID" h2gate "$ADMIN_PORT" || exit 1

cat <<EOF

h2gate is up: TLS on https://$HOST:$TLS_PORT, cleartext on http://$HOST:$PLAIN_PORT,
forwarding to the demo origin on http://$HOST:$ORIGIN_PORT; its dashboard
(and /metrics, /stats) on http://$HOST:$ADMIN_PORT/. Try:

  curl -k --http2 https://$HOST:$TLS_PORT/
  curl --http2-prior-knowledge http://$HOST:$PLAIN_PORT/
  curl -k --http2 https://$HOST:$TLS_PORT/size/1000 -o /dev/null -w '%{http_version} %{http_code} %{size_download}\\n'
  curl --http1.1 -v http://$HOST:$PLAIN_PORT/headers
  curl -k --http1.1 https://$HOST:$TLS_PORT/size/1000 | wc -c
  nghttp -nv http://$HOST:$PLAIN_PORT/size/100
  h2load -n 10000 -c 10 -m 10 http://$HOST:$PLAIN_PORT/size/100

Origin endpoints: /, /size/N, POST|PUT (echo), /delay/MS, /headers,
/status/NNN, /stall, /close. Press Ctrl-C to stop.
EOF

# Sleep in wait, which a trapped signal interrupts; report either process
# leaving on its own.
while :; do
    if ! kill -0 "$GATE_PID" 2>/dev/null; then
        wait "$GATE_PID" 2>/dev/null && rc=0 || rc=$?
        GATE_PID=
        echo "demo: h2gate exited (status $rc); stopping the origin" >&2
        exit 1
    fi
    if ! kill -0 "$ORIGIN_PID" 2>/dev/null; then
        wait "$ORIGIN_PID" 2>/dev/null && rc=0 || rc=$?
        ORIGIN_PID=
        echo "demo: origin exited (status $rc); stopping h2gate" >&2
        exit 1
    fi
    sleep 1 &
    wait $! || true
done
