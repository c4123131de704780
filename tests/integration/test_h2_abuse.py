"""Abusive HTTP/2 clients (proxy/h2abuse.c): oversized header blocks,
CONTINUATION floods, glitch floods past --frontend-http2-glitch-budget,
MadeYouReset (CVE-2025-8671), rapid reset (CVE-2023-44487) and clients that
never read. Each hostile connection is cut with the expected GOAWAY (or
closed), a connection opened before it and one opened after it still get
200, nothing reaches the origin that should not, RSS stays bounded and the
/metrics counters move. Legitimate load (h2load, nghttp, curl) never trips
the budget."""

import socket
import struct
import subprocess
import time

import hpack
import pytest

from obs_lib import gate_with_admin, scrape, settle
from testlib import HOST, H2Client, Deadline, h2load, rss_kib

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 2, 3, 4, 6, 7
WINDOW_UPDATE, CONTINUATION = 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4
ENHANCE_YOUR_CALM = 0xb
CUT_TIMEOUT = 20.0
RSS_SLACK_KIB = 64 * 1024


def frame(ftype, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags])
            + struct.pack(">I", sid) + payload)


class RawH2:
    """A hand-rolled HTTP/2 client: frames as bytes, for peers python-h2
    would refuse to be."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((HOST, port))
        self.enc = hpack.Encoder()
        self.buf = b""
        self.frames = []     # (type, flags, stream id, payload)
        self.send(PREFACE + frame(SETTINGS, 0, 0))

    def close(self):
        self.sock.close()

    def send(self, data):
        """Send what the peer takes; False once it has cut us off."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def block(self, path="/", method="GET", extra=()):
        return self.enc.encode([(":method", method), (":scheme", "http"),
                                (":authority", "localhost"), (":path", path),
                                *extra])

    def request(self, sid, path="/", end=True, method="GET", extra=()):
        return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), sid,
                     self.block(path, method, extra))

    def read_until_closed(self, timeout=CUT_TIMEOUT):
        """Frames up to the peer's close; Deadline if it never closes."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Deadline("connection not closed; frames %r"
                               % [f[:3] for f in self.frames[-5:]])
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                return self.frames
            self.buf += data
            while len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + n:
                    break
                t, fl = self.buf[3], self.buf[4]
                sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                self.frames.append((t, fl, sid, self.buf[9:9 + n]))
                self.buf = self.buf[9 + n:]

    def goaway_code(self):
        codes = [struct.unpack(">II", f[3][:8])[1] for f in self.frames
                 if f[0] == GOAWAY]
        return codes[-1] if codes else None

    def statuses(self, sid):
        """The :status of each HEADERS frame on sid (HPACK-decoded)."""
        dec = hpack.Decoder()
        out = []
        for t, _, s, payload in self.frames:
            if t == HEADERS:
                hdrs = dict(dec.decode(payload))
                if s == sid:
                    out.append(int(hdrs[":status"]))
        return out


def good_get(client, path="/size/100"):
    sid = client.request(path)
    (r,) = client.wait_streams([sid])
    assert r.status == 200 and r.ended, r
    return r


def glitches(port, kind):
    return scrape(port).get("h2gate_http2_glitches_total", kind=kind)


def abuse_closes(port, kind):
    return scrape(port).get("h2gate_http2_abuse_closes_total", kind=kind)


@pytest.fixture
def gate(procs):
    """h2gate (one worker, admin on) in front of an origin that counts the
    connections it accepts: (gate, origin)."""
    origin = procs.origin(count=True)
    g = gate_with_admin(procs, [origin], tls=False)
    return g, origin


def run_hostile(g, origin, attack, expect_kind, expect_goaway=True):
    """A good connection before, the hostile one, a good one after.
    attack(RawH2) sends the abuse. The origin sees no connection from the
    hostile peer (nothing forwarded), the hostile peer is cut, RSS stays
    bounded, and the kind's abuse-close counter moves."""
    before = H2Client(g.port)
    rss0 = rss_kib(g.pid)
    hostile = RawH2(g.port)
    try:
        attack(hostile)
        hostile.read_until_closed()
        if expect_goaway:
            assert hostile.goaway_code() == ENHANCE_YOUR_CALM, hostile.frames[-3:]
    finally:
        hostile.close()
    assert origin.count() == 0, "the hostile peer's request was forwarded"
    assert rss_kib(g.pid) - rss0 < RSS_SLACK_KIB
    good_get(before)
    before.close()
    with H2Client(g.port) as after:
        good_get(after)
    assert abuse_closes(g.admin_port, expect_kind) == 1
    assert glitches(g.admin_port, expect_kind) >= 1


