"""WebSocket through h2gate, phase 2 of issue 10: HTTP/2 clients (RFC 8441
extended CONNECT) to HTTP/1.1 backends. h2gate advertises
SETTINGS_ENABLE_CONNECT_PROTOCOL (not with --no-http2-websocket); a stream
with :method CONNECT and :protocol websocket is routed like a request and
sent to the backend as an RFC 6455 Upgrade GET with h2gate's own
Sec-WebSocket-Key; the backend's 101 (its accept checked) is the client's
:status 200, and DATA frames carry the WebSocket both ways.

The client is python-h2 (testlib.H2Client); the backend is our own RFC 6455
echo server (ws_lib). Loopback only; waits are bounded polls for a state.
"""

import re
import struct
import time

import h2.events
import h2.settings
import pytest

from conftest import IS_NGHTTPX
from obs_lib import gate_with_admin, scrape, settle, wait_lines
from testlib import HOST, H2Client, rss_kib
from ws_lib import (OP_BIN, OP_CLOSE, OP_TEXT, FrameReader, frame,
                    wait_flood_stalled, ws_backend)

MIB = 1 << 20
PROTOCOL_ERROR, CANCEL, CONNECT_ERROR = 0x1, 0x8, 0xa

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="h2gate's own options and metrics are checked")


@pytest.fixture
def backend():
    srv = ws_backend()
    yield srv
    srv.stop()


def ws_gate(procs, srv, *extra, admin=False):
    spec = "%s,%d" % (HOST, srv.port)
    if admin:
        return gate_with_admin(procs, [spec], extra=list(extra), tls=False)
    return procs.gate([spec], extra=list(extra), tls=False)


def heads(srv):
    return [(m, p, dict(h)) for m, p, h in
            (r for r in srv.results if isinstance(r, tuple))]


def wait_report(srv, value, timeout=10.0):
    deadline = time.monotonic() + timeout
    while value not in srv.results:
        assert time.monotonic() < deadline, srv.results
        time.sleep(0.02)


def ext_connect_headers(path="/ws", protocol="websocket", scheme="http",
                        method="CONNECT", extra=()):
    hs = [(":method", method)]
    if protocol is not None:
        hs.append((":protocol", protocol))
    if scheme is not None:
        hs.append((":scheme", scheme))
    hs.append((":authority", "ws.test"))
    if path is not None:
        hs.append((":path", path))
    hs.append(("sec-websocket-version", "13"))
    return hs + list(extra)


class WSClientH2(H2Client):
    """H2Client with per-stream credit: streams in .stalled get none back
    (the connection window is still returned, so the others go on)."""

    def __init__(self, port, **kw):
        super().__init__(port, **kw)
        self.stalled = set()
        self.auto_ack = False

    def on_event(self, ev):
        super().on_event(ev)
        if isinstance(ev, h2.events.DataReceived) and \
                ev.flow_controlled_length:
            if ev.stream_id in self.stalled:
                self.conn.increment_flow_control_window(
                    ev.flow_controlled_length)
            else:
                self.conn.acknowledge_received_data(
                    ev.flow_controlled_length, ev.stream_id)

    def settings(self):
        """The server's SETTINGS, once received."""
        self.wait(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged)
                              for e in self.events))
        return self.conn.remote_settings

    def open_ws(self, path="/ws", **kw):
        """An extended CONNECT stream; returns its id (no answer awaited)."""
        self.settings()
        return self.request(headers=ext_connect_headers(path, **kw),
                            end_stream=False)

    def ws(self, path="/ws"):
        """Opens a WebSocket, checks the 200; returns (sid, FrameReader)."""
        sid = self.open_ws(path)
        st = self.streams[sid]
        self.wait(lambda: st.headers is not None or st.done)
        assert st.status == 200, st
        return sid, self.reader(sid)

    def reader(self, sid):
        st = self.streams[sid]
        pos = [0]

        def read():
            self.wait(lambda: len(st.data) > pos[0] or st.done)
            chunk = bytes(st.data[pos[0]:])
            pos[0] = len(st.data)
            return chunk
        return FrameReader(read)

    def send_ws(self, sid, opcode, payload):
        """One WebSocket frame as DATA, as the windows let it go."""
        data = frame(opcode, payload, mask=True)
        deadline = time.monotonic() + self.timeout
        while data:
            room = min(self.conn.local_flow_control_window(sid),
                       self.conn.max_outbound_frame_size, len(data))
            if room <= 0:
                self.pump_once(deadline)
                continue
            self.conn.send_data(sid, data[:room])
            data = data[room:]
            self.flush()


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


# --------------------------------------------------------------------------
# the setting


def test_setting_advertised(procs, backend, client_factory):
    g = ws_gate(procs, backend)
    s = client_factory(g.port).settings()
    assert s.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) == 1


