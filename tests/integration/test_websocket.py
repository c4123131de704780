"""WebSocket through h2gate, phase 1 of issue 10: HTTP/1.1 clients and
HTTP/1.1 backends. An Upgrade: websocket request is forwarded with its
upgrade fields; a 101 turns both connections into a byte pipe (the CONNECT
tunnel's machinery); any other answer is relayed and the client connection
goes on as HTTP/1.1.

The backend is our own RFC 6455 echo server (ws_lib); clients are the npm
package `ws` (node_ws_client.js; skipped only when `ws` is not installed:
`make deps` installs it) and ws_lib's Python client. Loopback only; waits
are bounded polls for a state.
"""

import json
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import IS_NGHTTPX
from obs_lib import gate_with_admin, read_lines, scrape, settle, wait_lines
from testlib import HOST, H1Conn, h1_get, rss_kib
from ws_lib import (OP_BIN, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, WSClient,
                    upgrade_request, wait_flood_stalled, ws_backend)

HERE = Path(__file__).resolve().parent
NODE_CLIENT = HERE / "node_ws_client.js"
MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="h2gate's own metrics and options are checked")


@pytest.fixture
def backend():
    srv = ws_backend()
    yield srv
    srv.stop()


def ws_gate(procs, srv, *extra, workers=1, admin=False):
    spec = "%s,%d" % (HOST, srv.port)
    if admin:
        return gate_with_admin(procs, [spec], extra=list(extra), tls=False,
                               workers=workers)
    return procs.gate([spec], extra=list(extra), tls=False, workers=workers)


def heads(srv):
    """The request heads the backend saw: (method, path, {name: value})."""
    return [(m, p, dict(h)) for m, p, h in
            (r for r in srv.results if isinstance(r, tuple))]


def wait_report(srv, value, timeout=10.0):
    deadline = time.monotonic() + timeout
    while value not in srv.results:
        assert time.monotonic() < deadline, srv.results
        time.sleep(0.02)


# --------------------------------------------------------------------------
# real clients: npm `ws`


def node_ws_available():
    if shutil.which("node") is None:
        return False
    return (HERE / "node_modules" / "ws").is_dir()


def run_node(url, mode):
    p = subprocess.run(["node", str(NODE_CLIENT), url, mode, "20000"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, check=False, text=True)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not node_ws_available(),
                    reason="npm package ws missing (make deps installs it)")
def test_node_ws_echo(procs, backend):
    """ws: text, binary, a 1 MiB message, ping/pong, close from the client."""
    g = ws_gate(procs, backend)
    r = run_node("ws://%s:%d/ws" % (HOST, g.port), "echo")
    assert r["ok"], r
    assert r["steps"] == ["text", "binary", "mib", "pong"], r
    assert r["close"] == 1000, r
    wait_report(backend, "close-from-client")


@pytest.mark.skipif(not node_ws_available(),
                    reason="npm package ws missing (make deps installs it)")
def test_node_ws_server_close(procs, backend):
    """The backend closes: ws sees its close frame (1000) and the end."""
    g = ws_gate(procs, backend)
    r = run_node("ws://%s:%d/ws/close" % (HOST, g.port), "server-close")
    assert r["ok"], r
    assert r["steps"] == ["text"] and r["close"] == 1000, r
    wait_report(backend, "close-from-server")


# --------------------------------------------------------------------------
# our own client: the same exchanges, and the bytes on the wire


def test_python_echo_messages_ping_close(procs, backend):
    g = ws_gate(procs, backend)
    c = WSClient(g.port)
    try:
        hdrs = dict(c.headers)
        assert hdrs["upgrade"].lower() == "websocket", c.headers
        assert hdrs["connection"].lower() == "upgrade", c.headers
        assert "content-length" not in hdrs and "transfer-encoding" not in hdrs
        c.echo(OP_TEXT, "héllo".encode())
        c.echo(OP_BIN, bytes(range(256)) * 4)
        c.echo(OP_BIN, bytes(MIB))
        c.send(OP_PING, b"p1")
        assert c.recv() == (OP_PONG, b"p1")
        c.send(OP_CLOSE, struct.pack("!H", 1000))
        assert c.recv() == (OP_CLOSE, struct.pack("!H", 1000))
        # The backend closes its TCP connection after the close: h2gate
        # passes the FIN on.
        c.sock.settimeout(10)
        assert c.sock.recv(10) == b""
    finally:
        c.close()
    wait_report(backend, "close-from-client")
    (m, p, h), = heads(backend)
    assert (m, p) == ("GET", "/ws")
    assert h["upgrade"] == "websocket" and h["connection"] == "upgrade", h
    assert h["sec-websocket-version"] == "13" and "sec-websocket-key" in h, h


