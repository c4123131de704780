"""Metrics without blind spots (issue 14): client, backend and tunnel bytes
apart; request latency without tunnels; per-member latency, connections
and wait queue; client TLS handshakes, failures and resumptions; CONNECT
refusals by cause; DNS lookups; the process collector and build info.

Every count is an exact delta between two scrapes of an idle h2gate, read
with prometheus_client's parser (obs_lib.Snapshot). No test depends on
how fast anything runs: waits are bounded polls for a state.
"""

import socket
import ssl
import subprocess
import time

import pytest

from conftest import H2GATE_BIN, IS_NGHTTPX, free_port
from dnsserver import DNSServer
from obs_lib import gate_with_admin, scrape, settle, stats_json
from testlib import HOST, H1Conn, H2Client, StreamResult
from tunnel_lib import TargetServer, echo_handler

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's admin listener")

# Every label name h2gate uses: none of them carries a client address, a
# path or anything else a client chooses (bounded cardinality).
# "certificate": one value per configured server certificate.
LABELS = {"protocol", "status_class", "direction", "error_code", "backend",
          "result", "kind", "cause", "version", "reason", "certificate", "le"}


def delta(before, after, name, **labels):
    return after.get(name, **labels) - before.get(name, **labels)


def member(port):
    return "%s:%d" % (HOST, port)


@pytest.fixture
def echo():
    s = TargetServer(echo_handler)
    yield s
    s.stop()


# ---------------------------------------------------------------------------
# bytes and latency


def test_client_bytes_are_exactly_what_the_client_moved(procs):
    """One HTTP/1.1 exchange on a raw socket: h2gate_client_bytes_total
    rose by exactly the bytes sent (in) and received (out); the backend
    side is its own family, the tunnel target family did not move."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False)
    before = settle(g.admin_port)
    req = (b"GET /size/1000 HTTP/1.1\r\nHost: a\r\nUser-Agent: bytes\r\n"
           b"Connection: close\r\n\r\n")
    with socket.create_connection((HOST, g.port), timeout=10) as s:
        s.sendall(req)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got[:100]
    assert len(got.split(b"\r\n\r\n", 1)[1]) == 1000, got[:300]
    after = settle(g.admin_port)
    assert delta(before, after, "h2gate_client_bytes_total",
                 direction="in") == len(req)
    assert delta(before, after, "h2gate_client_bytes_total",
                 direction="out") == len(got)
    assert delta(before, after, "h2gate_backend_bytes_total",
                 direction="out") > 0
    assert delta(before, after, "h2gate_backend_bytes_total",
                 direction="in") > 1000
    assert delta(before, after, "h2gate_tunnel_target_bytes_total") == 0


def test_member_latency_connections_and_idle(procs):
    """Five requests to an HTTP/1.1 member and three to an HTTP/2 one:
    each member's latency histogram counted exactly its requests; each
    holds one connection, idle once the requests are done (the keep-alive
    pool; an HTTP/2 session with no stream)."""
    h1 = procs.origin()
    h2 = procs.origin()
    g = gate_with_admin(procs, [h1.backend("/one/"),
                                "%s,%d;/two/;proto=h2" % (HOST, h2.port)],
                        tls=False)
    before = settle(g.admin_port)
    with H1Conn(g.port) as c:
        for _ in range(5):
            c.send(b"GET /one/x HTTP/1.1\r\nHost: a\r\n\r\n")
            assert c.read_response().status in (200, 404)
    with H2Client(g.port) as c:
        sids = [c.request("/two/y") for _ in range(3)]
        c.wait_streams(sids)
    hist = "h2gate_backend_request_duration_seconds_count"
    after = settle(g.admin_port, lambda s: s.get(hist) - before.get(hist) == 8
                   and s.get("h2gate_connections_active") == 0)
    assert delta(before, after, hist, backend=member(h1.port)) == 5
    assert delta(before, after, hist, backend=member(h2.port)) == 3
    for port in (h1.port, h2.port):
        assert after.get("h2gate_backend_connections_active",
                         backend=member(port)) == 1, port
        assert after.get("h2gate_backend_connections_idle",
                         backend=member(port)) == 1, port
    # The whole-proxy latency counted the same eight.
    assert delta(before, after, "h2gate_request_duration_seconds_count") == 8


def test_idle_backend_connection_closes_after_keep_alive(procs):
    """An HTTP/1.1 backend connection back in the pool closes once it has
    been idle --backend-keep-alive-timeout (the idle gauge falls to 0 and
    the next request connects anew); one reused sooner each time stays
    open however many times it went busy and idle, its timer not restarted
    per request (bconn.c arm_timer) but still honoured."""
    o = procs.origin(count=True)
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--backend-keep-alive-timeout=3s"])
    idle_gauge = "h2gate_backend_connections_idle"
    with H1Conn(g.port) as c:
        for _ in range(12):  # 3.6 s in all, never 3 s idle
            c.send(b"GET /size/10 HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
            assert r.status == 200 and len(r.body) == 10
            time.sleep(0.3)
    assert o.count() == 1
    settle(g.admin_port, lambda s: s.get(idle_gauge, backend=member(o.port)) == 0)
    assert o.count() == 1
    with H1Conn(g.port) as c:
        c.send(b"GET /size/10 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_response().status == 200
    assert o.count() == 2


def test_http2_session_bytes_follow_the_sessions(procs):
    """h2gate_http2_session_bytes (libnghttp2's memory, counted by h2gate's
    nghttp2_mem allocator) is 0 with no client session, above 0 while one
    is open (idle after a request), and back to exactly 0 once it closed:
    every byte nghttp2 took was counted and given back."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False)
    name = "h2gate_http2_session_bytes"
    assert settle(g.admin_port).get(name) == 0
    with H2Client(g.port) as c:
        c.wait_streams([c.request("/size/10")])
        assert scrape(g.admin_port).get(name) > 0
    after = settle(g.admin_port, lambda s: s.get("h2gate_connections_active") == 0)
    assert after.get(name) == 0


