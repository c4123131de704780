"""--backend-http1-connections-per-host: a bound on the HTTP/1.1
connections a worker has open to one member, and the FIFO queue of
exchanges waiting for one (issue 15 item 1).

The backend here is a threaded Python HTTP/1.1 server that counts the
connections it has open at once, the most it ever had, the connections it
accepted and every request it read, and that holds /block/ID requests
until the test releases them, so every "this one waits" is a state the
test waits for (the queue gauge of /metrics), never a sleep."""

import socket
import subprocess
import threading
import time

import pytest

from conftest import IS_NGHTTPX, free_port
from obs_lib import gate_with_admin, scrape
from testlib import (H2LOAD_TIMEOUT, HOST, H1Conn, H2Client, H2loadResult, h2load,
                     h2load_argv)

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own option")

WAIT = 15.0


def peer_closed(s):
    """True when the peer's FIN (or reset) has arrived on s."""
    # The serving sockets have no timeout, so MSG_DONTWAIT is not preceded
    # by Python's poll (its thread may take the bytes select saw).
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class CountingBackend:
    """HTTP/1.1 on a free loopback port, one thread per connection,
    keep-alive; max_open: the most connections h2gate had open to it at
    once (counted at each accept). GET|POST /x/ID answers "id=ID\\n" plus the request body;
    /block/ID the same once release(ID) is called; a query with close=1
    answers with Connection: close and closes."""

    def __init__(self):
        self.port = free_port()
        self.lock = threading.Lock()
        self.socks = []     # accepted, not closed by h2gate as far as we know
        self.max_open = 0
        self.accepted = 0
        self.seen = []
        self.events = {}
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, self.port))
        self.lsock.listen(128)
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def spec(self):
        return "%s,%d" % (HOST, self.port)

    def event(self, ident):
        with self.lock:
            return self.events.setdefault(ident, threading.Event())

    def release(self, ident):
        self.event(ident).set()

    def stop(self):
        self.stopped = True
        for ev in list(self.events.values()):
            ev.set()
        self.lsock.close()

    def wait_seen(self, path):
        deadline = time.monotonic() + WAIT
        while path not in self.seen:
            assert time.monotonic() < deadline, (path, self.seen)
            time.sleep(0.01)

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                # h2gate closes a connection before it opens the next:
                # its FIN is in by now, whether or not that connection's
                # thread has seen it yet.
                self.socks = [x for x in self.socks if not peer_closed(x)]
                self.socks.append(s)
                self.max_open = max(self.max_open, len(self.socks))
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        buf = b""
        try:
            # Blocking, no timeout (peer_closed): h2gate's close at the
            # end of the test ends this thread.
            while True:
                while b"\r\n\r\n" not in buf:
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                fields = {}
                for ln in lines[1:]:
                    n, _, v = ln.partition(":")
                    fields[n.strip().lower()] = v.strip()
                body, buf = self._body(s, fields, buf)
                path, _, query = target.partition("?")
                with self.lock:
                    self.seen.append(path)
                ident = path.rsplit("/", 1)[-1]
                if path.startswith("/block/"):
                    self.event(ident).wait(WAIT * 2)
                close = "close=1" in query
                out = b"id=" + ident.encode() + b"\n" + body
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n"
                          % (len(out), b"Connection: close\r\n" if close else b"") + out)
                if close or method == "QUIT":
                    return
        except OSError:
            return
        finally:
            with self.lock:
                if s in self.socks:
                    self.socks.remove(s)
            s.close()

    def _body(self, s, fields, buf):
        def need(n):
            nonlocal buf
            while len(buf) < n:
                d = s.recv(65536)
                if not d:
                    raise OSError("EOF in body")
                buf += d
        if "content-length" in fields:
            n = int(fields["content-length"])
            need(n)
            return buf[:n], buf[n:]
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in buf:
                    need(len(buf) + 1)
                line, rest = buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                buf = rest
                if size == 0:
                    while b"\r\n" not in buf:
                        need(len(buf) + 1)
                    # No trailers from h2gate here: the empty line ends it.
                    buf = buf.split(b"\r\n", 1)[1]
                    return body, buf
                need(size + 2)
                body += buf[:size]
                buf = buf[size + 2:]
        return b"", buf


