"""UNIX domain socket frontends: -f unix:/PATH[;no-tls][;proxyproto], as
nghttpx's --frontend reads them.

h2gate listens on sockets in conftest.py's `sockdir`, a short directory (a pytest
tmp_path can be longer than the 107 bytes sun_path holds). Clients connect
with AF_UNIX: curl --unix-socket, and testlib's H1Conn, H2Client and
tunnel_lib's clients given unix=PATH. A client on such a socket has no
address: h2gate calls it "localhost" (nghttpx's word), and its port and
the frontend's are absent ("-", JSON null) in the access log.
"""
import json
import os
import re
import signal
import socket
import stat
import threading
import time

import pytest

from conftest import IS_NGHTTPX, START_TIMEOUT, run_gate
from h2backend_lib import wait_for
from obs_lib import parse_default, wait_lines
from test_proxyproto import v1, v2
from test_reload import Reloadable
from testlib import HOST, H1Conn, H2Client, curl, h1_get
from tunnel_lib import TargetServer, TunnelH2, echo_handler, echo_rounds, h1_tunnel

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="h2gate's own messages, log lines and reload")


def accepts(path):
    """Whether something accepts connections on the socket at path."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def wait_unix(g, path):
    deadline = time.monotonic() + START_TIMEOUT
    while not accepts(path):
        assert g.alive(), g.log()
        assert time.monotonic() < deadline, "h2gate never listened on %s" % path
        time.sleep(0.02)


def logged(g, text):
    """text is in h2gate's log, or comes within START_TIMEOUT: a socket
    may accept before the line that says so is written."""
    return wait_for(lambda: text in g.log(), START_TIMEOUT)


def unix_gate(procs, path, params="no-tls", extra=(), workers=1, backend=None):
    """h2gate on `-f unix:PATH;params` (and nothing else) to an origin
    (.origin), once it accepts; TLS files given when params want TLS."""
    o = backend or procs.origin()
    args = ["-f", "unix:%s%s" % (path, ";" + params if params else ""),
            "-b", o.backend(), "-n", str(workers), *extra]
    if "no-tls" not in params:
        args += [str(procs.tls_files[0]), str(procs.tls_files[1])]
    g = procs.gate_raw(args, wait=False)
    g.origin = o
    wait_unix(g, path)
    return g


def curl_unix(path, *args):
    p = curl(["--unix-socket", str(path), *args])
    assert p.returncode == 0, p.stderr
    return p.stdout


def header_values(body, name):
    """The values of `name` in the origin's /headers answer."""
    out = []
    for line in body.decode().splitlines():
        n, _, v = line.partition(": ")
        if n.lower() == name:
            out.append(v)
    return out


def h2_unix(path, req_path, method="GET", body=None, tls=False):
    with H2Client(None, tls=tls, unix=path) as c:
        sid = c.request(req_path, method=method, body=body, authority="localhost")
        st, = c.wait_streams([sid])
        return st.status, bytes(st.data)


ROOT = b"h2gate demo origin\n"               # the origin's /
BODY = bytes(range(256)) * 1024 + b"tail"    # 256 KiB and a bit
SMALL = BODY[-16000:]                         # one DATA frame for H2Client


# --------------------------------------------------------------------------
# serving


def test_cleartext_h1_and_h2c_get_and_post(procs, sockdir):
    """HTTP/1.1 and h2c prior knowledge on a no-tls unix frontend: GETs,
    and POSTed bytes that come back whole (the origin echoes them)."""
    path = sockdir / "fe.sock"
    g = unix_gate(procs, path)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert logged(g, "listening on unix:%s (cleartext" % path), g.log()
    assert curl_unix(path, "http://localhost/") == ROOT
    assert curl_unix(path, "--http2-prior-knowledge", "-w", " %{http_version}",
                     "http://localhost/") == ROOT + b" 2"
    body_file = sockdir / "body"
    body_file.write_bytes(BODY)
    for proto in ("--http1.1", "--http2-prior-knowledge"):
        got = curl_unix(path, proto, "--data-binary", "@%s" % body_file,
                        "http://localhost/echo")
        assert got == BODY, proto
    assert h2_unix(path, "/") == (200, ROOT)
    assert h2_unix(path, "/echo", method="POST", body=SMALL) == (200, SMALL)
    with H1Conn(None, unix=path) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        r = c.read_response()
        assert (r.status, r.body) == (200, b"hello")


