"""Bursty, stopped and vanishing readers over TLS. The records of one
write leave in one send, and what the kernel does not take waits on the
connection until the socket drains (proxy/tlsbio.c): every byte arrives
in order, memory stays bounded while a reader stops, and a reader that
goes away mid-download leaves nothing behind and harms no one else."""

import socket
import ssl
import struct
import time

from testlib import H2Client, bursty_read, rss_kib

# build/origin's /size/N body: a 64 KiB block of 16-byte lines, the
# offset in hex, repeated.
BLOCK = b"".join(b"%015x\n" % (i * 16) for i in range(4096))


def origin_body(n):
    return (BLOCK * (n // len(BLOCK) + 1))[:n]


def tls_h1(port, rcvbuf=32768, timeout=30):
    """A TLS connection speaking HTTP/1.1 (ALPN http/1.1), with a small
    receive buffer so that h2gate's sends fill it."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(timeout)
    raw.connect(("127.0.0.1", port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    assert s.selected_alpn_protocol() == "http/1.1"
    return s


def get(s, size):
    s.sendall(b"GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)


def test_bursty_tls_http11_reader_gets_every_byte(procs):
    g = procs.gate([procs.origin()], plain=False)
    size = 8 * 1024 * 1024
    want = origin_body(size)
    for _ in range(2):
        s = tls_h1(g.tls_port)
        try:
            get(s, size)
            head, body = bursty_read(s, size, pause=0.01, timeout=60)
        finally:
            s.close()
        assert head.startswith(b"HTTP/1.1 200 "), head[:100]
        assert len(body) == size
        assert body == want


def test_tls_h2_reader_small_buffer_gets_every_byte(procs):
    """Over HTTP/2, through a small receive buffer, the records carry DATA
    frames of two streams at once: both bodies arrive whole, each in
    order."""
    g = procs.gate([procs.origin()], plain=False)
    sizes = (3 * 1024 * 1024, 2 * 1024 * 1024 + 17)
    with H2Client(g.tls_port, tls=True, timeout=60) as c:
        c.conn.increment_flow_control_window(32 * 1024 * 1024)
        c.flush()
        sids = [c.request("/size/%d" % n) for n in sizes]
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        for st in c.wait_streams(sids):
            assert st.status == 200 and st.ended
        for sid, n in zip(sids, sizes):
            assert bytes(c.streams[sid].data) == origin_body(n)


def test_stopped_tls_reader_bounded(procs):
    """A TLS client that stops reading a 100 MiB response: h2gate's memory
    stays within a fixed bound (what waits unsent is a record or so, not
    the response), and the client gets on where it stopped."""
    g = procs.gate([procs.origin()], plain=False)
    s = tls_h1(g.tls_port, rcvbuf=4096)
    try:
        warm = tls_h1(g.tls_port)
        get(warm, 1000)
        assert bursty_read(warm, 1000)[1] == origin_body(1000)
        warm.close()
        base = rss_kib(g.pid)
        size = 100 * 1024 * 1024
        get(s, size)
        head, body = bursty_read(s, 1 << 20, timeout=30)
        assert head.startswith(b"HTTP/1.1 200 ")
        peak = 0
        for _ in range(15):
            peak = max(peak, rss_kib(g.pid))
            time.sleep(0.2)
        assert peak - base < 32 * 1024, (base, peak)
        more = bytearray(body)
        s.setblocking(True)
        s.settimeout(30)
        while len(more) < 2 * 1024 * 1024:
            more += s.recv(1 << 16)
        assert bytes(more[:2 * 1024 * 1024]) == origin_body(2 * 1024 * 1024)
    finally:
        s.close()


def test_vanishing_tls_readers_leave_nothing_behind(procs):
    """Clients that reset the connection while h2gate has records waiting
    for them: h2gate frees what waited (AddressSanitizer's leak check at
    exit), counts the connections closed, and serves the next client."""
    g = procs.gate([procs.origin()], plain=False)
    for _ in range(8):
        s = tls_h1(g.tls_port, rcvbuf=4096)
        get(s, 50 * 1024 * 1024)
        head, _ = bursty_read(s, 256 * 1024, timeout=30)
        assert head.startswith(b"HTTP/1.1 200 ")
        time.sleep(0.1)  # h2gate's socket full again: records wait
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    s = tls_h1(g.tls_port)
    try:
        get(s, 300000)
        head, body = bursty_read(s, 300000)
    finally:
        s.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == origin_body(300000)
    assert g.popen.poll() is None
