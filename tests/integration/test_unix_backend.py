"""UNIX domain socket backends: -b unix:/PATH[;PATTERNS][;PARAMS], as
nghttpx's --backend reads them.

The origins listen on sockets in conftest.py's `sockdir`, a short directory (a
pytest tmp_path can be longer than the 107 bytes sun_path holds):
build/origin --unix PATH for HTTP/1.1 and h2c, h2backend_lib's python-h2
Backend(unix=PATH) where the test needs what the backend saw. Every
process is started through `procs` and stopped by its PID.
"""
import collections
import json
import signal
import socket
import time
from pathlib import Path

import pytest

from conftest import IS_NGHTTPX, ORIGIN_BIN, START_TIMEOUT, Proc, run_gate
from h2backend_lib import make_ca, make_cert, wait_for
from obs_lib import gate_with_admin, scrape, settle, stats_json, wait_lines
from testlib import HOST, H1Conn, H2Client, curl

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="origin --unix and h2gate's own log and metric names")


def unix_origin(procs, path, count=False):
    """build/origin on the UNIX domain socket `path`, once it accepts."""
    argv = [str(ORIGIN_BIN), "--unix", str(path)]
    count_file = None
    if count:
        count_file = procs.tmp / ("origin-%d.count" % len(procs.all))
        argv += ["--count-file", str(count_file)]
    p = Proc("origin", argv, procs._log("origin"))
    p.count_file = count_file
    procs.all.append(p)
    deadline = time.monotonic() + START_TIMEOUT
    while not path.exists():
        assert p.alive(), p.log()
        assert time.monotonic() < deadline, "origin never listened on %s" % path
        time.sleep(0.02)
    return p


def accepted(origin):
    text = Path(origin.count_file).read_text().strip()
    return int(text) if text else 0


def h2_call(port, path, method="GET", body=None, authority="localhost"):
    with H2Client(port) as c:
        sid = c.request(path, method=method, body=body, authority=authority)
        st, = c.wait_streams([sid])
        return st.status, bytes(st.data)


def h1_call(port, path, method="GET", body=b"", host="localhost"):
    with H1Conn(port) as c:
        head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
        if body:
            head += "Content-Length: %d\r\n" % len(body)
        c.send(head.encode() + b"\r\n" + body)
        r = c.read_response(method)
        return r.status, r.body


def pattern_bytes(n):
    """What origin's /size/N sends: 16-byte lines of the offset in a
    64 KiB pattern, repeated."""
    out = b"".join(b"%015x\n" % (i % 65536) for i in range(0, n + 16, 16))
    return out[:n]


def whoami(g, n, path="/whoami"):
    urls = ["http://%s:%d%s" % (HOST, g.port, path)] * n
    r = curl(["--http1.1", "-s", *urls])
    assert r.returncode == 0, r.stderr
    return collections.Counter(r.stdout.decode().split())


# --------------------------------------------------------------------------
# requests through a socket


def test_h1_backend_from_h2c_and_h1_clients(procs, sockdir):
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    g = procs.gate(["unix:%s" % sock], tls=False)
    # H2Client sends a body in one DATA frame: 15,360 bytes, every value.
    small, big = bytes(range(256)) * 60, bytes(range(256)) * 1000
    assert h2_call(g.port, "/whoami") == (200, ("unix:%s\n" % sock).encode())
    assert h2_call(g.port, "/size/100000") == (200, pattern_bytes(100000))
    assert h2_call(g.port, "/echo", "POST", small) == (200, small)
    assert h1_call(g.port, "/size/70000") == (200, pattern_bytes(70000))
    assert h1_call(g.port, "/echo", "POST", big) == (200, big)
    # No Host rewrite: the backend sees the client's.
    status, seen = h1_call(g.port, "/headers", host="app.example")
    assert status == 200 and b"host: app.example\n" in seen.lower(), seen
    status, seen = h2_call(g.port, "/headers", authority="app.example")
    assert status == 200 and b"host: app.example\n" in seen, seen



def test_host_rewrite_names_a_socket_localhost(procs, sockdir):
    # --host-rewrite: a socket has no name, so its Host is nghttpx's
    # "localhost", from either client kind.
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    g = procs.gate(["unix:%s" % sock], tls=False, extra=["--host-rewrite"])
    status, seen = h1_call(g.port, "/headers", host="app.example")
    assert status == 200 and b"host: localhost\n" in seen.lower(), seen
    status, seen = h2_call(g.port, "/headers", authority="app.example")
    assert status == 200 and b"host: localhost\n" in seen, seen

