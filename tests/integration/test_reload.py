"""Reload without a restart (issue 11): SIGHUP re-reads --conf and the
workers switch to the new generation; what started before keeps the
generation it started with.

Each test writes its own --conf file, starts h2gate with an admin
listener, edits the file and sends a real SIGHUP. A reload is over when
/metrics says the new generation is in force on every worker
(h2gate_config_generation); a refused one when the failure counter moves.
Backends are python-h2 servers (h2backend_lib) that record every request,
so each assertion names the backend that answered. Loopback only.
"""

import http.client
import json
import signal
import struct
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import IS_NGHTTPX, free_port, run_gate
from h2backend_lib import wait_for
from obs_lib import admin_request, scrape
from testlib import HOST, H1Conn, H2Client, h1_get, h2load
from tunnel_lib import TargetServer, echo_handler, h1_tunnel
from ws_lib import OP_BIN, OP_CLOSE, OP_TEXT, WSClient, ws_backend

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="nghttpx reloads by forking a new process generation")

WAIT = 15.0


# --------------------------------------------------------------------------
# helpers


class Reloadable:
    """An h2gate run with --conf=PATH and an admin listener; .write()
    replaces the file, .reload() sends SIGHUP and waits for the next
    generation, .reload_fails() for the failure counter to move."""

    def __init__(self, procs, tmp_path, conf, extra=(), frontends=True,
                 tls=False, workers=1):
        self.path = tmp_path / "h2gate.conf"
        self.path.write_text(conf)
        self.admin_port = free_port()
        args = ["--conf=%s" % self.path,
                "--admin=%s,%d" % (HOST, self.admin_port), *extra]
        if frontends:
            # On the command line, so they win over the file's.
            self.g = procs.gate((), extra=args, tls=tls, workers=workers)
        else:
            self.g = procs.gate_raw(args)
        self.g.wait_port(self.admin_port)
        self.port, self.tls_port = self.g.port, self.g.tls_port
        self.gen = 1
        assert self.metric("h2gate_config_generation") == 1

    def metric(self, name, **labels):
        return scrape(self.admin_port).get(name, **labels)

    def write(self, conf):
        self.path.write_text(conf)

    def reload(self, conf=None):
        if conf is not None:
            self.write(conf)
        self.g.signal(signal.SIGHUP)
        self.gen += 1
        assert wait_for(lambda: self.metric("h2gate_config_generation")
                        == self.gen, WAIT), self.g.log()[-3000:]

    def reload_fails(self, conf=None):
        if conf is not None:
            self.write(conf)
        before = self.metric("h2gate_config_reload_failures_total")
        self.g.signal(signal.SIGHUP)
        assert wait_for(lambda: self.metric(
            "h2gate_config_reload_failures_total") == before + 1, WAIT), \
            self.g.log()[-3000:]
        assert self.metric("h2gate_config_generation") == self.gen


def paths(backend):
    """The :path of every request a python-h2 backend saw, in order."""
    out = []
    for hs in backend.requests:
        for n, v in hs:
            n = n.decode() if isinstance(n, bytes) else n
            if n == ":path":
                out.append(v.decode() if isinstance(v, bytes) else v)
    return out


def be_line(b, pattern=""):
    return "backend=%s,%d;%s;proto=h2\n" % (HOST, b.port, pattern)


def h2_get(port, path):
    with H2Client(port) as c:
        sid = c.request(path)
        st, = c.wait_streams([sid])
        return st.status, bytes(st.data)


# --------------------------------------------------------------------------
# routes and backends