@pytest.fixture
def backend():
    b = CountingBackend()
    yield b
    b.stop()


def queued(g):
    return scrape(g.admin_port).get("h2gate_backend_queue_length", default=0.0)


def wait_queued(g, n):
    deadline = time.monotonic() + WAIT
    while queued(g) != n:
        assert time.monotonic() < deadline, "queue length %s, want %s" % (queued(g), n)
        time.sleep(0.02)


def bound(n, *more):
    return ["--backend-http1-connections-per-host=%d" % n, *more]


def test_bound_holds_and_every_request_answered(procs, backend):
    g = gate_with_admin(procs, [backend.spec()], extra=bound(2))
    with H2Client(g.port) as c:
        sids = [c.request("/block/%d" % i) for i in range(8)]
        # Two reach the backend, six wait in h2gate.
        wait_queued(g, 6)
        backend.wait_seen("/block/0")
        backend.wait_seen("/block/1")
        for i in range(8):
            backend.release(str(i))
        rs = c.wait_streams(sids, timeout=WAIT)
    assert [r.status for r in rs] == [200] * 8
    for i, r in enumerate(rs):
        assert bytes(r.data) == b"id=%d\n" % i
    # Queued exchanges went to the connections freed by keep-alive.
    assert backend.max_open <= 2 and backend.accepted == 2
    assert sorted(backend.seen) == sorted("/block/%d" % i for i in range(8))
    assert queued(g) == 0


def test_fifo_order(procs, backend):
    g = gate_with_admin(procs, [backend.spec()], extra=bound(1))
    with H2Client(g.port) as c:
        first = c.request("/block/first")
        backend.wait_seen("/block/first")
        sids = [c.request("/x/%d" % i) for i in range(5)]
        wait_queued(g, 5)
        backend.release("first")
        rs = c.wait_streams([first, *sids], timeout=WAIT)
    assert [r.status for r in rs] == [200] * 6
    assert backend.seen == ["/block/first"] + ["/x/%d" % i for i in range(5)]
    assert backend.accepted == 1


def test_h2load_through_bound(procs):
    o = procs.origin(count=True)
    g = procs.gate([o], extra=bound(2))
    r = h2load("http://%s:%d/size/100" % (HOST, g.port), 2000, 4, 20)
    assert r.codes["2xx"] == 2000 and r.failed == 0 and r.errored == 0, r.output
    r = h2load("http://%s:%d/size/100" % (HOST, g.port), 500, 8, 1, h1=True)
    assert r.codes["2xx"] == 500 and r.failed == 0, r.output
    assert o.count() <= 2, o.count()


