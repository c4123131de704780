"""HPACK dynamic table sizes: --frontend-http2-encoder-dynamic-table-size,
--frontend-http2-decoder-dynamic-table-size and their --backend-http2-
twins (nghttpx's names, syntax and 4K defaults).

Every assertion is on bytes: the header blocks are walked representation
by representation (RFC 7541 §6: indexed, literal with incremental
indexing 01xxxxxx, dynamic table size update 001xxxxx, literal without
or never indexed) as they came off the wire, on the client side with
rawh2.RawH2 and on the backend side with a python-h2 backend that keeps
every byte it read and wrote. Requests a test wants unindexed are packed
here by hand. Loopback only.
"""

import signal
import struct

import h2.events
import h2.settings
import hpack
import pytest

from conftest import IS_NGHTTPX, free_port, run_gate
from h2backend_lib import Backend, _H2Proto, wait_for
from obs_lib import scrape
from rawh2 import (ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS,
                   PREFACE, RST_STREAM, SETTINGS, Frame, RawH2, frame,
                   status_of)
from testlib import HOST, H1Conn, H2Client

SETTINGS_HEADER_TABLE_SIZE = 0x1
COMPRESSION_ERROR = 0x9
STATIC_ENTRIES = 61         # RFC 7541 Appendix A: index 62 is dynamic


# --------------------------------------------------------------------------
# HPACK by hand


