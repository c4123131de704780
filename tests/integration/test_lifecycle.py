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


def catches(pid, signum):
    """signum no longer ends the process the default way: it has a handler
    (/proc's SigCgt). Blocked in the main thread (SigBlk) is not enough:
    another thread may take it, as it did once under ASan."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("SigCgt:") and \
                    int(line.split()[1], 16) >> (signum - 1) & 1:
                return True
    return False


def test_sigterm_idle_exits_zero(procs):
    g = procs.gate([procs.origin()])
    # Its port accepts (the kernel's backlog) before its main loop watches
    # the signals; a SIGTERM before that would end it the default way.
    deadline = time.monotonic() + 15
    while not catches(g.pid, signal.SIGTERM):
        assert time.monotonic() < deadline, g.log()
        time.sleep(0.01)
    g.signal(signal.SIGTERM)
    assert assert_exits(g, 10) == 0


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
