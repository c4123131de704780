"""Backends for the HTTP/2-backend tests: a python-h2 server (cleartext
prior knowledge or TLS with ALPN h2) and a small HTTP/1.1 server (for
";tls;proto=http/1.1" and chunked trailers), both on an asyncio loop in a
thread, plus a test CA made with openssl.

The h2 server's endpoints:
  /echo            200, the request body; request trailers come back as
                   response trailers named "x-echo-<name>"
  /trailers        200 "body\\n" with trailers x-checksum and x-done
  /trailers/N      200 "body\\n" with N trailers numbered_trailers(N)
  /interim         103 (link) then 200 "final\\n"
  /interim/N       103 with the N link fields numbered_links(N), then
                   200 "final\\n"
  /grpc.Echo/Unary gRPC unary: every request message echoed, then trailers
                   grpc-status 0 (3 when "te: trailers" is missing)
  /grpc.Echo/Bidi  gRPC bidirectional streaming: each message echoed as it
                   arrives, trailers at the request's end
  /rst/N           RST_STREAM with code N
  /cut             200 with content-length 100, 10 bytes of it, then
                   RST_STREAM(NO_ERROR) 0.2 s later
  /early           413 "too big\\n" at once, whatever of the request body
                   is still to come, then RST_STREAM(NO_ERROR) (RFC 9113
                   8.1: the server asks the client to stop uploading)
  /refuse-once/K   REFUSED_STREAM the first time for key K, then 200
  /abort-once/K    the first time for key K, the connection is dropped
                   (abort) as soon as the request head arrives; then 200
  /bad/KIND        a malformed response (see _bad)
  /delay/MS        200 "ok\\n" after MS milliseconds
  /page...         200 "page\n" with a link field for each x-link field
                   of the request (server push tests)
  /chain/N         200 "chain N\n" with "link: </chain/N+1>; rel=preload"
  /res/NAME        200 "res /res/NAME\n" (text/css)
  /noread          takes the request body without returning any credit
  /stopread        stops reading the connection's socket (every stream on
                   it stalls; with window=, the sender can fill the socket)
  anything else    200 "ok\\n"
Control from the test thread: goaway_all() (graceful GOAWAY, in-flight
streams finish, then close), blackhole_all() (open connections go silent),
conns (accepted), reused (TLS sessions resumed), requests (headers seen),
resets (:path of each stream the peer reset before its response ended).
"""

import asyncio
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame

from testlib import HOST


def make_ca(d, name="test-ca"):
    """A CA key and certificate in directory d; returns (key, cert)."""
    key, cert = d / (name + ".key"), d / (name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "7",
                    "-subj", "/CN=" + name],
                   check=True, capture_output=True, timeout=30)
    return key, cert


def make_cert(d, ca, name="backend", cn="localhost",
              san="DNS:localhost,IP:127.0.0.1"):
    """A key and a certificate signed by ca=(key, cert); returns (key, cert)."""
    key, csr, cert = (d / (name + ".key"), d / (name + ".csr"),
                      d / (name + ".crt"))
    ext = d / (name + ".ext")
    ext.write_text("subjectAltName=%s\n" % san)
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(csr),
                    "-subj", "/CN=" + cn],
                   check=True, capture_output=True, timeout=30)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr),
                    "-CA", str(ca[1]), "-CAkey", str(ca[0]),
                    "-CAcreateserial", "-days", "7", "-out", str(cert),
                    "-extfile", str(ext)],
                   check=True, capture_output=True, timeout=30)
    return key, cert


def numbered_trailers(n):
    """n distinct trailer fields in order: x-t-000: v000, x-t-001: v001..."""
    return [(b"x-t-%03d" % i, b"v%03d" % i) for i in range(n)]


def numbered_links(n):
    """n Early Hints link fields with distinct values, in order."""
    return [(b"link", b"</r/%03d.css>; rel=preload" % i) for i in range(n)]


