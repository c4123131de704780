"""Lifecycle in containers and Kubernetes (issue 12): the --workers default
under an affinity mask, /readyz, SIGTERM's accept period, --user,
sd_notify, --probe, and the deploy/ manifests checked against the real
binary.

Everything listens on 127.0.0.1; every wait is bounded; every process is
started through `procs` and stopped by its PID."""

import os
import pwd
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (H2GATE_BIN, IS_NGHTTPX, REPO_ROOT, Gate, free_port,
                      gate_argv, port_listening, run_gate)
from obs_lib import Snapshot, admin_request, gate_with_admin
from testlib import HOST, H1Conn, H2Client, h1_get

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own options")

WAIT = 15.0


def wait_until(cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def workers_metric(port):
    status, _, body = admin_request(port, "/metrics")
    assert status == 200
    return Snapshot(body.decode()).samples[("h2gate_workers", ())]


def refused(port):
    try:
        socket.create_connection((HOST, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# --------------------------------------------------------------------------
# --workers default


def start_raw(procs, prefix, args, ports, env=None):
    """h2gate run through `prefix` (taskset, ...) or with `env`; the PID is
    h2gate's own once prefix execs it."""
    g = Gate("h2gate", [*prefix, *gate_argv(args)], procs._log("h2gate"))
    procs.all.append(g)
    for p in ports:
        g.wait_port(p)
    return g


def test_workers_default_is_the_affinity_mask(procs):
    if not os.path.exists("/usr/bin/taskset"):
        pytest.skip("taskset (util-linux) is not installed")
    port, aport = free_port(), free_port()
    g = start_raw(procs, ["taskset", "-c", "0"],
                  ["-f", "%s,%d;no-tls" % (HOST, port),
                   "--admin=%s,%d" % (HOST, aport)], [port, aport])
    assert workers_metric(aport) == 1
    assert "h2gate started: 1 workers" in g.log()


def test_workers_default_never_exceeds_the_mask(procs):
    g = gate_with_admin(procs, [], workers=None, tls=False)
    n = workers_metric(g.admin_port)
    assert 1 <= n <= len(os.sched_getaffinity(0))
    g2 = gate_with_admin(procs, [], workers=3, tls=False)
    assert workers_metric(g2.admin_port) == 3


# --------------------------------------------------------------------------
# /readyz and the accept period


def test_readyz_200_while_serving(procs):
    g = gate_with_admin(procs, [procs.origin()], tls=False)
    status, headers, body = admin_request(g.admin_port, "/readyz")
    assert (status, body) == (200, b"ready\n")
    assert headers["cache-control"] == "no-store"
    status, headers, body = admin_request(g.admin_port, "/readyz", "HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "6"
    assert admin_request(g.admin_port, "/readyz", "POST")[0] == 405


def test_sigterm_accept_period_then_drain(procs):
    """/readyz turns 503 at once; during the accept period new connections
    are accepted and served and old ones carry on; after it new ones are
    refused while a request in flight since before SIGTERM finishes."""
    o = procs.origin(count=True)
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--graceful-shutdown-accept-period=4s"])
    with H2Client(g.port, timeout=30) as old:
        slow = old.request("/delay/6000")
        wait_until(lambda: o.count() >= 1, "the slow request never reached origin")
        g.signal(signal.SIGTERM)
        wait_until(lambda: admin_request(g.admin_port, "/readyz")[0] == 503,
                   "/readyz stayed 200 after SIGTERM")
        assert admin_request(g.admin_port, "/readyz")[2] == b"draining\n"
        # Within the accept period: a new connection is accepted and served.
        with H1Conn(g.port, timeout=10) as h1:
            h1.send(h1_get("/size/10"))
            r = h1.read_response()
            assert r.status == 200 and len(r.body) == 10
        with H2Client(g.port, timeout=10) as new:
            sid = new.request("/size/5")
            r = new.wait_streams([sid])[0]
            assert r.status == 200 and len(r.data) == 5
        # The old connection still takes new streams: no GOAWAY yet.
        sid = old.request("/size/3")
        r = old.wait_streams([sid])[0]
        assert r.status == 200 and old.goaway is None
        # After the period: refused, GOAWAY, and the slow request finishes.
        wait_until(lambda: refused(g.port), "still accepting after the period")
        r = old.wait_streams([slow], timeout=20)[0]
        assert r.status == 200 and r.ended and r.reset is None, r
        assert old.goaway is not None and old.goaway.last_stream_id >= slow
    assert g.popen.wait(timeout=WAIT) == 0


# --------------------------------------------------------------------------
# --user


def privileged_port():
    """A free loopback port below 1024 (binding it proves root)."""
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        if not port_listening(port):
            return port
    pytest.skip("no free loopback port below 1024")


def status_ids(pid, key):
    """The ids of a /proc/PID/status line (Uid: real effective saved fs)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("%s missing from /proc/%d/status" % (key, pid))


@pytest.mark.skipif(os.geteuid() != 0, reason="--user needs the test to run as root")
def test_user_drops_privileges_after_binding(procs, tls_files):
    nobody = pwd.getpwnam("nobody")
    assert not os.stat(tls_files[0]).st_mode & 0o004, "the key must be root's only"
    o = procs.origin()
    low, tls_port, aport = privileged_port(), free_port(), free_port()
    g = start_raw(procs, [], [
        "-f", "%s,%d;no-tls" % (HOST, low), "-f", "%s,%d" % (HOST, tls_port),
        "-b", o.backend(), "-n", "2", "--admin=%s,%d" % (HOST, aport),
        "--user=nobody", str(tls_files[0]), str(tls_files[1])], [low, tls_port, aport])
    assert status_ids(g.pid, "Uid") == [nobody.pw_uid] * 4
    assert status_ids(g.pid, "Gid") == [nobody.pw_gid] * 4
    assert 0 not in status_ids(g.pid, "Groups")
    for tid in os.listdir("/proc/%d/task" % g.pid):
        assert status_ids(int(tid), "Uid") == [nobody.pw_uid] * 4
    with H1Conn(low, timeout=10) as h1:
        h1.send(h1_get("/size/7"))
        assert h1.read_response().status == 200
    out = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code}",
                          "https://%s:%d/" % (HOST, tls_port)],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "200"
    assert "running as user nobody" in g.log()


def test_user_unknown_is_refused():
    r = run_gate(["-f", "%s,%d;no-tls" % (HOST, free_port()), "--user=no-such-user-h2g"])
    assert r.returncode == 1
    assert "--user=no-such-user-h2g: no such user" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start as another user")
def test_user_refused_when_the_drop_fails():
    nobody = pwd.getpwnam("nobody")

    def become_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    r = subprocess.run(gate_argv(["-f", "%s,%d;no-tls" % (HOST, free_port()), "--user=root"]),
                       preexec_fn=become_nobody, capture_output=True, text=True, timeout=15)
    assert r.returncode == 1
    assert "--user=root" in r.stderr and "start h2gate as root" in r.stderr


# --------------------------------------------------------------------------
# sd_notify


@pytest.mark.parametrize("abstract", [False, True])
def test_sd_notify_ready_and_stopping(procs, tmp_path, monkeypatch, abstract):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "h2gate-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    else:
        path = str(tmp_path / "notify")
        sock.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
    sock.settimeout(WAIT)
    with sock:
        aport = free_port()
        g = procs.gate([procs.origin()], tls=False, wait=False,
                       extra=["--admin=%s,%d" % (HOST, aport)])
        assert sock.recv(256) == b"READY=1"
        # READY means serving: the frontend and the admin answer now.
        assert port_listening(g.port) and port_listening(aport)
        assert admin_request(aport, "/readyz")[0] == 200
        g.signal(signal.SIGTERM)
        assert sock.recv(256) == b"STOPPING=1"
        assert g.popen.wait(timeout=WAIT) == 0


# --------------------------------------------------------------------------
# --probe


def probe(url, timeout=20):
    return subprocess.run([str(H2GATE_BIN), "--probe=" + url], capture_output=True,
                          text=True, timeout=timeout)


def test_probe_status_decides_the_exit(procs):
    o = procs.origin()
    r = probe("http://%s:%d/status/204" % (HOST, o.port))
    assert r.returncode == 0, r.stderr
    assert "204" in r.stdout
    r = probe("http://%s:%d/status/503" % (HOST, o.port))
    assert r.returncode == 1 and "503" in r.stderr
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--graceful-shutdown-accept-period=30s"])
    assert probe("http://%s:%d/readyz" % (HOST, g.admin_port)).returncode == 0
    assert probe("http://localhost:%d/healthz" % g.admin_port).returncode == 0
    g.signal(signal.SIGTERM)
    wait_until(lambda: probe("http://%s:%d/readyz" % (HOST, g.admin_port)).returncode == 1,
               "/readyz probe stayed 0 after SIGTERM")
    g.signal(signal.SIGINT)  # not the 30s accept period
    assert g.popen.wait(timeout=WAIT) == 0


def test_probe_failures_say_why():
    port = free_port()
    r = probe("http://%s:%d/healthz" % (HOST, port))
    assert r.returncode == 1 and "cannot connect: Connection refused" in r.stderr
    r = probe("https://%s:%d/" % (HOST, port))
    assert r.returncode == 1 and "expected an http:// URL" in r.stderr
    r = probe("http://%s:0/" % HOST)
    assert r.returncode == 1 and "bad port" in r.stderr
    # Listening but never answering: the timeout ends it.
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(1)
        r = probe("http://%s:%d/" % (HOST, s.getsockname()[1]))
    assert r.returncode == 1 and "no answer within the timeout" in r.stderr