def awake_session_bytes(c, admin_port):
    """h2gate_http2_session_bytes while a stream to /stall is open on c
    (its response head came; a session with an open stream never sleeps),
    so that no read races a sleep; the stream is reset after."""
    sid = c.request("/stall")
    c.wait(lambda: c.streams[sid].headers is not None)
    n = scrape(admin_port).get("h2gate_http2_session_bytes")
    c.conn.reset_stream(sid)
    c.flush()
    return n


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_idle_http2_sessions_sleep_and_wake_whole(procs, tls):
    """A session with no stream and nothing read for a second sleeps: the
    gauge drops from its 32 KiB region to the small blob of its packed
    state (h2mem.c: how it differs from the worker's template, the first
    session that slept). Two connections with different request fields
    sleep; the next requests on each, whose fields the client's encoder
    indexed before the sleep, and the responses, whose fields h2gate's
    encoder indexed, decode as before."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], plain=not tls, tls=tls)
    name = "h2gate_http2_session_bytes"
    extras = ([("x-kept", "a value to index"), ("accept", "text/plain")],
              [("x-other", "another value, longer than the first one"), ("x-n", "2")])

    def serve(c, extra, paths):
        for path in paths:
            r = c.wait_streams([c.request(path, extra=extra)])[0]
            assert r.status == 200 and len(r.data) == int(path[6:])
            assert dict(r.headers)[b"content-length"] == path[6:].encode()

    port = g.tls_port if tls else g.port
    with H2Client(port, tls=tls) as a, H2Client(port, tls=tls) as b:
        clients = (a, b)
        for c, extra in zip(clients, extras):
            serve(c, extra, ["/size/10"])
        assert awake_session_bytes(a, g.admin_port) >= 32768
        asleep = settle(g.admin_port, lambda s: s.get(name) < 32768).get(name)
        assert asleep > 0
        for c, extra in zip(clients, extras):
            serve(c, extra, ["/size/10", "/size/20"])
        assert awake_session_bytes(b, g.admin_port) >= 32768
        assert a.goaway is None and b.goaway is None
    assert settle(g.admin_port, lambda s: s.get("h2gate_connections_active") == 0).get(name) == 0


def test_session_asleep_with_half_a_frame_header_read(procs):
    """A slow client: the first 5 bytes of a HEADERS frame's 9-byte header,
    then nothing. No stream is open yet, so the session sleeps with
    nghttp2's half-read frame in its packed state; the rest of the frame
    wakes it, and the request is answered as if it had come whole."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False)
    name = "h2gate_http2_session_bytes"
    with H2Client(g.port) as c:
        first = c.wait_streams([c.request("/size/10")])[0]
        assert first.status == 200
        assert awake_session_bytes(c, g.admin_port) >= 32768
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                                  (":authority", "localhost"), (":path", "/size/33")],
                            end_stream=True)
        c.streams[sid] = StreamResult()
        frame = c.conn.data_to_send()
        c.sock.sendall(frame[:5])
        settle(g.admin_port, lambda s: s.get(name) < 32768)
        c.sock.sendall(frame[5:])
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and len(r.data) == 33
        assert dict(r.headers)[b"content-length"] == b"33"
        assert c.goaway is None


