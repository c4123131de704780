"""Client timeouts: --frontend-read-timeout, --frontend-keep-alive-timeout,
--frontend-http2-read-timeout, --frontend-write-timeout,
--stream-read-timeout, --stream-write-timeout and
--frontend-http2-setting-timeout, each set to 1s.

Every test cuts one hostile client as the option says (status code, frame
type and error code checked), while well-behaved clients opened before it
(a request in flight across the timeout) and after it still get 200.

Only generous upper bounds are asserted ("closed within 15 s"), never that
something happened quickly. That the proxy closed its end of a connection
whose client does not read is seen in /proc/net/tcp (the proxy's socket
leaves ESTABLISHED), since reading would make the progress the test
withholds.
"""

import select
import socket
import ssl
import struct
import time

import pytest
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, StreamEnded
from h2.settings import SettingCodes

from rawh2 import read_frames, wrap_tls
from testlib import HOST, Deadline, H1Conn, H2Client, h1_get, rss_kib

CLOSE_BOUND = 15.0      # a 1s timeout acts well within this
BIG = 64 * 1024 * 1024  # a response no client in these tests ever reads


# --------------------------------------------------------------------------
# helpers


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "never happened: " + what
        time.sleep(0.05)


def tcp_states():
    """(local port, remote port, state hex) of every IPv4 TCP socket."""
    rows = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            rows.append((int(local.rsplit(":", 1)[1], 16),
                         int(remote.rsplit(":", 1)[1], 16), state))
    return rows


ESTABLISHED = "01"


def proxy_end_open(gate_port, sock):
    """True while the proxy's socket of our connection `sock` is still
    ESTABLISHED (it has not closed it)."""
    mine = sock.getsockname()[1]
    return any(lp == gate_port and rp == mine and st == ESTABLISHED
               for lp, rp, st in tcp_states())


def conns_to(port):
    """Established connections some local socket holds to `port` (the
    proxy's backend connections to an origin)."""
    return sum(1 for lp, rp, st in tcp_states()
               if rp == port and st == ESTABLISHED)


def drain(sock):
    """Everything the socket holds now, without waiting; fails at EOF."""
    out = b""
    sock.setblocking(False)
    try:
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return out
            assert data, "closed while the client was reading"
            out += data
    finally:
        sock.setblocking(True)


def wait_closed(c, timeout=CLOSE_BOUND):
    """Pump the H2Client until the proxy closes the connection."""
    deadline = time.monotonic() + timeout
    while not c.closed:
        c.pump_once(deadline)


def goaway_before_end(c, sid):
    """True when a GOAWAY arrived before stream sid ended."""
    for ev in c.events:
        if isinstance(ev, StreamEnded) and ev.stream_id == sid:
            return False
        if isinstance(ev, ConnectionTerminated):
            return True
    return False


def assert_h1_408_or_close(out):
    """What an HTTP/1.1 client cut by the read timeout may see: a 408
    that closes the connection, or just the close."""
    if out == b"":
        return
    head, _, _ = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 408 "), out[:300]
    assert b"connection: close" in head.lower(), out[:300]


class Bystanders:
    """Well-behaved clients opened before the hostile one: an HTTP/2 and an
    HTTP/1.1 connection, each answered 200 once, then with /delay/MS in
    flight. finish() checks both answers, and that the HTTP/2 one got no
    GOAWAY while its stream was open."""

    def __init__(self, port, delay_ms=1500):
        self.h2 = H2Client(port, timeout=20)
        sid = self.h2.request("/")
        r = self.h2.wait_streams([sid])[0]
        assert r.status == 200, r
        self.sid = self.h2.request("/delay/%d" % delay_ms)
        self.h1 = H1Conn(port, timeout=20)
        self.h1.send(h1_get("/"))
        assert self.h1.read_response().status == 200
        self.h1.send(h1_get("/delay/%d" % delay_ms))

    def finish(self):
        try:
            r = self.h2.wait_streams([self.sid])[0]
            assert r.status == 200 and r.ended and r.reset is None, r
            assert r.data == b"ok\n", r.data
            assert not goaway_before_end(self.h2, self.sid), self.h2.events
            r1 = self.h1.read_response()
            assert r1.status == 200 and r1.body == b"ok\n", r1
        finally:
            self.h2.close()
            self.h1.close()


