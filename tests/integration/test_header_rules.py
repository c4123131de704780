"""Forwarded (RFC 7239), X-Forwarded-Proto and added request fields, seen
from the origin's /headers echo, over HTTP/1.1 and HTTP/2 to HTTP/1.1 and
HTTP/2 backends (issue 13, "The real client address" and "Header rules"):
--add-forwarded, --strip-incoming-forwarded, --forwarded-by,
--forwarded-for, --no-add-x-forwarded-proto,
--no-strip-incoming-x-forwarded-proto, --add-request-header,
--add-response-header, --server-name, --no-server-rewrite, --error-page,
the Location rewrite (--no-location-rewrite), --require-http-scheme,
--host-rewrite, --altsvc and --http2-altsvc."""

import re
import signal
import socket
import threading
import time

import pytest

from conftest import IS_NGHTTPX, free_port, run_gate
from rawh2 import END_HEADERS, HEADERS, RawH2, frame
from test_headers import h1_headers, h2_headers, parse, values
from testlib import HOST, H1Conn, H2Client, curl
from tunnel_lib import TargetServer, echo_handler, h1_tunnel

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's option names")

TOKEN = r"_[0-9a-f]{16}"


@pytest.fixture(params=["h1", "h2"])
def backend(request, procs):
    """The origin as an HTTP/1.1 or an HTTP/2 backend."""
    o = procs.origin()
    if request.param == "h1":
        return o
    return "%s,%d;;proto=h2" % (HOST, o.port)


def both(g, lines=(), extra=()):
    """The fields the origin saw for one HTTP/1.1 and one HTTP/2 request
    carrying the same client fields."""
    return [h1_headers(g.port, ["Host: localhost", *lines]),
            h2_headers(g.port, extra=extra)]


CLIENT_XFP = (["X-Forwarded-Proto: https"], [("x-forwarded-proto", "https")])
CLIENT_FWD = (["Forwarded: for=192.0.2.60;proto=https"],
              [("forwarded", "for=192.0.2.60;proto=https")])


def test_x_forwarded_proto_replaced_by_default(procs, backend):
    """A client's X-Forwarded-Proto is dropped and h2gate's own (http on
    the cleartext port) sent, as nghttpx does."""
    g = procs.gate([backend], tls=False)
    for h in both(g, *CLIENT_XFP):
        assert values(h, "x-forwarded-proto") == ["http"], h


@pytest.mark.parametrize("opts,expect", [
    (["--no-strip-incoming-x-forwarded-proto"], ["https, http"]),
    (["--no-strip-incoming-x-forwarded-proto", "--no-add-x-forwarded-proto"],
     ["https"]),
    (["--no-add-x-forwarded-proto"], []),
], ids=["kept_then_ours", "kept_only", "none"])
def test_x_forwarded_proto_options(procs, backend, opts, expect):
    """A TLS-terminating balancer's X-Forwarded-Proto can be kept (ours
    after it), kept alone, or neither kept nor added."""
    g = procs.gate([backend], tls=False, extra=opts)
    for h in both(g, *CLIENT_XFP):
        got = values(h, "x-forwarded-proto")
        assert ([", ".join(got)] if got else []) == expect, h


def test_forwarded_passed_untouched_by_default(procs, backend):
    """Without --add-forwarded, a client's Forwarded reaches the backend
    as it came; with --strip-incoming-forwarded it does not."""
    g = procs.gate([backend], tls=False)
    for h in both(g, *CLIENT_FWD):
        assert values(h, "forwarded") == ["for=192.0.2.60;proto=https"], h
    g = procs.gate([backend], tls=False, extra=["--strip-incoming-forwarded"])
    for h in both(g, *CLIENT_FWD):
        assert values(h, "forwarded") == [], h


def test_forwarded_ip_parameters(procs, backend):
    """--add-forwarded=by,for,host,proto with ip nodes over TLS: by is the
    address and port the client reached (quoted), for the client's
    address, host the request's (quoted when it has a port), proto
    https; the client's own element stays in front."""
    g = procs.gate([backend], extra=["--add-forwarded=proto,host,for,by",
                                     "--forwarded-by=ip", "--forwarded-for=ip"])
    h = h2_headers(g.tls_port, tls=True, authority="example.org:8443",
                   extra=CLIENT_FWD[1])
    assert values(h, "forwarded") == [
        'for=192.0.2.60;proto=https, by="127.0.0.1:%d";for=127.0.0.1;'
        'host="example.org:8443";proto=https' % g.tls_port], h
    h = h1_headers(g.port, ["Host: plain.example"])
    assert values(h, "forwarded") == [
        'by="127.0.0.1:%d";for=127.0.0.1;host=plain.example;proto=http' % g.port], h


