"""Fixtures for the h2gate integration tests.

Binaries come from $H2GATE_BIN and $ORIGIN_BIN (default build/h2gate and
build/origin under the repository root), so the same suite runs against
build-asan/ and, for checking the tests themselves, against nghttpx, whose
command line h2gate follows.

Every process is started through the `procs` fixture, which logs its output
to a file, waits until its port accepts, and at teardown stops it by its PID
(SIGTERM, wait, SIGKILL) and fails the test if a sanitizer spoke in the log.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from testlib import HOST

REPO_ROOT = Path(__file__).resolve().parents[2]


def _bin(env, default):
    val = os.environ.get(env)
    return Path(val) if val else REPO_ROOT / default


H2GATE_BIN = _bin("H2GATE_BIN", "build/h2gate")
ORIGIN_BIN = _bin("ORIGIN_BIN", "build/origin")
IS_NGHTTPX = H2GATE_BIN.name == "nghttpx"
# The name the proxy puts in Via.
SERVER_NAME = "nghttpx" if IS_NGHTTPX else "h2gate"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def _port_range():
    """The ports free_port() hands out: $H2GATE_TEST_PORTS ("LO-HI"), by
    default 10000-31999. Both are below Linux's ephemeral range (32768
    up), so no socket bound to port 0 and no outgoing connection of any
    process ever takes one of them between free_port() and the bind of the
    process it was meant for. tests/run-all.sh gives two suites running at
    once disjoint ranges."""
    spec = os.environ.get("H2GATE_TEST_PORTS", "10000-31999")
    lo, _, hi = spec.partition("-")
    lo, hi = int(lo), int(hi)
    assert 1024 <= lo <= hi <= 65535, spec
    # Under pytest-xdist (tests/run-all.sh runs each suite with -n) every
    # worker takes its own slice of the range.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker.startswith("gw") and count > 1:
        k = int(worker[2:])
        span = (hi - lo + 1) // count
        assert span >= 100, "%s is too small for %d workers" % (spec, count)
        lo, hi = lo + k * span, lo + (k + 1) * span - 1
    return lo, hi


_PORT_LO, _PORT_HI = _port_range()
# A random start: two runs given the same range rarely walk it in step.
_next_port = random.randint(_PORT_LO, _PORT_HI)
_ports_given = set()


def free_port():
    """A loopback port of the test range nobody uses right now, and not
    handed out before in this run (a just-released port must not serve
    two frontends of one h2gate)."""
    global _next_port
    span = _PORT_HI - _PORT_LO + 1
    for _ in range(span):
        port = _PORT_LO + (_next_port - _PORT_LO) % span
        _next_port = port + 1
        if port in _ports_given:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free loopback port left in %d-%d" % (_PORT_LO, _PORT_HI))


def _proc_addr(ip):
    """127.0.0.2 as /proc/net/tcp writes it ("0200007F"), or None for IPv6."""
    try:
        return socket.inet_aton(ip)[::-1].hex().upper()
    except OSError:
        return None


def port_listening(port, addr=None):
    """True once some socket LISTENs on the loopback `port` (on IPv4
    `addr` when given). Read from /proc/net/tcp rather than probed with
    connect(), so the origins' accepted-connection counts start at 0 and
    logs stay quiet."""
    want = _proc_addr(addr) if addr else None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    ip, lport = local.rsplit(":", 1)
                    if state == "0A" and int(lport, 16) == port and \
                            (want is None or ip == want):
                        return True
        except OSError:
            continue
    return False


def gate_argv(args):
    """h2gate's argv for `args`, plus what nghttpx alone needs."""
    argv = [str(H2GATE_BIN), *args]
    if IS_NGHTTPX:
        # nghttpx: no OCSP fetcher, and never read /etc/nghttpx/nghttpx.conf.
        argv.insert(1, "--no-ocsp")
        if not any(a.startswith("--conf") for a in args):
            argv.insert(1, "--conf=/dev/null")
    return argv


def run_gate(args, timeout=15):
    """Run h2gate to completion (option errors, --help); CompletedProcess."""
    return subprocess.run(gate_argv(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, check=False, text=True)


class Proc:
    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.extra_logs = []   # more files to scan (--errorlog-file)
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=self._log,
                                      stderr=subprocess.STDOUT)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self):
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=STOP_TIMEOUT)
        self._log.close()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_port(self, port, addr=None):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive():
                pytest.fail("%s exited with %s before listening on %d:\n%s"
                            % (self.name, self.popen.returncode, port,
                               self.log()))
            if port_listening(port, addr):
                return
            time.sleep(0.05)
        pytest.fail("%s never listened on %d:\n%s"
                    % (self.name, port, self.log()))