def assert_new_clients_served(port):
    """A new HTTP/2 and a new HTTP/1.1 connection each get a 200."""
    with H2Client(port) as c:
        sid = c.request("/")
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and r.ended and r.data, r
        assert c.goaway is None
    with H1Conn(port) as h:
        h.send(h1_get("/"))
        r1 = h.read_response()
        assert r1.status == 200 and r1.body, r1


def gate_with_trap(procs, extra):
    """h2gate with the origin on every path and a second, counting origin
    on /hostile/: anything forwarded for the hostile client shows there."""
    o = procs.origin()
    trap = procs.origin(count=True)
    g = procs.gate([o, trap.backend("/hostile/")], tls=False, extra=extra)
    return g, o, trap


# --------------------------------------------------------------------------
# HTTP/1.1: --frontend-read-timeout


@pytest.mark.parametrize("kept_alive", [False, True],
                         ids=["first_request", "kept_alive_request"])
def test_h1_stalled_head_408(procs, kept_alive):
    """A head that stops in the middle of a field: 408 (or a close) within
    the bound, nothing forwarded; on a kept-alive connection too, with a
    keep-alive timeout far longer than the read timeout."""
    g, _, trap = gate_with_trap(procs, ["--frontend-read-timeout=1s",
                                        "--frontend-keep-alive-timeout=30s"])
    by = Bystanders(g.port)
    with H1Conn(g.port, timeout=CLOSE_BOUND) as c:
        if kept_alive:
            c.send(h1_get("/"))
            assert c.read_response().status == 200
        c.send(b"GET /hostile/ HTTP/1.1\r\nHost: x\r\nX-A: ")
        assert_h1_408_or_close(c.read_to_eof(CLOSE_BOUND))
    by.finish()
    assert trap.count() == 0
    assert_new_clients_served(g.port)


def test_h1_trickled_head_408(procs):
    """A head trickled one byte every 0.5 s (each gap well under the
    timeout) is still cut: the timeout bounds the head from its first
    byte."""
    g, _, trap = gate_with_trap(procs, ["--frontend-read-timeout=1s"])
    by = Bystanders(g.port)
    with H1Conn(g.port, timeout=CLOSE_BOUND) as c:
        c.send(b"GET /hostile/ HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + CLOSE_BOUND
        answered = False
        while time.monotonic() < deadline:
            try:
                c.send(b"a")
            except (BrokenPipeError, ConnectionResetError):
                answered = True
                break
            r, _, _ = select.select([c.sock], [], [], 0.5)
            if r:
                answered = True
                break
        assert answered, "the proxy kept taking a trickled head"
        assert_h1_408_or_close(c.read_to_eof(CLOSE_BOUND))
    by.finish()
    assert trap.count() == 0
    assert_new_clients_served(g.port)


def test_h1_stalled_body_408(procs, backends):
    """A request body that stops arriving: 408 and close; the backend's
    stream for it is reset (an HTTP/2 backend that answers /echo only at
    the end of the body)."""
    b = backends()
    g = procs.gate([b.spec()], tls=False,
                   extra=["--frontend-read-timeout=1s"])
    by = Bystanders(g.port)
    with H1Conn(g.port, timeout=CLOSE_BOUND) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
               b"\r\n0123456789")
        r = c.read_response(timeout=CLOSE_BOUND)
        assert r.status == 408, r
        assert (r.header("connection") or "").lower() == "close", r
        assert c.read_to_eof(CLOSE_BOUND) == b""
    wait_until(lambda: b"/echo" not in backend_open_paths(b), CLOSE_BOUND,
               "backend stream of the cut request released")
    by.finish()
    assert_new_clients_served(g.port)


def test_h1_stalled_body_after_response_head(procs):
    """The same stall with the origin, which answers an upload's head at
    once: the head went out, so the connection is cut (the client sees an
    incomplete response) and the backend connection is closed."""
    o = procs.origin()
    g = procs.gate([o], tls=False, extra=["--frontend-read-timeout=1s"])
    with H1Conn(g.port, timeout=CLOSE_BOUND) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
               b"\r\n0123456789")
        out = c.read_to_eof(CLOSE_BOUND)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), out[:300]
    assert b"content-length: 100" in head.lower(), out[:300]
    assert len(body) < 100, out[:300]
    wait_until(lambda: conns_to(o.port) == 0, CLOSE_BOUND,
               "backend connection of the cut request closed")
    assert_new_clients_served(g.port)