def test_forwarded_obfuscated_identifiers(procs):
    """By default by and for are obfuscated (RFC 7239 §6.3): one "by" for
    the process, one "for" per client connection, the same for every
    request on it; the client's address appears nowhere."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--add-forwarded=for,by", "--strip-incoming-forwarded"])
    seen = []
    for _ in range(2):
        with H1Conn(g.port) as c:
            for _ in range(2):
                c.send(b"GET /headers HTTP/1.1\r\nHost: a\r\n"
                       b"Forwarded: for=192.0.2.1\r\n\r\n")
                r = c.read_response()
                assert r.status == 200, r
                fwd = values(parse(r.body), "forwarded")
                assert len(fwd) == 1, fwd
                m = re.fullmatch(r"by=(%s);for=(%s)" % (TOKEN, TOKEN), fwd[0])
                assert m, fwd
                seen.append(m.groups())
    bys = {b for b, _ in seen}
    fors = [f for _, f in seen]
    assert len(bys) == 1, seen
    assert fors[0] == fors[1] and fors[2] == fors[3] and fors[0] != fors[2], seen
    assert "127.0.0.1" not in str(seen)


def test_forwarded_by_static_token(procs, backend):
    """--forwarded-by=_TOKEN is sent as given."""
    g = procs.gate([backend], tls=False,
                   extra=["--add-forwarded=by", "--forwarded-by=_edge-7"])
    for h in both(g):
        assert values(h, "forwarded") == ["by=_edge-7"], h


def test_add_request_header(procs, backend):
    """Each --add-request-header field reaches the backend, in order,
    beside a field of the same name the client sent."""
    g = procs.gate([backend], tls=False,
                   extra=["--add-request-header=x-env: prod",
                          "--add-request-header=x-team: edge one",
                          "--add-request-header=x-env: eu"])
    for h in both(g, ["X-Env: client"], [("x-env", "client")]):
        assert values(h, "x-env") == ["client", "prod", "eu"], h
        assert values(h, "x-team") == ["edge one"], h


# ---------------------------------------------------------------------------
# response fields: Server, --add-response-header, h2gate's own answers


def h1_response(port, path):
    with H1Conn(port) as c:
        c.send(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
        return c.read_response()


def h2_response(port, path):
    with H2Client(port) as c:
        sid = c.request(path)
        return c.wait_streams([sid])[0]


def fields(r):
    """(name, value) pairs of a response from either client, lower-case."""
    hs = r.headers
    if isinstance(hs, dict):
        hs = hs.items()
    return [(n.decode() if isinstance(n, bytes) else n).lower() for n, _ in hs], \
        {(n.decode() if isinstance(n, bytes) else n).lower():
         (v.decode() if isinstance(v, bytes) else v) for n, v in hs}


@pytest.mark.parametrize("client", ["h1", "h2"])
@pytest.mark.parametrize("proto", ["http/1.1", "h2"])
def test_server_and_added_response_fields(procs, client, proto):
    """Responses carry Server: h2gate (a backend's Server replaced) or
    --server-name's value, and every --add-response-header field; h2gate's
    own answers (404: no route) too, with a content-type."""
    get = h1_response if client == "h1" else h2_response
    o = procs.origin()
    spec = "%s,%d;/size/;proto=%s" % (HOST, o.port, proto)
    g = procs.gate([spec], tls=False)
    for path in ("/size/3", "/elsewhere"):
        names, d = fields(get(g.port, path))
        assert d.get("server") == "h2gate" and names.count("server") == 1, d
    g = procs.gate([spec], tls=False, extra=[
        "--server-name=edge/1.0",
        "--add-response-header=strict-transport-security: max-age=60",
        "--add-response-header=x-served-by: edge"])
    for path, status in (("/size/3", 200), ("/elsewhere", 404)):
        r = get(g.port, path)
        assert r.status == status, r
        names, d = fields(r)
        assert d.get("server") == "edge/1.0" and names.count("server") == 1, d
        assert d.get("strict-transport-security") == "max-age=60", d
        assert d.get("x-served-by") == "edge", d
        if status == 404:
            assert d.get("content-type") == "text/plain; charset=utf-8", d


@pytest.mark.parametrize("client", ["h1", "h2"])
def test_added_date_replaces_h2gates(procs, client):
    """A Date from --add-response-header is the only one: h2gate adds its
    own (RFC 9110 6.6.1) only to a response with none."""
    get = h1_response if client == "h1" else h2_response
    o = procs.origin()
    g = procs.gate([o.backend("/size/")], tls=False,
                   extra=["--add-response-header=date: Tue, 01 Dec 2026 00:00:00 GMT"])
    for path in ("/size/3", "/elsewhere"):
        names, d = fields(get(g.port, path))
        assert names.count("date") == 1 and d["date"] == "Tue, 01 Dec 2026 00:00:00 GMT", d
    g = procs.gate([o.backend("/size/")], tls=False)
    names, d = fields(get(g.port, "/size/3"))
    assert names.count("date") == 1 and d["date"].endswith(" GMT"), d


ALTSVC = ["--altsvc=h2,443,,,ma=3600; persist=1", "--altsvc=h3,8443,alt.example,https://o",
          "--http2-altsvc=h3,443,,,ma=60"]


@pytest.mark.parametrize("client", ["h1", "h2"])
def test_altsvc(procs, client):
    """nghttpx's --altsvc (HTTP/1.1 clients) and --http2-altsvc (HTTP/2
    clients): one Alt-Svc field in nghttpx's form on every response,
    h2gate's own answers included; none without the options."""
    get = h1_response if client == "h1" else h2_response
    want = ('h2=":443"; ma=3600; persist=1, h3="alt.example:8443"' if client == "h1"
            else 'h3=":443"; ma=60')
    o = procs.origin()
    g = procs.gate([o.backend("/size/")], tls=False, extra=ALTSVC)
    for path, status in (("/size/3", 200), ("/elsewhere", 404)):
        r = get(g.port, path)
        names, d = fields(r)
        assert (r.status, d.get("alt-svc"), names.count("alt-svc")) == (status, want, 1), d
    g = procs.gate([o.backend("/size/")], tls=False)
    assert "alt-svc" not in fields(get(g.port, "/size/3"))[1]


