"""RFC 9218 priorities on client HTTP/2 connections: the priority request
field and PRIORITY_UPDATE frames steer which response's DATA h2gate sends
first, a backend's priority response field amends the client's wish, the
field reaches HTTP/1.1 and HTTP/2 backends, RFC 7540 PRIORITY signals are
accepted and ignored, and h2gate's SETTINGS say so.

The client (rawh2.RawH2) records every frame raw. Stream windows are made
huge (or zero, to hold responses back) and the connection window is
opened as the client reads, one DATA frame's length at a time: at most
64 KiB is in flight, so a 16 MiB response is really in flight, not
already delivered, when the next request comes. Assertions count bytes
and frames, never time.
"""

import socket
import threading
import time
import urllib.parse

import pytest

from conftest import IS_NGHTTPX
from obs_lib import gate_with_admin, scrape, settle
from rawh2 import (DATA, HEADERS, SETTINGS_INITIAL_WINDOW_SIZE,
                   SETTINGS_NO_RFC7540_PRIORITIES, WINDOW_UPDATE, RawH2, frame,
                   status_of)
from testlib import HOST

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="h2gate's rules: RFC 9218 without the client's "
    "SETTINGS (nghttpx falls back to RFC 7540), backend priority fields")

BIG = 16 << 20
MAX_WINDOW = 2 ** 31 - 1
# Only the connection window paces the server.
WIDE = [(SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW)]
# What a response may still get in after a more urgent one is ready: the
# 64 KiB connection window already granted, plus a few frames serialised
# before the urgent body reached h2gate.
LATE_BOUND = 256 * 1024


def give_back(c):
    """on_frame: each DATA frame's flow-controlled length goes back to the
    connection window once read (a slow reader's step-by-step window)."""
    def on(f):
        if f.type == DATA and f.length:
            c.window_update(0, f.length)
    return on


def data_bytes(frames, sid):
    return sum(len(f.data) for f in frames if f.type == DATA and f.sid == sid)


def ended(c, sid):
    """until(): stream sid has ended, in this frame or an earlier one."""
    return lambda f: any(g.sid == sid and g.end_stream for g in c.frames)


def headers_of(c, sid):
    """until(): the response head of sid, in this frame or an earlier one."""
    def cond(f):
        return any(g.type == HEADERS and g.sid == sid for g in c.frames)
    return cond


def head_frame(c, sid):
    return next(f for f in c.frames if f.type == HEADERS and f.sid == sid)


def read_bytes(c, sid, n):
    """Reads (giving the window back) until stream sid got n more bytes."""
    start = data_bytes(c.frames, sid)
    c.until(lambda f: data_bytes(c.frames, sid) - start >= n,
            on_frame=give_back(c))


def since(c, mark, sid):
    return data_bytes(c.frames[mark:], sid)


def after_head(c, sid, other):
    """Bytes stream `other` got from sid's response head to sid's end:
    what went out ahead of sid once sid's response was at h2gate."""
    head = head_frame(c, sid)
    start = c.frames.index(head) + 1
    end = next(i for i, f in enumerate(c.frames)
               if f.sid == sid and f.end_stream)
    return data_bytes(c.frames[start:end + 1], other)


def no_errors(c):
    assert c.errors() == [], c.errors()


# ---- SETTINGS ----

def test_settings_no_rfc7540_priorities(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port) as c:
        c.until(lambda f: c.server_settings)
        assert (SETTINGS_NO_RFC7540_PRIORITIES, 1) in c.server_settings[0]


# ---- urgency ----