def _int(block, pos, prefix):
    """The HPACK integer with an N-bit prefix at block[pos]: (value, next)."""
    mask = (1 << prefix) - 1
    value = block[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while True:
        b = block[pos]
        pos += 1
        value += (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _skip_string(block, pos):
    n, pos = _int(block, pos, 7)
    assert pos + n <= len(block), "string past the block's end"
    return pos + n


def representations(block):
    """The representations of a header block, in order, as (kind, n):
    ("indexed", index), ("incremental", name index or 0), ("size", new
    table size), ("literal", name index or 0) for without indexing,
    ("never", name index or 0) for never indexed."""
    out = []
    pos = 0
    while pos < len(block):
        b = block[pos]
        if b & 0x80:
            idx, pos = _int(block, pos, 7)
            out.append(("indexed", idx))
            continue
        if b & 0xe0 == 0x20:
            size, pos = _int(block, pos, 5)
            out.append(("size", size))
            continue
        if b & 0x40:
            kind, prefix = "incremental", 6
        else:
            kind, prefix = ("never" if b & 0x10 else "literal"), 4
        idx, pos = _int(block, pos, prefix)
        if idx == 0:
            pos = _skip_string(block, pos)
        pos = _skip_string(block, pos)
        out.append((kind, idx))
    return out


def uses_dynamic_table(reps):
    """True when a representation adds to or reads the dynamic table."""
    return any(k == "incremental" or (k != "size" and n > STATIC_ENTRIES)
               for k, n in reps)


def _str(s):
    assert len(s) < 127
    return bytes([len(s)]) + s


def literal(name, value):
    """A field as a literal without indexing, new name, no Huffman."""
    return b"\x00" + _str(name) + _str(value)


def plain_request(path, extra=()):
    """A GET's header block that neither adds to nor reads the dynamic
    table: :method GET and :scheme http from the static table, the rest
    literals without indexing."""
    return (b"\x82\x86" + literal(b":authority", b"localhost") +
            literal(b":path", path.encode()) +
            b"".join(literal(n, v) for n, v in extra))


def size_update(n):
    """A dynamic table size update to n (5-bit prefix, 001xxxxx)."""
    if n < 31:
        return bytes([0x20 | n])
    out, n = bytearray([0x3f]), n - 31
    while n >= 128:
        out.append(n & 0x7f | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def origin_body(n):
    """build/origin's /size/N body: 16-byte lines "%015x\\n" of the offset."""
    return b"".join(b"%015x\n" % off for off in range(0, n + 16, 16))[:n]


def frames_of(data):
    """The frames in data (a byte stream without the client preface)."""
    out, pos = [], 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        if pos + 9 + length > len(data):
            break
        sid = int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7fffffff
        out.append(Frame(data[pos + 3], data[pos + 4], sid,
                         bytes(data[pos + 9:pos + 9 + length])))
        pos += 9 + length
    return out


def settings_entries(f):
    return [struct.unpack(">HI", f.payload[i:i + 6])
            for i in range(0, len(f.payload), 6)]


def goaway_code(f):
    return int.from_bytes(f.payload[4:8], "big")


# --------------------------------------------------------------------------
# clients


def open_client(port, settings=()):
    """A RawH2 that has read h2gate's SETTINGS (and so acknowledged them:
    RawH2 answers SETTINGS at once); returns (client, h2gate's entries)."""
    c = RawH2(port, settings=settings)
    c.until(lambda f: f.type == SETTINGS and not f.flags & ACK)
    return c, dict(c.server_settings[0])


def get(c, sid, path="/size/100", block=None):
    """Sends a GET on sid (block: a header block of the test's own, else
    RawH2's hpack encoder, which indexes) and reads to its end; returns
    (status, body, [header blocks of sid as received])."""
    if block is None:
        c.request(sid, path)
    else:
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, block))
    c.until(lambda f: f.sid == sid and (f.end_stream or f.type == RST_STREAM))
    mine = [f for f in c.frames if f.sid == sid]
    heads = [f for f in mine if f.type == HEADERS]
    body = b"".join(f.data for f in mine if f.type == DATA)
    return status_of(heads[0]) if heads else None, body, [f.block for f in heads]


# --------------------------------------------------------------------------
# a backend that keeps its bytes


class _Tap:
    """A transport that keeps a copy of what is written through it."""

    def __init__(self, transport, log):
        self._t, self._log = transport, log

    def write(self, data):
        self._log += data
        self._t.write(data)

    def __getattr__(self, name):
        return getattr(self._t, name)


class RecordingProto(_H2Proto):
    """_H2Proto keeping every byte read (rx) and written (tx); with the
    backend's stale_table, its HPACK encoder ignores h2gate's
    SETTINGS_HEADER_TABLE_SIZE (a fresh 4096-byte encoder instead)."""

    def connection_made(self, transport):
        self.rx, self.tx = bytearray(), bytearray()
        self.srv.taps.append(self)
        super().connection_made(_Tap(transport, self.tx))

    def data_received(self, data):
        self.rx += data
        super().data_received(data)

    def on_event(self, ev):
        hts = h2.settings.SettingCodes.HEADER_TABLE_SIZE
        if (self.srv.stale_table and
                isinstance(ev, h2.events.RemoteSettingsChanged) and
                hts in ev.changed_settings):
            self.c.encoder = hpack.Encoder()
        super().on_event(ev)


class RecordingBackend(Backend):
    h2_proto = RecordingProto

    def __init__(self, stale_table=False, **kw):
        self.stale_table = stale_table
        self.taps = []
        super().__init__(**kw)

    def wire(self, i=0):
        """(frames h2gate sent, frames this backend sent) on its i-th
        connection, read on the backend's loop."""
        out = []
        self.call(lambda: out.append((bytes(self.taps[i].rx),
                                      bytes(self.taps[i].tx))))
        rx, tx = out[0]
        assert rx.startswith(PREFACE), rx[:30]
        return frames_of(rx[len(PREFACE):]), frames_of(tx)


@pytest.fixture
def rec_backends():
    made = []

    def make(**kw):
        b = RecordingBackend(**kw)
        made.append(b)
        return b
    yield make
    for b in made:
        b.stop()


# --------------------------------------------------------------------------
# the frontend


def test_default_no_setting_and_responses_indexed(procs):
    """The control case: without the options, h2gate's SETTINGS carry no
    SETTINGS_HEADER_TABLE_SIZE, its first response block adds fields to
    the client's table and the second reads them back."""
    g = procs.gate([procs.origin()], tls=False)
    c, settings = open_client(g.port)
    with c:
        assert SETTINGS_HEADER_TABLE_SIZE not in settings, settings
        status, body, blocks = get(c, 1)
        assert (status, body) == ("200", origin_body(100))
        reps = representations(blocks[0])
        assert any(k == "incremental" for k, _ in reps), reps
        assert len(c.dec.header_table.dynamic_entries) > 0
        status, body, blocks = get(c, 3, "/size/200")
        assert (status, body) == ("200", origin_body(200))
        reps = representations(blocks[0])
        assert any(k == "indexed" and n > STATIC_ENTRIES for k, n in reps), reps


@pytest.mark.parametrize("value", ["4096", "4K"])
def test_default_value_given_is_not_sent(procs, value):
    g = procs.gate([procs.origin()], tls=False, extra=[
        "--frontend-http2-decoder-dynamic-table-size=" + value])
    c, settings = open_client(g.port)
    with c:
        assert SETTINGS_HEADER_TABLE_SIZE not in settings, settings
        assert get(c, 1)[0] == "200"


def test_frontend_encoder_zero_indexes_nothing(procs):
    g = procs.gate([procs.origin()], tls=False, extra=[
        "--frontend-http2-encoder-dynamic-table-size=0"])
    c, settings = open_client(g.port)
    with c:
        # The encoder's bound is not a setting of h2gate's decoder.
        assert SETTINGS_HEADER_TABLE_SIZE not in settings, settings
        blocks = []
        for sid, n in ((1, 100), (3, 5000)):
            status, body, bl = get(c, sid, "/size/%d" % n)
            assert (status, body) == ("200", origin_body(n))
            blocks += bl
        first = representations(blocks[0])
        # nghttp2 announces a table smaller than 4096 up front.
        assert first[0] == ("size", 0), first
        for b in blocks:
            reps = representations(b)
            assert not uses_dynamic_table(reps), reps
        assert len(c.dec.header_table.dynamic_entries) == 0
        assert c.dec.header_table._current_size == 0


def test_frontend_decoder_zero(procs):
    """SETTINGS_HEADER_TABLE_SIZE=0 to clients: once a client has
    acknowledged it, a header block that opens with a size update to 0
    and indexes nothing is served; a client whose next block lacks the
    update (python hpack's, indexing as if the table were 4096 bytes), or
    updates to more than 0, or that reads an entry the zero-sized table
    cannot hold, loses the connection to GOAWAY(COMPRESSION_ERROR). Other
    connections carry on."""
    g = procs.gate([procs.origin()], tls=False, extra=[
        "--frontend-http2-decoder-dynamic-table-size=0", "-L", "INFO"])
    good, settings = open_client(g.port)
    with good:
        assert settings.get(SETTINGS_HEADER_TABLE_SIZE) == 0, settings
        status, body, _ = get(good, 1, block=size_update(0) +
                              plain_request("/size/100"))
        assert (status, body) == ("200", origin_body(100))
        # One update is enough: the next block needs none.
        status, body, _ = get(good, 3, block=plain_request("/size/300"))
        assert (status, body) == ("200", origin_body(300))

        bad_blocks = {
            # python hpack's encoder: literal with incremental indexing,
            # no size update (RawH2 does not apply h2gate's SETTINGS).
            "no_update": None,
            "update_too_large": size_update(4096) + plain_request("/size/1"),
        }
        for name, block in bad_blocks.items():
            bad, _ = open_client(g.port)
            with bad:
                if block is None:
                    sent = bad.headers_frame(1, "/size/1")
                    reps = representations(sent[9:])
                    assert reps[0][0] != "size" and uses_dynamic_table(reps), reps
                    bad.send(sent)
                else:
                    bad.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
                f = bad.until(lambda f: f.type == GOAWAY)
                assert goaway_code(f) == COMPRESSION_ERROR, (name, f.payload)
                assert not [f for f in bad.frames
                            if f.type == HEADERS and f.sid == 1], name

        # Incremental indexing with the table at 0 adds nothing (RFC 7541
        # §4.4: an entry larger than the table empties it), so the first
        # request is fine; reading index 62 next is not.
        idx, _ = open_client(g.port)
        with idx:
            block = (size_update(0) + plain_request("/size/10") +
                     b"\x40" + _str(b"x-a") + _str(b"1"))
            status, body, _ = get(idx, 1, block=block)
            assert (status, body) == ("200", origin_body(10))
            idx.send(frame(HEADERS, END_HEADERS | END_STREAM, 3,
                           plain_request("/size/10") + b"\xbe"))
            f = idx.until(lambda f: f.type == GOAWAY)
            assert goaway_code(f) == COMPRESSION_ERROR, f.payload
            assert not [f for f in idx.frames
                        if f.type == HEADERS and f.sid == 3]

        # The first connection was not disturbed by the others' errors.
        status, body, _ = get(good, 5, block=plain_request("/size/400"))
        assert (status, body) == ("200", origin_body(400))
        assert not good.errors(), good.errors()
    # Each of the three says why in the log (nghttp2 decided: h2gate's
    # on_h2_frame_send logs it).
    log = g.log()
    assert log.count(" GOAWAY(COMPRESSION_ERROR) sent") == 3, log[-2000:]


def test_frontend_decoder_zero_with_a_real_client(procs):
    """python-h2 applies h2gate's SETTINGS to its encoder: it opens its
    next block with the size update and is served as usual."""
    g = procs.gate([procs.origin()], tls=False, extra=[
        "--frontend-http2-decoder-dynamic-table-size=0"])
    with H2Client(g.port) as c:
        sids = [c.request("/size/%d" % n) for n in (10, 20, 30)]
        rs = c.wait_streams(sids)
        assert [(r.status, bytes(r.data)) for r in rs] == \
            [(200, origin_body(n)) for n in (10, 20, 30)]
        assert c.goaway is None


def _pad_headers(n):
    return ["--add-response-header=x-pad-%d: %s" % (i, chr(97 + i) * 300)
            for i in range(n)]


@pytest.mark.parametrize("client_table", [None, 256])
def test_frontend_encoder_512(procs, client_table):
    """--frontend-http2-encoder-dynamic-table-size=512: the table the
    client's decoder keeps is min(512, the client's
    SETTINGS_HEADER_TABLE_SIZE), announced by a size update in front of
    the first block, and never holds more, though the responses carry
    two 300-byte fields that a 4096-byte table would keep both of."""
    g = procs.gate([procs.origin()], tls=False, extra=[
        "--frontend-http2-encoder-dynamic-table-size=512", *_pad_headers(2)])
    settings = ([(SETTINGS_HEADER_TABLE_SIZE, client_table)]
                if client_table else [])
    limit = min(512, client_table or 4096)
    c, _ = open_client(g.port, settings)
    with c:
        # hpack raises if a size update goes past what the client allowed.
        c.dec.max_allowed_table_size = client_table or 4096
        updates = []
        for sid in (1, 3, 5):
            status, body, blocks = get(c, sid)
            assert (status, body) == ("200", origin_body(100))
            head = next(f for f in c.frames if f.sid == sid and f.type == HEADERS)
            assert dict(head.headers).get("x-pad-1") == "b" * 300, head.headers
            updates += [n for b in blocks for k, n in representations(b)
                        if k == "size"]
            assert c.dec.header_table._current_size <= limit
            assert c.dec.header_table.maxsize <= limit
        assert updates and updates[0] == limit, updates
        assert all(n <= limit for n in updates), updates


def test_frontend_encoder_default_keeps_more_than_512(procs):
    """The same traffic as test_frontend_encoder_512 without the option:
    the client's table does go past 512 bytes (so the bound above is
    h2gate's doing, not the traffic's)."""
    g = procs.gate([procs.origin()], tls=False, extra=_pad_headers(2))
    c, _ = open_client(g.port)
    with c:
        for sid in (1, 3, 5):
            assert get(c, sid)[0] == "200"
        assert c.dec.header_table._current_size > 512


# --------------------------------------------------------------------------
# the backend


def _requests_to_backend(procs, b, extra, n=3):
    """n GETs of / through a fresh h2gate to backend b, one after the
    other on one client connection; returns the client's results."""
    g = procs.gate([b.spec()], tls=False, extra=extra)
    out = []
    with H2Client(g.port) as c:
        for i in range(n):
            sid = c.request("/", extra=[("x-request-tag", "tag-%d" % i)])
            out += c.wait_streams([sid])
    return g, out


def _check_answers(rs):
    for r in rs:
        assert r.status == 200, r
        assert bytes(r.data) == b"ok\n", r
        assert (b"content-type", b"text/plain") in r.headers, r.headers


def test_backend_default(procs, rec_backends):
    """The control case towards backends: no SETTINGS_HEADER_TABLE_SIZE,
    and h2gate's request blocks use the table."""
    b = rec_backends()
    _, rs = _requests_to_backend(procs, b, [])
    _check_answers(rs)
    sent, _ = b.wire()
    s = [f for f in sent if f.type == SETTINGS and not f.flags & ACK]
    assert SETTINGS_HEADER_TABLE_SIZE not in dict(settings_entries(s[0]))
    blocks = [f.block for f in sent if f.type == HEADERS]
    assert len(blocks) == 3
    assert uses_dynamic_table(representations(blocks[0]))
    assert any(k == "indexed" and n > STATIC_ENTRIES
               for k, n in representations(blocks[1]))


def test_backend_decoder_zero(procs, rec_backends):
    b = rec_backends()
    _, rs = _requests_to_backend(procs, b, [
        "--backend-http2-decoder-dynamic-table-size=0"])
    _check_answers(rs)
    sent, got = b.wire()
    s = [f for f in sent if f.type == SETTINGS and not f.flags & ACK]
    assert dict(settings_entries(s[0])).get(SETTINGS_HEADER_TABLE_SIZE) == 0
    # The backend complied: its first response block opens with the
    # update to 0, and nothing it sent stays in a table.
    blocks = [f.block for f in got if f.type == HEADERS]
    assert len(blocks) == 3
    assert representations(blocks[0])[0] == ("size", 0)
    for bl in blocks:
        reps = representations(bl)
        assert not any(k == "indexed" and n > STATIC_ENTRIES
                       for k, n in reps), reps
    assert not [f for f in sent if f.type == GOAWAY]


def test_backend_decoder_zero_not_honoured(procs, rec_backends):
    """A backend that acknowledges HEADER_TABLE_SIZE=0 and goes on
    indexing without the size update: h2gate's decoder refuses the block,
    the session ends with GOAWAY(COMPRESSION_ERROR) and the client gets
    502, not a misread response."""
    b = rec_backends(stale_table=True)
    g = procs.gate([b.spec()], tls=False, extra=[
        "--backend-http2-decoder-dynamic-table-size=0"])
    with H2Client(g.port) as c:
        r, = c.wait_streams([c.request("/")])
        # nghttpx resets the stream (INTERNAL_ERROR) instead.
        assert r.status == 502 or (IS_NGHTTPX and r.reset == 2), r
    assert wait_for(lambda: [f for f in b.wire()[0] if f.type == GOAWAY])
    sent, got = b.wire()
    assert representations([f for f in got if f.type == HEADERS][0].block)[0] \
        != ("size", 0)
    gw = [f for f in sent if f.type == GOAWAY]
    assert goaway_code(gw[0]) == COMPRESSION_ERROR, gw[0].payload


def test_backend_encoder_zero(procs, rec_backends):
    b = rec_backends()
    _, rs = _requests_to_backend(procs, b, [
        "--backend-http2-encoder-dynamic-table-size=0"])
    _check_answers(rs)
    sent, _ = b.wire()
    s = [f for f in sent if f.type == SETTINGS and not f.flags & ACK]
    assert SETTINGS_HEADER_TABLE_SIZE not in dict(settings_entries(s[0]))
    blocks = [f.block for f in sent if f.type == HEADERS]
    assert len(blocks) == 3
    assert representations(blocks[0])[0] == ("size", 0)
    for bl in blocks:
        reps = representations(bl)
        assert not uses_dynamic_table(reps), reps
    # What h2gate sent is what the backend decoded.
    tags = [dict(h).get(b"x-request-tag") for h in b.requests]
    assert tags == [b"tag-0", b"tag-1", b"tag-2"], b.requests


# --------------------------------------------------------------------------
# options and the config file

OPTIONS = ["frontend-http2-encoder-dynamic-table-size",
           "frontend-http2-decoder-dynamic-table-size",
           "backend-http2-encoder-dynamic-table-size",
           "backend-http2-decoder-dynamic-table-size"]


def plain_frontend():
    return ["-f", "%s,%d;no-tls" % (HOST, free_port()),
            "-b", "%s,%d" % (HOST, free_port())]


@pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's exit status and messages")
@pytest.mark.parametrize("opt", OPTIONS)
@pytest.mark.parametrize("value,msg", [
    ("-1", "negative size"),
    ("abc", "invalid size"),
    ("4KB", "invalid size"),
    ("1T", "invalid size"),
    ("9223372036854775808", "out of range (0-9223372036854775807)"),
    ("8589934592G", "out of range (0-9223372036854775807)"),
    ("18446744073709551616", "size too large"),
    ("", "missing value"),
])
def test_bad_value_refused(opt, value, msg):
    p = run_gate(["--%s=%s" % (opt, value), *plain_frontend()])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "--" + opt in p.stderr and msg in p.stderr, p.stderr


@pytest.mark.skipif(IS_NGHTTPX, reason="-t is h2gate's")
@pytest.mark.parametrize("value", ["0", "512", "4k", "1M", "8388607G",
                                   "9223372036854775807"])
def test_values_nghttpx_takes_are_taken(value):
    p = run_gate(["-t", *["--%s=%s" % (o, value) for o in OPTIONS],
                  *plain_frontend()])
    assert p.returncode == 0, (value, p.stdout, p.stderr)


@pytest.mark.parametrize("value,sent", [
    ("64K", 65536),
    ("4294967295", 4294967295),
    pytest.param("4G", 4294967295, marks=pytest.mark.skipif(
        IS_NGHTTPX, reason="nghttpx truncates to 32 bits: it sends 0")),
    ("9223372036854775807", 4294967295),
])
def test_decoder_size_on_the_wire(procs, value, sent):
    g = procs.gate([procs.origin()], tls=False, extra=[
        "--frontend-http2-decoder-dynamic-table-size=" + value])
    c, settings = open_client(g.port)
    with c:
        assert settings.get(SETTINGS_HEADER_TABLE_SIZE) == sent, settings
        assert get(c, 1)[0] == "200"


@pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's exit status and messages")
def test_config_file(procs, rec_backends, tmp_path):
    """The four options as config file lines; a bad one names its line."""
    b = rec_backends()
    conf = tmp_path / "h2gate.conf"
    conf.write_text("frontend-http2-encoder-dynamic-table-size=0\n"
                    "frontend-http2-decoder-dynamic-table-size=1K\n"
                    "backend-http2-encoder-dynamic-table-size = 0\n"
                    "backend-http2-decoder-dynamic-table-size=0\n")
    g = procs.gate([b.spec()], tls=False, conf=conf)
    c, settings = open_client(g.port)
    with c:
        assert settings.get(SETTINGS_HEADER_TABLE_SIZE) == 1024, settings
        # As a client should: hpack's encoder then opens with the update.
        c.enc.header_table_size = 1024
        status, body, blocks = get(c, 1, "/")
        assert (status, body) == ("200", b"ok\n")
        assert not uses_dynamic_table(representations(blocks[0]))
    sent, got = b.wire()
    s = [f for f in sent if f.type == SETTINGS and not f.flags & ACK]
    assert dict(settings_entries(s[0])).get(SETTINGS_HEADER_TABLE_SIZE) == 0
    assert not uses_dynamic_table(representations(
        [f for f in sent if f.type == HEADERS][0].block))

    bad = tmp_path / "bad.conf"
    bad.write_text("# ok\nbackend-http2-decoder-dynamic-table-size=lots\n")
    p = run_gate(["--conf=%s" % bad, *plain_frontend()])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "%s:2: backend-http2-decoder-dynamic-table-size 'lots'" % bad \
        in p.stderr, p.stderr


@pytest.mark.skipif(IS_NGHTTPX, reason="nghttpx reloads by forking")
def test_reload_applies_to_new_connections(procs, tmp_path):
    """A reload's sizes go to connections opened after it; one opened
    before keeps the SETTINGS and encoder it started with."""
    conf = tmp_path / "h2gate.conf"
    conf.write_text("frontend-http2-encoder-dynamic-table-size=0\n"
                    "frontend-http2-decoder-dynamic-table-size=0\n")
    admin = free_port()
    g = procs.gate([procs.origin()], tls=False, conf=conf,
                   extra=["--admin=%s,%d" % (HOST, admin)])
    g.wait_port(admin)
    old, settings = open_client(g.port)
    with old:
        assert settings.get(SETTINGS_HEADER_TABLE_SIZE) == 0
        conf.write_text("frontend-http2-decoder-dynamic-table-size=8K\n")
        g.signal(signal.SIGHUP)
        assert wait_for(lambda: scrape(admin).get(
            "h2gate_config_generation") == 2, 15), g.log()[-2000:]
        new, settings = open_client(g.port)
        with new:
            assert settings.get(SETTINGS_HEADER_TABLE_SIZE) == 8192
            status, _, blocks = get(new, 1)
            assert status == "200"
            assert uses_dynamic_table(representations(blocks[0]))
            # hpack's encoder adds two fields here and reads them back on
            # stream 3: the 8K table holds them.
            assert get(new, 3)[0] == "200"
            assert not new.errors(), new.errors()
        status, _, blocks = get(old, 1, block=size_update(0) +
                                plain_request("/size/100"))
        assert status == "200"
        assert not uses_dynamic_table(representations(blocks[0]))
        # The old connection's decoder table is still 0 bytes: adding to it
        # is no error (the entry does not fit, RFC 7541 §4.4), reading the
        # entry back is.
        assert get(old, 3)[0] == "200"
        old.request(5, "/size/1")
        f = old.until(lambda f: f.type == GOAWAY)
        assert goaway_code(f) == COMPRESSION_ERROR


# --------------------------------------------------------------------------
# Cookie crumbs towards HTTP/2 backends (--http2-no-cookie-crumbling)

COOKIES = ("session=0123456789abcdefghijklmn; theme=dark-mode-preferred-xxxx; "
           "cart=item-00000000000000000001")


def _cookie_blocks(procs, b, extra):
    """Two HTTP/1.1 requests through h2gate to backend b whose Cookie
    differs in its last pair; the two header blocks h2gate sent b."""
    g = procs.gate([b.spec()], tls=False, extra=extra)
    with H1Conn(g.port) as c:
        for cookie in (COOKIES, COOKIES[:-1] + "2"):
            c.send(("GET / HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n" % cookie).encode())
            assert c.read_response().status == 200
    sent, _ = b.wire()
    return [f.block for f in sent if f.type == HEADERS]


def test_cookie_crumbs_to_the_backend(procs, rec_backends):
    """Towards an HTTP/2 backend each cookie-pair goes as a field of its
    own (RFC 9113 8.2.3; nghttpx's default), so a request whose cookies
    changed in one pair sends the others as one-byte indexes (nghttp2
    indexes cookie fields of 20 bytes or more); with
    --http2-no-cookie-crumbling the Cookie goes whole, and the changed
    one is sent whole again. Read off the wire: python-h2 joins crumbs
    before a backend sees them."""
    crumbs = _cookie_blocks(procs, rec_backends(), [])
    whole = _cookie_blocks(procs, rec_backends(), ["--http2-no-cookie-crumbling"])
    dec = hpack.Decoder()
    fields = [[v for n, v in dec.decode(b, raw=True) if n == b"cookie"] for b in crumbs]
    assert fields[0] == [p.encode() for p in COOKIES.split("; ")], fields
    dec = hpack.Decoder()
    fields = [[v for n, v in dec.decode(b, raw=True) if n == b"cookie"] for b in whole]
    assert fields[0] == [COOKIES.encode()], fields
    # The second request: two of its three crumbs are one byte each.
    assert len(crumbs[1]) + 40 < len(whole[1]), (len(crumbs[1]), len(whole[1]))
