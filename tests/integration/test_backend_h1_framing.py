"""How h2gate frames an HTTP/1.1 backend's responses, byte for byte, from a
scripted backend: bodies of known length that arrive in pieces (the head
alone, the body across reads), heads that arrive in pieces, bytes past the
body's end, a backend that closes mid-body, and which responses leave the
backend connection fit for the next request (Connection: close, HTTP/1.0
with and without keep-alive, HEAD). Simple heads take the fast path
(proxy/h1resp.c), the others http-parser; both must give the same."""

import email.utils
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from h2backend_lib import make_ca, make_cert
from testlib import HOST, H1Conn, H2Client

PAUSE = 0.3   # long enough for h2gate to read what came before on its own


def head(cl, *fields, version=b"HTTP/1.1", status=b"200 OK"):
    lines = [version + b" " + status] + list(fields)
    if cl is not None:
        lines.append(b"Content-Length: %d" % cl)
    return b"\r\n".join(lines) + b"\r\n\r\n"


class ScriptedBackend:
    """An HTTP/1.1 origin on loopback. Each request head it reads gets the
    next scripted reply (the last one repeats): byte strings written as
    they come and pauses (float seconds, or a callable that returns when
    the test wants) between them, then the connection is kept for the
    next request or closed. .log has (connection number,
    request line) for each request, in arrival order."""

    def __init__(self, replies, tls=None, rcvbuf=None):
        self.replies = list(replies)
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(str(tls[1]), str(tls[0]))
        self.lsock = socket.socket()
        if rcvbuf:   # inherited by the accepted sockets
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.log = []
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def backend(self):
        return "%s,%d" % (HOST, self.port)

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
                n = len(self.conns)
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _serve(self, c, n):
        buf = b""
        try:
            if self.tls:
                c = self.tls.wrap_socket(c, server_side=True)
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                req, buf = buf.split(b"\r\n\r\n", 1)
                with self.lock:
                    self.log.append((n, req.split(b"\r\n")[0]))
                    pieces, keep = self.replies[min(len(self.log), len(self.replies)) - 1]
                for p in pieces:
                    if isinstance(p, float):
                        time.sleep(p)
                    elif callable(p):
                        p()
                    else:
                        c.sendall(p)
                if not keep:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            c.close()

    def stop(self):
        self.lsock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def scripted():
    made = []

    def make(replies, tls=None, rcvbuf=None):
        b = ScriptedBackend(replies, tls, rcvbuf)
        made.append(b)
        return b
    yield make
    for b in made:
        b.stop()


def get(g, path, method="GET", version="HTTP/1.1"):
    with H1Conn(g.port, timeout=10) as c:
        c.send(("%s %s %s\r\nHost: x\r\n\r\n" % (method, path, version)).encode())
        return c.read_response(method=method)


BODY = bytes(range(256)) * 400          # 102,400 bytes


def test_body_across_reads_then_reuse(procs, scripted):
    """The head with a few body bytes, then the rest in two pieces: every
    byte arrives in order, and the connection serves the next request."""
    b = scripted([
        ([head(len(BODY)) + BODY[:10], PAUSE, BODY[10:50000], PAUSE, BODY[50000:]], True),
        ([head(2) + b"hi"], True),
    ])
    g = procs.gate([b.backend()], tls=False)
    r = get(g, "/one")
    assert r.status == 200 and r.header("content-length") == str(len(BODY))
    assert r.body == BODY
    r = get(g, "/two")
    assert r.status == 200 and r.body == b"hi"
    assert [n for n, _ in b.log] == [1, 1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "test-ca")
    return {"ca": ca, "srv": make_cert(d, ca)}


def test_body_across_reads_tls_backend(procs, scripted, pki):
    """The same from a TLS backend: the head and the body's pieces come in
    TLS records, read up to READ_BATCH times a wake-up."""
    b = scripted([
        ([head(len(BODY)) + BODY[:10], PAUSE, BODY[10:50000], PAUSE, BODY[50000:]], True),
        ([head(2) + b"hi" + head(3) + b"bad"], True),
        ([head(2) + b"ok"], True),
    ], tls=pki["srv"])
    g = procs.gate([b.backend() + ";;tls"], tls=False,
                   extra=["--cacert=%s" % pki["ca"][1]])
    r = get(g, "/one")
    assert r.status == 200 and r.body == BODY
    r = get(g, "/two")
    assert r.status == 200 and r.body == b"hi"
    r = get(g, "/three")
    assert r.status == 200 and r.body == b"ok"
    assert [n for n, _ in b.log] == [1, 1, 2]


