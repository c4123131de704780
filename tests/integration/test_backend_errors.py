"""Backend failures become answers: 502 for a refused backend, 504 for a
slow one, and a stalled body is cut off instead of hanging the client."""

from conftest import free_port
from testlib import HOST, H1Conn, H2Client, curl_code, h1_get


# 6. backend down -------------------------------------------------------------

def test_backend_down_h2_502(procs):
    dead = free_port()   # nothing listens there
    g = procs.gate(["%s,%d" % (HOST, dead)], tls=False)
    ver, code, _, p = curl_code(
        ["--http2-prior-knowledge", "-m", "2",
         "http://%s:%d/" % (HOST, g.port)])
    assert p.returncode == 0, p.stderr   # -m 2: within 2 s
    assert (ver, code) == ("2", "502")


def test_backend_down_http11_502(procs):
    dead = free_port()
    g = procs.gate(["%s,%d" % (HOST, dead)], tls=False)
    ver, code, _, p = curl_code(
        ["--http1.1", "-m", "2", "http://%s:%d/" % (HOST, g.port)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("1.1", "502")


# 7. slow backend ---------------------------------------------------------------

def test_backend_read_timeout_h2_504(procs):
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--backend-read-timeout=1s"])
    ver, code, _, p = curl_code(
        ["--http2-prior-knowledge", "-m", "10",
         "http://%s:%d/delay/5000" % (HOST, g.port)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("2", "504")


def test_backend_read_timeout_http11_504(procs):
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--backend-read-timeout=1s"])
    ver, code, _, p = curl_code(
        ["--http1.1", "-m", "10", "http://%s:%d/delay/5000" % (HOST, g.port)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("1.1", "504")


# /stall sends its 200 header before going silent, so by the time the read
# timeout fires the status is already on its way to the client: the best the
# proxy can do (and what we check) is end the response as broken, with
# RST_STREAM on HTTP/2 or a close short of Content-Length on HTTP/1.1, well
# before the client would give up by itself.

def test_backend_stall_h2_stream_reset(procs):
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--backend-read-timeout=1s"])
    with H2Client(g.port, timeout=10) as c:
        sid = c.request("/stall")
        good = c.request("/size/10")
        r, ok = c.wait_streams([sid, good])
        assert r.reset is not None and not r.ended, r
        assert len(r.data) < 100
        assert ok.status == 200 and len(ok.data) == 10


def test_backend_stall_http11_closed(procs):
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--backend-read-timeout=1s"])
    with H1Conn(g.port, timeout=10) as c:
        c.send(h1_get("/stall"))
        head = c.read_to_eof()
        assert head.startswith(b"HTTP/1.1 200 ")
        _, _, body = head.partition(b"\r\n\r\n")
        assert len(body) < 100


def test_backend_closes_without_answer_502(procs):
    g = procs.gate([procs.origin()], tls=False)
    for args in (["--http2-prior-knowledge"], ["--http1.1"]):
        ver, code, _, p = curl_code(
            [*args, "-m", "10", "http://%s:%d/close" % (HOST, g.port)])
        assert p.returncode == 0, p.stderr
        assert code == "502", (args, ver, code)
