"""HTTP/2 and TLS backends: multiplexed sessions, flow control, trailers,
gRPC, 1xx, GOAWAY and REFUSED_STREAM retries, resets, malformed responses,
liveness checks, TLS verification and resumption (issue 3)."""

import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import IS_NGHTTPX, ORIGIN_BIN, free_port, run_gate
from h2backend_lib import (grpc_frame, grpc_split, make_ca, make_cert,
                           wait_for)
from obs_lib import gate_with_admin, settle
from testlib import HOST, H1Conn, H2Client, curl_code, h2load

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own log lines")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "test-ca")
    other = make_ca(d, "other-ca")
    srv = make_cert(d, ca)
    client = make_cert(d, ca, "client", cn="h2gate-client", san="DNS:client")
    return {"ca": ca, "other": other, "srv": srv, "client": client}


def h2_origin(procs):
    return procs.origin(count=True)


def h2spec(o, params=";;proto=h2"):
    return "%s,%d%s" % (HOST, o.port, params)


def get(port, path, proto="h1", data=None, extra=()):
    args = ["-m", "10"]
    if proto == "h2c":
        args.append("--http2-prior-knowledge")
    if isinstance(data, bytes):
        import tempfile
        f = tempfile.NamedTemporaryFile(prefix="h2gate-body-", delete=False)
        f.write(data)
        f.close()
        args += ["--data-binary", "@" + f.name]
    elif data is not None:
        args += ["--data-binary", data]
    return curl_code([*args, *extra, "http://%s:%d%s" % (HOST, port, path)])


def send_all(c, sid, payload, end=True, timeout=30):
    """Sends payload on sid within the flow-control windows."""
    sent = 0
    deadline = time.monotonic() + timeout
    while sent < len(payload):
        room = min(c.conn.local_flow_control_window(sid),
                   c.conn.max_outbound_frame_size, len(payload) - sent)
        if room > 0:
            c.conn.send_data(sid, payload[sent:sent + room],
                             end_stream=end and sent + room == len(payload))
            sent += room
            c.flush()
        else:
            c.pump_once(deadline)


# ---- basics: every client kind over one h2c backend session ----

def test_h2c_backend_every_client(procs):
    o = h2_origin(procs)
    g = procs.gate([h2spec(o)])
    for proto in ("h1", "h2c"):
        v, code, body, _ = get(g.port, "/", proto)
        assert code == "200" and body == b"h2gate demo origin\n"
        v, code, body, _ = get(g.port, "/size/300000", proto)
        assert code == "200" and len(body) == 300000
        payload = bytes(range(256)) * 1000
        v, code, body, _ = get(g.port, "/echo", proto, data=payload)
        assert code == "200" and body == payload
    with H2Client(g.tls_port, tls=True) as c:
        sid = c.request("/size/100000")
        r, = c.wait_streams([sid])
        assert r.status == 200 and len(r.data) == 100000
        sid = c.request("/echo", method="POST", end_stream=False)
        send_all(c, sid, b"x" * 70000)
        r, = c.wait_streams([sid])
        assert r.status == 200 and bytes(r.data) == b"x" * 70000
    v, code, body, _ = curl_code(["-k", "--http2", "https://%s:%d/headers"
                                  % (HOST, g.tls_port)])
    assert code == "200" and v == "2"
    assert b":scheme: https" in body and b"x-forwarded-proto: https" in body
    assert o.count() == 1


def test_h2load_multiplexed_few_backend_connections(procs):
    o = h2_origin(procs)
    g = procs.gate([h2spec(o)], workers=2)
    r = h2load("http://%s:%d/size/100" % (HOST, g.port), 5000, 8, 100)
    assert r.codes["2xx"] == 5000 and r.failed == 0 and r.errored == 0, \
        r.output
    # 16 client connections (8 h2c, 8 HTTP/1.1) over 2 workers: one
    # session per worker carries them all (a second only if a burst beat
    # the origin's SETTINGS).
    assert 1 <= o.count() <= 4, o.count()
    r = h2load("http://%s:%d/size/100" % (HOST, g.port), 2000, 8, 1, h1=True)
    assert r.codes["2xx"] == 2000 and r.failed == 0, r.output


def test_sessions_bounded_and_queue(procs, backends):
    b = backends(max_streams=2)
    g = procs.gate([b.spec()], extra=["--backend-connections-per-host=1"])
    with H2Client(g.port) as c:
        sids = [c.request("/delay/200") for _ in range(6)]
        rs = c.wait_streams(sids, timeout=20)
    assert [r.status for r in rs] == [200] * 6
    assert b.conns == 1


def test_sessions_unbounded_by_default(procs, backends):
    """Without --backend-connections-per-host (0: no bound, as nghttpx in
    reverse-proxy mode) a worker opens another session whenever every
    open one is at the backend's stream limit: 20 streams over sessions
    of 2 take 10 sessions (the old default bound was 8) and none waits
    for another's streams."""
    b = backends(max_streams=2)
    g = procs.gate([b.spec()], workers=1)
    with H2Client(g.port) as c:
        sids = [c.request("/delay/300") for _ in range(20)]
        rs = c.wait_streams(sids, timeout=20)
    assert [r.status for r in rs] == [200] * 20
    assert b.conns == 10


