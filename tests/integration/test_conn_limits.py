"""Connection caps: --worker-frontend-connections (past N client
connections a worker closes new ones at once), accept() out of descriptors
(EMFILE: the worker stops accepting until a connection closes or
--listener-disable-timeout, never spins), and --frontend-max-requests
(HTTP/2: GOAWAY naming the Nth stream, HTTP/1.1: Connection: close on the
Nth response).

Every test runs one worker (-n1) so the per-worker numbers are exact, keeps
a connection opened before the limit and one opened after it, and checks
that nothing grows without a cap. No test depends on how fast anything is:
waits poll a condition up to a generous deadline.

The metrics and log lines are h2gate's own; nghttpx has the options but
not these counters."""

import socket
import time

from h2.errors import ErrorCodes

from obs_lib import gate_with_admin, scrape, settle
from testlib import HOST, H1Conn, H2Client, h1_get, rss_kib

REFUSED = "h2gate_connections_refused_total"
ACCEPT_ERRORS = "h2gate_accept_errors_total"
PAUSED = "h2gate_listeners_paused"


def _under_asan():
    from conftest import H2GATE_BIN
    try:
        with open(H2GATE_BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ASan's quarantine keeps freed memory resident, so RSS grows with churn
# there whatever the code does; LeakSanitizer at exit (conftest) and the
# gauges settling to 0 cover leaks under ASan instead.
UNDER_ASAN = _under_asan()


def assert_rss_bounded(rss0, rss1, slack_kib=2048):
    if not UNDER_ASAN:
        assert rss1 - rss0 < slack_kib, (rss0, rss1)


def wait_for(cond, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "never happened: " + what
        time.sleep(0.02)


def h1_ok(conn, path="/"):
    conn.send(h1_get(path))
    r = conn.read_response()
    assert r.status == 200, r
    return r


def h2_ok(client, path="/"):
    sid = client.request(path)
    r = client.wait_streams([sid])[0]
    assert r.status == 200 and r.ended and r.reset is None, r
    return r


def closed_at_once(port):
    """Connect, send nothing; True when the proxy closes the connection
    (EOF or reset) before any byte."""
    with socket.create_connection((HOST, port), timeout=10) as s:
        try:
            return s.recv(1) == b""
        except ConnectionResetError:
            return True


def log_lines(g, needle):
    return [l for l in g.log().splitlines() if needle in l]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def fd_count(pid):
    import os
    return len(os.listdir("/proc/%d/fd" % pid))


def wait_closed(client, timeout=10.0):
    """Pump an H2Client until the proxy closes the connection."""
    deadline = time.monotonic() + timeout
    while not client.closed:
        client.pump_once(deadline)


# --------------------------------------------------------------------------
# --worker-frontend-connections


def test_worker_frontend_connections_refuses_past_cap(procs):
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--worker-frontend-connections=2"])
    with H1Conn(g.port) as a, H2Client(g.port) as b:
        h1_ok(a)
        h2_ok(b)       # both accepted and counted: the worker is at its cap
        refusals = 5
        t0 = time.monotonic()
        for _ in range(refusals):
            assert closed_at_once(g.port)
        elapsed = time.monotonic() - t0
        # The connections that were open keep working.
        h1_ok(a)
        h2_ok(b)
        snap = scrape(g.admin_port)
        assert snap.get(REFUSED) == refusals
        assert snap.get("h2gate_connections_active") == 2
        lines = log_lines(g, "--worker-frontend-connections")
        # Rate-limited: at most one line a second.
        assert 1 <= len(lines) <= elapsed + 2, lines
    # Both closed: a new connection is served again.
    settle(g.admin_port)
    with H1Conn(g.port) as c, H2Client(g.port) as d:
        h1_ok(c)
        h2_ok(d)
    assert scrape(g.admin_port).get(REFUSED) == refusals


def test_worker_frontend_connections_one_closes_one_enters(procs):
    """A slot freed by a close is taken by the next connection; refusing
    many connections costs no memory."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--worker-frontend-connections=1"])
    a = H1Conn(g.port)
    try:
        h1_ok(a)
        for _ in range(20):             # warm-up (allocator, log buffers)
            assert closed_at_once(g.port)
        rss0 = rss_kib(g.pid)
        t0 = time.monotonic()
        for _ in range(300):
            assert closed_at_once(g.port)
        elapsed = time.monotonic() - t0
        rss1 = rss_kib(g.pid)
        assert_rss_bounded(rss0, rss1)
        assert scrape(g.admin_port).get(REFUSED) == 320
        lines = log_lines(g, "--worker-frontend-connections")
        assert 1 <= len(lines) <= elapsed + 2, len(lines)
        h1_ok(a)
    finally:
        a.close()
    settle(g.admin_port)
    with H2Client(g.port) as b:
        h2_ok(b)


def test_worker_frontend_connections_default_unlimited(procs):
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False)
    conns = [H1Conn(g.port) for _ in range(20)]
    try:
        for c in conns:
            h1_ok(c)
    finally:
        for c in conns:
            c.close()
    assert scrape(g.admin_port).get(REFUSED) == 0


# --------------------------------------------------------------------------
# accept() out of descriptors


NOFILE = 48      # h2gate -n1 idles with about a dozen descriptors
FLOOD = 80       # more connections than it can hold: some stay in the backlog


def test_emfile_pauses_accept_and_recovers(procs):
    o = procs.origin()
    # A long backend keep-alive, so the connections opened before the
    # flood reuse their pooled backend connection: a new one would need a
    # descriptor the flood has taken.
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--rlimit-nofile=%d" % NOFILE,
                               "--backend-keep-alive-timeout=10m"])
    before_h1 = H1Conn(g.port)
    before_h2 = H2Client(g.port)
    flood = []
    try:
        h1_ok(before_h1)
        h2_ok(before_h2)
        for _ in range(FLOOD):
            flood.append(socket.create_connection((HOST, g.port), timeout=10))
        # The worker ran out of descriptors and said so.
        wait_for(lambda: log_lines(g, "accept: Too many open files"),
                 "the EMFILE warning")
        wait_for(lambda: fd_count(g.pid) == NOFILE, "a full descriptor table")
        # While saturated it does not spin: one second of it costs a few
        # ticks of CPU, not a hundred (a bound on work: a spinning accept
        # loop burns the whole second whatever the machine's speed).
        t0 = cpu_ticks(g.pid)
        time.sleep(1.0)
        assert cpu_ticks(g.pid) - t0 < 50
        # Connections opened before the flood are still served.
        h1_ok(before_h1)
        h2_ok(before_h2)
        h1_ok(before_h1)
        # Close the flood: the worker resumes as its connections close and
        # drains its backlog.
        for s in flood:
            s.close()
        flood = []
        with H1Conn(g.port, timeout=20) as after:
            h1_ok(after)
        with H2Client(g.port, timeout=20) as after2:
            h2_ok(after2)
        h2_ok(before_h2)
    finally:
        for s in flood:
            s.close()
        before_h1.close()
        before_h2.close()
    snap = settle(g.admin_port)
    errors = snap.get(ACCEPT_ERRORS)
    # At least one failure, and at most about one per client connection
    # closed (each close resumes, each resume may fail once more): a busy
    # loop would have counted hundreds of thousands.
    assert 1 <= errors <= FLOOD + 10, errors
    assert snap.get(PAUSED) == 0
    lines = log_lines(g, "accept: Too many open files")
    assert len(lines) <= errors


def test_emfile_listener_disable_timeout_resumes(procs):
    """Saturated with nothing closing, only the timer resumes accepting:
    with --listener-disable-timeout=1s the worker tries again (and warns
    again) while every connection stays open; then the flood closes and a
    new connection is served."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--rlimit-nofile=%d" % NOFILE,
                               "--listener-disable-timeout=1s"])
    flood = []
    t0 = time.monotonic()
    try:
        for _ in range(FLOOD):
            flood.append(socket.create_connection((HOST, g.port), timeout=10))
        # A second warning can only come from a retry, and with no close
        # on the worker only the timer retries.
        wait_for(lambda: len(log_lines(g, "accept: Too many open files")) >= 2,
                 "a retry after --listener-disable-timeout")
        for s in flood:
            s.close()
        flood = []
        with H1Conn(g.port, timeout=20) as c:
            h1_ok(c)
    finally:
        for s in flood:
            s.close()
    snap = settle(g.admin_port)
    elapsed = time.monotonic() - t0
    assert snap.get(PAUSED) == 0
    # One failure per timer expiry (one a second) or per close, not a spin.
    errors = snap.get(ACCEPT_ERRORS)
    assert 2 <= errors <= FLOOD + 10 + elapsed, errors


