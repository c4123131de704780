"""Observability (issue 5): the admin listener's /metrics, /stats and
/healthz, and the access log.

Counters are checked as exact deltas between two scrapes taken while
h2gate is idle; /metrics is read with prometheus_client's own text parser.
No test depends on how fast anything runs: every wait is a bounded poll
for a state, never a sleep standing in for one.
"""

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from conftest import IS_NGHTTPX, free_port
from obs_lib import (admin_request, bucket_values, check_histograms,
                     gate_with_admin, json_leaves, metric_paths, parse_default,
                     read_lines, scrape, settle, stats_json, wait_lines)
from testlib import (HOST, H1Conn, H2Client, H2loadResult, curl, h2load,
                     h2load_argv)
from tunnel_lib import TargetServer, echo_handler

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's admin listener")

REQUESTS = "h2gate_requests_total"
ACCEPTED = "h2gate_connections_accepted_total"
DURATION = "h2gate_request_duration_seconds"
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "other")
PROTOS = ("h2", "h2c", "http/1.1")


def backend_name(port):
    return "%s:%d" % (HOST, port)


def curl_req(args):
    """curl printing `http_version http_code local_port` after the body;
    (version, code, local_port, body)."""
    p = curl([*args, "-o", "-", "-w",
              "\n%{http_version} %{http_code} %{local_port}"])
    assert p.returncode == 0, p.stderr
    body, _, tail = p.stdout.rpartition(b"\n")
    ver, code, lport = tail.decode().split(" ")
    return ver, int(code), int(lport), body


def deltas(before, after, name, label):
    return {v: after.get(name, **{label: v}) - before.get(name, **{label: v})
            for v in after.label_values(name, label)}


# ---------------------------------------------------------------------------
# counter exactness