def test_tunnel_counts_as_request_not_in_request_latency(procs, echo):
    """An opened CONNECT tunnel is a request (h2gate_requests_total) but
    its lifetime goes to the tunnel histogram, whose buckets reach a day;
    the request latency histogram does not see it."""
    g = gate_with_admin(procs, [procs.origin()], tls=False,
                        extra=["--connect-allow=127.0.0.1:*"])
    before = settle(g.admin_port)
    with H1Conn(g.port, timeout=10) as c:
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                % (member(echo.port), member(echo.port))).encode())
        assert c.read_response(method="HEAD").status == 200
        c.send(b"ping")
        assert c.recv_some(4) == b"ping"
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_to_eof() == b""
    after = settle(g.admin_port, lambda s: s.get(
        "h2gate_tunnel_duration_seconds_count") > before.get(
        "h2gate_tunnel_duration_seconds_count")
        and s.get("h2gate_connections_active") == 0)
    assert delta(before, after, "h2gate_requests_total") == 1
    assert delta(before, after, "h2gate_tunnel_duration_seconds_count") == 1
    assert delta(before, after, "h2gate_request_duration_seconds_count") == 0
    assert delta(before, after, "h2gate_tunnel_target_bytes_total",
                 direction="out") == 4
    assert delta(before, after, "h2gate_tunnel_target_bytes_total",
                 direction="in") == 4
    les = [float(s.labels["le"]) for s in after.families[
        "h2gate_tunnel_duration_seconds"].samples if "le" in s.labels]
    assert max(x for x in les if x != float("inf")) == 86400


def test_queue_length_and_overflows(procs, backends):
    """An HTTP/2 member allowing one stream, one session: two requests
    wait in the queue (h2gate_backend_queue_length 2), and both end 503
    when --backend-connect-timeout passes (two overflows)."""
    b = backends(max_streams=1)
    g = gate_with_admin(procs, [b.spec()], tls=False,
                        extra=["--backend-connections-per-host=1",
                               "--backend-connect-timeout=2s"])
    name = member(b.port)
    before = settle(g.admin_port)
    with H2Client(g.port) as c:
        sids = [c.request("/delay/3500") for _ in range(3)]
        settle(g.admin_port, lambda s: s.get(
            "h2gate_backend_queue_length", backend=name) == 2)
        rs = c.wait_streams(sids, timeout=20)
    assert sorted(r.status for r in rs) == [200, 503, 503]
    after = settle(g.admin_port)
    assert after.get("h2gate_backend_queue_length", backend=name) == 0
    assert delta(before, after, "h2gate_backend_queue_overflows_total",
                 backend=name) == 2


# ---------------------------------------------------------------------------
# CONNECT and DNS


def _connect(port, target, headers=b""):
    with H1Conn(port, timeout=10) as c:
        c.send(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n"
               % (target.encode(), target.encode(), headers))
        return c.read_response(method="HEAD").status