def test_setting_absent_with_option_and_protocol_refused(procs, backend,
                                                         client_factory):
    """--no-http2-websocket: no setting, and :protocol is malformed."""
    g = ws_gate(procs, backend, "--no-http2-websocket")
    c = client_factory(g.port, strict=False)
    s = c.settings()
    assert s.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) in (None,
                                                                       0)
    sid = c.request(headers=ext_connect_headers(), end_stream=False)
    (st,) = c.wait_streams([sid])
    assert st.reset == PROTOCOL_ERROR, st
    assert heads(backend) == []


# --------------------------------------------------------------------------
# the WebSocket


def test_echo_text_and_binary_then_backend_close(procs, backend, tmp_path,
                                                 client_factory):
    """Text and binary echo on one stream; the backend's request is an
    RFC 6455 GET with h2gate's key; the client's CLOSE, the backend's
    answer and TCP close end the stream with END_STREAM; one access log
    line."""
    log = tmp_path / "access.log"
    g = ws_gate(procs, backend, "--accesslog-file=%s" % log,
                "--accesslog-format=$request|$status|$tunnel_bytes_in|"
                "$tunnel_bytes_out")
    c = client_factory(g.port)
    sid, r = c.ws()
    names = [n for n, _ in c.streams[sid].headers]
    assert b"sec-websocket-accept" not in names
    assert b"upgrade" not in names and b"connection" not in names
    c.send_ws(sid, OP_TEXT, b"hello over h2")
    assert r.message() == (OP_TEXT, b"hello over h2")
    blob = bytes(range(256)) * 300
    c.send_ws(sid, OP_BIN, blob)
    assert r.message() == (OP_BIN, blob)
    ((method, path, h),) = heads(backend)
    assert (method, path) == ("GET", "/ws")
    assert h["upgrade"].lower() == "websocket"
    assert "upgrade" in h["connection"].lower()
    assert h["sec-websocket-version"] == "13"
    assert re.fullmatch(r"[A-Za-z0-9+/]{22}==", h["sec-websocket-key"])
    assert h["host"] == "ws.test"
    c.send_ws(sid, OP_CLOSE, struct.pack("!H", 1000))
    assert r.message()[0] == OP_CLOSE
    st = c.streams[sid]
    c.wait(lambda: st.done)
    assert st.ended and st.reset is None, st
    wait_report(backend, "close-from-client")
    # The client's half of the stream ends too: the exchange is over.
    c.conn.end_stream(sid)
    c.flush()
    lines = wait_lines(log, lambda ls: len(ls) >= 1)
    assert len(lines) == 1, lines
    req, status, up, down = lines[0].split("|")
    assert (req, status) == ("CONNECT /ws HTTP/2", "200"), lines
    assert int(up) > len(blob) and int(down) > len(blob)


def test_fifty_streams_one_connection(procs, backend, client_factory):
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    socks = [c.ws() for _ in range(50)]
    for i, (sid, _) in enumerate(socks):
        c.send_ws(sid, OP_BIN, b"stream %d " % i * (i + 1))
    for i, (sid, r) in enumerate(socks):
        assert r.message() == (OP_BIN, b"stream %d " % i * (i + 1))
    assert len(heads(backend)) == 50


def test_stalled_stream_does_not_stall_others(procs, backend, client_factory):
    """A stream whose reader gives no credit while its backend floods: the
    flood stops at the flow-control window and h2gate's buffers, and other
    streams on the connection still echo."""
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    flood = c.open_ws("/ws/flood")
    c.stalled.add(flood)
    st = c.streams[flood]
    c.wait(lambda: st.headers is not None)
    assert st.status == 200
    wait_flood_stalled(backend)
    for n in range(3):
        sid, r = c.ws()
        c.send_ws(sid, OP_TEXT, b"still here %d" % n)
        assert r.message() == (OP_TEXT, b"still here %d" % n)
    assert not st.done


def test_bounded_memory_client_gives_no_credit(procs, backend,
                                               client_factory):
    """The backend sends without end on a stream the client gives no
    credit: once nothing moves, h2gate's VmRSS is under its baseline +
    32 MiB; credit again moves the flood on."""
    g = ws_gate(procs, backend)
    base = rss_kib(g.pid)
    c = client_factory(g.port, timeout=30)
    sid = c.open_ws("/ws/flood")
    c.stalled.add(sid)
    stalled = wait_flood_stalled(backend)
    rss = rss_kib(g.pid)
    assert rss < base + 32 * 1024, \
        "VmRSS %d KiB, baseline %d KiB, backend sent %d" % (rss, base,
                                                            stalled)
    c.stalled.discard(sid)
    st = c.streams[sid]
    c.conn.acknowledge_received_data(len(st.data), sid)
    c.flush()
    want = stalled + 8 * MIB
    c.wait(lambda: backend.flood_sent >= want, timeout=60)


def test_client_cancel_closes_backend(procs, backend, client_factory):
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    sid, r = c.ws()
    c.send_ws(sid, OP_TEXT, b"x")
    assert r.message() == (OP_TEXT, b"x")
    c.conn.reset_stream(sid, CANCEL)
    c.flush()
    wait_report(backend, "eof")