def test_backend_allowing_no_stream_gets_no_session_storm(procs, backends):
    """A backend whose SETTINGS allow 0 concurrent streams (as some send
    while they drain) takes no request; without a session bound h2gate
    must not answer that by opening a session after another: the requests
    wait in the queue and get 503 after --backend-connect-timeout, over
    the one session that told it so."""
    b = backends(max_streams=0)
    g = procs.gate([b.spec()], workers=1, extra=["--backend-connect-timeout=1s"])
    with H2Client(g.port) as c:
        sids = [c.request("/x") for _ in range(5)]
        rs = c.wait_streams(sids, timeout=20)
    assert [r.status for r in rs] == [503] * 5
    assert b.conns == 1
    assert b.requests == []


def test_one_stream_backend_sessions_come_and_go(procs, backends):
    """A backend allowing one stream a session gets more sessions as
    requests wait (nothing bounds them by default), no more than requests
    in flight, and every request is answered; once the load is over the sessions close after
    --backend-keep-alive-timeout: none is left behind."""
    b = backends(max_streams=1)
    g = gate_with_admin(procs, [b.spec()], workers=1,
                        extra=["--backend-keep-alive-timeout=500ms"])
    r = h2load("http://%s:%d/x" % (HOST, g.port), 600, 4, 16)
    assert r.codes["2xx"] == 600 and r.failed == 0 and r.errored == 0, r.output
    # More than the old default bound of 8; never more than the 64
    # requests in flight (a session is opened only when every open one
    # is full and none is still learning the backend's limit).
    assert 8 < b.conns <= 64, b.conns
    settle(g.admin_port, lambda s: s.get("h2gate_backend_connections_active") == 0)


def test_sessions_bound_two_queues_the_rest(procs, backends):
    b = backends(max_streams=2)
    g = procs.gate([b.spec()], workers=1, extra=["--backend-connections-per-host=2"])
    with H2Client(g.port) as c:
        sids = [c.request("/delay/200") for _ in range(7)]
        rs = c.wait_streams(sids, timeout=20)
    assert [r.status for r in rs] == [200] * 7
    assert b.conns == 2


def test_queue_timeout_503(procs, backends):
    b = backends(max_streams=1)
    g = procs.gate([b.spec()], extra=["--backend-connections-per-host=1",
                                      "--backend-connect-timeout=1s"])
    with H2Client(g.port) as c:
        sids = [c.request("/delay/2500") for _ in range(3)]
        rs = c.wait_streams(sids, timeout=20)
    assert sorted(r.status for r in rs) == [200, 503, 503]


# ---- flow control and head-of-line isolation ----

def test_stalled_client_does_not_block_others(procs):
    o = h2_origin(procs)
    g = procs.gate([h2spec(o)], extra=["--backend-connections-per-host=1"])
    stalled = H2Client(g.port)
    stalled.auto_ack = False
    stalled.request("/size/50000000")
    stalled.request("/size/50000000")
    time.sleep(0.5)
    t0 = time.monotonic()
    for _ in range(30):
        v, code, body, _ = get(g.port, "/size/200000", "h2c")
        assert code == "200" and len(body) == 200000
    assert time.monotonic() - t0 < 15
    assert o.count() == 1
    stalled.close()
    v, code, body, _ = get(g.port, "/size/1000", "h1")
    assert code == "200"


def test_upload_flow_control_end_to_end(procs):
    o = h2_origin(procs)
    g = procs.gate([h2spec(o)])
    payload = b"0123456789abcdef" * 200000  # 3.2 MB
    with H2Client(g.port) as c:
        sid = c.request("/echo", method="POST", end_stream=False)
        send_all(c, sid, payload)
        r, = c.wait_streams([sid], timeout=30)
    assert r.status == 200 and bytes(r.data) == payload


def test_upload_to_stalled_backend_is_bounded(procs, backends):
    """The backend never returns credit: the client can only fill the
    windows on both sides and h2gate's per-stream buffer, not more."""
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/noread", method="POST", end_stream=False)
        sent = 0
        deadline = time.monotonic() + 3
        chunk = b"u" * 16384
        while time.monotonic() < deadline:
            room = min(c.conn.local_flow_control_window(sid), len(chunk))
            if room > 0:
                c.conn.send_data(sid, chunk[:room])
                sent += room
                c.flush()
                continue
            try:
                c.pump_once(min(deadline, time.monotonic() + 0.2))
            except Exception:
                pass
        # 64 KiB client window + 64 KiB backend window + the exchange's
        # buffer (256 KiB): never megabytes.
        assert sent < 1024 * 1024, sent
        assert sent >= 65535
        # Another stream on the same connection and backend session works.
        s2 = c.request("/")
        r, = c.wait_streams([s2])
        assert r.status == 200


