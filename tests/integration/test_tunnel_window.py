"""Receive windows of HTTP/2 CONNECT tunnels (issue 15 item 4,
proxy/h2win.h): a tunnel whose target takes bytes as fast as the client
sends them gets its stream window (and the connection's) raised past the
initial 65535 by WINDOW_UPDATEs; a tunnel whose target reads nothing gets
no more credit than its window, the client is blocked at a bounded amount,
and the other tunnels on the connection go on (the stuck stream holds no
connection-level credit).

Assertions are on the WINDOW_UPDATE frames the client receives and on the
bytes that arrive; waits are bounded polls for a state.
"""

import collections
import hashlib
import socket
import time

import h2.events
import pytest

from conftest import IS_NGHTTPX
from testlib import HOST, rss_kib
from tunnel_lib import (MIB, TargetServer, TunnelH2, echo_handler,
                        echo_rounds, random_bytes, sha, sink_source_handler)

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="nghttpx forwards CONNECT to a backend; h2gate "
                       "terminates it")

INITIAL = 65535                 # h2gate's default stream and connection window
STREAM_MAX = 16 * MIB           # H2WIN_STREAM_MAX, proxy/h2win.h


@pytest.fixture
def target():
    """target(handler, **kw): a TargetServer stopped at teardown."""
    made = []

    def make(handler, **kw):
        s = TargetServer(handler, **kw)
        made.append(s)
        return s
    yield make
    for s in reversed(made):
        s.stop()


def addr(port):
    return "%s:%d" % (HOST, port)


