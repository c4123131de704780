"""Access log formats and destinations (issue: JSON lines and syslog).

JSON: --accesslog-json (the ready object) and --accesslog-escape=json (a
JSON template given with --accesslog-format). Hostile bytes (control
characters, quotes, backslashes, invalid UTF-8) are sent over raw
HTTP/1.1 sockets so they really reach h2gate; every line is decoded as
strict UTF-8 and parsed with json.loads, and the decoded values are
compared with what was sent: a well-formed UTF-8 sequence stands for its
character, any other byte for the code point of the same number
(proxy/alog_json.h).

Syslog: --accesslog-syslog, --errorlog-syslog, --syslog-facility and
h2gate's own --syslog-socket, received on a datagram socket bound in a
temporary directory. A receiver that is absent or stops reading must not
slow requests down; the lines it does not take are counted (the worker
logs the count when it exits).

Loopback only; every wait is a bounded poll for a state.
"""

import codecs
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time

import pytest

from conftest import IS_NGHTTPX
from obs_lib import gate_with_admin, settle, wait_lines
from testlib import HOST, H1Conn, curl
from tunnel_lib import TargetServer, echo_handler

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own options")

ALOG_MAX_LINE = 4096


# ---------------------------------------------------------------------------
# helpers


def expected_text(raw):
    """What a JSON reader must decode from the raw bytes h2gate logged:
    UTF-8 where it is well-formed, each other byte as chr(byte)."""
    return raw.decode("utf-8", errors="h2gate-bytes")


def _bytes_as_code_points(err):
    return "".join(chr(b) for b in err.object[err.start:err.end]), err.end


codecs.register_error("h2gate-bytes", _bytes_as_code_points)


def raw_field(line, key):
    """The escaped bytes of a string field, as they are in the raw line."""
    m = re.search(rb'"' + key.encode() + rb'":"((?:[^"\\]|\\.)*)"', line)
    assert m, (key, line[:200])
    return m.group(1)


def json_lines(path):
    """Every line of the log, each parsed; the file must be strict UTF-8
    and end in a newline."""
    data = path.read_bytes() if path.exists() else b""
    text = data.decode("utf-8")   # strict: h2gate must write valid UTF-8
    assert text == "" or text.endswith("\n"), text[-300:]
    return [json.loads(line) for line in text.splitlines()]