def test_urgent_response_overtakes_bulk(procs):
    """A u=7 16 MiB download is in flight; a u=0 request made then is
    answered in full while the download has most of its bytes to go. The
    client's RFC 7540 signals say the opposite (the urgent stream depends
    exclusively on the bulk one, which has weight 256): they are accepted
    and ignored."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.request(1, "/size/%d" % BIG, [("priority", "u=7")],
                  prio7540=(0, 256, False))
        c.until(headers_of(c, 1), on_frame=give_back(c))
        read_bytes(c, 1, 512 * 1024)
        c.priority(3, 1, 1, excl=True)
        mark = len(c.frames)
        c.request(3, "/size/100000", [("priority", "u=0")],
                  prio7540=(1, 1, True))
        c.until(ended(c, 3), on_frame=give_back(c))
        assert status_of(head_frame(c, 3)) == "200"
        assert data_bytes(c.frames, 3) == 100000
        # Between the urgent response's head and its END_STREAM the bulk
        # stream got little, and it is far from done.
        assert after_head(c, 3, 1) <= LATE_BOUND, after_head(c, 3, 1)
        assert since(c, mark, 1) < BIG // 4, since(c, mark, 1)
        no_errors(c)


def download_held(port, quiet=1.0, timeout=60):
    """Waits until h2gate has stopped reading its backend (the bytes it
    read have not moved for `quiet` seconds): it reads a response only
    while that response's buffer is under its high-water mark, so from
    then on everything between the backend and the client that stopped
    reading is full: the client's socket, the kernel's, cc->out, the
    exchange's buffer."""
    deadline = time.monotonic() + timeout
    name = "h2gate_backend_bytes_total"
    last = scrape(port).get(name, direction="in")
    still_since = time.monotonic()
    while time.monotonic() - still_since < quiet:
        assert time.monotonic() < deadline, "h2gate never stopped reading"
        time.sleep(0.05)
        now = scrape(port).get(name, direction="in")
        if now != last:
            last, still_since = now, time.monotonic()


def test_urgent_not_queued_behind_socket_buffer(procs):
    """A client with a 64 KiB receive buffer and windows of 2 GiB stops
    reading while a u=7 download runs: h2gate's output then sits in
    cc->out (64 KiB and a frame) and the kernel (TCP_NOTSENT_LOWAT: 16 KiB
    unsent), not megabytes of socket buffer. A u=0 request made then has
    its head and body behind no more than that once the client reads
    again. The urgent request is made only once that is so (h2gate
    stopped reading the download), and the client reads again only once
    h2gate has all of the urgent answer (its backend connection went back
    to the pool): room left on the way, or a body that reached h2gate in
    pieces while the client read, would let the download fill the gaps,
    which is the scheduler working, not queueing."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False)
    with RawH2(g.port, settings=WIDE, rcvbuf=65536) as c:
        c.window_update(0, MAX_WINDOW - 65535)
        c.request(1, "/size/%d" % (256 << 20), [("priority", "u=7")])
        c.until(lambda f: data_bytes(c.frames, 1) >= 1 << 20)
        download_held(g.admin_port)
        idle = scrape(g.admin_port).get("h2gate_backend_connections_idle")
        mark = len(c.frames)
        c.request(3, "/size/100000", [("priority", "u=0")])
        settle(g.admin_port, lambda s: s.get(
            "h2gate_backend_connections_idle") > idle)
        c.until(ended(c, 3))
        head = c.frames.index(head_frame(c, 3))
        ahead = data_bytes(c.frames[mark:head], 1)
        assert ahead <= 1 << 20, ahead
        assert after_head(c, 3, 1) <= LATE_BOUND, after_head(c, 3, 1)
        no_errors(c)


def test_urgent_overtakes_bulk_over_tls(procs):
    """The same over TLS (ALPN h2), where h2gate's output is TLS records
    and the socket limit applies to their bytes."""
    o = procs.origin()
    g = procs.gate([o], plain=False)
    with RawH2(g.tls_port, settings=WIDE, tls=True) as c:
        c.request(1, "/size/%d" % BIG, [("priority", "u=7")])
        read_bytes(c, 1, 512 * 1024)
        c.request(3, "/size/100000", [("priority", "u=0")])
        c.until(ended(c, 3), on_frame=give_back(c))
        assert data_bytes(c.frames, 3) == 100000
        assert after_head(c, 3, 1) <= LATE_BOUND, after_head(c, 3, 1)
        no_errors(c)


def all_data(c):
    return sum(len(f.data) for f in c.frames if f.type == DATA)


# What a test opens the connection window by at a time: less than any
# response holds buffered at h2gate once its head is out (h2gate reads a
# backend ahead to XCHG_BUF_LOW, 64 KiB, at least), so no response runs
# dry within one opening.
GATE = 60 * 1024


def spend_connection_window(c):
    """Reads without giving the connection window back until its 65535
    bytes are spent: from there h2gate sends DATA only as the client
    opens it (GATE at a time), and each response waits buffered at
    h2gate, so the scheduler alone decides who gets an opening."""
    c.until(lambda f: all_data(c) >= 65535)


def open_and_read(c, n):
    """Opens the connection window by n and reads the n bytes it lets
    through; the index of the first frame after the opening."""
    mark = len(c.frames)
    c.window_update(0, n)
    c.until(lambda f: sum(len(g.data) for g in c.frames[mark:] if g.type == DATA) >= n)
    return mark


def test_lower_urgency_waits(procs):
    """The converse: a u=7 request made while a u=0 download runs gets
    nothing while the download has bytes ready (see the PRIORITY_UPDATE
    test for a raise). The connection window gates DATA, so both
    responses are at h2gate when 128 KiB of window opens: all of it goes
    to the download."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.request(1, "/size/%d" % BIG, [("priority", "u=0")])
        spend_connection_window(c)
        c.request(3, "/size/100000", [("priority", "u=7")])
        c.until(headers_of(c, 3))
        for _ in range(2):
            mark = open_and_read(c, GATE)
            assert (since(c, mark, 3), since(c, mark, 1)) == (0, GATE)
        no_errors(c)