def test_h2_backend(procs, sockdir, backends):
    """proto=h2 over a socket: python-h2 sees the client's :authority and
    one connection for every request."""
    b = backends(unix=sockdir / "h2.sock")
    g = procs.gate([b.spec(";;proto=h2")], tls=False)
    body = b"x" * 16000
    for i in range(3):
        assert h2_call(g.port, "/echo", "POST", body, authority="h2.example") == (200, body)
    assert h1_call(g.port, "/plain", host="h2.example") == (200, b"ok\n")
    assert b.conns == 1
    authorities = [v for hs in b.requests for n, v in hs if n in (b":authority", ":authority")]
    assert authorities and all(a in (b"h2.example", "h2.example") for a in authorities), \
        authorities


def test_h2_origin_over_socket(procs, sockdir):
    """build/origin's h2c (prior knowledge) over a socket, GET and POST."""
    sock = sockdir / "o.sock"
    o = unix_origin(procs, sock, count=True)
    g = procs.gate(["unix:%s;;proto=h2" % sock], tls=False)
    assert h2_call(g.port, "/size/50000") == (200, pattern_bytes(50000))
    assert h1_call(g.port, "/echo", "POST", b"hello" * 1000) == (200, b"hello" * 1000)
    assert accepted(o) == 1


def test_tls_over_socket(procs, sockdir, backends, tmp_path):
    """;tls;sni=NAME: TLS over the socket, the certificate checked against
    NAME; another name fails the handshake (502)."""
    ca = make_ca(tmp_path)
    b = backends(unix=sockdir / "tls.sock", tls=make_cert(tmp_path, ca))
    g = procs.gate([b.spec(";;proto=h2;tls;sni=localhost"),
                    b.spec(";/wrong/;proto=h2;tls;sni=wrong.example")],
                   tls=False, extra=["--cacert=%s" % ca[1]])
    assert h2_call(g.port, "/echo", "POST", b"over tls") == (200, b"over tls")
    status, _ = h2_call(g.port, "/wrong/x")
    assert status == 502
    assert wait_for(lambda: "wrong.example" in g.log() or "certificate" in g.log()), g.log()


# --------------------------------------------------------------------------
# failures


def test_missing_socket_is_502_and_the_connection_lives(procs, sockdir):
    """No such path, and a path nobody listens on, fail as a refused TCP
    connect does: 502 for that stream; the other streams of the client's
    connection, and the connection, go on."""
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    deaf = sockdir / "deaf.sock"
    deaf_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deaf_sock.bind(str(deaf))          # bound, never listening: ECONNREFUSED
    try:
        g = procs.gate(["unix:%s" % sock,
                        "unix:%s;/missing/" % (sockdir / "none.sock"),
                        "unix:%s;/deaf/" % deaf,
                        "unix:%s;/h2/;proto=h2" % (sockdir / "none.sock")], tls=False,
                       extra=["--log-level=INFO"])
        with H2Client(g.port) as c:
            sids = [c.request("/missing/a"), c.request("/whoami"), c.request("/deaf/b"),
                    c.request("/size/1000"), c.request("/h2/c")]
            st = c.wait_streams(sids)
            assert [s.status for s in st] == [502, 200, 502, 200, 502]
            assert bytes(st[3].data) == pattern_bytes(1000)
            again = c.request("/whoami")
            assert c.wait_streams([again])[0].status == 200
        with H1Conn(g.port) as c:
            c.send(b"GET /missing/x HTTP/1.1\r\nHost: a\r\n\r\n"
                   b"GET /whoami HTTP/1.1\r\nHost: a\r\n\r\n")
            assert c.read_response().status == 502
            r = c.read_response()
            assert (r.status, r.body) == (200, ("unix:%s\n" % sock).encode())
        log = g.log()
        assert "backend unix:%s: connect: No such file or directory" % (sockdir / "none.sock") \
            in log, log
        assert "backend unix:%s: connect: Connection refused" % deaf in log, log
        assert ".sock:0" not in log and ".sock,0" not in log, log
    finally:
        deaf_sock.close()


