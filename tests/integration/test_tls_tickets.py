"""Session resumption by tickets: the process key ring shared by every
worker thread, and --tls-ticket-key-file shared by processes."""

import os
import re
import socket
import ssl

import pytest

from conftest import IS_NGHTTPX, free_port, run_gate
from h2backend_lib import wait_for
from obs_lib import scrape, stats_json
from testlib import HOST

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's metrics")


def client_ctx(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def open_conn(ctx, port, session=None):
    """A TLS connection that made one HTTP/1.1 request (so a TLS 1.3
    ticket has arrived) and stays open."""
    raw = socket.create_connection((HOST, port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    s.sendall(b"GET /size/1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = b""
    while True:
        head, sep, body = got.partition(b"\r\n\r\n")
        if sep:
            n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            if len(body) >= n:
                break
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got
    return s


def busy_worker(admin_port, before):
    """The index of the worker whose open connections grew since before."""
    def now():
        return [w["connections_active"] for w in stats_json(admin_port)["workers"]]
    assert wait_for(lambda: sum(now()) == sum(before) + 1, 10)
    cur = now()
    grew = [i for i, (a, b) in enumerate(zip(before, cur)) if b > a]
    assert len(grew) == 1, (before, cur)
    return grew[0], cur


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_ticket_resumes_on_another_worker(procs, version):
    o = procs.origin()
    aport = free_port()
    g = procs.gate([o], extra=["--admin=%s,%d" % (HOST, aport)], plain=False, workers=4)
    g.wait_port(aport)
    ctx = client_ctx(version)
    idle = [0, 0, 0, 0]
    crossed = resumed = 0
    for _ in range(40):
        first = open_conn(ctx, g.tls_port)
        a, held = busy_worker(aport, idle)
        assert not first.session_reused
        second = open_conn(ctx, g.tls_port, session=first.session)
        b, _ = busy_worker(aport, held)
        assert second.session_reused
        resumed += 1
        crossed += a != b
        second.close()
        first.close()
        assert wait_for(lambda: sum(w["connections_active"] for w in
                                    stats_json(aport)["workers"]) == 0, 10)
        if crossed >= 3:
            break
    assert crossed >= 3, "every resumption landed on the issuing worker"
    snap = scrape(aport)
    assert snap.get("h2gate_tls_resumptions_total") == resumed


def key_file(path, n):
    path.write_bytes(bytes([n]) * 16 + os.urandom(32))
    return path


def test_ticket_key_file_shared_by_two_processes(procs, tmp_path):
    o = procs.origin()
    k1 = key_file(tmp_path / "k1", 1)
    k2 = key_file(tmp_path / "k2", 2)
    a = procs.gate([o], extra=["--tls-ticket-key-file=%s" % k1], plain=False)
    b = procs.gate([o], extra=["--tls-ticket-key-file=%s" % k2,
                               "--tls-ticket-key-file=%s" % k1], plain=False)
    c = procs.gate([o], extra=["--tls-ticket-key-file=%s" % k2], plain=False)
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = client_ctx(version)
        s = open_conn(ctx, a.tls_port)
        # b decrypts k1's tickets (its second key) ...
        s2 = open_conn(ctx, b.tls_port, session=s.session)
        assert s2.session_reused
        # ... c, without k1, cannot: a full handshake.
        s3 = open_conn(ctx, c.tls_port, session=s.session)
        assert not s3.session_reused
        # b's own tickets (k2) resume on c, not on a.
        t = open_conn(ctx, b.tls_port)
        assert open_conn(ctx, c.tls_port, session=t.session).session_reused
        assert not open_conn(ctx, a.tls_port, session=t.session).session_reused


def test_ticket_key_file_aes256_and_reload(procs, tmp_path):
    import signal
    o = procs.origin()
    k = tmp_path / "k"
    k.write_bytes(b"\x07" * 16 + os.urandom(64))
    aport = free_port()
    g = procs.gate([o], plain=False, extra=["--tls-ticket-key-file=%s" % k,
                                            "--tls-ticket-key-cipher=aes-256-cbc",
                                            "--admin=%s,%d" % (HOST, aport)])
    g.wait_port(aport)
    ctx = client_ctx(ssl.TLSVersion.TLSv1_3)
    s = open_conn(ctx, g.tls_port)
    assert open_conn(ctx, g.tls_port, session=s.session).session_reused
    k.write_bytes(b"\x08" * 16 + os.urandom(64))   # a new key: old tickets die
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(aport).get("h2gate_config_generation") == 2, 10)
    assert not open_conn(ctx, g.tls_port, session=s.session).session_reused


@pytest.mark.parametrize("size,cipher,msg", [
    (47, "aes-128-cbc", "47 bytes, but aes-128-cbc needs exactly 48"),
    (48, "aes-256-cbc", "48 bytes, but aes-256-cbc needs exactly 80"),
    (100, "aes-256-cbc", "more than 80 bytes, but aes-256-cbc needs exactly 80"),
])
def test_bad_ticket_key_file(tls_files, tmp_path, size, cipher, msg):
    k = tmp_path / "k"
    k.write_bytes(b"x" * size)
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()), "--tls-ticket-key-file=%s" % k,
                  "--tls-ticket-key-cipher=" + cipher, str(tls_files[0]), str(tls_files[1])])
    assert r.returncode != 0
    assert "--tls-ticket-key-file %s: %s" % (k, msg) in r.stderr, r.stderr
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()),
                  "--tls-ticket-key-file=/nonexistent/k", str(tls_files[0]), str(tls_files[1])])
    assert "--tls-ticket-key-file /nonexistent/k: No such file" in r.stderr, r.stderr
