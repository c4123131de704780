"""Request header translation, seen from the origin's /headers echo:
Host from :authority, Via, X-Forwarded-Proto, X-Forwarded-For, Connection
tokens, cookie crumbs, TE."""

from h2.errors import ErrorCodes

from conftest import SERVER_NAME
from testlib import H1Conn, H2Client, HOST, curl_code


def parse(body):
    """The origin's /headers body as a list of (lower-case name, value)."""
    out = []
    for line in body.decode("latin-1").splitlines():
        name, sep, value = line.partition(":")
        if sep and name:                 # skip h2 pseudo-headers (":x: y")
            out.append((name.strip().lower(), value.strip()))
    return out


def values(hdrs, name):
    return [v for n, v in hdrs if n == name]


def h2_headers(port, tls=False, authority="localhost", extra=()):
    with H2Client(port, tls=tls) as c:
        sid = c.request("/headers", authority=authority,
                        scheme="https" if tls else "http", extra=extra)
        r = c.wait_streams([sid])[0]
        assert r.status == 200, r
        return parse(bytes(r.data))


def h1_headers(port, lines=()):
    with H1Conn(port) as c:
        c.send(("GET /headers HTTP/1.1\r\n%s\r\n"
                % "".join(l + "\r\n" for l in lines)).encode())
        r = c.read_response()
        assert r.status == 200, r
        return parse(r.body)


def test_host_from_authority(procs):
    g = procs.gate([procs.origin()], tls=False)
    h = h2_headers(g.port, authority="example.org:8443")
    assert values(h, "host") == ["example.org:8443"]
    h = h1_headers(g.port, ["Host: example.net"])
    assert values(h, "host") == ["example.net"]


def test_via_default(procs):
    g = procs.gate([procs.origin()])
    for h in (h2_headers(g.port), h2_headers(g.tls_port, tls=True)):
        via = ", ".join(values(h, "via"))
        assert "2 %s" % SERVER_NAME in via, h
    h = h1_headers(g.port, ["Host: x"])
    assert "1.1 %s" % SERVER_NAME in ", ".join(values(h, "via")), h


def test_no_via(procs):
    g = procs.gate([procs.origin()], tls=False, extra=["--no-via"])
    assert values(h2_headers(g.port), "via") == []
    assert values(h1_headers(g.port, ["Host: x"]), "via") == []


def test_x_forwarded_proto(procs):
    g = procs.gate([procs.origin()])
    assert values(h2_headers(g.port), "x-forwarded-proto") == ["http"]
    assert values(h2_headers(g.tls_port, tls=True),
                  "x-forwarded-proto") == ["https"]
    assert values(h1_headers(g.port, ["Host: x"]),
                  "x-forwarded-proto") == ["http"]


def test_x_forwarded_for(procs):
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--add-x-forwarded-for"])
    xff = ", ".join(values(h2_headers(g.port), "x-forwarded-for"))
    assert xff == "127.0.0.1"
    h = h2_headers(g.port, extra=[("x-forwarded-for", "10.1.2.3")])
    xff = ", ".join(values(h, "x-forwarded-for"))
    assert xff.startswith("10.1.2.3") and xff.endswith("127.0.0.1"), xff
    h = h1_headers(g.port, ["Host: x", "X-Forwarded-For: 10.9.9.9"])
    xff = ", ".join(values(h, "x-forwarded-for"))
    assert xff.startswith("10.9.9.9") and xff.endswith("127.0.0.1"), xff


def test_no_x_forwarded_for_by_default(procs):
    g = procs.gate([procs.origin()], tls=False)
    assert values(h2_headers(g.port), "x-forwarded-for") == []


def test_connection_tokens_dropped(procs):
    # nghttpx forwards fields named in Connection (only the fixed hop-by-hop
    # set is dropped), so this fails there; RFC 9110 7.6.1 and the spec
    # say drop them.
    g = procs.gate([procs.origin()], tls=False)
    h = h1_headers(g.port, ["Host: x", "Connection: foo, keep-alive",
                            "Foo: bar", "Keep-Alive: timeout=5",
                            "X-Kept: 1"])
    assert values(h, "foo") == [] and values(h, "keep-alive") == []
    assert values(h, "x-kept") == ["1"]


def test_cookie_crumbs_joined(procs):
    g = procs.gate([procs.origin()], tls=False)
    h = h2_headers(g.port, extra=[("cookie", "a=1"), ("x-other", "y"),
                                  ("cookie", "b=2"), ("cookie", "c=3")])
    assert values(h, "cookie") == ["a=1; b=2; c=3"]


def test_te_trailers_forwarded_from_h2(procs):
    g = procs.gate([procs.origin()], tls=False)
    h = h2_headers(g.port, extra=[("te", "trailers")])
    assert values(h, "te") == ["trailers"]


def test_te_gzip_not_forwarded_h1(procs):
    # TE is hop-by-hop (RFC 9110 10.1.4). nghttpx forwards an HTTP/1.1
    # client's TE as it is, so this fails there.
    g = procs.gate([procs.origin()], tls=False)
    h = h1_headers(g.port, ["Host: x", "TE: gzip", "Connection: TE"])
    assert values(h, "te") == []


def test_te_gzip_not_forwarded_h2(procs):
    # Anything but "trailers" makes an HTTP/2 request malformed (RFC 9113
    # 8.2.2): either it is refused or the field does not reach the origin.
    g = procs.gate([procs.origin()], tls=False)
    with H2Client(g.port, strict=False) as c:
        sid = c.request("/headers", extra=[("te", "gzip")])
        r = c.wait_streams([sid])[0]
        if r.reset is not None:
            assert r.reset == ErrorCodes.PROTOCOL_ERROR
        elif r.status == 200:
            assert values(parse(bytes(r.data)), "te") == []
        else:
            assert r.status == 400, r


def test_curl_h2_headers_reach_origin(procs):
    g = procs.gate([procs.origin()], tls=False)
    _, code, body, p = curl_code(["--http2-prior-knowledge", "-H",
                                  "X-Custom: v1",
                                  "http://%s:%d/headers" % (HOST, g.port)])
    assert code == "200", p.stderr
    h = parse(body)
    assert values(h, "x-custom") == ["v1"]
    assert values(h, "host") == ["%s:%d" % (HOST, g.port)]