def test_python_close_from_server(procs, backend):
    g = ws_gate(procs, backend)
    c = WSClient(g.port, "/ws/close")
    try:
        c.echo(OP_TEXT, b"only one")
        assert c.recv() == (OP_CLOSE, struct.pack("!H", 1000))
        c.send(OP_CLOSE, struct.pack("!H", 1000))
        c.sock.settimeout(10)
        assert c.sock.recv(10) == b""
    finally:
        c.close()
    wait_report(backend, "close-from-server")


def test_client_vanishes_backend_sees_eof(procs, backend):
    """A client that drops its TCP connection: the backend reads EOF."""
    g = ws_gate(procs, backend)
    c = WSClient(g.port)
    c.echo(OP_TEXT, b"x")
    c.close()
    wait_report(backend, "eof")


# --------------------------------------------------------------------------
# refused upgrades: relayed, and the connection goes on


@pytest.mark.parametrize("status", [200, 400])
def test_refused_upgrade_relayed_connection_goes_on(procs, backend, status):
    g = ws_gate(procs, backend)
    with H1Conn(g.port) as c:
        req, _ = upgrade_request("/refuse/%d" % status)
        c.send(req)
        r = c.read_response()
        assert r.status == status, r
        assert r.body == b"refused %d\n" % status
        assert r.header("connection") is None, r
        c.send(h1_get("/next"))
        r2 = c.read_response()
        assert r2.status == 200, r2
        info = json.loads(r2.body)
        assert info["path"] == "/next"
    (_, p1, h1), (_, p2, h2) = heads(backend)
    assert p1 == "/refuse/%d" % status and h1["upgrade"] == "websocket"
    assert p2 == "/next"
    assert "upgrade" not in h2 and "connection" not in h2, h2


def test_upgrade_with_body_400_then_next_request(procs, backend):
    """A body on an upgrade request is refused with 400 (never forwarded);
    the next request on the same connection is served."""
    g = ws_gate(procs, backend)
    with H1Conn(g.port) as c:
        req, _ = upgrade_request("/ws", body=b"hello")
        c.send(req + h1_get("/after"))
        r = c.read_response()
        assert r.status == 400, r
        r2 = c.read_response()
        assert r2.status == 200, r2
        assert json.loads(r2.body)["path"] == "/after"
    assert [p for _, p, _ in heads(backend)] == ["/after"]


def test_upgrade_with_chunked_body_400(procs, backend):
    g = ws_gate(procs, backend)
    with H1Conn(g.port) as c:
        req, _ = upgrade_request("/ws", extra=["Transfer-Encoding: chunked"])
        c.send(req + b"5\r\nhello\r\n0\r\n\r\n" + h1_get("/after"))
        assert c.read_response().status == 400
        assert c.read_response().status == 200
    assert [p for _, p, _ in heads(backend)] == ["/after"]


@pytest.mark.parametrize("token", ["foo/1", "h2c"])
def test_other_upgrade_token_forwarded_plain(procs, backend, token):
    """An upgrade h2gate does not do (h2c: curl --http2 and Java's
    HttpClient ask for it on cleartext) is served as a plain request, and
    the connection goes on as HTTP/1.1 (RFC 9110 7.8: no 101, no switch):
    the next request, sent after the answer or pipelined behind the
    upgrade request, is served on it (it was closed after the answer)."""
    g = ws_gate(procs, backend)
    extra = "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n" \
        if token == "h2c" else ""
    upgrade = ("GET /plain HTTP/1.1\r\nHost: a\r\n"
               "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: %s\r\n%s\r\n"
               % (token, extra)).encode()
    with H1Conn(g.port) as c:
        c.send(upgrade)
        r = c.read_response()
        assert r.status == 200 and r.header("connection") is None, r
        c.send(h1_get("/next"))
        assert json.loads(c.read_response().body)["path"] == "/next"
        c.send(upgrade + h1_get("/piped"))
        assert json.loads(c.read_response().body)["path"] == "/plain"
        assert json.loads(c.read_response().body)["path"] == "/piped"
    assert [p for _, p, _ in heads(backend)] == ["/plain", "/next", "/plain", "/piped"]
    for _, _, h in heads(backend):
        for name in ("upgrade", "connection", "http2-settings"):
            assert name not in h, h