def wait_json(path, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = json_lines(path)
        if len(got) >= n:
            return got
        assert time.monotonic() < deadline, got
        time.sleep(0.05)


def raw_request(port, head):
    """Sends one request head over a raw HTTP/1.1 connection; (status,
    client port, body length)."""
    with H1Conn(port, timeout=10) as c:
        c.send(head)
        r = c.read_response()
        return r.status, c.sock.getsockname()[1], len(r.body)


# Bytes h2gate's HTTP/1.1 parser lets through. In the target: '"', '\',
# HT, FF and every byte >= 0x80; in a field value: '"', '\', HT (not at
# the ends: whitespace there is not part of the value) and every byte
# >= 0x80. Other control bytes get 400 before any exchange exists.
HOSTILE_PATHS = [
    b'/h/quote"back\\slash',
    b"/h/tab\there\x0cff",
    b"/h/utf8-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
    b"/h/bad-\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80",
    b"/h/cut-\xe2\x82-\xf0\x9f\x98?q=\"\\u0041\"&x=\xc3",
    b"/h/lone-\x80\x80\xbf-\\x41",
]
HOSTILE_UAS = [
    b'ua "quoted" \\ back',
    b"ua\ttab",
    b"ua \xc3\xa9 \xf0\x9f\x98\x80 ok",
    b"ua \xff\xfe \xc3( \xe2\x82 \xed\xbf\xbf",
    b"ua \\u0000 \\\" \\n literal",
    b"ua \x80\xbf\xf8\x88\x80\x80\x80",
]


def hostile_requests(port):
    """Sends each hostile path with each hostile User-Agent (and a Referer
    for some); {(path, ua): (status, client port, body length)}."""
    sent = {}
    for i, path in enumerate(HOSTILE_PATHS):
        ua = HOSTILE_UAS[i]
        ref = b"Referer: r\xe9f\"\r\n" if i % 2 else b""
        head = (b"GET " + path + b" HTTP/1.1\r\nHost: h.test\r\nUser-Agent: " + ua +
                b"\r\n" + ref + b"Connection: close\r\n\r\n")
        sent[(path, ua, bool(ref))] = raw_request(port, head)
    return sent


def check_hostile(entries, sent, key):
    """Each entry matches one request sent, field by field."""
    assert len(entries) == len(sent), entries
    by_path = {e[key["path"]]: e for e in entries}
    assert len(by_path) == len(sent), entries
    for (path, ua, has_ref), (status, cport, blen) in sent.items():
        e = by_path[expected_text(path)]
        assert e[key["ua"]] == expected_text(ua), (e, ua)
        assert e[key["referer"]] == (expected_text(b"r\xe9f\"") if has_ref else None)
        assert e[key["status"]] == status and isinstance(e[key["status"]], int)
        if "remote_port" in key:
            assert e[key["remote_port"]] == cport
            assert e[key["body_bytes_sent"]] == blen


class Receiver:
    """A syslog daemon stand-in: a datagram socket bound in a short
    temporary directory (a socket path has at most 107 bytes)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="h2g-sl-", dir="/tmp")
        self.path = os.path.join(self.dir, "log")
        self.sock = None
        self.bind()

    def bind(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def drain(self):
        """Every datagram waiting now, as bytes."""
        out = []
        while True:
            try:
                out.append(self.sock.recv(65536, socket.MSG_DONTWAIT))
            except BlockingIOError:
                return out

    def wait(self, cond, timeout=10.0):
        """Datagrams until cond(all so far) holds; all of them."""
        got = []
        deadline = time.monotonic() + timeout
        while not cond(got):
            assert time.monotonic() < deadline, got
            got += self.drain()
            time.sleep(0.02)
        return got

    def cleanup(self):
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.cleanup()


HEAD = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) h2gate\[(\d+)\]: (.*)$",
                  re.S)


def split_syslog(dgram, pid):
    """(PRI, message) of one datagram, checking its header."""
    m = HEAD.match(dgram)
    assert m, dgram
    assert int(m.group(3)) == pid, dgram
    return int(m.group(1)), m.group(4)


def dropped_at_exit(gate):
    """The access log lines the workers counted as dropped, from the lines
    they log when they exit."""
    return sum(int(n) for n in re.findall(r"worker \d+: (\d+) access log lines dropped",
                                          gate.log()))


def get_ok(port, path):
    p = curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_code}",
              "http://%s:%d%s" % (HOST, port, path)])
    assert p.returncode == 0 and p.stdout == b"200", p
    return p


# ---------------------------------------------------------------------------
# JSON


def test_json_hostile_bytes_in_path_and_user_agent(procs, tmp_path):
    """--accesslog-json: every line is valid UTF-8 and parses; path, user
    agent and referer decode to exactly what was sent; numbers are JSON
    numbers, absent values null."""
    log = tmp_path / "access.log"
    o = procs.origin()
    g = procs.gate([o], extra=["--accesslog-file=%s" % log, "--accesslog-json"],
                   tls=False, workers=2)
    sent = hostile_requests(g.port)
    entries = wait_json(log, len(sent))
    check_hostile(entries, sent, {k: k for k in ("path", "ua", "referer", "status",
                                                 "remote_port", "body_bytes_sent")}
                  | {"ua": "user_agent"})
    for e in entries:
        assert e["method"] == "GET" and e["protocol"] == "HTTP/1.1", e
        assert e["remote_addr"] == HOST and e["server_port"] == g.port, e
        assert e["host"] == "h.test" and e["scheme"] == "http", e
        assert (e["backend_host"], e["backend_port"]) == (HOST, o.port), e
        assert e["pid"] == g.pid, e
        assert isinstance(e["request_time"], float) and e["request_time"] >= 0, e
        for k in ("tls_protocol", "tls_cipher", "tls_sni", "tls_session_reused",
                  "tls_client_subject_name", "tls_client_fingerprint_sha256",
                  "tunnel_target", "tunnel_bytes_in", "tunnel_bytes_out"):
            assert e[k] is None, (k, e)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$",
                        e["time"]), e


def test_json_template_escapes_every_value(procs, tmp_path):
    """--accesslog-format with --accesslog-escape=json: the operator's
    template, every value escaped, a missing header null, numbers bare."""
    log = tmp_path / "access.log"
    fmt = ('{"p":"$path","ua":"$http_user_agent","ref":"$http_referer",'
           '"s":$status,"req":"$request","miss":"$http_x_missing"}')
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--accesslog-file=%s" % log, "--accesslog-format=" + fmt,
                          "--accesslog-escape=json"])
    sent = hostile_requests(g.port)
    entries = wait_json(log, len(sent))
    check_hostile(entries, sent, {"path": "p", "ua": "ua", "referer": "ref", "status": "s"})
    for e in entries:
        assert e["miss"] is None
        assert e["req"] == "GET %s HTTP/1.1" % e["p"]
        assert set(e) == {"p", "ua", "ref", "s", "req", "miss"}


def test_json_4xx_and_tunnels(procs, tmp_path):
    """h2gate's own 404 (no route: no backend), a refused CONNECT (403)
    and an open tunnel in JSON: method, path, status, bytes and the
    tunnel fields, null where a value does not apply."""
    log = tmp_path / "access.log"
    echo = TargetServer(echo_handler)
    try:
        g = procs.gate([procs.origin().backend("/size/")], tls=False,
                       extra=["--accesslog-file=%s" % log, "--accesslog-json",
                              "--connect-allow=%s:%d" % (HOST, echo.port)])
        target = "%s:%d" % (HOST, echo.port)
        st, _, blen404 = raw_request(g.port, b"GET /nothing HTTP/1.1\r\nHost: x\r\n"
                                     b"User-Agent: a404\r\n\r\n")
        assert st == 404
        st, _, _ = raw_request(g.port, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: "
                               b"127.0.0.1:1\r\nUser-Agent: a403\r\n\r\n")
        assert st == 403
        up = b"through the tunnel\n" * 7
        with H1Conn(g.port, timeout=10) as c:
            c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tun\r\n\r\n"
                    % (target, target)).encode())
            assert c.read_response(method="HEAD").status == 200
            c.send(up)
            assert c.recv_some(len(up)) == up
            c.sock.shutdown(socket.SHUT_WR)
            assert c.read_to_eof() == b""
        got = {e["user_agent"]: e for e in wait_json(log, 3)}
    finally:
        echo.stop()
    e = got["a404"]
    assert (e["method"], e["path"], e["status"]) == ("GET", "/nothing", 404), e
    assert e["body_bytes_sent"] == blen404 and blen404 > 0, e
    assert (e["backend_host"], e["backend_port"]) == (None, None), e
    assert (e["tunnel_target"], e["tunnel_bytes_in"], e["tunnel_bytes_out"]) == \
        (None, None, None), e
    e = got["a403"]
    assert (e["method"], e["path"], e["status"]) == ("CONNECT", "127.0.0.1:1", 403), e
    assert e["tunnel_target"] == "127.0.0.1:1", e
    e = got["tun"]
    assert (e["method"], e["path"], e["status"]) == ("CONNECT", target, 200), e
    assert e["tunnel_target"] == target, e
    assert (e["tunnel_bytes_in"], e["tunnel_bytes_out"]) == (len(up), len(up)), e
    assert e["body_bytes_sent"] == len(up), e
    assert isinstance(e["request_time"], float), e


def test_json_long_values_cut_line_still_parses(procs, tmp_path):
    """A path and a user agent far longer than a line: each line is at
    most 4096 bytes, parses and keeps every field; a cut value is a prefix
    of what was sent (cut between characters); a short path stays whole,
    two long values get equal room."""
    log = tmp_path / "access.log"
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--accesslog-file=%s" % log, "--accesslog-json"])
    fills = [b"a", b"\xc3\xa9", b"\xff", b'"', b"\\", b"\xf0\x9f\x98\x80x"]
    sent = {}
    for i, fill in enumerate(fills):
        for plen, ualen in ((3000, 5000), (20, 5000)):
            ua = b"ua-" + fill * (ualen // len(fill))
            path = b"/long%d-%d/" % (i, plen) + fill * (plen // len(fill))
            status, _, _ = raw_request(g.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                       b"User-Agent: " + ua + b"\r\n\r\n")
            sent[expected_text(path)[:12]] = (path, ua, status)
    wait_json(log, len(sent))
    raw = log.read_bytes().split(b"\n")[:-1]
    assert len(raw) == len(sent)
    for line in raw:
        assert len(line) + 1 <= ALOG_MAX_LINE, len(line)
        e = json.loads(line.decode("utf-8"))
        path, ua, status = sent[e["path"][:12]]
        full_path, full_ua = expected_text(path), expected_text(ua)
        assert full_path.startswith(e["path"]), e["path"][:50]
        assert full_ua.startswith(e["user_agent"]), e["user_agent"][:50]
        assert len(e["path"]) + len(e["user_agent"]) < len(full_path) + len(full_ua)
        if len(path) < 100:   # a short path is whole, the agent is cut
            assert e["path"] == full_path, e
            assert len(raw_field(line, "user_agent")) > 3000, e
        else:                 # both cut to the same escaped length
            plen, ulen = len(raw_field(line, "path")), len(raw_field(line, "user_agent"))
            assert plen > 1000 and abs(plen - ulen) <= 6, (plen, ulen)
        assert e["status"] == status and e["pid"] == g.pid, e
        assert e["tunnel_bytes_out"] is None and e["referer"] is None, e


# ---------------------------------------------------------------------------
# syslog


def test_syslog_access_and_error_lines(procs, receiver):
    """--accesslog-syslog --errorlog-syslog --syslog-facility=local3: the
    access line arrives as one datagram "<158>TIMESTAMP h2gate[PID]: LINE"
    (local3 = 19, info = 6); error log lines carry their level's severity
    (NOTICE 157, INFO 158)."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--accesslog-syslog", "--errorlog-syslog",
                          "--syslog-facility=local3",
                          "--syslog-socket=%s" % receiver.path, "-L", "INFO"])
    get_ok(g.port, "/size/5")
    got = receiver.wait(lambda ds: any(b'"GET /size/5 HTTP/1.1" 200 5' in d for d in ds))
    lines = [split_syslog(d, g.pid) for d in got]
    access = [m for pri, m in lines if b"GET /size/5" in m]
    assert len(access) == 1
    assert re.match(rb'^127\.0\.0\.1 - - \[[^\]]+\] "GET /size/5 HTTP/1\.1" 200 5 "-" '
                    rb'"curl/[^"]+"$', access[0]), access
    assert (158, access[0]) in lines
    assert (157, b"NOTICE [main] h2gate started: 1 workers, 1 backends") in lines
    assert any(pri == 158 and m.startswith(b"INFO [w0] ") for pri, m in lines), lines
    assert not any(b"\n" in m for _, m in lines)
    # Nothing on stderr but what came before the error log was opened.
    assert "h2gate started" not in g.log()