def test_new_routes_in_flight_and_old_connection(procs, tmp_path, backends):
    """A backend and a route change. New connections follow the new
    routes; a request in flight through the switch completes with 200; an
    HTTP/2 connection opened before keeps working and its new streams use
    the new routes (the README says so)."""
    a, b = backends(), backends()
    r = Reloadable(procs, tmp_path, be_line(a))
    assert h2_get(r.port, "/one") == (200, b"ok\n")
    assert paths(a) == ["/one"]

    old = H2Client(r.port)
    sid = old.request("/before")
    assert old.wait_streams([sid])[0].status == 200
    slow = old.request("/delay/1500")          # in flight through the reload
    assert wait_for(lambda: "/delay/1500" in paths(a))

    r.reload(be_line(b) + be_line(a, "/a/"))
    assert h2_get(r.port, "/two") == (200, b"ok\n")
    assert h2_get(r.port, "/a/x") == (200, b"ok\n")
    assert paths(b) == ["/two"] and paths(a)[-1] == "/a/x"

    st, = old.wait_streams([slow])
    assert (st.status, bytes(st.data)) == (200, b"ok\n")
    s1, s2 = old.request("/three"), old.request("/a/y")
    assert [x.status for x in old.wait_streams([s1, s2])] == [200, 200]
    assert paths(b)[-1] == "/three" and paths(a)[-1] == "/a/y"
    old.close()

    # HTTP/1.1 keep-alive opened before: its next request routes anew too.
    with H1Conn(r.port) as c:
        c.send(h1_get("/h1-before"))
        assert c.read_response().status == 200
        r.reload(be_line(a))
        c.send(h1_get("/h1-after"))
        assert c.read_response().status == 200
    assert paths(b)[-1] == "/h1-before" and paths(a)[-1] == "/h1-after"


def authority(backend):
    """The authority of the last request a backend saw (HTTP/1.1's Host)."""
    last = backend.requests[-1]
    if isinstance(last, tuple) and isinstance(last[2], dict):
        return last[2].get("host")
    return dict(last).get(b":authority", b"").decode()


def location(st):
    return dict(st.headers).get(b"location", b"").decode()


@pytest.mark.parametrize("be_kind", ["h1", "h2"])
def test_waiting_request_keeps_its_generations_options(procs, tmp_path, backends,
                                                      be_kind):
    """A request that waits for a backend connection or stream through a
    reload is sent with the options of the generation it started in, as
    it is routed by it: here --host-rewrite is turned on while it waits
    behind an upload that holds the only connection (stream). Its backend
    gets the client's authority, and the Location naming the backend
    passes as it came (the Location rewrite reads that generation too); a
    request after the reload gets the backend's own name, and the same
    Location comes back as the client's authority."""
    h1 = be_kind == "h1"
    b = backends(h1=True) if h1 else backends(max_streams=1)
    own = "%s:%d" % (HOST, b.port)
    bound = "backend-http1-connections-per-host" if h1 else "backend-connections-per-host"
    conf = "backend=%s\n%s=1\n" % (b.spec("" if h1 else ";;proto=h2"), bound)
    r = Reloadable(procs, tmp_path, conf)
    loc = [("x-location", "http://%s/login" % own)]
    with H2Client(r.port) as c:
        upload = c.request("/echo", method="POST", extra=[("content-length", "10")],
                           end_stream=False)
        c.send_body(upload, b"12345", end_stream=False)
        waiting = c.request("/redirect", authority="app.example", extra=loc)
        assert wait_for(lambda: r.metric("h2gate_backend_queue_length", backend=own) == 1,
                        WAIT)
        r.reload(conf + "host-rewrite=yes\n")
        c.send_body(upload, b"67890")
        st_up, st = c.wait_streams([upload, waiting])
        assert (st_up.status, bytes(st_up.data)) == (200, b"1234567890")
        assert (st.status, location(st)) == (302, "http://%s/login" % own)
        assert authority(b) == "app.example"
        after = c.request("/redirect", authority="app.example", extra=loc)
        st, = c.wait_streams([after])
        assert (st.status, location(st)) == (302, "http://app.example/login")
        assert authority(b) == own