def backend_open_paths(b):
    """:path of every stream the python-h2 backend still has open."""
    out = []

    def collect():
        for p in b.protos:
            out.extend(st.hmap.get(b":path") for st in p.streams.values())
    b.call(collect)
    return out


def test_h1_client_gone_mid_body(procs):
    """A client that closes after 1000 of 1000000 body bytes: the exchange
    ends at once (logged), its backend connection is closed, and the next
    request works."""
    o = procs.origin()
    g = procs.gate([o], tls=False, extra=["-L", "INFO"])
    with H1Conn(g.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
               b"\r\n" + b"x" * 1000)
        wait_until(lambda: conns_to(o.port) >= 1, CLOSE_BOUND,
                   "request forwarded")
    wait_until(lambda: "client closed during its request" in g.log(),
               CLOSE_BOUND, "'client closed during its request' logged")
    wait_until(lambda: conns_to(o.port) == 0, CLOSE_BOUND,
               "backend connection of the abandoned request closed")
    assert_new_clients_served(g.port)


@pytest.mark.parametrize("mode", ["cleartext", "tls", "tls_http11"])
def test_silent_connection_closed(procs, mode):
    """A connection that sends nothing (no protocol chosen, no TLS
    handshake, or a TLS handshake for http/1.1 and then no request) is
    closed by the read timeout, not the far longer keep-alive timeout:
    the read timeout bounds the first bytes of every connection."""
    g = procs.gate([procs.origin()], extra=["--frontend-read-timeout=1s",
                                            "--frontend-keep-alive-timeout=30s"])
    by = Bystanders(g.port)
    port = g.port if mode == "cleartext" else g.tls_port
    with socket.create_connection((HOST, port), timeout=CLOSE_BOUND) as s:
        if mode == "tls_http11":
            s = wrap_tls(s, "http/1.1")
        try:
            out = s.recv(65536)     # bounded by the socket timeout
        except (ConnectionResetError, ssl.SSLEOFError):
            out = b""
        s.close()
    assert out == b"", out          # EOF, and nothing said before it
    by.finish()
    assert_new_clients_served(g.port)


# --------------------------------------------------------------------------
# HTTP/1.1: --frontend-keep-alive-timeout


def test_h1_keep_alive_idle_closes(procs):
    """Nothing of a next request within the keep-alive timeout: close,
    with no bytes sent."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-keep-alive-timeout=1s",
                          "--frontend-read-timeout=30s"])
    by = Bystanders(g.port)
    with H1Conn(g.port, timeout=CLOSE_BOUND) as c:
        c.send(h1_get("/"))
        assert c.read_response().status == 200
        assert c.read_to_eof(CLOSE_BOUND) == b""
    by.finish()
    assert_new_clients_served(g.port)


def test_h1_slow_second_head_governed_by_read_timeout(procs):
    """Bug 7: keep-alive 1s, read 4s. The second request's head is sent
    half, then completed 2 s later: the read timeout, not the keep-alive
    one, governs it, so it is answered 200."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-keep-alive-timeout=1s",
                          "--frontend-read-timeout=4s"])
    with H1Conn(g.port, timeout=CLOSE_BOUND) as c:
        c.send(h1_get("/"))
        assert c.read_response().status == 200
        c.send(b"GET / HTTP/1.1\r\nHo")
        time.sleep(2.0)
        c.send(b"st: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == b"h2gate demo origin\n", r


# --------------------------------------------------------------------------
# HTTP/2: --frontend-keep-alive-timeout and --frontend-http2-read-timeout


def test_h2_keep_alive_idle_goaway(procs):
    """No open stream for the keep-alive timeout: GOAWAY(NO_ERROR) naming
    the last stream, then the close."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-keep-alive-timeout=1s"])
    by = Bystanders(g.port)
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        sid = c.request("/")
        assert c.wait_streams([sid])[0].status == 200
        c.wait(lambda: c.goaway is not None)
        assert c.goaway.error_code == ErrorCodes.NO_ERROR, c.goaway
        assert c.goaway.last_stream_id == sid, c.goaway
        wait_closed(c)
    by.finish()
    assert_new_clients_served(g.port)


def test_h2_keep_alive_counts_from_last_stream_end(procs):
    """Bug 6: keep-alive 1s and a single stream that takes 2.5 s: the
    stream is not cut, and GOAWAY(NO_ERROR) comes after it ended, then the
    close."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-keep-alive-timeout=1s"])
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        sid = c.request("/delay/2500")
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and r.ended and r.data == b"ok\n", r
        assert not goaway_before_end(c, sid), c.events
        c.wait(lambda: c.goaway is not None)
        assert c.goaway.error_code == ErrorCodes.NO_ERROR, c.goaway
        assert c.goaway.last_stream_id == sid, c.goaway
        wait_closed(c)
    assert_new_clients_served(g.port)


