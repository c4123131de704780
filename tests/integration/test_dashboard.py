"""The admin listener's dashboard: GET / and GET /dashboard serve one
self-contained page (proxy/dashboard.html) that polls /stats; /stats
carries a "workers" array for it.

The page itself runs in headless Chromium (Debian's chromium, driven by
node_dashboard.js with the npm package playwright-core). Those tests are
skipped, saying why, where Chromium or playwright-core is not installed
(deploy/install-deps.sh installs both when it can). They read what the
page shows (every number also sits in a data-value attribute), and every
wait is a bounded poll for a state, never a sleep standing in for one.
Screenshots go next to the h2gate binary: build/dashboard.png and
build/dashboard-phone-dark.png (build-asan/... for that build).
"""

import base64
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import H2GATE_BIN, IS_NGHTTPX, free_port
from obs_lib import admin_request, gate_with_admin, settle, stats_json
from testlib import HOST, H1Conn, h2load
from tunnel_lib import TargetServer, closed_port, echo_handler

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's admin listener")

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "node_dashboard.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE_WAIT = 30.0      # bound on any wait for the page to show a state
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "other")


def browser_missing():
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM is None:
        return ("chromium is not installed (deploy/install-deps.sh could not "
                "install Debian's chromium): the dashboard's browser tests are "
                "skipped")
    if shutil.which("node") is None:
        return "node is not installed: the dashboard's browser tests are skipped"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return ("npm package playwright-core missing (make deps runs npm ci in "
                "tests/integration): the dashboard's browser tests are skipped")
    return None


needs_browser = pytest.mark.skipif(browser_missing() is not None,
                                   reason=browser_missing() or "")


# ---------------------------------------------------------------------------
# the page over plain HTTP


def inline(body, tag):
    m = re.search(rb"<%s>(.*?)</%s>" % (tag, tag), body, re.S)
    assert m, "no <%s> element" % tag.decode()
    return m.group(1)


def csp_hash(data):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_page_at_root_and_dashboard_with_head(procs):
    """/ and /dashboard answer 200 text/html with the same page, no-cache,
    and a policy that allows this origin and exactly the page's inline
    style and script (their hashes recomputed here); HEAD gives the same
    head with no body; a query is ignored; other methods get 405."""
    g = gate_with_admin(procs, [procs.origin()])
    pages = []
    for path in ("/", "/dashboard", "/?refresh=1"):
        status, headers, body = admin_request(g.admin_port, path)
        assert status == 200, (path, status)
        assert headers["content-type"] == "text/html; charset=utf-8", headers
        assert headers["cache-control"] == "no-cache", headers
        assert int(headers["content-length"]) == len(body)
        pages.append((headers, body))
    headers, body = pages[0]
    assert all(b == body for _, b in pages)
    assert body.startswith(b"<!doctype html>")
    # the version is filled in, once
    assert b'<meta name="h2gate-version" content="0.1.0">' in body
    assert b"@H2G_VERSION@" not in body

    csp = [d.strip() for d in headers["content-security-policy"].split(";")]
    assert "default-src 'self'" in csp, csp
    assert "script-src %s" % csp_hash(inline(body, b"script")) in csp, csp
    assert "style-src %s" % csp_hash(inline(body, b"style")) in csp, csp
    assert "frame-ancestors 'none'" in csp, csp
    assert not any("unsafe" in d for d in csp), csp
    # one style and one script element, both hashed; nothing loaded from
    # anywhere: no src= at all, the only href= the inline icon
    assert body.count(b"<script") == 1 and body.count(b"<style") == 1
    assert not re.search(rb"\bsrc\s*=", body)
    assert re.findall(rb'\bhref\s*=\s*"([a-z]+):', body) == [b"data"]
    assert not re.search(rb"@import|url\(", inline(body, b"style"))

    for path in ("/", "/dashboard"):
        status, h, b = admin_request(g.admin_port, path, method="HEAD")
        assert status == 200 and b == b"", (path, status, b[:100])
        assert h["content-length"] == headers["content-length"], h
        assert h["content-type"] == "text/html; charset=utf-8", h
        status, _, _ = admin_request(g.admin_port, path, method="POST")
        assert status == 405
    status, _, _ = admin_request(g.admin_port, "/dashboard/x")
    assert status == 404


