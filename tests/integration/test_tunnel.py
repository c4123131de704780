"""CONNECT tunnels (issue 4): h2gate checks allow/deny rules and
credentials, resolves, connects, answers 200 and pipes bytes, over HTTP/2
(h2c and TLS) and HTTP/1.1.

Targets are python TCP servers on loopback (tunnel_lib), each counting the
connections it accepted, so "no socket was opened" is checked, not assumed.
Clients: Node's built-in http2 module, curl, python-h2 and raw sockets.
No test depends on how fast anything runs: waits are bounded polls for a
state.
"""

import base64
import os
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import h2.events
import pytest

from conftest import IS_NGHTTPX
from obs_lib import gate_with_admin, parse_default, read_lines, scrape, \
    settle, wait_lines
from testlib import HOST, H1Conn, curl, rss_kib
from tunnel_lib import (MIB, Blackhole, StreamSource, TargetServer, TunnelH2,
                        closed_port, connect_headers, echo_handler, echo_rounds, h1_tunnel,
                        header, hello_handler, line_hello_handler,
                        random_bytes, reply_after_eof_handler,
                        scripted_half_close_handler, sha, sink_source_handler)

pytestmark = pytest.mark.skipif(
    IS_NGHTTPX, reason="nghttpx forwards CONNECT to a backend; h2gate "
                       "terminates it")

HERE = Path(__file__).resolve().parent
NODE_CLIENT = HERE / "node_connect_client.js"
CONNECT_ERROR = 0x0a
PROTOCOL_ERROR = 0x01
# c-ares answers ENOTFOUND for .onion names itself (RFC 7686), so the
# dns_error case needs no DNS server and stays on loopback.
UNRESOLVABLE = "unresolvable.onion"


@pytest.fixture
def cleanup():
    """Things with a .stop(), stopped at teardown (targets, sources)."""
    items = []
    yield items.append
    for it in reversed(items):
        it.stop()


@pytest.fixture
def target(cleanup):
    """target(handler, **kw): a TargetServer stopped at teardown."""
    def make(handler, **kw):
        s = TargetServer(handler, **kw)
        cleanup(s)
        return s
    return make


def tunnel_gate(procs, *extra, tls=False, workers=1):
    """An h2gate with no backend route in use, cleartext frontend on .port
    (h2c and HTTP/1.1) and, with tls, a TLS frontend on .tls_port."""
    return procs.gate((), extra=list(extra), tls=tls, workers=workers)


def addr(port, host=HOST):
    return "%s:%d" % (host, port)


def status_and_proxy_status(st):
    return st.status, header(st, "proxy-status")


def assert_proxy_status(value, error):
    """RFC 9209: `h2gate; error=NAME` (maybe more parameters)."""
    assert value is not None, "no proxy-status"
    params = [p.strip() for p in value.split(";")]
    assert "error=%s" % error in params, value


def wait_accepted(srv, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while srv.accepted < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return srv.accepted


# --------------------------------------------------------------------------
# Node.js http2 client (the documented CONNECT example)


def run_node(url, authority, name, timeout_ms=10000):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node is not installed")
    p = subprocess.run([node, str(NODE_CLIENT), url, authority, name,
                        str(timeout_ms)], capture_output=True,
                       timeout=timeout_ms / 1000 + 20, check=False,
                       stdin=subprocess.DEVNULL)
    assert p.stdout, (p.returncode, p.stderr.decode(errors="replace"))
    return p.returncode, json.loads(p.stdout.decode().splitlines()[-1])


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_node_http2_connect_hello(procs, target, tls):
    """Node's http2 client, exactly as its documentation's CONNECT example:
    `:authority localhost:PORT`, req.end(NAME); the target answers
    `hello NAME` after the client's END_STREAM reaches it as EOF, and the
    reply arrives intact, ended by END_STREAM."""
    srv = target(hello_handler, v6=True)
    g = tunnel_gate(procs, "--connect-allow=localhost:%d" % srv.port, tls=tls)
    url = ("https://%s:%d" % (HOST, g.tls_port) if tls
           else "http://%s:%d" % (HOST, g.port))
    name = "Jane-%s" % ("tls" if tls else "h2c")
    rc, res = run_node(url, "localhost:%d" % srv.port, name)
    assert rc == 0, res
    assert res["status"] == 200, res
    assert res["data"] == "hello " + name, res
    assert res["ended"] is True, res
    assert srv.wait_results(1) == [name.encode()]
    assert srv.wait_accepted(1) == 1


def test_node_http2_connect_denied(procs, target):
    """The same client to a port the rule does not cover: 403, and the
    target never sees a connection."""
    srv = target(hello_handler, v6=True)
    g = tunnel_gate(procs, "--connect-allow=localhost:%d" % closed_port())
    rc, res = run_node("http://%s:%d" % (HOST, g.port),
                       "localhost:%d" % srv.port, "Jane")
    assert res["status"] == 403, res
    assert "hello" not in res["data"], res
    assert srv.accepted == 0


# --------------------------------------------------------------------------
# HTTP/1.1 CONNECT: curl and a raw socket


def test_curl_proxytunnel_telnet(procs, target):
    """curl -p -x http://h2gate telnet://TARGET: curl's stdin goes through
    the HTTP/1.1 tunnel, the target's line comes back on stdout."""
    srv = target(line_hello_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    p = subprocess.run(
        ["curl", "-sS", "-m", "20", "-p", "-x", "http://%s:%d" % (HOST, g.port),
         "telnet://%s" % addr(srv.port)],
        input=b"curl-user\n", capture_output=True, timeout=30, check=False)
    assert p.stdout == b"hello curl-user\n", (p.returncode, p.stdout, p.stderr)
    assert srv.wait_results(1) == [b"curl-user"]
    assert srv.wait_accepted(1) == 1


def test_curl_proxytunnel_http_and_https_proxy(procs):
    """A real HTTP exchange through the tunnel (curl -p -x ... http://ORIGIN),
    with h2gate as a cleartext proxy and as an HTTPS proxy (curl speaks
    HTTP/1.1 CONNECT inside TLS to it)."""
    origin = procs.origin(count=True)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % origin.port,
                    tls=True)
    url = "http://%s/size/1000" % addr(origin.port)
    for proxy, more in (("http://%s:%d" % (HOST, g.port), []),
                        ("https://%s:%d" % (HOST, g.tls_port),
                         ["--proxy-insecure"])):
        p = curl(["-m", "20", "-p", "-x", proxy, *more, "-o", "-",
                  "-w", "\n%{http_code} %{http_connect}", url])
        assert p.returncode == 0, (proxy, p.stderr)
        body, _, tail = p.stdout.rpartition(b"\n")
        assert tail == b"200 200", (proxy, tail, p.stderr)
        assert len(body) == 1000, (proxy, len(body))
    assert origin.count() == 2


def test_h1_connect_exact_bytes(procs, target):
    """Raw HTTP/1.1 CONNECT: `HTTP/1.1 200` then exactly the target's
    bytes, both ways, including bytes that are not text; the client's
    close reaches the target as EOF."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    c, r = h1_tunnel(g.port, addr(srv.port))
    with c:
        assert r.status == 200, r
        assert r.version == "HTTP/1.1"
        assert r.header("content-length") is None
        assert r.header("transfer-encoding") is None
        for chunk in (b"\0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", bytes(range(256)),
                      random_bytes(300000)):
            c.send(chunk)
            assert c.recv_some(len(chunk)) == chunk
        assert c.buf == b""
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_to_eof() == b""
    assert srv.wait_results(1) == ["eof"]


def test_h1_early_bytes_wait_for_the_tunnel(procs, target):
    """Bytes sent right behind the CONNECT head (before the 200) are not
    lost or answered as HTTP: they reach the target once it is connected,
    and come back after the 200 head."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    early = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nearly bytes"
    with H1Conn(g.port) as c:
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                % (addr(srv.port), addr(srv.port))).encode() + early)
        deadline = time.monotonic() + 10
        line = c._line(deadline)
        assert line.startswith(b"HTTP/1.1 200"), line
        while c._line(deadline):
            pass
        assert c.recv_some(len(early)) == early