def test_kept_backend_connection_reused_removed_one_closed(procs, tmp_path,
                                                          backends):
    """The HTTP/2 session to a backend in both generations is reused; an
    idle one to a removed backend closes at once, a busy one as soon as
    its last stream ends (long before the keep-alive timeout)."""
    a, b, c = backends(), backends(), backends()
    keep = "backend-keep-alive-timeout=5m\n"
    r = Reloadable(procs, tmp_path, keep + be_line(a) + be_line(b, "/b/")
                   + be_line(c, "/delay/"))
    assert h2_get(r.port, "/x")[0] == 200 and h2_get(r.port, "/b/x")[0] == 200
    assert (a.conns, b.conns) == (1, 1)
    busy = H2Client(r.port)
    sid = busy.request("/delay/1000")
    assert wait_for(lambda: "/delay/1000" in paths(c))
    r.reload(keep + be_line(a))
    assert h2_get(r.port, "/y")[0] == 200
    assert a.conns == 1, "the session to a kept backend was not reused"
    assert wait_for(lambda: not b.protos, WAIT), \
        "the idle session to a removed backend stayed open"
    st, = busy.wait_streams([sid])
    assert (st.status, bytes(st.data)) == (200, b"ok\n")
    busy.close()
    assert wait_for(lambda: not c.protos, WAIT), \
        "the session to a removed backend stayed open after its last stream"
    # Removed: /b/ now goes to the catch-all.
    assert h2_get(r.port, "/b/z")[0] == 200 and paths(a)[-1] == "/b/z"


def test_restart_only_option_logged_and_kept(procs, tmp_path, backends):
    """--workers cannot change in a running process: the reload logs it,
    keeps the running value and applies the rest."""
    a, b = backends(), backends()
    # In the file: -n on the command line would win over it.
    port = free_port()
    conf = "frontend=%s,%d;no-tls\nworkers=1\n" % (HOST, port)
    r = Reloadable(procs, tmp_path, conf + be_line(a), frontends=False)
    r.g.wait_port(port)
    r.reload("frontend=%s,%d;no-tls\nworkers=3\n" % (HOST, port) + be_line(b))
    assert "--workers changed: that needs a restart" in r.g.log()
    assert r.metric("h2gate_workers") == 1
    assert h2_get(port, "/z")[0] == 200 and paths(b) == ["/z"]


def test_include_file_read_again_by_reload(procs, tmp_path, backends):
    """--include (nghttpx's) in the --conf file: the included file's
    backends serve; a reload reads the included file again, so an edit
    there alone takes effect; a reload whose included file is gone fails
    and keeps the running configuration."""
    a, b = backends(), backends()
    inc = tmp_path / "backends.conf"
    inc.write_text(be_line(a))
    r = Reloadable(procs, tmp_path, "include=%s\n" % inc)
    assert h2_get(r.port, "/one") == (200, b"ok\n") and paths(a) == ["/one"]
    inc.write_text(be_line(b))
    r.reload()
    assert h2_get(r.port, "/two") == (200, b"ok\n") and paths(b) == ["/two"]
    inc.unlink()
    r.reload_fails()
    assert "include: cannot open config file %s" % inc in r.g.log()
    assert h2_get(r.port, "/three") == (200, b"ok\n") and paths(b)[-1] == "/three"


# --------------------------------------------------------------------------
# listeners


