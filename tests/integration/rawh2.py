"""A raw HTTP/2 client for tests that look at frames as they come: every
frame h2gate sends is recorded (type, flags, stream, lengths, padding), in
order, and nothing is answered unless the test says so (flow control is
the test's: windows open only by window_update), except SETTINGS, which
is acknowledged. Header blocks are (de)compressed with hpack; the rest is
packed here, PRIORITY_UPDATE (RFC 9218, type 0x10) included, which
python-h2 does not know.

Loopback only; every read has a deadline.
"""

import select
import socket
import ssl
import struct
import time

import hpack

from testlib import HOST, Deadline

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS = 0x0, 0x1, 0x2, 0x3, 0x4
PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x5, 0x6, 0x7, 0x8, 0x9
PRIORITY_UPDATE = 0x10

END_STREAM, ACK, END_HEADERS, PADDED, PRIO_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_NO_RFC7540_PRIORITIES = 0x9

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def wrap_tls(sock, alpn="h2", ciphers=None):
    """sock after a TLS handshake offering only alpn and checking no
    certificate; asserts the server chose alpn. ciphers: TLS 1.2 with only
    these suites."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    if ciphers:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
    sock = ctx.wrap_socket(sock, server_hostname="localhost")
    assert sock.selected_alpn_protocol() == alpn
    return sock


def frame(ftype, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] +
            struct.pack(">BBI", ftype, flags, sid & 0x7fffffff) + payload)


class Frame:
    """One received frame. data: a DATA frame's payload without its padding;
    padlen: the Pad Length field (None when not PADDED); headers: a
    HEADERS or PUSH_PROMISE frame's decoded fields; promised: a
    PUSH_PROMISE's promised stream id."""

    def __init__(self, ftype, flags, sid, payload):
        self.type, self.flags, self.sid = ftype, flags, sid
        self.length = len(payload)
        self.payload = payload
        self.padlen = None
        self.data = b""
        self.headers = None
        self.promised = None
        body = payload
        if ftype in (DATA, HEADERS, PUSH_PROMISE) and flags & PADDED:
            self.padlen = body[0]
            body = body[1:len(body) - self.padlen]
        if ftype == DATA:
            self.data = body
        elif ftype == HEADERS and flags & PRIO_FLAG:
            body = body[5:]
        elif ftype == PUSH_PROMISE:
            self.promised = int.from_bytes(body[:4], "big") & 0x7fffffff
            body = body[4:]
        self.block = (body if ftype in (HEADERS, PUSH_PROMISE, CONTINUATION)
                      else b"")

    @property
    def end_stream(self):
        return self.type in (DATA, HEADERS) and bool(self.flags & END_STREAM)

    def __repr__(self):
        return "Frame(type=%d flags=%#x sid=%d len=%d)" % (
            self.type, self.flags, self.sid, self.length)