def test_queued_bodies_h1_and_h2(procs, backend):
    g = gate_with_admin(procs, [backend.spec()], extra=bound(1))
    payload = bytes(range(256)) * 60  # one DATA frame, within the window
    with H2Client(g.port) as c:
        first = c.request("/block/b0")
        backend.wait_seen("/block/b0")
        sid = c.request("/x/b1", method="POST", body=payload)
        with H1Conn(g.port) as h1:
            h1.send(b"POST /x/b2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                    % len(payload) + payload)
            wait_queued(g, 2)
            backend.release("b0")
            r2 = h1.read_response("POST")
        r0, r1 = c.wait_streams([first, sid], timeout=WAIT)
    assert r0.status == 200 and bytes(r0.data) == b"id=b0\n"
    assert r1.status == 200 and bytes(r1.data) == b"id=b1\n" + payload
    assert r2.status == 200 and r2.body == b"id=b2\n" + payload
    assert backend.accepted == 1


def test_cancelled_while_queued_leaves_queue(procs, backend):
    g = gate_with_admin(procs, [backend.spec()], extra=bound(1))
    with H2Client(g.port) as c:
        a = c.request("/block/a")
        backend.wait_seen("/block/a")
        b = c.request("/x/b")
        d = c.request("/x/d")
        wait_queued(g, 2)
        c.conn.reset_stream(b)
        c.flush()
        wait_queued(g, 1)
        # A client that closes its connection while its request waits.
        c2 = H2Client(g.port)
        c2.request("/x/gone")
        wait_queued(g, 2)
        c2.close()
        wait_queued(g, 1)
        backend.release("a")
        ra, rd = c.wait_streams([a, d], timeout=WAIT)
        assert ra.status == 200 and bytes(ra.data) == b"id=a\n"
        assert rd.status == 200 and bytes(rd.data) == b"id=d\n"
        # The connection and the worker carry on.
        e = c.request("/x/e")
        re_, = c.wait_streams([e], timeout=WAIT)
        assert re_.status == 200 and bytes(re_.data) == b"id=e\n"
    assert backend.seen == ["/block/a", "/x/d", "/x/e"]
    assert backend.accepted == 1
    assert queued(g) == 0


def test_wait_timeout_503(procs, backend):
    g = gate_with_admin(procs, [backend.spec()],
                        extra=bound(1, "--backend-connect-timeout=1s"))
    with H2Client(g.port) as c:
        a = c.request("/block/a")
        backend.wait_seen("/block/a")
        b = c.request("/x/b")
        rb, = c.wait_streams([b], timeout=WAIT)
        assert rb.status == 503
        backend.release("a")
        ra, = c.wait_streams([a], timeout=WAIT)
        assert ra.status == 200 and bytes(ra.data) == b"id=a\n"
    snap = scrape(g.admin_port)
    assert snap.get("h2gate_backend_queue_overflows_total") == 1
    assert snap.get("h2gate_backend_queue_length") == 0
    assert backend.seen == ["/block/a"]


def test_queued_goes_to_new_connection_after_close(procs, backend):
    g = gate_with_admin(procs, [backend.spec()], extra=bound(1))
    with H2Client(g.port) as c:
        first = c.request("/block/c0?close=1")
        backend.wait_seen("/block/c0")
        sids = [c.request("/x/c%d?close=1" % i) for i in range(1, 4)]
        wait_queued(g, 3)
        backend.release("c0")
        rs = c.wait_streams([first, *sids], timeout=WAIT)
    assert [r.status for r in rs] == [200] * 4
    assert [bytes(r.data) for r in rs] == [b"id=c%d\n" % i for i in range(4)]
    # Each answer closed its connection: the next waiter got a new one,
    # never two at once.
    assert backend.accepted == 4 and backend.max_open == 1


def test_unbounded_by_default(procs, backend):
    g = gate_with_admin(procs, [backend.spec()])
    with H2Client(g.port) as c:
        sids = [c.request("/block/u%d" % i) for i in range(6)]
        for i in range(6):
            backend.wait_seen("/block/u%d" % i)
        assert queued(g) == 0
        for i in range(6):
            backend.release("u%d" % i)
        rs = c.wait_streams(sids, timeout=WAIT)
    assert [r.status for r in rs] == [200] * 6
    assert backend.max_open == 6


def test_queue_full_503(procs, backend):
    """16,384 wait per member and worker (QUEUE_MAX in upool.c); the
    requests past them are answered 503 at once, the rest served once the
    connection is free."""
    waiting, extra = 16384, 100
    n = 1 + waiting + extra
    g = gate_with_admin(procs, [backend.spec()],
                        extra=bound(1, "--backend-connect-timeout=300s"))
    url = "http://%s:%d/block/all" % (HOST, g.port)
    p = subprocess.Popen(h2load_argv(url, n, 165, 100), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_queued(g, waiting)
        backend.wait_seen("/block/all")
        # The queue can be full while the last requests are still on their
        # way (h2load on a loaded machine): wait until all of them came.
        deadline = time.monotonic() + WAIT
        while scrape(g.admin_port).get("h2gate_backend_queue_overflows_total") < extra:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert scrape(g.admin_port).get("h2gate_backend_queue_overflows_total") == extra
        assert queued(g) == waiting
        backend.release("all")
        out, err = p.communicate(timeout=H2LOAD_TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r = H2loadResult(out.decode(errors="replace"), err.decode(errors="replace"))
    assert r.codes["2xx"] == 1 + waiting and r.codes["5xx"] == extra, r.output
    assert backend.accepted == 1 and len(backend.seen) == 1 + waiting
    assert queued(g) == 0
