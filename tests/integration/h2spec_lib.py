"""The machinery of test_h2_conformance.py, h2spec's way of testing an
HTTP/2 server: one connection per case (Spec), the frames h2spec sends,
and the reactions the RFCs require (connection_error, stream_error,
response, ...). A case is a row made by case(name, send, check); run()
plays it against a gate.
"""

import struct

import pytest
from h2.errors import ErrorCodes

from conftest import IS_NGHTTPX
from rawh2 import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY,
                   HEADERS, PADDED, PING, PRIO_FLAG, PRIORITY,
                   RST_STREAM, SETTINGS, SETTINGS_INITIAL_WINDOW_SIZE,
                   SETTINGS_MAX_CONCURRENT_STREAMS, WINDOW_UPDATE, RawH2,
                   frame, status_of)
from testlib import HOST, Deadline

# How long a case waits for each frame it expects, as h2spec does (its
# default --timeout); the answers come in milliseconds, even under ASan.
WAIT = 2.0

SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

PROTOCOL = ErrorCodes.PROTOCOL_ERROR
FLOW = ErrorCodes.FLOW_CONTROL_ERROR
CLOSED = ErrorCodes.STREAM_CLOSED
FRAME_SIZE = ErrorCodes.FRAME_SIZE_ERROR
REFUSED = ErrorCodes.REFUSED_STREAM
COMPRESSION = ErrorCodes.COMPRESSION_ERROR
CANCEL = ErrorCodes.CANCEL

H2SPEC_PING = b"h2spec\0\0"
# h2spec's spec.DummyHeaders(c, 1) with its default --max-header-length.
DUMMY = [("x-dummy0", "x" * 4000)]