def test_tls(procs, sockdir):
    """A unix frontend without no-tls is TLS, with ALPN h2 and http/1.1."""
    path = sockdir / "tls.sock"
    g = unix_gate(procs, path, params="")
    assert logged(g, "listening on unix:%s (TLS" % path), g.log()
    for proto, want in (("--http1.1", "1.1"), ("--http2", "2")):
        got = curl_unix(path, "-k", proto, "-w", " %{http_version}",
                        "https://localhost/")
        assert got == ROOT + b" " + want.encode(), proto
    assert h2_unix(path, "/echo", method="POST", body=SMALL, tls=True) == (200, SMALL)
    # Cleartext on it is a failed handshake, not a request.
    p = curl(["--unix-socket", str(path), "http://localhost/"])
    assert p.returncode != 0 or not p.stdout.startswith(ROOT)


def test_two_workers_both_accept(procs, sockdir):
    """-n 2: both workers accept on the one socket (each holds a dup of
    it); the log's connection ids carry the worker's number (id % 256)."""
    path = sockdir / "fe.sock"
    g = unix_gate(procs, path, workers=2, extra=["--log-level=info"])
    seen = set()
    deadline = time.monotonic() + 20
    while seen != {0, 1} and time.monotonic() < deadline:
        # Connections opened together, so one worker busy with one
        # leaves the next to the other.
        conns = [H1Conn(None, unix=path) for _ in range(16)]
        for c in conns:
            c.send(h1_get("/"))
        for c in conns:
            assert c.read_response().status == 200
            c.close()
        seen = {int(m) % 256 for m in re.findall(r" c(\d+) accepted from localhost",
                                                   g.log())}
    assert seen == {0, 1}, g.log()[-2000:]


# --------------------------------------------------------------------------
# the client's address


def test_forwarded_fields_and_access_log(procs, sockdir):
    """The client is "localhost" in X-Forwarded-For and Forwarded (for=,
    by= with --forwarded-by=ip, no port); the access log's $remote_addr is
    localhost, $remote_port and $server_port "-" (JSON null)."""
    path, log, jlog = sockdir / "fe.sock", sockdir / "access.log", sockdir / "a.json"
    unix_gate(procs, path, extra=[
        "--add-x-forwarded-for", "--add-forwarded=for,by", "--forwarded-for=ip",
        "--forwarded-by=ip", "--accesslog-file=%s" % log,
        "--accesslog-format=$remote_addr|$remote_port|$server_port|$status|$request"])
    body = curl_unix(path, "http://localhost/headers")
    assert header_values(body, "x-forwarded-for") == ["localhost"], body
    assert header_values(body, "forwarded") == ["by=localhost;for=localhost"], body
    status, data = h2_unix(path, "/headers")
    assert status == 200 and header_values(data, "x-forwarded-for") == ["localhost"]
    lines = wait_lines(log, lambda ls: len(ls) >= 2)
    assert lines == ["localhost|-|-|200|GET /headers HTTP/1.1",
                     "localhost|-|-|200|GET /headers HTTP/2"], lines

    path2 = sockdir / "json.sock"
    unix_gate(procs, path2, extra=["--accesslog-json", "--accesslog-file=%s" % jlog])
    curl_unix(path2, "http://localhost/")
    line, = wait_lines(jlog, lambda ls: len(ls) >= 1)
    e = json.loads(line)
    assert (e["remote_addr"], e["remote_port"], e["server_port"]) == \
        ("localhost", None, None), e


def test_default_access_log_line(procs, sockdir):
    """nghttpx's default format: the line starts with localhost."""
    path, log = sockdir / "fe.sock", sockdir / "access.log"
    unix_gate(procs, path, extra=["--accesslog-file=%s" % log])
    curl_unix(path, "http://localhost/")
    line, = wait_lines(log, lambda ls: len(ls) >= 1)
    assert parse_default(line)["remote_addr"] == "localhost", line