@pytest.mark.parametrize("method", ["PUT", "QUERY"])
def test_websocket_upgrade_of_another_method_served_plain(procs, backend, method):
    """A WebSocket opens with a GET (RFC 6455 4.1). Another method's
    request with Upgrade: websocket is served as that request, without the
    upgrade fields; it used to reach the backend as a GET asking for a
    WebSocket."""
    g = ws_gate(procs, backend)
    req, _ = upgrade_request("/plain")
    with H1Conn(g.port) as c:
        c.send(method.encode() + req[3:])
        r = c.read_response()
        assert r.status == 200 and r.header("upgrade") is None, r
        c.send(h1_get("/again"))
        assert c.read_response().status == 200
    (m, p, h), _ = heads(backend)
    assert (m, p) == (method, "/plain"), (m, p)
    assert "upgrade" not in h and "connection" not in h, h


@pytest.mark.parametrize("fields", [
    ["Upgrade: websocket"],                       # no Connection: upgrade
    ["Connection: keep-alive", "Upgrade: websocket"],
    ["Connection: upgrade"],                      # no Upgrade
])
def test_plain_request_upgrade_fields_stripped(procs, backend, fields):
    g = ws_gate(procs, backend)
    with H1Conn(g.port) as c:
        c.send(("GET /p HTTP/1.1\r\nHost: a\r\n%s\r\n\r\n"
                % "\r\n".join(fields)).encode())
        r = c.read_response()
        assert r.status == 200, r
        c.send(h1_get("/again"))
        assert c.read_response().status == 200
    (_, _, h), _ = heads(backend)
    assert "upgrade" not in h and "connection" not in h, h


# --------------------------------------------------------------------------
# many at once, memory, timeouts, shutdown, metrics and the access log


def test_100_websockets_one_worker(procs, backend):
    g = ws_gate(procs, backend, workers=1, admin=True)
    clients = []
    try:
        for _ in range(100):
            clients.append(WSClient(g.port))
        assert scrape(g.admin_port).get("h2gate_websockets_active") == 100
        for i, c in enumerate(clients):
            c.send(OP_TEXT, b"client %d" % i)
        for i, c in enumerate(clients):
            assert c.recv() == (OP_TEXT, b"client %d" % i)
    finally:
        for c in clients:
            c.close()
    snap = settle(g.admin_port,
                  lambda s: s.get("h2gate_websockets_active") == 0)
    assert snap.get("h2gate_websockets_total", result="opened") == 100


def test_bounded_memory_client_stops_reading(procs, backend):
    """The backend sends without end to a client that stopped reading after
    1 MiB: once nothing moves, h2gate's VmRSS is under its baseline +
    32 MiB; reading again moves the flood on."""
    g = ws_gate(procs, backend)
    base = rss_kib(g.pid)
    c = WSClient(g.port, "/ws/flood", timeout=30, rcvbuf=65536)
    try:
        got = 0
        while got < MIB:
            got += len(c.recv()[1])
        stalled = wait_flood_stalled(backend)
        rss = rss_kib(g.pid)
        assert rss < base + 32 * 1024, \
            "VmRSS %d KiB, baseline %d KiB, backend sent %d" % (rss, base,
                                                                stalled)
        want = stalled + 8 * MIB
        deadline = time.monotonic() + 60
        while backend.flood_sent < want:
            c.recv()
            assert time.monotonic() < deadline, backend.flood_sent
    finally:
        c.close()