def test_listeners_kept_added_removed(procs, tmp_path, backends):
    """A frontend in both generations keeps its socket (a connection
    waiting in its accept queue is served); a new one opens; a removed
    one stops accepting and its open connections finish; a port that
    cannot be bound fails the whole reload."""
    a = backends()
    p1, p2 = free_port(), free_port()
    fe = "frontend=%s,%d;no-tls\n"
    r = Reloadable(procs, tmp_path, fe % (HOST, p1) + "workers=2\n" + be_line(a),
                   frontends=False)
    r.g.wait_port(p1)
    keep = H1Conn(p1)
    keep.send(h1_get("/k1"))
    assert keep.read_response().status == 200

    r.reload(fe % (HOST, p1) + fe % (HOST, p2) + "workers=2\n" + be_line(a))
    assert h2_get(p1, "/p1")[0] == 200 and h2_get(p2, "/p2")[0] == 200

    r.reload(fe % (HOST, p2) + "workers=2\n" + be_line(a))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, p1), timeout=5).close()
    keep.send(h1_get("/k2"))                   # drains on the removed port
    assert keep.read_response().status == 200
    keep.close()
    assert h2_get(p2, "/p2b")[0] == 200

    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        b = backends()
        r.reload_fails(fe % (HOST, p2) + fe % (HOST, taken) + "workers=2\n"
                       + be_line(b))
    assert "reload failed" in r.g.log() and str(taken) in r.g.log()
    assert h2_get(p2, "/still")[0] == 200 and paths(a)[-1] == "/still"
    assert paths(b) == []


def listen_backlogs(port):
    """The backlog of every socket listening on port (ss's Send-Q)."""
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], check=True,
                         capture_output=True, text=True).stdout
    return sorted(int(line.split()[2]) for line in out.splitlines())


def test_backlog_set_and_changed_by_reload(procs, tmp_path, backends):
    """--backlog (nghttpx's) is each worker socket's listen(2) backlog; a
    reload changes it on the sockets it keeps. Without it: 65536, which
    the kernel caps at net.core.somaxconn."""
    a = backends()
    port = free_port()
    fe = "frontend=%s,%d;no-tls\nworkers=2\n" % (HOST, port)
    r = Reloadable(procs, tmp_path, fe + "backlog=7\n" + be_line(a), frontends=False)
    r.g.wait_port(port)
    assert listen_backlogs(port) == [7, 7]
    r.reload(fe + "backlog=9\n" + be_line(a))
    assert listen_backlogs(port) == [9, 9]
    assert h2_get(port, "/after")[0] == 200
    somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
    r.reload(fe + be_line(a))
    assert listen_backlogs(port) == [min(65536, somaxconn)] * 2


# --------------------------------------------------------------------------
# tunnels and WebSockets


def tunnel_echo(c, data):
    c.send(data)
    return c.recv_some(len(data), timeout=10)


def test_tunnel_and_websocket_survive_reload(procs, tmp_path):
    """A CONNECT tunnel and a WebSocket opened before the reload keep
    moving bytes both ways and close normally; the new --connect-allow
    applies to tunnels opened after it."""
    t1, t2 = TargetServer(echo_handler), TargetServer(echo_handler)
    ws = ws_backend()
    try:
        allow = "connect-allow=%s:%d\n"
        wsb = "backend=%s,%d\n" % (HOST, ws.port)
        r = Reloadable(procs, tmp_path, allow % (HOST, t1.port) + wsb)
        tun, head = h1_tunnel(r.port, "%s:%d" % (HOST, t1.port))
        assert head.status == 200
        w = WSClient(r.port)
        assert tunnel_echo(tun, b"before") == b"before"
        w.echo(OP_TEXT, b"before")
        gen1_alive = r.metric("h2gate_config_generations_alive")

        r.reload(allow % (HOST, t2.port) + wsb)
        assert tunnel_echo(tun, b"after" * 1000) == b"after" * 1000
        w.echo(OP_BIN, bytes(range(256)) * 100)
        # The tunnel and the WebSocket still hold generation 1.
        assert r.metric("h2gate_config_generations_alive") == gen1_alive + 1

        c, h = h1_tunnel(r.port, "%s:%d" % (HOST, t1.port))
        assert h.status == 403
        c.close()
        c, h = h1_tunnel(r.port, "%s:%d" % (HOST, t2.port))
        assert h.status == 200 and tunnel_echo(c, b"new") == b"new"
        c.close()

        w.send(OP_CLOSE, struct.pack("!H", 1000))
        assert w.recv() == (OP_CLOSE, struct.pack("!H", 1000))
        w.close()
        tun.sock.shutdown(socket.SHUT_WR)
        assert tun.read_to_eof(timeout=10) == b""
        tun.close()
        # The last user of generation 1 is gone: it is freed.
        assert wait_for(lambda: r.metric(
            "h2gate_config_generations_alive") == gen1_alive, WAIT)
    finally:
        t1.stop()
        t2.stop()
        ws.stop()


