"""TLS dynamic record size (nghttpx's --tls-dyn-rec-warmup-threshold and
--tls-dyn-rec-idle-timeout): small records (at most 1300 bytes of
plaintext) until a connection has written the threshold's bytes, full
16K ones after, small again once its output stayed drained longer than
the idle timeout.

A relay between the client and the TLS frontend reads the TLS record
headers the server sends. The client speaks TLS 1.2 with an AES-GCM
suite, so application data records are the only records of type 23 and
each carries its plaintext plus 24 bytes (explicit nonce and tag)."""

import signal
import socket
import ssl
import struct
import threading
import time

import pytest

from conftest import IS_NGHTTPX, free_port, run_gate
from h2backend_lib import wait_for
from obs_lib import gate_with_admin, scrape
from testlib import HOST, curl_code

APP_DATA = 23
GCM = 24                 # TLS 1.2 AES-GCM: 8-byte explicit nonce, 16-byte tag
SMALL = 1300             # plaintext of a small record
FULL = 16384             # plaintext of a record at most
BIG = 16000              # a full one: an HTTP/1.1 body block (16,375 bytes)


class RecordRelay:
    """Accepts one connection on .port, relays it to target_port both
    ways and notes (type, length) of every TLS record the server sends
    (each noted before its bytes go on to the client)."""

    def __init__(self, target_port):
        self.lsock = socket.socket()
        self.lsock.bind((HOST, 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.target_port = target_port
        self.lock = threading.Lock()
        self.records = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def app_records(self):
        with self.lock:
            return [n for t, n in self.records if t == APP_DATA]

    def _pump(self, src, dst, parse):
        pending = b""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            if parse:
                pending += data
                while len(pending) >= 5:
                    rtype, _, length = struct.unpack("!BHH", pending[:5])
                    if len(pending) < 5 + length:
                        break
                    with self.lock:
                        self.records.append((rtype, length))
                    pending = pending[5 + length:]
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _run(self):
        client, _ = self.lsock.accept()
        server = socket.create_connection((HOST, self.target_port), timeout=30)
        up = threading.Thread(target=self._pump, args=(client, server, False), daemon=True)
        up.start()
        self._pump(server, client, True)
        up.join(30)
        client.close()
        server.close()
        self.lsock.close()


def tls12_conn(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE+AESGCM")
    raw = socket.create_connection((HOST, port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def get(s, size):
    """GET /size/SIZE over HTTP/1.1 keep-alive on s; the body's length."""
    s.sendall(b"GET /size/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % size)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        assert chunk, got
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    while len(body) < size:
        chunk = s.recv(65536)
        assert chunk, len(body)
        body += chunk
    assert len(body) == size
    return len(body)


def gate(procs, *opts):
    o = procs.origin()
    return procs.gate([o], plain=False, extra=list(opts))


def h1_records(port, size):
    """The application data records of one GET /size/SIZE over HTTP/1.1
    on a fresh TLS connection to port, through a relay."""
    relay = RecordRelay(port)
    s = tls12_conn(relay.port)
    get(s, size)
    s.close()
    return relay.app_records()


def warmed_up(recs, threshold):
    """The threshold's bytes went in small records, the record reaching it
    the last small one, then records as large as the writes (a backend
    read may leave a buffer block part full), not a run of small ones."""
    total, n = small_run(recs)
    assert threshold <= total < threshold + SMALL, (total, recs[:n + 2])
    assert BIG + GCM <= max(recs[n:]) <= FULL + GCM
    assert len(recs) - n < (sum(r - GCM for r in recs) - total) // SMALL // 4, recs[n:]
    return n


def small_run(records):
    """The plaintext bytes of the leading small records (before the first
    longer one), and how many there were."""
    total = n = 0
    for length in records:
        if length > SMALL + GCM:
            break
        total += length - GCM
        n += 1
    return total, n


def h2_get(port, size):
    """GET /size/SIZE with curl over HTTP/2 (TLS 1.2, AES-GCM)."""
    version, code, body, p = curl_code(
        ["-k", "--http2", "--tls-max", "1.2", "--ciphers", "ECDHE+AESGCM",
         "https://localhost:%d/size/%d" % (port, size),
         "--resolve", "localhost:%d:%s" % (port, HOST)])
    assert (version, code, len(body)) == ("2", "200", size), p.stderr


def test_small_records_until_the_default_megabyte(procs):
    g = gate(procs)
    recs = h1_records(g.tls_port, 300000)
    assert recs and max(recs) <= SMALL + GCM, max(recs)
    assert sum(n - GCM for n in recs) >= 300000
    # Not one record per write: the body goes out in 1300-byte records
    # (with a shorter one at the end of each 16,375-byte buffer block).
    assert sum(SMALL for n in recs if n == SMALL + GCM) >= 0.9 * 300000


def test_http2_small_then_full_records(procs):
    """Over HTTP/2 a full record is a DATA frame with its header (16,384
    bytes): the warm-up cuts it in 1,300-byte records, then sends it
    whole."""
    g = gate(procs, "--tls-dyn-rec-warmup-threshold=64K")
    relay = RecordRelay(g.tls_port)
    h2_get(relay.port, 300000)
    recs = relay.app_records()
    n = warmed_up(recs, 65536)
    assert sum(SMALL for r in recs[:n] if r == SMALL + GCM) >= 0.9 * 65536


def test_full_records_after_the_threshold(procs):
    g = gate(procs, "--tls-dyn-rec-warmup-threshold=64K")
    warmed_up(h1_records(g.tls_port, 300000), 65536)


def test_threshold_zero_writes_full_records_at_once(procs):
    g = gate(procs, "--tls-dyn-rec-warmup-threshold=0")
    recs = h1_records(g.tls_port, 300000)
    assert BIG + GCM <= max(recs) <= FULL + GCM
    assert len(recs) < 300000 // SMALL // 4, recs


def two_gets(g, pause):
    """300,000 then 150,000 bytes on one TLS connection, pause seconds
    apart: the records of each response."""
    relay = RecordRelay(g.tls_port)
    s = tls12_conn(relay.port)
    get(s, 300000)
    first = len(relay.app_records())
    time.sleep(pause)
    get(s, 150000)
    s.close()
    recs = relay.app_records()
    return recs[:first], recs[first:]


def test_idle_connection_starts_the_warmup_over(procs):
    g = gate(procs, "--tls-dyn-rec-warmup-threshold=64K",
             "--tls-dyn-rec-idle-timeout=200ms")
    first, second = two_gets(g, 1.0)   # five times the idle timeout
    assert max(first) >= BIG + GCM
    warmed_up(second, 65536)


def test_busy_connection_keeps_full_records(procs):
    """Drained for less than the idle timeout: the next response goes on
    in full records."""
    g = gate(procs, "--tls-dyn-rec-warmup-threshold=64K",
             "--tls-dyn-rec-idle-timeout=60s")
    _, second = two_gets(g, 0)
    # No new warm-up: at most the head and a short first read go out
    # before records as large as the writes.
    total, _ = small_run(second)
    assert total < FULL, second[:8]
    assert max(second) >= BIG + GCM


@pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's reload counters")
def test_reload_applies_to_the_next_records(procs, tmp_path):
    o = procs.origin()
    conf = tmp_path / "h2gate.conf"
    conf.write_text("tls-dyn-rec-warmup-threshold=0\n")
    g = gate_with_admin(procs, [o], tls=True, plain=False,
                        extra=["--conf=%s" % conf])

    assert max(h1_records(g.tls_port, 100000)) >= BIG + GCM
    conf.write_text("tls-dyn-rec-warmup-threshold=1M\n")
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(g.admin_port).get("h2gate_config_generation") == 2, 15.0)
    assert max(h1_records(g.tls_port, 100000)) <= SMALL + GCM


def test_bad_values_are_refused(procs):
    for opt in ("--tls-dyn-rec-warmup-threshold=-1", "--tls-dyn-rec-warmup-threshold=1X",
                "--tls-dyn-rec-idle-timeout=soon"):
        r = run_gate(["-f", "%s,%d;no-tls" % (HOST, free_port()), "-b", "%s,1" % HOST, opt])
        assert r.returncode != 0, opt
        assert "tls-dyn-rec" in r.stderr, (opt, r.stderr)