def test_counters_exact_over_workers_protocols_and_classes(procs):
    """N requests spread over -n 2 workers, three protocols and many
    connections: h2gate_requests_total rose by exactly N, each
    (protocol, status_class) cell by exactly what was sent, connections by
    exactly the number opened, the duration histogram's _count by N;
    backend connect failures were counted; admin reads counted nothing."""
    o = procs.origin()
    dead = free_port()
    g = gate_with_admin(
        procs, [o.backend("/size/:/status/"), "%s,%d;/dead/" % (HOST, dead)],
        workers=2)
    h2c = "http://%s:%d" % (HOST, g.port)
    tls = "https://%s:%d" % (HOST, g.tls_port)

    before = settle(g.admin_port)
    check_histograms(before)
    expect = Counter()   # (protocol, class) -> requests
    conns = Counter()    # protocol -> connections

    # h2load: many connections, several streams each.
    runs = [  # url, n, c, m, h1, protocol, class
        (h2c + "/size/64", 300, 6, 5, False, "h2c", "2xx"),
        (tls + "/size/64", 200, 4, 5, False, "h2", "2xx"),
        (h2c + "/size/64", 200, 4, 1, True, "http/1.1", "2xx"),
        (h2c + "/not/routed", 40, 2, 4, False, "h2c", "4xx"),
        (h2c + "/not/routed", 20, 2, 1, True, "http/1.1", "4xx"),
        (tls + "/status/503", 30, 2, 3, False, "h2", "5xx"),
    ]
    for url, n, c, m, h1, proto, cls in runs:
        r = h2load(url, n, c, m, threads=1, h1=h1)
        assert (r.done, r.errored) == (n, 0), r.output
        assert r.codes[cls] == n, r.output
        expect[proto, cls] += n
        conns[proto] += c

    # curl: one connection per request.
    curls = [  # args, protocol, status
        (["--http1.1", h2c + "/status/503"], "http/1.1", 503),
        (["--http1.1", h2c + "/status/503"], "http/1.1", 503),
        (["-k", "--http1.1", tls + "/status/302"], "http/1.1", 302),
        (["-k", "--http1.1", tls + "/size/5"], "http/1.1", 200),
        (["-k", "--http2", tls + "/status/404"], "h2", 404),
        (["-k", "--http2", tls + "/elsewhere"], "h2", 404),
        (["-k", "--http2", tls + "/dead/a"], "h2", 502),
        (["--http2-prior-knowledge", h2c + "/dead/b"], "h2c", 502),
        (["--http1.1", h2c + "/dead/c"], "http/1.1", 502),
        (["--http2-prior-knowledge", h2c + "/status/201"], "h2c", 201),
    ]
    for args, proto, status in curls:
        ver, code, _, _ = curl_req(args)
        assert code == status, (args, code)
        assert ver == ("2" if proto != "http/1.1" else "1.1"), (args, ver)
        expect[proto, "%dxx" % (status // 100)] += 1
        conns[proto] += 1
    n_total = sum(expect.values())
    n_dead = 3

    after = settle(g.admin_port)

    for proto in PROTOS:
        for cls in CLASSES:
            d = (after.get(REQUESTS, protocol=proto, status_class=cls)
                 - before.get(REQUESTS, protocol=proto, status_class=cls))
            assert d == expect[proto, cls], (proto, cls, d, expect)
        d = (after.get(ACCEPTED, protocol=proto)
             - before.get(ACCEPTED, protocol=proto))
        assert d == conns[proto], (proto, d, conns)
    assert after.get(REQUESTS) - before.get(REQUESTS) == n_total
    # The status-class cells add up to the total, per protocol and overall.
    assert sum(after.get(REQUESTS, status_class=c) for c in CLASSES) \
        == after.get(REQUESTS)

    # The histogram saw every request once, and only those.
    check_histograms(after)
    assert after.get(DURATION + "_count") - before.get(DURATION + "_count") \
        == n_total
    b0, b1 = bucket_values(before, DURATION), bucket_values(after, DURATION)
    db = [y - x for x, y in zip(b0, b1)]
    assert all(x <= y for x, y in zip(db, db[1:])) and db[-1] == n_total, db

    # Per backend: the origin answered the routed requests, "-" the 404s
    # h2gate made itself, and the dead backend's refusals were counted.
    bk = "h2gate_backend_requests_total"
    origin, down = backend_name(o.port), backend_name(dead)
    # ("-" is exposed only once it is non-zero.)
    assert (after.get(bk, backend="-", status_class="4xx")
            - before.get(bk, 0, backend="-", status_class="4xx")) == 40 + 20 + 1
    assert (after.get(bk, backend=down, status_class="5xx")
            - before.get(bk, backend=down, status_class="5xx")) == n_dead
    assert (after.get(bk, backend=origin) - before.get(bk, backend=origin)) \
        == n_total - 61 - n_dead
    failures = "h2gate_backend_connect_failures_total"
    assert after.get(failures, backend=down) - before.get(failures,
                                                          backend=down) >= n_dead
    assert after.get(failures, backend=origin) == before.get(failures,
                                                            backend=origin)
    assert after.get("h2gate_backend_connects_total", backend=down) == 0

    # Bytes moved on both sides.
    for side in ("client", "backend"):
        fam = "h2gate_%s_bytes_total" % side
        for direction in ("in", "out"):
            assert (after.get(fam, direction=direction)
                    > before.get(fam, direction=direction)), (side, direction)

    # Reading the admin pages is not proxied traffic.
    for path in ("/metrics", "/stats", "/healthz", "/nope", "/metrics?x=1"):
        admin_request(g.admin_port, path)
    again = scrape(g.admin_port)
    for name in (REQUESTS, ACCEPTED, DURATION + "_count"):
        assert again.get(name) == after.get(name), name
    assert (again.get("h2gate_client_bytes_total")
            == after.get("h2gate_client_bytes_total"))


def test_metrics_exposition_parses_with_every_family(procs):
    """The whole /metrics text goes through prometheus_client's parser;
    every documented family is there with its TYPE, with every label value
    present from the start (at zero), and nothing is negative."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], workers=2)
    snap = settle(g.admin_port)
    types = {
        "h2gate_connections_accepted": "counter",
        "h2gate_connections_active": "gauge",
        "h2gate_streams_active": "gauge",
        "h2gate_requests": "counter",
        "h2gate_client_bytes": "counter",
        "h2gate_backend_bytes": "counter",
        "h2gate_tunnel_target_bytes": "counter",
        "h2gate_backend_connections_idle": "gauge",
        "h2gate_backend_queue_length": "gauge",
        "h2gate_backend_queue_overflows": "counter",
        "h2gate_backend_request_duration_seconds": "histogram",
        "h2gate_tunnel_failures": "counter",
        "h2gate_tls_handshakes": "counter",
        "h2gate_tls_handshake_failures": "counter",
        "h2gate_tls_resumptions": "counter",
        "h2gate_dns_lookups": "counter",
        "h2gate_dns_cache_hits": "counter",
        "h2gate_dns_failures": "counter",
        "h2gate_build_info": "gauge",
        "h2gate_accesslog_lines_dropped": "counter",
        "h2gate_io_collect_polls": "counter",
        "process_start_time_seconds": "gauge",
        "process_cpu_seconds": "counter",
        "process_resident_memory_bytes": "gauge",
        "process_virtual_memory_bytes": "gauge",
        "process_open_fds": "gauge",
        "process_max_fds": "gauge",
        "h2gate_rst_stream": "counter",
        "h2gate_goaway": "counter",
        "h2gate_backend_requests": "counter",
        "h2gate_backend_connects": "counter",
        "h2gate_backend_connect_failures": "counter",
        "h2gate_backend_timeouts": "counter",
        "h2gate_backend_retries": "counter",
        "h2gate_backend_connections_active": "gauge",
        "h2gate_tunnels": "counter",
        "h2gate_tunnels_active": "gauge",
        "h2gate_tunnel_bytes": "counter",
        "h2gate_websockets": "counter",
        "h2gate_websockets_active": "gauge",
        "h2gate_websocket_bytes": "counter",
        "h2gate_websocket_duration_seconds": "histogram",
        "h2gate_http2_pushes": "counter",
        "h2gate_request_duration_seconds": "histogram",
        "h2gate_time_to_first_byte_seconds": "histogram",
        "h2gate_backend_connect_duration_seconds": "histogram",
        "h2gate_tunnel_duration_seconds": "histogram",
    }
    for name, typ in types.items():
        assert name in snap.families, name
        assert snap.families[name].type == typ, (name,
                                                 snap.families[name].type)
    assert all(v >= 0 for v in snap.samples.values()), snap.text
    assert snap.label_values(REQUESTS, "protocol") == sorted(PROTOS)
    assert snap.label_values(REQUESTS, "status_class") == sorted(CLASSES)
    assert snap.label_values("h2gate_tunnels_total", "result") == \
        ["denied", "failed", "opened"]
    assert snap.label_values("h2gate_websockets_total", "result") == \
        ["opened", "refused"]
    assert snap.label_values("h2gate_http2_pushes_total", "result") == \
        ["cancelled", "limited", "promised"]
    assert snap.label_values("h2gate_websocket_bytes_total", "direction") == \
        ["to_backend", "to_client"]
    for side in ("client", "backend", "tunnel_target"):
        assert snap.label_values("h2gate_%s_bytes_total" % side,
                                 "direction") == ["in", "out"]
    assert snap.label_values("h2gate_tunnel_failures_total", "cause") == \
        sorted(["dns", "refused", "timeout", "unreachable", "denied", "auth",
                "bad_request", "limit"])
    assert snap.label_values("h2gate_tls_handshakes_total", "version") == \
        ["TLSv1.2", "TLSv1.3", "other"]
    assert backend_name(o.port) in snap.label_values(
        "h2gate_backend_connect_failures_total", "backend")
    assert check_histograms(snap) == {n for n, t in types.items()
                                      if t == "histogram"}
    # Fresh process: every counter at zero.
    assert snap.get(REQUESTS) == 0 and snap.get(ACCEPTED) == 0
    # HEAD gives the headers only; other methods are refused.
    status, headers, body = admin_request(g.admin_port, "/metrics",
                                          method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    status, _, _ = admin_request(g.admin_port, "/metrics", method="POST")
    assert status == 405
    status, _, _ = admin_request(g.admin_port, "/index.html")
    assert status == 404


def test_stats_json_has_the_same_numbers(procs):
    """After traffic, /stats is valid JSON holding exactly the samples of
    /metrics (same names, labels as nested keys, same values), no more,
    plus "workers", one object per worker."""
    o = procs.origin()
    dead = free_port()
    g = gate_with_admin(procs, [o.backend("/size/"),
                                "%s,%d;/dead/" % (HOST, dead)], workers=2)
    h2load("http://%s:%d/size/100" % (HOST, g.port), 100, 4, 4, threads=1)
    curl_req(["--http1.1", "http://%s:%d/nope" % (HOST, g.port)])
    curl_req(["-k", "https://%s:%d/dead/" % (HOST, g.tls_port)])
    snap = settle(g.admin_port)
    js = stats_json(g.admin_port)
    # Idle: stable, but for the process's own figures (memory, CPU, fds
    # move with every scrape).
    def steady(samples):
        return {k: v for k, v in samples.items()
                if not k[0].startswith("process_")}
    assert steady(scrape(g.admin_port).samples) == steady(snap.samples)
    from_metrics = metric_paths(snap)
    # "workers" (the dashboard's per-worker rows, test_dashboard.py) is
    # the one key /metrics has no family for: its sums are the families.
    workers = js.pop("workers")
    assert len(workers) == 2
    assert sum(w["requests_total"] for w in workers) == 102
    from_json = dict(json_leaves(js))
    assert set(from_json) == set(from_metrics), (
        set(from_json) ^ set(from_metrics))
    for path, v in from_metrics.items():
        if path[0].startswith("process_"):
            continue
        assert from_json[path] == pytest.approx(v, abs=1e-6), path
        assert isinstance(from_json[path], (int, float)), path
    assert js[REQUESTS]["h2c"]["2xx"] == 100
    assert js[REQUESTS]["http/1.1"]["4xx"] == 1
    assert js[REQUESTS]["h2"]["5xx"] == 1
    assert js[DURATION]["count"] == 102


def test_admin_requests_never_counted_or_logged(procs, tmp_path):
    """Many admin requests of every kind, pipelined and not: no proxied
    request, connection, byte or access log line comes of them."""
    log = tmp_path / "access.log"
    g = gate_with_admin(procs, [procs.origin()],
                        extra=["--accesslog-file=%s" % log], workers=2)
    for i in range(20):
        for path in ("/metrics", "/stats", "/healthz", "/missing"):
            admin_request(g.admin_port, path)
    with H1Conn(g.admin_port) as c:   # pipelined, one connection
        c.send(b"".join(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % p
                        for p in (b"/healthz", b"/stats", b"/metrics") * 5))
        for _ in range(15):
            assert c.read_response().status == 200
    snap = scrape(g.admin_port)
    assert snap.get(REQUESTS) == 0
    assert snap.get(ACCEPTED) == 0
    assert snap.get(DURATION + "_count") == 0
    assert snap.get("h2gate_client_bytes_total") == 0
    assert snap.get("h2gate_connections_active") == 0
    # A proxied request afterwards is counted and logged, alone.
    ver, code, _, _ = curl_req(["--http1.1", "http://%s:%d/" % (HOST, g.port)])
    assert code == 200
    snap = settle(g.admin_port, lambda s: s.get(REQUESTS) == 1)
    assert snap.get(REQUESTS, protocol="http/1.1", status_class="2xx") == 1
    lines = wait_lines(log, lambda ls: len(ls) >= 1)
    assert len(lines) == 1 and '"GET / HTTP/1.1" 200' in lines[0], lines


# ---------------------------------------------------------------------------
# healthz


def test_healthz_200_then_503_after_sigterm(procs):
    """/healthz answers 200 "ok" while accepting and 503 once graceful
    shutdown began (a slow request keeps h2gate draining meanwhile); the
    in-flight request still completes and h2gate exits 0."""
    o = procs.origin(count=True)
    g = gate_with_admin(procs, [o], tls=False, workers=2)
    status, _, body = admin_request(g.admin_port, "/healthz")
    assert (status, body) == (200, b"ok\n")
    status, headers, body = admin_request(g.admin_port, "/healthz",
                                          method="HEAD")
    assert status == 200 and body == b""
    with H2Client(g.port, timeout=20) as c:
        sid = c.request("/delay/3000")
        deadline = time.monotonic() + 10
        while o.count() < 1:
            assert time.monotonic() < deadline, "request never reached origin"
            time.sleep(0.02)
        g.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while True:
            status, _, body = admin_request(g.admin_port, "/healthz")
            if status == 503:
                break
            assert status == 200, (status, body)
            assert time.monotonic() < deadline, "/healthz stayed 200"
            time.sleep(0.02)
        assert g.alive(), "h2gate exited with a request in flight"
        # /metrics is still served while draining and shows the request.
        snap = scrape(g.admin_port)
        assert snap.get("h2gate_streams_active") == 1
        r = c.wait_streams([sid])[0]
        assert r.status == 200 and r.ended and r.reset is None, r
    assert g.popen.wait(timeout=15) == 0


# ---------------------------------------------------------------------------
# reading stats never stops a worker


def test_scraping_during_load_never_stalls_workers(procs):
    """/metrics and /stats read in a loop while h2load runs against two
    workers: h2load sees no failure, every scrape answers, every counter
    only grows from one scrape to the next, and the scrapes watched the
    count climb while the load ran (the workers never stopped for them)."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False, workers=2)
    n = 800
    before = settle(g.admin_port)
    # /delay/40 with 8x4 streams: the run lasts at least 1 s however fast
    # the machine, so the scrapes overlap it.
    h = subprocess.Popen(
        h2load_argv("http://%s:%d/delay/40" % (HOST, g.port), n, 8, 4,
                    threads=1),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        prev = before
        seen_mid = set()
        scrapes = 0
        deadline = time.monotonic() + 120
        while h.poll() is None:
            assert time.monotonic() < deadline, "h2load never finished"
            snap = scrape(g.admin_port)
            js = stats_json(g.admin_port)
            assert isinstance(js[REQUESTS]["h2c"]["2xx"], int)
            scrapes += 1
            for key, v in snap.samples.items():
                fam = key[0]
                if fam.endswith(("_total", "_bucket", "_count", "_sum")):
                    assert v >= prev.samples[key], (key, prev.samples[key], v)
            seen_mid.add(snap.get(REQUESTS))
            prev = snap
        out, err = h.communicate(timeout=30)
    finally:
        if h.poll() is None:
            h.kill()
            h.wait(timeout=10)
    r = H2loadResult(out.decode(errors="replace"), err.decode(errors="replace"))
    assert (r.done, r.succeeded, r.failed, r.errored) == (n, n, 0, 0), \
        r.output
    after = settle(g.admin_port)
    assert after.get(REQUESTS) - before.get(REQUESTS) == n
    assert after.get(REQUESTS, protocol="h2c", status_class="2xx") == n
    assert after.get(DURATION + "_count") == n
    assert scrapes >= 1
    # Some scrape saw the load part-way: counting went on between reads.
    assert any(0 < v < n for v in seen_mid), sorted(seen_mid)


# ---------------------------------------------------------------------------
# access log


def _ua(tag):
    return "obs-test/1 (%s)" % tag


def test_accesslog_default_format_fields(procs, tmp_path):
    """Default (nghttpx) format, one line per request, parsed field by
    field for h2, h2c, HTTP/1.1 (cleartext and TLS) and HTTP/1.0."""
    log = tmp_path / "access.log"
    o = procs.origin()
    g = procs.gate([o], extra=["--accesslog-file=%s" % log], workers=2)
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    tls = "https://%s:%d" % (HOST, g.tls_port)
    h2c = "http://%s:%d" % (HOST, g.port)
    cases = [  # tag, curl args, expected request, status
        ("h2", ["-k", "--http2", "-e", "http://ref.test/a?b=c",
                tls + "/size/123"], "GET /size/123 HTTP/2", 200),
        ("h2c", ["--http2-prior-knowledge", h2c + "/size/45?x=1"],
         "GET /size/45?x=1 HTTP/2", 200),
        ("h2c-post", ["--http2-prior-knowledge", "--data-binary", "hello",
                      h2c + "/echo"], "POST /echo HTTP/2", 200),
        ("h1", ["--http1.1", "-e", "r1", h2c + "/status/503"],
         "GET /status/503 HTTP/1.1", 503),
        ("h1-tls", ["-k", "--http1.1", tls + "/size/7"],
         "GET /size/7 HTTP/1.1", 200),
        ("h2-head", ["-k", "--http2", "-I", tls + "/size/99"],
         "HEAD /size/99 HTTP/2", 200),
    ]
    sent = {}
    for tag, args, request, status in cases:
        _, code, _, body = curl_req(["-A", _ua(tag), *args])
        assert code == status, (tag, code)
        sent[_ua(tag)] = (request, status, body, tag)
    # HTTP/1.0 from a raw socket, and a user agent that needs escaping.
    with H1Conn(g.port) as c:
        c.send(b'GET /size/3 HTTP/1.0\r\nUser-Agent: say "hi"\\\r\n\r\n')
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 3, r
    t1 = datetime.now(timezone.utc) + timedelta(seconds=1)

    lines = wait_lines(log, lambda ls: len(ls) >= len(cases) + 1)
    assert len(lines) == len(cases) + 1, lines
    by_ua = {}
    for line in lines:
        f = parse_default(line)
        assert f["user_agent"] not in by_ua, lines
        by_ua[f["user_agent"]] = f
        assert f["remote_addr"] == HOST
        when = datetime.strptime(f["time_local"], "%d/%b/%Y:%H:%M:%S %z")
        assert t0 <= when <= t1, (when, t0, t1)
        assert f["duration"] is None, line   # not a tunnel
    for ua, (request, status, body, tag) in sent.items():
        f = by_ua[ua]
        assert f["request"] == request, (tag, f)
        assert int(f["status"]) == status, (tag, f)
        size = 0 if request.startswith("HEAD ") else len(body)  # -I: headers
        assert int(f["body_bytes_sent"]) == size, (tag, f, size)
    assert by_ua[_ua("h2")]["referer"] == "http://ref.test/a?b=c"
    assert by_ua[_ua("h1")]["referer"] == "r1"
    assert by_ua[_ua("h2c")]["referer"] == "-"
    esc = by_ua[r'say \x22hi\x22\x5c']
    assert esc["request"] == "GET /size/3 HTTP/1.0"
    assert (esc["status"], esc["body_bytes_sent"]) == ("200", "3")


def test_accesslog_local_error_body_bytes(procs, tmp_path):
    """$body_bytes_sent is the body h2gate really sent, also for the
    answers h2gate makes itself (404 no route, 502 backend down), on
    every protocol."""
    log = tmp_path / "access.log"
    dead = free_port()
    g = procs.gate([procs.origin().backend("/size/"),
                    "%s,%d;/dead/" % (HOST, dead)],
                   extra=["--accesslog-file=%s" % log], tls=False)
    base = "http://%s:%d" % (HOST, g.port)
    sent = {}
    for tag, args in [("h1-404", ["--http1.1", base + "/nothing"]),
                      ("h1-502", ["--http1.1", base + "/dead/x"]),
                      ("h2c-404", ["--http2-prior-knowledge", base + "/nothing"]),
                      ("h2c-502", ["--http2-prior-knowledge", base + "/dead/x"])]:
        _, code, _, body = curl_req(["-A", tag, *args])
        assert body, (tag, code)
        sent[tag] = (code, len(body))
    lines = wait_lines(log, lambda ls: len(ls) >= len(sent))
    got = {f["user_agent"]: (int(f["status"]), int(f["body_bytes_sent"]))
           for f in map(parse_default, lines)}
    assert got == sent


FIELDS = ("remote_addr", "remote_port", "server_port", "alpn",
          "http_host", "method", "path", "path_without_query",
          "protocol_version", "status", "body_bytes_sent", "backend_host",
          "backend_port", "tls_protocol", "pid", "request_time",
          "time_iso8601", "http_x_tag")
CUSTOM_FORMAT = "|".join("$" + f for f in FIELDS)


def test_accesslog_custom_format_per_protocol(procs, tmp_path):
    """--accesslog-format with nghttpx's variables; every field checked
    against what the client knows (its own port, the TLS name it sent,
    the backend it reached) for h2, h2c and HTTP/1.1."""
    log = tmp_path / "access.log"
    o = procs.origin()
    g = procs.gate([o.backend("/size/")],
                   extra=["--accesslog-file=%s" % log,
                          "--accesslog-format=" + CUSTOM_FORMAT], workers=2)
    tls_host = "localhost:%d" % g.tls_port
    resolve = ["--resolve", "%s:127.0.0.1" % tls_host]
    cases = {  # tag: (curl args, alpn, scheme, host, proto, tls, routed)
        "h2": (["-k", "--http2", *resolve,
                "https://%s/size/10?a=1" % tls_host],
               {"h2"}, "https", tls_host, "HTTP/2", True, True),
        "h1tls": (["-k", "--http1.1", *resolve,
                   "https://%s/size/11?a=1" % tls_host],
                  {"http/1.1"}, "https", tls_host, "HTTP/1.1", True, True),
        "h2c": (["--http2-prior-knowledge",
                 "http://%s:%d/size/12?a=1" % (HOST, g.port)],
                {"h2c", "-"}, "http", "%s:%d" % (HOST, g.port), "HTTP/2",
                False, True),
        "h1": (["--http1.1", "http://%s:%d/size/13?a=1" % (HOST, g.port)],
               {"http/1.1", "-"}, "http", "%s:%d" % (HOST, g.port),
               "HTTP/1.1", False, True),
        # (an HTTP/1.1 404 would hit the body-bytes bug that
        # test_accesslog_local_error_body_bytes checks)
        "h2c-404": (["--http2-prior-knowledge",
                     "http://%s:%d/unrouted?a=1" % (HOST, g.port)],
                    {"h2c", "-"}, "http", "%s:%d" % (HOST, g.port), "HTTP/2",
                    False, False),
    }
    client = {}
    for tag, (args, *_rest) in cases.items():
        _, code, lport, body = curl_req(["-H", "X-Tag: " + tag, *args])
        client[tag] = (code, lport, body)
    lines = wait_lines(log, lambda ls: len(ls) >= len(cases))
    assert len(lines) == len(cases), lines
    seen = set()
    for line in lines:
        f = dict(zip(FIELDS, line.split("|")))
        assert len(line.split("|")) == len(FIELDS), line
        tag = f["http_x_tag"]
        seen.add(tag)
        args, alpns, scheme, host, proto, is_tls, routed = cases[tag]
        code, lport, body = client[tag]
        port = g.tls_port if is_tls else g.port
        assert f["remote_addr"] == HOST, f
        assert int(f["remote_port"]) == lport, f
        assert int(f["server_port"]) == port, f
        assert f["alpn"] in alpns, f
        assert f["http_host"] == host, f
        assert f["method"] == "GET", f
        assert f["path"].endswith("?a=1"), f
        assert f["path_without_query"] == f["path"][:-len("?a=1")], f
        assert f["protocol_version"] == proto, f
        assert int(f["status"]) == code, f
        assert int(f["body_bytes_sent"]) == len(body), f
        if routed:
            assert (f["backend_host"], f["backend_port"]) == (
                HOST, str(o.port)), f
        else:
            assert (f["backend_host"], f["backend_port"]) == ("-", "-"), f
        if is_tls:
            assert f["tls_protocol"].startswith("TLSv1."), f
        else:
            assert f["tls_protocol"] == "-", f
        assert int(f["pid"]) == g.pid, f
        assert float(f["request_time"]) >= 0, f
        assert "." in f["request_time"], f
        datetime.fromisoformat(f["time_iso8601"].replace("Z", "+00:00"))
    assert seen == set(cases)


def test_accesslog_tls_sni(procs, tmp_path):
    """$tls_sni is the server name the client sent ("-" when it sent none
    or on cleartext)."""
    log = tmp_path / "access.log"
    g = procs.gate([procs.origin()],
                   extra=["--accesslog-file=%s" % log,
                          "--accesslog-format=$http_x_tag $tls_sni"])
    tls_host = "localhost:%d" % g.tls_port
    curl_req(["-k", "--http2", "-H", "X-Tag: sni", "--resolve",
              "%s:127.0.0.1" % tls_host, "https://%s/" % tls_host])
    curl_req(["-k", "--http1.1", "-H", "X-Tag: nosni",   # no SNI for an IP
              "https://%s:%d/" % (HOST, g.tls_port)])
    curl_req(["--http1.1", "-H", "X-Tag: clear",
              "http://%s:%d/" % (HOST, g.port)])
    lines = wait_lines(log, lambda ls: len(ls) >= 3)
    assert sorted(lines) == ["clear -", "nosni -", "sni localhost"]


def test_accesslog_scheme(procs, tmp_path):
    """$scheme is the request's scheme: :scheme on HTTP/2, and on HTTP/1.1
    the connection's (RFC 9112 3.3: https over TLS, else http)."""
    log = tmp_path / "access.log"
    g = procs.gate([procs.origin()],
                   extra=["--accesslog-file=%s" % log,
                          "--accesslog-format=$http_x_tag $scheme"])
    tls = "https://%s:%d/" % (HOST, g.tls_port)
    h2c = "http://%s:%d/" % (HOST, g.port)
    for tag, args in (("h2", ["-k", "--http2", tls]),
                      ("h1tls", ["-k", "--http1.1", tls]),
                      ("h2c", ["--http2-prior-knowledge", h2c]),
                      ("h1", ["--http1.1", h2c])):
        curl_req(["-H", "X-Tag: " + tag, *args])
    lines = wait_lines(log, lambda ls: len(ls) >= 4)
    assert sorted(lines) == ["h1 http", "h1tls https", "h2 https", "h2c http"]


def test_accesslog_write_early(procs, tmp_path):
    """--accesslog-write-early: the line is written once the response head
    is sent, while the body is still pending (origin /stall)."""
    log = tmp_path / "access.log"
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--accesslog-file=%s" % log,
                          "--accesslog-write-early"])
    with H2Client(g.port, timeout=10) as c:
        sid = c.request("/stall")
        c.wait(lambda: c.streams[sid].headers is not None)
        lines = wait_lines(log, lambda ls: len(ls) >= 1)
        assert not c.streams[sid].done
        f = parse_default(lines[0])
        assert (f["request"], f["status"]) == ("GET /stall HTTP/2", "200")
        assert f["body_bytes_sent"] == "0"


def test_accesslog_sigusr1_reopens_after_move(procs, tmp_path):
    """Rotation: move the file away, SIGUSR1, and new lines go to a new
    file at the old path; nothing is lost, doubled or split between the
    two files."""
    log = tmp_path / "access.log"
    moved = tmp_path / "access.log.1"
    g = gate_with_admin(procs, [procs.origin()], tls=False,
                        extra=["--accesslog-file=%s" % log], workers=2)
    base = "http://%s:%d" % (HOST, g.port)

    def get(tag):
        assert curl_req(["--http1.1", "-A", tag, base + "/size/1"])[1] == 200

    get("before-1")
    get("before-2")
    wait_lines(log, lambda ls: len(ls) == 2)
    os.rename(log, moved)
    get("moved-1")   # still the old file: its fd is open
    wait_lines(moved, lambda ls: len(ls) == 3)
    assert not log.exists()
    g.signal(signal.SIGUSR1)
    # Until every worker has reopened a line may still go to the old file;
    # send requests (each on its own connection, so both workers get some)
    # until several in a row land in the new one.
    tags = []
    in_a_row = 0
    for i in range(200):
        tag = "after-%d" % i
        get(tag)
        tags.append(tag)
        wait_lines(moved, lambda ls, t=tag: any(
            parse_default(l)["user_agent"] == t for l in ls + read_lines(log)))
        in_new = any(parse_default(l)["user_agent"] == tag
                     for l in read_lines(log))
        in_a_row = in_a_row + 1 if in_new else 0
        if in_a_row >= 8:
            break
    assert in_a_row >= 8, "lines never moved to the reopened file"
    old, cur = read_lines(moved), read_lines(log)
    assert [parse_default(l)["user_agent"] for l in old[:3]] == \
        ["before-1", "before-2", "moved-1"]
    everything = [parse_default(l)["user_agent"] for l in old + cur]
    assert sorted(everything) == sorted(["before-1", "before-2", "moved-1",
                                         *tags])
    assert all(parse_default(l)["request"] == "GET /size/1 HTTP/1.1"
               for l in old + cur)
    # The admin listener is unaffected by the signal.
    assert settle(g.admin_port).get(REQUESTS) == 3 + len(tags)
    # A second rotation works too.
    os.rename(log, tmp_path / "access.log.2")
    g.signal(signal.SIGUSR1)
    for i in range(200):
        get("second-%d" % i)
        if log.exists() and any("second-" in l for l in read_lines(log)):
            break
    assert any("second-" in l for l in read_lines(log))


# ---------------------------------------------------------------------------
# CONNECT tunnels


def _connect_h1(port, target):
    with H1Conn(port, timeout=10) as c:
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tun-h1\r\n\r\n"
                % (target, target)).encode())
        return c.read_response(method="CONNECT")