# --------------------------------------------------------------------------
# --frontend-max-requests


def test_frontend_max_requests_h2(procs):
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--frontend-max-requests=3"])
    with H2Client(g.port) as before:
        h2_ok(before)
        with H2Client(g.port) as c:
            # Three in flight at once plus a fourth in the same write; the
            # slow first one must still complete after the GOAWAY.
            s1 = c.request("/delay/300")
            s3 = c.request("/")
            s5 = c.request("/")
            s7 = c.request("/")
            c.wait_streams([s1, s3, s5])
            for sid in (s1, s3, s5):
                r = c.streams[sid]
                assert r.status == 200 and r.ended and r.reset is None, r
            wait_closed(c)
            assert len(c.goaways) == 1, c.goaways
            assert c.goaway.error_code == ErrorCodes.NO_ERROR
            assert c.goaway.last_stream_id == s5
            # The fourth was refused or ignored, never answered.
            r7 = c.streams[s7]
            assert r7.status is None, r7
            assert r7.reset in (None, ErrorCodes.REFUSED_STREAM), r7
        h2_ok(before)               # 2 of its 3
        with H2Client(g.port) as after:
            h2_ok(after)
    snap = settle(g.admin_port)
    assert snap.get("h2gate_goaway_total", direction="sent",
                    error_code="NO_ERROR") >= 1