def test_h1_target_close_flushes_then_closes(procs, target):
    """The target sends and closes: the client gets every byte, then EOF;
    what the client sent before was delivered."""
    payload = random_bytes(200000)
    srv = target(scripted_half_close_handler(payload))
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    c, r = h1_tunnel(g.port, addr(srv.port))
    with c:
        assert r.status == 200, r
        c.send(b"from client")
        got = c.recv_some(len(payload))
        assert got == payload
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_to_eof() == b""
    data, eof = srv.wait_results(1)[0]
    assert data == b"from client" and eof


@pytest.mark.parametrize("host", ["127.0.0.1:%d", "unresolvable.onion:%d"])
def test_h1_connect_errors(procs, target, host):
    """HTTP/1.1 error answers carry proxy-status; the connection closes."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=*.onion:*")
    c, r = h1_tunnel(g.port, host % srv.port)
    with c:
        if host.startswith("127"):
            assert r.status == 403, r
            assert_proxy_status(r.header("proxy-status"),
                                "destination_ip_prohibited")
        else:
            assert r.status == 502, r
            assert_proxy_status(r.header("proxy-status"), "dns_error")
        assert c.read_to_eof() == b""
    assert srv.accepted == 0


def test_h1_connect_with_body_length_400(procs, target):
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    for field in ("Content-Length: 5", "Transfer-Encoding: chunked"):
        name, _, value = field.partition(": ")
        c, r = h1_tunnel(g.port, addr(srv.port), extra=[(name, value)])
        with c:
            assert r.status == 400, (field, r)
    assert srv.accepted == 0


# --------------------------------------------------------------------------
# HTTP/2: large transfers, half-close, resets


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_h2_32mib_each_way(procs, target, tls):
    """32 MiB up and 32 MiB down at the same time on one tunnel: the
    target hashes what it received, the client what it received; both
    sha256 equal what the other side sent."""
    n = 32 * MIB
    down = random_bytes(n)
    up = random_bytes(n)
    srv = target(sink_source_handler(down))
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port, tls=tls)
    with TunnelH2(g.tls_port if tls else g.port, tls=tls, window=8 * MIB,
                  timeout=120) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.send_all({sid: up}, end_stream=True, until=lambda: st.done,
                   timeout=300)
        assert st.ended and st.reset is None, st
        assert len(st.data) == n
        assert sha(st.data) == sha(down)
    got, digest, sent_all = srv.wait_results(1)[0]
    assert (got, digest, sent_all) == (n, sha(up), True)
    assert srv.wait_accepted(1) == 1


def test_h2_half_close_client_first(procs, target):
    """Client END_STREAM -> the target reads EOF, yet can still send: its
    answer (written after the EOF) arrives, then END_STREAM."""
    srv = target(reply_after_eof_handler(b"after your EOF: "))
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.send_all({sid: b"question"}, end_stream=True)
        data, eof = srv.wait_results(1)[0]
        assert data == b"question" and eof
        c.wait(lambda: st.done)
        assert st.ended and st.reset is None, st
        assert bytes(st.data) == b"after your EOF: question"


def test_h2_half_close_target_first(procs, target):
    """Target sends then FIN -> the client gets the bytes and END_STREAM
    while its own side stays open: it still sends, the target reads that
    and then the client's END_STREAM as EOF."""
    first = random_bytes(100000)
    srv = target(scripted_half_close_handler(first))
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.wait(lambda: st.done)
        assert st.ended and st.reset is None, st
        assert bytes(st.data) == first
        late = random_bytes(70000)   # more than one flow-control window
        c.send_all({sid: late}, end_stream=True)
        data, eof = srv.wait_results(1)[0]
        assert data == late and eof
        # The stream is closed both ways now; the connection still works.
        sid2 = c.open_wait(addr(srv.port))
        assert c.streams[sid2].status == 200