def test_syslog_json_default_facility(procs, receiver):
    """--accesslog-syslog with --accesslog-json: the message is the JSON
    object; the default facility is daemon (3 * 8 + 6 = 30)."""
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--accesslog-syslog", "--accesslog-json",
                          "--syslog-socket=%s" % receiver.path])
    raw_request(g.port, b"GET /size/2?\xff HTTP/1.1\r\nHost: x\r\nUser-Agent: \"j\"\r\n\r\n")
    got = receiver.wait(lambda ds: len(ds) >= 1)
    assert len(got) == 1
    pri, msg = split_syslog(got[0], g.pid)
    assert pri == 30
    e = json.loads(msg.decode("utf-8"))
    assert (e["path"], e["user_agent"], e["status"]) == ("/size/2?\xff", '"j"', 200), e


def test_syslog_receiver_stops_reading(procs, receiver):
    """A receiver that never reads: every request still succeeds; what it
    took plus what h2gate counted as dropped is exactly what was sent."""
    g = gate_with_admin(procs, [procs.origin()], tls=False, extra=[
        "--accesslog-syslog", "--syslog-socket=%s" % receiver.path])
    n = 200
    for i in range(n):
        get_ok(g.port, "/size/1?n=%d" % i)
    # The metric follows as the workers flush (every loop pass).
    snap = settle(g.admin_port, lambda s: s.get("h2gate_requests_total") == n)
    metric = snap.get("h2gate_accesslog_lines_dropped_total")
    g.stop()
    took = receiver.drain()
    assert all(split_syslog(d, g.pid)[0] == 30 for d in took)
    dropped = dropped_at_exit(g)
    assert dropped > 0 and len(took) > 0, (dropped, len(took))
    assert len(took) + dropped == n, (len(took), dropped)
    assert 0 < metric <= dropped, (metric, dropped)


