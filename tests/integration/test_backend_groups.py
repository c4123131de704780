"""Backend groups (issue 12): every address a backend name resolves to is a
member, names are resolved through c-ares (--dns-server points it at the
test's own DNS server, tests/integration/dnsserver.py), and the group's
members share the traffic."""
import collections
import http.client
import re
import select
import shutil
import signal
import socket
import threading
import time

import pytest

from conftest import free_port, run_gate
from dnsserver import DNSServer
from obs_lib import admin_request, gate_with_admin, scrape, stats_json
from testlib import HOST, curl, h2load_check

ADDRS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


@pytest.fixture
def dns():
    d = DNSServer(ttl=1)
    yield d
    d.close()


def members(procs, n, **kw):
    """n origins on 127.0.0.1..n, one port: the members of one name."""
    first = procs.origin(addr=ADDRS[0], **kw)
    return [first] + [procs.origin(addr=a, port=first.port, **kw) for a in ADDRS[1:n]]


def whoami(g, n, path="/whoami", extra=()):
    """Who served each of n requests over one kept-alive HTTP/1.1
    connection, as a Counter of "addr:port". (curl 7.88 cannot reuse a
    prior-knowledge h2c connection.)"""
    urls = ["http://%s:%d%s" % (HOST, g.port, path)] * n
    r = curl(["--http1.1", "-s", *extra, *urls])
    assert r.returncode == 0, r.stderr
    return collections.Counter(r.stdout.decode().split())


def test_every_address_of_a_name_is_a_member(procs, dns):
    o = members(procs, 2)
    dns.set("svc.test", ADDRS[:2])
    g = procs.gate(["svc.test,%d" % o[0].port], tls=False,
                   extra=["--dns-server=" + dns.addr])
    seen = whoami(g, 20)
    assert seen == {"127.0.0.1:%d" % o[0].port: 10, "127.0.0.2:%d" % o[0].port: 10}


def test_ip_literal_is_one_member(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    assert whoami(g, 4) == {"%s:%d" % (HOST, o.port): 4}


def test_members_have_their_own_metrics_label(procs, dns):
    o = members(procs, 2)
    dns.set("svc.test", ADDRS[:2])
    g = gate_with_admin(procs, ["svc.test,%d" % o[0].port], tls=False,
                        extra=["--dns-server=" + dns.addr])
    whoami(g, 4)
    snap = scrape(g.admin_port)
    for a in ADDRS[:2]:
        label = "svc.test:%d@%s" % (o[0].port, a)
        assert snap.get("h2gate_backend_requests_total", backend=label) == 2, snap.text


def test_unknown_name_fails_the_start_with_the_reason(dns):
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "nope.test,80",
                  "--dns-server=" + dns.addr, "--dns-lookup-timeout=2s"])
    assert r.returncode != 0
    assert "backend nope.test,80: cannot resolve nope.test" in r.stderr, r.stderr


def test_silent_dns_server_fails_within_the_lookup_timeout(dns):
    dns.mode = "drop"
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "svc.test,80",
                  "--dns-server=" + dns.addr, "--dns-lookup-timeout=1s"])
    assert r.returncode != 0
    assert "cannot resolve svc.test: no answer within 1s" in r.stderr, r.stderr


def test_bad_dns_server_option_is_refused():
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "127.0.0.1,80",
                  "--dns-server=not an address"])
    assert r.returncode != 0
    assert "--dns-server 'not an address'" in r.stderr, r.stderr


# ---- load balancing -------------------------------------------------------

def requests_by_member(g, port, addrs):
    snap = scrape(g.admin_port)
    return [int(snap.get("h2gate_backend_requests_total", default=0.0,
                         backend="%s:%d" % (a, port))) for a in addrs]


def test_weights_split_the_traffic(procs):
    o = members(procs, 2)
    port = o[0].port
    g = gate_with_admin(procs, ["%s,%d;;weight=3" % (ADDRS[0], port),
                                "%s,%d;;weight=1" % (ADDRS[1], port)], tls=False)
    h2load_check("http://%s:%d/" % (HOST, g.port), n=10000, c=4, m=10)
    a, b = requests_by_member(g, port, ADDRS[:2])
    assert a + b == 10000
    assert abs(a - 7500) <= 750 and abs(b - 2500) <= 250, (a, b)