def test_h2_client_reset_closes_target(procs, target):
    """Client RST_STREAM -> h2gate closes the target socket: the target
    reads EOF (or a reset)."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.send_all({sid: b"ping"}, end_stream=False,
                   until=lambda: bytes(st.data) == b"ping")
        c.reset(sid, 0x8)   # CANCEL
        assert srv.wait_results(1)[0] in ("eof", "reset")
        # Other streams on the connection are unaffected.
        sid2 = c.open_wait(addr(srv.port))
        st2 = c.streams[sid2]
        c.send_all({sid2: b"pong"}, end_stream=True, until=lambda: st2.done)
        assert bytes(st2.data) == b"pong" and st2.ended


def reset_handler(srv, c):
    """Read one chunk, then close with SO_LINGER 0: the peer gets a RST."""
    srv.recv(c)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    srv.report("reset")


def test_h2_target_reset_is_connect_error(procs, target):
    """The target resets the TCP connection after the 200 ->
    RST_STREAM(CONNECT_ERROR) to the client, not a clean END_STREAM."""
    srv = target(reset_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.send_all({sid: b"x"}, end_stream=False)
        srv.wait_results(1)
        c.wait(lambda: st.done)
        assert st.reset == CONNECT_ERROR, st
        assert not st.ended


def test_h2_early_data_waits_for_200(procs, target):
    """DATA sent right behind the CONNECT HEADERS (before any answer) is
    held, reaches the target once connected, and nothing of the tunnel
    comes before the 200."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=localhost:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open("localhost:%d" % srv.port)
        c.conn.send_data(sid, b"early bird")
        c.flush()
        st = c.streams[sid]
        c.wait(lambda: len(st.data) >= 10 or st.done)
        assert st.status == 200, st
        assert bytes(st.data) == b"early bird"
        # h2 would reject DATA before HEADERS itself; check the order of
        # events explicitly anyway.
        kinds = [type(e).__name__ for e in c.events
                 if getattr(e, "stream_id", None) == sid]
        assert kinds.index("ResponseReceived") < kinds.index("DataReceived")


# --------------------------------------------------------------------------
# answers that are not 200


def test_denied_403_no_socket(procs, target):
    """No rule at all: every CONNECT is denied with 403 (HTTP/2 and
    HTTP/1.1); the target is never connected."""
    srv = target(echo_handler)
    g = tunnel_gate(procs)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        c.wait(lambda: st.done)
        assert st.status == 403, st
        assert header(st, "proxy-status") is not None
    c1, r = h1_tunnel(g.port, addr(srv.port))
    c1.close()
    assert r.status == 403, r
    assert srv.accepted == 0


def test_deny_beats_allow(procs, target):
    """--connect-allow='*:*' --connect-deny=127.0.0.1:PORT: that port gets
    403 with no connection, another allowed one opens."""
    denied = target(echo_handler)
    other = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=*:*",
                    "--connect-deny=127.0.0.1:%d" % denied.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(denied.port))
        st = c.streams[sid]
        c.wait(lambda: st.done)
        assert st.status == 403, st
        assert header(st, "proxy-status") is not None
        sid2 = c.open_wait(addr(other.port))
        st2 = c.streams[sid2]
        assert st2.status == 200, st2
        c.send_all({sid2: b"ok"}, end_stream=True, until=lambda: st2.done)
        assert bytes(st2.data) == b"ok"
    assert denied.accepted == 0
    assert other.wait_accepted(1) == 1


def test_port_rules(procs, target):
    """Ports: a range and a list. A name rule covers that name only; an
    address rule also covers names resolving to that address (localhost ->
    127.0.0.1 here)."""
    a = target(echo_handler)
    lo, hi = a.port - 1, a.port
    while True:
        b, z = target(echo_handler), target(echo_handler)
        if not {b.port, z.port} & {lo, hi}:
            break
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d-%d" % (lo, hi),
                    "--connect-allow=localhost:%d,%d" % (b.port, b.port))
    with TunnelH2(g.port) as c:
        for authority, want in ((addr(a.port), 200),
                                ("localhost:%d" % a.port, 200),
                                ("localhost:%d" % b.port, 200),
                                (addr(b.port), 403),
                                (addr(z.port), 403),
                                ("localhost:%d" % z.port, 403)):
            sid = c.open_wait(authority)
            assert c.streams[sid].status == want, (authority, c.streams[sid])
            c.reset(sid)
    assert (a.wait_accepted(2), b.wait_accepted(1), z.accepted) == (2, 1, 0)


def test_cidr_rules_on_resolved_addresses(procs, target):
    """Address rules are checked on what a name resolves to: localhost
    (127.0.0.1 here) is let through by --connect-allow=127.0.0.0/8:*, and
    denied by --connect-deny=127.0.0.0/8:* even when the name itself is
    allowed: 403 destination_ip_prohibited, no connection."""
    srv = target(echo_handler, v6=True)
    resolved = {ai[4][0] for ai in socket.getaddrinfo("localhost", srv.port,
                                                      type=socket.SOCK_STREAM)}
    if not resolved or not all(a.startswith("127.") for a in resolved):
        pytest.skip("localhost resolves to %r here" % resolved)
    g1 = tunnel_gate(procs, "--connect-allow=127.0.0.0/8:*")
    with TunnelH2(g1.port) as c:
        sid = c.open_wait("localhost:%d" % srv.port)
        st = c.streams[sid]
        assert st.status == 200, st
        c.send_all({sid: b"cidr"}, end_stream=True, until=lambda: st.done)
        assert bytes(st.data) == b"cidr"
    assert srv.wait_accepted(1) == 1
    g2 = tunnel_gate(procs, "--connect-deny=127.0.0.0/8:*",
                     "--connect-allow=localhost:*")
    with TunnelH2(g2.port) as c:
        sid = c.open_wait("localhost:%d" % srv.port)
        st = c.streams[sid]
        c.wait(lambda: st.done)
        assert st.status == 403, st
        assert_proxy_status(header(st, "proxy-status"),
                            "destination_ip_prohibited")
    c1, r = h1_tunnel(g2.port, "localhost:%d" % srv.port)
    c1.close()
    assert r.status == 403, r
    assert_proxy_status(r.header("proxy-status"), "destination_ip_prohibited")
    assert srv.wait_accepted(1) == 1