@pytest.fixture
def echo():
    """A loopback echo target: echoes every byte, half-closes after the
    peer's EOF; .accepted counts its connections."""
    s = TargetServer(echo_handler)
    yield s
    s.stop()


def test_connect_denied_logged_and_counted(procs, tmp_path, echo):
    """With no --connect-allow rule every CONNECT is refused with 403, over
    HTTP/1.1 and HTTP/2: counted as tunnels_total{result="denied"}, one
    access log line each ("CONNECT host:port PROTOCOL" 403), and the
    target is never contacted."""
    log = tmp_path / "access.log"
    g = gate_with_admin(procs, [procs.origin()], tls=False, workers=2,
                        extra=["--accesslog-file=%s" % log])
    target = "%s:%d" % (HOST, echo.port)
    before = settle(g.admin_port)
    r1 = _connect_h1(g.port, target)
    assert r1.status == 403, r1
    with H2Client(g.port, timeout=10, strict=False) as c:
        sid = c.request(headers=[(":method", "CONNECT"),
                                 (":authority", target),
                                 ("user-agent", "tun-h2")], end_stream=False)
        r2 = c.wait_streams([sid])[0]
    assert r2.status == 403, r2
    after = settle(g.admin_port)
    assert (after.get("h2gate_tunnels_total", result="denied")
            - before.get("h2gate_tunnels_total", result="denied")) == 2
    for result in ("opened", "failed"):
        assert after.get("h2gate_tunnels_total", result=result) == \
            before.get("h2gate_tunnels_total", result=result)
    assert after.get("h2gate_tunnels_active") == 0
    assert echo.accepted == 0
    lines = wait_lines(log, lambda ls: len(ls) >= 2)
    assert len(lines) == 2, lines
    got = {f["user_agent"]: f for f in map(parse_default, lines)}
    assert got["tun-h1"]["request"] == "CONNECT %s HTTP/1.1" % target
    assert got["tun-h2"]["request"] == "CONNECT %s HTTP/2" % target
    # (HTTP/1.1's $body_bytes_sent for h2gate's own answers is checked in
    # test_accesslog_local_error_body_bytes.)
    assert int(got["tun-h2"]["body_bytes_sent"]) == len(r2.data)
    for ua in ("tun-h1", "tun-h2"):
        f = got[ua]
        assert f["remote_addr"] == HOST
        assert f["status"] == "403", f
        if f["tunnel_in"] is not None:   # tunnel fields: nothing carried
            assert (f["tunnel_in"], f["tunnel_out"]) in (("0", "0"),
                                                         ("-", "-")), f