def test_frontend_timeouts_do_not_cut_a_websocket(procs, backend):
    """The read and keep-alive timeouts of the client connection do not
    apply to an open WebSocket (its idle limit is --tunnel-idle-timeout)."""
    g = ws_gate(procs, backend, "--frontend-read-timeout=1s",
                "--frontend-keep-alive-timeout=1s",
                "--tunnel-idle-timeout=60s")
    c = WSClient(g.port)
    try:
        c.echo(OP_TEXT, b"before")
        time.sleep(2.5)
        c.echo(OP_TEXT, b"after")
    finally:
        c.close()


def test_tunnel_idle_timeout_closes_a_websocket(procs, backend):
    g = ws_gate(procs, backend, "--tunnel-idle-timeout=1s")
    c = WSClient(g.port, timeout=30)
    try:
        c.echo(OP_TEXT, b"x")
        c.sock.settimeout(30)
        assert c.sock.recv(10) == b""
    finally:
        c.close()
    wait_report(backend, "eof")


def test_graceful_shutdown_keeps_websockets_until_deadline(procs, backend):
    """After SIGTERM an open WebSocket still carries messages; at the
    graceful deadline it is closed and h2gate exits."""
    g = ws_gate(procs, backend, "--graceful-shutdown-timeout=3s")
    c = WSClient(g.port, timeout=30)
    try:
        c.echo(OP_TEXT, b"before")
        g.signal(signal.SIGTERM)
        c.echo(OP_TEXT, b"during the drain")
        c.sock.settimeout(30)
        try:
            assert c.sock.recv(10) == b""
        except ConnectionResetError:
            pass
        g.popen.wait(timeout=30)
    finally:
        c.close()
    wait_report(backend, "eof")


def test_metrics_and_access_log(procs, backend, tmp_path):
    log = tmp_path / "access.log"
    g = ws_gate(procs, backend, "--accesslog-file=%s" % log,
                "--accesslog-format=$request|$status|$tunnel_bytes_in|"
                "$tunnel_bytes_out|$body_bytes_sent|$duration", admin=True)
    before = settle(g.admin_port)
    c = WSClient(g.port)
    try:
        assert scrape(g.admin_port).get("h2gate_websockets_active") == 1
        c.echo(OP_TEXT, b"12345")       # 11 bytes up, 7 down
        c.send(OP_CLOSE, struct.pack("!H", 1000))   # 8 up
        assert c.recv()[0] == OP_CLOSE                # 4 down
        c.sock.settimeout(10)
        assert c.sock.recv(10) == b""
    finally:
        c.close()
    with H1Conn(g.port) as h:
        h.send(upgrade_request("/refuse/426")[0])
        assert h.read_response().status == 426
    after = settle(g.admin_port,
                   lambda s: s.get("h2gate_websockets_active") == 0 and
                   s.get("h2gate_connections_active") == 0)
    t = "h2gate_websockets_total"

    def delta(name, **labels):
        return after.get(name, **labels) - before.get(name, default=0,
                                                      **labels)
    assert delta(t, result="opened") == 1
    assert delta(t, result="refused") == 1
    b = "h2gate_websocket_bytes_total"
    assert delta(b, direction="to_backend") == 19
    assert delta(b, direction="to_client") == 11
    lines = wait_lines(log, lambda ls: len(ls) >= 2)
    ws_line = [ln for ln in lines if "/ws " in ln]
    assert len(ws_line) == 1, lines
    req, status, up, down, body, dur = ws_line[0].split("|")
    assert (req, status, up, down, body) == \
        ("GET /ws HTTP/1.1", "101", "19", "11", "11"), ws_line
    assert float(dur) >= 0
    assert any(ln.startswith("GET /refuse/426 HTTP/1.1|426|") for ln in lines)


def test_splice_and_plain_pipes_carry_the_same_bytes(procs, backend):
    """Large messages both ways after the pipe is spliced (cleartext on
    both sides): every byte arrives in order."""
    g = ws_gate(procs, backend)
    c = WSClient(g.port, timeout=30)
    try:
        for n in (1, 4096, 3 * MIB):
            payload = bytes((i * 7) & 0xff for i in range(n))
            c.echo(OP_BIN, payload)
    finally:
        c.close()