class RawH2:
    def __init__(self, port, settings=(), timeout=20.0, host=HOST,
                 rcvbuf=None, tls=False, ciphers=None):
        self.timeout = timeout
        if rcvbuf:
            # Set before connecting: a fixed receive buffer, not autotuned.
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self.sock = wrap_tls(self.sock, ciphers=ciphers)
        self.sock.setblocking(False)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.buf = bytearray()
        self.frames = []            # every frame received, in order
        self.server_settings = []   # [(id, value)] of each non-ACK SETTINGS
        self.eof = False
        self._block = None          # a header block waiting for CONTINUATION
        self.send(PREFACE + frame(SETTINGS, 0, 0, b"".join(
            struct.pack(">HI", k, v) for k, v in settings)))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                # Read meanwhile: h2gate may be waiting for us to.
                self._read_some(min(0.05, deadline - time.monotonic()))
                if time.monotonic() > deadline:
                    raise Deadline("send blocked")

    # ---- frames to send ----

    def headers_frame(self, sid, path, extra=(), end=True, prio7540=None,
                      authority="localhost"):
        fields = [(":method", "GET"), (":scheme", "http"),
                  (":authority", authority), (":path", path), *extra]
        block = self.enc.encode(fields)
        flags = END_HEADERS | (END_STREAM if end else 0)
        if prio7540 is not None:
            dep, weight, excl = prio7540
            flags |= PRIO_FLAG
            block = struct.pack(">IB", dep | (0x80000000 if excl else 0),
                                weight - 1) + block
        return frame(HEADERS, flags, sid, block)

    def request(self, sid, path, extra=(), **kw):
        self.send(self.headers_frame(sid, path, extra, **kw))

    def priority(self, sid, dep, weight, excl=False):
        self.send(frame(PRIORITY, 0, sid, struct.pack(
            ">IB", dep | (0x80000000 if excl else 0), weight - 1)))

    def priority_update(self, sid, value):
        self.send(frame(PRIORITY_UPDATE, 0, 0,
                        struct.pack(">I", sid) + value.encode()))

    def window_update(self, sid, n):
        self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", n)))

    # ---- frames received ----

    def _read_some(self, wait):
        # TLS may hold decrypted bytes that select() cannot see.
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending:
            r, _, _ = select.select([self.sock], [], [], max(wait, 0))
            if not r:
                return False
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                ssl.SSLWantWriteError):
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _parse(self):
        if len(self.buf) < 9:
            return None
        length = int.from_bytes(self.buf[:3], "big")
        if len(self.buf) < 9 + length:
            return None
        ftype, flags = self.buf[3], self.buf[4]
        sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
        f = Frame(ftype, flags, sid, bytes(self.buf[9:9 + length]))
        del self.buf[:9 + length]
        return f

    def _on_frame(self, f):
        self.frames.append(f)
        if f.type == SETTINGS and not f.flags & ACK:
            self.server_settings.append([
                struct.unpack(">HI", f.payload[i:i + 6])
                for i in range(0, len(f.payload), 6)])
            self.send(frame(SETTINGS, ACK, 0))
        elif f.type in (HEADERS, PUSH_PROMISE, CONTINUATION):
            self._block = (self._block or b"") + f.block
            if f.flags & END_HEADERS:
                target = self._head if f.type == CONTINUATION else f
                target.headers = [(n.decode(), v.decode()) for n, v in
                                  self.dec.decode(self._block, raw=True)]
                self._block = None
            elif f.type != CONTINUATION:
                self._head = f

    def next_frame(self, timeout=None):
        """The next frame, waiting up to timeout (default: the client's)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            f = self._parse()
            if f is not None:
                self._on_frame(f)
                return f
            if self.eof:
                raise Deadline("connection closed; frames: %r" % self.frames[-5:])
            left = deadline - time.monotonic()
            if left <= 0:
                raise Deadline("no frame in time; last frames: %r" % self.frames[-5:])
            self._read_some(left)

    def until(self, cond, timeout=None, on_frame=None):
        """Reads frames until cond(frame) is true; returns that frame.
        cond is asked first about the last frame already read (conditions
        on self.frames may hold already). on_frame(frame) runs for each
        frame read, before cond (to open windows)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if self.frames and cond(self.frames[-1]):
            return self.frames[-1]
        while True:
            f = self.next_frame(max(deadline - time.monotonic(), 0.001))
            if on_frame:
                on_frame(f)
            if cond(f):
                return f

    def errors(self):
        """RST_STREAM and GOAWAY frames received so far."""
        return [f for f in self.frames if f.type in (RST_STREAM, GOAWAY)]


def status_of(f):
    return dict(f.headers or ()).get(":status")


def read_to_close(sock, timeout):
    """Every byte a plain or TLS socket gets until the peer closes it
    (a reset counts as the close); the test fails if that takes longer
    than timeout seconds."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "connection not closed; got %r" % buf[:200]
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            return buf
        buf += data


def read_frames(sock, timeout):
    """Every frame until the peer closes: [(type, flags, stream, payload)].
    Deadline-bounded as read_to_close; whole frames only."""
    return split_frames(read_to_close(sock, timeout))


def split_frames(buf):
    """The frames bytes hold, [(type, flags, stream, payload)]; they must
    end with a whole frame."""
    frames = []
    while len(buf) >= 9:
        length = int.from_bytes(buf[0:3], "big")
        ftype, flags = buf[3], buf[4]
        stream = struct.unpack(">I", buf[5:9])[0] & 0x7fffffff
        payload = buf[9:9 + length]
        assert len(payload) == length, "truncated frame"
        frames.append((ftype, flags, stream, payload))
        buf = buf[9 + length:]
    assert buf == b"", "trailing bytes %r" % buf
    return frames