def test_rfc7540_client_streams_share(procs):
    """A client that sends no RFC 9218 signal at all (no priority field,
    no SETTINGS_NO_RFC7540_PRIORITIES, no PRIORITY_UPDATE) gets RFC
    7540's default: its streams take turns. A second download started
    while a first one runs completes while the first gets about as much."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.request(1, "/size/%d" % BIG)
        read_bytes(c, 1, 256 * 1024)
        c.request(3, "/size/1000000")
        c.until(ended(c, 3), on_frame=give_back(c))
        assert data_bytes(c.frames, 3) == 1000000
        assert after_head(c, 3, 1) <= 1000000 + LATE_BOUND, after_head(c, 3, 1)
        no_errors(c)


def test_rfc9218_client_default_is_not_incremental(procs):
    """The same client announcing RFC 9218 (SETTINGS_NO_RFC7540_PRIORITIES
    = 1) and sending no priority field: both streams have RFC 9218's
    default, u=3 non-incremental, and the second waits for the first."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE + [(SETTINGS_NO_RFC7540_PRIORITIES, 1)]) as c:
        c.request(1, "/size/%d" % BIG)
        read_bytes(c, 1, 256 * 1024)
        c.request(3, "/size/1000000")
        c.until(headers_of(c, 3), on_frame=give_back(c))
        mark = len(c.frames)
        read_bytes(c, 1, 2 << 20)
        assert since(c, mark, 3) < 1000000 // 2, since(c, mark, 3)
        no_errors(c)


# h2gate's full DATA frame: header and payload fill one 16 KiB TLS record.
FULL_DATA = 16384 - 9


def three_responses(c, priority, size=3 * FULL_DATA):
    """Three requests of one urgency whose bodies are held back (stream
    windows 0) until all are at h2gate, then released at once: the DATA
    frames' stream ids in the order they came (three full frames each)."""
    c.window_update(0, 16 << 20)  # the connection window never limits
    for sid in (1, 3, 5):
        c.request(sid, "/size/%d" % size, [("priority", priority)])
    c.until(lambda f: {1, 3, 5} <= {g.sid for g in c.frames if g.type == HEADERS})
    time.sleep(0.3)  # lets the bodies reach h2gate; the order is asserted
    mark = len(c.frames)
    c.send(b"".join(_wu(sid, size) for sid in (1, 3, 5)))
    done = set()
    while len(done) < 3:
        f = c.next_frame()
        if f.type == DATA and f.end_stream:
            done.add(f.sid)
    frames = [f for f in c.frames[mark:] if f.type == DATA and f.data]
    for sid in (1, 3, 5):
        assert data_bytes(frames, sid) == size
    return [f.sid for f in frames]


def _wu(sid, n):
    return frame(WINDOW_UPDATE, 0, sid, n.to_bytes(4, "big"))


def test_non_incremental_sent_whole_in_order(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]) as c:
        order = three_responses(c, "u=3")
        assert order == [1, 1, 1, 3, 3, 3, 5, 5, 5], order
        no_errors(c)


def test_incremental_interleaved_round_robin(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]) as c:
        order = three_responses(c, "u=3, i")
        assert order == [1, 3, 5, 1, 3, 5, 1, 3, 5], order
        no_errors(c)


