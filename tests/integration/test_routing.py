"""Routing by path and host pattern (-b 'HOST,PORT;PATTERN'), -n workers,
and --conf files that say the same as the command line."""

from testlib import HOST, H1Conn, H2Client, curl_code, h1_get, h2load_check


def get(g, path, host=None, h2=True):
    args = ["--http2-prior-knowledge" if h2 else "--http1.1", "-m", "10"]
    if host:
        args += ["-H", "Host: %s" % host]
    ver, code, body, p = curl_code(
        [*args, "http://%s:%d%s" % (HOST, g.port, path)])
    assert p.returncode == 0, p.stderr
    return int(code), body


def counts(*origins):
    return tuple(o.count() for o in origins)


# 8. routing ------------------------------------------------------------------

def test_path_patterns_no_catch_all(procs):
    # nghttpx refuses to start without a catch-all backend ("No catch-all
    # backend address is configured"); the spec allows it and answers 404.
    a, b = procs.origin(count=True), procs.origin(count=True)
    g = procs.gate([a.backend("/a/"), b.backend("/b/")], tls=False)
    # /a/... and /b/... are not origin paths, so each origin answers 404
    # itself; the count files say which one it was.
    code, _ = get(g, "/a/x")
    assert code == 404 and a.count() >= 1 and b.count() == 0
    code, _ = get(g, "/b/y", h2=False)
    assert code == 404 and b.count() >= 1
    before = counts(a, b)
    for h2 in (True, False):
        code, _ = get(g, "/size/10", h2=h2)     # matches no pattern
        assert code == 404
    assert counts(a, b) == before               # answered by the proxy


def check_catch_all_routing(g, a, b):
    """a serves /size/, b is the catch-all."""
    code, body = get(g, "/size/10")
    assert (code, len(body)) == (200, 10)
    assert a.count() >= 1 and b.count() == 0
    code, body = get(g, "/headers", h2=False)
    assert code == 200 and body
    assert b.count() >= 1
    before = counts(a, b)
    code, body = get(g, "/size/7", h2=False)
    assert (code, len(body)) == (200, 7)
    assert counts(a, b)[1] == before[1]          # not the catch-all


def test_path_pattern_with_catch_all(procs):
    a, b = procs.origin(count=True), procs.origin(count=True)
    g = procs.gate([a.backend("/size/"), b.backend()], tls=False)
    check_catch_all_routing(g, a, b)


def test_host_pattern(procs):
    a, b = procs.origin(count=True), procs.origin(count=True)
    g = procs.gate([a.backend(), b.backend("example.com/")], tls=False)
    code, body = get(g, "/size/5", host="example.com")
    assert (code, len(body)) == (200, 5)
    assert b.count() >= 1 and a.count() == 0
    code, body = get(g, "/size/6", host="example.com", h2=False)
    assert (code, len(body)) == (200, 6)
    assert a.count() == 0
    code, body = get(g, "/size/7", host="other.example")
    assert (code, len(body)) == (200, 7)
    assert a.count() >= 1



def test_wildcard_host_and_path_patterns(procs, backends):
    # nghttpx's wildcards: "*.example.com" (a suffix, at least one
    # character before it; an exact host wins, then the longest wildcard
    # with a matching path) and "/v*" (any longer path that starts with
    # "/v", across '/'). Each backend records the requests it was sent.
    star, www, deep, vpath, rest = (backends(h1=True) for _ in range(5))
    g = procs.gate([star.spec(";*.example.com"), www.spec(";www.example.com"),
                    deep.spec(";*.api.example.com/v1/"), vpath.spec(";/v*"),
                    rest.spec("")], tls=False)
    members = (star, www, deep, vpath, rest)
    cases = [("a.example.com", "/x", star),
             ("B.Example.COM:8080", "/v1/x", star),
             ("www.example.com", "/v1/x", www),
             ("v2.api.example.com", "/v1/x?q=1", deep),
             # the longest wildcard has no path for /x: the next one has
             ("v2.api.example.com", "/x", star),
             ("api.example.com", "/v1/x", star),   # nothing before ".api"
             ("example.com", "/v1/x", vpath),      # no wildcard fits
             ("example.com", "/x", rest),
             ("other.test", "/v", rest)]           # "/v*" wants more
    for h2 in (True, False):
        for host, path, want in cases:
            before = [len(m.requests) for m in members]
            code, body = get(g, path, host=host, h2=h2)
            assert (code, body) == (200, b"ok\n"), (host, path, h2)
            moved = [m for m, n in zip(members, before) if len(m.requests) != n]
            assert moved == [want], (host, path, h2)
            assert want.requests[-1][1] == path     # forwarded unchanged


def h2_no_authority(g, path, host):
    """An HTTP/2 GET with Host and no :authority (RFC 9113 8.3.1 allows
    it): (status, body)."""
    with H2Client(g.port, strict=False) as c:
        sid = c.request(path, headers=[(":method", "GET"), (":scheme", "http"),
                                       (":path", path), ("host", host)])
        r, = c.wait_streams([sid])
    return r.status, bytes(r.data)


def test_host_pattern_h2_host_without_authority(procs):
    """An HTTP/2 request's Host stands for its missing :authority: it
    routes by it, and an HTTP/1.1 backend gets it as Host (it got no Host
    at all before, and the catch-all route)."""
    a, b = procs.origin(count=True), procs.origin(count=True)
    g = procs.gate([a.backend(), b.backend("example.com/")], tls=False)
    assert h2_no_authority(g, "/size/5", "example.com") == (200, b"0" * 5)
    assert (b.count(), a.count()) == (1, 0)
    status, body = h2_no_authority(g, "/headers", "example.com")
    assert status == 200
    hosts = [l[6:] for l in body.decode().splitlines() if l.lower().startswith("host: ")]
    assert hosts == ["example.com"], body
    assert h2_no_authority(g, "/size/7", "other.example") == (200, b"0" * 7)
    assert a.count() == 1


# 13. workers and --conf --------------------------------------------------------

def test_two_workers_many_connections(procs):
    g = procs.gate([procs.origin()], workers=2)
    h2load_check("http://%s:%d/size/100" % (HOST, g.port), n=2000, c=16, m=10,
                 threads=2)
    h2load_check("https://%s:%d/size/100" % (HOST, g.tls_port), n=400, c=16,
                 m=4, threads=2)
    for i in range(20):                         # one connection each
        with H1Conn(g.port) as c:
            c.send(h1_get("/size/%d" % (i + 1)))
            r = c.read_response()
            assert r.status == 200 and len(r.body) == i + 1


def test_conf_file_equivalent(procs, tmp_path):
    from conftest import free_port
    a, b = procs.origin(count=True), procs.origin(count=True)
    port = free_port()
    conf = tmp_path / "h2gate.conf"
    conf.write_text(
        "# routing: /size/ to a, everything else to b\n"
        "frontend=%s,%d;no-tls\n"
        "backend=%s\n"
        "\n"
        "# catch-all\n"
        "backend=%s\n"
        "workers=2\n"
        "backend-read-timeout=1s\n" % (HOST, port, a.backend("/size/"),
                                       b.backend()))
    g = procs.gate_raw(["--conf=%s" % conf], ports=[port], port=port)
    check_catch_all_routing(g, a, b)
    # backend-read-timeout from the file is in force too.
    code, _ = get(g, "/delay/5000")
    assert code == 504
