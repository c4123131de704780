"""ThreadSanitizer run of h2gate's cross-thread code.

Runs only when $H2GATE_TSAN_BIN names an h2gate built with
-fsanitize=thread (`make tsan` builds build-tsan/h2gate; tests/run-all.sh
runs this file with it). One bounded workload touches every path where
threads meet, with four workers:

- the lock-free stats: workers write their cells under h2load (h2c, TLS,
  HTTP/1.1) while the main thread's admin listener sums them for /metrics,
  /stats and /healthz in a loop;
- worker start (threads made while the main thread finishes setting up);
- SIGUSR1: the main thread reopens the error log (workers log at INFO
  meanwhile) and tells every worker to reopen its access log, under load;
- SIGHUP under load, five times: the main thread builds a generation
  (configuration, TLS contexts) and hands it to the workers; they switch
  while exchanges of the old one are in flight and drop the old one when
  its last user ends, on whichever thread that is;
- syslog (--errorlog-syslog, --accesslog-syslog): every thread sends on
  the error log's one sink while the daemon restarts and SIGUSR1 swaps
  the sockets under the descriptors (dup3);
- backend registry slots reclaimed under load: a ;dns name cycles through
  more addresses than the (lowered) slot cap; main reads the generations'
  and the workers' counts, zeroes the freed slot's stats cells and health
  cell, and the workers reuse the slot;
- SIGTERM under load: the main thread sets the /healthz flag and signals
  the workers (ev_async), they stop accepting and send GOAWAYs; a request
  that never ends keeps one worker busy until the shutdown deadline, so
  the main thread's deadline timer sends the stop command too; every
  worker exits, tells the main thread, and is joined.

TSAN_OPTIONS makes the first report end the process with status 66, so
the test asserts exit status 0 and that no "WARNING: ThreadSanitizer"
appears in its output (the procs fixture also fails on one).
"""

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import IS_NGHTTPX, STOP_TIMEOUT, Gate, free_port
from h2backend_lib import wait_for
from obs_lib import admin_request, scrape, settle, wait_lines
from testlib import HOST, H1Conn, h1_get, h2load, h2load_argv

TSAN_BIN = os.environ.get("H2GATE_TSAN_BIN")

pytestmark = pytest.mark.skipif(
    not TSAN_BIN or IS_NGHTTPX,
    reason="needs $H2GATE_TSAN_BIN (an h2gate built by `make tsan`)")

TSAN_OPTIONS = "halt_on_error=1:exitcode=66:second_deadlock_stack=1"
TSAN_MARKER = "WARNING: ThreadSanitizer"
WORKERS = 4
# Generous: TSan makes h2gate several times slower; nothing below depends
# on how fast it runs, these only bound a hang.
EXIT_TIMEOUT = 60


def start_tsan_gate(procs, origin, tmp_path, alog):
    """The TSan h2gate: cleartext and TLS frontends, --admin, an access
    log, four workers, a 2 s graceful shutdown deadline."""
    port, tls_port, aport = free_port(), free_port(), free_port()
    key, cert = procs.tls_files
    argv = [TSAN_BIN,
            "-f", "%s,%d;no-tls" % (HOST, port), "-f", "%s,%d" % (HOST, tls_port),
            "-b", origin.backend(), "-n", str(WORKERS),
            "--admin=%s,%d" % (HOST, aport),
            "--accesslog-file=%s" % alog,
            "--errorlog-file=%s" % (tmp_path / "error.log"), "-L", "INFO",
            "--graceful-shutdown-timeout=2s",
            str(key), str(cert)]
    g = Gate("h2gate-tsan", argv, tmp_path / "h2gate-tsan.log")
    g.extra_logs.append(tmp_path / "error.log")
    g.port, g.tls_port, g.admin_port = port, tls_port, aport
    procs.all.append(g)
    for p in (port, tls_port, aport):
        g.wait_port(p)
    return g