def test_connect_allowed_tunnel_logged_and_counted(procs, tmp_path, echo):
    """--connect-allow='127.0.0.1:*': CONNECT to a loopback echo server
    answers 200 and pipes bytes both ways over HTTP/1.1 and HTTP/2; counted
    as opened, tunnel bytes added at close, and each tunnel logged with
    the default tunnel format (duration and bytes each way)."""
    log = tmp_path / "access.log"
    g = gate_with_admin(procs, [procs.origin()], tls=False, workers=2,
                        extra=["--accesslog-file=%s" % log,
                               "--connect-allow=127.0.0.1:*"])
    target = "%s:%d" % (HOST, echo.port)
    before = settle(g.admin_port)

    up1 = b"hello over http/1.1 tunnel\n" * 10
    with H1Conn(g.port, timeout=10) as c:
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tun-h1\r\n\r\n"
                % (target, target)).encode())
        # A 2xx to CONNECT has no body (RFC 9112 6.3), as for HEAD: read
        # the head only, not up to the tunnel's end.
        r = c.read_response(method="HEAD")
        assert r.status == 200, r
        c.send(up1)
        assert c.recv_some(len(up1)) == up1
        mid = scrape(g.admin_port)
        assert mid.get("h2gate_tunnels_active") == 1
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_to_eof() == b""

    up2 = b"hello over an h2 tunnel\n" * 10
    with H2Client(g.port, timeout=10, strict=False) as c:
        sid = c.request(headers=[(":method", "CONNECT"),
                                 (":authority", target),
                                 ("user-agent", "tun-h2")], end_stream=False)
        c.wait(lambda: c.streams[sid].headers is not None)
        assert c.streams[sid].status == 200
        c.send_body(sid, up2, end_stream=False)
        c.wait(lambda: len(c.streams[sid].data) >= len(up2))
        assert bytes(c.streams[sid].data) == up2
        c.send_body(sid, b"", end_stream=True)
        r2 = c.wait_streams([sid])[0]
        assert r2.ended and r2.reset is None, r2

    after = settle(g.admin_port)
    t = "h2gate_tunnels_total"
    assert after.get(t, result="opened") - before.get(t, result="opened") == 2
    assert after.get(t, result="denied") == before.get(t, result="denied")
    tb = "h2gate_tunnel_bytes_total"
    n = len(up1) + len(up2)
    assert after.get(tb, direction="to_target") - before.get(
        tb, direction="to_target") == n
    assert after.get(tb, direction="to_client") - before.get(
        tb, direction="to_client") == n
    assert after.get("h2gate_tunnel_duration_seconds_count") - before.get(
        "h2gate_tunnel_duration_seconds_count") == 2
    assert echo.accepted == 2

    lines = wait_lines(log, lambda ls: len(ls) >= 2)
    assert len(lines) == 2, lines
    got = {f["user_agent"]: f for f in map(parse_default, lines)}
    for ua, proto, size in (("tun-h1", "HTTP/1.1", len(up1)),
                            ("tun-h2", "HTTP/2", len(up2))):
        f = got[ua]
        assert f["request"] == "CONNECT %s %s" % (target, proto), f
        assert f["status"] == "200", f
        assert f["duration"] is not None and float(f["duration"]) >= 0, f
        assert (int(f["tunnel_in"]), int(f["tunnel_out"])) == (size, size), f