def test_priority_update_raises_stream(procs):
    """Stream 3 (u=7) waits behind a u=3 download; a PRIORITY_UPDATE to
    u=0 makes it go first. The connection window gates DATA (see
    spend_connection_window): 128 KiB of it all go to the download, then,
    after the update, the next opening all goes to stream 3."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.request(1, "/size/%d" % BIG, [("priority", "u=3")])
        spend_connection_window(c)
        c.request(3, "/size/100000", [("priority", "u=7")])
        c.until(headers_of(c, 3))
        mark = open_and_read(c, GATE)
        assert (since(c, mark, 3), since(c, mark, 1)) == (0, GATE)
        c.priority_update(3, "u=0")
        mark = open_and_read(c, GATE)
        assert (since(c, mark, 3), since(c, mark, 1)) == (GATE, 0)
        c.window_update(0, 1 << 20)
        c.until(ended(c, 3))
        assert data_bytes(c.frames, 3) == 100000
        no_errors(c)


def test_rfc7540_priority_frames_accepted(procs):
    """PRIORITY frames (idle, open and closed streams, before and after
    RFC 9218 signals) and HEADERS with priority: no error, every answer
    complete."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.priority(9, 0, 16)              # idle stream
        c.request(1, "/size/1000", prio7540=(0, 200, True))
        c.priority(1, 0, 1)               # open (or just closed) stream
        c.until(ended(c, 1), on_frame=give_back(c))
        c.priority(1, 0, 32)              # closed stream
        c.request(3, "/size/1000", [("priority", "u=1, i")],
                  prio7540=(1, 5, False))
        c.priority(3, 0, 256, excl=True)
        c.priority_update(3, "u=2")
        c.until(ended(c, 3), on_frame=give_back(c))
        c.request(5, "/", prio7540=(3, 16, False))
        c.until(ended(c, 5), on_frame=give_back(c))
        head = head_frame(c, 5)
        assert status_of(head) == "200"
        assert data_bytes(c.frames, 1) == data_bytes(c.frames, 3) == 1000
        no_errors(c)


def test_bad_priority_values_ignored(procs):
    """A malformed priority field or PRIORITY_UPDATE value is ignored (the
    stream keeps its priority), never an error."""
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.request(1, "/size/1000", [("priority", "u=1,,"), ("priority", "u=99")])
        c.priority_update(1, "u=(")
        c.priority_update(101, "u=0")     # a stream not opened yet
        c.until(ended(c, 1), on_frame=give_back(c))
        assert data_bytes(c.frames, 1) == 1000
        no_errors(c)


# ---- backends ----

