"""Helpers for the CONNECT tunnel tests: loopback TCP targets written in
python (threaded, every one stopped at teardown, each counting the
connections it accepted), an HTTP/2 CONNECT client that moves large
amounts both ways under flow control, and a raw HTTP/1.1 CONNECT client.

Loopback only; every wait has a deadline.
"""

import hashlib
import os
import select
import socket
import ssl
import threading
import time

import h2.events
import h2.settings

from testlib import HOST, Deadline, H1Conn, H1Response, H2Client

MIB = 1 << 20


# --------------------------------------------------------------------------
# targets


class TargetServer:
    """A threaded TCP server on 127.0.0.1 (and ::1 on the same port when
    `v6` and the host has IPv6 loopback). Each accepted connection runs
    handler(server, conn) in its own thread. .accepted counts connections
    taken; .results collects what handlers report."""

    def __init__(self, handler, v6=False, backlog=128, rcvbuf=None):
        """rcvbuf: SO_RCVBUF of the listening sockets, which accepted
        connections inherit (a target that holds little in its kernel)."""
        self.handler = handler
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.accepted = 0
        self.results = []
        self.conns = []
        self.threads = []
        self.socks = []
        for _ in range(20):
            s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s4.bind((HOST, 0))
            port = s4.getsockname()[1]
            socks = [s4]
            if v6 and socket.has_ipv6:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    s6.bind(("::1", port))
                    socks.append(s6)
                except OSError as e:
                    s6.close()
                    if e.errno == 98:        # EADDRINUSE: try another port
                        s4.close()
                        continue
                    # EADDRNOTAVAIL: no IPv6 loopback here; IPv4 only
            break
        self.port = port
        self.socks = socks
        for s in socks:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.listen(backlog)
            s.settimeout(0.2)
            t = threading.Thread(target=self._accept_loop, args=(s,),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _accept_loop(self, s):
        while not self.stopping.is_set():
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.conns.append(c)
            c.settimeout(0.2)
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            with self.lock:
                self.threads.append(t)
            t.start()

    def _run(self, c):
        try:
            self.handler(self, c)
        except OSError:
            pass

    def report(self, value):
        with self.lock:
            self.results.append(value)

    def wait_accepted(self, n, timeout=10.0):
        """The accept count once it reaches n (or what it is at the
        deadline): h2gate answers 200 as soon as the kernel completes the
        connect, before this server's accept thread has counted it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.accepted >= n:
                    return self.accepted
            time.sleep(0.02)
        with self.lock:
            return self.accepted

    def wait_results(self, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.results) >= n:
                    return list(self.results)
            if time.monotonic() > deadline:
                raise Deadline("target reported %d of %d results"
                               % (len(self.results), n))
            time.sleep(0.02)

    # Blocking helpers for handlers: they give up when the server stops.

    def recv(self, c, n=65536):
        """Some bytes, b"" at EOF; None when the server is stopping."""
        while not self.stopping.is_set():
            try:
                return c.recv(n)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return b""
        return None

    def recv_to_eof(self, c, limit=None):
        out = bytearray()
        while True:
            data = self.recv(c)
            if not data:
                return bytes(out), data == b""
            out += data
            if limit is not None and len(out) >= limit:
                return bytes(out), False

    def sendall(self, c, data):
        view = memoryview(data)
        while view and not self.stopping.is_set():
            try:
                n = c.send(view)
            except socket.timeout:
                continue
            view = view[n:]
        return not view

    def stop(self):
        self.stopping.set()
        for s in self.socks:
            s.close()
        with self.lock:
            threads = list(self.threads)
            conns = list(self.conns)
        for t in threads:
            t.join(timeout=5)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass


def echo_handler(srv, c):
    """Echo every byte; half-close after the peer's EOF. Reports "eof" on
    a clean EOF, "reset" when the peer reset the connection (a socket
    closed with unread bytes in it resets)."""
    try:
        while True:
            data = srv.recv(c)
            if data is None:
                return
            if not data:
                c.shutdown(socket.SHUT_WR)
                srv.report("eof")
                return
            if not srv.sendall(c, data):
                return
    except OSError:
        srv.report("reset")


def hello_handler(srv, c):
    """Node's example server: read a name up to EOF, answer `hello NAME`
    and close."""
    name, eof = srv.recv_to_eof(c)
    if eof:
        srv.sendall(c, b"hello " + name)
        srv.report(name)
    c.close()


def line_hello_handler(srv, c):
    """Read one line NAME\\n, answer `hello NAME\\n`, close (for clients
    that never half-close, like curl's telnet://)."""
    buf = b""
    while b"\n" not in buf:
        data = srv.recv(c)
        if not data:
            c.close()
            return
        buf += data
    name = buf.split(b"\n", 1)[0].rstrip(b"\r")
    srv.sendall(c, b"hello " + name + b"\n")
    srv.report(name)
    c.shutdown(socket.SHUT_WR)
    srv.recv_to_eof(c)   # until the peer closes (the relay's close)
    c.close()


def sink_source_handler(down):
    """Send `down` bytes while reading everything the peer sends, at once;
    after the peer's EOF report (bytes received, their sha256). Closes when
    both directions are done."""

    def handler(srv, c):
        c.settimeout(None)
        c.setblocking(False)
        view = memoryview(down)
        h = hashlib.sha256()
        got = 0
        eof = False
        while not srv.stopping.is_set() and (view or not eof):
            r, w, _ = select.select([c] if not eof else [],
                                    [c] if view else [], [], 0.2)
            if r:
                try:
                    data = c.recv(1 << 18)
                except (BlockingIOError, InterruptedError):
                    data = None
                if data == b"":
                    eof = True
                elif data:
                    h.update(data)
                    got += len(data)
            if w:
                try:
                    n = c.send(view[:1 << 18])
                    view = view[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                if not view:
                    c.shutdown(socket.SHUT_WR)
        srv.report((got, h.hexdigest(), not view))
        c.close()
    return handler


def scripted_half_close_handler(first):
    """Send `first`, half-close (FIN) at once, then read to the peer's EOF
    and report what arrived."""

    def handler(srv, c):
        srv.sendall(c, first)
        c.shutdown(socket.SHUT_WR)
        data, eof = srv.recv_to_eof(c)
        srv.report((data, eof))
        c.close()
    return handler


def reply_after_eof_handler(reply_prefix):
    """Read to the peer's EOF, then send prefix + what arrived (so the
    target writes after its reading side has ended), then close."""

    def handler(srv, c):
        data, eof = srv.recv_to_eof(c)
        srv.report((data, eof))
        if eof:
            srv.sendall(c, reply_prefix + data)
        c.close()
    return handler


class StreamSource:
    """Accepts connections and writes zero bytes into each as fast as the
    peer takes them, up to `total`; .sent is what the kernel accepted so
    far (all connections)."""

    def __init__(self, total):
        self.total = total
        self.sent = 0
        self.server = TargetServer(self._handler)
        self.port = self.server.port

    def _handler(self, srv, c):
        chunk = b"\0" * 65536
        left = self.total
        while left and not srv.stopping.is_set():
            try:
                n = c.send(chunk[:min(left, len(chunk))])
            except socket.timeout:
                continue
            left -= n
            with srv.lock:
                self.sent += n
        srv.report(self.total - left)

    def wait_stalled(self, quiet=1.0, timeout=60.0):
        """Poll until .sent stopped growing for `quiet` seconds (the
        pipeline is full and nothing moves); returns .sent. A state, not a
        speed: it fails only if the data never stops flowing."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            cur = self.sent
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return cur
            time.sleep(0.05)
        raise Deadline("the source never stalled: %d bytes sent" % self.sent)

    def stop(self):
        self.server.stop()


class Blackhole:
    """A listener whose accept queue is full and is never drained, so a
    further connect() gets no SYN-ACK and hangs until the caller's timeout.
    listen(0) keeps one connection in the queue; one filler connection
    takes that place."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(2):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex((HOST, self.port))
            self.fillers.append(f)
        # The first filler completes; the second is already hanging.
        _, w, _ = select.select([], self.fillers[:1], [], 5)
        assert w, "the first filler connection never completed"

    def probe_hangs(self, wait=0.5):
        """True if a fresh connect() gets no answer within `wait` (the
        premise of the 504 test; checked, not assumed)."""
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex((HOST, self.port))
            _, w, _ = select.select([], [s], [], wait)
            return not w
        finally:
            s.close()

    def stop(self):
        for f in self.fillers:
            f.close()
        self.sock.close()


def closed_port():
    """A loopback port nobody listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# HTTP/2 CONNECT client


def connect_headers(authority, extra=()):
    return [(":method", "CONNECT"), (":authority", authority), *extra]


class TunnelH2(H2Client):
    """H2Client that opens CONNECT streams and moves data both ways with a
    non-blocking socket: it never blocks in send while the proxy waits for
    it to read. `window` (if set) raises the client's receive windows."""

    recv_size = 1 << 18
    # Callers' loops also watch state other threads change (a source's
    # byte count): give them the loop back at least twice a second.
    poll_slice = 0.5

    def __init__(self, port, tls=False, window=None, **kw):
        kw.setdefault("strict", False)
        super().__init__(port, tls=tls, **kw)
        if window:
            self.conn.update_settings({
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
            if window > 65535:
                self.conn.increment_flow_control_window(window - 65535)
            self.flush()
        self.set_nonblocking()

    def __exit__(self, *exc):
        self.close_gracefully()

    def close_gracefully(self, timeout=5.0):
        """FIN, then read and drop what the proxy still sends until its
        EOF (at most `timeout` s), then close. A close() with unread bytes
        in the socket makes the kernel reset the connection and drop what
        it had not sent yet: the last DATA frames and the END_STREAM a
        test has just "sent" (h2gate's WINDOW_UPDATEs are such bytes)."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(0.2)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    if not self.sock.recv(1 << 16):
                        break
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
        except OSError:
            pass
        self.close()

    def poll(self, timeout):
        """Pump for up to `timeout` seconds; no error if nothing came."""
        try:
            self.pump_once(time.monotonic() + timeout)
        except Deadline:
            pass

    def open(self, authority, extra=(), headers=None):
        """Send a CONNECT HEADERS frame (no END_STREAM); the stream id."""
        return self.request(headers=headers or connect_headers(authority,
                                                               extra),
                            end_stream=False)

    def open_wait(self, authority, extra=(), timeout=None):
        sid = self.open(authority, extra)
        self.wait(lambda: self.streams[sid].headers is not None
                  or self.streams[sid].done, timeout)
        return sid

    def send_all(self, sids_data, end_stream=True, until=None, timeout=60.0):
        """Send each stream's data as flow control allows, pumping input
        meanwhile; then END_STREAM each (if asked). Then pump until
        until() (if given)."""
        deadline = time.monotonic() + timeout
        todo = {sid: memoryview(d) for sid, d in sids_data.items()}
        while todo:
            progressed = False
            for sid in list(todo):
                view = todo[sid]
                if self.streams[sid].reset is not None:
                    raise AssertionError("stream %d reset while sending: %r"
                                         % (sid, self.streams[sid]))
                while view:
                    room = min(self.conn.local_flow_control_window(sid),
                               self.conn.max_outbound_frame_size, len(view))
                    if room <= 0 or len(self.outbuf) > (1 << 20):
                        break
                    self.conn.send_data(sid, bytes(view[:room]))
                    view = view[room:]
                    progressed = True
                    self.flush()
                if not view:
                    if end_stream:
                        self.conn.end_stream(sid)
                        self.flush()
                    del todo[sid]
                else:
                    todo[sid] = view
            if todo and not progressed or self.outbuf:
                if self.closed:
                    raise EOFError("connection closed: %r" % self.streams)
                self.pump_once(deadline)
        # Everything queued reaches the socket before this returns: a
        # caller that closes once until() holds (the proxy ended the
        # stream its way) would otherwise drop the last DATA and the
        # END_STREAM still in .outbuf.
        while self.outbuf:
            if self.closed:
                raise EOFError("connection closed: %r" % self.streams)
            self.pump_once(deadline)
        if until is not None:
            self.wait(until, timeout=max(0.1, deadline - time.monotonic()))

    def end(self, sid):
        """END_STREAM on sid, written out whole: the socket is
        non-blocking, so a flush may leave bytes queued (the last DATA
        frames a slow proxy has not read yet), and nothing would send them
        while the test waits on the target."""
        self.conn.end_stream(sid)
        self.flush()
        deadline = time.monotonic() + self.timeout
        while self.outbuf and time.monotonic() < deadline:
            self.poll(0.05)
        assert not self.outbuf, "%d bytes never taken by the proxy" % len(self.outbuf)

    def reset(self, sid, code=0x8):
        self.conn.reset_stream(sid, code)
        self.flush()


def header(st, name):
    """A response header's value (str) from a StreamResult, or None."""
    name = name.encode() if isinstance(name, str) else name
    for n, v in st.headers or ():
        if n == name:
            return v.decode("latin-1")
    return None


# --------------------------------------------------------------------------
# HTTP/1.1 CONNECT client


def read_h1_head(c, timeout=None):
    """Read a response head only (for a 200 to CONNECT, which has no body:
    read_response would wait for one)."""
    deadline = time.monotonic() + (timeout or c.timeout)
    line = c._line(deadline).decode("latin-1")
    version, status, reason = (line.split(" ", 2) + [""])[:3]
    headers = []
    while True:
        ln = c._line(deadline)
        if not ln:
            break
        n, _, v = ln.decode("latin-1").partition(":")
        headers.append((n.strip().lower(), v.strip()))
    return H1Response(version, int(status), reason, headers, b"")


def h1_tunnel(port, target, extra=(), timeout=10.0, unix=None):
    """CONNECT over HTTP/1.1; (H1Conn, head). Error answers get their body
    read into head.body (they carry a content-length). unix: connect to
    that UNIX domain socket's path instead of port."""
    c = H1Conn(port, timeout=timeout, unix=unix)
    head = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (target, target)
    for n, v in extra:
        head += "%s: %s\r\n" % (n, v)
    c.send((head + "\r\n").encode())
    r = read_h1_head(c)
    if r.status != 200:
        cl = r.header("content-length")
        if cl is not None:
            r.body = c._exact(int(cl), time.monotonic() + timeout)
    return c, r


def random_bytes(n):
    return os.urandom(n)


def echo_rounds(c, sid, rounds, size):
    """Sends `rounds` messages of about `size` random bytes on c's tunnel
    sid to an echoing target, each one waited for and compared with what
    comes back; returns the bytes echoed."""
    st = c.streams[sid]
    total = 0
    for i in range(rounds):
        msg = b"round %d " % i + random_bytes(size)
        c.send_all({sid: msg}, end_stream=False,
                   until=lambda: len(st.data) >= total + len(msg))
        assert bytes(st.data[total:]) == msg
        total += len(msg)
    return total


def sha(b):
    return hashlib.sha256(b).hexdigest()
