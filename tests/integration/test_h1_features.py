"""HTTP/1.1 client features on raw sockets: keep-alive, pipelining,
100-continue, bodiless responses, Connection: close, chunked uploads."""

import re
import socket
import subprocess

import pytest

from testlib import HOST, H1Conn, h1_get


def test_http10_keep_alive_said_in_the_answer(procs):
    """An HTTP/1.0 client's connection persists only when the answer says
    so (RFC 9112 9.3): one that asked for keep-alive gets "Connection:
    keep-alive" and a second answer on the same connection; one that did
    not gets "Connection: close" and the connection's end."""
    g = procs.gate([procs.origin()], tls=False)
    with H1Conn(g.port) as c:
        for n in (10, 20):
            c.send(b"GET /size/%d HTTP/1.0\r\nHost: x\r\n"
                   b"Connection: keep-alive\r\n\r\n" % n)
            r = c.read_response()
            assert (r.status, len(r.body)) == (200, n)
            assert r.header("connection") == "keep-alive", r.headers
    with H1Conn(g.port) as c:
        c.send(b"GET /size/10 HTTP/1.0\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert (r.status, r.header("connection")) == (200, "close")
        assert c.sock.recv(1) == b""


def test_apachebench_keep_alive(procs):
    """ab -k (HTTP/1.0 with Connection: Keep-Alive, as ApacheBench load
    tests run) keeps its connections: before h2gate said keep-alive to
    HTTP/1.0 clients, ab waited for each answer's close and timed out."""
    g = procs.gate([procs.origin()], tls=False)
    p = subprocess.run(["ab", "-k", "-n", "200", "-c", "2", "-s", "5",
                        "http://%s:%d/size/100" % (HOST, g.port)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout[-500:] + p.stderr[-500:]
    field = lambda name: re.search(r"^%s:\s+(\d+)" % name, p.stdout, re.M).group(1)
    assert (field("Complete requests"), field("Failed requests"),
            field("Keep-Alive requests")) == ("200", "0", "200"), p.stdout


def test_keep_alive_two_requests(procs):
    g = procs.gate([procs.origin()], tls=False)
    with H1Conn(g.port) as c:
        for n in (10, 20):
            c.send(h1_get("/size/%d" % n))
            r = c.read_response()
            assert r.version == "HTTP/1.1" and r.status == 200
            assert len(r.body) == n


def test_pipelined_answered_in_order(procs):
    g = procs.gate([procs.origin()], tls=False)
    sizes = (1, 22, 333)
    with H1Conn(g.port) as c:
        # The slow one first: order must follow the requests, not the origin.
        c.send(h1_get("/delay/300") +
               b"".join(h1_get("/size/%d" % n) for n in sizes))
        r = c.read_response()
        assert r.status == 200
        for n in sizes:
            r = c.read_response()
            assert r.status == 200 and len(r.body) == n


def test_expect_100_continue(procs):
    g = procs.gate([procs.origin()], tls=False)
    with H1Conn(g.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
               b"Expect: 100-continue\r\n\r\n")
        r = c.read_response(timeout=5)      # before we send the body
        assert (r.version, r.status) == ("HTTP/1.1", 100)
        c.send(b"hello world")
        r = c.read_response()
        assert r.status == 200 and r.body == b"hello world"


def bodiless_then_next(g, request, method, status):
    """`request` answers without a body: the next response on the same
    connection must start right after its header block."""
    with H1Conn(g.port) as c:
        c.send(request + h1_get("/size/7"))
        r = c.read_response(method=method)
        assert r.status == status, r
        nxt = c.read_response()
        assert nxt.status == 200 and len(nxt.body) == 7
    return r


def test_head_has_no_body(procs):
    g = procs.gate([procs.origin()], tls=False)
    r = bodiless_then_next(
        g, b"HEAD /size/100 HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", 200)
    assert r.header("content-length") in (None, "100")


def test_204_has_no_body(procs):
    g = procs.gate([procs.origin()], tls=False)
    bodiless_then_next(g, h1_get("/status/204"), "GET", 204)


def test_304_has_no_body(procs):
    g = procs.gate([procs.origin()], tls=False)
    bodiless_then_next(g, h1_get("/status/304"), "GET", 304)


def test_connection_close(procs):
    g = procs.gate([procs.origin()], tls=False)
    with H1Conn(g.port) as c:
        c.send(b"GET /size/5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 5
        assert c.read_to_eof(timeout=5) == b""


def test_http10_closes(procs):
    g = procs.gate([procs.origin()], tls=False)
    with H1Conn(g.port) as c:
        c.send(b"GET /size/5 HTTP/1.0\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 5
        assert c.read_to_eof(timeout=5) == b""


def test_chunked_request_body(procs):
    g = procs.gate([procs.origin()], tls=False)
    with H1Conn(g.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == b"hello world"
        # The connection stays usable after the chunked body.
        c.send(h1_get("/size/4"))
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 4


def test_refused_request_body_drained_so_the_answer_arrives(procs):
    """h2gate refuses a request at its head (a WebSocket upgrade with a
    body: 400) while the client is still sending 4 MiB of body. h2gate
    half-closes after its answer and reads and drops the rest (lingering
    close), so the client's send completes and the whole 400 arrives, not
    a reset; the connection then ends at the client's EOF."""
    g = procs.gate([procs.origin()], tls=False)
    body = b"x" * (4 * 1024 * 1024)
    head = (b"GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nContent-Length: %d\r\n\r\n" % len(body))
    with socket.create_connection(("127.0.0.1", g.port), timeout=10) as s:
        s.sendall(head + body)          # no EPIPE: h2gate drains it
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 400 "), got[:200]
    assert got.endswith(b"\r\n\r\n400 Bad Request\n"), got[-200:]


@pytest.mark.parametrize("proto", ["http/1.1", "h2"])
def test_methods_http_parser_does_not_know(procs, backends, proto):
    """Any token is a method (RFC 9110 9.1), and http-parser knows a fixed
    list: QUERY with a body, a site's own BAN, a two-byte GO and a one-byte
    Q, pipelined
    on one connection, reach the backend as sent, bodies framed as any
    request's (they got 400 before; GO until 2026-12-07 too). A method
    that is not a token is still h2gate's 400, and reaches no backend."""
    b = backends(h1=proto == "http/1.1")
    g = procs.gate([b.spec(";;proto=%s" % proto)], tls=False)
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"QUERY /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               b"BAN /ban HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GO /go HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
               b"Q /q HTTP/1.1\r\nHost: x\r\n\r\n")
        rs = [c.read_response() for _ in range(4)]
    assert [r.status for r in rs] == [200] * 4 and rs[0].body == b"hello", rs
    if proto == "http/1.1":
        seen = [(m, p, body) for m, p, _, body, _ in b.requests]
        assert seen == [("QUERY", "/echo", b"hello"), ("BAN", "/ban", b""),
                        ("GO", "/go", b"ok"), ("Q", "/q", b"")], seen
    else:
        seen = [(dict(h)[b":method"], dict(h)[b":path"]) for h in b.requests]
        assert seen == [(b"QUERY", b"/echo"), (b"BAN", b"/ban"), (b"GO", b"/go"),
                        (b"Q", b"/q")], seen
    for bad in (b"QU@RY /x HTTP/1.1\r\nHost: x\r\n\r\n", b"G\x01 /x HTTP/1.1\r\nHost: x\r\n\r\n"):
        with H1Conn(g.port, timeout=10) as c:
            c.send(bad)
            r = c.read_response()
        assert r.status == 400 and r.header("via") is None, r
    assert len(b.requests) == 4