# ---------------------------------------------------------------- bugs 2, 3


def test_256k_header_block_is_cut_not_forwarded(gate):
    """Bug 2: 256 KiB of fields in HEADERS + CONTINUATION."""
    g, origin = gate

    def attack(c):
        block = c.block() + b"".join(
            c.enc.encode([("x-h%d" % i, "v" * 1000)]) for i in range(256))
        chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        data = frame(HEADERS, END_STREAM, 1, chunks[0])
        for i, ch in enumerate(chunks[1:]):
            last = i == len(chunks) - 2
            data += frame(CONTINUATION, END_HEADERS if last else 0, 1, ch)
        c.send(data)
    run_hostile(g, origin, attack, "header_block")


def test_header_block_over_limit_gets_431(gate):
    """A block over --request-header-field-buffer that nghttp2 accepts
    (few CONTINUATIONs) is answered 431 on its stream, not forwarded; the
    connection lives on."""
    g, origin = gate
    c = RawH2(g.port)
    try:
        block = c.block() + b"".join(
            c.enc.encode([("x-h%d" % i, "v" * 1000)]) for i in range(100))
        chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        data = frame(HEADERS, END_STREAM, 1, chunks[0])
        for i, ch in enumerate(chunks[1:]):
            last = i == len(chunks) - 2
            data += frame(CONTINUATION, END_HEADERS if last else 0, 1, ch)
        c.send(data + c.request(3, "/size/10"))
        wait_frames(c, lambda: {f[2] for f in c.frames
                                if f[0] == DATA and f[1] & END_STREAM}
                    == {1, 3})
        assert c.statuses(1) == [431]
        assert c.statuses(3) == [200]
    finally:
        c.close()
    assert origin.count() == 1   # stream 3 only
    assert glitches(g.admin_port, "header_block") >= 1


def test_empty_continuation_flood_gets_goaway(gate):
    """Bug 3: HEADERS without END_HEADERS, then 10,000 empty CONTINUATION."""
    g, origin = gate

    def attack(c):
        c.send(frame(HEADERS, END_STREAM, 1, c.block()))
        c.send(frame(CONTINUATION, 0, 1) * 10000)
    run_hostile(g, origin, attack, "empty_continuation")


# ---------------------------------------------------------- glitch floods

N = 5000


FLOODS = {
    "empty_data": lambda c: c.send(
        frame(HEADERS, END_HEADERS, 1, c.block("/status/200", "POST"))
        + frame(DATA, 0, 1) * N),
    "ping": lambda c: c.send(frame(PING, 0, 0, b"12345678") * N),
    "settings": lambda c: c.send(frame(SETTINGS, 0, 0) * N),
    "priority": lambda c: c.send(b"".join(
        frame(PRIORITY, 0, 3 + 2 * (i % 50), b"\0\0\0\0\x10")
        for i in range(N))),
    "unknown_frame": lambda c: c.send(frame(0x20, 0, 0, b"x") * N),
    "client_reset": lambda c: c.send(b"".join(
        c.request(1 + 2 * i, "/delay/1000")
        + frame(RST_STREAM, 0, 1 + 2 * i, struct.pack(">I", 8))
        for i in range(N))),
}


@pytest.mark.parametrize("kind", sorted(FLOODS))
def test_glitch_flood_gets_enhance_your_calm(procs, kind):
    origin = procs.origin(count=True)
    g = gate_with_admin(procs, [origin], tls=False)
    before = H2Client(g.port)
    rss0 = rss_kib(g.pid)
    hostile = RawH2(g.port)
    try:
        FLOODS[kind](hostile)
        hostile.read_until_closed()
        assert hostile.goaway_code() == ENHANCE_YOUR_CALM, hostile.frames[-3:]
    finally:
        hostile.close()
    if kind not in ("client_reset", "empty_data"):
        # (those two floods ride on valid requests, which go through)
        assert origin.count() == 0
    assert rss_kib(g.pid) - rss0 < RSS_SLACK_KIB
    good_get(before)
    before.close()
    with H2Client(g.port) as after:
        good_get(after)
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_http2_abuse_closes_total", kind=kind) == 1
    assert snap.get("h2gate_http2_glitches_total", kind=kind) >= 1000