@pytest.mark.parametrize("tls", [False, True], ids=["cleartext", "tls"])
def test_proxyproto_header_gives_the_address(procs, sockdir, tls):
    """;proxyproto on a unix frontend (a local balancer in front): the
    header's client address and port are the client's; a v2 LOCAL header
    leaves it localhost."""
    path, log = sockdir / "pp.sock", sockdir / "access.log"
    unix_gate(procs, path, params="proxyproto" + ("" if tls else ";no-tls"), extra=[
        "--add-x-forwarded-for", "--add-forwarded=for", "--forwarded-for=ip",
        "--accesslog-file=%s" % log,
        "--accesslog-format=$remote_addr|$remote_port|$server_port"])
    for header, addr in ((v1("TCP4", "203.0.113.7", "192.0.2.1", 56324, 80),
                          "203.0.113.7"),
                         (v2(0x0, 0x00), "localhost")):
        with H2Client(None, tls=tls, unix=path, preamble=header) as c:
            sid = c.request("/headers", authority="localhost")
            st, = c.wait_streams([sid])
        assert st.status == 200
        data = bytes(st.data)
        assert header_values(data, "x-forwarded-for") == [addr], data
        assert header_values(data, "forwarded") == ["for=%s" % addr], data
    lines = wait_lines(log, lambda ls: len(ls) >= 2)
    assert lines == ["203.0.113.7|56324|-", "localhost|-|-"], lines
    # No header: closed, nothing forwarded.
    with H1Conn(None, unix=path) as c:
        c.send(h1_get("/"))
        try:
            assert c.sock.recv(100) == b""
        except ConnectionResetError:
            pass


# --------------------------------------------------------------------------
# the socket file


def test_stale_socket_replaced(procs, sockdir):
    """A socket file nobody accepts on (a crashed run's) is removed and
    bound anew, with a notice."""
    path = sockdir / "fe.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        s.listen(1)
    assert stat.S_ISSOCK(os.lstat(path).st_mode) and not accepts(path)
    g = unix_gate(procs, path)
    assert curl_unix(path, "http://localhost/") == ROOT
    assert logged(g, "frontend unix:%s: removed a stale socket nobody listened on" % path), \
        g.log()


def test_live_socket_fails_the_start(procs, sockdir):
    """Another process listening on the path: the start fails with the
    message, and that process's socket stays."""
    path = sockdir / "fe.sock"
    o = procs.origin()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        s.listen(8)
        r = run_gate(["-f", "unix:%s;no-tls" % path, "-b", o.backend(), "-n1"])
        assert r.returncode == 1
        assert ("frontend unix:%s: address already in use (another process is "
                "listening there; pick another path with -f)" % path) in r.stderr, r.stderr
        assert accepts(path)


@pytest.mark.parametrize("kind", ["file", "dir", "symlink"])
def test_non_socket_path_fails_and_is_left_alone(procs, sockdir, kind):
    """A regular file, a directory or a symlink (even to a stale socket)
    at the path: the start fails and the path is untouched."""
    path = sockdir / "fe.sock"
    if kind == "file":
        path.write_bytes(b"precious")
    elif kind == "dir":
        path.mkdir()
    else:
        target = sockdir / "stale.sock"
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(target))
        path.symlink_to(target)
    before = os.lstat(path)
    o = procs.origin()
    r = run_gate(["-f", "unix:%s;no-tls" % path, "-b", o.backend(), "-n1"])
    assert r.returncode == 1
    assert "frontend unix:%s: %s exists and is not a socket (left alone" % (path, path) \
        in r.stderr, r.stderr
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == \
        (before.st_ino, before.st_mode, before.st_mtime_ns)
    if kind == "file":
        assert path.read_bytes() == b"precious"


def test_file_removed_at_exit(procs, sockdir):
    """SIGTERM: h2gate exits and its socket file is gone; a file someone
    else put at the path meanwhile is not h2gate's and stays."""
    path, other = sockdir / "fe.sock", sockdir / "other.sock"
    g = unix_gate(procs, path)
    g2 = unix_gate(procs, other, backend=g.origin)
    assert curl_unix(path, "http://localhost/") == ROOT
    g.signal(signal.SIGTERM)
    assert g.popen.wait(timeout=15) == 0
    assert not path.exists()

    os.unlink(other)
    other.write_bytes(b"not h2gate's")
    g2.signal(signal.SIGTERM)
    assert g2.popen.wait(timeout=15) == 0
    assert other.read_bytes() == b"not h2gate's"


