"""Signals: SIGTERM drains gracefully (GOAWAY, in-flight requests finish,
new connections refused, exit 0); SIGINT exits at once.

nghttpx drains on SIGQUIT and treats SIGTERM like SIGINT, and has no
--graceful-shutdown-timeout, so the SIGTERM tests fail there."""

import signal
import socket
import subprocess
import time

import pytest
from h2.errors import ErrorCodes

from testlib import HOST, H1Conn, H2Client, h1_get


def wait_count(origin, n, timeout=5.0):
    """Until the origin accepted n connections (the requests are in flight)."""
    deadline = time.monotonic() + timeout
    while origin.count() < n:
        assert time.monotonic() < deadline, "requests never reached origin"
        time.sleep(0.02)


def assert_exits(g, timeout):
    try:
        return g.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("h2gate still running %ss after the signal" % timeout)


def test_sigterm_graceful(procs):
    o = procs.origin(count=True)
    g = procs.gate([o], tls=False)
    with H2Client(g.port, timeout=15) as c, H1Conn(g.port, timeout=15) as h1:
        sid = c.request("/delay/1500")
        h1.send(h1_get("/delay/1500"))
        wait_count(o, 2)
        g.signal(signal.SIGTERM)
        c.wait(lambda: c.goaway is not None)
        assert c.goaway.error_code == ErrorCodes.NO_ERROR
        # Stopped accepting before telling clients to go away.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, g.port), timeout=2).close()
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and r.ended and r.reset is None, r
        assert c.goaway.last_stream_id >= sid
        r1 = h1.read_response()
        assert r1.status == 200
    assert assert_exits(g, 10) == 0


def started_then_signalled(procs, signum):
    """An h2gate signalled the moment its port first accepts (the kernel's
    backlog accepts before its main loop watches any signal), polled
    without a pause so that the signal lands in that window."""
    g = procs.gate([procs.origin()], tls=False, wait=False)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection((HOST, g.port), timeout=1).close()
            break
        except OSError:
            assert g.alive() and time.monotonic() < deadline, g.log()
    g.signal(signum)
    return g


def test_sigterm_at_once_exits_zero(procs):
    """SIGTERM then is noted and drains: exit 0, not the default action's
    -15 (which it was before h2gate caught the signals that early)."""
    g = started_then_signalled(procs, signal.SIGTERM)
    assert assert_exits(g, 10) == 0
    assert "graceful shutdown" in g.log()


def test_sighup_at_once_reloads_not_kills(procs):
    """SIGHUP then is a reload, not SIGHUP's default action (the end of
    the process): h2gate stays up, reloads and serves."""
    g = started_then_signalled(procs, signal.SIGHUP)
    deadline = time.monotonic() + 15
    while "configuration reloaded" not in g.log():
        assert g.alive(), g.log()
        assert time.monotonic() < deadline, g.log()
        time.sleep(0.02)
    with H1Conn(g.port) as c:
        c.send(h1_get("/size/10"))
        assert c.read_response().status == 200
    assert g.alive()


def test_graceful_shutdown_timeout(procs):
    o = procs.origin(count=True)
    g = procs.gate([o], tls=False, extra=["--graceful-shutdown-timeout=1s"])
    with H2Client(g.port, timeout=15) as c:
        c.request("/delay/30000")
        wait_count(o, 1)
        g.signal(signal.SIGTERM)
        c.wait(lambda: c.goaway is not None)
        assert assert_exits(g, 8) == 0


def test_sigint_exits_promptly(procs):
    o = procs.origin(count=True)
    g = procs.gate([o], tls=False)
    with H2Client(g.port, timeout=15) as c:
        c.request("/delay/10000")
        wait_count(o, 1)
        g.signal(signal.SIGINT)
        # h2gate handles SIGINT (stop the workers now, then return from
        # main): status 0, not death by the signal (-SIGINT here).
        assert assert_exits(g, 3) == 0