def test_body_across_reads_over_h2(procs, scripted):
    """The same, to an HTTP/2 client: the DATA frames carry the bytes."""
    b = scripted([([head(len(BODY)), PAUSE, BODY[:70000], PAUSE, BODY[70000:]], True)])
    g = procs.gate([b.backend()], tls=False)
    for _ in range(2):
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-m", "10",
                            "http://%s:%d/big" % (HOST, g.port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        assert p.returncode == 0, p.stderr
        assert p.stdout == BODY
    assert [n for n, _ in b.log] == [1, 1]


def test_head_in_pieces(procs, scripted):
    """A head split across reads (http-parser's side) reads the same."""
    h = head(5, b"X-Origin: scripted", b"X-Long: " + b"v" * 3000)
    b = scripted([([h[:20], PAUSE, h[20:2000], PAUSE, h[2000:] + b"hello"], True)])
    g = procs.gate([b.backend()], tls=False)
    for _ in range(2):
        r = get(g, "/")
        assert r.status == 200 and r.body == b"hello"
        assert r.header("x-long") == "v" * 3000
        assert r.header("x-origin") == "scripted"
    assert [n for n, _ in b.log] == [1, 1]


def test_bytes_past_the_body_close_the_connection(procs, scripted):
    """Bytes after Content-Length's end (here a whole second response) are
    not a response to anything: the client gets the body only, and the
    next request goes out on a new connection and gets its own answer."""
    poison = head(7) + b"poison!"
    b = scripted([
        ([head(5) + b"hello" + poison], True),
        ([head(6) + b"second"], True),
    ])
    g = procs.gate([b.backend()], tls=False)
    r = get(g, "/first")
    assert r.status == 200 and r.body == b"hello"
    r = get(g, "/second")
    assert r.status == 200 and r.body == b"second"
    assert [n for n, _ in b.log] == [1, 2]


def test_which_responses_keep_the_connection(procs, scripted):
    """Connection: close and an HTTP/1.0 answer without keep-alive end
    the connection (even one the backend leaves open); HTTP/1.0 with
    keep-alive, a HEAD's answer and a plain HTTP/1.1 one keep it."""
    b = scripted([
        ([head(2, b"CONNECTION: Close") + b"c1"], False),
        ([head(2, version=b"HTTP/1.0") + b"c2"], True),
        ([head(2, b"connection: keep-alive", version=b"HTTP/1.0") + b"c3"], True),
        ([head(100)], True),                  # the answer to a HEAD
        ([head(2, b"Content-Type: text/plain") + b"c4"], True),
    ])
    g = procs.gate([b.backend()], tls=False)
    assert get(g, "/1").body == b"c1"
    assert get(g, "/2").body == b"c2"
    assert get(g, "/3").body == b"c3"
    r = get(g, "/4", method="HEAD")
    assert r.status == 200 and r.header("content-length") == "100" and r.body == b""
    assert get(g, "/5").body == b"c4"
    assert [n for n, _ in b.log] == [1, 2, 3, 3, 3]


def test_backend_closes_mid_body(procs, scripted):
    """Content-Length 1000, 100 bytes, then the backend closes: the client
    never gets a complete-looking response (HTTP/1.1: the connection ends
    short of the length; HTTP/2: the stream is reset), and the next
    request is served on a new connection."""
    b = scripted([
        ([head(1000) + b"x" * 100], False),
        ([head(1000) + b"x" * 100], False),
        ([head(2) + b"ok"], True),
    ])
    g = procs.gate([b.backend()], tls=False)
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
        out = c.read_to_eof()
    assert out.startswith(b"HTTP/1.1 200 "), out[:100]
    assert b"content-length: 1000\r\n" in out.lower()
    assert len(out.split(b"\r\n\r\n", 1)[1]) < 1000
    p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-m", "10",
                        "http://%s:%d/cut" % (HOST, g.port)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert p.returncode != 0 and len(p.stdout) < 1000, (p.returncode, len(p.stdout))
    assert get(g, "/next").body == b"ok"
    assert [n for n, _ in b.log] == [1, 2, 3]


def test_length_forms(procs, scripted):
    """A lower-case name, blanks around the number, leading zeros, and 0."""
    b = scripted([
        ([b"HTTP/1.1 200 OK\r\ncontent-length:   005  \r\n\r\nhello"], True),
        ([head(0)], True),
        ([b"HTTP/1.1 201\r\nContent-Length: 3\r\n\r\nabc"], True),
    ])
    g = procs.gate([b.backend()], tls=False)
    r = get(g, "/a")
    assert r.status == 200 and r.body == b"hello"
    r = get(g, "/b")
    assert r.status == 200 and r.body == b""
    r = get(g, "/c")
    assert r.status == 201 and r.body == b"abc"
    assert [n for n, _ in b.log] == [1, 1, 1]


@pytest.mark.parametrize("fields", [
    [b"Content-Length: 5", b"Content-Length: 5"],
    [b"Content-Length: 5", b"Transfer-Encoding: chunked"],
    [b"Content-Length: 5x"],
    # http-parser takes up to 2^64 - 2: past 2^63 - 1 it was forwarded,
    # and HTTP/2 clients refused it.
    [b"Content-Length: 00000000017344677226306018418"],
])
def test_bad_framing_is_502(procs, scripted, fields):
    """Framing http-parser refuses is refused whichever path saw it first:
    502, and the connection is not reused."""
    b = scripted([
        ([b"HTTP/1.1 200 OK\r\n" + b"\r\n".join(fields) + b"\r\n\r\nhello"], True),
        ([head(2) + b"ok"], True),
    ])
    g = procs.gate([b.backend()], tls=False)
    assert get(g, "/bad").status == 502
    assert get(g, "/next").body == b"ok"
    assert [n for n, _ in b.log] == [1, 2]


@pytest.mark.parametrize("limit,fields", [
    ("--max-response-header-fields=5", [b"X-%d: v" % i for i in range(5)]),
    ("--response-header-field-buffer=100", [b"X-Long: " + b"v" * 120]),
])
def test_response_fields_over_the_caps_502(procs, scripted, limit, fields):
    """A head past --max-response-header-fields or
    --response-header-field-buffer (Content-Length counts) is 502, in one
    read (the fast path) or in pieces (http-parser); one at the cap
    passes."""
    over = head(2, *fields) + b"ok"
    at = head(2, *fields[1:]) + b"ok" if len(fields) > 1 else head(2, b"X-Long: " + b"v" * 60) + b"ok"
    b = scripted([
        ([over], True),
        ([over[:25], PAUSE, over[25:]], True),
        ([at], True),
    ])
    g = procs.gate([b.backend()], tls=False, extra=[limit])
    assert get(g, "/one-read").status == 502
    assert get(g, "/pieces").status == 502
    r = get(g, "/at-the-cap")
    assert r.status == 200 and r.body == b"ok"


@pytest.mark.parametrize("value", [b"\x00lead", b"mid\x00dle", b"del\x7f", b"ctl\x01x"],
                         ids=["nul_first", "nul_inside", "del", "ctl"])
@pytest.mark.parametrize("where", ["head", "trailer"])
def test_control_characters_in_a_response_field_502(procs, scripted, value, where):
    """A backend's field value with NUL, DEL or another control character
    (RFC 9110 5.5) is never forwarded: 502 (http-parser alone let a
    leading NUL through), and the connection is not reused."""
    if where == "head":
        bad = head(2, b"X-A: " + value) + b"ok"
    else:
        bad = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"2\r\nok\r\n0\r\nX-A: " + value + b"\r\n\r\n")
    b = scripted([([bad], True), ([head(2) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"GET /bad HTTP/1.1\r\nHost: x\r\n\r\n")
        if where == "head":
            r = c.read_response()
            assert r.status == 502, r
        else:
            # 502 when the trailer comes before the head went out (here it
            # comes in the same write); after it, the response is cut.
            # Never the field.
            out = read_quiet(c)
            assert out.startswith((b"HTTP/1.1 502 ", b"HTTP/1.1 200 ")), out
            assert b"x-a" not in out.lower(), out
    assert get(g, "/next").body == b"ok"
    assert [n for n, _ in b.log] == [1, 2]


def read_quiet(c, quiet=1.0):
    """What c receives until the peer closes or sends nothing for quiet s."""
    out = c.buf
    c.buf = b""
    c.sock.settimeout(quiet)
    while True:
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            return out
        except ConnectionResetError:
            return out
        if not data:
            return out
        out += data


@pytest.mark.parametrize("name", [b"X Y", b"X-A ", b" X"], ids=["inside", "last", "first"])
def test_space_in_a_response_field_name_502(procs, scripted, name):
    """A field name with a space (not a token, RFC 9110 5.6.2; http-parser
    takes one inside a name) is never forwarded: 502, not reused. A space
    before the first field is obs-fold, which http-parser refuses."""
    b = scripted([([head(2, name + b": z") + b"ok"], True), ([head(2) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    r = get(g, "/bad")
    assert r.status == 502, r
    assert get(g, "/next").body == b"ok"
    assert [n for n, _ in b.log] == [1, 2]


@pytest.mark.parametrize("how", ["one_read", "pieces", "chunked"])
@pytest.mark.parametrize("client", ["h1", "h2"])
def test_field_value_whitespace_is_not_forwarded(procs, scripted, how, client):
    """Spaces and tabs that end a backend's field value are not part of
    it (RFC 9112 5), on the fast path (the head in one read), through
    http-parser (the head in pieces) and in trailers: an HTTP/2 client,
    which must treat a value with them as malformed (RFC 9113 8.2.1; python-h2
    refused the whole response), gets the value without them, and so does
    an HTTP/1.1 client."""
    fields = [b"X-A: v \t", b"X-B: in side  ", b"X-C:\t "]
    if how == "chunked":
        h = (b"HTTP/1.1 200 OK\r\n" + b"\r\n".join(fields) +
             b"\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: t \r\n\r\n")
        pieces = [h]
    else:
        h = head(2, *fields) + b"ok"
        pieces = [h] if how == "one_read" else [h[:20], PAUSE, h[20:]]
    b = scripted([(pieces, True)])
    g = procs.gate([b.backend()], tls=False)
    want = [(b"x-a", b"v"), (b"x-b", b"in side"), (b"x-c", b"")]
    if client == "h2":
        with H2Client(g.port) as c:
            extra = [("te", "trailers")] if how == "chunked" else []
            r, = c.wait_streams([c.request("/", extra=extra)])
        assert r.status == 200 and bytes(r.data) == b"ok", r
        for f in want:
            assert f in r.headers, r.headers
        if how == "chunked":
            assert r.trailers == [(b"x-t", b"t")], r.trailers
        return
    r = get(g, "/")
    assert r.status == 200 and r.body == b"ok", r
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n")
        raw = c.read_to_eof()
    for n, v in want:
        assert b"\r\n" + n + b": " + v + b"\r\n" in raw.lower(), raw
    if how == "chunked":
        assert raw.endswith(b"0\r\nx-t: t\r\n\r\n"), raw


@pytest.mark.parametrize("status", [b"304 Not Modified", b"204 No Content"])
@pytest.mark.parametrize("cl", [None, 10])
def test_no_body_statuses_end_at_the_head(procs, scripted, status, cl):
    """A 304 or 204 ends at its head, whatever its Content-Length says (a
    304 may give the representation's, RFC 9110 8.6): the client gets it at
    once, and the next request goes out on the same connection."""
    b = scripted([
        ([head(cl, b'ETag: "x"', status=status)], True),
        ([head(cl, b'ETag: "x"', status=status)], True),
        ([head(2) + b"ok"], True),
    ])
    g = procs.gate([b.backend()], tls=False, extra=["--backend-read-timeout=30s"])
    r = get(g, "/cached")
    assert r.status == int(status[:3]) and r.body == b"", r
    assert r.header("etag") == '"x"'
    p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-m", "10", "-o", "/dev/null",
                        "-w", "%{http_code}", "http://%s:%d/cached" % (HOST, g.port)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert p.returncode == 0 and p.stdout == status[:3], (p.returncode, p.stdout)
    assert get(g, "/next").body == b"ok"
    assert [n for n, _ in b.log] == [1, 1, 1]


def test_interim_response_ends_at_its_head(procs, scripted):
    """A 1xx ends at its head even with a Content-Length (one it must not
    have, RFC 9110 8.6): the final response after it is read whole, not
    eaten as the 1xx's body."""
    interim = head(10, b"Link: </style.css>; rel=preload", status=b"103 Early Hints")
    b = scripted([([interim + head(2) + b"ok"], True), ([head(2) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"GET /hinted HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        if r.status == 103:   # passed on to the client first
            assert r.header("link") == "</style.css>; rel=preload", r
            # Not the Content-Length a 1xx must not have (RFC 9110 8.6).
            assert r.header("content-length") is None, r
            r = c.read_response()
    assert r.status == 200 and r.body == b"ok", r
    assert get(g, "/next").body == b"ok"
    assert [n for n, _ in b.log] == [1, 1]


def test_interim_response_to_h2_without_content_length(procs, scripted):
    """The same 103 to an HTTP/2 client goes without its Content-Length:
    nghttp2 clients refuse one in a 1xx (RFC 9110 8.6), and with it the
    whole response (found by fuzz/bconn.c)."""
    interim = head(10, b"Link: </style.css>; rel=preload", status=b"103 Early Hints")
    b = scripted([([interim, PAUSE, head(2) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    with H2Client(g.port) as c:
        r, = c.wait_streams([c.request("/hinted")])
    assert (r.status, bytes(r.data), r.reset) == (200, b"ok", None), r
    assert len(r.informational) == 1, r.informational
    hints = r.informational[0]
    assert (b":status", b"103") in hints and \
        (b"link", b"</style.css>; rel=preload") in hints, hints
    assert not [v for n, v in hints if n == b"content-length"], hints


@pytest.mark.parametrize("status", [b"000 Zero", b"099 Low", b"600 High", b"999 Top"])
def test_status_outside_100_599_is_502(procs, scripted, status):
    """Only 100-599 are status codes (RFC 9110 15); http-parser takes any
    three digits. Any other is 502 and the connection is not reused."""
    b = scripted([([head(2, status=status) + b"ok"], True), ([head(2) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    assert get(g, "/odd").status == 502
    p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-m", "10", "-o", "/dev/null",
                        "-w", "%{http_code}", "http://%s:%d/next" % (HOST, g.port)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert p.returncode == 0 and p.stdout == b"200", (p.returncode, p.stdout)
    assert [n for n, _ in b.log] == [1, 2]


@pytest.mark.parametrize("client", ["h2", "http/1.1"])
def test_answer_before_the_request_body_ends(procs, scripted, client):
    """A 413 right after the request head, the body unread, the connection
    kept open: the client gets the 413 whole (and an HTTP/2 client then
    RST_STREAM(NO_ERROR), an HTTP/1.1 one Connection: close), and the
    backend connection, a body short, serves nothing more: the next
    request goes out on a new one, its line intact."""
    b = scripted([([head(8, status=b"413 Payload Too Large") + b"too big\n"], True),
                  ([head(2) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    if client == "h2":
        with H2Client(g.port) as c:
            sid = c.request("/one", method="POST", end_stream=False,
                            extra=[("content-length", "100000")])
            c.send_body(sid, b"x" * 1000, end_stream=False)
            c.wait(lambda: c.streams[sid].reset is not None)
            r = c.streams[sid]
            assert (r.status, bytes(r.data), r.ended, r.reset) == \
                (413, b"too big\n", True, 0), r
            s2 = c.request("/two")
            r2, = c.wait_streams([s2])
            assert (r2.status, bytes(r2.data)) == (200, b"ok"), r2
    else:
        with H1Conn(g.port, timeout=10) as c:
            c.send(b"POST /one HTTP/1.1\r\nHost: x\r\ncontent-length: 100000\r\n\r\n"
                   + b"x" * 1000)
            r = c.read_response()
            assert (r.status, r.body, r.header("connection")) == \
                (413, b"too big\n", "close"), r
        r = get(g, "/two")
        assert (r.status, r.body) == (200, b"ok")
    assert b.log == [(1, b"POST /one HTTP/1.1"), (2, b"GET /two HTTP/1.1")], b.log


def keep_uploading(s):
    """Sends body bytes on s from a thread until the returned stop() (or
    until the socket fails); stop() waits for the thread."""
    done = threading.Event()

    def pump():
        try:
            while not done.is_set():
                s.sendall(b"u" * 16384)
        except (OSError, ValueError):
            pass
    t = threading.Thread(target=pump, daemon=True)
    t.start()

    def stop():
        done.set()
        t.join(10)
    return stop


def upload_and_read(port, tls, wait=1.0):
    """Opens a connection whose receive buffer is small, sends a request
    head announcing 10 MB and keeps sending body; after `wait` seconds
    (the answer fills the buffers; h2gate is done writing) it also reads,
    to the end. Returns (bytes read, what ended the read: "eof", or the
    exception's class name).

    One thread does both, with select: an SSL object must not be used by
    two threads at once (a sending thread beside a reading one crashed
    the Python process). Reads go first, so the answer and its end are
    read before a send can fail on the closed connection."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect((HOST, port))
    s = raw
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        # No close_notify before the FIN would raise SSLEOFError.
        s = ctx.wrap_socket(raw, suppress_ragged_eofs=False)
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
    s.setblocking(False)
    chunk, got, end, sending = b"u" * 16384, b"", "timeout", True
    start = time.monotonic()
    while time.monotonic() < start + wait + 30:
        reading = time.monotonic() >= start + wait
        buffered = reading and tls and s.pending() > 0
        r, w, _ = select.select([s] if reading and not buffered else [],
                                [s] if sending and not buffered else [], [], 0.05)
        if r or buffered:
            try:
                d = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            except (OSError, ssl.SSLError) as e:
                end = type(e).__name__
                break
            if not d:
                end = "eof"
                break
            got += d
        elif w:
            try:
                s.send(chunk)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
            except (OSError, ssl.SSLError):
                sending = False
    s.close()
    return got, end


@pytest.mark.parametrize("wait", [1.0, 3.0], ids=["reads-after-1s", "reads-after-3s"])
@pytest.mark.parametrize("tls", [False, True], ids=["cleartext", "tls"])
def test_early_answer_reaches_a_client_still_uploading(procs, scripted, tls, wait):
    """A 200,000-byte answer before the request body (the backend reads
    none of it) to an HTTP/1.1 client that keeps uploading and reads
    slowly: h2gate ends the connection with a lingering close (over TLS
    behind a close_notify), not a close that would make the kernel reset
    the connection and drop the answer's unsent part. The lingering lasts
    until the client has acknowledged the whole answer, not a fixed time:
    a client that starts reading after 3 s (the old fixed 2 s linger cut
    it off) gets it all too."""
    body = (bytes(range(256)) * 782)[:200000]
    b = scripted([([head(len(body), status=b"413 Payload Too Large") + body], True)])
    g = procs.gate([b.backend()])
    got, end = upload_and_read(g.tls_port if tls else g.port, tls, wait)
    hd, _, rest = got.partition(b"\r\n\r\n")
    assert hd.startswith(b"HTTP/1.1 413 "), got[:300]
    assert b"\r\nconnection: close" in hd.lower(), hd
    assert (len(rest), rest == body, end) == (len(body), True, "eof")


@pytest.mark.parametrize("tls", [False, True], ids=["cleartext", "tls"])
def test_answer_then_reset_while_h2gate_is_writing(procs, scripted, pki, tls):
    """A backend that stops reading an upload, answers 413 and closes with
    the body unread, which makes its kernel reset the connection: the
    reset fails h2gate's next write, with the 413 already in its socket
    (h2gate's writes were blocked, so nothing read it yet). The client
    gets the 413, not a 502 for the failed write."""
    b = scripted([([1.0, head(8, status=b"413 Payload Too Large") + b"too big\n"], False)],
                 tls=pki["srv"] if tls else None, rcvbuf=4096)
    g = procs.gate([b.backend() + (";;tls" if tls else "")], tls=False,
                   extra=["--cacert=%s" % pki["ca"][1]] if tls else [])
    s = socket.create_connection((HOST, g.port), timeout=10)
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
    stop = keep_uploading(s)
    got = b""
    try:
        while b"too big\n" not in got:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()                 # a send blocked in the thread fails now
    stop()
    assert got.startswith(b"HTTP/1.1 413 ") and got.endswith(b"\r\n\r\ntoo big\n"), got


@pytest.mark.parametrize("order", ["client_first", "backend_first"])
def test_answer_then_reset_seen_with_client_data(procs, scripted, order):
    """The same race as it happens at full speed: the 413, the reset and
    more of the client's body all wait for h2gate at once (h2gate is
    stopped meanwhile), in either order. Whichever it handles first, the
    client gets the 413 (handling the client's bytes first used to write
    them, fail on the reset and answer 502 with the 413 unread)."""
    go, closed = threading.Event(), threading.Event()
    b = scripted([([go.wait, head(8, status=b"413 Payload Too Large") + b"too big\n",
                    closed.set], False)])
    g = procs.gate([b.backend()], tls=False)
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
               b"u" * 1000)
        deadline = time.monotonic() + 10
        while not b.log and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b.log
        c.send(b"u" * 1000)      # left unread by the backend: its close resets
        time.sleep(0.2)
        os.kill(g.pid, signal.SIGSTOP)
        try:
            if order == "client_first":
                c.send(b"u" * 1000)
            go.set()
            assert closed.wait(10)
            time.sleep(0.2)      # the reset is in
            if order == "backend_first":
                c.send(b"u" * 1000)
                time.sleep(0.1)
        finally:
            os.kill(g.pid, signal.SIGCONT)
        r = c.read_response()
    assert (r.status, r.body) == (413, b"too big\n"), r


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
@pytest.mark.parametrize("client", ["h1", "h2"])
def test_streamed_body_reaches_the_client_as_it_comes(procs, scripted, framing, client):
    """Server-sent events and other streamed answers: what the backend
    sends reaches the client before the backend sends more (the backend
    sends its second event only once the client has the first, so held
    bytes are a deadlock, not a delay)."""
    seen = threading.Event()

    def wait_seen():
        if not seen.wait(10):
            raise RuntimeError("the client never got the first event")   # the backend cuts
    one, two = b"data: one\n\n", b"data: two\n\n"
    if framing == "chunked":
        hd = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        pieces = [hd + b"b\r\n" + one + b"\r\n", wait_seen,
                  b"b\r\n" + two + b"\r\n0\r\n\r\n"]
    elif framing == "length":
        pieces = [head(22, b"Content-Type: text/event-stream") + one, wait_seen, two]
    else:
        hd = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        pieces = [hd + one, wait_seen, two]
    b = scripted([(pieces, framing != "close")])
    g = procs.gate([b.backend()], tls=False)
    if client == "h2":
        with H2Client(g.port) as c:
            sid = c.request("/events")
            c.wait(lambda: one in bytes(c.streams[sid].data))
            seen.set()
            r, = c.wait_streams([sid])
        assert (r.status, bytes(r.data), r.reset) == (200, one + two, None), r
        return
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while one not in got:
            got += c.recv_some(1)
        seen.set()
        got += c.read_to_eof()
    hd, _, body = got.partition(b"\r\n\r\n")
    assert hd.startswith(b"HTTP/1.1 200 "), got
    if b"transfer-encoding: chunked" in hd.lower():
        assert body == b"b\r\n" + one + b"\r\nb\r\n" + two + b"\r\n0\r\n\r\n", got
    else:
        assert body == one + two, got


def dates(client, port, path="/"):
    """(status, the date fields) of a GET through h2gate."""
    if client == "h2":
        with H2Client(port) as c:
            r, = c.wait_streams([c.request(path)])
        return r.status, [v.decode() for n, v in r.headers if n == b"date"]
    with H1Conn(port, timeout=10) as c:
        c.send(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        r = c.read_response()
    return r.status, [v for n, v in r.headers if n == "date"]


def assert_now(value):
    """An IMF-fixdate (RFC 9110 5.6.7) close to this clock's now."""
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                        r"Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", value), value
    assert abs(email.utils.parsedate_to_datetime(value).timestamp() - time.time()) < 300, value


@pytest.mark.parametrize("client", ["h1", "h2"])
def test_date_added_to_a_response_without_one(procs, scripted, client):
    """A recipient with a clock adds Date to a response it forwards
    without one (RFC 9110 6.6.1); one that has Date keeps it, alone."""
    theirs = b"Tue, 01 Dec 2026 00:00:00 GMT"
    b = scripted([([head(2) + b"ok"], True), ([head(2, b"Date: " + theirs) + b"ok"], True)])
    g = procs.gate([b.backend()], tls=False)
    status, d = dates(client, g.port)
    assert status == 200 and len(d) == 1, d
    assert_now(d[0])
    assert dates(client, g.port) == (200, [theirs.decode()])


@pytest.mark.parametrize("client", ["h1", "h2"])
def test_date_on_h2gates_own_answers(procs, scripted, client):
    """h2gate's own answers carry Date too (RFC 9110 6.6.1: every 2xx-4xx
    an origin with a clock makes; its 5xx alike, as nghttpx's)."""
    b = scripted([([], False)])       # closes without answering: 502
    g = procs.gate([b.backend()], tls=False)
    status, d = dates(client, g.port)
    assert status == 502 and len(d) == 1, d
    assert_now(d[0])
