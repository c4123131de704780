"""WebSocket through h2gate to HTTP/2 backends (issue 10, RFC 8441 towards
the backend). A backend session that advertised
SETTINGS_ENABLE_CONNECT_PROTOCOL gets the client's extended CONNECT as is
(an HTTP/1.1 client's Upgrade becomes one, and h2gate answers its 101 with
the Sec-WebSocket-Accept of the client's key); its 2xx opens the pipe, its
reset after that is the client's RST_STREAM(CONNECT_ERROR), a client's
CANCEL resets the backend stream, a refusal is relayed. A backend without
the setting: an HTTP/1.1 member of the route instead, else 502.

The HTTP/2 backend is Node's http2 module (node_h2_ws_backend.js); the
clients are python-h2 (RFC 8441 frames), a raw RFC 6455 client (ws_lib) and
the npm package `ws`. Loopback only; waits are bounded polls for a state.
"""

import base64
import os
import shutil
import signal
import socket
import ssl
import struct

import pytest

from conftest import IS_NGHTTPX
from h2backend_lib import make_ca, make_cert
from obs_lib import gate_with_admin, settle
from test_websocket_h2 import WSClientH2, ext_connect_headers
from testlib import HOST, H1Conn
from ws_lib import (OP_BIN, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameReader,
                    NodeH2WSBackend, WSClient, accept_key, frame,
                    upgrade_request, ws_backend)

CANCEL, CONNECT_ERROR = 0x8, 0xa
HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = [
    pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own options and metrics"),
    pytest.mark.skipif(shutil.which("node") is None, reason="needs node"),
]


@pytest.fixture
def node_backend():
    made = []

    def make(**kw):
        b = NodeH2WSBackend(**kw)
        made.append(b)
        return b
    yield make
    for b in made:
        b.stop()


@pytest.fixture
def h1_backend():
    srv = ws_backend()
    yield srv
    srv.stop()


