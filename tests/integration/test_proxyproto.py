"""The PROXY protocol on a ";proxyproto" frontend (issue 13): v1 and v2
headers (TCP4, TCP6, LOCAL, UNKNOWN, TLVs) ahead of HTTP/1.1, h2c and TLS;
the address they carry is the client's everywhere (X-Forwarded-For,
Forwarded, the access log, CONNECT logs); a missing, malformed, truncated
or too slow header closes the connection and nothing is forwarded."""

import socket
import ssl
import struct
import time

import pytest

from conftest import IS_NGHTTPX, free_port
from obs_lib import parse_default, wait_lines
from test_headers import parse, values
from testlib import HOST, H2Client

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's frontend syntax")

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(proto, src, dst, sport, dport):
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode()


def v2(cmd, fam, addrs=b"", tlvs=b""):
    body = addrs + tlvs
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def v2_tcp4(src, dst, sport, dport, tlvs=b""):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst)
              + struct.pack("!HH", sport, dport), tlvs)


def v2_tcp6(src, dst, sport, dport):
    return v2(1, 0x21, socket.inet_pton(socket.AF_INET6, src)
              + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport))


def proxy_gate(procs, tmp_path, extra=()):
    """An h2gate whose two frontends (cleartext .port, TLS .tls_port)
    both want the PROXY header; X-Forwarded-For and Forwarded for=ip on,
    access log in .log."""
    o = procs.origin(count=True)
    log = tmp_path / "access.log"
    port, tls_port = free_port(), free_port()
    g = procs.gate_raw(
        ["-f", "%s,%d;no-tls;proxyproto" % (HOST, port),
         "-f", "%s,%d;proxyproto" % (HOST, tls_port), "-b", o.backend(), "-n1",
         "--add-x-forwarded-for", "--add-forwarded=for", "--forwarded-for=ip",
         "--accesslog-file=%s" % log, *extra,
         str(procs.tls_files[0]), str(procs.tls_files[1])],
        ports=[port, tls_port], port=port, tls_port=tls_port)
    g.log_file, g.origin = log, o
    return g


def read_all(s):
    got = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    return got


def h1_through(port, header, pieces=1, tls=False):
    """Sends header (in `pieces` writes) then GET /headers; the origin's
    view of the request as (name, value) pairs, or None when h2gate closed
    without an answer."""
    with socket.create_connection((HOST, port), timeout=10) as s:
        step = max(1, len(header) // pieces)
        for i in range(0, len(header), step):
            s.sendall(header[i:i + step])
            if pieces > 1:
                time.sleep(0.05)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(b"GET /headers HTTP/1.1\r\nHost: a\r\nUser-Agent: pp\r\n"
                  b"Connection: close\r\n\r\n")
        got = read_all(s)
    if not got:
        return None
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), got[:200]
    return parse(body)


@pytest.mark.parametrize("name,header,addr", [
    ("v1_tcp4", v1("TCP4", "203.0.113.7", "192.0.2.1", 56324, 80), "203.0.113.7"),
    ("v1_tcp6", v1("TCP6", "2001:db8::7", "2001:db8::1", 4000, 80), "2001:db8::7"),
    ("v2_tcp4", v2_tcp4("198.51.100.9", "192.0.2.1", 1234, 80), "198.51.100.9"),
    ("v2_tcp6", v2_tcp6("2001:db8::9", "2001:db8::1", 1234, 80), "2001:db8::9"),
    ("v2_tlvs", v2_tcp4("198.51.100.10", "192.0.2.1", 1, 2,
                        tlvs=b"\x04\x00\x03abc\x01\x00\x02h2"), "198.51.100.10"),
    ("v1_unknown", b"PROXY UNKNOWN\r\n", HOST),
    ("v2_local", v2(0, 0x11, b"\x01" * 12), HOST),
])
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_header_address_becomes_the_client(procs, tmp_path, name, header, addr, tls):
    """The client address of the header (the socket's own for UNKNOWN and
    LOCAL) is in X-Forwarded-For, Forwarded and the access log; over TLS
    the header comes before the handshake."""
    g = proxy_gate(procs, tmp_path)
    h = h1_through(g.tls_port if tls else g.port, header, tls=tls)
    assert h is not None, g.log()
    assert values(h, "x-forwarded-for") == [addr], h
    node = '"[%s]"' % addr if ":" in addr else addr
    assert values(h, "forwarded") == ["for=%s" % node], h
    lines = wait_lines(g.log_file, lambda ls: len(ls) >= 1)
    assert parse_default(lines[0])["remote_addr"] == addr, lines


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2"])
def test_http2_after_the_header(procs, tmp_path, tls):
    """h2c and h2 over TLS after a v2 header: the stream's request carries
    the header's address."""
    g = proxy_gate(procs, tmp_path)
    hdr = v2_tcp4("203.0.113.44", "192.0.2.1", 999, 80)
    with H2Client(g.tls_port if tls else g.port, tls=tls, preamble=hdr) as c:
        sid = c.request("/headers")
        r = c.wait_streams([sid])[0]
    assert r.status == 200, r
    assert values(parse(bytes(r.data)), "x-forwarded-for") == ["203.0.113.44"]