def test_file_removed_when_a_later_frontend_fails(procs, sockdir):
    """The start fails on a second frontend: the first one's socket file,
    already made, is removed."""
    a, b = sockdir / "a.sock", sockdir / "b.sock"
    b.write_bytes(b"x")
    o = procs.origin()
    r = run_gate(["-f", "unix:%s;no-tls" % a, "-f", "unix:%s;no-tls" % b,
                  "-b", o.backend(), "-n2"])
    assert r.returncode == 1 and "is not a socket" in r.stderr
    assert not a.exists() and b.read_bytes() == b"x"


# --------------------------------------------------------------------------
# reload


def _loop(path, stop, errors, done):
    n = 0
    while not stop.is_set():
        try:
            with H1Conn(None, unix=path, timeout=10) as c:
                c.send(h1_get("/loop/%d" % n))
                r = c.read_response()
                if r.status != 200:
                    errors.append(r.status)
        except OSError as e:
            errors.append(repr(e))
        n += 1
    done.append(n)


def test_reload_keeps_adds_and_removes(procs, tmp_path, sockdir, backends):
    """A unix frontend in both generations keeps its socket (the same
    file, clients connecting in a loop through the reloads are all
    served); a new one opens; a removed one's file goes at once, while a
    connection it accepted before finishes."""
    a, b = sockdir / "a.sock", sockdir / "b.sock"
    be = backends()
    fe = "frontend=unix:%s;no-tls\n"
    rest = "workers=2\nbackend=%s,%d;;proto=h2\n" % (HOST, be.port)
    r = Reloadable(procs, tmp_path, fe % a + rest, frontends=False)
    wait_unix(r.g, a)
    ino = os.lstat(a).st_ino
    stop, errors, done = threading.Event(), [], []
    clients = [threading.Thread(target=_loop, args=(a, stop, errors, done))
               for _ in range(3)]
    for t in clients:
        t.start()
    try:
        for i in range(7):
            r.reload(fe % a + rest if i % 2 else fe % a + fe % b + rest)
            time.sleep(0.05)
        assert accepts(b)
    finally:
        stop.set()
        for t in clients:
            t.join(30)
    assert errors == [] and sum(done) > 6
    assert os.lstat(a).st_ino == ino

    keep = H1Conn(None, unix=a)
    keep.send(h1_get("/k1"))
    assert keep.read_response().status == 200
    r.reload(fe % b + rest)
    assert not a.exists() and accepts(b)
    keep.send(h1_get("/k2"))
    assert keep.read_response().status == 200
    keep.close()
    assert h2_unix(b, "/b")[0] == 200

    # A reload that cannot bind a new one changes nothing.
    bad = sockdir / "bad.sock"
    bad.write_bytes(b"x")
    r.reload_fails(fe % b + fe % bad + rest)
    assert "is not a socket" in r.g.log() and accepts(b)
    assert bad.read_bytes() == b"x"


# --------------------------------------------------------------------------
# CONNECT


def test_connect_tunnels(procs, sockdir):
    """CONNECT through a unix frontend: an HTTP/1.1 tunnel (spliced, pipes
    between the unix socket and the target's) and an HTTP/2 one move a
    MiB each way intact."""
    target = TargetServer(echo_handler)
    try:
        path = sockdir / "fe.sock"
        unix_gate(procs, path, extra=["--connect-allow=%s:%d" % (HOST, target.port)])
        auth = "%s:%d" % (HOST, target.port)
        c, head = h1_tunnel(None, auth, unix=path)
        assert head.status == 200
        blob = os.urandom(1 << 20)
        c.send(blob)
        assert c.recv_some(len(blob), timeout=20) == blob
        c.close()

        with TunnelH2(None, unix=path) as t:
            sid = t.open_wait(auth)
            assert t.streams[sid].status == 200
            assert echo_rounds(t, sid, 8, 128 * 1024) > 1 << 20
    finally:
        target.stop()