class Spec:
    """One h2spec connection to the gate. Frames a case writes are queued
    and go out together at the next wait (or the check), so a server that
    closes after the first bad frame never makes a later send fail."""

    def __init__(self, gate, tls=False):
        self.gate = gate
        port = gate.tls_port if tls else gate.port
        self.authority = "%s:%d" % (HOST, port)
        self.scheme = "https" if tls else "http"
        self.out = bytearray()
        self.pinged = None
        self.c = RawH2(port, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 65535)],
                       timeout=WAIT, tls=tls)
        # h2spec's handshake: the server's SETTINGS and its ACK of ours.
        self.c.until(lambda f: self.c.server_settings and self.acks() == 1, timeout=10)
        self.settings = dict(self.c.server_settings[0])

    def acks(self):
        return sum(1 for f in self.c.frames if f.type == SETTINGS and f.flags & ACK)

    # ---- what h2spec's conn.Write* put on the wire ----

    def raw(self, data):
        self.out += data

    def common(self, method="GET"):
        """spec.CommonHeaders, in its order."""
        return [(":method", method), (":scheme", self.scheme), (":path", "/"),
                (":authority", self.authority)]

    def block(self, fields):
        return self.c.enc.encode(fields)

    def headers(self, sid, block, es=True, eh=True, prio=None, pad=None):
        """WriteHeaders: prio (dependency, exclusive, weight as sent,
        0-255) and pad (its length) as golang.org/x/net/http2 frames them."""
        flags = (END_STREAM if es else 0) | (END_HEADERS if eh else 0)
        head = b""
        if pad is not None:
            flags |= PADDED
            head += bytes([pad])
        if prio is not None:
            flags |= PRIO_FLAG
            dep, excl, weight = prio
            head += struct.pack(">IB", dep | (0x80000000 if excl else 0), weight)
        self.raw(frame(HEADERS, flags, sid, head + block + b"\0" * (pad or 0)))

    def request(self, sid, method="GET", es=True, eh=True, extra=(), **kw):
        self.headers(sid, self.block(self.common(method) + list(extra)), es, eh, **kw)

    def data(self, sid, payload, es=True, pad=None):
        if pad is None:
            self.raw(frame(DATA, END_STREAM if es else 0, sid, payload))
        else:
            self.raw(frame(DATA, (END_STREAM if es else 0) | PADDED, sid,
                           bytes([len(pad)]) + payload + pad))

    def cont(self, sid, block, eh=True):
        self.raw(frame(CONTINUATION, END_HEADERS if eh else 0, sid, block))

    def priority(self, sid, dep=0, excl=False, weight=255):
        self.raw(frame(PRIORITY, 0, sid, struct.pack(
            ">IB", dep | (0x80000000 if excl else 0), weight)))

    def rst(self, sid, code=CANCEL):
        self.raw(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    def settings_frame(self, *pairs):
        self.raw(frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v)
                                                  for k, v in pairs)))

    def ping(self, payload=b"\0" * 8, ack=False):
        if not ack:
            self.pinged = payload
        self.raw(frame(PING, ACK if ack else 0, 0, payload))

    def window_update(self, sid, incr):
        self.raw(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", incr)))

    def goaway(self, last, code, debug):
        self.raw(frame(GOAWAY, 0, 0, struct.pack(">II", last, code) + debug))

    # ---- h2spec's waits in the middle of a case ----

    def flush(self):
        if self.out:
            try:
                self.c.send(bytes(self.out))
            except (BrokenPipeError, ConnectionResetError):
                pass        # h2spec ignores write errors; the check tells
            self.out.clear()

    def wait_stream_close(self, sid):
        """spec.VerifyStreamClose: END_STREAM (or RST_STREAM NO_ERROR)."""
        self.flush()
        self.c.until(lambda f: f.sid == sid and (
            f.end_stream or (f.type == RST_STREAM and code_of(f) == 0)))

    def wait_settings_ack(self):
        """spec.VerifySettingsFrameWithAck: the ACK of the SETTINGS sent."""
        want = self.acks() + 1
        self.flush()
        self.c.until(lambda f: self.acks() == want)

    def wait_data(self, sid):
        self.flush()
        return self.c.until(lambda f: f.type == DATA and f.sid == sid)

    def read_to_eof(self):
        """Every frame up to the close; fails when the connection stays open."""
        while not self.c.eof:
            try:
                self.c.next_frame()
            except Deadline:
                if not self.c.eof:
                    raise


def code_of(f):
    """The error code of a RST_STREAM or GOAWAY frame."""
    return (struct.unpack(">I", f.payload[:4])[0] if f.type == RST_STREAM
            else code_of_goaway(f.payload))


def code_of_goaway(payload):
    return struct.unpack(">I", payload[4:8])[0]


def describe(frames):
    names = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY",
             RST_STREAM: "RST_STREAM", SETTINGS: "SETTINGS", PING: "PING",
             GOAWAY: "GOAWAY", WINDOW_UPDATE: "WINDOW_UPDATE"}
    return ["%s(sid=%d flags=%#x%s)" % (
        names.get(f.type, f.type), f.sid, f.flags,
        " %s" % ErrorCodes(code_of(f)).name if f.type in (RST_STREAM, GOAWAY) else "")
        for f in frames]


# ---- the reactions ----

def connection_error(*codes):
    def check(s):
        s.flush()
        try:
            f = s.c.until(lambda f: f.type in (GOAWAY, RST_STREAM))
        except Deadline:
            pytest.fail("no GOAWAY: %s%s" % (describe(s.c.frames),
                                             " then close" if s.c.eof else ""))
        assert f.type == GOAWAY, describe(s.c.frames)
        assert code_of(f) in codes, describe(s.c.frames)
        s.read_to_eof()
    return check


def stream_error(sid, *codes):
    def check(s):
        s.flush()
        try:
            f = s.c.until(lambda f: f.type == GOAWAY or (f.type == RST_STREAM and f.sid == sid))
        except Deadline:
            pytest.fail("no RST_STREAM or GOAWAY: %s%s" % (describe(s.c.frames),
                                                          " then close" if s.c.eof else ""))
        assert code_of(f) in codes, describe(s.c.frames)
        if f.type == GOAWAY:
            s.read_to_eof()
    return check


def no_errors(s):
    assert not s.c.errors(), describe(s.c.frames)


def first(s, cond):
    """The first frame received so far, or from now on, that cond takes."""
    s.flush()
    for f in s.c.frames:
        if cond(f):
            return f
    return s.c.until(cond)


def ping_ack(s):
    """The PING sent last answered with an ACK and the same payload."""
    f = first(s, lambda f: f.type == PING and f.flags & ACK)
    assert f.payload == s.pinged, (f.payload, s.pinged)
    no_errors(s)