def test_backend_write_timeout_closes_stalled_session(procs, backends):
    """Issue 9: an HTTP/2 backend that stops reading its socket while a
    client uploads cannot pin the session: once output has waited
    --backend-write-timeout with no write progress, the session is
    closed, its stream answered 504 (as for an HTTP/1.1 backend), the
    timeout logged and counted; a later request gets a fresh session, and
    the proxy's memory stays bounded."""
    from testlib import rss_kib
    from obs_lib import gate_with_admin, scrape
    import h2.exceptions
    # Windows far larger than the socket buffers: h2gate's writes block.
    b = backends(window=2 ** 31 - 1)
    g = gate_with_admin(procs, [b.spec()], tls=False,
                        extra=["-L", "INFO", "--backend-write-timeout=1s",
                               "--backend-read-timeout=10m"])
    with H2Client(g.port) as c:
        r, = c.wait_streams([c.request("/")])
        assert r.status == 200
    base = rss_kib(g.pid)
    bound = 60          # seconds: generous, far above the 1 s timeout
    with H2Client(g.port, timeout=bound) as c:
        sid = c.request("/stopread", method="POST", end_stream=False)
        st = c.streams[sid]
        chunk = b"u" * 16384
        sent = 0
        deadline = time.monotonic() + bound
        # Upload until h2gate answers; 1 GiB would mean nothing stops it.
        while not st.done and sent < (1 << 30):
            try:
                room = min(c.conn.local_flow_control_window(sid), len(chunk))
            except h2.exceptions.StreamClosedError:
                break
            if room > 0:
                c.conn.send_data(sid, chunk[:room])
                sent += room
                c.flush()
            else:
                c.pump_once(deadline)
        c.wait(lambda: st.done)
        assert st.status == 504, (st, sent)
    # h2gate's writes did block: more went out than the windows alone.
    assert sent > 1024 * 1024, sent
    log = g.log()
    assert "h2 session 1 closed: write timed out" in log, log[-2000:]
    assert scrape(g.admin_port).get("h2gate_backend_timeouts_total") == 1
    peak = rss_kib(g.pid)
    assert peak - base < 32 * 1024, (base, peak)
    # A new request goes on a fresh session (the stalled one is gone).
    with H2Client(g.port) as c:
        r, = c.wait_streams([c.request("/")])
        assert r.status == 200 and bytes(r.data) == b"ok\n"
    assert b.conns == 2, b.conns


# ---- trailers, gRPC, 1xx ----