@pytest.mark.parametrize("open_stream", [False, True],
                         ids=["no_stream", "unfinished_upload"])
def test_h2_read_timeout_goaway(procs, open_stream):
    """--frontend-http2-read-timeout=1s with the keep-alive timeout at
    30s: a connection that sends no frame (with no stream, or with a
    request body that never goes on) gets GOAWAY(NO_ERROR) and is closed.
    The bystanders' streams, which wait for their backend for longer than
    the timeout, are not cut."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-http2-read-timeout=1s",
                          "--frontend-keep-alive-timeout=30s"])
    by = Bystanders(g.port, delay_ms=2500)
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        sid = c.request("/")
        assert c.wait_streams([sid])[0].status == 200
        if open_stream:
            up = c.request("/", method="POST", end_stream=False)
            c.send_body(up, b"x" * 100, end_stream=False)
        c.wait(lambda: c.goaway is not None)
        assert c.goaway.error_code == ErrorCodes.NO_ERROR, c.goaway
        wait_closed(c)
    by.finish()
    assert_new_clients_served(g.port)


def test_h2_read_timeout_after_backend_wait(procs):
    """--frontend-http2-read-timeout=1s, keep-alive 60s: a stream that
    waits 2.5 s for its backend is not cut; the client's next request,
    sent as soon as that answer arrived, is served; once the connection
    is idle, the read timeout (not the 60 s keep-alive) ends it with
    GOAWAY(NO_ERROR) naming that last stream, then the close."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-http2-read-timeout=1s",
                          "--frontend-keep-alive-timeout=60s"])
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        slow = c.request("/delay/2500")
        r = c.wait_streams([slow])[0]
        assert r.status == 200 and r.ended and r.data == b"ok\n", r
        nxt = c.request("/")
        r = c.wait_streams([nxt])[0]
        assert r.status == 200 and r.ended and r.reset is None, r
        assert not goaway_before_end(c, nxt), c.events
        c.wait(lambda: c.goaway is not None)
        assert c.goaway.error_code == ErrorCodes.NO_ERROR, c.goaway
        assert c.goaway.last_stream_id == nxt, c.goaway
        wait_closed(c)
    assert_new_clients_served(g.port)


# --------------------------------------------------------------------------
# --frontend-write-timeout


def test_h2_write_timeout_client_not_reading(procs):
    """An HTTP/2 client with huge windows asks for 64 MiB and never reads:
    the proxy closes the connection; the bytes that reached the client are
    a fraction of the response; the proxy did not buffer the response."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-write-timeout=1s"])
    by = Bystanders(g.port)
    rss0 = rss_kib(g.pid)
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        c.conn.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
        c.conn.increment_flow_control_window(2**31 - 1 - 65535)
        c.flush()
        sid = c.request("/")
        assert c.wait_streams([sid])[0].status == 200
        big = c.request("/size/%d" % BIG)
        wait_until(lambda: not proxy_end_open(g.port, c.sock), CLOSE_BOUND,
                   "proxy closed the connection of a client not reading")
        grew = rss_kib(g.pid) - rss0
        wait_closed(c, 30)
        r = c.streams[big]
        assert not r.ended and len(r.data) < BIG, r
    assert grew < 32 * 1024, "RSS grew by %d KiB" % grew
    by.finish()
    assert_new_clients_served(g.port)


def test_h1_write_timeout_client_not_reading(procs):
    """The same with an HTTP/1.1 client: closed, the response truncated."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-write-timeout=1s"])
    by = Bystanders(g.port)
    rss0 = rss_kib(g.pid)
    with H1Conn(g.port, timeout=30, rcvbuf=65536) as c:
        c.send(h1_get("/size/%d" % BIG))
        wait_until(lambda: not proxy_end_open(g.port, c.sock), CLOSE_BOUND,
                   "proxy closed the connection of a client not reading")
        grew = rss_kib(g.pid) - rss0
        out = c.read_to_eof(30)
    assert out.startswith(b"HTTP/1.1 200 "), out[:200]
    assert len(out) < BIG, len(out)
    assert grew < 32 * 1024, "RSS grew by %d KiB" % grew
    by.finish()
    assert_new_clients_served(g.port)


