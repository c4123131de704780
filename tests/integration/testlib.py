"""Client-side helpers for the integration tests: a raw HTTP/1.1 connection,
a python-h2 client over a plain or TLS socket, curl, h2load, and process
memory.

Everything here talks to 127.0.0.1 only, and every blocking call has a
deadline so a misbehaving proxy fails a test instead of hanging the run.
"""

import os
import re
import select
import socket
import ssl
import subprocess
import time

import h2.config
import h2.connection
import h2.events

HOST = "127.0.0.1"


class Deadline(Exception):
    """A test waited longer than its bound for bytes or an event."""


# --------------------------------------------------------------------------
# curl


def curl(args, timeout=30):
    """Run curl with `args`; returns the CompletedProcess (bytes)."""
    return subprocess.run(["curl", "-sS", *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, check=False)


def curl_code(args, timeout=30):
    """curl that prints `%{http_version} %{http_code}` after the body.

    Returns (http_version, http_code, body, CompletedProcess)."""
    p = curl([*args, "-o", "-", "-w", "\n%{http_version} %{http_code}"],
             timeout=timeout)
    body, _, tail = p.stdout.rpartition(b"\n")
    version, _, code = tail.decode().partition(" ")
    return version, code, body, p


# --------------------------------------------------------------------------
# h2load

H2LOAD_TIMEOUT = 120

_H2LOAD_REQUESTS = re.compile(
    r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
    r"(\d+) failed, (\d+) errored", re.M)
_H2LOAD_CODES = re.compile(
    r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", re.M)


class H2loadResult:
    """h2load's summary. h2load counts any answer, a 5xx too, as
    "succeeded": a test that wants successes reads codes["2xx"].

    .codes maps "2xx", "3xx", "4xx", "5xx" to counts; .stdout and .stderr
    are h2load's own, .output both (for assertion messages)."""

    def __init__(self, stdout, stderr=""):
        self.stdout = stdout
        self.stderr = stderr
        req = _H2LOAD_REQUESTS.search(stdout)
        codes = _H2LOAD_CODES.search(stdout)
        assert req and codes, "no h2load summary:\n" + self.output
        (self.total, self.started, self.done, self.succeeded, self.failed,
         self.errored) = map(int, req.groups())
        self.codes = dict(zip(("2xx", "3xx", "4xx", "5xx"),
                              map(int, codes.groups())))

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return ("<h2load total=%d started=%d done=%d succeeded=%d failed=%d "
                "errored=%d %r>" % (self.total, self.started, self.done,
                                    self.succeeded, self.failed, self.errored,
                                    self.codes))


def h2load_argv(url, n, c, m=1, threads=None, h1=False, extra=()):
    """h2load's argv: -n N requests over -c C connections, -m M streams
    each; -t only when `threads` is given (h2load's default is 1)."""
    argv = ["h2load", "-n", str(n), "-c", str(c), "-m", str(m)]
    if threads is not None:
        argv += ["-t", str(threads)]
    if h1:
        argv.append("--h1")
    return [*argv, *extra, url]


def h2load(url, n, c, m=1, threads=None, h1=False, extra=(),
           timeout=H2LOAD_TIMEOUT):
    """Run h2load (stdin from /dev/null, killed after `timeout` seconds)
    and parse its summary; the test fails if it printed none."""
    p = subprocess.run(h2load_argv(url, n, c, m, threads, h1, extra),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, check=False)
    return H2loadResult(p.stdout.decode(errors="replace"),
                        p.stderr.decode(errors="replace"))


def h2load_check(url, n=2000, c=4, m=100, threads=1):
    """h2load where every one of the n requests must be answered 2xx, with
    nothing failed or errored; the H2loadResult."""
    r = h2load(url, n, c, m, threads=threads)
    assert (r.total, r.done, r.succeeded, r.failed, r.errored) == \
        (n, n, n, 0, 0), r.output
    assert r.codes["2xx"] == n, r.output
    return r


# --------------------------------------------------------------------------
# raw HTTP/1.1


class H1Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers   # list of (lower-case name, value) str
        self.body = body

    def header(self, name):
        vals = [v for n, v in self.headers if n == name.lower()]
        return ", ".join(vals) if vals else None

    def __repr__(self):
        return "<H1Response %s %d %r body=%d bytes>" % (
            self.version, self.status, self.headers, len(self.body))


class H1Conn:
    """One raw TCP connection that speaks HTTP/1.1 byte by byte."""

    def __init__(self, port, timeout=10.0, rcvbuf=None, host=HOST, unix=None):
        """unix: a UNIX domain socket's path to connect to instead."""
        family = (socket.AF_UNIX if unix else
                  socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Must be set before connect() to shrink the advertised window.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(str(unix) if unix else (host, port))
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        if self.eof:
            raise EOFError("connection closed by peer")
        left = deadline - time.monotonic()
        if left <= 0:
            raise Deadline("no bytes from the proxy in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout as e:
            raise Deadline("no bytes from the proxy in time") from e
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise EOFError("connection closed by peer")
        self.buf += data

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, method="GET", timeout=None):
        """Read one response (a 1xx counts as one) and its body."""
        deadline = time.monotonic() + (timeout or self.timeout)
        status_line = self._line(deadline).decode("latin-1")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        status = int(status)
        headers = []
        while True:
            line = self._line(deadline)
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        resp = H1Response(version, status, reason, headers, b"")
        te = (resp.header("transfer-encoding") or "").lower()
        cl = resp.header("content-length")
        if method == "HEAD" or status < 200 or status in (204, 304):
            return resp
        if "chunked" in te:
            body = b""
            while True:
                size = int(self._line(deadline).split(b";")[0], 16)
                if size == 0:
                    while self._line(deadline):
                        pass
                    break
                body += self._exact(size, deadline)
                assert self._line(deadline) == b""
            resp.body = body
        elif cl is not None:
            resp.body = self._exact(int(cl), deadline)
        else:
            resp.body = self.read_to_eof(timeout or self.timeout)
        return resp

    def read_to_eof(self, timeout=None):
        """Everything up to the peer's close; Deadline if it never closes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                self._fill(deadline)
            except EOFError:
                out, self.buf = self.buf, b""
                return out

    def recv_some(self, n, timeout=None):
        """Read at least n bytes of raw stream (buffered ones count)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf, b""
        return out


def h1_get(path, host="x"):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()


# --------------------------------------------------------------------------
# python-h2 client


class StreamResult:
    def __init__(self):
        self.headers = None      # list of (bytes, bytes)
        self.informational = []
        self.trailers = None
        self.data = bytearray()
        self.ended = False
        self.reset = None        # error code when RST_STREAM arrived

    @property
    def status(self):
        if self.headers is None:
            return None
        for n, v in self.headers:
            if n == b":status":
                return int(v)
        return None

    @property
    def done(self):
        return self.ended or self.reset is not None

    def __repr__(self):
        return "<stream status=%s ended=%s reset=%s data=%d>" % (
            self.status, self.ended, self.reset, len(self.data))


class _H2Connection(h2.connection.H2Connection):
    """python-h2 treats any received GOAWAY as the end of the connection
    and raises on every later frame, but RFC 9113 6.8 lets the streams up
    to last_stream_id finish (graceful shutdown). Stay open after GOAWAY."""

    def _receive_goaway_frame(self, frame):
        frames, events = super()._receive_goaway_frame(frame)
        self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return frames, events


class H2Client:
    """A python-h2 client on one socket, pumped synchronously.

    strict=False turns off h2's outbound header validation and normalisation
    so malformed requests can be sent as given.

    The socket starts blocking: flush() writes everything before it returns.
    After set_nonblocking() writes are partial: flush() gives the socket
    what it takes at once, keeps the rest in .outbuf, and pump_once()
    writes it as the socket drains, so the client never blocks in send
    while the proxy waits for it to read (tunnel_lib.TunnelH2)."""

    # Hooks for subclasses: the most pump_once reads at a time, and how
    # long one pump_once waits for the socket before it gives its caller
    # the loop back (None: up to the caller's deadline).
    recv_size = 65536
    poll_slice = None

    def __init__(self, port, tls=False, host=HOST, strict=True, timeout=10.0,
                 preamble=b"", cert=None, unix=None):
        """preamble: bytes sent on the socket first (a PROXY header);
        cert: (certfile, keyfile) a TLS client presents; unix: a UNIX
        domain socket's path to connect to instead of host, port."""
        self.timeout = timeout
        if unix:
            raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            raw.settimeout(timeout)
            raw.connect(str(unix))
        else:
            raw = socket.create_connection((host, port), timeout=timeout)
        if preamble:
            raw.sendall(preamble)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            if cert:
                ctx.load_cert_chain(*cert)
            raw = ctx.wrap_socket(raw, server_hostname="localhost")
            assert raw.selected_alpn_protocol() == "h2"
        self.sock = raw
        self.outbuf = bytearray()    # frames the socket has not taken yet
        cfg = h2.config.H2Configuration(
            client_side=True, header_encoding=None,
            validate_outbound_headers=strict,
            normalize_outbound_headers=strict)
        self.conn = _H2Connection(config=cfg)
        self.conn.initiate_connection()
        self.flush()
        self.streams = {}
        self.goaway = None       # last ConnectionTerminated event received
        self.goaways = []        # every one, in order
        self.closed = False
        self.auto_ack = True     # give back flow-control credit as data arrives
        self.events = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_nonblocking(self):
        """Partial writes from now on (see the class comment)."""
        self.sock.setblocking(False)

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.outbuf += data
        self._write()

    def _write(self):
        """Hand .outbuf to the socket: all of it on a blocking socket (as
        sendall), what it takes now on a non-blocking one."""
        while self.outbuf:
            try:
                n = self.sock.send(self.outbuf)
            except (BlockingIOError, ssl.SSLWantWriteError,
                    ssl.SSLWantReadError):
                return
            del self.outbuf[:n]

    def request(self, path="/", method="GET", authority="localhost",
                scheme="http", extra=(), body=None, headers=None,
                end_stream=None):
        """Open a stream; returns its id. `headers` replaces the whole list."""
        sid = self.conn.get_next_available_stream_id()
        if headers is None:
            headers = [(":method", method), (":scheme", scheme),
                       (":authority", authority), (":path", path), *extra]
        headers = [(n.encode() if isinstance(n, str) else n,
                    v.encode() if isinstance(v, str) else v)
                   for n, v in headers]
        if end_stream is None:
            end_stream = body is None
        self.conn.send_headers(sid, headers, end_stream=end_stream)
        self.streams[sid] = StreamResult()
        if body is not None:
            self.send_body(sid, body, end_stream=True)
        self.flush()
        return sid

    def send_body(self, sid, body, end_stream=True):
        # Small bodies only: the tests never need to wait for send credit.
        self.conn.send_data(sid, body, end_stream=end_stream)
        self.flush()

    def pump_once(self, deadline):
        """Wait (up to `deadline`, or poll_slice) until the socket has
        bytes, writing pending output meanwhile; feed what arrived to h2
        and handle its events. Deadline when nothing came in time;
        .closed at the peer's EOF or reset."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise Deadline("no HTTP/2 event in time: %r" % self.streams)
        # TLS may hold decrypted bytes that select() cannot see.
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending:
            wait = left if self.poll_slice is None else min(left,
                                                            self.poll_slice)
            r, w, _ = select.select([self.sock],
                                    [self.sock] if self.outbuf else [], [],
                                    wait)
            if w:
                self._write()
            if not r:
                if time.monotonic() >= deadline:
                    raise Deadline("no HTTP/2 event in time: %r"
                                   % self.streams)
                return
        if self.sock.gettimeout() != 0.0:
            # Blocking: a TLS record may still be arriving; not past the
            # deadline for it.
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            data = self.sock.recv(self.recv_size)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except socket.timeout as e:
            raise Deadline("no HTTP/2 event in time: %r" % self.streams) from e
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return
        for ev in self.conn.receive_data(data):
            self.events.append(ev)
            self.on_event(ev)
        self.flush()

    def on_event(self, ev):
        E = h2.events
        sid = getattr(ev, "stream_id", None)
        st = self.streams.get(sid)
        if isinstance(ev, E.ResponseReceived):
            st.headers = ev.headers
        elif isinstance(ev, E.InformationalResponseReceived):
            st.informational.append(ev.headers)
        elif isinstance(ev, E.TrailersReceived):
            st.trailers = ev.headers
        elif isinstance(ev, E.DataReceived):
            st.data += ev.data
            if self.auto_ack:
                self.conn.acknowledge_received_data(
                    ev.flow_controlled_length, sid)
        elif isinstance(ev, E.StreamEnded):
            st.ended = True
        elif isinstance(ev, E.StreamReset):
            if st is not None:
                st.reset = ev.error_code
        elif isinstance(ev, E.ConnectionTerminated):
            self.goaway = ev
            self.goaways.append(ev)

    def wait(self, cond, timeout=None):
        """Pump until cond() is true; Deadline or EOFError otherwise."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not cond():
            if self.closed:
                raise EOFError("connection closed: %r" % self.streams)
            self.pump_once(deadline)

    def wait_streams(self, sids, timeout=None):
        self.wait(lambda: all(self.streams[s].done for s in sids), timeout)
        return [self.streams[s] for s in sids]


# --------------------------------------------------------------------------
# process memory


def descendants(pid):
    """pid and all its descendants (nghttpx forks worker processes)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def bursty_read(sock, body_len, pause=0.02, timeout=30.0):
    """Reads one HTTP/1.1 response in bursts from sock (plain or TLS):
    sleep, then take everything it holds, so the proxy's socket blocks and
    then drains at once. Returns (head, body) once body_len body bytes came,
    or what came by the deadline or the close."""
    sock.setblocking(False)
    got = bytearray()
    deadline = time.monotonic() + timeout

    def complete():
        i = got.find(b"\r\n\r\n")
        return i >= 0 and len(got) - i - 4 >= body_len
    while not complete() and time.monotonic() < deadline:
        time.sleep(pause)
        while True:
            try:
                d = sock.recv(1 << 20)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            if not d:
                break
            got += d
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    return head, body


def rss_kib(pid):
    """Sum of VmRSS (KiB) over pid and its descendants."""
    total = 0
    for p in descendants(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total
