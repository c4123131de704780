"""--padding=N: every DATA and HEADERS frame h2gate sends a client carries
the PADDED flag and at most N padding bytes (the Pad Length byte counted,
256 at most), no frame exceeds the 16384-byte frame size limit, and the
bodies arrive intact; without --padding no frame is padded. Frames are
read raw (rawh2.RawH2)."""

import pytest

from conftest import IS_NGHTTPX
from rawh2 import (DATA, HEADERS, PADDED, SETTINGS_INITIAL_WINDOW_SIZE,
                   WINDOW_UPDATE, RawH2, frame, status_of)

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="h2gate pads full DATA frames too (nghttpx pads only frames with room left)")

MAX_FRAME = 16384
# h2gate's full DATA frame: its 9-byte header and payload fill one TLS
# record (16384 bytes) exactly, so the payload is 16375.
FULL_DATA = MAX_FRAME - 9
WIDE = [(SETTINGS_INITIAL_WINDOW_SIZE, 2 ** 31 - 1)]


def pattern(n):
    """The origin's /size/N body."""
    block = b"".join(b"%015x\n" % i for i in range(0, 65536, 16))
    return (block * (n // len(block) + 1))[:n]


def fetch(c, sid, path, extra=()):
    """Requests path on sid; reads to its END_STREAM giving every DATA
    frame's length back to both windows. Returns (head frame, body,
    frames)."""
    mark = len(c.frames)
    c.request(sid, path, extra)
    body = b""
    while True:
        f = c.next_frame()
        if f.type == DATA and f.sid == sid:
            body += f.data
            if f.length:
                c.send(window_update(0, f.length) +
                       window_update(sid, f.length))
        if f.sid == sid and f.end_stream:
            break
    frames = [f for f in c.frames[mark:] if f.sid == sid]
    head = next(f for f in frames if f.type == HEADERS)
    return head, body, frames


def window_update(sid, n):
    return frame(WINDOW_UPDATE, 0, sid, n.to_bytes(4, "big"))


def padding_total(f):
    """Bytes the padding adds to f's payload: the Pad Length byte and the
    padding itself (0 when not PADDED)."""
    return 0 if f.padlen is None else f.padlen + 1


@pytest.mark.parametrize("n,limit", [(1, 1), (10, 10), (256, 256), (1000, 256)])
def test_padding_bounds(procs, n, limit):
    o = procs.origin()
    g = procs.gate([o], tls=False, extra=["--padding=%d" % n])
    with RawH2(g.port, settings=WIDE) as c:
        c.window_update(0, 1 << 24)
        for sid, size in ((1, 200000), (3, 0), (5, 16384), (7, 5)):
            head, body, frames = fetch(c, sid, "/size/%d" % size)
            assert status_of(head) == "200"
            assert body == pattern(size)
            for f in frames:
                if f.type not in (DATA, HEADERS):
                    continue
                assert f.flags & PADDED, (n, f)
                assert 1 <= padding_total(f) <= limit, (n, f, f.padlen)
                assert f.length <= MAX_FRAME, f
        assert c.errors() == []


def test_padding_over_tls(procs):
    o = procs.origin()
    g = procs.gate([o], plain=False, extra=["--padding=100"])
    with RawH2(g.tls_port, settings=WIDE, tls=True) as c:
        c.window_update(0, 1 << 24)
        head, body, frames = fetch(c, 1, "/size/300000")
        assert status_of(head) == "200" and body == pattern(300000)
        for f in frames:
            if f.type in (DATA, HEADERS):
                assert f.flags & PADDED and 1 <= padding_total(f) <= 100, f
                assert f.length <= MAX_FRAME, f
        assert c.errors() == []


def test_padding_with_small_windows(procs):
    """Stream windows smaller than the padding: frames never pass the
    window (nghttp2 would fail the stream), bodies are intact."""
    o = procs.origin()
    g = procs.gate([o], tls=False, extra=["--padding=64"])
    with RawH2(g.port, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 100)]) as c:
        head, body, frames = fetch(c, 1, "/size/50000")
        assert status_of(head) == "200"
        assert body == pattern(50000)
        for f in frames:
            if f.type == DATA:
                assert f.length <= 100 and padding_total(f) <= 64, f
        assert any(f.type == DATA and f.flags & PADDED for f in frames)
        assert c.errors() == []


def test_padding_trailers_and_h2_backend(procs, backends):
    """Trailers (a HEADERS frame after the body) are padded too."""
    b = backends()
    g = procs.gate([b.spec()], tls=False, extra=["--padding=32"])
    with RawH2(g.port, settings=WIDE) as c:
        head, body, frames = fetch(c, 1, "/trailers", [("te", "trailers")])
        assert status_of(head) == "200" and body == b"body\n"
        heads = [f for f in frames if f.type == HEADERS]
        assert len(heads) == 2, frames
        assert ("x-checksum", "abc123") in heads[1].headers
        for f in frames:
            if f.type in (DATA, HEADERS):
                assert f.flags & PADDED and padding_total(f) <= 32, f


def test_no_padding_by_default(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    with RawH2(g.port, settings=WIDE) as c:
        c.window_update(0, 1 << 24)
        for sid, size in ((1, 200000), (3, 0), (5, 5)):
            head, body, frames = fetch(c, sid, "/size/%d" % size)
            assert body == pattern(size)
        assert [f for f in c.frames if f.flags & PADDED and
                f.type in (DATA, HEADERS)] == []
        # Full frames: nothing held back for padding.
        assert max(f.length for f in c.frames if f.type == DATA) == FULL_DATA
