"""HTTP/2 server push from a backend's Link: <...>; rel=preload (issue 16):
PUSH_PROMISE frames and the pushed responses as a python-h2 client sees
them, what the backends are asked, the cases that never push, a client's
cancel reaching the backend, the bounds (8 per response, 100 per
connection) and h2gate_http2_pushes_total."""

import h2.events
import h2.settings
import pytest

from conftest import IS_NGHTTPX
from h2backend_lib import wait_for
from obs_lib import gate_with_admin, scrape, settle
from rawh2 import (DATA, HEADERS, PUSH_PROMISE,
                   SETTINGS_MAX_CONCURRENT_STREAMS, RawH2)
from testlib import H1Conn, H2Client, StreamResult

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own metrics")

UA = b"push-test/1.0"


class PushClient(H2Client):
    """H2Client that accepts pushes: .promises maps a promised stream id
    to (parent stream id, promised request fields); the pushed response
    lands in .streams like any other."""

    def __init__(self, port, enable_push=True, **kw):
        super().__init__(port, **kw)
        self.promises = {}
        if not enable_push:
            self.conn.update_settings(
                {h2.settings.SettingCodes.ENABLE_PUSH: 0})
            self.flush()

    def on_event(self, ev):
        if isinstance(ev, h2.events.PushedStreamReceived):
            self.promises[ev.pushed_stream_id] = (ev.parent_stream_id,
                                                  dict(ev.headers))
            self.streams[ev.pushed_stream_id] = StreamResult()
            return
        super().on_event(ev)

    def page(self, links=(), path="/page", method="GET", extra=(),
             scheme="http"):
        """Requests path with one x-link field per link (the backend
        answers each as a link field); waits for the page and for every
        stream pushed with it. Returns (page stream, {path: pushed})."""
        before = set(self.promises)
        hdrs = [("user-agent", UA), ("accept-encoding", "gzip"),
                ("cookie", "secret=1"), *extra]
        hdrs += [("x-link", v) for v in links]
        sid = self.request(path, method=method, extra=hdrs, scheme=scheme,
                           body=b"x" if method == "POST" else None)
        self.wait_streams([sid])
        new = [p for p in self.promises if p not in before]
        self.wait_streams(new)
        return self.streams[sid], {
            self.promises[p][1][b":path"]: self.streams[p] for p in new}


def pushes(port):
    s = scrape(port)
    return {r: s.get("h2gate_http2_pushes_total", default=0, result=r)
            for r in ("promised", "cancelled", "limited")}


def gate(procs, backends, extra=()):
    """h2gate in front of b1 (every path) and b2 (/res/), with an admin."""
    b1, b2 = backends(), backends()
    g = gate_with_admin(procs, [b1.spec(";;proto=h2"),
                                b2.spec(";/res/;proto=h2")],
                        extra=extra, tls=False)
    return g, b1, b2


def paths(b):
    return [dict(h).get(b":path") for h in b.requests]


def test_push_promise_and_pushed_responses(procs, backends, tmp_path):
    log = tmp_path / "access.log"
    g, b1, b2 = gate(procs, backends, extra=[
        "--accesslog-file=%s" % log,
        "--accesslog-format=$method $path $status"])
    with PushClient(g.port) as c:
        page, pushed = c.page([
            b"</res/a.css>; rel=preload; as=style",
            b'<res/b.js>; rel="preload"; as=script, </res/a.css>; rel=preload',
            b"<http://localhost/res/c.png#frag>; rel=preload",
        ])
        assert page.status == 200 and bytes(page.data) == b"page\n"
        assert sorted(pushed) == [b"/res/a.css", b"/res/b.js", b"/res/c.png"]
        for p, st in pushed.items():
            assert st.status == 200 and st.ended, st
            assert bytes(st.data) == b"res " + p + b"\n"
        for parent, req in c.promises.values():
            assert parent == 1
            assert req[b":method"] == b"GET"
            assert req[b":scheme"] == b"http"
            assert req[b":authority"] == b"localhost"
            assert req[b"user-agent"] == UA
            assert req[b"accept-encoding"] == b"gzip"
            assert b"cookie" not in req
        assert all(p % 2 == 0 for p in c.promises)
    # Each push is a GET of the /res/ route's backend, with the fields
    # nghttpx copies (no cookie); b1 saw only the page.
    assert paths(b1) == [b"/page"]
    assert sorted(paths(b2)) == [b"/res/a.css", b"/res/b.js", b"/res/c.png"]
    for h in b2.requests:
        d = dict(h)
        assert d[b":method"] == b"GET" and d[b":authority"] == b"localhost"
        assert d[b"user-agent"] == UA and b"cookie" not in d
    assert pushes(g.admin_port) == {"promised": 3, "cancelled": 0,
                                    "limited": 0}
    settle(g.admin_port)
    assert wait_for(lambda: log.exists() and
                    len(log.read_text().splitlines()) == 4)
    assert sorted(log.read_text().splitlines()) == [
        "GET /page 200", "GET /res/a.css 200", "GET /res/b.js 200",
        "GET /res/c.png 200"]