class Scraper(threading.Thread):
    """Reads /metrics, /stats and /healthz in a loop until stopped, or
    until the admin listener goes away once h2gate is told to exit
    (.exiting); counts the successful reads, records anything else."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_flag = threading.Event()
        self.exiting = False
        self.reads = 0
        self.errors = []

    def run(self):
        paths = ("/metrics", "/stats", "/healthz")
        i = 0
        while not self.stop_flag.is_set():
            try:
                status, _, _ = admin_request(self.port, paths[i % 3], timeout=30)
            except OSError as e:
                if not self.exiting:
                    self.errors.append((paths[i % 3], repr(e)))
                return
            if status not in (200, 503):
                self.errors.append((paths[i % 3], status))
            self.reads += 1
            i += 1

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=60)


def tsan_reports(g):
    text = g.log() + "".join(Path(p).read_text(errors="replace")
                             for p in g.extra_logs if Path(p).exists())
    return text if TSAN_MARKER in text else ""


def stop_and_wait(g, scraper):
    """SIGTERM (the scraper expects the admin listener to go); h2gate's
    exit status."""
    scraper.exiting = True
    g.signal(signal.SIGTERM)
    try:
        return g.popen.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("h2gate still running %ss after SIGTERM" % EXIT_TIMEOUT)


def test_cross_thread_paths_race_free(procs, tmp_path, monkeypatch):
    monkeypatch.setenv("TSAN_OPTIONS", TSAN_OPTIONS)
    o = procs.origin()
    alog = tmp_path / "access.log"
    g = start_tsan_gate(procs, o, tmp_path, alog)
    h2c = "http://%s:%d/" % (HOST, g.port)
    tls = "https://%s:%d/" % (HOST, g.tls_port)

    # 1. Load on every worker, all three protocols, while the admin
    #    listener reads the stats cells.
    scraper = Scraper(g.admin_port)
    scraper.start()
    results = {}
    loads = {
        "h2c": lambda: h2load(h2c, 2000, 8, m=8),
        "h1": lambda: h2load(h2c, 400, 4, h1=True),
        "tls": lambda: h2load(tls, 400, 4, m=4),
    }
    threads = [threading.Thread(target=lambda k=k, f=f: results.__setitem__(k, f()))
               for k, f in loads.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A report ends h2gate (halt_on_error): say so before h2load's failures.
    assert g.alive() and not tsan_reports(g), tsan_reports(g)[-20000:] or g.log()
    for k, n in (("h2c", 2000), ("h1", 400), ("tls", 400)):
        r = results.get(k)
        assert r is not None, "h2load %s did not finish" % k
        assert r.codes["2xx"] == n and r.failed == 0 and r.errored == 0, \
            (k, r.output)
    settle(g.admin_port)
    assert scraper.reads > 0 and not scraper.errors, scraper.errors

    # 2. Rotation under load: move the access log away, SIGUSR1, and lines
    #    reach a new file while requests keep coming.
    rotated = tmp_path / "access.log.1"
    os.rename(alog, rotated)
    os.rename(tmp_path / "error.log", tmp_path / "error.log.1")
    g.extra_logs.append(tmp_path / "error.log.1")
    load = subprocess.Popen(h2load_argv(h2c, 1000000, 4, m=4),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        g.signal(signal.SIGUSR1)
        wait_lines(alog, lambda lines: len(lines) >= 50, timeout=EXIT_TIMEOUT)

        # 2b. Reloads under the same load (no --conf: the command line
        #     again, so a new generation with new TLS contexts each time).
        for gen in range(2, 7):
            g.signal(signal.SIGHUP)
            assert wait_for(lambda: scrape(g.admin_port).get(
                "h2gate_config_generation") == gen, EXIT_TIMEOUT), g.log()[-5000:]

        # 3. SIGTERM under load, with a request that never ends (/stall)
        #    holding a worker until the shutdown deadline.
        with H1Conn(g.port, timeout=EXIT_TIMEOUT) as stall:
            stall.send(h1_get("/stall"))
            # The stalled exchange is in flight once its head arrived.
            assert stall.recv_some(1).startswith(b"HTTP/1.1 200")
            rc = stop_and_wait(g, scraper)
    finally:
        load.kill()
        load.wait(timeout=STOP_TIMEOUT)
        scraper.stop()
    report = tsan_reports(g)
    assert not report, report[-20000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, g.log()[-20000:])
    assert scraper.reads > 0 and not scraper.errors, scraper.errors
    # Both logs really were reopened.
    assert "graceful shutdown" in (tmp_path / "error.log").read_text()


def test_health_and_dns_threads_race_free(procs, tmp_path, monkeypatch):
    """The probe thread and the ;dns rebuilds (issue 12): workers report
    member failures and read member state while the probe thread checks
    members and marks them down and up, the admin listener reads the
    health cells, and ;dns answer changes and SIGHUPs hand new
    generations to the workers and to the probe thread."""
    from dnsserver import DNSServer
    monkeypatch.setenv("TSAN_OPTIONS", TSAN_OPTIONS)
    down = tmp_path / "down"
    a = procs.origin(addr="127.0.0.1")
    b = procs.origin(addr="127.0.0.2", port=a.port, down_file=down)
    assert b.port == a.port
    dns = DNSServer(ttl=1)
    dns.set("svc.test", ["127.0.0.1", "127.0.0.2"])
    port, aport = free_port(), free_port()
    argv = [TSAN_BIN, "-f", "%s,%d;no-tls" % (HOST, port),
            "-b", "svc.test,%d;;dns;health=/health;fall=1;rise=1" % a.port,
            "-n", str(WORKERS), "--admin=%s,%d" % (HOST, aport),
            "--dns-server=" + dns.addr, "--backend-health-interval=50ms",
            "--graceful-shutdown-timeout=2s"]
    g = Gate("h2gate-tsan", argv, tmp_path / "h2gate-tsan.log")
    g.port, g.admin_port = port, aport
    procs.all.append(g)
    for p in (port, aport):
        g.wait_port(p)
    scraper = Scraper(aport)
    scraper.start()
    load = subprocess.Popen(h2load_argv("http://%s:%d/" % (HOST, port), 1000000, 4, m=4),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        label = "svc.test:%d@127.0.0.2" % a.port
        for i in range(3):
            down.write_text("")
            assert wait_for(lambda: scrape(aport).get("h2gate_backend_up", backend=label) == 0,
                            EXIT_TIMEOUT), g.log()[-5000:]
            down.unlink()
            assert wait_for(lambda: scrape(aport).get("h2gate_backend_up", backend=label) == 1,
                            EXIT_TIMEOUT), g.log()[-5000:]
            # ;dns changes (rebuilds) and a SIGHUP: new generations for
            # the workers and the probe thread while both are busy.
            for addrs in (["127.0.0.1"], ["127.0.0.1", "127.0.0.2"]):
                n = g.log().count("backend addresses updated")
                dns.set("svc.test", addrs)
                assert wait_for(lambda: g.log().count("backend addresses updated") > n,
                                EXIT_TIMEOUT), g.log()[-5000:]
            gen = scrape(aport).get("h2gate_config_generation")
            g.signal(signal.SIGHUP)
            assert wait_for(lambda: scrape(aport).get("h2gate_config_generation") > gen,
                            EXIT_TIMEOUT), g.log()[-5000:]
        assert g.alive() and not tsan_reports(g), tsan_reports(g)[-20000:] or g.log()
        rc = stop_and_wait(g, scraper)
    finally:
        load.kill()
        load.wait(timeout=STOP_TIMEOUT)
        scraper.stop()
        dns.close()
    report = tsan_reports(g)
    assert not report, report[-20000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, g.log()[-20000:])
    assert scraper.reads > 0 and not scraper.errors, scraper.errors


def test_backend_slot_reclaim_race_free(procs, tmp_path, monkeypatch):
    """Backend registry slots reclaimed under load (issue 12): a ;dns name
    cycles through 6 addresses with the cap lowered to 2 slots
    (H2GATE_TEST_MAX_BACKEND_SLOTS, test-only), so main frees slots
    (reading the generations' and the workers' holder counts, zeroing the
    slot's stats cells in every worker block, resetting its health cell)
    and the workers reuse them (a fresh pool entry and TLS session), while
    h2load keeps every worker busy and the admin listener is scraped."""
    from dnsserver import DNSServer
    monkeypatch.setenv("TSAN_OPTIONS", TSAN_OPTIONS)
    monkeypatch.setenv("H2GATE_TEST_MAX_BACKEND_SLOTS", "2")
    addrs = ["127.0.0.%d" % i for i in range(1, 7)]
    first = procs.origin(addr=addrs[0])
    for a in addrs[1:]:
        procs.origin(addr=a, port=first.port)
    dns = DNSServer(ttl=1)
    dns.set("pods.test", addrs[:1])
    port, aport = free_port(), free_port()
    argv = [TSAN_BIN, "-f", "%s,%d;no-tls" % (HOST, port),
            "-b", "pods.test,%d;;dns;fall=3" % first.port,
            "-n", str(WORKERS), "--admin=%s,%d" % (HOST, aport),
            "--dns-server=" + dns.addr, "--graceful-shutdown-timeout=2s"]
    g = Gate("h2gate-tsan", argv, tmp_path / "h2gate-tsan.log")
    g.port, g.admin_port = port, aport
    procs.all.append(g)
    for p in (port, aport):
        g.wait_port(p)
    scraper = Scraper(aport)
    scraper.start()
    load = subprocess.Popen(h2load_argv("http://%s:%d/" % (HOST, port), 1000000, 4, m=4),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for a in addrs[1:]:
            n = g.log().count("; its slot ")
            dns.set("pods.test", [a])
            assert wait_for(lambda: g.log().count("; its slot ") > n,
                            EXIT_TIMEOUT), g.log()[-5000:]
        last = "pods.test:%d@%s" % (first.port, addrs[-1])
        assert wait_for(lambda: scrape(aport).label_values("h2gate_backend_up", "backend")
                        == [last], EXIT_TIMEOUT), g.log()[-5000:]
        assert "not applied" not in g.log()
        assert g.alive() and not tsan_reports(g), tsan_reports(g)[-20000:] or g.log()
        rc = stop_and_wait(g, scraper)
    finally:
        load.kill()
        load.wait(timeout=STOP_TIMEOUT)
        scraper.stop()
        dns.close()
    report = tsan_reports(g)
    assert not report, report[-20000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, g.log()[-20000:])
    assert scraper.reads > 0 and not scraper.errors, scraper.errors


def test_syslog_outputs_race_free(procs, tmp_path, monkeypatch):
    """--errorlog-syslog and --accesslog-syslog: every thread (main, four
    workers at INFO, the probe thread) sends error log datagrams through
    the one shared sink while each worker sends its access lines through
    its own; under load the daemon restarts (a new socket at the path)
    and SIGUSR1 reconnects both kinds of sink, whose descriptors are
    swapped with dup3 while other threads send on them."""
    import shutil
    import socket
    import tempfile
    monkeypatch.setenv("TSAN_OPTIONS", TSAN_OPTIONS)
    o = procs.origin()
    d = tempfile.mkdtemp(prefix="h2g-tsan-", dir="/tmp")
    path = os.path.join(d, "log")
    got = []
    lock = threading.Lock()
    state = {"sock": None, "stop": False}

    def bind():
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(0.05)
        with lock:
            old, state["sock"] = state["sock"], s
        if old:
            old.close()

    def read():
        while not state["stop"]:
            with lock:
                s = state["sock"]
            try:
                got.append(s.recv(65536))
            except (socket.timeout, OSError):
                continue

    bind()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    port, aport = free_port(), free_port()
    argv = [TSAN_BIN, "-f", "%s,%d;no-tls" % (HOST, port), "-b", o.backend(),
            "-n", str(WORKERS), "--admin=%s,%d" % (HOST, aport),
            "--accesslog-syslog", "--accesslog-json", "--errorlog-syslog", "-L", "INFO",
            "--syslog-socket=%s" % path, "--syslog-facility=local5",
            "--graceful-shutdown-timeout=2s"]
    g = Gate("h2gate-tsan", argv, tmp_path / "h2gate-tsan.log")
    g.port, g.admin_port = port, aport
    procs.all.append(g)
    scraper = Scraper(aport)
    load = None
    try:
        for p in (port, aport):
            g.wait_port(p)
        scraper.start()
        load = subprocess.Popen(h2load_argv("http://%s:%d/" % (HOST, port), 1000000, 8, m=4),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for i in range(4):
            n = len(got)
            assert wait_for(lambda: len(got) > n + 20, EXIT_TIMEOUT), g.log()[-5000:]
            bind()   # the daemon restarts
            if i % 2:
                g.signal(signal.SIGUSR1)
        n = len(got)
        assert wait_for(lambda: len(got) > n + 20, EXIT_TIMEOUT), g.log()[-5000:]
        assert g.alive() and not tsan_reports(g), tsan_reports(g)[-20000:] or g.log()
        rc = stop_and_wait(g, scraper)
    finally:
        if load:
            load.kill()
            load.wait(timeout=STOP_TIMEOUT)
        scraper.stop()
        state["stop"] = True
        reader.join(timeout=10)
        with lock:
            state["sock"].close()
        shutil.rmtree(d, ignore_errors=True)
    report = tsan_reports(g)
    assert not report, report[-20000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, g.log()[-20000:])
    pris = {m[:5] for m in got}
    assert b"<174>" in pris and b"<173>" in pris, pris   # local5 info, notice


def test_ticket_keys_shared_by_workers_race_free(procs, tmp_path, monkeypatch):
    """Session tickets: every worker encrypts and decrypts with the one
    process key ring (and the reload builds new server contexts) while
    clients on four threads resume each other's sessions on whichever
    worker the kernel picks; SIGHUPs in between."""
    import ssl
    from test_tls_tickets import client_ctx, open_conn
    monkeypatch.setenv("TSAN_OPTIONS", TSAN_OPTIONS)
    o = procs.origin()
    g = start_tsan_gate(procs, o, tmp_path, tmp_path / "access.log")
    shared = {}
    lock = threading.Lock()
    errors, reused = [], [0]
    # Python resumes a session only with the context that made it.
    ctxs = {v: client_ctx(v) for v in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2)}

    def client(version):
        ctx = ctxs[version]
        try:
            for _ in range(25):
                with lock:
                    sess = shared.get(version)
                s = open_conn(ctx, g.tls_port, session=sess)
                with lock:
                    reused[0] += s.session_reused
                    shared[version] = s.session
                s.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(v,), daemon=True)
               for v in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2) * 2]
    for t in threads:
        t.start()
    gen = scrape(g.admin_port).get("h2gate_config_generation")
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(g.admin_port).get("h2gate_config_generation") > gen,
                    EXIT_TIMEOUT), g.log()[-5000:]
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert reused[0] > 0
    settle(g.admin_port)
    assert scrape(g.admin_port).get("h2gate_tls_resumptions_total") == reused[0]
    scraper = Scraper(g.admin_port)
    scraper.start()
    rc = stop_and_wait(g, scraper)
    scraper.stop()
    report = tsan_reports(g)
    assert not report, report[-20000:]
    assert rc == 0, "exit status %s:\n%s" % (rc, g.log()[-20000:])