def test_syslog_receiver_absent(procs, tmp_path):
    """No syslog daemon at all: a warning at start, every request
    succeeds, every line is counted as dropped."""
    path = "/tmp/h2g-no-such-dir-%d/log" % os.getpid()
    g = gate_with_admin(procs, [procs.origin()], tls=False, extra=[
        "--accesslog-syslog", "--syslog-socket=%s" % path])
    for i in range(30):
        get_ok(g.port, "/size/1")
    settle(g.admin_port, lambda s: s.get(
        "h2gate_accesslog_lines_dropped_total") == 30)
    g.stop()
    log = g.log()
    assert "--accesslog-syslog: %s: No such file or directory; access log lines are " \
           "dropped until it accepts them" % path in log
    assert dropped_at_exit(g) == 30


def test_syslog_daemon_restart_and_sigusr1(procs, receiver):
    """The daemon restarts (a new socket at the same path): lines reach the
    new one without a signal; after another restart SIGUSR1 reconnects."""
    g = procs.gate([procs.origin()], tls=False, workers=2,
                   extra=["--accesslog-syslog", "--syslog-socket=%s" % receiver.path])
    get_ok(g.port, "/size/1?before")
    receiver.wait(lambda ds: any(b"?before " in d for d in ds))
    for round_ in ("after", "usr1"):
        receiver.close()
        receiver.bind()
        if round_ == "usr1":
            g.signal(signal.SIGUSR1)
        seen = []
        for i in range(300):
            get_ok(g.port, "/size/1?%s%d" % (round_, i))
            seen += receiver.drain()
            if any(("?%s" % round_).encode() in d for d in seen):
                break
            time.sleep(0.02)
        assert any(("?%s" % round_).encode() in d for d in seen), round_