def test_write_timeout_spares_slow_reader(procs):
    """A client that reads slowly but steadily (the proxy's writes make
    progress more often than the timeout) is not cut: it gets the whole
    response."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-write-timeout=1s"])
    size = 4 * 1024 * 1024
    with H1Conn(g.port, timeout=30, rcvbuf=65536) as c:
        c.send(h1_get("/size/%d" % size))
        for _ in range(10):
            # Every 0.3 s for about 3 s, take what the socket holds (a
            # partial read would not reopen the TCP window).
            time.sleep(0.3)
            c.buf += drain(c.sock)
        r = c.read_response(timeout=30)
        assert r.status == 200 and len(r.body) == size, r


# --------------------------------------------------------------------------
# --stream-read-timeout


def test_stream_read_timeout_408(procs, backends):
    """An HTTP/2 upload that stops (HEADERS without END_STREAM, some DATA,
    then nothing): 408 on that stream while another stream on the same
    connection completes with 200; the backend's stream is reset; the
    connection goes on serving."""
    b = backends()
    g = procs.gate([b.spec()], tls=False,
                   extra=["--stream-read-timeout=1s"])
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        up = c.request("/echo", method="POST", end_stream=False)
        c.send_body(up, b"x" * 100, end_stream=False)
        other = c.request("/delay/2000")
        r_up, r_other = c.wait_streams([up, other])
        assert r_up.status == 408, r_up
        assert r_other.status == 200 and r_other.ended, r_other
        assert r_other.data == b"ok\n", r_other
        wait_until(lambda: b"/echo" not in backend_open_paths(b),
                   CLOSE_BOUND, "backend stream of the cut upload released")
        sid = c.request("/")
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and r.ended, r
        assert c.goaway is None
    assert_new_clients_served(g.port)


@pytest.mark.parametrize("timeout", ["1s", None], ids=["1s", "default_off"])
def test_stream_read_timeout_per_stream(procs, backends, timeout):
    """The stream read timeout watches the stream's own body, not the
    connection: PINGs every 0.3 s do not keep a stalled upload alive
    (408). Without the option (off by default) the same upload, stalled
    for 3 s, completes and is echoed."""
    b = backends()
    extra = ["--stream-read-timeout=%s" % timeout] if timeout else []
    g = procs.gate([b.spec()], tls=False, extra=extra)
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        up = c.request("/echo", method="POST", end_stream=False)
        c.send_body(up, b"a" * 100, end_stream=False)
        deadline = time.monotonic() + (CLOSE_BOUND if timeout else 3.0)
        next_ping = 0.0
        while time.monotonic() < deadline and not c.streams[up].done:
            # One PING per 0.3 s: answering each ACK at once would be a
            # PING flood, which the glitch budget cuts (test_h2_abuse.py).
            if time.monotonic() >= next_ping:
                c.conn.ping(b"12345678")
                c.flush()
                next_ping = time.monotonic() + 0.3
            try:
                c.pump_once(min(deadline, next_ping))
            except Deadline:    # nothing arrived before the next PING
                pass
            assert not c.closed
        r = c.streams[up]
        if timeout:
            assert r.status == 408, r
        else:
            assert not r.done, r
            c.send_body(up, b"b" * 100, end_stream=True)
            r = c.wait_streams([up])[0]
            assert r.status == 200 and r.ended, r
            assert bytes(r.data) == b"a" * 100 + b"b" * 100, r
        assert c.goaway is None


def test_stream_read_timeout_after_response_head(procs):
    """The same upload to the origin, which answers the head at once: the
    stalled stream is reset (its head went out already), the other stream
    on the connection completes, and the proxy closes the backend
    connection of the cut stream."""
    o = procs.origin()
    g = procs.gate([o], tls=False, extra=["--stream-read-timeout=1s"])
    with H2Client(g.port, timeout=CLOSE_BOUND) as c:
        up = c.request("/", method="POST", end_stream=False,
                       extra=[("content-length", "1000")])
        c.send_body(up, b"x" * 100, end_stream=False)
        other = c.request("/delay/2000")
        r_up, r_other = c.wait_streams([up, other])
        assert r_up.reset is not None or r_up.status == 408, r_up
        assert not (r_up.status == 200 and r_up.ended), r_up
        assert r_other.status == 200 and r_other.ended, r_other
        # The cut stream's backend connection is closed; the other one's
        # may stay pooled.
        wait_until(lambda: conns_to(o.port) <= 1, CLOSE_BOUND,
                   "backend connection of the cut upload closed")
        sid = c.request("/")
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and r.ended, r
        assert c.goaway is None
    assert_new_clients_served(g.port)


# --------------------------------------------------------------------------
# --stream-write-timeout


class CreditWithholder(H2Client):
    """Gives connection credit back for every stream, stream credit for
    every stream but .starved."""

    starved = None

    def on_event(self, ev):
        from h2.events import DataReceived
        if isinstance(ev, DataReceived) and ev.stream_id == self.starved:
            st = self.streams[ev.stream_id]
            st.data += ev.data
            if ev.flow_controlled_length:
                self.conn.increment_flow_control_window(
                    ev.flow_controlled_length)
            return
        super().on_event(ev)


def test_stream_write_timeout_rst(procs):
    """A stream whose client never gives it flow-control credit: its
    response bytes wait, and it is reset; a stream that does get credit on
    the same connection carries on to the end, and so does a later one."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--stream-write-timeout=1s"])
    rss0 = rss_kib(g.pid)
    size = 4 * 1024 * 1024
    with CreditWithholder(g.port, timeout=CLOSE_BOUND) as c:
        starved = c.request("/size/%d" % BIG)
        c.starved = starved
        fed = c.request("/size/%d" % size)
        r_starved, r_fed = c.wait_streams([starved, fed])
        assert r_starved.reset is not None and not r_starved.ended, r_starved
        assert r_starved.status == 200 and len(r_starved.data) <= 65535, \
            r_starved
        assert r_fed.status == 200 and r_fed.ended and r_fed.reset is None, \
            r_fed
        assert len(r_fed.data) == size, r_fed
        later = c.request("/size/100")
        r = c.wait_streams([later])[0]
        assert r.status == 200 and r.ended and len(r.data) == 100, r
        assert c.goaway is None
    grew = rss_kib(g.pid) - rss0
    assert grew < 32 * 1024, "RSS grew by %d KiB" % grew
    assert_new_clients_served(g.port)