def test_frontend_max_requests_h2_sequential_and_bounded(procs):
    """One stream at a time: GOAWAY names exactly the Nth; many such
    connections leave no memory behind."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--frontend-max-requests=2"])

    def one_conn():
        with H2Client(g.port) as c:
            h2_ok(c)
            assert c.goaway is None
            r = h2_ok(c)
            wait_closed(c)
            assert c.goaway.last_stream_id == 3
            assert c.goaway.error_code == ErrorCodes.NO_ERROR
            return r

    for _ in range(10):
        one_conn()
    settle(g.admin_port)
    rss0 = rss_kib(g.pid)
    for _ in range(100):
        one_conn()
    settle(g.admin_port)
    rss1 = rss_kib(g.pid)
    assert_rss_bounded(rss0, rss1)


def test_frontend_max_requests_h1(procs):
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--frontend-max-requests=2"])
    with H1Conn(g.port) as before:
        h1_ok(before)
        with H1Conn(g.port) as c:
            r1 = h1_ok(c)
            assert (r1.header("connection") or "").lower() != "close", r1
            r2 = h1_ok(c)
            assert r2.header("connection").lower() == "close", r2
            assert c.read_to_eof() == b""
        h1_ok(before)
        with H1Conn(g.port) as after:
            h1_ok(after)


def test_frontend_max_requests_h1_pipelined(procs):
    """The Nth answered with close; a request pipelined behind it is not
    answered (the connection closes)."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--frontend-max-requests=1"])
    with H1Conn(g.port) as c:
        c.send(h1_get("/delay/200") + h1_get("/"))
        r = c.read_response()
        assert r.status == 200 and r.header("connection").lower() == "close"
        assert c.read_to_eof() == b""
    rss0 = rss_kib(g.pid)
    for _ in range(100):
        with H1Conn(g.port) as c:
            r = h1_ok(c)
            assert r.header("connection").lower() == "close"
            assert c.read_to_eof() == b""
    settle(g.admin_port)
    assert_rss_bounded(rss0, rss_kib(g.pid))


def test_options_in_help(procs):
    from conftest import run_gate
    out = run_gate(["--help"]).stdout
    for opt, default in (("--worker-frontend-connections=", "Default: 0"),
                         ("--listener-disable-timeout=", "Default: 30s")):
        i = out.index(opt)
        assert default in out[i:i + 600], opt
    assert "--frontend-max-requests=" in out