def _count(path, prefix):
    """N from PREFIX/N, or None when path is not PREFIX/<digits>."""
    rest = path[len(prefix):] if path.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def grpc_frame(msg):
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def grpc_split(buf):
    """(messages, rest) of a gRPC length-prefixed byte stream."""
    msgs = []
    while len(buf) >= 5:
        n = struct.unpack(">I", buf[1:5])[0]
        if len(buf) < 5 + n:
            break
        msgs.append(bytes(buf[5:5 + n]))
        buf = buf[5 + n:]
    return msgs, buf


class _Stream:
    def __init__(self, headers):
        self.headers = headers
        self.hmap = {n: v for n, v in headers}
        self.body = bytearray()
        self.trailers = []
        self.out = bytearray()    # response body not yet sent
        self.out_end = False
        self.out_trailers = None
        self.grpc_buf = b""


class _H2Proto(asyncio.Protocol):
    def __init__(self, srv):
        self.srv = srv
        self.streams = {}
        self.blackhole = False
        self.goaway_last = None
        self.highest = 0

    def connection_made(self, transport):
        self.t = transport
        self.srv.conns += 1
        self.srv.protos.add(self)
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            self.srv.reused.append(sslobj.session_reused)
        cfg = h2.config.H2Configuration(client_side=False,
                                        header_encoding=None,
                                        validate_outbound_headers=False,
                                        normalize_outbound_headers=False)
        self.c = h2.connection.H2Connection(config=cfg)
        initial = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS:
                   self.srv.max_streams}
        if self.srv.window:
            initial[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = \
                self.srv.window
        self.c.local_settings = h2.settings.Settings(
            client=False, initial_values=initial)
        self.c.initiate_connection()
        if self.srv.window and self.srv.window > 65535:
            self.c.increment_flow_control_window(self.srv.window - 65535)
        self.flush()

    def connection_lost(self, exc):
        self.srv.protos.discard(self)

    def flush(self):
        if self.blackhole:
            return
        data = self.c.data_to_send()
        if data:
            self.t.write(data)

    def raw(self, *frames):
        """Writes frames behind python-h2's back, in one write."""
        self.flush()
        self.t.write(b"".join(f.serialize() for f in frames))

    def data_received(self, data):
        if self.blackhole:
            return
        try:
            events = self.c.receive_data(data)
        except Exception:
            self.t.close()
            return
        for ev in events:
            self.on_event(ev)
        self.pump()
        self.flush()
        self.maybe_close()

    def on_event(self, ev):
        E = h2.events
        sid = getattr(ev, "stream_id", None)
        if isinstance(ev, E.RequestReceived):
            self.highest = max(self.highest, sid)
            if self.goaway_last is not None and sid > self.goaway_last:
                return  # after our GOAWAY: ignored, as RFC 9113 6.8 says
            st = self.streams[sid] = _Stream(ev.headers)
            self.srv.requests.append(ev.headers)
            self.on_head(sid, st, ev.stream_ended is not None)
        elif isinstance(ev, E.DataReceived):
            st = self.streams.get(sid)
            if st is None:
                # A stream this side has ended (reset, or answered early):
                # the connection's credit only.
                if ev.flow_controlled_length:
                    self.c.increment_flow_control_window(
                        ev.flow_controlled_length)
                return
            if st.hmap.get(b":path") == b"/noread":
                st.body += ev.data
                return  # never gives credit back: the upload must stall
            self.c.acknowledge_received_data(ev.flow_controlled_length, sid)
            st.body += ev.data
            if st.hmap.get(b":path") == b"/grpc.Echo/Bidi":
                msgs, st.grpc_buf = grpc_split(st.grpc_buf + ev.data)
                for m in msgs:
                    self.send(sid, grpc_frame(m.upper()))
        elif isinstance(ev, E.TrailersReceived):
            st = self.streams.get(sid)
            if st is not None:
                st.trailers = ev.headers
        elif isinstance(ev, E.StreamEnded):
            st = self.streams.get(sid)
            if st is not None:
                self.on_end(sid, st)
        elif isinstance(ev, E.StreamReset):
            st = self.streams.pop(sid, None)
            if st is not None:
                self.srv.resets.append(st.hmap.get(b":path"))

    def respond(self, sid, status=200, headers=(), body=b"", trailers=None,
                end=True):
        hs = [(b":status", str(status).encode()), *headers]
        if trailers is None and end and b"content-length" not in dict(hs):
            hs.append((b"content-length", str(len(body)).encode()))
        self.c.send_headers(sid, hs)
        self.send(sid, body, end=end, trailers=trailers)

    def send(self, sid, body, end=False, trailers=None):
        st = self.streams[sid]
        st.out += body
        st.out_end = st.out_end or end
        if trailers is not None:
            st.out_trailers = trailers
        self.pump()

    def pump(self):
        for sid, st in list(self.streams.items()):
            while st.out:
                try:
                    room = min(self.c.local_flow_control_window(sid),
                               self.c.max_outbound_frame_size)
                except Exception:
                    break
                if room <= 0:
                    break
                chunk = bytes(st.out[:room])
                del st.out[:room]
                last = not st.out and st.out_end and st.out_trailers is None
                self.c.send_data(sid, chunk, end_stream=last)
                if last:
                    self.streams.pop(sid, None)
            if st.out or not st.out_end or sid not in self.streams:
                continue
            if st.out_trailers is not None:
                self.c.send_headers(sid, st.out_trailers, end_stream=True)
            else:
                self.c.send_data(sid, b"", end_stream=True)
            self.streams.pop(sid, None)

    def on_head(self, sid, st, ended):
        path = st.hmap.get(b":path", b"/").decode()
        if path == "/stopread":
            self.t.pause_reading()
        elif path.startswith("/rst/"):
            self.c.reset_stream(sid, int(path[5:]))
            self.streams.pop(sid, None)
        elif path.startswith("/refuse-once/"):
            if path not in self.srv.refused:
                self.srv.refused.add(path)
                self.c.reset_stream(sid, 7)
                self.streams.pop(sid, None)
        elif path.startswith("/abort-once/"):
            if path not in self.srv.refused:
                self.srv.refused.add(path)
                self.streams.clear()
                self.t.abort()
        elif path.startswith("/bad/"):
            self._bad(sid, path[5:])
        elif path == "/cut":
            # A head, part of the body, then RST_STREAM(NO_ERROR): the
            # answer is cut, whatever the code says (Node's stream.close()
            # sends NO_ERROR by default).
            self.c.send_headers(sid, [(b":status", b"200"),
                                      (b"content-length", b"100")])
            self.c.send_data(sid, b"0123456789")
            asyncio.get_running_loop().call_later(0.2, self._cut, sid)
        elif path == "/early":
            # RFC 9113 8.1: a whole response before the request's end,
            # then RST_STREAM(NO_ERROR) to stop the upload.
            self.c.send_headers(sid, [(b":status", b"413"),
                                      (b"content-length", b"8")])
            self.c.send_data(sid, b"too big\n", end_stream=True)
            try:
                self.c.reset_stream(sid, 0)
            except h2.exceptions.StreamClosedError:
                pass    # the request had ended too (same read)
            self.streams.pop(sid, None)
        elif path == "/grpc.Echo/Bidi":
            self.c.send_headers(sid, [(b":status", b"200"),
                                      (b"content-type", b"application/grpc")])
        elif path == "/interim":
            self.c.send_headers(sid, [(b":status", b"103"),
                                      (b"link", b"</style.css>; rel=preload")])
        elif _count(path, "/interim/") is not None:
            self.c.send_headers(sid, [(b":status", b"103"),
                                      *numbered_links(_count(path,
                                                             "/interim/"))])

    def on_end(self, sid, st):
        path = st.hmap.get(b":path", b"/").decode()
        if sid not in self.streams or path == "/cut":
            return
        if path == "/echo":
            tr = [(b"x-echo-" + n, v) for n, v in st.trailers] or None
            self.respond(sid, 200, [(b"content-type", b"text/plain")],
                         bytes(st.body), trailers=tr)
        elif path == "/trailers":
            self.respond(sid, 200, [], b"body\n",
                         trailers=[(b"x-checksum", b"abc123"),
                                   (b"x-done", b"yes")])
        elif _count(path, "/trailers/") is not None:
            self.respond(sid, 200, [], b"body\n",
                         trailers=numbered_trailers(_count(path,
                                                           "/trailers/")))
        elif path == "/interim" or _count(path, "/interim/") is not None:
            self.respond(sid, 200, [], b"final\n")
        elif path == "/grpc.Echo/Unary":
            msgs, _ = grpc_split(bytes(st.body))
            ok = st.hmap.get(b"te") == b"trailers"
            out = b"".join(grpc_frame(m.upper()) for m in msgs)
            self.respond(sid, 200, [(b"content-type", b"application/grpc")],
                         out, trailers=[
                             (b"grpc-status", b"0" if ok else b"3"),
                             (b"grpc-message",
                              b"echoed %d" % len(msgs) if ok
                              else b"te: trailers missing")])
        elif path == "/grpc.Echo/Bidi":
            self.send(sid, b"", end=True,
                      trailers=[(b"grpc-status", b"0"),
                                (b"grpc-message", b"bidi done")])
        elif path.startswith("/delay/"):
            ms = int(path[7:])
            asyncio.get_event_loop().call_later(
                ms / 1000.0, self._later, sid, b"ok\n")
        elif path.startswith("/redirect"):
            # 302 to the request's x-location (the Location rewrite)
            self.respond(sid, 302, [(b"location", st.hmap.get(b"x-location", b"/"))],
                         b"moved\n")
        elif path.startswith("/page"):
            links = [(b"link", v) for n, v in st.headers if n == b"x-link"]
            self.respond(sid, 200, links, b"page\n")
        elif _count(path, "/chain/") is not None:
            n = _count(path, "/chain/")
            self.respond(sid, 200, [(b"link", b"</chain/%d>; rel=preload"
                                     % (n + 1))], b"chain %d\n" % n)
        elif path.startswith("/res/"):
            self.respond(sid, 200, [(b"content-type", b"text/css")],
                         b"res " + path.encode() + b"\n")
        elif path.startswith("/headers"):
            body = b"".join(n + b": " + v + b"\n" for n, v in st.headers)
            self.respond(sid, 200, [], body)
        else:
            self.respond(sid, 200, [(b"content-type", b"text/plain")],
                         b"ok after refuse\n"
                         if path.startswith("/refuse-once/") else b"ok\n")

    def _cut(self, sid):
        if sid in self.streams and not self.blackhole:
            self.c.reset_stream(sid, 0)
            self.streams.pop(sid, None)
            self.flush()

    def _later(self, sid, body):
        if sid in self.streams and not self.blackhole:
            self.respond(sid, 200, [], body)
            self.flush()
            self.maybe_close()

    def _bad(self, sid, kind):
        enc = self.c.encoder
        if kind == "no-status":
            self.raw(HeadersFrame(sid, data=enc.encode([(b"x-a", b"1")]),
                                  flags=["END_HEADERS", "END_STREAM"]))
        elif kind == "upper":
            self.raw(HeadersFrame(sid, data=enc.encode(
                [(b":status", b"200"), (b"X-Upper", b"1")]),
                flags=["END_HEADERS", "END_STREAM"]))
        elif kind == "cl-mismatch":
            self.raw(HeadersFrame(sid, data=enc.encode(
                [(b":status", b"200"), (b"content-length", b"10")]),
                flags=["END_HEADERS"]),
                DataFrame(sid, data=b"short", flags=["END_STREAM"]))
        elif kind == "cl-mismatch-late":
            self.raw(HeadersFrame(sid, data=enc.encode(
                [(b":status", b"200"), (b"content-length", b"10")]),
                flags=["END_HEADERS"]))
            asyncio.get_event_loop().call_later(0.5, self.raw, DataFrame(
                sid, data=b"short", flags=["END_STREAM"]))
        elif kind == "data-first":
            self.raw(DataFrame(sid, data=b"oops"),
                     HeadersFrame(sid, data=enc.encode([(b":status", b"200")]),
                                  flags=["END_HEADERS", "END_STREAM"]))
        elif kind == "hpack":
            self.raw(HeadersFrame(sid, data=b"\xff\xff\xff\xff\xff",
                                  flags=["END_HEADERS", "END_STREAM"]))
        elif kind.startswith("status-"):   # three digits, outside 100-599
            self.raw(HeadersFrame(sid, data=enc.encode(
                [(b":status", kind[7:].encode())]),
                flags=["END_HEADERS", "END_STREAM"]))
        self.streams.pop(sid, None)

    def goaway(self):
        """Graceful GOAWAY: streams up to the highest seen finish."""
        if self.goaway_last is not None or self.blackhole:
            return
        self.goaway_last = self.highest
        self.raw(GoAwayFrame(0, last_stream_id=self.highest, error_code=0))
        self.maybe_close()

    def maybe_close(self):
        if self.goaway_last is not None and not any(
                s <= self.goaway_last for s in self.streams):
            self.flush()
            self.t.close()


class _H1Proto(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and chunked bodies: GET /trailers answers
    chunked with trailers, /trailers/N with numbered_trailers(N);
    /interim/N sends a 103 with numbered_links(N), then 200 "final\\n";
    /early answers 413 "too big\\n" after the head and closes, the body
    unread;
    /echo echoes the body and returns the request trailers as response
    trailers "x-echo-<name>"; else 200 "ok\\n"."""

    def __init__(self, srv):
        self.srv = srv
        self.buf = b""

    def connection_made(self, transport):
        self.t = transport
        self.srv.conns += 1
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            self.srv.reused.append(sslobj.session_reused)

    def data_received(self, data):
        self.buf += data
        while True:
            r = self._one()
            if not r:
                return

    def _one(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = self.buf[:end].decode("latin-1").split("\r\n")
        method, path, _ = head[0].split(" ", 2)
        hs = {}
        for line in head[1:]:
            n, _, v = line.partition(":")
            hs[n.strip().lower()] = v.strip()
        rest = self.buf[end + 4:]
        if path == "/early":
            # The answer at once, the body unread; the connection ends.
            self.t.write(b"HTTP/1.1 413 Payload Too Large\r\n"
                         b"content-length: 8\r\nconnection: close\r\n\r\n"
                         b"too big\n")
            self.t.close()
            self.buf = b""
            return False
        body, trailers = b"", []
        if hs.get("transfer-encoding", "").lower() == "chunked":
            pos = 0
            while True:
                le = rest.find(b"\r\n", pos)
                if le < 0:
                    return False
                size = int(rest[pos:le].split(b";")[0], 16)
                if size == 0:
                    te = rest.find(b"\r\n\r\n", le)
                    if te < 0 and rest[le:le + 4] != b"\r\n\r\n":
                        if rest[le + 2:le + 4] == b"\r\n":
                            te = le
                        else:
                            return False
                    block = rest[le + 2:te + 2] if te > le else b""
                    for line in block.split(b"\r\n"):
                        if line:
                            n, _, v = line.partition(b":")
                            trailers.append((n.strip().lower(), v.strip()))
                    pos = (te + 4) if te > le else (le + 4)
                    break
                if len(rest) < le + 2 + size + 2:
                    return False
                body += rest[le + 2:le + 2 + size]
                pos = le + 2 + size + 2
            self.buf = rest[pos:]
        else:
            n = int(hs.get("content-length", "0"))
            if len(rest) < n:
                return False
            body, self.buf = rest[:n], rest[n:]
        self.srv.requests.append((method, path, hs, body, trailers))
        many = _count(path, "/trailers/")
        if path == "/trailers" or many is not None or (
                path == "/echo" and trailers):
            payload = body if path == "/echo" else b"body\n"
            tr = ([(b"x-echo-" + n, v) for n, v in trailers]
                  if path == "/echo" else
                  numbered_trailers(many) if many is not None else
                  [(b"x-checksum", b"abc123"), (b"x-done", b"yes")])
            out = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
                   b"trailer: " + b", ".join(n for n, _ in tr) + b"\r\n\r\n")
            if payload:
                out += b"%x\r\n%s\r\n" % (len(payload), payload)
            out += b"0\r\n" + b"".join(n + b": " + v + b"\r\n"
                                       for n, v in tr) + b"\r\n"
        elif path.startswith("/redirect"):
            out = (b"HTTP/1.1 302 Found\r\nlocation: %s\r\ncontent-length: 6\r\n\r\n"
                   b"moved\n" % hs.get("x-location", "/").encode("latin-1"))
        elif _count(path, "/interim/") is not None:
            out = (b"HTTP/1.1 103 Early Hints\r\n"
                   + b"".join(n + b": " + v + b"\r\n" for n, v in
                              numbered_links(_count(path, "/interim/")))
                   + b"\r\nHTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n"
                   b"final\n")
        else:
            payload = body if path == "/echo" else b"ok\n"
            out = (b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s"
                   % (len(payload), payload))
        self.t.write(out)
        return True


class Backend:
    """An asyncio server in a thread. h1=True: HTTP/1.1; tls=(key, cert);
    window: the h2 server's initial stream and connection windows; unix:
    a UNIX domain socket path to listen on instead of a loopback port
    (.port is then None); ciphers: TLS 1.2 only, with these suites;
    rcvbuf: the receive buffer of the connections it accepts (a small one
    fills at once, so h2gate's writes to it fall short). A subclass may
    serve HTTP/2 with its own _H2Proto subclass (h2_proto)."""

    h2_proto = _H2Proto

    def __init__(self, tls=None, h1=False, max_streams=100, client_ca=None,
                 window=None, unix=None, ciphers=None, rcvbuf=None):
        self.window = window
        self.unix = str(unix) if unix else None
        self.port = None
        self.conns = 0
        self.reused = []
        self.requests = []
        self.resets = []
        self.refused = set()
        self.protos = set()
        self.max_streams = max_streams
        self.loop = asyncio.new_event_loop()
        ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[1]), str(tls[0]))
            ctx.set_alpn_protocols(["http/1.1"] if h1 else ["h2"])
            if client_ca:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(str(client_ca))
            if ciphers:     # TLS 1.2 with only these suites
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers(ciphers)
        proto = _H1Proto if h1 else self.h2_proto
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            if self.unix:
                self.server = self.loop.run_until_complete(self.loop.create_unix_server(
                    lambda: proto(self), self.unix, ssl=ctx, backlog=1024))
            else:
                self.server = self.loop.run_until_complete(self.loop.create_server(
                    lambda: proto(self), HOST, 0, ssl=ctx, backlog=1024))
                self.port = self.server.sockets[0].getsockname()[1]
            if rcvbuf:  # accepted connections inherit it
                self.server.sockets[0].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def spec(self, params=";;proto=h2"):
        if self.unix:
            return "unix:%s%s" % (self.unix, params)
        return "%s,%d%s" % (HOST, self.port, params)

    def call(self, fn):
        done = threading.Event()

        def wrap():
            try:
                fn()
            finally:
                done.set()
        self.loop.call_soon_threadsafe(wrap)
        assert done.wait(10)

    def goaway_all(self):
        self.call(lambda: [p.goaway() for p in list(self.protos)])

    def blackhole_all(self):
        def bh():
            for p in list(self.protos):
                p.blackhole = True
        self.call(bh)

    def stop(self):
        def st():
            self.server.close()
            for p in list(self.protos):
                p.t.abort()
            self.loop.stop()
        self.loop.call_soon_threadsafe(st)
        self.thread.join(10)


def wait_for(cond, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0")