def test_connect_refusals_by_cause(procs, echo, tmp_path):
    """Each way a CONNECT gets no tunnel lands in its own cause, and the
    403s and 407s are the result="denied" ones: denied by rule, refused
    by the target, a name with no address, a bad request, a missing
    password."""
    dns = DNSServer()
    try:
        dead = free_port()
        g = gate_with_admin(procs, [procs.origin()], tls=False, extra=[
            "--connect-allow=127.0.0.1:*", "--connect-allow=*.test:*",
            "--dns-server=%s" % dns.addr])
        before = settle(g.admin_port)
        assert _connect(g.port, "127.0.0.2:%d" % echo.port) == 403
        assert _connect(g.port, member(dead)) == 502
        assert _connect(g.port, "nowhere.test:80") == 502
        assert _connect(g.port, "127.0.0.1") == 400
        after = settle(g.admin_port)
        causes = {c: delta(before, after, "h2gate_tunnel_failures_total",
                           cause=c)
                  for c in after.label_values("h2gate_tunnel_failures_total",
                                              "cause")}
        assert causes == {"denied": 1, "refused": 1, "dns": 1,
                          "bad_request": 1, "auth": 0, "timeout": 0,
                          "unreachable": 0, "limit": 0}, causes
        assert delta(before, after, "h2gate_tunnels_total",
                     result="denied") == 1
        assert delta(before, after, "h2gate_tunnels_total",
                     result="failed") == 3
        assert delta(before, after, "h2gate_dns_failures_total") == 1
    finally:
        dns.close()

    pw = tmp_path / "htpasswd"
    pw.write_text("u:%s\n" % subprocess.run(
        ["openssl", "passwd", "-6", "secret"], capture_output=True,
        check=True, text=True).stdout.strip())
    g = gate_with_admin(procs, [procs.origin()], tls=False, extra=[
        "--connect-allow=127.0.0.1:*", "--connect-auth-file=%s" % pw])
    before = settle(g.admin_port)
    assert _connect(g.port, member(echo.port)) == 407
    after = settle(g.admin_port)
    assert delta(before, after, "h2gate_tunnel_failures_total",
                 cause="auth") == 1
    assert delta(before, after, "h2gate_tunnels_total", result="denied") == 1
    assert echo.accepted == 0


def test_dns_lookups_cache_hits_and_failures(procs, echo):
    """Names looked up for CONNECT: the first lookup of a name asks the
    server, the second is a cache hit; an unknown name is a failure; an
    IP literal is no lookup at all."""
    dns = DNSServer(ttl=300)
    try:
        dns.set("svc.test", ["127.0.0.1"])
        g = gate_with_admin(procs, [procs.origin()], tls=False, extra=[
            "--connect-allow=127.0.0.1:*", "--connect-allow=*.test:*",
            "--dns-server=%s" % dns.addr])
        before = settle(g.admin_port)
        for target in ("svc.test", "svc.test", "gone.test", "127.0.0.1"):
            _connect(g.port, "%s:%d" % (target, echo.port))
        after = settle(g.admin_port)
        assert delta(before, after, "h2gate_dns_lookups_total") == 3
        assert delta(before, after, "h2gate_dns_cache_hits_total") == 1
        assert delta(before, after, "h2gate_dns_failures_total") == 1
        assert dns.count("svc.test") >= 1
    finally:
        dns.close()


# ---------------------------------------------------------------------------
# client TLS


def _tls_client(max_version=None, verify=False):
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if max_version:
        ctx.maximum_version = max_version
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _tls_get(port, ctx, session=None):
    """One HTTP/1.1 GET over TLS; returns the SSL socket's session and
    whether it was resumed."""
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost",
                             session=session) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
            return s.session, s.session_reused


def test_tls_handshakes_by_version_and_resumption(procs):
    """TLS 1.3 and TLS 1.2 handshakes land in their version; a second
    connection offering the first one's session resumes it and is counted
    as a resumption."""
    g = gate_with_admin(procs, [procs.origin()])
    before = settle(g.admin_port)
    ctx = _tls_client()
    sess, reused = _tls_get(g.tls_port, ctx)
    assert not reused
    _, reused = _tls_get(g.tls_port, ctx, session=sess)
    assert reused
    _tls_get(g.tls_port, _tls_client(max_version=ssl.TLSVersion.TLSv1_2))
    after = settle(g.admin_port)
    assert delta(before, after, "h2gate_tls_handshakes_total",
                 version="TLSv1.3") == 2
    assert delta(before, after, "h2gate_tls_handshakes_total",
                 version="TLSv1.2") == 1
    assert delta(before, after, "h2gate_tls_resumptions_total") == 1
    assert delta(before, after, "h2gate_tls_handshake_failures_total") == 0