def test_header_trickled_in_small_writes(procs, tmp_path):
    """A v1 and a v2 header sent a few bytes at a time: each is read whole,
    and nothing of the request after it is lost."""
    g = proxy_gate(procs, tmp_path)
    for hdr, addr in ((v1("TCP4", "203.0.113.45", "192.0.2.1", 9, 80), "203.0.113.45"),
                      (v2_tcp4("203.0.113.46", "192.0.2.1", 9, 80), "203.0.113.46")):
        h = h1_through(g.port, hdr, pieces=6)
        assert values(h, "x-forwarded-for") == [addr], h


@pytest.mark.parametrize("name,data", [
    ("missing", b"GET /headers HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"x" * 100),
    ("bad_v1", b"PROXY TCP4 1.2.3.4 1.2.3.4 99999 80\r\nGET / HTTP/1.1\r\n\r\n"),
    ("bad_v2_family", v2(1, 0x12, b"\x00" * 12) + b"GET / HTTP/1.1\r\n\r\n"),
    ("truncated_then_close", v2_tcp4("1.2.3.4", "1.2.3.4", 1, 2)[:20]),
])
def test_bad_or_missing_header_closes_and_forwards_nothing(procs, tmp_path, name, data):
    """No valid header: the connection is closed without an answer and
    nothing reaches the backend or the access log; h2gate keeps serving."""
    g = proxy_gate(procs, tmp_path)
    with socket.create_connection((HOST, g.port), timeout=10) as s:
        s.sendall(data)
        if name == "truncated_then_close":
            s.shutdown(socket.SHUT_WR)
        assert read_all(s) == b""
    h = h1_through(g.port, v1("TCP4", "203.0.113.1", "192.0.2.1", 1, 80))
    assert values(h, "x-forwarded-for") == ["203.0.113.1"]
    assert g.origin.count() == 1      # only the good one
    lines = wait_lines(g.log_file, lambda ls: len(ls) >= 1)
    assert len(lines) == 1, lines


def test_slow_header_cut_at_its_deadline(procs, tmp_path):
    """Half a header and then nothing: closed once --frontend-read-timeout
    (1s here, under the 5s PROXY bound) passes, nothing forwarded."""
    g = proxy_gate(procs, tmp_path, extra=["--frontend-read-timeout=1s"])
    with socket.create_connection((HOST, g.port), timeout=10) as s:
        s.sendall(b"PROXY TCP4 203.0.113.1 ")
        assert read_all(s) == b""     # h2gate closed it (else: socket timeout)
    assert g.origin.count() == 0


def test_connect_log_carries_the_header_address(procs, tmp_path):
    """A CONNECT after the header is logged (at its 200) with the header's
    address."""
    target = socket.socket()
    target.bind((HOST, 0))
    target.listen(1)
    try:
        g = proxy_gate(procs, tmp_path, extra=["--connect-allow=127.0.0.1:*",
                                                "--accesslog-write-early"])
        with socket.create_connection((HOST, g.port), timeout=10) as s:
            s.sendall(v1("TCP4", "203.0.113.77", "192.0.2.1", 5, 80)
                      + b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
                      % target.getsockname()[1])
            assert s.recv(100).startswith(b"HTTP/1.1 200")
        lines = wait_lines(g.log_file, lambda ls: len(ls) >= 1)
        assert parse_default(lines[0])["remote_addr"] == "203.0.113.77", lines
    finally:
        target.close()