@pytest.mark.parametrize("client", ["h1", "h2"])
def test_no_altsvc_on_a_tunnel(procs, client):
    """A CONNECT's 200 opens a tunnel, not a response of the origin: no
    Alt-Svc on it."""
    srv = TargetServer(echo_handler)
    try:
        target = "%s:%d" % (HOST, srv.port)
        g = procs.gate((), tls=False, extra=ALTSVC + ["--connect-allow=" + target])
        if client == "h1":
            c, r = h1_tunnel(g.port, target)
            with c:
                assert r.status == 200 and r.header("alt-svc") is None, r
            return
        with RawH2(g.port) as c:
            c.send(frame(HEADERS, END_HEADERS, 1, c.enc.encode(
                [(":method", "CONNECT"), (":authority", target)])))
            head = c.until(lambda f: f.type == HEADERS)
            assert dict(head.headers).get(":status") == "200", head.headers
            assert "alt-svc" not in dict(head.headers), head.headers
    finally:
        srv.stop()


def test_no_server_rewrite_passes_the_backends(procs):
    """--no-server-rewrite: the backend's Server (the origin's
    "h2gate-origin") passes as it is; h2gate's own answers then carry
    none. By default it is replaced."""
    o = procs.origin()
    g = procs.gate([o.backend("/size/")], tls=False, extra=["--no-server-rewrite"])
    _, plain = fields(h1_response(g.port, "/size/1"))
    _, own = fields(h1_response(g.port, "/elsewhere"))
    assert "server" not in own, own
    g2 = procs.gate([o.backend("/size/")], tls=False)
    _, rewritten = fields(h1_response(g2.port, "/size/1"))
    assert rewritten.get("server") == "h2gate", rewritten
    assert plain.get("server") == "h2gate-origin", plain


# ---------------------------------------------------------------------------
# --error-page


