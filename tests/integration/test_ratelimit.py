"""--read-rate/--read-burst and --write-rate/--write-burst (nghttpx's):
what h2gate reads from and writes to each client connection is held to a
token bucket, over HTTP/1.1, HTTP/2 and a CONNECT tunnel (which then is
not spliced: splice(2) would pass the bytes by the bucket).

The assertions bound how soon a transfer can have ended: a bucket that
starts full with BURST bytes and fills at RATE cannot let SIZE bytes
through in less than (SIZE - BURST - one record) / RATE seconds. A loaded
machine only makes a transfer later, never sooner, so the bound cannot
fail for lack of speed; each transfer is also checked whole."""

import socket
import time

import pytest

from conftest import IS_NGHTTPX
from obs_lib import gate_with_admin, scrape
from testlib import HOST, curl
from tunnel_lib import TargetServer, h1_tunnel, sink_source_handler

RATE = 256 * 1024
BURST = 64 * 1024
SIZE = 576 * 1024
RECORD = 16 * 1024      # the most a write may overshoot its allowance
LEAST = (SIZE - BURST - RECORD) / RATE      # 1.94 s

CLIENTS = ["h1", "h2c", "h1-tls", "h2-tls"]


def timed_curl(g, client, path, args=()):
    """curl through g as client; (seconds, CompletedProcess)."""
    tls = client.endswith("-tls")
    proto = "--http1.1" if client.startswith("h1") else \
        "--http2" if tls else "--http2-prior-knowledge"
    url = "%s://%s:%d%s" % ("https" if tls else "http", HOST,
                            g.tls_port if tls else g.port, path)
    t0 = time.monotonic()
    p = curl(["-k", "-o", "-", "--max-time", "60", proto, *args, url])
    return time.monotonic() - t0, p


def waits(g, direction):
    return scrape(g.admin_port).get("h2gate_client_rate_limit_waits_total",
                                    direction=direction)


@pytest.mark.parametrize("client", CLIENTS)
def test_write_rate(procs, client):
    """The response is held; h2gate_client_rate_limit_waits_total counts
    the waits (at least one a refill of a record's worth)."""
    g = gate_with_admin(procs, [procs.origin()],
                        extra=["--write-rate=%d" % RATE, "--write-burst=%d" % BURST])
    elapsed, p = timed_curl(g, client, "/size/%d" % SIZE)
    assert p.returncode == 0 and len(p.stdout) == SIZE, p.stderr
    assert elapsed >= LEAST, elapsed
    assert waits(g, "out") >= (SIZE - BURST) // (RECORD * 2) and waits(g, "in") == 0


@pytest.mark.parametrize("client", CLIENTS)
def test_read_rate(procs, client, tmp_path):
    """The upload is held; the echo coming back is not (no --write-rate).
    Over TLS a read cut short leaves decrypted bytes in BoringSSL, which
    the socket never signals: reading must go on from them."""
    body = tmp_path / "body"
    body.write_bytes(b"r" * SIZE)
    g = gate_with_admin(procs, [procs.origin()],
                        extra=["--read-rate=%d" % RATE, "--read-burst=%d" % BURST])
    elapsed, p = timed_curl(g, client, "/echo", ["-H", "Expect:", "--data-binary",
                                                 "@%s" % body])
    assert p.returncode == 0 and p.stdout == b"r" * SIZE, p.stderr
    assert elapsed >= LEAST, elapsed
    assert waits(g, "in") >= (SIZE - BURST) // (RECORD * 2) and waits(g, "out") == 0


@pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's CONNECT gateway")
def test_write_rate_holds_a_cleartext_tunnel(procs):
    """A cleartext HTTP/1.1 tunnel would be spliced without a limit; with
    --write-rate it is not, and the target's bytes come no faster."""
    srv = TargetServer(sink_source_handler(b"t" * SIZE))
    try:
        target = "%s:%d" % (HOST, srv.port)
        g = procs.gate((), tls=False, extra=["--connect-allow=" + target,
                                             "--write-rate=%d" % RATE,
                                             "--write-burst=%d" % BURST])
        t0 = time.monotonic()
        c, r = h1_tunnel(g.port, target, timeout=60)
        with c:
            assert r.status == 200, r
            got = c.recv_some(SIZE)
            elapsed = time.monotonic() - t0
            c.sock.shutdown(socket.SHUT_WR)
        assert got == b"t" * SIZE
        assert elapsed >= LEAST, elapsed
    finally:
        srv.stop()