def test_full_backlog_is_a_failed_connect_not_a_hang(procs, sockdir):
    """A listener whose backlog is full makes a non-blocking AF_UNIX
    connect fail with EAGAIN at once: 502 for that reason, not a wait for
    the connect timeout (10 minutes here: a wait would outlast the test
    clients' own 10-second timeouts)."""
    full = sockdir / "full.sock"
    lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsn.bind(str(full))
    lsn.listen(0)                      # one connection waits, never accepted
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    filler.setblocking(False)
    try:
        filler.connect(str(full))
        g = procs.gate(["unix:%s" % full], tls=False,
                       extra=["--log-level=INFO", "--backend-connect-timeout=10m"])
        assert h2_call(g.port, "/x")[0] == 502
        assert h1_call(g.port, "/y")[0] == 502
        assert "connect: Resource temporarily unavailable" in g.log(), g.log()
    finally:
        filler.close()
        lsn.close()


# --------------------------------------------------------------------------
# groups and routes


def test_group_of_tcp_and_unix_members(procs, sockdir):
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    tcp = procs.origin()
    g = procs.gate([tcp, "unix:%s" % sock], tls=False)
    assert whoami(g, 20) == {"%s:%d" % (HOST, tcp.port): 10, "unix:%s" % sock: 10}


@pytest.mark.parametrize("lb", ["least-outstanding", "peak-ewma", "affinity"])
def test_group_policies_take_a_unix_member(procs, sockdir, lb):
    """Every policy picks socket members too (affinity=ip hashes the
    path: a client keeps its member)."""
    socks = [sockdir / ("o%d.sock" % i) for i in range(2)]
    for s in socks:
        unix_origin(procs, s)
    params = "affinity=ip" if lb == "affinity" else "lb=" + lb
    g = procs.gate(["unix:%s;/;%s" % (s, params) for s in socks], tls=False)
    seen = whoami(g, 20)
    assert sum(seen.values()) == 20
    assert set(seen) <= {"unix:%s" % s for s in socks}, seen
    if lb == "affinity":
        assert len(seen) == 1, seen