def discarded(s):
    """The frames were dropped and the connection goes on: a request on
    stream 3 and a PING after them are answered, and nothing anywhere
    was reset."""
    s.request(3)
    s.ping(H2SPEC_PING)
    response(3)(s)
    ping_ack(s)


def ping_ack_or_close(s):
    """spec.VerifyPingFrameOrConnectionClose: the PING answered, or the
    connection closed; either way with no error (a GOAWAY says
    NO_ERROR)."""
    s.flush()
    try:
        f = s.c.until(lambda f: f.type == PING and f.flags & ACK)
        assert f.payload == s.pinged, (f.payload, s.pinged)
    except Deadline:
        assert s.c.eof, describe(s.c.frames)
    assert all(f.type == GOAWAY and code_of(f) == 0 for f in s.c.errors()), \
        describe(s.c.frames)


def response(sid=1):
    """A whole 200 response on sid, and no error anywhere."""
    def check(s):
        s.flush()
        f = s.c.until(lambda f: f.sid == sid and f.type in (HEADERS, RST_STREAM, GOAWAY)
                      or f.type == GOAWAY)
        assert f.type == HEADERS, describe(s.c.frames)
        assert status_of(f) == "200", f.headers
        s.c.until(lambda f: f.sid == sid and (f.end_stream or f.type == RST_STREAM)
                  or f.type == GOAWAY)
        no_errors(s)
    return check


def settings_ack(s):
    s.wait_settings_ack()
    no_errors(s)


def data_of_length(n, sid=1):
    def check(s):
        f = s.wait_data(sid)
        assert f.length == n, describe(s.c.frames)
        no_errors(s)
    return check


def data_frame(s):
    """spec.VerifyEventType(EventDataFrame) on stream 1."""
    s.wait_data(1)
    no_errors(s)


NGHTTPX_CLOSED_DATA = "nghttpx (libnghttp2 1.52) drops the DATA too"


def run(gate, send, check, tls=False):
    s = Spec(gate, tls=tls)
    try:
        send(s)
        check(s)
    finally:
        s.c.close()
    assert gate.alive(), gate.log()[-5000:]


def case(name, send, check, xfail=None, nghttpx=None):
    """A table row. xfail: the reason h2gate fails what the RFC requires
    (strict: the day it passes, the mark must go). nghttpx: the reason
    nghttpx fails it, when it does (for comparison runs only)."""
    marks = []
    reason = nghttpx if IS_NGHTTPX else xfail
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(send, check, id=name, marks=marks)


# ---- multi-step sends (the one-liners are lambdas in the tables) ----

def half_closed_continuation(s):
    blk = s.block(s.common())
    s.headers(1, blk)
    s.cont(1, blk)


def reset_then(what):
    def send(s):
        s.request(1, es=False)
        s.rst(1)
        if what == "data":
            s.data(1, b"test")
        elif what == "headers":
            s.request(1)
        else:
            s.cont(1, s.block(DUMMY))
    return send


def closed_then(what):
    """5.1 closed: stream 1 ended both ways, then DATA, the same HEADERS
    frame again (h2spec writes the HeadersFrameParam it wrote first: the
    same block, byte for byte) or a CONTINUATION."""
    def send(s):
        blk = s.block(s.common())
        s.headers(1, blk)
        s.wait_stream_close(1)
        if what == "data":
            s.data(1, b"test")
        elif what == "headers":
            s.headers(1, blk)
        else:
            s.cont(1, s.block(DUMMY))
    return send


def over_concurrency(s):
    """5.1.2: SETTINGS_MAX_CONCURRENT_STREAMS + 1 requests whose answers
    cannot finish (SETTINGS_INITIAL_WINDOW_SIZE 0)."""
    limit = s.settings[SETTINGS_MAX_CONCURRENT_STREAMS]
    s.settings_frame((SETTINGS_INITIAL_WINDOW_SIZE, 0))
    blk = s.block(s.common())
    for i in range(limit + 1):
        s.headers(1 + 2 * i, blk)


def over_concurrency_error(s):
    last = 1 + 2 * s.settings[SETTINGS_MAX_CONCURRENT_STREAMS]
    stream_error(last, PROTOCOL, REFUSED)(s)