@pytest.fixture
def client_factory():
    made = []

    def make(port, **kw):
        c = WSClientH2(port, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def gate(procs, specs, *extra, admin=False, tls=False):
    if admin:
        return gate_with_admin(procs, list(specs), extra=list(extra), tls=tls)
    return procs.gate(list(specs), extra=list(extra), tls=tls)


def h1_spec(srv, pattern=""):
    return "%s,%d;%s" % (HOST, srv.port, pattern)


def metrics_delta(before, after):
    def delta(name, **labels):
        return after.get(name, default=0, **labels) - \
            before.get(name, default=0, **labels)
    return delta


def h1_heads(srv):
    return [(m, p, dict(h)) for m, p, h in
            (r for r in srv.results if isinstance(r, tuple))]


# --------------------------------------------------------------------------
# HTTP/2 client, HTTP/2 backend


def test_echo_h2_to_h2_backend_and_metrics(procs, node_backend,
                                           client_factory):
    """The extended CONNECT reaches the backend as the client sent it; 200;
    text and binary echo; the client's CLOSE, the backend's answer and
    END_STREAM both ways end it; opened/bytes/active counted."""
    b = node_backend()
    g = gate(procs, [b.spec()], admin=True)
    before = settle(g.admin_port)
    c = client_factory(g.port)
    sid = c.open_ws("/ws", extra=[("sec-websocket-protocol", "chat")])
    st = c.streams[sid]
    c.wait(lambda: st.headers is not None or st.done)
    assert st.status == 200, st
    assert (b"sec-websocket-protocol-seen", b"chat") in st.headers
    r = c.reader(sid)
    c.send_ws(sid, OP_TEXT, b"hello h2 backend")
    assert r.message() == (OP_TEXT, b"hello h2 backend")
    blob = bytes(range(256)) * 1000
    c.send_ws(sid, OP_BIN, blob)
    assert r.message() == (OP_BIN, blob)
    c.send_ws(sid, OP_PING, b"p")
    assert r.message() == (OP_PONG, b"p")
    (head,) = b.wait_streams(1)
    h = head["headers"]
    assert (h[":method"], h[":protocol"], h[":scheme"], h[":path"],
            h[":authority"]) == ("CONNECT", "websocket", "http", "/ws",
                                 "ws.test")
    assert h["sec-websocket-version"] == "13"
    assert h["sec-websocket-protocol"] == "chat"
    c.send_ws(sid, OP_CLOSE, struct.pack("!H", 1000))
    assert r.message()[0] == OP_CLOSE
    c.conn.end_stream(sid)
    c.flush()
    c.wait(lambda: st.done)
    assert st.reset is None, st
    b.wait_event(lambda e: e["ev"] == "close" and e["rst"] == 0)
    after = settle(g.admin_port,
                   lambda s: s.get("h2gate_websockets_active") == 0 and
                   s.get("h2gate_websockets_total", default=0,
                         result="opened") >= 1)
    d = metrics_delta(before, after)
    assert d("h2gate_websockets_total", result="opened") == 1
    assert d("h2gate_websockets_total", result="refused") == 0
    up = len(frame(OP_TEXT, b"hello h2 backend", mask=True)) + \
        len(frame(OP_BIN, blob, mask=True)) + len(frame(OP_PING, b"p", True)) + \
        len(frame(OP_CLOSE, b"12", mask=True))
    down = len(frame(OP_TEXT, b"hello h2 backend")) + len(frame(OP_BIN, blob)) + \
        len(frame(OP_PONG, b"p")) + len(frame(OP_CLOSE, b"12"))
    assert d("h2gate_websocket_bytes_total", direction="to_backend") == up
    assert d("h2gate_websocket_bytes_total", direction="to_client") == down


def test_twenty_streams_on_one_connection(procs, node_backend,
                                          client_factory):
    b = node_backend()
    g = gate(procs, [b.spec()])
    c = client_factory(g.port, timeout=30)
    opened = [c.ws("/ws") for _ in range(20)]
    for i, (sid, _) in enumerate(opened):
        c.send_ws(sid, OP_BIN, (b"%02d" % i) * (1000 + 97 * i))
    for i, (sid, r) in enumerate(opened):
        assert r.message() == (OP_BIN, (b"%02d" % i) * (1000 + 97 * i))
    assert len(b.wait_streams(20)) == 20


def test_backend_reset_after_200_is_connect_error(procs, node_backend,
                                                  client_factory):
    b = node_backend()
    g = gate(procs, [b.spec()])
    c = client_factory(g.port)
    sid, r = c.ws("/ws/reset")
    c.send_ws(sid, OP_TEXT, b"one")
    assert r.message() == (OP_TEXT, b"one")
    c.send_ws(sid, OP_TEXT, b"two")
    st = c.streams[sid]
    # Node ends its side (END_STREAM) before it resets: the client, whose
    # side is still open, gets the reset after the end.
    c.wait(lambda: st.reset is not None)
    assert st.reset == CONNECT_ERROR, st
    assert b.wait_event(lambda e: e["ev"] == "close")["rst"] == CANCEL


def test_client_cancel_resets_the_backend_stream(procs, node_backend,
                                                 client_factory):
    b = node_backend()
    g = gate(procs, [b.spec()])
    c = client_factory(g.port)
    sid, _ = c.ws("/ws/hold")
    c.conn.reset_stream(sid, CANCEL)
    c.flush()
    ev = b.wait_event(lambda e: e["ev"] == "close")
    assert ev["rst"] == CANCEL and ev["path"] == "/ws/hold", ev


def test_idle_timeout_resets_both_sides(procs, node_backend,
                                        client_factory):
    """--tunnel-idle-timeout applies to a WebSocket on a backend stream:
    the client gets RST_STREAM(CONNECT_ERROR), the backend CANCEL; the
    session itself stays (its read timeout does not count the stream)."""
    b = node_backend()
    g = gate(procs, [b.spec()], "--tunnel-idle-timeout=1s",
             "--backend-read-timeout=1s")
    c = client_factory(g.port, timeout=30)
    sid, r = c.ws("/ws/hold")
    st = c.streams[sid]
    c.wait(lambda: st.reset is not None, timeout=30)
    assert st.reset == CONNECT_ERROR, st
    ev = b.wait_event(lambda e: e["ev"] == "close", timeout=30)
    assert ev["rst"] == CANCEL, ev
    sid = c.request("/after")
    (st,) = c.wait_streams([sid])
    assert st.status == 200


def test_refusal_relayed(procs, node_backend, client_factory):
    b = node_backend()
    g = gate(procs, [b.spec()], admin=True)
    before = settle(g.admin_port)
    c = client_factory(g.port)
    sid = c.open_ws("/refuse/403")
    (st,) = c.wait_streams([sid])
    assert st.status == 403 and bytes(st.data) == b"refused 403\n", st
    after = settle(g.admin_port, lambda s: s.get(
        "h2gate_websockets_total", default=0, result="refused") >= 1)
    d = metrics_delta(before, after)
    assert d("h2gate_websockets_total", result="refused") == 1
    assert d("h2gate_websockets_total", result="opened") == 0


# --------------------------------------------------------------------------
# a backend without SETTINGS_ENABLE_CONNECT_PROTOCOL


def test_no_setting_falls_back_to_the_http1_member(procs, node_backend,
                                                   h1_backend,
                                                   client_factory):
    """The route's HTTP/2 member did not advertise the setting: both
    WebSockets (round-robin would give the first to the HTTP/2 member) go to
    its HTTP/1.1 member; the HTTP/2 backend never sees a stream."""
    b = node_backend(connect_protocol=False)
    g = gate(procs, [b.spec(), h1_spec(h1_backend)])
    c = client_factory(g.port)
    for i in range(2):
        sid, r = c.ws("/ws")
        c.send_ws(sid, OP_TEXT, b"via http/1.1 %d" % i)
        assert r.message() == (OP_TEXT, b"via http/1.1 %d" % i)
    heads = h1_heads(h1_backend)
    assert [(m, p) for m, p, _ in heads] == [("GET", "/ws")] * 2
    assert b.streams() == []
    # An HTTP/1.1 client too.
    w = WSClient(g.port)
    try:
        w.echo(OP_TEXT, b"h1 client")
    finally:
        w.close()
    assert b.streams() == []


def test_no_setting_and_no_http1_member_is_502(procs, node_backend,
                                               client_factory):
    b = node_backend(connect_protocol=False)
    g = gate(procs, [b.spec()])
    c = client_factory(g.port)
    sid = c.open_ws("/ws")
    (st,) = c.wait_streams([sid])
    assert st.status == 502, st
    with H1Conn(g.port) as h:
        h.send(upgrade_request("/ws")[0])
        assert h.read_response().status == 502
    # A plain request on the same route still works.
    sid = c.request("/plain")
    (st,) = c.wait_streams([sid])
    assert st.status == 200 and bytes(st.data) == b"ok\n"
    assert [s["headers"][":path"] for s in b.wait_streams(1)] == ["/plain"]


# --------------------------------------------------------------------------
# HTTP/1.1 client, HTTP/2 backend


def test_h1_client_upgrade_becomes_extended_connect(procs, node_backend):
    """101 with the Sec-WebSocket-Accept of the client's key (WSClient
    checks it), then echo; the backend got an extended CONNECT without the
    key and without Upgrade/Connection."""
    b = node_backend()
    g = gate(procs, [b.spec()])
    w = WSClient(g.port)
    try:
        assert dict(w.headers)["upgrade"] == "websocket"
        w.echo(OP_TEXT, b"from http/1.1")
        w.echo(OP_BIN, os.urandom(200000))
        w.send(OP_PING, b"x")
        assert w.recv() == (OP_PONG, b"x")
    finally:
        w.close()
    (head,) = b.wait_streams(1)
    h = head["headers"]
    assert (h[":method"], h[":protocol"], h[":path"]) == \
        ("CONNECT", "websocket", "/ws")
    assert h[":authority"] == "ws.test"
    assert "sec-websocket-key" not in h
    assert "upgrade" not in h and "connection" not in h
    assert h["sec-websocket-version"] == "13"


def test_h1_client_refusal_relayed_and_connection_goes_on(procs,
                                                          node_backend):
    b = node_backend()
    g = gate(procs, [b.spec()])
    with H1Conn(g.port) as h:
        h.send(upgrade_request("/refuse/403")[0])
        resp = h.read_response()
        assert resp.status == 403 and resp.body == b"refused 403\n"
        h.send(b"GET /after HTTP/1.1\r\nHost: ws.test\r\n\r\n")
        resp = h.read_response()
        assert resp.status == 200 and resp.body == b"ok\n"


def test_h1_client_without_key_is_400(procs, node_backend):
    b = node_backend()
    g = gate(procs, [b.spec()])
    with H1Conn(g.port) as h:
        h.send(b"GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
               b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert h.read_response().status == 400
    assert b.streams() == []


def node_ws_available():
    return os.path.isdir(os.path.join(HERE, "node_modules", "ws"))


@pytest.mark.skipif(not node_ws_available(), reason="npm package ws missing")
def test_node_ws_client_to_h2_backend(procs, node_backend):
    """The npm `ws` client (checks Sec-WebSocket-Accept itself): text,
    binary, 1 MiB, ping/pong, close."""
    from test_websocket import run_node
    b = node_backend()
    g = gate(procs, [b.spec()])
    r = run_node("ws://%s:%d/ws" % (HOST, g.port), "echo")
    assert r["ok"] and r["error"] is None, r
    assert r["close"] == 1000, r


# --------------------------------------------------------------------------
# --allow-upgrade


def raw_upgrade(path, token):
    return ("GET %s HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
            "Upgrade: %s\r\n\r\n" % (path, token)).encode()


def test_allowed_token_is_a_byte_pipe(procs, h1_backend):
    g = gate(procs, [h1_spec(h1_backend)], "--allow-upgrade=foo,bar")
    s = socket.create_connection((HOST, g.port), timeout=10)
    try:
        s.sendall(raw_upgrade("/raw", "foo/2"))
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = s.recv(4096)
            assert data, buf
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101 "), lines
        hdrs = dict(l.lower().split(": ", 1) for l in lines[1:])
        assert hdrs["upgrade"] == "foo" and hdrs["connection"] == "upgrade"
        s.sendall(b"any bytes at all\x00\xff")
        while len(rest) < 18:
            data = s.recv(4096)
            assert data
            rest += data
        assert rest == b"any bytes at all\x00\xff"
    finally:
        s.close()
    (m, p, h), = h1_heads(h1_backend)
    assert (m, p, h["upgrade"], h["connection"]) == \
        ("GET", "/raw", "foo", "upgrade")


def test_token_not_allowed_is_a_plain_request(procs, h1_backend):
    """Upgrade: baz (not allowed) and h2c (never) are served as plain
    requests with Upgrade and Connection removed."""
    g = gate(procs, [h1_spec(h1_backend)], "--allow-upgrade=foo")
    for token in ("baz", "h2c"):
        with H1Conn(g.port) as h:
            h.send(raw_upgrade("/raw", token))
            assert h.read_response().status == 200
    for m, p, h in h1_heads(h1_backend):
        assert (m, p) == ("GET", "/raw")
        assert "upgrade" not in h and "connection" not in h, h


def test_allow_upgrade_h2c_is_a_config_error():
    from conftest import run_gate
    r = run_gate(["--allow-upgrade=foo,h2c"])
    assert r.returncode != 0
    assert "h2c upgrade is never forwarded" in r.stderr


def test_allowed_token_to_an_h2_only_route_is_502(procs, node_backend):
    b = node_backend()
    g = gate(procs, [b.spec()], "--allow-upgrade=foo")
    with H1Conn(g.port) as h:
        h.send(raw_upgrade("/raw", "foo"))
        assert h.read_response().status == 502
    assert b.streams() == []


# --------------------------------------------------------------------------
# shutdown and TLS


def test_graceful_shutdown_keeps_h2_backend_websocket_until_deadline(
        procs, node_backend, client_factory):
    """After SIGTERM a WebSocket on an HTTP/2 backend session still moves
    bytes; at --graceful-shutdown-timeout the transport closes and h2gate
    exits."""
    b = node_backend()
    g = gate(procs, [b.spec()], "--graceful-shutdown-timeout=3s")
    c = client_factory(g.port, timeout=30)
    sid, r = c.ws("/ws")
    c.send_ws(sid, OP_TEXT, b"before")
    assert r.message() == (OP_TEXT, b"before")
    g.signal(signal.SIGTERM)
    c.send_ws(sid, OP_TEXT, b"during the drain")
    assert r.message() == (OP_TEXT, b"during the drain")
    g.popen.wait(timeout=30)
    c.wait(lambda: c.closed, timeout=30)
    b.wait_event(lambda e: e["ev"] == "close")


def test_websocket_through_tls_frontend(procs, h1_backend):
    """An HTTP/1.1 WebSocket over h2gate's TLS frontend (ALPN http/1.1)."""
    g = procs.gate([h1_spec(h1_backend)], tls=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(socket.create_connection((HOST, g.tls_port),
                                                 timeout=10),
                        server_hostname="localhost")
    try:
        req, key = upgrade_request("/ws")
        s.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = s.recv(4096)
            assert data, buf
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        assert " 101 " in lines[0], lines
        hdrs = dict(l.lower().split(": ", 1) for l in lines[1:])
        assert hdrs["sec-websocket-accept"] == accept_key(key).lower()
        pending = [rest] if rest else []
        reader = FrameReader(lambda: pending.pop() if pending else s.recv(65536))
        for payload in (b"over tls", os.urandom(300000)):
            op = OP_TEXT if len(payload) < 100 else OP_BIN
            s.sendall(frame(op, payload, mask=True))
            assert reader.message() == (op, payload)
    finally:
        s.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "ws-ca")
    return {"ca": ca, "srv": make_cert(d, ca)}


def test_websocket_to_tls_h2_backend(procs, node_backend, pki,
                                     client_factory):
    """Both clients' WebSockets to an HTTP/2 backend over TLS (ALPN h2,
    certificate verified)."""
    b = node_backend(tls=pki["srv"])
    g = gate(procs, [b.spec(params=";proto=h2;tls")],
             "--cacert=%s" % pki["ca"][1])
    c = client_factory(g.port)
    sid, r = c.ws("/ws")
    c.send_ws(sid, OP_BIN, b"\x00tls\xff" * 5000)
    assert r.message() == (OP_BIN, b"\x00tls\xff" * 5000)
    w = WSClient(g.port)
    try:
        w.echo(OP_TEXT, b"h1 over tls backend")
    finally:
        w.close()
    assert len(b.wait_streams(2)) == 2


def test_websocket_to_tls_http1_backend(procs, tmp_path, pki):
    """An HTTP/1.1 backend over TLS (;tls): the WebSocket's pipe is the
    TLS connection that answered 101."""
    key = base64.b64encode(os.urandom(16)).decode()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki["srv"][1]), str(pki["srv"][0]))
    lsock = socket.socket()
    lsock.bind((HOST, 0))
    lsock.listen(4)
    import threading

    def serve():
        conn, _ = lsock.accept()
        conn.settimeout(10)
        t = ctx.wrap_socket(conn, server_side=True)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += t.recv(4096)
        head, rest = buf.split(b"\r\n\r\n", 1)
        k = [l.split(":", 1)[1].strip() for l in head.decode().split("\r\n")
             if l.lower().startswith("sec-websocket-key:")][0]
        t.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                   % accept_key(k)).encode())
        pending = [rest] if rest else []
        r = FrameReader(lambda: pending.pop() if pending else t.recv(65536))
        try:
            while True:
                op, data = r.message()
                t.sendall(frame(op, data))
        except (EOFError, OSError):
            pass
        t.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        g = procs.gate(["%s,%d;;tls" % (HOST, lsock.getsockname()[1])],
                       extra=["--cacert=%s" % pki["ca"][1]], tls=False)
        w = WSClient(g.port)
        try:
            w.echo(OP_TEXT, b"tls backend " + key.encode())
            w.echo(OP_BIN, os.urandom(100000))
        finally:
            w.close()
    finally:
        th.join(timeout=10)
        lsock.close()
