"""Long field lists in responses reach the client whole: trailer sections
and interim (1xx) responses with many fields, from HTTP/1.1 and HTTP/2
backends, to HTTP/2 and HTTP/1.1 clients.

The limits are the configured ones, --max-response-header-fields (500 by
default) and --response-header-field-buffer (64 KiB by default), nothing
smaller: 300 trailer fields and 60 interim fields are well inside both.
Every field must arrive, with its value, in the backend's order."""

import pytest

from conftest import IS_NGHTTPX
from h2backend_lib import numbered_links, numbered_trailers
from testlib import HOST, H1Conn, H2Client

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's backend specs")

N_TRAILERS = 300
N_LINKS = 60
BACKENDS = ["h1", "h2"]


def gate_for(procs, backends, proto):
    """A python backend (HTTP/1.1 or HTTP/2, cleartext) and an h2gate with
    a cleartext frontend (h2c and HTTP/1.1) in front of it."""
    b = backends(h1=proto == "h1")
    spec = "%s,%d" % (HOST, b.port) if proto == "h1" else b.spec()
    return procs.gate([spec], tls=False)


def assert_all_fields(got, want, what):
    """got == want, reported as how many of want arrived when only a
    prefix did (a truncated list) and as the first difference otherwise."""
    got = list(got)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, "%s field %d is %r, expected %r" % (what, i, g, w)
    assert len(got) == len(want), \
        "%d of %d %s fields arrived (the last one: %r)" % (
            len(got), len(want), what, got[-1] if got else None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_300_trailer_fields_reach_h2_client(procs, backends, backend):
    """A response with 300 trailer fields (HTTP/2 trailers, or an HTTP/1.1
    chunked trailer section) reaches a python-h2 client with all 300, in
    order, and the stream ends cleanly."""
    g = gate_for(procs, backends, backend)
    with H2Client(g.port) as c:
        sid = c.request("/trailers/%d" % N_TRAILERS)
        r, = c.wait_streams([sid])
    assert r.status == 200 and r.ended and r.reset is None, r
    assert bytes(r.data) == b"body\n"
    assert r.trailers is not None, "no trailers arrived: %r" % r
    assert_all_fields(r.trailers, numbered_trailers(N_TRAILERS), "trailer")


@pytest.mark.parametrize("backend", BACKENDS)
def test_300_trailer_fields_reach_h1_client(procs, backends, backend):
    """The same 300 trailer fields reach an HTTP/1.1 client (TE: trailers)
    as the chunked trailer section."""
    g = gate_for(procs, backends, backend)
    with H1Conn(g.port) as c:
        c.send(b"GET /trailers/%d HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
               b"Connection: close\r\n\r\n" % N_TRAILERS)
        raw = c.read_to_eof()
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep and head.startswith(b"HTTP/1.1 200"), raw[:2000]
    assert b"\r\ntransfer-encoding: chunked" in head.lower(), head
    body = b"5\r\nbody\n\r\n0\r\n"
    assert rest.startswith(body) and rest.endswith(b"\r\n\r\n"), rest[:2000]
    lines = rest[len(body):-4].split(b"\r\n") if rest != body + b"\r\n" else []
    got = [tuple(p.strip() for p in ln.split(b":", 1)) for ln in lines]
    assert_all_fields(got, numbered_trailers(N_TRAILERS), "trailer")


@pytest.mark.parametrize("backend", BACKENDS)
def test_103_with_60_fields_reaches_h2_client(procs, backends, backend):
    """A 103 Early Hints with 60 link fields reaches a python-h2 client as
    one interim HEADERS with all 60, in order; the final 200 follows."""
    g = gate_for(procs, backends, backend)
    with H2Client(g.port) as c:
        sid = c.request("/interim/%d" % N_LINKS)
        r, = c.wait_streams([sid])
    assert r.status == 200 and r.ended and r.reset is None, r
    assert bytes(r.data) == b"final\n"
    assert len(r.informational) == 1, r.informational
    hs = r.informational[0]
    assert hs[0] == (b":status", b"103"), hs
    assert_all_fields([f for f in hs[1:] if f[0] == b"link"],
                      numbered_links(N_LINKS), "103 link")


@pytest.mark.parametrize("backend", BACKENDS)
def test_103_with_60_fields_reaches_h1_client(procs, backends, backend):
    """The same 103 reaches an HTTP/1.1 client with its 60 link fields in
    order, then the final 200."""
    g = gate_for(procs, backends, backend)
    with H1Conn(g.port) as c:
        c.send(b"GET /interim/%d HTTP/1.1\r\nHost: x\r\n\r\n" % N_LINKS)
        r = c.read_response()
        assert r.status == 103, r
        assert_all_fields([(n.encode(), v.encode()) for n, v in r.headers
                           if n == "link"],
                          numbered_links(N_LINKS), "103 link")
        r = c.read_response()
        assert r.status == 200 and r.body == b"final\n", r