def test_reload_switches_format_keeps_destination(procs, tmp_path):
    """SIGHUP: the format options (--accesslog-json, --accesslog-format,
    --accesslog-escape) take effect for new lines; the destination options
    (--accesslog-syslog, --syslog-socket) need a restart and are kept."""
    from test_reload import Reloadable
    log = tmp_path / "access.log"
    o = procs.origin()
    conf = "backend=%s,%d\naccesslog-json=yes\n" % (HOST, o.port)
    r = Reloadable(procs, tmp_path, conf, extra=["--accesslog-file=%s" % log])
    get_ok(r.port, "/size/1?one")
    assert wait_json(log, 1)[0]["path"] == "/size/1?one"
    r.reload("backend=%s,%d\naccesslog-format=$status $path\naccesslog-syslog=yes\n"
             "syslog-socket=/tmp/none\n" % (HOST, o.port))
    assert "--accesslog-syslog, --syslog-socket changed: that needs a restart" in r.g.log()
    get_ok(r.port, "/size/1?two")
    lines = wait_lines_raw(log, 2)
    assert lines[1] == b"200 /size/1?two"
    r.reload("backend=%s,%d\naccesslog-format={\"p\":\"$path\",\"u\":\"$http_x\"}\n"
             "accesslog-escape=json\n" % (HOST, o.port))
    get_ok(r.port, "/size/1?three")
    lines = wait_lines_raw(log, 3)
    assert json.loads(lines[2]) == {"p": "/size/1?three", "u": None}


def wait_lines_raw(path, n):
    lines = wait_lines(path, lambda ls: len(ls) >= n)
    return [line.encode() for line in lines]