class WindowTunnel(TunnelH2):
    """Counts the WINDOW_UPDATE increments h2gate sends, by stream (0: the
    connection), and the bytes it sent on each stream; .peak[sid] is the
    most credit the client ever held (initial window + increments - bytes
    sent): above 65535 only if h2gate raised that window."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.increments = collections.Counter()
        self.sent = collections.Counter()
        self.peak = collections.Counter()

    def credit(self, sid):
        return INITIAL + self.increments[sid] - self.sent[sid]

    def on_event(self, ev):
        if isinstance(ev, h2.events.WindowUpdated):
            self.increments[ev.stream_id] += ev.delta
            sid = ev.stream_id
            self.peak[sid] = max(self.peak[sid], self.credit(sid))
        super().on_event(ev)

    def send_some(self, sid, view):
        """Sends what the windows allow of view now (at most one frame at
        a time, keeping under 1 MiB queued); returns how much."""
        n = 0
        while n < len(view):
            room = min(self.conn.local_flow_control_window(sid),
                       self.conn.max_outbound_frame_size, len(view) - n)
            if room <= 0 or len(self.outbuf) >= MIB:
                break
            self.conn.send_data(sid, bytes(view[n:n + room]))
            self.sent[sid] += room
            self.sent[0] += room
            n += room
            self.flush()
        return n


def test_window_grows_for_a_prompt_target(procs, target):
    """24 MiB up one tunnel whose target reads at once: h2gate raises the
    stream window and the connection window past 65535 (the client at
    some point holds more credit than the initial window), never the
    stream's past H2WIN_STREAM_MAX, and the target gets exactly the bytes
    sent."""
    srv = target(sink_source_handler(b""))
    g = procs.gate((), extra=["--connect-allow=127.0.0.1:%d" % srv.port],
                   tls=False)
    blob = random_bytes(24 * MIB)
    with WindowTunnel(g.port, timeout=60) as c:
        sid = c.open_wait(addr(srv.port))
        assert c.streams[sid].status == 200, c.streams[sid]
        view = memoryview(blob)
        deadline = time.monotonic() + 120
        while view:
            assert time.monotonic() < deadline, c.sent[sid]
            view = view[c.send_some(sid, view):]
            if view:
                c.poll(0.05)
        c.end(sid)
        got, digest, _ = srv.wait_results(1, timeout=60)[0]
        assert got == len(blob)
        assert digest == sha(blob)
        c.wait(lambda: c.streams[sid].done)
        assert c.streams[sid].reset is None, c.streams[sid]
    assert c.peak[sid] > INITIAL, (c.peak, c.increments)
    assert c.peak[sid] <= STREAM_MAX, (c.peak, c.increments)
    assert c.peak[0] > INITIAL, (c.peak, c.increments)


def quiet_sink_handler(srv, c):
    """Accepts and never reads (until the server stops)."""
    srv.stopping.wait()


def kernel_max(name):
    """The largest buffer the kernel's autotuning gives a TCP socket
    (the third figure of net.ipv4.tcp_rmem or tcp_wmem)."""
    with open("/proc/sys/net/ipv4/" + name) as f:
        return int(f.read().split()[2])


def test_window_stops_for_a_target_that_reads_nothing(procs, target):
    """A tunnel whose target never reads: h2gate's credit stops, the
    client is blocked with its stream window at zero after at most a
    stream window (H2WIN_STREAM_MAX) plus what the two kernel sockets
    hold; no WINDOW_UPDATE for that stream follows, the connection window
    is not held by it, and an echo tunnel opened on the same connection
    afterwards moves 400 KiB both ways (more than the 64 KiB connection
    window the stuck stream would otherwise hold)."""
    rcvbuf = 64 * 1024
    stuck_srv = target(quiet_sink_handler, rcvbuf=rcvbuf)
    echo = target(echo_handler)
    g = procs.gate((), extra=["--connect-allow=127.0.0.1:*"], tls=False)
    base = rss_kib(g.pid)
    blob = memoryview(b"\xab" * (100 * MIB))
    with WindowTunnel(g.port, timeout=30) as c:
        stuck = c.open_wait(addr(stuck_srv.port))
        assert c.streams[stuck].status == 200, c.streams[stuck]
        last_change = time.monotonic()
        deadline = last_change + 120
        while time.monotonic() - last_change < 1.0:
            assert time.monotonic() < deadline, c.sent[stuck]
            n = c.send_some(stuck, blob[c.sent[stuck]:])
            if n:
                last_change = time.monotonic()
            else:
                c.poll(0.2)
        sent = c.sent[stuck]
        # The kernel holds at most its autotuning's maximum on h2gate's
        # side and twice SO_RCVBUF on the target's.
        bound = STREAM_MAX + kernel_max("tcp_wmem") + 2 * rcvbuf + INITIAL
        assert sent <= bound, (sent, bound)
        assert c.credit(stuck) == 0, (c.increments, c.sent)
        increments = c.increments[stuck]
        c.poll(1.0)
        assert c.increments[stuck] == increments, "credit after the stall"
        assert c.conn.outbound_flow_control_window > 0, (c.increments,
                                                         c.sent)
        rss = rss_kib(g.pid)
        assert rss < base + 32 * 1024, \
            "VmRSS %d KiB, baseline %d KiB, client sent %d" % (rss, base, sent)

        fast = c.open_wait(addr(echo.port))
        stf = c.streams[fast]
        assert stf.status == 200, stf
        assert echo_rounds(c, fast, 50, 8192) > 400 * 1024
        assert c.credit(stuck) == 0
        c.reset(stuck)


def fin_first_slow_reader_handler(srv, c):
    """Half-closes at once (h2gate ends the client's stream), then reads
    slowly, 64 KiB every 5 ms, to EOF; reports (bytes, sha256)."""
    c.shutdown(socket.SHUT_WR)
    h = hashlib.sha256()
    got = 0
    while True:
        data = srv.recv(c, 65536)
        if not data:
            break
        h.update(data)
        got += len(data)
        time.sleep(0.005)
    srv.report((got, h.hexdigest()))
    c.close()


@pytest.mark.parametrize("client_closes", [False, True],
                         ids=["stream-done", "client-closes"])
def test_last_bytes_reach_a_slow_target_after_both_ends(procs, target,
                                                         client_closes):
    """The target half-closes first, then reads slowly through a small
    socket buffer: when the client's END_STREAM closes the stream, h2gate
    still holds bytes for the target; they are written, then the FIN, and
    the target gets exactly what was sent, also when the client closes
    its connection right after its END_STREAM (client-closes). Once the
    exchange was freed with them, cutting the upload short."""
    srv = target(fin_first_slow_reader_handler, rcvbuf=16 * 1024)
    g = procs.gate((), extra=["--connect-allow=127.0.0.1:%d" % srv.port],
                   tls=False)
    # More than the kernel holds on h2gate's side (its autotuned send
    # buffer), so the backlog is h2gate's own when the stream closes.
    blob = random_bytes(kernel_max("tcp_wmem") + 8 * MIB)
    with WindowTunnel(g.port, timeout=60) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        if client_closes:
            c.send_all({sid: blob}, end_stream=True, timeout=120)
            deadline = time.monotonic() + 60
            while c.outbuf:
                c.pump_once(deadline)
        else:
            c.send_all({sid: blob}, end_stream=True, until=lambda: st.done,
                       timeout=120)
            assert st.ended and st.reset is None, st
    got, digest = srv.wait_results(1, timeout=120)[0]
    assert got == len(blob)
    assert digest == sha(blob)