# --------------------------------------------------------------------------
# --frontend-http2-setting-timeout

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS, GOAWAY = 0x4, 0x7
FLAG_ACK = 0x1
SETTINGS_TIMEOUT = 0x4


def test_settings_never_acked_goaway(procs):
    """A client that sends the preface and its SETTINGS but never
    acknowledges the proxy's: GOAWAY(SETTINGS_TIMEOUT), then the close.
    The bystanders, which acknowledged, are left alone."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-http2-setting-timeout=1s"])
    by = Bystanders(g.port)
    with socket.create_connection((HOST, g.port), timeout=CLOSE_BOUND) as s:
        s.sendall(PREFACE + b"\x00\x00\x00" + bytes([SETTINGS, 0]) +
                  b"\x00\x00\x00\x00")
        frames = read_frames(s, CLOSE_BOUND)
    types = [(t, f) for t, f, _, _ in frames]
    assert (SETTINGS, 0) in types, frames          # the proxy's SETTINGS
    assert (SETTINGS, FLAG_ACK) in types, frames   # it acknowledged ours
    goaways = [p for t, _, sid, p in frames if t == GOAWAY and sid == 0]
    assert len(goaways) == 1, frames
    assert frames[-1][0] == GOAWAY, frames
    last_stream, code = struct.unpack(">II", goaways[0][:8])
    assert code == SETTINGS_TIMEOUT, frames
    assert last_stream & 0x7fffffff == 0, frames
    by.finish()
    assert_new_clients_served(g.port)