def test_trailers_h2_both_ways(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/trailers")
        r, = c.wait_streams([sid])
        assert r.status == 200 and bytes(r.data) == b"body\n"
        assert (b"x-checksum", b"abc123") in r.trailers
        sid = c.request("/echo", method="POST", end_stream=False,
                        extra=[("te", "trailers")])
        c.send_body(sid, b"payload", end_stream=False)
        c.conn.send_headers(sid, [(b"x-sum", b"42")], end_stream=True)
        c.flush()
        r, = c.wait_streams([sid])
        assert bytes(r.data) == b"payload"
        assert (b"x-echo-x-sum", b"42") in r.trailers
    assert any((b"te", b"trailers") in h for h in b.requests)


def test_h1_client_field_whitespace_is_not_forwarded(procs, backends):
    """Spaces and tabs that end an HTTP/1.1 client's field value are not
    part of it (RFC 9112 5): they never reach an HTTP/2 backend, which
    would refuse them (RFC 9113 8.2.1), in the head or in the trailers."""
    b = backends()
    g = procs.gate([b.spec()])
    with H1Conn(g.port, timeout=10) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nX-A: v \t\r\n"
               b"X-B: in side  \r\nTE: trailers\r\nConnection: close\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"2\r\nok\r\n0\r\nX-T: t\t\r\n\r\n")
        raw = c.read_to_eof()
    assert raw.startswith(b"HTTP/1.1 200"), raw
    # The echoed trailer (python-h2 refused the request before).
    assert raw.endswith(b"\r\n2\r\nok\r\n0\r\nx-echo-x-t: t\r\n\r\n"), raw
    hs = b.requests[-1]
    assert (b"x-a", b"v") in hs and (b"x-b", b"in side") in hs, hs


def test_trailers_h1_client_chunked(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    # Read the chunked answer by hand to see its trailer section.
    s = socket.create_connection((HOST, g.port), timeout=5)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
              b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n0\r\nx-client-sum: 7\r\n\r\n")
    raw = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        raw += d
    s.close()
    assert raw.startswith(b"HTTP/1.1 200"), raw
    assert b"transfer-encoding: chunked" in raw.lower()
    assert raw.endswith(b"0\r\nx-echo-x-client-sum: 7\r\n\r\n"), raw


def test_trailers_h1_backend_chunked(procs, backends):
    b = backends(h1=True)
    g = procs.gate(["%s,%d" % (HOST, b.port)])
    with H2Client(g.port) as c:
        sid = c.request("/trailers")
        r, = c.wait_streams([sid])
        assert r.status == 200 and bytes(r.data) == b"body\n"
        assert (b"x-checksum", b"abc123") in r.trailers
        sid = c.request("/echo", method="POST", end_stream=False)
        c.send_body(sid, b"abc", end_stream=False)
        c.conn.send_headers(sid, [(b"x-up", b"1")], end_stream=True)
        c.flush()
        r, = c.wait_streams([sid])
        assert bytes(r.data) == b"abc"
        assert (b"x-echo-x-up", b"1") in r.trailers
    assert b.requests[-1][4] == [(b"x-up", b"1")]


def _grpc_call(port, tls, path, msgs, bidi=False):
    with H2Client(port, tls=tls) as c:
        sid = c.request(path, method="POST", end_stream=False, extra=[
            ("content-type", "application/grpc"), ("te", "trailers")])
        got = []
        for m in msgs:
            c.send_body(sid, grpc_frame(m), end_stream=False)
            if bidi:
                want = len(got) + 1
                c.wait(lambda: len(grpc_split(bytes(c.streams[sid].data))[0])
                       >= want)
                got = grpc_split(bytes(c.streams[sid].data))[0]
        c.send_body(sid, b"", end_stream=True)
        r, = c.wait_streams([sid])
        return r, grpc_split(bytes(r.data))[0]


@pytest.mark.parametrize("tls", [False, True])
def test_grpc_unary_and_bidi(procs, backends, tls):
    b = backends()
    g = procs.gate([b.spec()])
    port = g.tls_port if tls else g.port
    r, out = _grpc_call(port, tls, "/grpc.Echo/Unary", [b"ping"])
    assert r.status == 200 and out == [b"PING"]
    assert dict(r.headers)[b"content-type"] == b"application/grpc"
    assert dict(r.trailers) == {b"grpc-status": b"0",
                                b"grpc-message": b"echoed 1"}
    r, out = _grpc_call(port, tls, "/grpc.Echo/Bidi",
                        [b"one", b"two", b"three"], bidi=True)
    assert out == [b"ONE", b"TWO", b"THREE"]
    assert dict(r.trailers) == {b"grpc-status": b"0",
                                b"grpc-message": b"bidi done"}


def test_interim_responses(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/interim")
        r, = c.wait_streams([sid])
        assert r.status == 200 and bytes(r.data) == b"final\n"
        assert [dict(h)[b":status"] for h in r.informational] == [b"103"]
        assert (b"link", b"</style.css>; rel=preload") in r.informational[0]
    with H1Conn(g.port) as c:
        c.send(b"GET /interim HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 103 and r.header("link")
        r = c.read_response()
        assert r.status == 200 and r.body == b"final\n"


def test_expect_100_continue(procs):
    o = h2_origin(procs)
    g = procs.gate([h2spec(o)])
    v, code, body, p = curl_code(["-m", "10", "-v", "-H", "Expect: 100-continue",
                                  "--data-binary", "x" * 2000,
                                  "http://%s:%d/echo" % (HOST, g.port)])
    assert code == "200" and body == b"x" * 2000
    assert b"HTTP/1.1 100" in p.stderr


# ---- GOAWAY, REFUSED_STREAM, resets, a dying backend ----

def test_backend_goaway_mid_load_no_failures(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    stop = threading.Event()

    def goaways():
        while not stop.wait(0.3):
            b.goaway_all()
    t = threading.Thread(target=goaways, daemon=True)
    t.start()
    try:
        r = h2load("http://%s:%d/" % (HOST, g.port), 5000, 8, 100)
    finally:
        stop.set()
        t.join()
    assert r.codes["2xx"] == 5000 and r.failed == 0 and r.errored == 0, \
        r.output
    assert b.conns > 1  # the GOAWAYs did happen


def test_connection_lost_idempotent_resent(procs, backends):
    """A backend connection that breaks under a stream the backend said
    nothing about (it may never have read it: a GOAWAY and close crossing
    our HEADERS): GET goes again on a new session, POST fails with 502."""
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/abort-once/get")
        r, = c.wait_streams([sid])
        assert r.status == 200 and bytes(r.data) == b"ok\n"
    assert b.conns == 2
    with H2Client(g.port) as c:
        sid = c.request("/abort-once/post", method="POST", body=b"x" * 10)
        r, = c.wait_streams([sid])
        assert r.status == 502
    with H2Client(g.port) as c:
        sid = c.request("/")
        r, = c.wait_streams([sid])
        assert r.status == 200
    assert b.conns == 3   # the POST's session was dropped too


def test_refused_stream_retried(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/refuse-once/a")
        r, = c.wait_streams([sid])
        assert r.status == 200 and bytes(r.data) == b"ok after refuse\n"
        sid = c.request("/refuse-once/b", method="POST", end_stream=False)
        send_all(c, sid, b"z" * 30000)
        r, = c.wait_streams([sid])
        assert r.status == 200
    body = [h for h in b.requests if dict(h)[b":path"] == b"/refuse-once/b"]
    assert len(body) == 2
    v, code, body, _ = get(g.port, "/refuse-once/c", "h1")
    assert code == "200"


def test_backend_reset_passed_on(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        s1 = c.request("/rst/8")      # CANCEL passes
        s2 = c.request("/rst/1")      # PROTOCOL_ERROR: the backend hop's own
        s3 = c.request("/rst/7")      # REFUSED_STREAM twice: passes after one retry
        r1, r2, r3 = c.wait_streams([s1, s2, s3])
    assert r1.reset == 8 and r2.reset == 2 and r3.reset == 7
    v, code, body, _ = get(g.port, "/rst/8", "h1")
    assert code == "502"
    v, code, body, _ = get(g.port, "/", "h2c")
    assert code == "200" and b.conns <= 2  # REFUSED: retried on a fresh session


def test_backend_no_error_reset_before_the_end(procs, backends):
    """A backend's RST_STREAM(NO_ERROR) on an answer it has not finished
    (none yet, or a cut body) is no clean end for the client: HTTP/2
    clients get INTERNAL_ERROR, not NO_ERROR (which Node's client, for
    one, reports as no error), HTTP/1.1 clients a 502 or a cut body."""
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        s1 = c.request("/rst/0")
        s2 = c.request("/cut")
        r1, r2 = c.wait_streams([s1, s2])
    assert (r1.status, r1.reset) == (None, 2), r1
    assert (r2.status, bytes(r2.data), r2.ended, r2.reset) == \
        (200, b"0123456789", False, 2), r2
    v, code, body, _ = get(g.port, "/rst/0", "h1")
    assert code == "502", (code, body)
    v, code, body, p = get(g.port, "/cut", "h1")
    assert (code, body) == ("200", b"0123456789") and p.returncode == 18, \
        (code, body, p.returncode)


def early_answer(c, sid):
    """Waits for sid's answer and the reset after it; asserts the answer
    ended (END_STREAM) before the reset came. Returns the stream."""
    c.wait(lambda: c.streams[sid].reset is not None)
    kinds = [type(e).__name__ for e in c.events
             if getattr(e, "stream_id", None) == sid]
    assert kinds.index("StreamEnded") < kinds.index("StreamReset"), kinds
    return c.streams[sid]


@pytest.mark.parametrize("kind", ["h2", "http/1.1"])
def test_early_answer_stops_the_upload(procs, backends, kind):
    """A backend that answers whole before the request body's end (a 413
    before the upload): the client gets the whole answer, then
    RST_STREAM(NO_ERROR) telling it to stop sending (RFC 9113 8.1), and
    the connection carries on, its window intact."""
    b = backends(h1=kind == "http/1.1")
    g = gate_with_admin(procs, [b.spec(";;proto=" + kind)], tls=False)
    with H2Client(g.port) as c:
        sid = c.request("/early", method="POST", end_stream=False)
        c.send_body(sid, b"x" * 16384, end_stream=False)
        r = early_answer(c, sid)
        assert (r.status, bytes(r.data), r.reset) == (413, b"too big\n", 0), r
        # DATA already on its way when the reset went is credited to the
        # connection: a megabyte more goes through on another stream.
        payload = bytes(range(256)) * 4096
        s2 = c.request("/echo", method="POST", end_stream=False)
        send_all(c, s2, payload)
        r2, = c.wait_streams([s2])
        assert (r2.status, bytes(r2.data)) == (200, payload), r2
    snap = settle(g.admin_port)
    assert snap.get("h2gate_rst_stream_total", direction="sent",
                    error_code="NO_ERROR") == 1


def test_early_answer_rest_within_credit_no_reset(procs, backends):
    """The same answer to a request whose Content-Length says the rest of
    its body fits the credit it already has: no reset (it would save
    nothing), the client ends its body and the stream closes cleanly. So
    curl 7.88 (Debian 12's), which reports a reset upload as a failure
    (exit 92) without the answer, gets the 413."""
    b = backends()
    g = gate_with_admin(procs, [b.spec()], tls=False)
    with H2Client(g.port) as c:
        sid = c.request("/early", method="POST", end_stream=False,
                        extra=[("content-length", "2000")])
        c.send_body(sid, b"x" * 1000, end_stream=False)
        r, = c.wait_streams([sid])
        assert (r.status, bytes(r.data), r.reset) == (413, b"too big\n", None), r
        c.send_body(sid, b"x" * 1000, end_stream=True)
        s2 = c.request("/")
        r2, = c.wait_streams([s2])
        assert r2.status == 200 and c.streams[sid].reset is None, r2
    for _ in range(3):
        v, code, body, p = get(g.port, "/early", "h2c", data=b"y" * 2000)
        assert (p.returncode, v, code, body) == (0, "2", "413", b"too big\n"), p.stderr
    snap = settle(g.admin_port)
    # (h2gate's CANCELs of its own uploads to the backend count too.)
    assert snap.get("h2gate_rst_stream_total", 0, direction="sent",
                    error_code="NO_ERROR") == 0


def test_own_answer_before_the_body_stops_the_upload(procs):
    """h2gate's own answer (a 502: nothing listens at the backend) to a
    request whose body is still coming ends with RST_STREAM(NO_ERROR)
    too."""
    dead = free_port()
    g = procs.gate(["%s,%d" % (HOST, dead)], tls=False)
    with H2Client(g.port) as c:
        sid = c.request("/", method="POST", end_stream=False)
        c.send_body(sid, b"x" * 1000, end_stream=False)
        r = early_answer(c, sid)
        assert (r.status, r.reset) == (502, 0), r
        assert r.data, r    # h2gate's error page, whole


def test_answer_after_the_body_has_no_reset(procs, backends):
    """The usual order (the request ends first): no RST_STREAM after the
    answer."""
    b = backends()
    g = gate_with_admin(procs, [b.spec()], tls=False)
    with H2Client(g.port) as c:
        sid = c.request("/echo", method="POST", end_stream=False)
        c.send_body(sid, b"abc", end_stream=True)
        r, = c.wait_streams([sid])
        assert (r.status, bytes(r.data), r.reset) == (200, b"abc", None), r
        s2 = c.request("/")
        c.wait_streams([s2])
        assert c.streams[sid].reset is None
    snap = settle(g.admin_port)
    assert snap.get("h2gate_rst_stream_total", 0, direction="sent") == 0


def test_backend_killed_mid_load(procs, tmp_path):
    o = procs.origin()
    port = o.port
    g = procs.gate([h2spec(o)])
    res = {}
    N = 300000

    def load():
        res["r"] = h2load("http://%s:%d/size/1000" % (HOST, g.port),
                          N, 4, 50, threads=1)
    t = threading.Thread(target=load)
    t.start()
    time.sleep(0.3)
    o.popen.kill()
    o.popen.wait()
    t.join(120)
    r = res["r"]
    codes = r.codes
    # Only what was in flight, or sent while the origin was down, fails,
    # and each such request got a 502 or a reset: never a hang.
    assert codes["5xx"] + r.failed > 0, r.output
    assert codes["3xx"] == codes["4xx"] == 0, r.output
    assert codes["2xx"] + r.failed == N, r.output
    o3 = subprocess.Popen([str(ORIGIN_BIN), "-a", HOST, "-p", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: get(g.port, "/", "h2c")[1] == "200", 10)
        r = h2load("http://%s:%d/size/100" % (HOST, g.port), 2000, 4, 50)
        assert r.codes["2xx"] == 2000 and r.failed == 0, r.output
    finally:
        o3.terminate()
        o3.wait(10)


# ---- malformed responses ----

@pytest.mark.parametrize("kind", ["no-status", "upper", "cl-mismatch", "status-000",
                                  "status-099", "status-600", "status-999"])
def test_malformed_response_stream_only(procs, backends, kind):
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/bad/" + kind)
        r, = c.wait_streams([sid])
        assert r.status == 502, r
        sid = c.request("/")
        r, = c.wait_streams([sid])
        assert r.status == 200
    v, code, body, _ = get(g.port, "/bad/" + kind, "h1")
    assert code == "502"
    assert b.conns == 1  # the session survived


def test_malformed_after_head_resets(procs, backends):
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/bad/cl-mismatch-late")
        r, = c.wait_streams([sid])
        assert r.status == 200 and r.reset is not None and not r.ended
    with H1Conn(g.port) as c:
        c.send(b"GET /bad/cl-mismatch-late HTTP/1.1\r\nHost: x\r\n\r\n")
        data = c.read_to_eof(timeout=5)
        assert data.startswith(b"HTTP/1.1 200")
        assert b"content-length: 10\r\n" in data
        # Closed before the 10 bytes announced: the client sees it cut.
        assert len(data.split(b"\r\n\r\n", 1)[1]) < 10


@pytest.mark.parametrize("kind", ["hpack", "data-first"])
def test_connection_error_closes_session_only(procs, backends, kind):
    # nghttp2 takes DATA before the response HEADERS as a connection error.
    b = backends()
    g = procs.gate([b.spec()])
    with H2Client(g.port) as c:
        sid = c.request("/bad/" + kind)
        r, = c.wait_streams([sid])
        assert r.status == 502
        sid = c.request("/")
        r, = c.wait_streams([sid])
        assert r.status == 200
    assert b.conns == 2


# ---- session lifetime ----

def test_keep_alive_timeout_closes_idle_session(procs, backends):
    b = backends()
    g = procs.gate([b.spec()], extra=["--backend-keep-alive-timeout=500ms"])
    assert get(g.port, "/", "h2c")[1] == "200"
    assert len(b.protos) == 1
    assert wait_for(lambda: len(b.protos) == 0, 5)
    assert get(g.port, "/", "h2c")[1] == "200"
    assert b.conns == 2


def test_dead_idle_session_replaced_after_ping(procs, backends):
    b = backends()
    g = procs.gate([b.spec()], extra=["--backend-keep-alive-timeout=1m",
                                      "--backend-connect-timeout=2s"])
    assert get(g.port, "/", "h2c")[1] == "200"
    b.blackhole_all()
    time.sleep(5.5)  # past the idleness that triggers a PING check
    t0 = time.monotonic()
    v, code, body, _ = get(g.port, "/", "h2c")
    assert code == "200" and body == b"ok\n"
    assert time.monotonic() - t0 < 5
    assert b.conns == 2


def test_settings_timeout(procs):
    lsock = socket.socket()
    lsock.bind((HOST, 0))
    lsock.listen(8)
    port = lsock.getsockname()[1]
    try:
        g = procs.gate(["%s,%d;;proto=h2" % (HOST, port)],
                       extra=["--backend-http2-settings-timeout=1s"])
        t0 = time.monotonic()
        v, code, body, _ = get(g.port, "/", "h2c")
        assert code == "502"
        assert time.monotonic() - t0 < 5
    finally:
        lsock.close()


# ---- TLS towards backends ----

def test_tls_h2_backend_verified(procs, backends, pki):
    b = backends(tls=pki["srv"], max_streams=1000)
    g = procs.gate([b.spec(";;proto=h2;tls")],
                   extra=["--cacert=%s" % pki["ca"][1]])
    for proto in ("h1", "h2c"):
        v, code, body, _ = get(g.port, "/", proto)
        assert code == "200" and body == b"ok\n"
    r = h2load("http://%s:%d/" % (HOST, g.port), 5000, 8, 100)
    assert r.codes["2xx"] == 5000 and r.failed == 0, r.output
    assert b.conns <= 2


def test_tls_backend_sni_name_checked(procs, backends, pki):
    b = backends(tls=pki["srv"])
    g = procs.gate([b.spec(";;proto=h2;tls;sni=localhost")],
                   extra=["--cacert=%s" % pki["ca"][1]])
    assert get(g.port, "/", "h2c")[1] == "200"
    g2 = procs.gate([b.spec(";;proto=h2;tls;sni=wrong.example")],
                    extra=["--cacert=%s" % pki["ca"][1]])
    assert get(g2.port, "/", "h2c")[1] == "502"


def test_tls_backend_wrong_ca_502(procs, backends, pki):
    b = backends(tls=pki["srv"])
    g = procs.gate([b.spec(";;proto=h2;tls")],
                   extra=["--cacert=%s" % pki["other"][1]])
    v, code, body, _ = get(g.port, "/", "h2c")
    assert code == "502"
    assert wait_for(lambda: "certificate verification failed" in g.log(), 5)
    line = [l for l in g.log().splitlines()
            if "certificate verification failed" in l][0]
    assert "%s:%d" % (HOST, b.port) in line
    g2 = procs.gate([b.spec(";;proto=h2;tls")], extra=["-k"])
    assert get(g2.port, "/", "h2c")[1] == "200"


def test_tls_h1_backend(procs, backends, pki):
    b = backends(tls=pki["srv"], h1=True)
    g = procs.gate([b.spec(";;proto=http/1.1;tls")],
                   extra=["--cacert=%s" % pki["ca"][1]])
    for proto in ("h1", "h2c"):
        v, code, body, _ = get(g.port, "/", proto)
        assert code == "200" and body == b"ok\n"
    v, code, body, _ = get(g.port, "/echo", "h2c", data="hello")
    assert code == "200" and body == b"hello"
    g2 = procs.gate([b.spec(";;proto=http/1.1;tls")],
                    extra=["--cacert=%s" % pki["other"][1]])
    assert get(g2.port, "/", "h1")[1] == "502"


@pytest.mark.parametrize("kind", ["h1", "h2"])
def test_tls_backend_large_upload_echoed(procs, backends, pki, kind):
    """4 MiB uploads to a TLS backend that reads slower than h2gate seals
    records: records the backend's socket does not take wait on the
    connection (proxy/tlsbio.c) and go first at the next write; every
    body comes back byte for byte, over both backend protocols, and the
    connection serves the next request."""
    b = backends(tls=pki["srv"], h1=kind == "h1", rcvbuf=4096)
    spec = b.spec(";;proto=%s;tls" % ("http/1.1" if kind == "h1" else "h2"))
    g = procs.gate([spec], extra=["--cacert=%s" % pki["ca"][1]])
    for i in range(3):
        body = os.urandom(4 * 1024 * 1024)
        v, code, got, _ = get(g.port, "/echo", "h2c" if i % 2 else "h1", data=body)
        assert code == "200" and len(got) == len(body)
        assert got == body
    assert get(g.port, "/", "h2c")[1:3] == ("200", b"ok\n")


# A suite RFC 9113 §9.2.2 forbids for HTTP/2 (CBC), and two it allows.
CBC, GCM128, GCM256 = ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-GCM-SHA256",
                       "ECDHE-ECDSA-AES256-GCM-SHA384")


@pytest.mark.parametrize("kind", ["h1", "h2"])
def test_client_ciphers(procs, backends, pki, kind):
    """--client-ciphers is what h2gate offers TLS backends: one that
    takes only a suite outside it gets no session (502), and the suite
    added makes it work. The default offers no CBC suite, as nghttpx's."""
    b = backends(tls=pki["srv"], h1=kind == "h1", ciphers=GCM256)
    spec = b.spec(";;proto=%s;tls" % ("http/1.1" if kind == "h1" else "h2"))
    ca = "--cacert=%s" % pki["ca"][1]
    for ciphers, want in ((GCM128, "502"), ("%s:%s" % (GCM128, GCM256), "200"), (None, "200")):
        g = procs.gate([spec], extra=[ca] + (["--client-ciphers=" + ciphers] if ciphers else []))
        assert get(g.port, "/", "h2c")[1] == want, ciphers
        g.stop()
    cbc = backends(tls=pki["srv"], h1=kind == "h1", ciphers=CBC)
    g = procs.gate([cbc.spec(";;proto=%s;tls" % ("http/1.1" if kind == "h1" else "h2"))],
                   extra=[ca])
    assert get(g.port, "/", "h2c")[1] == "502"


def test_h2_backend_on_a_forbidden_suite(procs, backends, pki):
    """An HTTP/2 backend whose TLS 1.2 session uses a suite RFC 9113
    §9.2.2 forbids is refused, with a log line naming the suite, unless
    --client-no-http2-cipher-block-list; an HTTP/1.1 backend on that
    suite is not concerned."""
    ca = "--cacert=%s" % pki["ca"][1]
    b = backends(tls=pki["srv"], ciphers=CBC)
    g = procs.gate([b.spec(";;proto=h2;tls")], extra=[ca, "--client-ciphers=" + CBC])
    assert get(g.port, "/", "h2c")[1] == "502"
    assert wait_for(lambda: "TLS suite %s is not allowed for HTTP/2" % CBC in g.log(), 5)
    assert b.requests == []
    g.stop()
    g = procs.gate([b.spec(";;proto=h2;tls")],
                   extra=[ca, "--client-ciphers=" + CBC, "--client-no-http2-cipher-block-list"])
    assert get(g.port, "/", "h2c")[1:3] == ("200", b"ok\n")
    h1 = backends(tls=pki["srv"], h1=True, ciphers=CBC)
    g = procs.gate([h1.spec(";;tls")], extra=[ca, "--client-ciphers=" + CBC])
    assert get(g.port, "/", "h2c")[1:3] == ("200", b"ok\n")


@pytest.mark.parametrize("opt,msg", [
    ("--client-ciphers=DHE-RSA-AES128-GCM-SHA256", "--client-ciphers DHE-RSA-AES128-GCM-SHA256"),
    ("--tls13-client-ciphers=TLS_AES_128_GCM_SHA256",
     "--tls13-client-ciphers 'TLS_AES_128_GCM_SHA256': BoringSSL does not let"),
])
def test_client_ciphers_refused(backends, pki, opt, msg):
    b = backends(tls=pki["srv"])
    r = run_gate(["-t", "-f", "%s,%d;no-tls" % (HOST, free_port()), "-b",
                  b.spec(";;proto=h2;tls"), opt])
    assert r.returncode != 0
    assert msg in r.stderr, r.stderr


def test_tls_session_resumption(procs, backends, pki):
    b = backends(tls=pki["srv"])
    g = procs.gate([b.spec(";;proto=h2;tls")],
                   extra=["--cacert=%s" % pki["ca"][1],
                          "--backend-keep-alive-timeout=200ms"])
    for _ in range(3):
        assert get(g.port, "/", "h2c")[1] == "200"
        assert wait_for(lambda: len(b.protos) == 0, 5)
    assert b.conns == 3
    assert b.reused[0] is False and all(b.reused[1:]), b.reused


def test_tls_h1_backend_session_resumption(procs, backends, pki):
    b = backends(tls=pki["srv"], h1=True)
    g = procs.gate([b.spec(";;tls")], extra=["--cacert=%s" % pki["ca"][1],
                                              "--backend-keep-alive-timeout=100ms"])
    for _ in range(3):
        assert get(g.port, "/", "h1")[1] == "200"
        time.sleep(0.4)
    assert b.conns == 3
    assert b.reused[0] is False and all(b.reused[1:]), b.reused


def test_tls_client_certificate(procs, backends, pki):
    b = backends(tls=pki["srv"], client_ca=pki["ca"][1])
    g0 = procs.gate([b.spec(";;proto=h2;tls")],
                    extra=["--cacert=%s" % pki["ca"][1]])
    assert get(g0.port, "/", "h2c")[1] == "502"
    g = procs.gate([b.spec(";;proto=h2;tls")],
                   extra=["--cacert=%s" % pki["ca"][1],
                          "--client-private-key-file=%s" % pki["client"][0],
                          "--client-cert-file=%s" % pki["client"][1]])
    assert get(g.port, "/", "h2c")[1] == "200"

