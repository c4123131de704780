"""A client that stops reading a 100 MiB response must not make the proxy
buffer it: h2gate's resident memory stays within a fixed bound of its
baseline while the origin could send much faster than the client reads."""

import os
import subprocess
import time

from testlib import H1Conn, H2Client, bursty_read, curl, rss_kib

BIG = 100 * 1024 * 1024
READ_FIRST = 1024 * 1024
BOUND_KIB = 32 * 1024          # baseline + 32 MiB
HOLD_SECONDS = 3.0


def baseline(g):
    # Warm up allocator and pools with one small exchange first.
    with H2Client(g.port) as c:
        sid = c.request("/size/1000")
        assert c.wait_streams([sid])[0].status == 200
    with H1Conn(g.port) as c:
        c.send(b"GET /size/1000 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_response().status == 200
    return rss_kib(g.pid)


def peak_rss_while_idle(g):
    peak = 0
    end = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < end:
        peak = max(peak, rss_kib(g.pid))
        time.sleep(0.2)
    return peak


def test_slow_h2_reader_bounded(procs):
    g = procs.gate([procs.origin()], tls=False)
    base = baseline(g)
    with H2Client(g.port, timeout=30) as c:
        # Default 65535-byte windows; credit is given back only for the
        # first MiB, then never again.
        sid = c.request("/size/%d" % BIG)
        st = c.streams[sid]
        c.wait(lambda: len(st.data) >= READ_FIRST or st.done)
        assert st.status == 200 and not st.done, st
        c.auto_ack = False
        peak = peak_rss_while_idle(g)
        assert st.reset is None
        assert len(st.data) < READ_FIRST + 2 * 65536 + 16384
    print("rss base %d KiB peak %d KiB" % (base, peak))
    assert peak - base < BOUND_KIB, (base, peak)


def test_slow_http11_reader_bounded(procs):
    g = procs.gate([procs.origin()], tls=False)
    base = baseline(g)
    with H1Conn(g.port, timeout=30, rcvbuf=4096) as c:
        c.send(b"GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n" % BIG)
        got = c.recv_some(READ_FIRST)
        assert got.startswith(b"HTTP/1.1 200 ")
        peak = peak_rss_while_idle(g)
    print("rss base %d KiB peak %d KiB" % (base, peak))
    assert peak - base < BOUND_KIB, (base, peak)


def test_slow_h2_reader_does_not_starve_neighbour(procs):
    """DESIGN.md: a fast stream is never starved by a slow neighbour on the
    same connection (the slow one holds no connection-level credit)."""
    g = procs.gate([procs.origin()], tls=False)
    with H2Client(g.port, timeout=30) as c:
        # Plenty of connection-level credit: only the slow stream's own
        # window may run dry.
        c.conn.increment_flow_control_window(16 * 1024 * 1024)
        c.flush()
        slow = c.request("/size/%d" % BIG)
        c.wait(lambda: len(c.streams[slow].data) >= 65535 // 2)
        # Stop returning credit for the slow stream only.
        c.auto_ack = False
        fast = c.request("/size/300000")
        st = c.streams[fast]

        def ack_fast_only():
            n = len(st.data) - ack_fast_only.acked
            if n:
                c.conn.acknowledge_received_data(n, fast)
                c.flush()
                ack_fast_only.acked += n
            return st.done
        ack_fast_only.acked = 0
        c.wait(ack_fast_only)
        assert st.status == 200 and st.ended and len(st.data) == 300000


def test_bursty_http11_reader_gets_whole_body(procs):
    """Regression: a write that emptied the client's queue ended the flush
    pass while the response body still waited in the exchange (over the
    high-water mark, the backend paused); nothing woke the connection
    again and the response stalled after a few MiB."""
    g = procs.gate([procs.origin()], tls=False)
    size = 8 * 1024 * 1024
    for _ in range(3):
        with H1Conn(g.port, timeout=30, rcvbuf=32768) as c:
            c.send(b"GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
            head, body = bursty_read(c.sock, size)
            assert head.startswith(b"HTTP/1.1 200 "), head[:100]
            assert len(body) == size, (len(body), size)


# Each transfer below moves 8 MiB each way over loopback; this bounds a
# stalled one (the bug) so the test fails instead of hanging.
TRANSFER_BOUND = 60
# Rounds of h2, h1, h1. The pre-fix binary stalled in about one round in
# eight here; 24 rounds catch it nearly every run.
ECHO_ROUNDS = 24


def test_h1_echo_after_h2_echo_on_reused_backend(procs, tmp_path):
    """Issue 9, bug 1: with one worker and one HTTP/1.1 backend, an 8 MiB
    POST over h2c (nghttp) and then the same POST over HTTP/1.1 (curl)
    left the second response stalled after a few MiB, and the next
    HTTP/1.1 request got 100 Continue and nothing else. The HTTP/1.1
    clients reuse the backend connection the HTTP/2 exchange returned to
    the pool. Root cause: the lost wakeup in the flush pass fixed in
    cfa8a09 (see test_bursty_http11_reader_gets_whole_body). The sequence
    h2, h1, h1 runs ECHO_ROUNDS times; every response is the whole body,
    byte for byte."""
    g = procs.gate([procs.origin()], tls=False, workers=1)
    size = 8 * 1024 * 1024
    body_path = tmp_path / "body"
    body = os.urandom(size)
    body_path.write_bytes(body)
    url = "http://127.0.0.1:%d/echo" % g.port

    def via_nghttp():
        p = subprocess.run(["nghttp", "-t", str(TRANSFER_BOUND), "-d",
                            str(body_path), url],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TRANSFER_BOUND + 10,
                           check=False)
        return p.returncode, p.stdout, p.stderr

    def via_curl():
        p = curl(["--http1.1", "--max-time", str(TRANSFER_BOUND),
                  "--data-binary", "@%s" % body_path,
                  "-H", "Content-Type: application/octet-stream", url],
                 timeout=TRANSFER_BOUND + 10)
        return p.returncode, p.stdout, p.stderr

    for rnd in range(ECHO_ROUNDS):
        for name, send in (("nghttp", via_nghttp), ("curl", via_curl),
                           ("curl", via_curl)):
            rc, out, err = send()
            assert rc == 0 and len(out) == size, \
                (rnd, name, rc, len(out), err[-500:])
            assert out == body, (rnd, name, "body differs")