def test_bad_weight_is_refused():
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "127.0.0.1,80;;weight=0"])
    assert r.returncode != 0
    assert "invalid weight '0' (expected 1-256)" in r.stderr, r.stderr


def test_group_members_must_agree_on_the_policy():
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "127.0.0.1,80;/a/;affinity=ip",
                  "-b", "127.0.0.2,80;/a/"])
    assert r.returncode != 0
    assert "pattern '/a/' is shared with a backend of other lb= or affinity=" in r.stderr, \
        r.stderr


def get_from(g, src, path="/whoami", headers=None):
    """GET over a new connection from source address src: (status,
    headers, body)."""
    c = http.client.HTTPConnection(HOST, g.port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read().decode()
    finally:
        c.close()


CLIENTS = ["127.0.1.%d" % i for i in range(1, 101)]


def affinity_map(procs, port, n):
    """Which member each of CLIENTS lands on with affinity=ip over n
    members (a gate of its own)."""
    specs = ["%s,%d;;affinity=ip" % (a, port) for a in ADDRS[:n]]
    g = procs.gate(specs, tls=False)
    out = {}
    for src in CLIENTS:
        seen = {get_from(g, src)[2].strip() for _ in range(2)}
        assert len(seen) == 1, (src, seen)   # the same client, the same member
        out[src] = seen.pop()
    g.stop()
    return out


def test_affinity_ip_is_stable_and_moves_about_one_in_n(procs):
    o = members(procs, 3)
    two = affinity_map(procs, o[0].port, 2)
    three = affinity_map(procs, o[0].port, 3)
    assert len(set(two.values())) == 2, two   # both members get clients
    moved = [c for c in CLIENTS if two[c] != three[c]]
    new = "%s:%d" % (ADDRS[2], o[0].port)
    # Consistent hashing: only clients of the new member move, about 1/3.
    assert all(three[c] == new for c in moved), moved
    assert 15 <= len(moved) <= 55, len(moved)


def cookie_of(headers, name):
    for k, v in headers:
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v
    return None


def test_affinity_cookie_sticks(procs):
    o = members(procs, 3)
    specs = ["%s,%d;;affinity=cookie;affinity-cookie-name=lb;affinity-cookie-path=/" %
             (a, o[0].port) for a in ADDRS]
    g = procs.gate(specs, tls=False)
    status, headers, first = get_from(g, HOST)
    assert status == 200
    sc = cookie_of(headers, "lb")
    assert re.fullmatch(r"lb=[0-9a-f]{8}; Path=/", sc), sc
    value = sc.split(";")[0]
    for _ in range(12):
        status, headers, body = get_from(g, HOST, headers={"Cookie": "a=b; " + value})
        assert (status, body) == (200, first)
        assert cookie_of(headers, "lb") is None   # it has the cookie: none again
    # A cookie naming no member: a pick, and a fresh cookie.
    status, headers, _ = get_from(g, HOST, headers={"Cookie": "lb=00000000"})
    assert status == 200 and cookie_of(headers, "lb")


def test_affinity_cookie_needs_a_name():
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "127.0.0.1,80;;affinity=cookie"])
    assert r.returncode != 0
    assert "affinity=cookie needs affinity-cookie-name=NAME" in r.stderr, r.stderr


