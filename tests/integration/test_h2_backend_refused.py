"""Streams an HTTP/2 backend refuses with GOAWAY before it reads them: the
backend cannot have processed them (RFC 9113 §6.8), so h2gate sends them
again on another session, many times if need be (a backend that sends
GOAWAY on all its sessions at once bounces a stream from one session to
the next), but not forever: a backend that refuses every stream ends the
request with 502 after a bounded number of sessions."""

import pytest

from conftest import IS_NGHTTPX
from h2backend_lib import Backend, _H2Proto
from testlib import H2Client

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's retry bound")

MAX_REFUSED = 50    # proxy/upool.h UPOOL_H2_MAX_REFUSED


class RefusingProto(_H2Proto):
    """A session that, while the server's `refuse` count lasts, sends
    GOAWAY with last-stream-id 0 right after its SETTINGS and then
    ignores every stream, leaving the connection for h2gate to close."""

    def connection_made(self, transport):
        super().connection_made(transport)
        if self.srv.refuse > 0:
            self.srv.refuse -= 1
            self.goaway()

    def maybe_close(self):
        if self.goaway_last != 0:
            super().maybe_close()


class RefusingBackend(Backend):
    h2_proto = RefusingProto

    def __init__(self, refuse, **kw):
        self.refuse = refuse
        super().__init__(**kw)


def get(port, path="/"):
    with H2Client(port) as c:
        sid = c.request(path)
        r, = c.wait_streams([sid])
    return r


@pytest.mark.parametrize("refusals", [1, 5, MAX_REFUSED])
def test_refused_by_goaway_sent_again(procs, refusals):
    """The first sessions each refuse the GET with a GOAWAY: it is sent
    again on a new session each time, more times than a connection that
    broke would allow (3), and the session after the last refusal
    answers it."""
    b = RefusingBackend(refusals)
    try:
        g = procs.gate([b.spec()], tls=False)
        r = get(g.port)
        assert r.status == 200 and bytes(r.data) == b"ok\n", r
        assert b.conns == refusals + 1
        assert len(b.requests) == 1      # only the last session read it
    finally:
        b.stop()


def test_refusing_backend_bounded(procs):
    """A backend whose every session refuses with GOAWAY: the GET ends
    with 502 after 1 + MAX_REFUSED sessions, and the next request is
    tried afresh."""
    b = RefusingBackend(10 ** 6)
    try:
        g = procs.gate([b.spec()], tls=False)
        r = get(g.port)
        assert r.status == 502, r
        assert b.conns == MAX_REFUSED + 1
        b.refuse = 0
        r = get(g.port)
        assert r.status == 200 and bytes(r.data) == b"ok\n", r
    finally:
        b.stop()
    assert b.requests and len(b.requests) == 1