def test_backend_close_ends_stream(procs, backend, client_factory):
    """/ws/close: the backend echoes, sends CLOSE, reads ours and closes
    TCP: the client's stream ends with END_STREAM (the backend's clean
    close, as a CONNECT tunnel's target EOF)."""
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    sid, r = c.ws("/ws/close")
    c.send_ws(sid, OP_TEXT, b"bye")
    assert r.message() == (OP_TEXT, b"bye")
    assert r.message()[0] == OP_CLOSE
    c.send_ws(sid, OP_CLOSE, struct.pack("!H", 1000))
    st = c.streams[sid]
    c.wait(lambda: st.done)
    assert st.ended and st.reset is None, st
    wait_report(backend, "close-from-server")


@pytest.mark.parametrize("status", [400, 426])
def test_refused_upgrade_relayed(procs, backend, client_factory, status):
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    sid = c.open_ws("/refuse/%d" % status)
    st = c.streams[sid]
    c.wait(lambda: st.ended or st.reset is not None)
    assert st.status == status, st
    assert bytes(st.data) == b"refused %d\n" % status


def test_wrong_accept_is_502(procs, backend, client_factory):
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    sid = c.open_ws("/ws/bad-accept")
    st = c.streams[sid]
    c.wait(lambda: st.done)
    assert st.status == 502, st


def test_other_protocol_is_501(procs, backend, client_factory):
    g = ws_gate(procs, backend)
    c = client_factory(g.port, strict=False)
    c.settings()
    sid = c.request(headers=ext_connect_headers(protocol="connect-udp"),
                    end_stream=False)
    st = c.streams[sid]
    c.wait(lambda: st.done)
    assert st.status == 501, st
    assert heads(backend) == []


@pytest.mark.parametrize("case", ["protocol-on-get", "no-path", "no-scheme"])
def test_malformed_extended_connect(procs, backend, client_factory, case):
    g = ws_gate(procs, backend)
    c = client_factory(g.port, strict=False)
    c.settings()
    kw = {"protocol-on-get": {"method": "GET"},
          "no-path": {"path": None},
          "no-scheme": {"scheme": None}}[case]
    sid = c.request(headers=ext_connect_headers(**kw), end_stream=False)
    (st,) = c.wait_streams([sid])
    assert st.reset == PROTOCOL_ERROR, st
    assert st.headers is None
    # The connection goes on.
    sid2, r = c.ws()
    c.send_ws(sid2, OP_TEXT, b"ok")
    assert r.message() == (OP_TEXT, b"ok")
    assert len(heads(backend)) == 1


def test_metrics(procs, backend, client_factory):
    g = ws_gate(procs, backend, admin=True)
    before = settle(g.admin_port)
    c = client_factory(g.port)
    sid, r = c.ws()
    assert scrape(g.admin_port).get("h2gate_websockets_active") == 1
    c.send_ws(sid, OP_TEXT, b"12345")       # 11 bytes up, 7 down
    assert r.message() == (OP_TEXT, b"12345")
    refused = c.open_ws("/refuse/403")
    c.wait(lambda: c.streams[refused].done)
    c.conn.reset_stream(sid, CANCEL)
    c.flush()
    after = settle(g.admin_port,
                   lambda s: s.get("h2gate_websockets_active") == 0)

    def delta(name, **labels):
        return after.get(name, **labels) - before.get(name, default=0,
                                                      **labels)
    assert delta("h2gate_websockets_total", result="opened") == 1
    assert delta("h2gate_websockets_total", result="refused") == 1
    b = "h2gate_websocket_bytes_total"
    assert delta(b, direction="to_backend") == 11
    assert delta(b, direction="to_client") == 7


def test_client_end_stream_half_closes_backend(procs, backend,
                                               client_factory):
    """The client's END_STREAM is the backend's FIN (its echo server then
    closes), and that close comes back as END_STREAM."""
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    sid, r = c.ws()
    c.send_ws(sid, OP_TEXT, b"last")
    assert r.message() == (OP_TEXT, b"last")
    c.conn.end_stream(sid)
    c.flush()
    wait_report(backend, "eof")
    st = c.streams[sid]
    c.wait(lambda: st.done)
    assert st.ended and st.reset is None, st


def test_backend_reset_is_connect_error(procs, backend, client_factory):
    """A backend connection reset after the 200: RST_STREAM(CONNECT_ERROR),
    as on a CONNECT tunnel."""
    g = ws_gate(procs, backend)
    c = client_factory(g.port)
    sid, r = c.ws("/ws/reset")
    c.send_ws(sid, OP_TEXT, b"then reset")
    assert r.message() == (OP_TEXT, b"then reset")
    c.send_ws(sid, OP_TEXT, b"reset now")
    wait_report(backend, "reset")
    st = c.streams[sid]
    c.wait(lambda: st.done)
    assert st.reset == CONNECT_ERROR, st