class Origin(Proc):
    def __init__(self, log_path, count_file=None, addr=HOST, port=None, down_file=None,
                 delay_all=None):
        self.addr = addr
        self.port = port or free_port()
        self.count_file = count_file
        argv = [str(ORIGIN_BIN), "-a", addr, "-p", str(self.port)]
        if count_file:
            argv += ["--count-file", str(count_file)]
        if down_file:
            argv += ["--down-file", str(down_file)]
        if delay_all:
            argv += ["--delay-all", str(delay_all)]
        super().__init__("origin", argv, log_path)
        self.wait_port(self.port, addr)

    def count(self):
        """Connections the origin accepted (needs count_file)."""
        try:
            text = Path(self.count_file).read_text().strip()
        except FileNotFoundError:
            return 0
        return int(text) if text else 0

    def backend(self, pattern=None):
        spec = "%s,%d" % (self.addr, self.port)
        return spec + (";" + pattern if pattern else "")


class Gate(Proc):
    pass


class Procs:
    """Starts origins and h2gates for one test and stops them all."""

    def __init__(self, tmp_path, tls_files):
        self.tmp = tmp_path
        self.tls_files = tls_files
        self.all = []

    def _log(self, name):
        return self.tmp / ("%s-%d.log" % (name, len(self.all)))

    def origin(self, count=False, addr=HOST, port=None, down_file=None, delay_all=None):
        """An origin on addr:port (port: a free one); /whoami answers
        "addr:port", /health 503 while down_file exists; with delay_all,
        every answer is held that many milliseconds (--delay-all)."""
        cf = self.tmp / ("origin-%d.count" % len(self.all)) if count else None
        o = Origin(self._log("origin"), cf, addr=addr, port=port, down_file=down_file,
                   delay_all=delay_all)
        self.all.append(o)
        return o

    def gate(self, backends=(), extra=(), plain=True, tls=True, workers=1,
             wait=True, conf=None):
        """Start h2gate with a cleartext (h2c + HTTP/1.1) frontend on
        .port and a TLS frontend on .tls_port, `-b` for each backend (an
        Origin or a 'HOST,PORT;PATTERN' string), then `extra` args."""
        args = []
        port = tls_port = None
        if plain:
            port = free_port()
            args += ["-f", "%s,%d;no-tls" % (HOST, port)]
        if tls:
            tls_port = free_port()
            args += ["-f", "%s,%d" % (HOST, tls_port)]
        for b in backends:
            args += ["-b", b.backend() if isinstance(b, Origin) else b]
        if workers is not None:
            args += ["-n", str(workers)]
        if conf is not None:
            args.append("--conf=%s" % conf)
        args += list(extra)
        if tls:
            args += [str(self.tls_files[0]), str(self.tls_files[1])]
        return self.gate_raw(args, ports=[p for p in (port, tls_port) if p],
                             wait=wait, port=port, tls_port=tls_port)

    def gate_raw(self, args, ports=(), wait=True, port=None, tls_port=None):
        g = Gate("h2gate", gate_argv(args), self._log("h2gate"))
        g.port, g.tls_port = port, tls_port
        self.all.append(g)
        if wait:
            for p in ports:
                g.wait_port(p)
        return g

    def stop_all(self):
        for p in reversed(self.all):
            p.stop()

    def sanitizer_reports(self):
        out = []
        for p in self.all:
            for path in [p.log_path, *p.extra_logs]:
                try:
                    text = Path(path).read_text(errors="replace")
                except OSError:
                    continue
                if any(m in text for m in SANITIZER_MARKERS):
                    out.append("%s (%s):\n%s" % (p.name, path, text[-20000:]))
        return out


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """(key, cert): self-signed EC P-256, SAN localhost and 127.0.0.1."""
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "server.key", d / "server.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "7",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30)
    return key, cert


@pytest.fixture
def backends():
    """backends(**kw): an h2backend_lib.Backend (python-h2, or HTTP/1.1
    with h1=True), stopped at teardown."""
    from h2backend_lib import Backend
    made = []

    def make(**kw):
        b = Backend(**kw)
        made.append(b)
        return b
    yield make
    for b in made:
        b.stop()


@pytest.fixture
def sockdir():
    """A short directory under /tmp for UNIX domain sockets (a pytest
    tmp_path can be longer than the 107 bytes sun_path holds), removed
    after the test."""
    d = Path(tempfile.mkdtemp(prefix="h2gs-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _stop_and_check(p):
    p.stop_all()
    reports = p.sanitizer_reports()
    if reports:
        pytest.fail("sanitizer report in process output:\n" +
                    "\n".join(reports), pytrace=False)


@pytest.fixture
def procs(request, tmp_path, tls_files):
    p = Procs(tmp_path, tls_files)
    request.node._procs = p
    yield p
    _stop_and_check(p)


@pytest.fixture(scope="module")
def module_procs(tmp_path_factory, tls_files):
    """A Procs shared by all the tests of a module (one h2gate for many
    short cases): stopped, and its output checked for sanitizer reports,
    after the module's last test; a failing test gets its logs too."""
    p = Procs(tmp_path_factory.mktemp("module"), tls_files)
    yield p
    _stop_and_check(p)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach every process log to a failing test's report."""
    outcome = yield
    rep = outcome.get_result()
    p = getattr(item, "_procs", None) or getattr(item, "funcargs", {}).get("module_procs")
    if p is not None and rep.failed and call.when == "call":
        for proc in p.all:
            rep.sections.append(("%s log %s" % (proc.name, proc.log_path),
                                 proc.log()[-20000:]))