def htpasswd_file(tmp_path):
    """user6:secret6 as SHA-512-crypt ($6$, from openssl passwd -6) and
    userb:secretb as bcrypt ($2y$, htpasswd -B; or python's crypt)."""
    h6 = subprocess.run(["openssl", "passwd", "-6", "-salt", "s3cr3t",
                         "secret6"], capture_output=True, check=True,
                        timeout=30).stdout.decode().strip()
    assert h6.startswith("$6$s3cr3t$"), h6
    hb = None
    if shutil.which("htpasswd"):
        out = subprocess.run(["htpasswd", "-nbB", "-C", "5", "userb",
                              "secretb"], capture_output=True, check=True,
                             timeout=30).stdout.decode().strip()
        hb = out.split(":", 1)[1]
    else:
        import crypt   # deprecated, still in 3.11
        hb = crypt.crypt("secretb", crypt.mksalt(crypt.METHOD_BLOWFISH,
                                                 rounds=32))
        hb = "$2y$" + hb[4:]
    assert hb.startswith("$2y$"), hb
    path = tmp_path / "htpasswd"
    path.write_text("user6:%s\nuserb:%s\n" % (h6, hb))
    return path


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def test_proxy_auth(procs, target, tmp_path):
    """--connect-auth-file: no Proxy-Authorization, a wrong password, an
    unknown user, another scheme -> 407 with Proxy-Authenticate: Basic and
    no connection; the right credentials ($6$ and $2y$ entries) -> 200 and
    bytes flow. HTTP/2 and HTTP/1.1."""
    srv = target(echo_handler)
    pw = htpasswd_file(tmp_path)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port,
                    "--connect-auth-file=%s" % pw)
    bad = [(), [("proxy-authorization", basic("user6", "wrong"))],
           [("proxy-authorization", basic("nobody", "secret6"))],
           [("proxy-authorization", basic("userb", "secret6"))],
           [("proxy-authorization", "Bearer secret6")],
           [("proxy-authorization", "Basic !!!notbase64")]]
    with TunnelH2(g.port) as c:
        for extra in bad:
            sid = c.open_wait(addr(srv.port), extra=extra)
            st = c.streams[sid]
            c.wait(lambda: st.done)
            assert st.status == 407, (extra, st)
            assert (header(st, "proxy-authenticate") or "").lower().startswith(
                "basic"), (extra, st.headers)
        assert srv.accepted == 0
        for user, secret in (("user6", "secret6"), ("userb", "secretb")):
            sid = c.open_wait(addr(srv.port), extra=[
                ("proxy-authorization", basic(user, secret))])
            st = c.streams[sid]
            assert st.status == 200, (user, st)
            c.send_all({sid: user.encode()}, end_stream=True,
                       until=lambda: st.done)
            assert bytes(st.data) == user.encode()
    assert srv.wait_accepted(2) == 2
    c1, r = h1_tunnel(g.port, addr(srv.port))
    c1.close()
    assert r.status == 407, r
    assert (r.header("proxy-authenticate") or "").lower().startswith("basic")
    c1, r = h1_tunnel(g.port, addr(srv.port), extra=[
        ("Proxy-Authorization", basic("user6", "secret6"))])
    with c1:
        assert r.status == 200, r
        c1.send(b"h1 auth")
        assert c1.recv_some(7) == b"h1 auth"
    assert srv.wait_accepted(3) == 3


def test_refused_port(procs):
    """A closed port: 502 connection_refused (or RST_STREAM CONNECT_ERROR)."""
    port = closed_port()
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % port)
    with TunnelH2(g.port) as c:
        sid = c.open(addr(port))
        st = c.streams[sid]
        c.wait(lambda: st.done)
        if st.reset is not None:
            assert st.reset == CONNECT_ERROR, st
        else:
            assert st.status == 502, st
            assert_proxy_status(header(st, "proxy-status"),
                                "connection_refused")
    c1, r = h1_tunnel(g.port, addr(port))
    c1.close()
    assert r.status == 502, r
    assert_proxy_status(r.header("proxy-status"), "connection_refused")


def test_unresolvable_502_dns_error(procs):
    g = tunnel_gate(procs, "--connect-allow=*:*")
    with TunnelH2(g.port) as c:
        sid = c.open("%s:443" % UNRESOLVABLE)
        st = c.streams[sid]
        c.wait(lambda: st.done)
        assert st.status == 502, st
        assert_proxy_status(header(st, "proxy-status"), "dns_error")


def test_blackhole_504(procs, cleanup):
    """A target that never answers the SYN (its accept queue is full):
    504 connection_timeout after --tunnel-connect-timeout, over HTTP/2 and
    HTTP/1.1, while other tunnels on the connection are fine."""
    bh = Blackhole()
    cleanup(bh)
    if not bh.probe_hangs():
        pytest.skip("this kernel completes connects to a full accept queue")
    echo = TargetServer(echo_handler)
    cleanup(echo)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:*",
                    "--tunnel-connect-timeout=1s")
    with TunnelH2(g.port, timeout=30) as c:
        sid = c.open(addr(bh.port))
        sid2 = c.open_wait(addr(echo.port))
        st, st2 = c.streams[sid], c.streams[sid2]
        assert st2.status == 200, st2
        c.send_all({sid2: b"alive"}, end_stream=True, until=lambda: st2.done)
        assert bytes(st2.data) == b"alive"
        c.wait(lambda: st.done)
        assert st.status == 504, st
        assert_proxy_status(header(st, "proxy-status"), "connection_timeout")
    c1, r = h1_tunnel(g.port, addr(bh.port), timeout=30)
    c1.close()
    assert r.status == 504, r
    assert_proxy_status(r.header("proxy-status"), "connection_timeout")