def test_priority_field_reaches_backends(procs, backends):
    h1 = backends(h1=True)
    h2b = backends()
    g = procs.gate(["%s,%d;/one/" % (HOST, h1.port),
                    h2b.spec(";/two/;proto=h2")], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.request(1, "/one/x", [("priority", "u=2, i")])
        c.request(3, "/two/x", [("priority", "u=5")])
        c.until(ended(c, 1), on_frame=give_back(c))
        c.until(ended(c, 3), on_frame=give_back(c))
    (_, path, hs, _, _), = h1.requests
    assert path == "/one/x" and hs.get("priority") == "u=2, i"
    got = [dict(r) for r in h2b.requests]
    assert [r.get(b"priority") for r in got] == [b"u=5"], got


class PrioBackend:
    """HTTP/1.1 keep-alive backend in threads: GET /bytes/N answers N bytes
    and, with ?priority=V, the response field "priority: V"."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind((HOST, 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped = True
        self.ls.close()
        for s in self.conns:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        buf = b""
        block = b"x" * (256 * 1024)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    more = s.recv(65536)
                    if not more:
                        return
                    buf += more
                head, _, buf = buf.partition(b"\r\n\r\n")
                target = head.split(b"\r\n")[0].split(b" ")[1].decode()
                url = urllib.parse.urlsplit(target)
                n = int(url.path.rsplit("/", 1)[1])
                q = urllib.parse.parse_qs(url.query)
                extra = "".join("priority: %s\r\n" % v for v in q.get("priority", []))
                # The head with the first bytes, in one write: the
                # response is at h2gate whole or not at all, not trickling
                # in as this thread gets the GIL.
                out = ("HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n"
                       % (n, extra)).encode()
                while True:
                    k = min(n, len(block))
                    s.sendall(out + block[:k])
                    out = b""
                    n -= k
                    if n == 0:
                        break
        except OSError:
            return


def gate_two(procs, b):
    """/bytes/ to the Python backend b, /size/ to an origin: the small
    responses come from C, ready at once, whatever the GIL does."""
    o = procs.origin()
    return procs.gate([o.backend("/size/"), "%s,%d;/bytes/" % (HOST, b.port)],
                      tls=False)


def prio_backend_race(c, bulk_path, bulk_client_prio):
    """Bulk download in flight, then a u=3 request for 100000 bytes; with
    both responses at h2gate (spend_connection_window), GATE bytes of
    connection window open: returns what each got of them (small, bulk)."""
    c.request(1, bulk_path, [("priority", bulk_client_prio)])
    spend_connection_window(c)
    c.request(3, "/size/100000", [("priority", "u=3")])
    c.until(headers_of(c, 3))
    mark = open_and_read(c, GATE)
    return since(c, mark, 3), since(c, mark, 1)


def test_backend_priority_field_changes_scheduling(procs):
    """The client asks u=0 for a 16 MiB download; the backend answers it
    with "priority: u=7": a u=3 request made then gets the whole window
    the client opens. Without the backend's field the u=3 request gets
    none of it. Client signals for that stream are ignored from then on."""
    b = PrioBackend()
    try:
        g = gate_two(procs, b)
        with RawH2(g.port, settings=WIDE) as c:
            small, bulk = prio_backend_race(
                c, "/bytes/%d?priority=u%%3D7" % BIG, "u=0")
            assert (small, bulk) == (GATE, 0)
            open_and_read(c, 100000)      # the rest of stream 3 goes first
            assert any(f.sid == 3 and f.end_stream for f in c.frames)
            # The backend fixed it: the client raising it again is ignored.
            c.priority_update(1, "u=0")
            c.request(5, "/size/100000", [("priority", "u=3")])
            c.until(headers_of(c, 5))
            mark = open_and_read(c, GATE)
            assert (since(c, mark, 5), since(c, mark, 1)) == (GATE, 0)
            no_errors(c)
        with RawH2(g.port, settings=WIDE) as c:
            small, bulk = prio_backend_race(c, "/bytes/%d" % BIG, "u=0")
            assert (small, bulk) == (0, GATE)
            no_errors(c)
    finally:
        b.stop()


def test_backend_priority_field_raises(procs):
    """The converse: the client asks u=7 for a 200000-byte response that
    its backend answers with "priority: u=0"; it gets the window before a
    u=3 download in flight. Without the backend's field the download gets
    it."""
    b = PrioBackend()
    try:
        g = gate_two(procs, b)
        for field, overtakes in (("?priority=u%3D0", True), ("", False)):
            with RawH2(g.port, settings=WIDE) as c:
                c.request(1, "/size/%d" % BIG, [("priority", "u=3")])
                spend_connection_window(c)
                c.request(3, "/bytes/200000" + field, [("priority", "u=7")])
                c.until(headers_of(c, 3))
                mark = open_and_read(c, GATE)
                got = (since(c, mark, 3), since(c, mark, 1))
                assert got == ((GATE, 0) if overtakes else (0, GATE)), (field, got)
                no_errors(c)
    finally:
        b.stop()


def test_backend_priority_field_keeps_what_it_omits(procs):
    """A backend's "i" alone keeps the client's urgency: a u=7 stream made
    incremental by its backend still yields to a u=0 one."""
    b = PrioBackend()
    try:
        g = gate_two(procs, b)
        with RawH2(g.port, settings=WIDE) as c:
            c.request(1, "/bytes/%d?priority=i" % BIG, [("priority", "u=7")])
            read_bytes(c, 1, 256 * 1024)
            c.request(3, "/size/100000", [("priority", "u=0")])
            c.until(ended(c, 3), on_frame=give_back(c))
            assert after_head(c, 3, 1) <= LATE_BOUND, after_head(c, 3, 1)
            assert data_bytes(c.frames, 3) == 100000
            no_errors(c)
    finally:
        b.stop()

