"""Malformed HTTP/2 requests (RFC 9113 8.2, 8.3, 8.1.1): the bad stream is
answered with RST_STREAM(PROTOCOL_ERROR) or a 400, while streams before and
after it on the same connection complete normally. A connection error's
GOAWAY reaches a client that reads late; DATA on closed streams is
answered or dropped as RFC 9113 says."""

import struct
import time

import pytest
from h2.errors import ErrorCodes

from rawh2 import DATA, END_STREAM, GOAWAY, PING, RST_STREAM, RawH2, frame
from testlib import H2Client

BASE = [(":method", "GET"), (":scheme", "http"), (":authority", "localhost")]

BAD = {
    "uppercase_name": dict(headers=BASE + [(":path", "/"), ("X-Upper", "1")]),
    "connection_header": dict(
        headers=BASE + [(":path", "/"), ("connection", "keep-alive")]),
    "keep_alive_header": dict(
        headers=BASE + [(":path", "/"), ("keep-alive", "timeout=5")]),
    "transfer_encoding": dict(
        headers=BASE + [(":path", "/"), ("transfer-encoding", "chunked")]),
    "missing_path": dict(headers=BASE),
    "missing_method": dict(
        headers=[(":scheme", "http"), (":authority", "localhost"),
                 (":path", "/")]),
    "empty_path": dict(headers=BASE + [(":path", "")]),
    "unknown_pseudo": dict(headers=BASE + [(":path", "/"), (":foo", "x")]),
    "pseudo_after_regular": dict(
        headers=[(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
                 (":authority", "localhost"), (":path", "/")]),
    "duplicate_path": dict(headers=BASE + [(":path", "/"), (":path", "/x")]),
    "newline_in_value": dict(
        headers=BASE + [(":path", "/"), ("x-a", "a\r\nx-b: b")]),
    "te_gzip": dict(headers=BASE + [(":path", "/"), ("te", "gzip")]),
    "content_length_short": dict(
        headers=[(":method", "POST"), (":scheme", "http"),
                 (":authority", "localhost"), (":path", "/echo"),
                 ("content-length", "10")],
        body=b"hello"),
    "content_length_long": dict(
        headers=[(":method", "POST"), (":scheme", "http"),
                 (":authority", "localhost"), (":path", "/echo"),
                 ("content-length", "2")],
        body=b"hello"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_loses_only_its_stream(procs, case):
    g = procs.gate([procs.origin()], tls=False)
    spec = BAD[case]
    with H2Client(g.port, strict=False) as c:
        before = c.request("/delay/300")        # in flight meanwhile
        bad = c.request(headers=spec["headers"], end_stream="body" not in spec)
        if "body" in spec:
            c.send_body(bad, spec["body"], end_stream=True)
        after = c.request("/size/100")
        r_before, r_bad, r_after = c.wait_streams([before, bad, after])
        assert (r_bad.reset == ErrorCodes.PROTOCOL_ERROR
                or r_bad.status == 400), r_bad
        assert r_before.status == 200 and r_before.ended, r_before
        assert r_after.status == 200 and len(r_after.data) == 100, r_after
        assert c.goaway is None, c.goaway


def test_goaway_reaches_a_client_that_reads_late(procs):
    """A connection error while the client is not reading (its receive
    buffer full of a response): the GOAWAY waits behind the response in
    h2gate's socket. A frame the client sends after that must not reset
    the connection and drop both: the close lingers, so the client gets
    the response bytes in flight and the GOAWAY(PROTOCOL_ERROR). (The
    response is larger than the client's buffer, so some of it is not
    acknowledged yet when the PING goes, and fits h2gate's socket buffer,
    so the GOAWAY is out of h2gate's hands.)"""
    size = 16000
    g = procs.gate([procs.origin()], tls=False)
    with RawH2(g.port, rcvbuf=4096) as c:
        c.request(1, "/size/%d" % size)
        time.sleep(0.3)         # all in the sockets' buffers, most of it unread
        c.send(frame(DATA, 0, 0, b"x"))     # DATA on stream 0 (RFC 9113 §6.1)
        time.sleep(0.3)         # the session ends; h2gate used to close here
        c.send(frame(PING, 0, 0, b"8 bytes!"))  # ... and this reset it
        time.sleep(0.3)
        goaway = c.until(lambda f: f.type == GOAWAY)
        assert int.from_bytes(goaway.payload[4:8], "big") == ErrorCodes.PROTOCOL_ERROR
        got = sum(len(f.data) for f in c.frames if f.type == DATA)
        assert got == size, got      # the whole response, then the GOAWAY


def test_data_after_a_stream_ends_or_is_reset(procs):
    """DATA on a closed stream (RFC 9113 §6.1: RST_STREAM(STREAM_CLOSED))
    after the client's own RST_STREAM or after both sides ended it; but
    after h2gate's RST_STREAM it is dropped, as it may have crossed the
    reset (§5.1). Each time the connection goes on."""
    g = procs.gate([procs.origin()], tls=False)
    with RawH2(g.port) as c:
        def rsts(sid):
            return [int.from_bytes(f.payload[:4], "big") for f in c.frames
                    if f.type == RST_STREAM and f.sid == sid]

        def served(sid):
            c.request(sid, "/size/5")
            c.until(lambda f: f.sid == sid and f.end_stream)
        # Both sides ended stream 1.
        served(1)
        c.send(frame(DATA, END_STREAM, 1, b"late"))
        c.until(lambda f: f.type == RST_STREAM and f.sid == 1)
        # The client reset stream 3.
        c.request(3, "/size/5", end=False)
        c.send(frame(RST_STREAM, 0, 3, struct.pack(">I", ErrorCodes.CANCEL)))
        c.send(frame(DATA, END_STREAM, 3, b"late"))
        c.until(lambda f: f.type == RST_STREAM and f.sid == 3)
        # h2gate reset stream 5: more body than its content-length.
        c.request(5, "/echo", extra=[("content-length", "2")], end=False)
        c.send(frame(DATA, 0, 5, b"too long"))
        c.until(lambda f: f.type == RST_STREAM and f.sid == 5)
        c.send(frame(DATA, END_STREAM, 5, b"late"))
        served(7)
        assert (rsts(1), rsts(3), rsts(5)) == ([ErrorCodes.STREAM_CLOSED],
                                               [ErrorCodes.STREAM_CLOSED],
                                               [ErrorCodes.PROTOCOL_ERROR])
        assert [f for f in c.frames if f.type == GOAWAY] == []