@pytest.mark.parametrize("headers", [
    [(":method", "CONNECT"), (":authority", "127.0.0.1:%d"), (":path", "/")],
    [(":method", "CONNECT"), (":authority", "127.0.0.1:%d"),
     (":scheme", "https")],
    [(":method", "CONNECT"), (":authority", "127.0.0.1")],
    [(":method", "CONNECT")],
], ids=["path", "scheme", "no-port", "no-authority"])
def test_malformed_connect_protocol_error(procs, target, headers):
    """RFC 9113 8.5: CONNECT with :path or :scheme, or without a port or
    :authority, is malformed: RST_STREAM(PROTOCOL_ERROR), the target is not
    contacted, and the connection lives on."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:*")
    hdrs = [(n, v % srv.port if "%d" in v else v) for n, v in headers]
    with TunnelH2(g.port) as c:
        sid = c.request(headers=hdrs, end_stream=False)
        st = c.streams[sid]
        c.wait(lambda: st.done)
        assert st.reset == PROTOCOL_ERROR, st
        assert st.headers is None, st
        sid2 = c.open_wait(addr(srv.port))
        assert c.streams[sid2].status == 200
    assert srv.wait_accepted(1) == 1


@pytest.mark.parametrize("field", [("content-length", "0"),
                                   ("content-length", "5"),
                                   ("transfer-encoding", "chunked")])
def test_h2_connect_with_body_length_400(procs, target, field):
    """A CONNECT with content-length (or transfer-encoding, which HTTP/2
    forbids anyway) is refused: 400 or RST_STREAM(PROTOCOL_ERROR), never
    a tunnel."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open(addr(srv.port), extra=[field])
        st = c.streams[sid]
        c.wait(lambda: st.done)
        if field[0] == "content-length":
            assert st.status == 400, st
            assert_proxy_status(header(st, "proxy-status"),
                                "http_request_error")
        else:
            assert st.status == 400 or st.reset == PROTOCOL_ERROR, st
    assert srv.accepted == 0


def test_max_tunnels_per_connection(procs, target):
    """--max-tunnels-per-connection=2: the third concurrent tunnel gets
    503; once one closes, a new one opens; another connection has its own
    count."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port,
                    "--max-tunnels-per-connection=2")
    with TunnelH2(g.port) as c, TunnelH2(g.port) as d:
        s1 = c.open_wait(addr(srv.port))
        s2 = c.open_wait(addr(srv.port))
        s3 = c.open_wait(addr(srv.port))
        assert [c.streams[s].status for s in (s1, s2, s3)] == [200, 200, 503]
        assert header(c.streams[s3], "proxy-status") is not None
        e1 = d.open_wait(addr(srv.port))
        assert d.streams[e1].status == 200
        st1 = c.streams[s1]
        c.send_all({s1: b"bye"}, end_stream=True, until=lambda: st1.done)
        assert bytes(st1.data) == b"bye"
        s4 = c.open_wait(addr(srv.port))
        assert c.streams[s4].status == 200, c.streams[s4]
    assert srv.wait_accepted(4) == 4


def test_100_tunnels_on_one_connection(procs, target):
    """100 tunnels at once on one HTTP/2 connection, each to its own
    target connection: all open before any data moves, each echoes back
    exactly its own bytes, each ends cleanly."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port, window=4 * MIB, timeout=60) as c:
        sids = [c.open(addr(srv.port)) for _ in range(100)]
        c.wait(lambda: all(c.streams[s].headers is not None
                           or c.streams[s].done for s in sids))
        assert [c.streams[s].status for s in sids] == [200] * 100
        assert wait_accepted(srv, 100) == 100
        data = {s: (b"%05d:" % s) + random_bytes(20000 + 97 * i)
                for i, s in enumerate(sids)}
        c.send_all(data, end_stream=True,
                   until=lambda: all(c.streams[s].done for s in sids),
                   timeout=120)
        for s in sids:
            st = c.streams[s]
            assert st.ended and st.reset is None, (s, st)
            assert bytes(st.data) == data[s], s
    assert srv.wait_accepted(100) == 100