def check_no_push(g, b1, b2, c, links=(b"</res/a.css>; rel=preload",),
                  **kw):
    page, pushed = c.page(links, **kw)
    assert page.status == 200 and pushed == {} and c.promises == {}
    assert b2.requests == []
    assert pushes(g.admin_port) == {"promised": 0, "cancelled": 0,
                                    "limited": 0}


def test_no_push_when_client_disables_it(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with PushClient(g.port, enable_push=False) as c:
        check_no_push(g, b1, b2, c)


def test_no_server_push_option(procs, backends):
    g, b1, b2 = gate(procs, backends, extra=["--no-server-push"])
    with PushClient(g.port) as c:
        check_no_push(g, b1, b2, c)


def test_no_push_cross_origin_nopush_or_other_rel(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with PushClient(g.port) as c:
        check_no_push(g, b1, b2, c, links=[
            b"<http://other.example/res/a>; rel=preload",
            b"<https://localhost/res/b>; rel=preload",
            b"<//other.example/res/c>; rel=preload",
            b"</res/d>; rel=preload; nopush",
            b"</res/e>; rel=stylesheet",
            b'</res/f>; rel=preload; anchor="/elsewhere"',
            b"</res/../page>; rel=preload",
        ])


def test_no_push_for_a_path_no_route_takes(procs, backends):
    b1, b2 = backends(), backends()
    g = gate_with_admin(procs, [b1.spec(";/page;proto=h2"),
                                b2.spec(";/res/;proto=h2")], tls=False)
    with PushClient(g.port) as c:
        page, pushed = c.page([b"</other/x>; rel=preload",
                               b"</res/y>; rel=preload"])
        assert page.status == 200 and list(pushed) == [b"/res/y"]
    assert paths(b1) == [b"/page"] and paths(b2) == [b"/res/y"]
    assert pushes(g.admin_port)["promised"] == 1


def test_no_push_for_post_or_from_a_pushed_response(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with PushClient(g.port) as c:
        page, pushed = c.page([b"</res/a.css>; rel=preload"], method="POST")
        assert page.status == 200 and pushed == {}
        # /chain/1 links /chain/2, whose pushed response links /chain/3:
        # only the first is pushed.
        page, pushed = c.page(path="/chain/1")
        assert bytes(page.data) == b"chain 1\n"
        assert list(pushed) == [b"/chain/2"]
        assert bytes(pushed[b"/chain/2"].data) == b"chain 2\n"
    assert b"/chain/3" not in paths(b1) and b2.requests == []
    assert pushes(g.admin_port)["promised"] == 1


def test_client_cancel_reaches_the_backend(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with PushClient(g.port) as c:
        sid = c.request("/page", extra=[
            ("x-link", b"</delay/30000>; rel=preload")])
        c.wait(lambda: c.promises and c.streams[sid].done)
        [pid] = c.promises
        assert c.promises[pid][1][b":path"] == b"/delay/30000"
        assert wait_for(lambda: b"/delay/30000" in paths(b1))
        c.conn.reset_stream(pid, error_code=8)  # CANCEL
        c.flush()
        # h2gate frees the exchange and resets the backend stream.
        assert wait_for(lambda: b1.resets == [b"/delay/30000"])
        assert pushes(g.admin_port) == {"promised": 1, "cancelled": 1,
                                        "limited": 0}
        settle(g.admin_port, lambda s: s.get("h2gate_streams_active") == 0)
        # Refusing a push is no glitch (h2abuse.c).
        assert scrape(g.admin_port).get("h2gate_http2_glitches_total",
                                        default=0, kind="client_reset") == 0


def links(first, n):
    return [b"</res/%d.css>; rel=preload" % i for i in range(first, first + n)]


def test_at_most_8_per_response(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with PushClient(g.port) as c:
        page, pushed = c.page(links(0, 10))
        assert sorted(pushed) == sorted(b"/res/%d.css" % i for i in range(8))
        assert all(st.status == 200 for st in pushed.values())
    assert len(b2.requests) == 8
    assert pushes(g.admin_port) == {"promised": 8, "cancelled": 0,
                                    "limited": 2}


def test_at_most_100_per_connection(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with PushClient(g.port) as c:
        got = 0
        for i in range(13):
            _, pushed = c.page(links(i * 8, 8))
            got += len(pushed)
        assert got == 100
    assert pushes(g.admin_port) == {"promised": 100, "cancelled": 0,
                                    "limited": 4}
    with PushClient(g.port) as c:  # the bound is per connection
        _, pushed = c.page(links(200, 8))
        assert len(pushed) == 8
    assert len(b2.requests) == 108


def test_http1_client_never_gets_a_push(procs, backends):
    g, b1, b2 = gate(procs, backends)
    with H1Conn(g.port) as c:
        c.send(b"GET /page HTTP/1.1\r\nHost: localhost\r\n"
               b"x-link: </res/a.css>; rel=preload\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == b"page\n"
        assert r.header("link") == "</res/a.css>; rel=preload"
    assert b2.requests == []
    assert pushes(g.admin_port) == {"promised": 0, "cancelled": 0,
                                    "limited": 0}


def test_pushed_responses_wait_for_the_client_stream_limit(procs, backends):
    """Frame by frame: every PUSH_PROMISE precedes the page's own head;
    reserved streams do not count against the client's
    SETTINGS_MAX_CONCURRENT_STREAMS but pushed responses do (RFC 9113
    5.1.2): with a limit of 1 they come one after the other."""
    g, b1, b2 = gate(procs, backends)
    with RawH2(g.port, settings=[(SETTINGS_MAX_CONCURRENT_STREAMS, 1)]) as c:
        c.send(c.headers_frame(1, "/page", extra=[
            ("x-link", "</res/%d.css>; rel=preload" % i) for i in range(3)]))
        ended = set()
        c.until(lambda f: (f.end_stream and ended.add(f.sid)) or
                len(ended) == 4)
        promises = [f for f in c.frames if f.type == PUSH_PROMISE]
        assert [f.sid for f in promises] == [1, 1, 1]
        assert [dict(f.headers)[":path"] for f in promises] == [
            "/res/%d.css" % i for i in range(3)]
        head = next(i for i, f in enumerate(c.frames)
                    if f.type == HEADERS and f.sid == 1)
        assert all(c.frames.index(f) < head for f in promises)
        open_now = peak = 0
        for f in c.frames:
            if f.type == HEADERS and f.sid % 2 == 0:
                open_now += 1
                peak = max(peak, open_now)
            if f.end_stream and f.sid % 2 == 0:
                open_now -= 1
        assert peak == 1
        bodies = {f.sid: f.data for f in c.frames
                  if f.type == DATA and f.sid % 2 == 0 and f.data}
        assert bodies == {p.promised: b"res /res/%d.css\n" % i
                          for i, p in enumerate(promises)}
    assert pushes(g.admin_port)["promised"] == 3


def test_http1_backend_fetch_and_cancel(procs, backends):
    """Pushed resources from an HTTP/1.1 backend (the C origin): the
    promised request as it arrives there, and a cancel that closes the
    unfinished backend connection."""
    b1 = backends()
    o = procs.origin(count=True)
    spec = "%s,%d" % (o.addr, o.port)
    # An idle connection stays pooled all test long: only closing the
    # unfinished one can bring the count to 0.
    g = gate_with_admin(procs, [b1.spec(";;proto=h2"),
                                spec + ";/headers:/delay/"], tls=False,
                        extra=["--backend-keep-alive-timeout=60s"])
    label = spec.replace(",", ":")
    with PushClient(g.port) as c:
        page, pushed = c.page([b"</headers>; rel=preload"],
                              extra=[("accept-language", "fr")])
        seen = bytes(pushed[b"/headers"].data).decode().splitlines()
        assert pushed[b"/headers"].status == 200
        assert "host: localhost" in seen
        assert "user-agent: %s" % UA.decode() in seen
        assert "accept-encoding: gzip" in seen
        assert "accept-language: fr" in seen
        assert not [h for h in seen if h.startswith("cookie")]
        sid = c.request("/page", extra=[
            ("x-link", b"</delay/30000>; rel=preload")])
        c.wait(lambda: len(c.promises) == 2 and c.streams[sid].done)
        pid = max(c.promises)
        assert wait_for(lambda: scrape(g.admin_port).get(
            "h2gate_backend_connections_active", default=0,
            backend=label) == 1 and o.count() == 1)
        c.conn.reset_stream(pid, error_code=8)
        c.flush()
        # Unfinished, so h2gate closes it rather than keep it alive.
        settle(g.admin_port, lambda s: s.get(
            "h2gate_backend_connections_active", default=0,
            backend=label) == 0 and s.get("h2gate_streams_active") == 0)
    assert pushes(g.admin_port) == {"promised": 2, "cancelled": 1,
                                    "limited": 0}


def test_push_over_tls_keeps_the_scheme(procs, backends):
    b1, b2 = backends(), backends()
    g = gate_with_admin(procs, [b1.spec(";;proto=h2"),
                                b2.spec(";/res/;proto=h2")], plain=False)
    with PushClient(g.tls_port, tls=True) as c:
        page, pushed = c.page([b"<https://localhost/res/a>; rel=preload",
                               b"<http://localhost/res/b>; rel=preload"],
                              scheme="https")
        assert page.status == 200 and list(pushed) == [b"/res/a"]
        [(_, req)] = c.promises.values()
        assert req[b":scheme"] == b"https"
        assert bytes(pushed[b"/res/a"].data) == b"res /res/a\n"
    assert paths(b2) == [b"/res/a"]


def test_pushed_stream_has_the_backend_timeouts(procs, backends):
    """A pushed exchange is an ordinary one: a backend that does not
    answer within --backend-read-timeout gets the pushed stream h2gate's
    504, as it would a request's."""
    g, b1, b2 = gate(procs, backends, extra=["--backend-read-timeout=1s"])
    with PushClient(g.port) as c:
        page, pushed = c.page([b"</delay/30000>; rel=preload"])
        assert page.status == 200
        assert pushed[b"/delay/30000"].status == 504
    assert scrape(g.admin_port).get("h2gate_requests_total",
                                    status_class="5xx") == 1
