"""Large request bodies echoed end to end, and many streams on one
HTTP/2 connection."""

import hashlib
import os
import socket
import threading
import time

import h2.settings
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


# 7. a chunked response read in place ------------------------------------------

# Chunk sizes around the 16 KiB read and block size (one byte each side),
# tiny ones between, one bigger than a block, with and without extensions.
CHUNKS = [1, 7, 16383, 16384, 16385, 3, 4095, 4097, 100000, 2, 65536, 1]


def _chunked_response():
    """A chunked 200 whose body bytes differ everywhere, with trailers."""
    body = bytes((i * 31 + i // 251) & 0xFF for i in range(sum(CHUNKS)))
    out, pos = [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"], 0
    for i, n in enumerate(CHUNKS):
        ext = b";ext=%d" % i if i % 3 == 0 else b""
        out.append(b"%x%s\r\n%s\r\n" % (n, ext, body[pos:pos + n]))
        pos += n
    out.append(b"0\r\nx-sum: %s\r\n\r\n" % hashlib.sha256(body).hexdigest().encode())
    return body, b"".join(out)


@pytest.fixture
def chunky_backend():
    """An HTTP/1.1 backend answering every request with _chunked_response,
    written in pieces that end anywhere (mid chunk-size line, mid CRLF,
    mid body), a short pause between them so the proxy reads each apart."""
    body, wire = _chunked_response()
    ls = socket.socket()
    ls.bind((HOST, 0))
    ls.listen(8)
    stop = threading.Event()

    def serve(s):
        with s:
            buf = b""
            while not stop.is_set():
                while b"\r\n\r\n" not in buf:
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                buf = buf[buf.index(b"\r\n\r\n") + 4:]
                pos, step = 0, 1
                while pos < len(wire):
                    s.sendall(wire[pos:pos + step])
                    pos += step
                    step = step * 7 % 40009 + 1
                    time.sleep(0.001)

    def accept():
        while not stop.is_set():
            try:
                s, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(s,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield ls.getsockname()[1], body
    stop.set()
    ls.close()
    t.join(5)


def test_chunked_response_bytes_intact_h2_and_h1(procs, chunky_backend, tmp_path):
    """Body bytes of a chunked HTTP/1.1 response are read into the
    exchange's response blocks in place and the chunk framing between them
    squeezed out: whatever the chunk and read boundaries, both an HTTP/2
    and an HTTP/1.1 client get exactly the body, and the trailer."""
    port, body = chunky_backend
    g = procs.gate(["%s,%d" % (HOST, port)], tls=False)
    with H2Client(g.port, timeout=30) as c:
        for _ in range(2):  # the second on a reused backend connection
            sid = c.request("/chunky")
            r, = c.wait_streams([sid])
            assert r.status == 200 and r.ended and r.reset is None, r
            assert len(r.data) == len(body)
            assert bytes(r.data) == body
            assert (b"x-sum", hashlib.sha256(body).hexdigest().encode()) in r.trailers
    out = tmp_path / "chunky.out"
    p = curl(["--http1.1", "-o", str(out), "-w", "%{http_code}",
              "http://%s:%d/chunky" % (HOST, g.port)])
    assert p.returncode == 0 and p.stdout == b"200", p
    assert out.read_bytes() == body


# 8. TLS writes that block, with full and short frames mixed ------------------

def size_body(n):
    """The origin's /size/N body."""
    block = b"".join(b"%015x\n" % i for i in range(0, 65536, 16))
    return (block * (n // len(block) + 1))[:n]


def test_tls_blocked_writes_resume_with_every_byte(procs):
    """Over TLS, full DATA frames go to SSL_write in place and short
    blocks (HEADERS, short frames) are gathered; a write the socket
    refuses is retried with at least the bytes it offered (BoringSSL fails
    the connection otherwise). A client that opens wide windows, asks for
    big and small bodies on one connection and stops reading twice gets
    every byte of every body and no error."""
    g = procs.gate([procs.origin()], plain=False)
    big, small = 1 << 20, [1, 100, 5000, 16375, 16376, 40000]
    with H2Client(g.tls_port, tls=True, timeout=60) as c:
        c.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2 ** 31 - 1})
        c.conn.increment_flow_control_window(2 ** 30)
        c.flush()
        sizes = {}
        for round_ in range(2):
            for i in range(4):
                sizes[c.request("/size/%d" % big)] = big
                for n in small:
                    sizes[c.request("/size/%d" % n)] = n
            time.sleep(0.5)  # h2gate fills the socket and meets EAGAIN
        results = c.wait_streams(list(sizes))
        for sid, r in zip(sizes, results):
            assert r.status == 200 and r.ended and r.reset is None, (sid, r)
            assert bytes(r.data) == size_body(sizes[sid]), (sid, sizes[sid], len(r.data))
        assert c.goaway is None