class NoAckTunnel(TunnelH2):
    """Gives back connection-level credit for every DATA frame but no
    stream-level credit for the streams in .no_ack."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.no_ack = set()

    def on_event(self, ev):
        if isinstance(ev, h2.events.DataReceived) and \
                ev.stream_id in self.no_ack:
            self.streams[ev.stream_id].data += ev.data
            if ev.flow_controlled_length:
                self.conn.increment_flow_control_window(
                    ev.flow_controlled_length)
            return
        super().on_event(ev)


def test_slow_reader_stalls_only_its_tunnel(procs, cleanup, target):
    """One tunnel's target floods a client that gives no stream credit for
    it: that stream stops at its window, and an echo tunnel on the same
    connection keeps working (many round trips after the stall)."""
    src = StreamSource(200 * MIB)
    cleanup(src)
    echo = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:*")
    with NoAckTunnel(g.port, timeout=30) as c:
        slow = c.open(addr(src.port))
        c.no_ack.add(slow)   # before any of its DATA can arrive
        c.wait(lambda: c.streams[slow].headers is not None
               or c.streams[slow].done)
        assert c.streams[slow].status == 200
        fast = c.open_wait(addr(echo.port))
        stf = c.streams[fast]
        assert stf.status == 200
        deadline = time.monotonic() + 30
        while len(c.streams[slow].data) < 65535:
            c.pump_once(deadline)
        src.wait_stalled()
        echo_rounds(c, fast, 50, 3000)
        # The stalled stream got no more than its window.
        assert len(c.streams[slow].data) <= 65535
        c.reset(slow)


# --------------------------------------------------------------------------
# bounded memory


@pytest.mark.parametrize("mode", ["h2-window", "h2-socket", "h1-socket"])
def test_bounded_memory_slow_client(procs, cleanup, mode):
    """A target streams 200 MiB to a client that stops reading after about
    1 MiB: by withholding HTTP/2 flow-control credit (h2-window), by not
    reading its socket at all with a huge HTTP/2 window (h2-socket), or on
    an HTTP/1.1 tunnel (h1-socket). Once nothing moves any more, h2gate's
    VmRSS is under its baseline + 32 MiB and the source is stuck far short
    of 200 MiB; then the client reads again and the flow resumes."""
    total = 200 * MIB
    src = StreamSource(total)
    cleanup(src)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % src.port)
    base = rss_kib(g.pid)
    if mode.startswith("h2"):
        window = None if mode == "h2-window" else (1 << 31) - 1
        c = TunnelH2(g.port, window=window, timeout=30)
        sid = c.open_wait(addr(src.port))
        st = c.streams[sid]
        assert st.status == 200, st
        deadline = time.monotonic() + 30
        while len(st.data) < MIB:
            c.pump_once(deadline)
        # Stop reading the socket altogether.
        stalled = src.wait_stalled()
        rss = rss_kib(g.pid)
        got = len(st.data)
    else:
        c, r = h1_tunnel(g.port, addr(src.port))
        assert r.status == 200, r
        got = len(c.recv_some(MIB))
        stalled = src.wait_stalled()
        rss = rss_kib(g.pid)
    try:
        assert stalled < total - 64 * MIB, (stalled, got)
        assert rss < base + 32 * 1024, \
            "VmRSS %d KiB, baseline %d KiB, source sent %d bytes" % (
                rss, base, stalled)
        # Reading again moves the stream on.
        want = stalled + 8 * MIB
        deadline = time.monotonic() + 60
        if mode.startswith("h2"):
            while src.sent < want:
                c.pump_once(deadline)
                st.data = bytearray()    # keep the test's own memory flat
        else:
            while src.sent < want:
                c.recv_some(1)
                assert time.monotonic() < deadline, src.sent
    finally:
        c.close()


# --------------------------------------------------------------------------
# stats and access log


def test_tunnel_stats_and_access_log(procs, target, tmp_path):
    """After one tunnel (5 bytes up, 11 down): tunnels_total{opened} +1,
    tunnel bytes to_target +5 / to_client +11, tunnels_active back to 0,
    and one access log line with the target, the byte counts each way and
    a duration."""
    srv = target(hello_handler)
    log = tmp_path / "access.log"
    g = gate_with_admin(procs, (), tls=False, extra=[
        "--connect-allow=127.0.0.1:%d" % srv.port,
        "--accesslog-file=%s" % log,
        "--accesslog-format=$request|$status|$tunnel_target|"
        "$tunnel_bytes_in|$tunnel_bytes_out|$duration"])
    before = settle(g.admin_port)
    t = "h2gate_tunnels_total"
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        mid = scrape(g.admin_port)
        assert mid.get("h2gate_tunnels_active") == 1
        c.send_all({sid: b"Alice"}, end_stream=True, until=lambda: st.done)
        assert bytes(st.data) == b"hello Alice"
    after = settle(g.admin_port)
    assert after.get(t, result="opened") - before.get(t, result="opened") == 1
    for res in ("denied", "failed"):
        assert after.get(t, result=res, default=0) == \
            before.get(t, result=res, default=0)
    tb = "h2gate_tunnel_bytes_total"
    assert after.get(tb, direction="to_target") - \
        before.get(tb, direction="to_target") == 5
    assert after.get(tb, direction="to_client") - \
        before.get(tb, direction="to_client") == 11
    assert after.get("h2gate_tunnels_active") == 0
    lines = wait_lines(log, lambda ls: len(ls) >= 1)
    assert len(lines) == 1, lines
    req, status, tgt, up, down, dur = lines[0].split("|")
    assert req == "CONNECT %s HTTP/2" % addr(srv.port)
    assert (status, tgt, up, down) == ("200", addr(srv.port), "5", "11"), \
        lines[0]
    assert float(dur) >= 0


# --------------------------------------------------------------------------
# more edges: server-first targets, IPv6, idle timeout, resource cleanup


def banner_handler(srv, c):
    """A server-first protocol (SMTP-like): greet at once, then echo."""
    srv.sendall(c, b"220 target ready\r\n")
    echo_handler(srv, c)


def test_server_first_target_bytes_follow_the_200(procs, target):
    """A target that speaks first: its greeting is sent while h2gate is
    still answering; it must come after the 200 head (HTTP/1.1) / after
    the response HEADERS (HTTP/2), intact."""
    srv = target(banner_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    c, r = h1_tunnel(g.port, addr(srv.port))
    with c:
        assert r.status == 200, r
        assert c.recv_some(18) == b"220 target ready\r\n"
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.wait(lambda: len(st.data) >= 18)
        assert bytes(st.data) == b"220 target ready\r\n"
        kinds = [type(e).__name__ for e in c.events
                 if getattr(e, "stream_id", None) == sid]
        assert kinds.index("ResponseReceived") < kinds.index("DataReceived")


def _have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _have_ipv6_loopback(), reason="no ::1 here")
def test_ipv6_literal_and_cidr_rules(procs, target):
    """`[::1]:PORT` authority; allowed by an IPv6 CIDR rule
    `[::1]/128:PORT`, denied (403) by `--connect-deny=[::1]/128:*` even
    with `*:*` allowed; 127.0.0.1 unaffected by that deny. (h2gate matches
    IPv4 addresses as ::ffff:a.b.c.d, so `[::]/0` would deny IPv4 too.)"""
    srv = target(echo_handler, v6=True)
    if len(srv.socks) < 2:
        pytest.skip("could not listen on ::1")
    g = tunnel_gate(procs, "--connect-allow=[::1]/128:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait("[::1]:%d" % srv.port)
        st = c.streams[sid]
        assert st.status == 200, st
        c.send_all({sid: b"six"}, end_stream=True, until=lambda: st.done)
        assert bytes(st.data) == b"six"
    assert srv.wait_accepted(1) == 1
    g2 = tunnel_gate(procs, "--connect-allow=*:*",
                     "--connect-deny=[::1]/128:*")
    with TunnelH2(g2.port) as c:
        sid = c.open_wait("[::1]:%d" % srv.port)
        st = c.streams[sid]
        c.wait(lambda: st.done)
        assert st.status == 403, st
        sid = c.open_wait(addr(srv.port))
        assert c.streams[sid].status == 200
    assert srv.wait_accepted(2) == 2


def test_idle_timeout_closes_both_sides(procs, target):
    """--tunnel-idle-timeout=1s: an idle tunnel is torn down: the client's
    stream is reset (or ended) and the target reads EOF."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port,
                    "--tunnel-idle-timeout=1s")
    with TunnelH2(g.port, timeout=30) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.wait(lambda: st.done)
        assert st.reset is not None or st.ended, st
        assert srv.wait_results(1) == ["eof"]
    c1, r = h1_tunnel(g.port, addr(srv.port), timeout=30)
    with c1:
        assert r.status == 200, r
        assert c1.read_to_eof() == b""
    assert srv.wait_results(2) == ["eof", "eof"]


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def started_fds(g):
    """h2gate's open fds once it has started: its port accepts (the
    kernel's backlog) before its threads have made their loops, which
    "h2gate started" follows."""
    deadline = time.monotonic() + 15
    while "h2gate started" not in g.log():
        assert time.monotonic() < deadline, g.log()
        time.sleep(0.02)
    return fd_count(g.pid)