def test_frames_on_long_closed_streams(procs):
    """HEADERS (nghttp2 drops them silently) and DATA (nghttp2 hides them
    from its callbacks) on a stream closed long ago."""
    origin = procs.origin()
    g = gate_with_admin(procs, [origin], tls=False)
    for ftype in (HEADERS, DATA):
        c = RawH2(g.port)
        try:
            c.send(c.request(1, "/size/1"))
            wait_frames(c, lambda: any(f[0] == DATA and f[1] & END_STREAM
                                       for f in c.frames))
            # 90 more streams (under the 100 allowed at once), so stream 1
            # is not among the 64 most recently closed.
            c.send(b"".join(c.request(3 + 2 * i, "/size/1")
                            for i in range(90)))
            wait_frames(c, lambda: len([f for f in c.frames
                                        if f[0] == DATA and f[1] & END_STREAM])
                        == 91)
            payload = c.enc.encode([("x-a", "b")]) if ftype == HEADERS else b"x"
            flags = END_HEADERS | END_STREAM if ftype == HEADERS else 0
            c.send(frame(ftype, flags, 1, payload) * N)
            c.read_until_closed()
            assert c.goaway_code() == ENHANCE_YOUR_CALM
        finally:
            c.close()
    assert abuse_closes(g.admin_port, "closed_stream") == 2
    with H2Client(g.port) as after:
        good_get(after)


def wait_frames(c, cond, timeout=CUT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, c.frames[-3:]
        c.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            continue
        assert data, "closed early"
        c.buf += data
        while len(c.buf) >= 9:
            n = int.from_bytes(c.buf[:3], "big")
            if len(c.buf) < 9 + n:
                break
            c.frames.append((c.buf[3], c.buf[4],
                             int.from_bytes(c.buf[5:9], "big") & 0x7FFFFFFF,
                             c.buf[9:9 + n]))
            c.buf = c.buf[9 + n:]


def test_too_many_settings_entries(gate):
    g, origin = gate

    def attack(c):
        c.send(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x64" * 2000))
    run_hostile(g, origin, attack, "settings")


def test_window_update_zero_is_counted(gate):
    """A zero increment is a connection error nghttp2 answers itself
    (GOAWAY PROTOCOL_ERROR); h2gate counts the glitch."""
    g, _ = gate
    c = RawH2(g.port)
    try:
        c.send(frame(WINDOW_UPDATE, 0, 0, b"\0\0\0\0"))
        c.read_until_closed()
        assert c.goaway_code() == 1
    finally:
        c.close()
    assert glitches(g.admin_port, "window_update") == 1


# ------------------------------------------------------------ MadeYouReset


def test_made_you_reset_cancels_backend_and_counts(procs):
    """WINDOW_UPDATE overflow on a stream whose backend is still working:
    nghttp2 resets the stream (FLOW_CONTROL_ERROR), the backend side is
    released at once, and the reset counts against the client; enough of
    them cut the connection."""
    origin = procs.origin()
    g = gate_with_admin(procs, [origin], tls=False,
                        extra=["--frontend-http2-glitch-budget=20",
                               "--frontend-http2-glitch-refill=0"])
    c = RawH2(g.port)
    try:
        c.send(c.request(1, "/delay/60000"))
        settle(g.admin_port, lambda s: s.get(
            "h2gate_backend_connections_active") == 1)
        c.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0x7FFFFFFF)))
        wait_frames(c, lambda: any(f[0] == RST_STREAM and f[2] == 1
                                   for f in c.frames))
        rst = [f for f in c.frames if f[0] == RST_STREAM and f[2] == 1][0]
        assert struct.unpack(">I", rst[3])[0] == 3   # FLOW_CONTROL_ERROR
        # The backend connection carrying the stream is gone, while the
        # client connection is still open.
        settle(g.admin_port, lambda s: s.get(
            "h2gate_backend_connections_active") == 0
            and s.get("h2gate_connections_active") == 1)
        assert glitches(g.admin_port, "server_reset") == 1
        # More of the same: DATA beyond content-length, bad trailers.
        for i in range(30):
            sid = 3 + 2 * i
            if not c.send(
                    frame(HEADERS, END_HEADERS, sid, c.block(
                        "/echo", "POST", [("content-length", "1")]))
                    + frame(DATA, END_STREAM, sid, b"xx")):
                break
        c.read_until_closed()
        assert c.goaway_code() == ENHANCE_YOUR_CALM
    finally:
        c.close()
    assert abuse_closes(g.admin_port, "server_reset") == 1
    with H2Client(g.port) as after:
        good_get(after)


# ------------------------------------------------------------- the option