def sha512_line(user, password):
    h = subprocess.run(["openssl", "passwd", "-6", "-salt", "r3l0ad",
                        password], capture_output=True, text=True,
                       check=True, timeout=30).stdout.strip()
    return "%s:%s\n" % (user, h)


def basic(user, password):
    import base64
    return ("Proxy-Authorization", "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode())


def test_auth_file_change_applies(procs, tmp_path):
    """The auth file is read again: a user removed from it is refused at
    once, even though its credentials were just accepted (and cached)."""
    t = TargetServer(echo_handler)
    try:
        users = tmp_path / "users"
        users.write_text(sha512_line("ann", "pw1") + sha512_line("bob", "pw2"))
        conf = ("connect-allow=%s:%d\nconnect-auth-file=%s\n"
                % (HOST, t.port, users))
        r = Reloadable(procs, tmp_path, conf)
        target = "%s:%d" % (HOST, t.port)
        for who in (("ann", "pw1"), ("bob", "pw2")):
            c, h = h1_tunnel(r.port, target, extra=[basic(*who)])
            assert h.status == 200
            c.close()
        users.write_text(sha512_line("ann", "pw1"))
        r.reload()
        c, h = h1_tunnel(r.port, target, extra=[basic("bob", "pw2")])
        assert h.status == 407
        c.close()
        c, h = h1_tunnel(r.port, target, extra=[basic("ann", "pw1")])
        assert h.status == 200 and tunnel_echo(c, b"ann") == b"ann"
        c.close()
    finally:
        t.stop()


# --------------------------------------------------------------------------
# no gap: clients in a loop through many reloads


def _loop_client(port, stop, errors, done):
    n = 0
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", "/loop/%d" % n)
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status != 200 or body != b"ok\n":
                errors.append((resp.status, body))
        except OSError as e:
            errors.append(repr(e))
        n += 1
    done.append(n)


def test_tight_loop_through_20_reloads(procs, tmp_path, backends):
    """Clients connecting in a tight loop while 20 reloads switch the
    backend back and forth: no refused or reset connection, no failed
    request; both backends served; every old generation freed."""
    a, b = backends(), backends()
    r = Reloadable(procs, tmp_path, be_line(a), workers=2)
    stop, errors, done = threading.Event(), [], []
    clients = [threading.Thread(target=_loop_client,
                                args=(r.port, stop, errors, done))
               for _ in range(3)]
    for t in clients:
        t.start()
    try:
        for i in range(20):
            r.reload(be_line(b if i % 2 == 0 else a))
            time.sleep(0.05)
    finally:
        stop.set()
        for t in clients:
            t.join(30)
    assert errors == []
    assert sum(done) > 20 and paths(a) and paths(b)
    assert r.metric("h2gate_config_reloads_total") == 20
    assert wait_for(lambda: r.metric("h2gate_config_generations_alive") == 1,
                    WAIT)


def test_100_reloads_under_h2load(procs, tmp_path, backends):
    """h2load rounds (new connections each, 4 x 10 streams) run while 100
    reloads switch the backend: every request of every round answered
    2xx; afterwards one generation in memory (the others were freed; the
    ASan build's leak checker looks at the rest at exit)."""
    a, b = backends(), backends()
    r = Reloadable(procs, tmp_path, be_line(a), workers=2)
    stop, rounds = threading.Event(), []

    def load():
        for _ in range(500):
            if stop.is_set():
                return
            rounds.append(h2load("http://%s:%d/" % (HOST, r.port), n=400,
                                 c=4, m=10, timeout=120))
    t = threading.Thread(target=load)
    t.start()
    try:
        for n in range(100):
            r.reload(be_line(b if n % 2 == 0 else a))
    finally:
        stop.set()
        t.join(300)
    assert rounds
    for res in rounds:
        assert (res.failed, res.errored, res.codes["2xx"]) == (0, 0, 400), \
            res.output
    assert paths(a) and paths(b)
    assert r.metric("h2gate_config_reloads_total") == 100
    assert wait_for(lambda: r.metric("h2gate_config_generations_alive") == 1,
                    WAIT)


# --------------------------------------------------------------------------
# certificates


def make_cert(d, name, serial):
    key, cert = d / (name + ".key"), d / (name + ".crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "7",
         "-set_serial", str(serial), "-subj", "/CN=localhost"],
        check=True, capture_output=True, timeout=30)
    return key, cert