def fd_targets(pid):
    """What each open fd is (socket:[inode], pipe:[inode], a path): for
    the message when one is left behind."""
    d = "/proc/%d/fd" % pid
    out = {}
    for fd in os.listdir(d):
        try:
            out[int(fd)] = os.readlink(os.path.join(d, fd))
        except OSError:
            pass
    return out


def assert_fds_back(pid, fds, timeout=10.0):
    """h2gate's open fds come back to at most `fds` (an admin connection
    counted in the baseline may be gone by now: fewer is fine, more is a
    leak)."""
    deadline = time.monotonic() + timeout
    while fd_count(pid) > fds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fd_count(pid) <= fds, fd_targets(pid)


def test_client_vanishes_with_open_tunnels(procs, target):
    """A client connection with 50 open tunnels is reset by the client: all
    50 target sockets are closed (each target reads EOF), h2gate's fd
    count and tunnels_active return to where they were."""
    srv = target(echo_handler)
    g = gate_with_admin(procs, (), tls=False, extra=[
        "--connect-allow=127.0.0.1:%d" % srv.port])
    before = settle(g.admin_port)
    fds = started_fds(g)
    c = TunnelH2(g.port, timeout=30)
    sids = [c.open(addr(srv.port)) for _ in range(50)]
    c.wait(lambda: all(c.streams[s].headers is not None for s in sids))
    c.send_all({s: b"x" * 1000 for s in sids}, end_stream=False)
    assert scrape(g.admin_port).get("h2gate_tunnels_active") == 50
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    # A FIN, or a RST where h2gate closed with unread echo bytes.
    assert set(srv.wait_results(50)) <= {"eof", "reset"}
    assert len(srv.results) == 50
    after = settle(g.admin_port)
    assert after.get("h2gate_tunnels_active") == 0
    t = "h2gate_tunnels_total"
    assert after.get(t, result="opened") - before.get(t, result="opened") == 50
    assert_fds_back(g.pid, fds)


def wait_fds(pid, n, timeout=10.0):
    """h2gate's open fds come to exactly n (a state reached once the
    worker's spare splice pipes are closed, about two seconds after their
    last use); the message lists what is open when they do not."""
    deadline = time.monotonic() + timeout
    while fd_count(pid) != n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fd_count(pid) == n, (n, fd_targets(pid))


def num_pipes(pid):
    return sum(1 for v in fd_targets(pid).values() if v.startswith("pipe:"))


def test_spliced_tunnels_hold_pipes_only_while_bytes_flow(procs, target):
    """A spliced cleartext HTTP/1.1 tunnel costs h2gate its two sockets
    while idle: exactly 2 fds per tunnel with 8 idle tunnels open, and
    again after bytes went both ways through each; a tunnel whose client
    does not read holds one pipe (2 fds) while bytes wait in it, and gives
    it back once the client read them all."""
    srv = target(echo_handler)
    total = 8 * MIB
    src = StreamSource(total)
    try:
        g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port,
                        "--connect-allow=127.0.0.1:%d" % src.port)
        base = started_fds(g)
        conns = []
        for _ in range(8):
            c, r = h1_tunnel(g.port, addr(srv.port))
            assert r.status == 200, r
            conns.append(c)
        wait_fds(g.pid, base + 2 * 8)
        for i, c in enumerate(conns):
            msg = b"%d" % i * 1000
            c.send(msg)
            assert c._exact(len(msg), time.monotonic() + 10) == msg
        wait_fds(g.pid, base + 2 * 8)
        assert num_pipes(g.pid) == 0

        # 8 MiB toward a client that reads nothing: the pipe toward it
        # holds bytes, so it stays with the tunnel.
        s, r = h1_tunnel(g.port, addr(src.port))
        assert r.status == 200, r
        conns.append(s)
        src.wait_stalled()
        wait_fds(g.pid, base + 2 * 9 + 2)
        assert num_pipes(g.pid) == 2
        got = len(s.buf)
        s.buf = b""
        while got < total:
            s._fill(time.monotonic() + 30)
            got += len(s.buf)
            s.buf = b""
        assert got == total
        assert src.server.wait_results(1) == [total]
        wait_fds(g.pid, base + 2 * 9)
        assert num_pipes(g.pid) == 0
        for c in conns:
            c.close()
        src.stop()    # its connection's end: the last tunnel closes too
        wait_fds(g.pid, base)
    finally:
        src.stop()


