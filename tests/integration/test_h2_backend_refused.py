"""Streams an HTTP/2 backend refuses with GOAWAY before it reads them: the
backend cannot have processed them (RFC 9113 §6.8), so h2gate sends them
again on another session, many times if need be (a backend that sends
GOAWAY on all its sessions at once bounces a stream from one session to
the next), but not forever: a backend that refuses every stream ends the
request with 502 after a bounded number of sessions."""

import h2.events
import pytest

from conftest import IS_NGHTTPX
from h2backend_lib import Backend, _H2Proto
from testlib import HOST, H2Client, h2load

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


class RequestLimitProto(_H2Proto):
    """A session that sends GOAWAY (last-stream-id: the request just
    read) once it has read the server's `limit` requests, as nginx does
    after keepalive_requests (1,000 by default): under load the sessions
    reach it one after the other."""

    def on_event(self, ev):
        super().on_event(ev)
        if isinstance(ev, h2.events.RequestReceived):
            self.taken = getattr(self, "taken", 0) + 1
            if self.taken == self.srv.limit:
                self.goaway()


class RequestLimitBackend(Backend):
    h2_proto = RequestLimitProto

    def __init__(self, limit, **kw):
        self.limit = limit
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


def test_sessions_ended_after_n_requests_under_load(procs):
    """Every backend session ends with GOAWAY after 100 requests while
    800 are in flight: streams above a GOAWAY, and streams placed on a
    session whose GOAWAY is still unread, go again until a session takes
    them; every request is answered 200 (with these tries capped at 3,
    6 of 16 such runs had a 502)."""
    b = RequestLimitBackend(100)
    try:
        g = procs.gate([b.spec()], tls=False)
        r = h2load("http://%s:%d/" % (HOST, g.port), 10000, 8, 100)
    finally:
        b.stop()
    assert r.codes["2xx"] == 10000 and r.failed == 0 and r.errored == 0, \
        r.output
    assert b.conns >= 100   # every session ended after its 100