class HoldServer:
    """A member that takes requests and never answers; counts them."""

    def __init__(self, addr, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.conns = []
        self.requests = 0
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                c = None
            if c:
                c.settimeout(5)
                self.conns.append(c)
                try:
                    if c.recv(4096):
                        self.requests += 1
                except OSError:
                    pass

    def close(self):
        self._stop = True
        self._t.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("lb,held", [("least-outstanding", 1), ("peak-ewma", 1),
                                     ("round-robin", 10)])
def test_least_outstanding_avoids_the_stuck_member(procs, lb, held):
    o = procs.origin(addr=ADDRS[1])
    stuck = HoldServer(ADDRS[0], o.port)
    try:
        g = procs.gate(["%s,%d;;lb=%s" % (a, o.port, lb) for a in ADDRS[:2]], tls=False)
        pending = []
        answered = 0
        for _ in range(20):
            before = stuck.requests
            c = http.client.HTTPConnection(HOST, g.port, timeout=10)
            c.request("GET", "/whoami")
            deadline = time.monotonic() + 10
            # Wait until it was either answered or taken by the stuck member.
            while time.monotonic() < deadline:
                if select.select([c.sock], [], [], 0.05)[0]:
                    r = c.getresponse()
                    assert r.status == 200
                    r.read()
                    answered += 1
                    c.close()
                    break
                if stuck.requests > before:
                    pending.append(c)
                    break
            else:
                pytest.fail("request neither answered nor held")
        assert (stuck.requests, answered) == (held, 20 - held)
        for c in pending:
            c.close()
    finally:
        stuck.close()


@pytest.mark.parametrize("lb", ["peak-ewma", "round-robin"])
def test_peak_ewma_keeps_requests_off_the_slow_member(procs, lb):
    """One member of three holds every answer 50 ms. With lb=peak-ewma it
    gets requests before anything is known (every member is probed), then,
    once it has answered, next to none while 8 requests are in flight
    (round-robin: its third, the contrast). least-outstanding's share
    depends on the load (about 1% at 32 in flight): see bench/lb."""
    fast = procs.origin(addr=ADDRS[0])
    procs.origin(addr=ADDRS[1], port=fast.port, delay_all=50)
    procs.origin(addr=ADDRS[2], port=fast.port)
    port = fast.port
    g = gate_with_admin(procs, ["%s,%d;;lb=%s" % (a, port, lb) for a in ADDRS], tls=False)
    url = "http://%s:%d/whoami" % (HOST, g.port)
    h2load_check(url, n=120, c=4, m=2)
    a0, b0, c0 = requests_by_member(g, port, ADDRS)
    assert a0 + b0 + c0 == 120
    assert b0 >= 1, (a0, b0, c0)  # probed
    n = 3000
    h2load_check(url, n=n, c=4, m=2)
    a, b, c = (x - y for x, y in zip(requests_by_member(g, port, ADDRS), (a0, b0, c0)))
    assert a + b + c == n
    if lb == "peak-ewma":
        # Under 1%: a probe when its estimate is forgotten (10 s without
        # an answer), and none otherwise; the fast two share the rest.
        assert b <= n // 100, (a, b, c)
        assert a > n // 3 and c > n // 3, (a, b, c)
    else:
        assert (a, b, c) == (n // 3, n // 3, n // 3)


# ---- health ----------------------------------------------------------------

def wait_until(cond, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for " + what)


def up_of(g, label):
    return scrape(g.admin_port).get("h2gate_backend_up", backend=label)


@pytest.mark.parametrize("lb", ["round-robin", "peak-ewma"])
def test_passive_fall_then_rise_by_probes(procs, tmp_path, lb):
    o = members(procs, 2)
    port = o[0].port
    dead = "%s:%d" % (ADDRS[2], port)   # nothing listens there yet
    g = gate_with_admin(procs, ["%s,%d;;fall=2;rise=2;lb=%s" % (a, port, lb)
                                for a in ADDRS], tls=False)
    url = "http://%s:%d/whoami" % (HOST, g.port)
    # Connects to the dead member fail and are retried on the next one:
    # no request fails, and after 2 of them the member is down.
    h2load_check(url, n=30, c=1, m=1)
    wait_until(lambda: up_of(g, dead) == 0, "the dead member to go down")
    snap = scrape(g.admin_port)
    failures = snap.get("h2gate_backend_connect_failures_total", backend=dead)
    assert failures == 2, snap.text
    h2load_check(url, n=1000, c=4, m=10)
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_backend_connect_failures_total", backend=dead) == failures
    assert snap.get("h2gate_backend_requests_total", default=0.0, backend=dead) == 0
    assert "backend %s: down after 2 failed" % dead in g.log()
    # It comes back: TCP probes (1s, then 2s apart) need 2 successes.
    procs.origin(addr=ADDRS[2], port=port)
    wait_until(lambda: up_of(g, dead) == 1, "the member to come back")
    assert "backend %s: up after 2 successful checks" % dead in g.log()
    assert dead in whoami(g, 9)


def test_http_probe_finds_a_member_answering_503(procs, tmp_path):
    down = tmp_path / "down"
    down.write_text("")
    o = procs.origin(addr=ADDRS[0], down_file=down)
    others = [procs.origin(addr=a, port=o.port) for a in ADDRS[1:]]
    assert len(others) == 2
    sick = "%s:%d" % (ADDRS[0], o.port)
    g = gate_with_admin(procs, ["%s,%d;;health=/health;fall=2;rise=1" % (a, o.port)
                                for a in ADDRS], tls=False,
                        extra=["--backend-health-interval=100ms"])
    wait_until(lambda: up_of(g, sick) == 0, "the 503 member to go down")
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_backend_health_check_failures_total", backend=sick) >= 2
    assert snap.get("h2gate_backend_health_checks_total",
                    backend="%s:%d" % (ADDRS[1], o.port)) >= 1
    seen = whoami(g, 30)
    assert sick not in seen and sum(seen.values()) == 30, seen
    assert admin_request(g.admin_port, "/readyz")[0] == 200
    down.unlink()
    wait_until(lambda: up_of(g, sick) == 1, "the member to come back")
    assert sick in whoami(g, 9)


@pytest.mark.parametrize("closed", [False, True])
def test_every_member_down_fails_open_or_closed(procs, tmp_path, closed):
    down = tmp_path / "down"
    down.write_text("")
    o = members(procs, 2, down_file=down)
    g = gate_with_admin(procs, ["%s,%d;;health=/health;fall=1" % (a, o[0].port)
                                for a in ADDRS[:2]], tls=False,
                        extra=["--backend-health-interval=100ms"] +
                        (["--backend-fail-closed"] if closed else []))
    wait_until(lambda: all(up_of(g, "%s:%d" % (a, o[0].port)) == 0 for a in ADDRS[:2]),
               "both members to go down")
    status, body = admin_request(g.admin_port, "/readyz")[0::2]
    assert status == 503 and b"every member of a backend group is down" in body
    r = curl(["-s", "-o", "/dev/null", "-w", "%{http_code}",
              "http://%s:%d/whoami" % (HOST, g.port)])
    assert r.stdout.decode() == ("503" if closed else "200")


# ---- ;dns: names re-resolved while running --------------------------------

def test_dns_members_follow_the_answer(procs, dns):
    o = members(procs, 3)
    port = o[0].port
    who = ["%s:%d" % (a, port) for a in ADDRS]
    dns.set("svc.test", ADDRS[:2])
    g = gate_with_admin(procs, ["svc.test,%d;;dns" % port], tls=False,
                        extra=["--dns-server=" + dns.addr])
    assert set(whoami(g, 10)) == set(who[:2])
    dns.set("svc.test", ADDRS)
    wait_until(lambda: set(whoami(g, 9)) == set(who), "the third address to get traffic")
    assert "backend name svc.test: 3 addresses now (were 2)" in g.log()
    dns.set("svc.test", ADDRS[:2])
    wait_until(lambda: set(whoami(g, 9)) == set(who[:2]), "the third address to go")
    # A failing DNS server: the last answer stays, logged once.
    dns.mode = "servfail"
    before = dns.count("svc.test")
    wait_until(lambda: dns.count("svc.test") >= before + 4, "lookups to fail twice")
    assert set(whoami(g, 10)) == set(who[:2])
    assert g.log().count("backend name svc.test: lookup failed") == 1, g.log()
    dns.mode = "answer"
    wait_until(lambda: "backend name svc.test: resolves again" in g.log(), "recovery")
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_config_reloads_total") == 0   # rebuilds are not reloads


def test_dns_answer_of_many_addresses_all_members(procs, dns):
    """A ;dns name answering 28 addresses (a headless Service with many
    pods): every one is a member, at start and after a change (the cap is
    64, as for names resolved at start)."""
    o = procs.origin()
    many = ["127.0.1.%d" % i for i in range(1, 29)]
    dns.set("many.test", many[:20])
    g = gate_with_admin(procs, ["many.test,%d;;dns" % o.port], tls=False,
                        extra=["--dns-server=" + dns.addr])

    def labels():
        return set(scrape(g.admin_port).label_values("h2gate_backend_up", "backend"))
    assert labels() == {"many.test:%d@%s" % (o.port, a) for a in many[:20]}
    dns.set("many.test", many)
    wait_until(lambda: {"many.test:%d@%s" % (o.port, a) for a in many} <= labels(),
               "all 28 addresses to be members")


def test_dns_name_without_address_at_start_waits(procs, dns):
    o = procs.origin()
    g = gate_with_admin(procs, ["later.test,%d;;dns" % o.port], tls=False,
                        extra=["--dns-server=" + dns.addr, "--dns-lookup-timeout=1s"])
    assert "backend later.test,%d: cannot resolve later.test" % o.port in g.log()
    r = curl(["-s", "-o", "/dev/null", "-w", "%{http_code}",
              "http://%s:%d/whoami" % (HOST, g.port)])
    assert r.stdout.decode() == "503"
    assert admin_request(g.admin_port, "/readyz")[0] == 503
    dns.set("later.test", [HOST])
    wait_until(lambda: admin_request(g.admin_port, "/readyz")[0] == 200, "readiness")
    assert whoami(g, 3) == {"%s:%d" % (HOST, o.port): 3}


def test_dns_rebuild_reads_no_file_again(procs, dns, tmp_path):
    """A ;dns change rebuilds the running configuration from what it has
    already read: a certificate half-rewritten on disk at that moment can
    neither stop the change nor be picked up, and the error page stays the
    one read at start. A SIGHUP reads the files again (and refuses the
    broken certificate)."""
    o = members(procs, 2)
    port = o[0].port
    who = ["%s:%d" % (a, port) for a in ADDRS[:2]]
    key, cert, page = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "404.html"
    shutil.copy(procs.tls_files[0], key)
    shutil.copy(procs.tls_files[1], cert)
    page.write_bytes(b"first\n")
    tport = free_port()
    dns.set("svc.test", ADDRS[:1])
    g = procs.gate(["svc.test,%d;/whoami;dns" % port], tls=False,
                   extra=["--dns-server=" + dns.addr, "-f", "%s,%d" % (HOST, tport),
                          "--error-page=404=%s" % page, str(key), str(cert)])
    g.wait_port(tport)
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nhalf")
    page.write_bytes(b"second\n")
    dns.set("svc.test", ADDRS[:2])
    wait_until(lambda: set(whoami(g, 8)) == set(who), "the second address to get traffic")
    assert "not applied" not in g.log(), g.log()
    r = curl(["-sk", "https://%s:%d/whoami" % (HOST, tport)])
    assert r.returncode == 0 and r.stdout.decode().strip() in who, r.stderr
    r = curl(["-s", "http://%s:%d/nothing-here" % (HOST, g.port)])
    assert r.stdout == b"first\n"
    g.signal(signal.SIGHUP)
    wait_until(lambda: "reload failed" in g.log(), "the reload to refuse the certificate")
    assert str(cert) in g.log().split("reload failed", 1)[1].splitlines()[0], g.log()
    assert set(whoami(g, 8)) == set(who)


def test_backendconfig_api_backends_follow_dns(procs, dns):
    """A ;dns name set by the backendconfig API (--admin-api) follows its
    answers: each rebuild starts again from the API's text, so the command
    line's backend never comes back."""
    o = members(procs, 2)
    port = o[0].port
    who = ["%s:%d" % (a, port) for a in ADDRS[:2]]
    first = procs.origin()
    dns.set("svc.test", ADDRS[:1])
    g = gate_with_admin(procs, [first.backend("/whoami")], tls=False,
                        extra=["--admin-api", "--dns-server=" + dns.addr])
    assert set(whoami(g, 4)) == {"%s:%d" % (HOST, first.port)}
    status, _, body = admin_request(g.admin_port, "/api/v1beta1/backendconfig", "PUT",
                                    body="backend=svc.test,%d;/whoami;dns\n" % port)
    assert status == 200, body
    wait_until(lambda: set(whoami(g, 4)) == set(who[:1]), "the API's backend to serve")
    dns.set("svc.test", ADDRS[:2])
    wait_until(lambda: set(whoami(g, 8)) == set(who), "the second address to get traffic")
    assert set(whoami(g, 8)) == set(who)


# ---- registry slots: removed members are reclaimed --------------------------
# H2GATE_TEST_MAX_BACKEND_SLOTS (read once at start, for tests only; not an
# option) lowers the backend registry's cap of 16,384 slots, so a test can
# cycle through more addresses than there are slots.

def pod_label(port, addr):
    return "pods.test:%d@%s" % (port, addr)


def backend_labels(g):
    return set(scrape(g.admin_port).label_values("h2gate_backend_up", "backend"))


def test_dns_members_cycle_through_more_addresses_than_slots(procs, dns, monkeypatch):
    """An autoscaler cycling pod addresses: a ;dns name moves through 8
    addresses one at a time with 2 registry slots. Each removed member's
    slot is freed and reused: h2gate follows every answer, /metrics lists
    only the member in use, and a member on a reused slot counts its
    requests and connects from 0."""
    monkeypatch.setenv("H2GATE_TEST_MAX_BACKEND_SLOTS", "2")
    addrs = ["127.0.0.%d" % i for i in range(1, 9)]
    port = procs.origin(addr=addrs[0]).port
    for a in addrs[1:]:
        procs.origin(addr=a, port=port)
    dns.set("pods.test", addrs[:1])
    g = gate_with_admin(procs, ["pods.test,%d;;dns" % port], tls=False,
                        extra=["--dns-server=" + dns.addr])
    for k, a in enumerate(addrs):
        if k:
            dns.set("pods.test", [a])
        wait_until(lambda: backend_labels(g) == {pod_label(port, a)},
                   "only %s to be listed" % a)
        snap = scrape(g.admin_port)
        assert snap.get("h2gate_backend_requests_total", default=0,
                        backend=pod_label(port, a)) == 0
        n = k + 2
        assert whoami(g, n) == {"%s:%d" % (a, port): n}
        snap = scrape(g.admin_port)
        assert snap.get("h2gate_backend_requests_total", backend=pod_label(port, a)) == n
        assert snap.get("h2gate_backend_connects_total", backend=pod_label(port, a)) == 1
        assert set(snap.label_values("h2gate_backend_requests_total", "backend")) == \
            {pod_label(port, a)}
    stats = stats_json(g.admin_port)
    assert set(stats["h2gate_backend_requests_total"]) == {pod_label(port, addrs[-1])}
    log = g.log()
    assert "not applied" not in log, log
    assert log.count("; its slot ") == len(addrs) - 1, log


def test_busy_connection_keeps_a_removed_members_slot(procs, dns, monkeypatch):
    """A slow request in flight to a member the answer dropped completes
    with 200; until it ends, the member stays listed and its slot stays
    taken, so with 2 slots a third address waits for it, then comes in."""
    monkeypatch.setenv("H2GATE_TEST_MAX_BACKEND_SLOTS", "2")
    o = members(procs, 3)
    port = o[0].port
    dns.set("pods.test", ADDRS[:1])
    g = gate_with_admin(procs, ["pods.test,%d;;dns" % port], tls=False,
                        extra=["--dns-server=" + dns.addr])
    # The label format is the ;dns name's (pod_label), on 127.0.0.1-3.
    first, second, third = (pod_label(port, a) for a in ADDRS)
    out = {}

    def slow():
        r = curl(["-s", "-w", "\n%{http_code}", "http://%s:%d/delay/8000" % (HOST, g.port)])
        out["r"] = r
    t = threading.Thread(target=slow)
    t.start()
    try:
        wait_until(lambda: scrape(g.admin_port).get("h2gate_backend_connections_active",
                                                    default=0, backend=first) == 1,
                   "the slow request to reach the first member")
        dns.set("pods.test", ADDRS[1:2])
        wait_until(lambda: whoami(g, 1) == {"%s:%d" % (ADDRS[1], port): 1},
                   "the second member to take the requests")
        # Still in flight: its member keeps its slot and its series.
        assert t.is_alive()
        assert backend_labels(g) == {first, second}
        dns.set("pods.test", ADDRS[2:3])
        wait_until(lambda: "backend slots are in use" in g.log(), "the third address to wait")
        assert t.is_alive()
        assert whoami(g, 1) == {"%s:%d" % (ADDRS[1], port): 1}
    finally:
        t.join()
    r = out["r"]
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "ok\n\n200"
    wait_until(lambda: whoami(g, 1) == {"%s:%d" % (ADDRS[2], port): 1},
               "the third address once the slow request freed its slot")
    wait_until(lambda: backend_labels(g) == {third}, "only the third member to be listed")
    assert "backend %s: removed; its slot" % first in g.log()


def test_websocket_keeps_a_removed_members_slot(procs, dns):
    """A WebSocket to a member the answer dropped keeps the member's slot
    (its exchange keeps the generation's members; the tunnel that adopted
    the backend socket holds the slot too) until it closes. The pass of the reclaim timer that frees a later member's slot
    also sees this one, retired earlier, and leaves it."""
    from ws_lib import OP_TEXT, WSClient, ws_backend
    srv = ws_backend()
    try:
        dns.set("ws.test", ["127.0.0.1"])
        g = gate_with_admin(procs, ["ws.test,%d;;dns" % srv.port], tls=False,
                            extra=["--dns-server=" + dns.addr])
        first = "ws.test:%d@127.0.0.1" % srv.port
        second = "ws.test:%d@127.0.0.2" % srv.port
        c = WSClient(g.port)
        try:
            c.echo(OP_TEXT, b"before")
            dns.set("ws.test", ["127.0.0.2"])
            wait_until(lambda: second in backend_labels(g), "the second member")
            dns.set("ws.test", ["127.0.0.3"])
            wait_until(lambda: "backend %s: removed" % second in g.log(),
                       "the second member's slot to be freed")
            assert first in backend_labels(g)
            c.echo(OP_TEXT, b"after")
        finally:
            c.close()
        wait_until(lambda: "backend %s: removed" % first in g.log(),
                   "the first member's slot once the WebSocket closed")
        assert backend_labels(g) == {"ws.test:%d@127.0.0.3" % srv.port}
    finally:
        srv.stop()


def test_client_connection_from_before_does_not_hold_a_removed_member(procs, dns):
    """A client connection opened before the change pins its generation for
    its frontend only: the removed member leaves /metrics while the
    connection stays open, and its next request goes to the new member."""
    o = members(procs, 2)
    port = o[0].port
    dns.set("pods.test", ADDRS[:1])
    g = gate_with_admin(procs, ["pods.test,%d;;dns" % port], tls=False,
                        extra=["--dns-server=" + dns.addr])
    c = http.client.HTTPConnection(HOST, g.port, timeout=20)
    try:
        for want in ADDRS[:2]:
            if want != ADDRS[0]:
                dns.set("pods.test", [want])
                wait_until(lambda: backend_labels(g) == {pod_label(port, want)},
                           "only %s to be listed" % want)
            c.request("GET", "/whoami")
            r = c.getresponse()
            assert (r.status, r.read()) == (200, ("%s:%d\n" % (want, port)).encode())
        assert scrape(g.admin_port).get("h2gate_config_generations_alive") == 2
    finally:
        c.close()


def test_reload_moves_dns_watch_and_connect_to_the_new_dns_server(procs, dns, tmp_path):
    """--dns-server changed in the --conf file and SIGHUP: the ;dns watch
    (main thread) and the workers' CONNECT lookups use the new server from
    then on. Two DNS servers answer the same names differently."""
    other = DNSServer(ttl=1)
    try:
        o = members(procs, 3)
        port = o[0].port
        dns.set("svc.test", ADDRS[:1])
        dns.set("conn.test", ADDRS[:1])
        other.set("svc.test", ADDRS[1:2])
        other.set("conn.test", ADDRS[1:2])
        conf = tmp_path / "h2gate.conf"
        conf.write_text("dns-server=%s\n" % dns.addr)
        g = gate_with_admin(procs, ["svc.test,%d;;dns" % port], tls=False, workers=2,
                            extra=["--conf=%s" % conf,
                                   "--connect-allow=127.0.0.0/8:%d" % port])

        def via_connect():
            r = curl(["-s", "-p", "-x", "http://%s:%d" % (HOST, g.port),
                      "http://conn.test:%d/whoami" % port])
            assert r.returncode == 0, r.stderr
            return r.stdout.decode().strip()
        assert whoami(g, 2) == {"%s:%d" % (ADDRS[0], port): 2}
        assert via_connect() == "%s:%d" % (ADDRS[0], port)
        conf.write_text("dns-server=%s\n" % other.addr)
        g.signal(signal.SIGHUP)
        wait_until(lambda: scrape(g.admin_port).get("h2gate_config_generation") >= 2,
                   "the reload")
        assert whoami(g, 2) == {"%s:%d" % (ADDRS[1], port): 2}
        # Both workers (the cache of each was filled by the first server).
        for _ in range(4):
            assert via_connect() == "%s:%d" % (ADDRS[1], port)
        # The watch asks the new server: its change is followed, the old
        # server's answer (still 127.0.0.1) is not.
        asked = other.count("svc.test")
        wait_until(lambda: other.count("svc.test") > asked, "a lookup on the new server")
        other.set("svc.test", ADDRS[2:3])
        wait_until(lambda: whoami(g, 2) == {"%s:%d" % (ADDRS[2], port): 2},
                   "the new server's answer to be followed")
        before = dns.count("svc.test")
        wait_until(lambda: other.count("svc.test") >= asked + 3, "more lookups")
        assert dns.count("svc.test") == before
    finally:
        other.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from h2backend_lib import make_ca, make_cert
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "test-ca")
    return {"ca": ca, "srv": make_cert(d, ca)}


@pytest.mark.parametrize("kind", ["h2c", "h2-tls", "h1-tls"])
def test_http_probe_speaks_the_members_protocol(procs, backends, pki, kind):
    """;health= checks go out as the member's requests do: HTTP/2 for
    proto=h2, TLS (verified with --cacert, SNI) for ;tls."""
    tls = pki["srv"] if kind != "h2c" else None
    b = backends(tls=tls, h1=kind == "h1-tls")
    params = {"h2c": ";;proto=h2", "h2-tls": ";;proto=h2;tls;sni=localhost",
              "h1-tls": ";;tls;sni=localhost"}[kind]
    label = "%s:%d" % (HOST, b.port)
    g = gate_with_admin(procs, [b.spec(params + ";health=/hc;fall=2")], tls=False,
                        extra=["--backend-health-interval=100ms",
                               "--cacert=%s" % pki["ca"][1]])
    wait_until(lambda: scrape(g.admin_port).get("h2gate_backend_health_checks_total",
                                                backend=label) >= 3, "three checks")
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_backend_health_check_failures_total", backend=label) == 0, g.log()
    assert snap.get("h2gate_backend_up", backend=label) == 1


def test_http2_probe_reset_is_a_failure(procs, backends):
    b = backends()
    label = "%s:%d" % (HOST, b.port)
    g = gate_with_admin(procs, [b.spec(";;proto=h2;health=/rst/8;fall=2")], tls=False,
                        extra=["--backend-health-interval=100ms", "-L", "INFO"])
    wait_until(lambda: up_of(g, label) == 0, "the member to go down")
    assert "check failed: no status in the answer" in g.log()


@pytest.mark.parametrize("family, want", [("auto", {"127.0.0.1", "::1"}),
                                          ("IPv4", {"127.0.0.1"}), ("IPv6", {"::1"})])
def test_backend_address_family(procs, dns, family, want):
    """--backend-address-family (nghttpx's): of a name with an A and an
    AAAA answer, auto makes both members, IPv4 or IPv6 only that kind."""
    v4 = procs.origin()
    v6 = procs.origin(addr="::1", port=v4.port)
    dns.set("dual.test", ["127.0.0.1", "::1"])
    g = procs.gate(["dual.test,%d" % v4.port], tls=False,
                   extra=["--dns-server=" + dns.addr, "--backend-address-family=" + family])
    seen = whoami(g, 8)
    assert sum(seen.values()) == 8
    assert {a.rpartition(":")[0].strip("[]") for a in seen} == want, seen


def test_backend_address_family_without_that_kind_fails_the_start(dns):
    # Checked as a name that does not resolve is, with the reason.
    dns.set("v6only.test", ["::1"])
    r = run_gate(["-f", "%s,1;no-tls" % HOST, "-b", "v6only.test,80",
                  "--dns-server=" + dns.addr, "--backend-address-family=IPv4"])
    assert r.returncode != 0
    assert ("backend v6only.test,80: cannot resolve v6only.test: no IPv4 address "
            "(--backend-address-family)") in r.stderr, r.stderr