def test_affinity_cookie_tells_unix_members_apart(procs, sockdir):
    """Each socket member has a cookie value of its own (a hash of its
    path), and the cookie keeps a client on it."""
    socks = [sockdir / ("o%d.sock" % i) for i in range(2)]
    for s in socks:
        unix_origin(procs, s)
    g = procs.gate(["unix:%s;/;affinity=cookie;affinity-cookie-name=lb" % s for s in socks],
                   tls=False)
    cookies = {}
    for _ in range(4):
        with H1Conn(g.port) as c:
            c.send(b"GET /whoami HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            cookies[r.body.decode().strip()] = r.header("set-cookie")
    assert set(cookies) == {"unix:%s" % s for s in socks}, cookies
    assert len(set(cookies.values())) == 2, cookies
    for member, cookie in cookies.items():
        for _ in range(3):
            with H1Conn(g.port) as c:
                c.send(b"GET /whoami HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n"
                       % cookie.encode())
                assert c.read_response().body.decode().strip() == member


def test_failed_unix_member_retries_on_the_next(procs, sockdir):
    """A member whose socket is missing: every request goes on to the TCP
    member (the retry a refused TCP connect gets), and with fall=1 passive
    health marks it down."""
    tcp = procs.origin()
    missing = sockdir / "gone.sock"
    g = gate_with_admin(procs, ["%s,%d;/;fall=1" % (HOST, tcp.port),
                                "unix:%s;/;fall=1" % missing], tls=False)
    assert whoami(g, 6) == {"%s:%d" % (HOST, tcp.port): 6}
    snap = scrape(g.admin_port)
    label = "unix:%s" % missing
    assert snap.get("h2gate_backend_connect_failures_total", backend=label) >= 1, snap.text
    assert snap.get("h2gate_backend_retries_total", backend=label) >= 1, snap.text
    assert snap.get("h2gate_backend_up", backend=label) == 0, snap.text


def test_patterns_route_to_a_unix_backend(procs, sockdir):
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    tcp = procs.origin()
    g = procs.gate([tcp, "unix:%s;/u/:sock.example/" % sock], tls=False)
    me = ("unix:%s\n" % sock).encode()
    assert h2_call(g.port, "/whoami") == (200, ("%s:%d\n" % (HOST, tcp.port)).encode())
    assert h2_call(g.port, "/whoami", authority="sock.example") == (200, me)
    assert h1_call(g.port, "/whoami", host="sock.example:8080") == (200, me)
    # /u/ goes to the socket, whose origin has no /u/whoami.
    assert h1_call(g.port, "/u/whoami")[0] == 404
    assert h2_call(g.port, "/u/size/10") == (404, b"404 Not Found\n")


def test_health_probe_over_socket(procs, sockdir):
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    missing = sockdir / "none.sock"
    g = gate_with_admin(procs, ["unix:%s;/;health=/whoami" % sock,
                                "unix:%s;/;health=/whoami" % missing], tls=False,
                        extra=["--backend-health-interval=200ms"])

    def up(path):
        return scrape(g.admin_port).get("h2gate_backend_up", backend="unix:%s" % path)
    assert wait_for(lambda: up(sock) == 1 and up(missing) == 0), scrape(g.admin_port).text
    assert whoami(g, 4) == {"unix:%s" % sock: 4}


# --------------------------------------------------------------------------
# how a socket backend is named


def test_access_log_metrics_and_stats_name_the_socket(procs, sockdir, tmp_path):
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    log = tmp_path / "access.log"
    g = gate_with_admin(procs, ["unix:%s" % sock], tls=False,
                        extra=["--accesslog-file=%s" % log,
                               "--accesslog-format=$status $backend_host $backend_port"])
    for _ in range(3):
        assert h2_call(g.port, "/whoami")[0] == 200
    lines = wait_lines(log, lambda ls: len(ls) == 3)
    assert lines == ["200 unix:%s -" % sock] * 3
    label = "unix:%s" % sock
    snap = settle(g.admin_port)
    assert snap.get("h2gate_backend_requests_total", backend=label) == 3, snap.text
    assert snap.label_values("h2gate_backend_requests_total", "backend") == [label]
    assert json.dumps(label) in json.dumps(stats_json(g.admin_port))


def test_json_access_log_names_the_socket(procs, sockdir, tmp_path):
    sock = sockdir / "o.sock"
    unix_origin(procs, sock)
    log = tmp_path / "access.json"
    g = procs.gate(["unix:%s" % sock], tls=False,
                   extra=["--accesslog-file=%s" % log, "--accesslog-json"])
    assert h1_call(g.port, "/whoami")[0] == 200
    entry = json.loads(wait_lines(log, lambda ls: len(ls) == 1)[0])
    assert entry["backend_host"] == "unix:%s" % sock
    assert entry["backend_port"] is None


# --------------------------------------------------------------------------
# configuration


@pytest.mark.parametrize("spec,msg", [
    ("unix:run/app.sock", "UNIX domain socket path 'run/app.sock' is not absolute"),
    ("unix:", "unix: needs a socket path"),
    ("unix:/" + "a" * 107, "is too long: 108 bytes, at most 107"),
    ("unix:/run/app.sock;;dns", "dns cannot be used with a UNIX domain socket backend"),
    ("unix:/run/app.sock;;tls", "tls over a UNIX domain socket needs sni=NAME"),
])
def test_bad_unix_specs_fail_the_start(spec, msg):
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", spec])
    assert r.returncode != 0
    assert msg in r.stderr, r.stderr


def test_reload_keeps_an_unchanged_socket_backend(procs, sockdir, tmp_path):
    """Across a SIGHUP that adds a route, the socket backend keeps its
    slot: its counters go on, and its kept-alive connection is reused."""
    sock = sockdir / "o.sock"
    o = unix_origin(procs, sock, count=True)
    conf = tmp_path / "h2gate.conf"
    conf.write_text("backend=unix:%s;;\n" % sock)
    g = gate_with_admin(procs, (), tls=False,
                        extra=["--conf=%s" % conf, "--backend-keep-alive-timeout=60s"])
    label = "unix:%s" % sock
    for _ in range(3):
        assert h1_call(g.port, "/whoami")[0] == 200
    assert accepted(o) == 1

    conf.write_text("backend=unix:%s;;\nbackend=unix:%s;/new/;\n"
                    % (sock, sockdir / "new.sock"))
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(g.admin_port).get("h2gate_config_generation") == 2), \
        g.log()[-3000:]
    for _ in range(2):
        assert h1_call(g.port, "/whoami")[0] == 200
    assert h1_call(g.port, "/new/x")[0] == 502
    snap = settle(g.admin_port)
    assert snap.get("h2gate_backend_requests_total", backend=label) == 5, snap.text
    assert accepted(o) == 1