def tls_client(port):
    """An HTTP/1.1 connection over TLS, handshake done, certificate not
    checked (its serial is what the test looks at)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(HOST, port, timeout=10, context=ctx)
    conn.connect()
    return conn


def serial_of(conn):
    pem = ssl.DER_cert_to_PEM_cert(conn.sock.getpeercert(binary_form=True))
    p = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem,
                       capture_output=True, text=True, check=True, timeout=30)
    return int(p.stdout.strip().split("=", 1)[1], 16)


def tls_request(conn, path):
    """One GET on the connection; its status line (the body is read)."""
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return b"HTTP/1.1 %d %s" % (r.status, r.reason.encode())


def test_certificate_rotation(procs, tmp_path, backends):
    """New certificate on disk + SIGHUP: new handshakes get it, a
    connection made before keeps working; a missing key file is refused
    and the running certificate stays."""
    a = backends()
    d = tmp_path / "tls"
    d.mkdir()
    key, cert = make_cert(d, "live", 1001)
    port = free_port()
    conf = ("frontend=%s,%d\nprivate-key-file=%s\ncertificate-file=%s\n"
            % (HOST, port, key, cert)) + be_line(a)
    r = Reloadable(procs, tmp_path, conf, frontends=False)
    r.g.wait_port(port)
    old = tls_client(port)
    assert serial_of(old) == 1001
    assert tls_request(old, "/1") == b"HTTP/1.1 200 OK"

    k2, c2 = make_cert(d, "next", 2002)
    key.write_bytes(k2.read_bytes())
    cert.write_bytes(c2.read_bytes())
    r.reload()
    new = tls_client(port)
    assert serial_of(new) == 2002
    assert tls_request(new, "/2") == b"HTTP/1.1 200 OK"
    assert tls_request(old, "/3") == b"HTTP/1.1 200 OK"
    new.close()

    key.unlink()
    r.reload_fails()
    log = r.g.log()
    assert "reload failed" in log and str(key) in log
    again = tls_client(port)
    assert serial_of(again) == 2002
    again.close()
    old.close()


# --------------------------------------------------------------------------
# refused reloads


BAD = {
    "syntax": ("this line has no equals sign\n", ":2:"),
    "unknown-option": ("no-such-option=1\n", ":2: "),
    "bad-connect-rule": ("connect-allow=127.0.0.1:99999\n", ":2:"),
    "bad-backend": ("backend=%s,notaport\n" % HOST, ":2:"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_invalid_config_keeps_running(procs, tmp_path, backends, kind):
    """A bad file + SIGHUP: the error with FILE:LINE in the log, the old
    configuration serves on, the failure counter goes up; fixed, the
    next SIGHUP applies."""
    a, b = backends(), backends()
    r = Reloadable(procs, tmp_path, be_line(a))
    line, where = BAD[kind]
    r.reload_fails(be_line(b) + line)
    log = r.g.log()
    assert "reload failed" in log
    assert str(r.path) + where in log, log[-2000:]
    assert h2_get(r.port, "/still-a")[0] == 200
    assert paths(a) == ["/still-a"] and paths(b) == []
    assert r.metric("h2gate_config_reloads_total") == 0
    r.reload(be_line(b))
    assert h2_get(r.port, "/now-b")[0] == 200 and paths(b) == ["/now-b"]
    assert r.metric("h2gate_config_reload_failures_total") == 1
    assert r.metric("h2gate_config_reloads_total") == 1
    assert r.metric(
        "h2gate_config_last_reload_success_timestamp_seconds") > 0


def test_reload_metrics_in_json(procs, tmp_path, backends):
    a = backends()
    r = Reloadable(procs, tmp_path, be_line(a))
    r.reload()
    st, _, body = admin_request(r.admin_port, "/stats")
    j = json.loads(body)
    assert st == 200
    assert j["h2gate_config_generation"] == 2
    assert j["h2gate_config_reloads_total"] == 1
    assert j["h2gate_config_reload_failures_total"] == 0
    assert j["h2gate_config_generations_alive"] == 1


# --------------------------------------------------------------------------
# --check-config, --pid-file


def test_check_config(tmp_path):
    """-t: 'configuration OK' and 0, or the error and 1; no port bound
    (a frontend port someone else holds is not a problem for -t)."""
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        good = tmp_path / "good.conf"
        good.write_text("frontend=%s,%d;no-tls\nbackend=%s,%d\n"
                        % (HOST, taken, HOST, free_port()))
        p = run_gate(["-t", "--conf=%s" % good])
        assert (p.returncode, p.stdout) == (0, "configuration OK\n"), p.stderr
        p = run_gate(["--check-config", "--conf=%s" % good])
        assert p.returncode == 0 and "configuration OK" in p.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text("backend=%s,%d\nno-such-option=1\n" % (HOST, free_port()))
    p = run_gate(["-t", "--conf=%s" % bad, "-f", "%s,%d;no-tls"
                  % (HOST, free_port())])
    assert p.returncode == 1 and "configuration OK" not in p.stdout
    assert "%s:2:" % bad in p.stderr and "no-such-option" in p.stderr
    missing = tmp_path / "missing.conf"
    missing.write_text("frontend=%s,%d\nprivate-key-file=%s\n"
                       "certificate-file=%s\nbackend=%s,%d\n"
                       % (HOST, free_port(), tmp_path / "no.key",
                          tmp_path / "no.crt", HOST, free_port()))
    p = run_gate(["-t", "--conf=%s" % missing])
    assert p.returncode == 1 and "no.crt" in p.stderr, p.stderr


def test_pid_file_and_kill_hup(procs, tmp_path, backends):
    """--pid-file holds the PID: `kill -HUP $(cat FILE)` reloads; the file
    goes at exit."""
    a, b = backends(), backends()
    pid_file = tmp_path / "h2gate.pid"
    r = Reloadable(procs, tmp_path, be_line(a),
                   extra=["--pid-file=%s" % pid_file])
    assert wait_for(pid_file.exists)
    assert int(pid_file.read_text()) == r.g.pid
    r.write(be_line(b))
    subprocess.run(["sh", "-c", "kill -HUP $(cat %s)" % pid_file],
                   check=True, timeout=10)
    assert wait_for(lambda: r.metric("h2gate_config_generation") == 2, WAIT)
    assert h2_get(r.port, "/hup")[0] == 200 and paths(b) == ["/hup"]
    r.g.stop()
    assert r.g.popen.returncode == 0
    assert not pid_file.exists()


# --------------------------------------------------------------------------
# nghttpx's backendconfig API (--admin-api)

API = "/api/v1beta1/"


def api(r, what, method="GET", body=None):
    """(status, JSON answer, headers) of one API request on r's admin."""
    status, headers, raw = admin_request(r.admin_port, API + what, method=method,
                                         body=body)
    assert headers["content-type"] == "application/json", headers
    return status, json.loads(raw), headers