def test_tunnel_churn_leaks_nothing(procs, target):
    """300 tunnels opened and closed one after another on one connection
    (clean END_STREAM, client reset, refused, denied in turn): no fd is
    left behind and every target connection was closed."""
    srv = target(echo_handler)
    refused = closed_port()
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port,
                    "--connect-allow=127.0.0.1:%d" % refused)
    fds = started_fds(g)
    opened = 0
    with TunnelH2(g.port, timeout=30) as c:
        for i in range(300):
            kind = i % 4
            if kind == 0:
                sid = c.open_wait(addr(srv.port))
                st = c.streams[sid]
                c.send_all({sid: b"%d" % i}, end_stream=True,
                           until=lambda: st.done)
                assert bytes(st.data) == b"%d" % i and st.ended, st
                opened += 1
            elif kind == 1:
                sid = c.open_wait(addr(srv.port))
                assert c.streams[sid].status == 200
                c.reset(sid)
                opened += 1
            elif kind == 2:
                sid = c.open_wait(addr(refused))
                st = c.streams[sid]
                c.wait(lambda: st.done)
                assert st.status == 502 or st.reset == CONNECT_ERROR, st
                if st.reset is None:
                    c.reset(sid, 0)   # our side is still open: NO_ERROR
            else:
                sid = c.open_wait(addr(srv.port + 1 if srv.port + 1 != refused
                                       else srv.port + 2))
                st = c.streams[sid]
                c.wait(lambda: st.done)
                assert st.status == 403, st
                c.reset(sid, 0)
    assert set(srv.wait_results(opened)) <= {"eof", "reset"}
    assert len(srv.results) == opened
    assert_fds_back(g.pid, fds)


def test_curl_proxy_user(procs, tmp_path):
    """curl's own Basic proxy credentials (-U), through an HTTP/1.1 tunnel
    to the origin: wrong ones -> curl reports the CONNECT answer 407; the
    right ones -> the origin's body."""
    origin = procs.origin(count=True)
    pw = htpasswd_file(tmp_path)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % origin.port,
                    "--connect-auth-file=%s" % pw)
    url = "http://%s/size/321" % addr(origin.port)
    proxy = "http://%s:%d" % (HOST, g.port)
    p = curl(["-m", "20", "-p", "-x", proxy, "-U", "user6:nope", "-o", "-",
              "-w", "\n%{http_connect}", url])
    assert p.stdout.rpartition(b"\n")[2] == b"407", (p.stdout, p.stderr)
    p = curl(["-m", "20", "-p", "-x", proxy, "-U", "userb:secretb", "-o", "-",
              "-w", "\n%{http_connect} %{http_code}", url])
    body, _, tail = p.stdout.rpartition(b"\n")
    assert tail == b"200 200", (p.stdout[-200:], p.stderr)
    assert len(body) == 321
    assert origin.count() == 1


def test_h2_headers_on_connected_stream_is_stream_error(procs, target):
    """RFC 9113 8.5: only DATA and stream management frames may follow the
    CONNECT request; a HEADERS frame (trailers) on the connected stream
    MUST be treated as a stream error: RST_STREAM, not a clean end."""
    srv = target(echo_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    with TunnelH2(g.port) as c:
        sid = c.open_wait(addr(srv.port))
        st = c.streams[sid]
        assert st.status == 200, st
        c.conn.send_data(sid, b"abc")
        c.conn.send_headers(sid, [(b"x-trailer", b"1")], end_stream=True)
        c.flush()
        c.wait(lambda: st.done)
        assert st.reset is not None, st


def quiet_sink_handler(srv, c):
    """Accepts and never reads (until the server stops)."""
    srv.stopping.wait()


def test_bounded_memory_upload_to_stuck_target(procs, target):
    """The client pushes 200 MiB at a target that never reads: h2gate
    stops giving HTTP/2 credit once its bounded buffer is full, so the
    client stalls with its window exhausted, and h2gate's VmRSS stays
    under baseline + 32 MiB."""
    srv = target(quiet_sink_handler)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % srv.port)
    base = rss_kib(g.pid)
    blob = memoryview(b"\xab" * (200 * MIB))
    with TunnelH2(g.port, timeout=30) as c:
        sid = c.open_wait(addr(srv.port))
        assert c.streams[sid].status == 200
        sent, last_change = 0, time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() - last_change < 1.0:
            assert time.monotonic() < deadline, sent
            room = min(c.conn.local_flow_control_window(sid),
                       c.conn.max_outbound_frame_size, len(blob) - sent)
            if room > 0 and len(c.outbuf) < MIB:
                c.conn.send_data(sid, bytes(blob[sent:sent + room]))
                sent += room
                last_change = time.monotonic()
                c.flush()
            else:
                c.poll(0.3)
        rss = rss_kib(g.pid)
        assert sent < 100 * MIB, sent
        assert rss < base + 32 * 1024, \
            "VmRSS %d KiB, baseline %d KiB, client sent %d" % (rss, base, sent)


def test_bounded_memory_many_stalled_tunnels(procs, cleanup):
    """20 tunnels on one connection, each target streaming without end, a
    client that grants huge windows and then stops reading its socket:
    once nothing moves, h2gate's VmRSS is under baseline + 32 MiB (a
    bounded amount per tunnel, not per connection or per byte sent)."""
    n = 20
    src = StreamSource(1 << 40)
    cleanup(src)
    g = tunnel_gate(procs, "--connect-allow=127.0.0.1:%d" % src.port)
    base = rss_kib(g.pid)
    with TunnelH2(g.port, window=(1 << 31) - 1, timeout=30) as c:
        sids = [c.open(addr(src.port)) for _ in range(n)]
        c.wait(lambda: all(c.streams[s].headers is not None
                           or c.streams[s].done for s in sids))
        assert [c.streams[s].status for s in sids] == [200] * n
        deadline = time.monotonic() + 30
        while not all(len(c.streams[s].data) > 0 for s in sids):
            c.pump_once(deadline)
        stalled = src.wait_stalled()
        rss = rss_kib(g.pid)
        assert rss < base + 32 * 1024, \
            "VmRSS %d KiB, baseline %d KiB, sources sent %d bytes" % (
                rss, base, stalled)