def test_error_pages(procs, tmp_path):
    """--error-page=404=F and *=G: h2gate's own 404 (no route) is F and its
    502 (dead backend) G, as text/html with the right length, on both
    client protocols; HEAD gets the head only; a backend's own 404 passes
    as the backend sent it."""
    f404, fany = tmp_path / "404.html", tmp_path / "any.html"
    f404.write_bytes(b"<h1>not here</h1>\n")
    fany.write_bytes(b"<h1>something broke</h1>\n" * 3)
    o = procs.origin()
    dead = free_port()
    g = procs.gate([o.backend("/status/"), "%s,%d;/dead/" % (HOST, dead)], tls=False,
                   extra=["--error-page=*=%s" % fany, "--error-page=404=%s" % f404])
    for get in (h1_response, h2_response):
        for path, status, body in (("/nowhere", 404, f404.read_bytes()),
                                   ("/dead/x", 502, fany.read_bytes())):
            r = get(g.port, path)
            assert r.status == status, r
            _, d = fields(r)
            assert d["content-type"] == "text/html; charset=utf-8", d
            got = r.body if hasattr(r, "body") else bytes(r.data)
            assert got == body, (path, got)
        r = get(g.port, "/status/404")      # the backend's own 404
        assert r.status == 404
        got = r.body if hasattr(r, "body") else bytes(r.data)
        assert b"<h1>" not in got, got
    with H1Conn(g.port) as c:
        c.send(b"HEAD /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response(method="HEAD")
    assert r.status == 404 and r.body == b""
    assert int(dict(r.headers)["content-length"]) == len(f404.read_bytes())


def test_error_page_reread_at_reload_and_bad_file(procs, tmp_path):
    """The file is read at start and again at each reload; a file that
    cannot be read stops the start (and a reload keeps the old page)."""
    page = tmp_path / "404.html"
    page.write_bytes(b"first\n")
    g = procs.gate([procs.origin().backend("/size/")], tls=False,
                   extra=["--error-page=404=%s" % page])
    assert h1_response(g.port, "/x").body == b"first\n"
    page.write_bytes(b"second\n")
    g.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while h1_response(g.port, "/x").body != b"second\n":
        assert time.monotonic() < deadline, g.log()
        time.sleep(0.05)
    page.unlink()
    g.signal(signal.SIGHUP)
    wait_log(g, "--error-page: %s: No such file or directory" % page)
    assert h1_response(g.port, "/x").body == b"second\n"
    p = run_gate(["-f", "%s,%d;no-tls" % (HOST, free_port()),
                  "--error-page=404=%s" % page, "-t"])
    assert p.returncode != 0
    assert "--error-page: %s: No such file or directory" % page in p.stderr, p.stderr


def wait_log(g, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in g.log():
        assert time.monotonic() < deadline, g.log()
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# per-member timeouts and redirect-if-not-tls (backend parameters)


@pytest.mark.parametrize("proto", ["http/1.1", "h2"])
def test_member_read_timeout_overrides_the_global_one(procs, proto):
    """--backend-read-timeout=1s, but ";read-timeout=5s" on the member of
    slow.example: a 2-second answer arrives from it, while the same answer
    from the other member is cut with 504."""
    slow, other = procs.origin(), procs.origin()
    g = procs.gate(["%s,%d;slow.example/;proto=%s;read-timeout=5s" % (HOST, slow.port, proto),
                    "%s,%d;;proto=%s" % (HOST, other.port, proto)],
                   tls=False, extra=["--backend-read-timeout=1s"])
    for host, status in (("slow.example", 200), ("other.example", 504)):
        with H1Conn(g.port, timeout=20) as c:
            c.send(b"GET /delay/2000 HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
            assert c.read_response().status == status, host


def test_member_write_timeout_overrides_the_global_one(procs):
    """A member that never reads: with ";write-timeout=1s" (the global
    one an hour) a large upload to it ends in 504 once its bytes stop
    moving, and the client, still sending, gets the answer."""
    lsn = socket.socket()
    lsn.bind((HOST, 0))
    lsn.listen(4)
    try:
        g = procs.gate(["%s,%d;;write-timeout=1s" % (HOST, lsn.getsockname()[1])], tls=False,
                       extra=["--backend-write-timeout=1h", "--backend-read-timeout=1h"])
        body = b"u" * (64 * 1024 * 1024)
        with socket.create_connection((HOST, g.port), timeout=20) as s:
            def send():
                try:
                    s.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                              % len(body) + body)
                except OSError:
                    pass
            t = threading.Thread(target=send)
            t.start()
            got = b""
            while not got.endswith(b"\n") or b"\r\n\r\n" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            s.shutdown(socket.SHUT_RDWR)
            t.join(20)
        assert got.startswith(b"HTTP/1.1 504 "), got[:200]
    finally:
        lsn.close()


def test_redirect_if_not_tls(procs):
    """A route whose member has ";redirect-if-not-tls" answers cleartext
    requests with 308 to the same host and path over https (on
    --redirect-https-port; none in the URL for 443) and serves TLS ones;
    other routes serve cleartext as before."""
    o = procs.origin()
    g = procs.gate(["%s,%d;/size/;redirect-if-not-tls" % (HOST, o.port), o.backend()],
                   extra=["--redirect-https-port=8443"])
    r = h1_response(g.port, "/size/5?x=1")
    assert r.status == 308, r
    assert dict(r.headers)["location"] == "https://a:8443/size/5?x=1", r.headers
    with H2Client(g.port) as c:
        sid = c.request("/size/5", authority="example.org:80")
        r2 = c.wait_streams([sid])[0]
    _, d = fields(r2)
    assert r2.status == 308 and d["location"] == "https://example.org:8443/size/5", d
    assert h1_response(g.port, "/").status == 200      # another route
    with H2Client(g.tls_port, tls=True) as c:
        sid = c.request("/size/5")
        r3 = c.wait_streams([sid])[0]
    assert r3.status == 200 and len(bytes(r3.data)) == 5, r3
    g2 = procs.gate(["%s,%d;/size/;redirect-if-not-tls" % (HOST, o.port)], tls=False)
    r4 = h1_response(g2.port, "/size/1")
    assert dict(r4.headers)["location"] == "https://a/size/1", r4.headers


def location_seen(url, loc, args=()):
    """(status, Location) the client gets for a backend's 302 to loc."""
    p = curl([*args, "-k", "-m", "10", "-o", "/dev/null", "-w", "%{http_code} %header{location}",
              "-H", "x-location: " + loc, url + "/redirect"])
    assert p.returncode == 0, p.stderr
    code, _, got = p.stdout.decode().partition(" ")
    return int(code), got


@pytest.mark.parametrize("be_kind", ["h1", "h2"])
def test_location_rewrite(procs, backends, be_kind):
    """nghttpx's Location rewrite: a backend's absolute http(s) URI on the
    request's own host (port and case aside) gets the client's scheme and
    the request's authority, path, query and fragment kept; any other
    Location passes as it came, and all do with --no-location-rewrite.
    The TLS front door's case: a backend behind it that redirects to
    http://itself:its-port/ sends the client to https on h2gate's port."""
    b = backends(h1=be_kind == "h1")
    spec = b.spec("" if be_kind == "h1" else ";;proto=h2")
    g = procs.gate([spec])
    tls, plain = "https://%s:%d" % (HOST, g.tls_port), "http://%s:%d" % (HOST, g.port)
    h2c, h1 = ["--http2-prior-knowledge"], ["--http1.1"]
    own = "http://%s:%d/login?next=/a%%20b#top" % (HOST, b.port)
    rewritten = [
        (tls, ["--http2"], own, "https://%s:%d/login?next=/a%%20b#top" % (HOST, g.tls_port)),
        (tls, h1, "HTTP://%s/x" % HOST, "https://%s:%d/x" % (HOST, g.tls_port)),
        (plain, h2c, "https://%s:9/x?q" % HOST, "http://%s:%d/x?q" % (HOST, g.port)),
        (plain, h1 + ["-H", "Host: App.Example:8080"], "http://app.example:3000",
         "http://App.Example:8080"),
        (plain, h2c + ["-H", "Host: [::1]:8080"], "http://[::1]:3000/v6", "http://[::1]:8080/v6"),
    ]
    kept = ["http://other.example/x", "/relative?x=1", "//%s/scheme-relative" % HOST,
            "http://user@%s/x" % HOST, "ftp://%s/x" % HOST, "http://%s.evil/x" % HOST]
    for url, args, loc, want in rewritten:
        assert location_seen(url, loc, args) == (302, want), (url, args, loc)
    for loc in kept:
        for url, args in ((tls, ["--http2"]), (plain, h1)):
            assert location_seen(url, loc, args) == (302, loc), (url, args, loc)
    g2 = procs.gate([spec], extra=["--no-location-rewrite"])
    for url, args in (("https://%s:%d" % (HOST, g2.tls_port), ["--http2"]),
                      ("http://%s:%d" % (HOST, g2.port), h1)):
        assert location_seen(url, own, args) == (302, own)


def test_require_http_scheme(procs):
    """--require-http-scheme (nghttpx's): 400 for a request whose scheme
    (HTTP/2's :scheme, an absolute-form target's) is not the
    connection's, over HTTP/2 and HTTP/1.1, cleartext and TLS; an
    origin-form HTTP/1.1 request has the connection's. Without the
    option the same requests are served."""
    o = procs.origin()

    def h2(port, tls, scheme):
        with H2Client(port, tls=tls) as c:
            sid = c.request("/size/3", scheme=scheme)
            return c.wait_streams([sid])[0].status

    def h1(url, target):
        p = curl(["-k", "--http1.1", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}",
                  "--request-target", target, url])
        assert p.returncode == 0, p.stderr
        return int(p.stdout)

    def statuses(g):
        plain, tls = "http://%s:%d" % (HOST, g.port), "https://%s:%d" % (HOST, g.tls_port)
        return [h2(g.port, False, "http"), h2(g.port, False, "https"),
                h2(g.tls_port, True, "https"), h2(g.tls_port, True, "http"),
                h1(plain, "http://a/size/3"), h1(plain, "https://a/size/3"),
                h1(plain, "/size/3"), h1(tls, "https://a/size/3"),
                h1(tls, "HTTP://a/size/3"), h1(tls, "/size/3")]

    g = procs.gate([o.backend()], extra=["--require-http-scheme", "-L", "INFO"])
    assert statuses(g) == [200, 400, 200, 400, 200, 400, 200, 200, 400, 200], g.log()
    assert "scheme is not the connection's" in g.log()
    g2 = procs.gate([o.backend()])
    assert statuses(g2) == [200] * 10


def backend_field(b, name):
    """Field name of b's last request (HTTP/1.1's Host as HTTP/2's
    :authority), or None."""
    last = b.requests[-1]
    if isinstance(last, tuple) and isinstance(last[2], dict):
        return last[2].get("host" if name == ":authority" else name)
    v = dict(last).get(name.encode())
    return v.decode() if v is not None else None


@pytest.mark.parametrize("be_kind", ["h1", "h2"])
def test_host_rewrite(procs, backends, be_kind):
    """--host-rewrite (nghttpx's): the backend gets its own name as Host
    or :authority (its port left out only for 80 and 443), from either
    client kind; a Location naming it comes back as the client's
    authority, and Forwarded: host= still carries the client's. Without
    the option the client's passes, and that Location (another host than
    the client's) is left alone."""
    b = backends(h1=be_kind == "h1")
    spec = b.spec("" if be_kind == "h1" else ";;proto=h2")
    own = "%s:%d" % (HOST, b.port)
    loc = "http://%s/login?x=1" % own
    for extra, sent, back in ((["--host-rewrite"], own, "http://app.example/login?x=1"),
                              ([], "app.example", loc)):
        g = procs.gate([spec], tls=False, extra=extra + ["--add-forwarded=host"])
        url = "http://%s:%d" % (HOST, g.port)
        for args in (["--http1.1"], ["--http2-prior-knowledge"]):
            got = location_seen(url, loc, args + ["-H", "Host: app.example"])
            assert got == (302, back), (extra, args)
            assert backend_field(b, ":authority") == sent, (extra, args)
            # Forwarded keeps the client's authority either way.
            assert backend_field(b, "forwarded") == "host=app.example", (extra, args)


def test_require_http_scheme_absolute_form_of_every_head_size(procs):
    """The scheme of an absolute-form target is read after the target is
    split into :authority and :path, whose adds may move the field
    storage: heads of every size from 30 to 1,100 bytes over one
    connection, so some split grows the storage (under AddressSanitizer
    the scheme read from the old storage was a use after free)."""
    o = procs.origin()
    g = procs.gate([o.backend()], tls=False, extra=["--require-http-scheme"])
    with H1Conn(g.port) as c:
        for pad in range(0, 1070):
            c.send(b"GET http://a/size/1 HTTP/1.1\r\nHost: a\r\nX-Pad: %s\r\n\r\n" % (b"p" * pad))
            r = c.read_response()
            assert r.status == 200 and len(r.body) == 1, pad