def test_backendconfig_api_replaces_backends(procs, tmp_path, backends):
    """PUT /api/v1beta1/backendconfig: its backend= lines replace the
    running backends (other options ignored, as in nghttpx) without a
    reload: a request in flight completes, a connection opened before
    routes anew, configRevision stays. POST does the same. A SIGHUP
    reload reads the file again, so its backends return, and
    configRevision counts it."""
    a, b, c = backends(), backends(), backends()
    r = Reloadable(procs, tmp_path, be_line(a), extra=["--admin-api"])
    assert api(r, "configrevision")[:2] == (200, {"status": "Success", "code": 200,
                                                  "data": {"configRevision": 0}})
    old = H2Client(r.port)
    slow = old.request("/delay/1500")
    assert wait_for(lambda: "/delay/1500" in paths(a))
    body = "# from a controller\n" + be_line(b) + be_line(c, "/c/") + "workers=9\n"
    assert api(r, "backendconfig", "PUT", body)[:2] == (200, {"status": "Success", "code": 200})
    assert wait_for(lambda: r.metric("h2gate_config_generation") == 2, WAIT)
    assert h2_get(r.port, "/one") == (200, b"ok\n") and paths(b) == ["/one"]
    assert h2_get(r.port, "/c/x") == (200, b"ok\n") and paths(c) == ["/c/x"]
    st, = old.wait_streams([slow])
    assert (st.status, bytes(st.data)) == (200, b"ok\n")
    sid = old.request("/two")
    assert old.wait_streams([sid])[0].status == 200 and paths(b)[-1] == "/two"
    old.close()
    assert api(r, "configrevision")[1]["data"] == {"configRevision": 0}
    assert api(r, "backendconfig", "POST", be_line(c))[0] == 200
    assert wait_for(lambda: r.metric("h2gate_config_generation") == 3, WAIT)
    assert h2_get(r.port, "/three")[0] == 200 and paths(c)[-1] == "/three"
    r.gen = 3
    r.reload()
    assert h2_get(r.port, "/four")[0] == 200 and paths(a)[-1] == "/four"
    assert api(r, "configrevision")[1]["data"] == {"configRevision": 1}


