"""Helpers for the observability tests: the admin listener (/metrics parsed
with prometheus_client's real text parser, /stats as JSON, /healthz) and
the access log file. (The CONNECT tests' echo target is
tunnel_lib.TargetServer with echo_handler.)

Everything talks to 127.0.0.1 only and every wait is bounded.
"""

import http.client
import json
import re
import time

from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
from testlib import HOST

SETTLE_TIMEOUT = 15.0


# --------------------------------------------------------------------------
# admin listener


def admin_request(port, path, method="GET", timeout=10.0, body=None):
    """One request on its own connection: (status, {lower name: value}, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def gate_with_admin(procs, backends, extra=(), **kw):
    """procs.gate() plus --admin on a free loopback port; returns the Gate
    with .admin_port set, after the admin port listens too."""
    aport = free_port()
    g = procs.gate(backends, extra=["--admin=%s,%d" % (HOST, aport),
                                    *extra], **kw)
    g.wait_port(aport)
    g.admin_port = aport
    return g


class Snapshot:
    """One /metrics scrape, parsed with prometheus_client's text parser.

    .samples maps (sample name, ((label, value), ... sorted)) to the value;
    .families maps a family name to its parsed family; .ordered keeps every
    sample in exposition order as (family, sample)."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        self.samples = {}
        self.ordered = []
        for fam in text_string_to_metric_families(text):
            assert fam.name not in self.families, \
                "family %s exposed twice" % fam.name
            self.families[fam.name] = fam
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                assert key not in self.samples, "duplicate sample %r" % (key,)
                self.samples[key] = s.value
                self.ordered.append((fam, s))

    def get(self, name, default=None, **labels):
        """Sum of the samples called `name` whose labels include `labels`
        (so get(name) with no labels is the total over every label set).
        No such sample: `default` if given, else the test fails."""
        found = False
        total = 0.0
        for (sname, slabels), v in self.samples.items():
            if sname != name:
                continue
            d = dict(slabels)
            if all(d.get(k) == v2 for k, v2 in labels.items()):
                total += v
                found = True
        if not found and default is not None:
            return default
        assert found, "no sample %s%r in /metrics" % (name, labels)
        return total

    def label_values(self, name, label):
        return sorted({dict(l)[label] for (n, l) in self.samples
                       if n == name and label in dict(l)})


def scrape(port):
    status, headers, body = admin_request(port, "/metrics")
    assert status == 200, (status, body)
    assert headers["content-type"].startswith("text/plain"), headers
    return Snapshot(body.decode())


def stats_json(port):
    status, headers, body = admin_request(port, "/stats")
    assert status == 200, (status, body)
    assert "json" in headers["content-type"], headers
    return json.loads(body)


# The gauges that are 0 on an idle h2gate (no client connection open).
def idle(snap):
    return (snap.get("h2gate_connections_active") == 0
            and snap.get("h2gate_streams_active") == 0
            and snap.get("h2gate_tunnels_active") == 0)


def settle(port, cond=idle, timeout=SETTLE_TIMEOUT):
    """Scrape until cond(snapshot) holds (the clients' connections are
    closed and every exchange was counted); that snapshot."""
    deadline = time.monotonic() + timeout
    while True:
        snap = scrape(port)
        if cond(snap):
            return snap
        assert time.monotonic() < deadline, \
            "h2gate never settled; last /metrics:\n" + snap.text
        time.sleep(0.05)


def check_histograms(snap):
    """Every histogram (each backend's of a per-backend one): buckets in
    increasing le order, cumulative counts never decreasing, le="+Inf"
    equal to _count, _sum not negative."""
    hists = [f for f in snap.families.values() if f.type == "histogram"]
    assert hists, "no histogram in /metrics"
    for fam in hists:
        series = {}   # the labels other than le -> its samples
        for s in fam.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items()
                               if k != "le"))
            series.setdefault(key, []).append(s)
        for key, samples in series.items():
            _check_histogram(fam.name, key, samples)
    return {f.name for f in hists}


def _check_histogram(name, key, samples):
    buckets = [(s.labels["le"], s.value) for s in samples
               if s.name == name + "_bucket"]
    counts = [s.value for s in samples if s.name == name + "_count"]
    sums = [s.value for s in samples if s.name == name + "_sum"]
    assert len(counts) == 1 and len(sums) == 1, (name, key)
    assert buckets and buckets[-1][0] == "+Inf", (name, key, buckets)
    bounds = [float(le) for le, _ in buckets]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), \
        (name, bounds)
    values = [v for _, v in buckets]
    assert all(a <= b for a, b in zip(values, values[1:])), \
        "%s%r buckets not monotonic: %r" % (name, key, buckets)
    assert values[-1] == counts[0], (name, key, values[-1], counts[0])
    assert sums[0] >= 0, (name, key)


def bucket_values(snap, family):
    return [snap.samples[k] for k in sorted(
        (k for k in snap.samples if k[0] == family + "_bucket"),
        key=lambda k: float(dict(k[1])["le"]))]


def metric_paths(snap):
    """Every sample as its /stats JSON path: a histogram's samples as
    (family, "buckets", le), (family, "sum"), (family, "count") (with the
    backend name after the family for a backend's histogram); any other
    sample as (name, label value, label value, ...) in label order."""
    out = {}
    for fam, s in snap.ordered:
        if fam.type == "histogram":
            # A backend's histogram sits under its backend name.
            head = (fam.name, *(v for k, v in s.labels.items() if k != "le"))
            if s.name == fam.name + "_bucket":
                path = (*head, "buckets", s.labels["le"])
            elif s.name == fam.name + "_sum":
                path = (*head, "sum")
            elif s.name == fam.name + "_count":
                path = (*head, "count")
            else:
                raise AssertionError("unexpected histogram sample %r" % (s,))
        else:
            path = (s.name, *s.labels.values())
        assert path not in out, path
        out[path] = s.value
    return out


def json_leaves(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from json_leaves(v, prefix + (k,))
    else:
        yield prefix, obj


# --------------------------------------------------------------------------
# access log

# nghttpx's default format:
# $remote_addr - - [$time_local] "$request" $status $body_bytes_sent
# "$http_referer" "$http_user_agent", for tunnels (h2gate) optionally
# followed by $duration $tunnel_bytes_in $tunnel_bytes_out.
DEFAULT_LINE = re.compile(
    r'^(?P<remote_addr>\S+) - - \[(?P<time_local>[^\]]+)\] '
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+) '
    r'"(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)"'
    r'(?: (?P<duration>\d+\.\d+) (?P<tunnel_in>\d+|-) (?P<tunnel_out>\d+|-))?$')


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    text = data.decode("ascii")   # the log escapes every byte >= 0x80
    # Only whole lines: the writer never leaves a partial line behind.
    assert text == "" or text.endswith("\n"), "partial line in %s: %r" % (
        path, text[-200:])
    return text.splitlines()


def wait_lines(path, cond, timeout=10.0):
    """Read `path` until cond(lines) holds; the lines."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read_lines(path)
        if cond(lines):
            return lines
        assert time.monotonic() < deadline, \
            "access log %s never matched; it has:\n%s" % (path, "\n".join(lines))
        time.sleep(0.05)


def parse_default(line):
    m = DEFAULT_LINE.match(line)
    assert m, "not in the default format: %r" % line
    return m.groupdict()
