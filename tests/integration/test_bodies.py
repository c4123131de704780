"""Large request bodies echoed end to end, and many streams on one
HTTP/2 connection."""

import hashlib
import os

import pytest

from testlib import HOST, H2Client, curl

BODY_LEN = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("body") / "upload.bin"
    data = os.urandom(BODY_LEN)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def post_echo(args, url, big_file, tmp_path, method="POST"):
    path, digest = big_file
    out = tmp_path / "echo.out"
    p = curl([*args, "-X", method, "--data-binary", "@%s" % path,
              "-H", "Content-Type: application/octet-stream",
              "-o", str(out), "-w", "%{http_version} %{http_code}", url],
             timeout=120)
    assert p.returncode == 0, p.stderr
    assert out.stat().st_size == BODY_LEN
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    return p.stdout.decode()


# 4. 8 MiB echo ---------------------------------------------------------------

def test_post_8mib_h2c(procs, big_file, tmp_path):
    g = procs.gate([procs.origin()], tls=False)
    assert post_echo(["--http2-prior-knowledge"],
                     "http://%s:%d/echo" % (HOST, g.port),
                     big_file, tmp_path) == "2 200"


def test_put_8mib_h2_tls(procs, big_file, tmp_path):
    g = procs.gate([procs.origin()])
    assert post_echo(["-k", "--http2"],
                     "https://%s:%d/echo" % (HOST, g.tls_port),
                     big_file, tmp_path, method="PUT") == "2 200"


def test_post_8mib_http11(procs, big_file, tmp_path):
    g = procs.gate([procs.origin()], tls=False)
    assert post_echo(["--http1.1"], "http://%s:%d/echo" % (HOST, g.port),
                     big_file, tmp_path) == "1.1 200"


def test_post_8mib_http11_chunked(procs, big_file, tmp_path):
    g = procs.gate([procs.origin()], tls=False)
    assert post_echo(["--http1.1", "-H", "Transfer-Encoding: chunked"],
                     "http://%s:%d/echo" % (HOST, g.port),
                     big_file, tmp_path) == "1.1 200"


# 5. 100 concurrent streams ---------------------------------------------------

def test_100_concurrent_streams(procs):
    g = procs.gate([procs.origin()], tls=False)
    with H2Client(g.port, timeout=30) as c:
        sids = [c.request("/size/%d" % (1000 + i)) for i in range(100)]
        results = c.wait_streams(sids)
        for i, r in enumerate(results):
            assert r.status == 200 and r.ended and r.reset is None, (i, r)
            assert len(r.data) == 1000 + i, (i, r)
        assert c.goaway is None


# 6. content-length as the last request field ---------------------------------

def test_h2_content_length_read_to_its_length(procs):
    """An HTTP/2 request's content-length reaches the backend as the
    client sent it when it is the last field of the block. h2gate once
    read it with strtoll() from its copy of the fields, where nothing
    ends the value: the heap bytes after it, digits left by an earlier,
    longer request, were read as more of the number ("5" became "57..."),
    and the backend waited for body bytes that never came (a 504 after
    --backend-read-timeout, the 200 head already sent). Each request here
    pads fewer digits than the one before, so its content-length ends
    where earlier requests, in memory freed for it, had digits. The
    origin echoes with the Content-Length it was sent."""
    g = procs.gate([procs.origin()], tls=False)
    body = b"hello"
    with H2Client(g.port) as c:
        for pad in range(400, 16, -16):
            sid = c.request("/echo", method="POST", body=body,
                            extra=[("x-pad", "7" * pad),
                                   ("content-length", str(len(body)))])
            st = c.streams[sid]
            c.wait(lambda: st.headers is not None or st.done)
            fields = dict(st.headers or ())
            assert st.status == 200, (pad, st)
            assert fields.get(b"content-length") == b"5", (pad, st.headers)
            c.wait_streams([sid])
            assert st.ended and st.reset is None and bytes(st.data) == body, (pad, st)