def test_stats_workers_one_object_per_worker(procs):
    """/stats "workers" has one object per worker (-n 3) with the worker's
    own counts: the requests add up to h2gate_requests_total, and a
    connection held open shows in exactly one worker."""
    o = procs.origin()
    g = gate_with_admin(procs, [o], workers=3)
    js = stats_json(g.admin_port)
    assert len(js["workers"]) == 3
    keys = {"connections_active", "streams_active", "requests_total",
            "client_bytes_in", "client_bytes_out", "tunnels_active",
            "websockets_active"}
    for w in js["workers"]:
        assert set(w) == keys and all(v == 0 for v in w.values()), w

    r = h2load("http://%s:%d/size/10" % (HOST, g.port), 60, 6, 2, threads=1)
    assert (r.done, r.codes["2xx"]) == (60, 60), r.output
    settle(g.admin_port)
    js = stats_json(g.admin_port)
    ws = js["workers"]
    assert sum(w["requests_total"] for w in ws) == 60
    assert sum(sum(v.values()) for v in js["h2gate_requests_total"].values()) == 60
    assert sum(w["client_bytes_in"] for w in ws) == \
        js["h2gate_client_bytes_total"]["in"]
    assert sum(w["client_bytes_out"] for w in ws) == \
        js["h2gate_client_bytes_total"]["out"]
    assert all(w["connections_active"] == 0 for w in ws), ws

    with H1Conn(g.port) as c:
        c.send(b"GET /size/1 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert c.read_response().status == 200
        ws = stats_json(g.admin_port)["workers"]
        assert sorted(w["connections_active"] for w in ws) == [0, 0, 1], ws
        assert sum(w["requests_total"] for w in ws) == 61


# ---------------------------------------------------------------------------
# the page in Chromium


class Dashboard:
    """node_dashboard.js (and the Chromium it starts) in a child process,
    stopped by its PID. cmd() sends one command and returns its answer."""

    def __init__(self, log_path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            ["node", str(DRIVER), CHROMIUM], cwd=str(HERE),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self.pid = self.proc.pid
        self._buf = b""
        first = self._answer(60.0)
        if not first.get("ok"):
            self.stop()
            pytest.fail("chromium did not start: %s" % first.get("error"))
        self.version = first["version"]

    def _answer(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                pytest.fail("no answer from node_dashboard.js in %gs:\n%s"
                            % (timeout, self.log()))
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail("node_dashboard.js exited:\n%s" % self.log())
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=60.0, **args):
        self.proc.stdin.write((json.dumps(dict(cmd=name, **args)) + "\n").encode())
        self.proc.stdin.flush()
        r = self._answer(timeout)
        assert r.get("ok"), "%s: %s" % (name, r.get("error"))
        return r

    def read(self):
        return self.cmd("read")["page"]

    def wait(self, cond, what, timeout=PAGE_WAIT):
        """Reads the page until cond(page) holds; that page."""
        deadline = time.monotonic() + timeout
        while True:
            page = self.read()
            if cond(page):
                return page
            if time.monotonic() > deadline:
                pytest.fail("the page never showed %s; it shows:\n%s"
                            % (what, json.dumps(page, indent=1)[:6000]))
            time.sleep(0.1)

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "close"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            # playwright closes its Chromium on SIGTERM
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log.close()


@pytest.fixture
def browser(tmp_path):
    made = []

    def make():
        d = Dashboard(tmp_path / ("node-dashboard-%d.log" % len(made)))
        made.append(d)
        return d
    yield make
    for d in made:
        d.stop()


def val(page, key):
    """The number element `key` shows (its data-value), or None: also
    before the page's first snapshot, when the element has no data-value
    yet (the reader then gives only its text, "—")."""
    v = page["values"].get(key, {}).get("value")
    return None if v in ("", None) else float(v)


def text(page, key):
    return page["values"][key]["text"]


def shows(**want):
    """A condition: every key shows that number."""
    return lambda p: all(val(p, k) == v for k, v in want.items())


def screenshot_dir():
    """build/ (or build-asan/...): the h2gate binary's directory."""
    return Path(H2GATE_BIN).resolve().parent


def tunnel(port, target):
    """One HTTP/1.1 CONNECT; the status h2gate answered (the head only:
    method="HEAD" reads no body; the connection is closed either way)."""
    with H1Conn(port) as c:
        c.send(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target))
        return c.read_response(method="HEAD").status


@needs_browser
def test_page_follows_traffic(procs, browser):
    """The page counts exactly what was sent (37 requests: +37; 30 2xx and
    7 4xx apart), and agrees with /stats; open connections, the backend
    table, the workers table and the CONNECT counts follow; latency shows
    once slow requests run; the page requests nothing but its own origin,
    and nothing in it failed (no console error, no policy violation)."""
    o = procs.origin()
    srv = TargetServer(echo_handler)
    refused = closed_port()
    try:
        g = gate_with_admin(
            procs, [o], workers=2,
            extra=["--connect-allow=127.0.0.1:%d,%d" % (srv.port, refused)])
        base = "http://%s:%d" % (HOST, g.admin_port)
        d = browser()
        opened = d.cmd("open", url=base + "/", width=1280, height=900)
        assert opened["status"] == 200
        p = d.wait(lambda p: p["state"] == "live" and val(p, "req-total") == 0
                   and val(p, "req-seen") == 0, "live with no request")
        assert text(p, "version") == "0.1.0"
        assert len(p["workers"]) == 2
        name = "%s:%d" % (HOST, o.port)
        assert [b["backend"] for b in p["backends"]] == [name]
        assert p["backends"][0]["state"]["text"] == "up"

        # slow requests first, while nothing else runs: every interval's
        # latency is at least the origin's delay (40 ms is in the bucket
        # above 32 ms, whatever the interpolation)
        slow = subprocess.Popen(
            ["h2load", "-n", "100", "-c", "2", "-m", "1",
             "http://%s:%d/delay/40" % (HOST, g.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            p = d.wait(lambda p: val(p, "p50") is not None, "a latency")
        finally:
            try:
                slow.wait(timeout=120)
            finally:
                if slow.poll() is None:
                    slow.kill()
                    slow.wait(timeout=10)
        assert 0.032 <= val(p, "p50") <= val(p, "p90") <= val(p, "p99"), p["values"]
        d.wait(shows(**{"req-total": 100, "req-seen": 100, "req-2xx": 100}),
               "the 100 slow requests")

        # 37 more: 30 answered 200 (h2c, over 3 connections), 7 answered
        # 404 by the origin (HTTP/1.1, one keep-alive connection)
        before = d.read()
        n0 = val(before, "req-total")
        r = h2load("http://%s:%d/size/100" % (HOST, g.port), 30, 3, 2, threads=1)
        assert (r.done, r.codes["2xx"]) == (30, 30), r.output
        with H1Conn(g.port) as c:
            for _ in range(7):
                c.send(b"GET /status/404 HTTP/1.1\r\nHost: a\r\n\r\n")
                assert c.read_response().status == 404
        p = d.wait(shows(**{"req-total": n0 + 37, "req-seen": n0 + 37,
                            "req-2xx": val(before, "req-2xx") + 30,
                            "req-4xx": val(before, "req-4xx") + 7, "conns": 0}),
                   "37 more requests")
        js = stats_json(g.admin_port)
        for c in CLASSES:
            assert val(p, "req-" + c) == sum(
                v[c] for v in js["h2gate_requests_total"].values()), c
        assert sum(float(w["requests"]["value"]) for w in p["workers"]) == n0 + 37
        p = d.wait(lambda p: p["backends"] and
                   float(p["backends"][0]["requests"]["value"]) == n0 + 37,
                   "the requests on the backend")
        assert p["backends"][0]["errors"]["value"] == "0"
        assert any(pt and pt[1] > 0 for pt in
                   d.cmd("eval", expr="h2gateDashboard.chartPoints()")["value"])

        # an open connection and its stream: an echo whose request body
        # is half sent stays in progress until the rest comes
        with H1Conn(g.port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n"
                   b"\r\n12345")
            p = d.wait(shows(**{"conns": 1, "conns-http/1.1": 1, "conns-h2c": 0,
                                "conns-h2": 0, "streams": 1}),
                       "one open connection and stream")
            assert sorted(w["conns"]["value"] for w in p["workers"]) == ["0", "1"]
            assert sorted(w["streams"]["value"] for w in p["workers"]) == ["0", "1"]
            c.send(b"67890")
            assert c.read_response().status == 200
        d.wait(shows(conns=0, streams=0, **{"req-total": n0 + 38}),
               "the connection closed")

        # CONNECT: one opened (and seen open), one denied by rule (403),
        # one refused by the target (502)
        with H1Conn(g.port) as c:
            t = b"127.0.0.1:%d" % srv.port
            c.send(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (t, t))
            assert c.read_response(method="HEAD").status == 200
            d.wait(shows(**{"tun-active": 1, "tunnels-active": 1,
                            "tun-opened": 1}), "one open tunnel")
        assert tunnel(g.port, b"127.0.0.1:%d" % free_port()) == 403
        assert tunnel(g.port, b"127.0.0.1:%d" % refused) == 502
        p = d.wait(shows(**{"tun-opened": 1, "tun-denied": 1, "tun-failed": 1,
                            "tun-active": 0}), "the tunnels")
        f = stats_json(g.admin_port).get("h2gate_tunnel_failures_total")
        if f is None:   # an h2gate without the causes: the page says so
            for k in ("tun-denied-403", "tun-denied-407", "tun-fail-refused"):
                assert text(p, k) == "—", k
        else:
            assert val(p, "tun-denied-403") == f["denied"] == 1
            assert val(p, "tun-denied-407") == f["auth"] == 0
            assert val(p, "tun-fail-refused") == f["refused"] == 1

        shots = screenshot_dir()
        d.cmd("screenshot", path=str(shots / "dashboard.png"),
              width=1280, height=900, scheme="light")
        d.cmd("screenshot", path=str(shots / "dashboard-phone-dark.png"),
              width=390, height=844, scheme="dark")
        assert (shots / "dashboard.png").stat().st_size > 10000

        urls = d.cmd("requests")["urls"]
        assert base + "/stats" in urls
        foreign = [u for u in urls if not u.startswith(base + "/")]
        assert foreign == [], foreign
        assert d.cmd("errors")["errors"] == []
    finally:
        srv.stop()


@needs_browser
def test_page_quantiles_interpolate_within_buckets(procs, browser):
    """The page's p50/p90/p99 come from the difference of two cumulative
    histograms, interpolated linearly inside the bucket (checked on the
    page's own function with made-up histograms)."""
    g = gate_with_admin(procs, [procs.origin()])
    d = browser()
    d.cmd("open", url="http://%s:%d/dashboard" % (HOST, g.admin_port))
    cases = [
        # before, after (cumulative, le 0.001 0.002 0.004 +Inf), q, expected
        ([0, 0, 0, 0], [0, 10, 10, 10], 0.5, 0.0015),
        ([0, 0, 0, 0], [0, 10, 10, 10], 0.9, 0.0019),
        ([5, 5, 5, 5], [5, 5, 9, 9], 0.5, 0.003),
        ([0, 0, 0, 0], [2, 2, 2, 4], 0.99, 0.004),  # +Inf: the last bound
        ([1, 2, 3, 4], [1, 2, 3, 4], 0.5, None),    # nothing in between
    ]
    for before, after, q, want in cases:
        def hist(c):
            return {"buckets": dict(zip(["0.001", "0.002", "0.004", "+Inf"], c)),
                    "sum": 0, "count": c[-1]}
        got = d.cmd("eval", expr="h2gateDashboard.quantile(%s, %s, %s)" % (
            json.dumps(hist(after)), json.dumps(hist(before)), q))["value"]
        if want is None:
            assert got is None
        else:
            assert got == pytest.approx(want), (before, after, q, got)
    # counters going backwards is a restart
    assert d.cmd("eval", expr="h2gateDashboard.restarted("
                 "{h2gate_requests_total: {h2: {'2xx': 5}}},"
                 "{h2gate_requests_total: {h2: {'2xx': 1}}})")["value"] is True
    assert d.cmd("eval", expr="h2gateDashboard.restarted("
                 "{h2gate_requests_total: {h2: {'2xx': 5}}},"
                 "{h2gate_requests_total: {h2: {'2xx': 6}}})")["value"] is False


@needs_browser
def test_page_survives_a_restart(procs, browser):
    """A reload shows as generation 2. h2gate stopped (by its PID): the
    page says it is unreachable and retries; h2gate started again on the same admin port: the page is live
    again, says h2gate restarted, shows the new process's numbers, and
    its own count re-based (5 before + 3 after = 8)."""
    o = procs.origin()
    aport = free_port()
    admin = ["--admin=%s,%d" % (HOST, aport)]
    g = procs.gate([o], extra=admin, tls=False)
    g.wait_port(aport)
    d = browser()
    d.cmd("open", url="http://%s:%d/" % (HOST, aport))
    d.wait(shows(**{"req-total": 0}), "live with no request")
    for _ in range(5):
        with H1Conn(g.port) as c:
            c.send(b"GET /size/1 HTTP/1.1\r\nHost: a\r\n\r\n")
            assert c.read_response().status == 200
    d.wait(shows(**{"req-total": 5, "req-seen": 5}), "5 requests")
    p = d.read()
    assert val(p, "generation") == 1 and text(p, "last-reload").startswith("none")
    g.signal(signal.SIGHUP)
    p = d.wait(shows(generation=2, reloads=1), "generation 2 after a reload")
    assert not text(p, "last-reload").startswith("none"), text(p, "last-reload")

    g.stop()
    p = d.wait(lambda p: p["state"] == "unreachable", "the unreachable state")
    assert "unreachable" in p["banner"] and "retrying" in p["banner"], p["banner"]
    assert text(p, "status") == "unreachable"

    g2 = procs.gate([o], extra=admin, tls=False)
    g2.wait_port(aport)
    p = d.wait(lambda p: p["state"] == "live" and val(p, "req-total") == 0,
               "live again")
    assert "restarted" in p["banner"], p["banner"]
    assert val(p, "req-seen") == 5
    for _ in range(3):
        with H1Conn(g2.port) as c:
            c.send(b"GET /size/1 HTTP/1.1\r\nHost: a\r\n\r\n")
            assert c.read_response().status == 200
    d.wait(shows(**{"req-total": 3, "req-seen": 8}), "3 more requests")
    # the browser logs each refused poll; nothing else went wrong
    errors = d.cmd("errors")["errors"]
    assert [e for e in errors
            if not e.startswith("console: Failed to load resource")] == [], errors


@needs_browser
def test_page_reads_the_keys_h2gate_adds_next(procs, browser):
    """Keys this h2gate does not have yet, fed to the page in place of
    its /stats (the browser answers the poll): the page takes the version
    from h2gate_build_info, uptime from process_start_time_seconds, client
    bytes from h2gate_client_bytes_total, 403 and 407 and each failure cause
    apart from h2gate_tunnel_failures_total, and per-backend connections and
    latency; before them (the other tests) it shows a dash."""
    o = procs.origin()
    g = gate_with_admin(procs, [o])
    d = browser()
    d.cmd("open", url="http://%s:%d/" % (HOST, g.admin_port))
    d.wait(lambda p: p["state"] == "live", "live")
    name = "%s:%d" % (HOST, o.port)
    js = stats_json(g.admin_port)
    les = list(js["h2gate_request_duration_seconds"]["buckets"])
    js.update({
        "h2gate_build_info": {"9.9.9": 1},
        "process_start_time_seconds": int(time.time()) - 3700,
        "process_resident_memory_bytes": 50 * 1024 * 1024,
        "process_cpu_seconds_total": 10.0,
        "process_open_fds": 42,
        "h2gate_client_bytes_total": {"in": 1000, "out": 5000},
        "h2gate_tunnel_failures_total": {"dns": 1, "refused": 2, "timeout": 3,
                                         "unreachable": 4, "denied": 5,
                                         "auth": 6, "bad_request": 7,
                                         "limit": 8},
        "h2gate_backend_connections_active": {name: 3},
        "h2gate_backend_request_duration_seconds": {name: {
            "buckets": {le: 0 for le in les}, "sum": 0.0, "count": 0}},
    })
    # every poll: 10 more backend requests, all in the (2 ms, 4 ms] bucket
    hist = ["h2gate_backend_request_duration_seconds", name]
    grow = [[hist + ["buckets", le], 10] for le in les if float(le) >= 0.004]
    grow += [[hist + ["count"], 10], [hist + ["sum"], 0.03],
             [["h2gate_requests_total", "h2c", "2xx"], 10],
             [["h2gate_backend_requests_total", name, "2xx"], 10],
             [["h2gate_client_bytes_total", "in"], 2000],
             [["h2gate_client_bytes_total", "out"], 8000],
             [["process_cpu_seconds_total"], 0.25]]
    d.cmd("fake", base=js, grow=grow)

    # two made-up polls in a row: the CPU share is a difference of them
    p = d.wait(lambda p: p["backends"] and p["backends"][0]["p50"]["text"] == "3.0 ms"
               and text(p, "cpu").endswith("% of one core"),
               "the backend's latency and the CPU share")
    b = p["backends"][0]
    assert b["backend"] == name and b["conns"]["value"] == "3", b
    assert b["p99"]["text"] == "4.0 ms", b
    assert text(p, "version") == "9.9.9"
    assert text(p, "uptime") == "1h 1m"
    assert val(p, "fds") == 42
    assert text(p, "rss") == "50.0 MiB"
    assert val(p, "backend-conns") == 3
    for k, v in (("tun-denied-403", 5), ("tun-denied-407", 6), ("tun-fail-dns", 1),
                 ("tun-fail-refused", 2), ("tun-fail-timeout", 3),
                 ("tun-fail-unreachable", 4), ("tun-fail-bad_request", 7),
                 ("tun-fail-limit", 8)):
        assert val(p, k) == v, k
    # client bytes from the new key (the old one does not move here)
    assert val(p, "bytes-in") > 0 and val(p, "bytes-out") > 0, p["values"]
    assert val(p, "rps-2xx") > 0
    assert d.cmd("errors")["errors"] == []