def test_tls_handshake_failures_by_reason(procs):
    """Plain HTTP on the TLS port (not_tls), clients (TLS 1.2 and 1.3) that
    give up with an alert because they do not trust the certificate
    (peer_alert), one
    that closes mid-handshake (closed), one that sends nothing until
    --frontend-read-timeout (timeout): each counted once, under its
    reason, and none as a handshake."""
    g = gate_with_admin(procs, [procs.origin()],
                        extra=["--frontend-read-timeout=1s"])
    before = settle(g.admin_port)
    with socket.create_connection((HOST, g.tls_port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        try:
            s.recv(100)   # closed (or reset: our bytes were unread)
        except ConnectionResetError:
            pass
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        with pytest.raises(ssl.SSLCertVerificationError):
            _tls_get(g.tls_port, _tls_client(max_version=version, verify=True))
    with socket.create_connection((HOST, g.tls_port), timeout=10) as s:
        pass
    settle(g.admin_port)   # that close is seen before the silent one
    with socket.create_connection((HOST, g.tls_port), timeout=10) as s:
        assert s.recv(100) == b""   # h2gate closes it at the timeout
    after = settle(g.admin_port)
    fails = {r: delta(before, after, "h2gate_tls_handshake_failures_total",
                      reason=r)
             for r in after.label_values("h2gate_tls_handshake_failures_total",
                                         "reason")}
    assert fails == {"not_tls": 1, "peer_alert": 2, "closed": 1,
                     "timeout": 1, "version": 0, "cipher": 0, "alpn": 0,
                     "certificate": 0, "other": 0}, fails
    assert delta(before, after, "h2gate_tls_handshakes_total") == 0


# ---------------------------------------------------------------------------
# process, build info, cardinality


def test_process_collector_and_build_info(procs):
    """The standard process_* names with plausible values, and
    h2gate_build_info carrying the version h2gate --version prints; /stats
    has the same."""
    t0 = time.time()
    g = gate_with_admin(procs, [procs.origin()], workers=2)
    snap = settle(g.admin_port)
    version = subprocess.run([str(H2GATE_BIN), "--version"],
                             capture_output=True, text=True,
                             check=True).stdout.split()[-1]
    assert snap.get("h2gate_build_info", version=version) == 1
    assert snap.label_values("h2gate_build_info", "version") == [version]
    start = snap.get("process_start_time_seconds")
    assert t0 - 5 <= start <= time.time() + 1, (t0, start)
    assert snap.get("process_resident_memory_bytes") > 0
    assert snap.get("process_virtual_memory_bytes") >= \
        snap.get("process_resident_memory_bytes")
    # Listeners (two frontends x two workers + admin), the loops' fds.
    assert 5 <= snap.get("process_open_fds") <= snap.get("process_max_fds")
    assert snap.get("process_cpu_seconds_total") >= 0
    js = stats_json(g.admin_port)
    assert js["h2gate_build_info"] == {version: 1}
    assert js["process_start_time_seconds"] == pytest.approx(start, abs=0.01)


def test_label_cardinality_is_bounded_by_configuration(procs, echo):
    """After requests with many paths, hosts and client ports, CONNECTs to
    many targets and TLS failures, every label name is one of the fixed
    set and the number of series did not grow: no client address, path or
    target becomes a label."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], extra=["--connect-allow=127.0.0.1:*"])

    def traffic(i):
        with H1Conn(g.port) as c:
            c.send(b"GET /p%d?q=%d HTTP/1.1\r\nHost: h%d\r\n\r\n" % (i, i, i))
            c.read_response()
        _connect(g.port, "127.0.0.1:%d" % (free_port() if i % 2 else
                                          echo.port))
    # Once of each kind first: the backend="-" series (CONNECTs have no
    # member) appears with its first non-zero value, once.
    traffic(0)
    traffic(1)
    first = settle(g.admin_port)
    for i in range(2, 20):
        traffic(i)
    after = settle(g.admin_port)
    names = {k for (_, labels) in after.samples for k, _ in labels}
    assert names <= LABELS, names - LABELS
    assert set(after.samples) == set(first.samples)