def invalid_headers_padding(s):
    blk = s.block(s.common())
    s.raw(frame(HEADERS, 0x0d, 1, bytes([len(blk) + 2]) + blk))


def big_data(extra):
    def send(s):
        s.request(1, "POST", es=False)
        s.data(1, b"x" * (s.settings.get(SETTINGS_MAX_FRAME_SIZE, 16384) + extra))
    return send


def post_then(*steps):
    """POST head (no END_STREAM), then DATA/trailer steps."""
    def send(s):
        s.request(1, "POST", es=False, extra=steps[0])
        for kind, arg, es in steps[1:]:
            if kind == "data":
                s.data(1, arg, es=es)
            else:
                s.headers(1, s.block(arg), es=es)
    return send


def headers_unfinished(method="GET", es=False):
    """A HEADERS frame on stream 1 without END_HEADERS."""
    return lambda s: s.request(1, method, es=es, eh=False)


def then(*sends):
    def send(s):
        for f in sends:
            f(s)
    return send


def window_settings(*values, after=None):
    """SETTINGS_INITIAL_WINDOW_SIZE values (each its own frame, acked),
    a GET on stream 1; after(s) then."""
    def send(s):
        for v in values:
            s.settings_frame(*[(SETTINGS_INITIAL_WINDOW_SIZE, x) for x in v])
            s.wait_settings_ack()
        s.request(1)
        if after:
            after(s)
    return send


def negative_window(s):
    """6.9.2: window 3, 3 bytes sent, window 2 (-1 left), +2: 1 byte."""
    s.settings_frame((SETTINGS_INITIAL_WINDOW_SIZE, 3))
    s.wait_settings_ack()
    s.request(1)
    s.wait_data(1)
    s.settings_frame((SETTINGS_INITIAL_WINDOW_SIZE, 2))
    s.wait_settings_ack()
    s.window_update(1, 2)


def hpack_append(rep):
    """The common fields' block with rep after it (hpack and generic 5)."""
    return lambda s: s.headers(1, s.block(s.common()) + rep)


def table_size_over_settings(s):
    """hpack 6.3: a size update to SETTINGS_HEADER_TABLE_SIZE + 1."""
    size = s.settings.get(SETTINGS_HEADER_TABLE_SIZE, 4096) + 1
    rep = bytearray([0x20 | 31])
    size -= 31
    while size >= 128:
        rep.append(0x80 | (size & 0x7f))
        size >>= 7
    rep.append(size)
    s.headers(1, bytes(rep) + s.block(s.common()))


def small_table(s):
    """generic 5: SetMaxDynamicTableSize(128): the block opens with the
    size update."""
    s.c.enc.header_table_size = 128
    s.request(1)


def split_block(*cuts):
    """generic 3.10: the common block in a HEADERS and CONTINUATIONs."""
    def send(s):
        blk = s.block(s.common())
        bounds = (0, *cuts, len(blk))
        s.headers(1, blk[:cuts[0]], eh=False)
        for i in range(1, len(bounds) - 1):
            s.cont(1, blk[bounds[i]:bounds[i + 1]], eh=i == len(bounds) - 2)
    return send


def mid_block_unknown(s):
    s.request(1, eh=False)
    s.raw(b"\x00\x00\x08\x16\x00\x00\x00\x00\x00" + b"\0" * 8)


UNKNOWN_FRAME = b"\x00\x00\x08\x16\x00\x00\x00\x00\x00" + b"\0" * 8
PING_FLAGS_16 = b"\x00\x00\x08\x06\x16\x00\x00\x00\x00" + b"\0" * 8
PING_RESERVED_BIT = b"\x00\x00\x08\x06\x16\x80\x00\x00\x00" + b"\0" * 8
PING_STREAM_3 = b"\x00\x00\x08\x06\x00\x00\x00\x00\x03" + b"\0" * 8


def ping_reply(s):
    """4.1's flag and reserved-bit cases: h2spec waits for a PING, any;
    the gate's only PING here is the ACK of this one."""
    s.pinged = b"\0" * 8
    ping_ack(s)


def first_frame_settings(s):
    """3.5 (and generic 1): the server's preface, a SETTINGS frame, is the
    first frame it sends."""
    f = s.c.frames[0]
    assert f.type == SETTINGS and not f.flags & ACK, describe(s.c.frames)
    no_errors(s)