def test_backendconfig_api_refusals(procs, tmp_path, backends):
    """What the API refuses leaves the running backends in force: a line
    that is not NAME=VALUE or a bad backend (400, the reason in
    "message"), a name that does not resolve (400), a body over
    --api-max-request-body (413), another method (405 with Allow), another
    API path (404). Without --admin-api there is no API (404)."""
    a, b = backends(), backends()
    r = Reloadable(procs, tmp_path, be_line(a),
                   extra=["--admin-api", "--api-max-request-body=1K"])
    for body, reason in ((be_line(b) + "no equals sign\n", "backendconfig:2: expected NAME=VALUE"),
                         ("backend=%s,0\n" % HOST, "backendconfig:1: backend"),
                         ("backend=nosuch.invalid,80\n", "cannot resolve nosuch.invalid")):
        status, answer, _ = api(r, "backendconfig", "PUT", body)
        assert (status, answer["status"], answer["code"]) == (400, "Failure", 400), answer
        assert reason in answer["message"], answer
    status, answer, _ = api(r, "backendconfig", "PUT", "#" * 2000)
    assert (status, answer["code"]) == (413, 413), answer
    status, answer, headers = api(r, "backendconfig")
    assert (status, answer["code"], headers["allow"]) == (405, 405, "POST, PUT")
    assert api(r, "configrevision", "PUT", "")[0] == 405
    assert api(r, "nothing")[0] == 404
    assert r.metric("h2gate_config_generation") == 1
    assert h2_get(r.port, "/still-a")[0] == 200 and paths(a) == ["/still-a"] and not paths(b)
    (tmp_path / "off").mkdir()
    off = Reloadable(procs, tmp_path / "off", be_line(a))
    status, _, _ = admin_request(off.admin_port, API + "backendconfig", "PUT", body=be_line(b))
    assert status == 404