def test_budget_option_tunes_and_disables(procs):
    origin = procs.origin()
    g = gate_with_admin(procs, [origin], tls=False,
                        extra=["--frontend-http2-glitch-budget=10",
                               "--frontend-http2-glitch-refill=0"])
    c = RawH2(g.port)
    try:
        c.send(frame(PING, 0, 0, b"12345678") * 12)
        c.read_until_closed()
        assert c.goaway_code() == ENHANCE_YOUR_CALM
    finally:
        c.close()
    g2 = gate_with_admin(procs, [origin], tls=False,
                         extra=["--frontend-http2-glitch-budget=0"])
    with H2Client(g2.port) as h:
        for _ in range(3):
            h.sock.sendall(frame(PRIORITY, 0, 101, b"\0\0\0\0\x10") * 500)
        good_get(h)
    assert abuse_closes(g2.admin_port, "priority") == 0
    assert glitches(g2.admin_port, "priority") == 1500


# ------------------------------------------------------- outbound queue cap


def test_non_reader_ping_flood_is_closed_rss_bounded(gate):
    """A client that never reads and floods PINGs (a few at a time, under
    any per-read budget) cannot make h2gate queue unbounded ACKs."""
    g, origin = gate
    before = H2Client(g.port)
    rss0 = rss_kib(g.pid)
    c = RawH2(g.port, rcvbuf=4096)
    try:
        c.sock.settimeout(CUT_TIMEOUT)
        sent = 0
        deadline = time.monotonic() + CUT_TIMEOUT
        while c.send(frame(PING, 0, 0, b"12345678") * 100):
            sent += 100
            assert time.monotonic() < deadline, "never cut after %d" % sent
    except socket.timeout:
        pytest.fail("h2gate stopped reading but never closed")
    finally:
        c.close()
    assert rss_kib(g.pid) - rss0 < RSS_SLACK_KIB
    snap = scrape(g.admin_port)
    assert (snap.get("h2gate_http2_abuse_closes_total", kind="ping")
            + snap.get("h2gate_http2_abuse_closes_total", kind="flood")
            + snap.get("h2gate_http2_abuse_closes_total",
                       kind="output_queue")) == 1
    good_get(before)
    before.close()
    with H2Client(g.port) as after:
        good_get(after)


def test_non_reader_with_many_requests_stays_bounded(gate):
    """Requests for large bodies, never read: what h2gate holds is capped
    by the streams allowed and per-stream buffers, not by the responses."""
    g, _ = gate
    rss0 = rss_kib(g.pid)
    c = RawH2(g.port, rcvbuf=4096)
    try:
        for rnd in range(10):
            if not c.send(b"".join(c.request(1 + 2 * (rnd * 100 + i),
                                             "/size/10000000")
                                   for i in range(100))):
                break
        time.sleep(1)  # let h2gate fill what it will (not a threshold)
        grown = rss_kib(g.pid) - rss0
    finally:
        c.close()
    assert grown < 128 * 1024, grown
    with H2Client(g.port) as after:
        good_get(after)


# -------------------------------------------------- legitimate traffic


def test_legitimate_clients_never_trip_the_budget(procs, tls_files):
    origin = procs.origin()
    g = gate_with_admin(procs, [origin])
    url = "http://%s:%d/" % (HOST, g.port)
    r = h2load(url, 100000, 10, 100, timeout=300)
    assert (r.done, r.failed, r.errored) == (100000, 0, 0), r.output
    r = h2load(url + "size/200000", 2000, 4, 100, timeout=300)
    assert (r.done, r.failed, r.errored) == (2000, 0, 0), r.output
    r = h2load("https://%s:%d/size/1000" % (HOST, g.tls_port), 20000, 4, 100,
               timeout=300)
    assert (r.done, r.failed, r.errored) == (20000, 0, 0), r.output
    p = subprocess.run(["nghttp", "-n", "-m", "500", url + "size/10000"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    for _ in range(3):
        p = subprocess.run(["curl", "-sS", "-k", "--http2", "-o", "/dev/null",
                            "-w", "%{http_code}",
                            "https://localhost:%d/size/100" % g.tls_port,
                            "--resolve", "localhost:%d:%s" % (g.tls_port, HOST)],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60, check=False)
        assert p.stdout == b"200", p.stderr
    # A browser cancelling range requests: 50 streams, each reset.
    with H2Client(g.port) as h:
        sids = [h.request("/size/100000", extra=[("range", "bytes=0-99")])
                for _ in range(50)]
        for sid in sids:
            h.conn.reset_stream(sid, 8)
        h.flush()
        good_get(h)
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_http2_abuse_closes_total") == 0, snap.text
