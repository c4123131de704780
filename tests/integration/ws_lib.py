"""Helpers for the WebSocket tests: RFC 6455 framing, a WebSocket backend
of our own (threaded, on tunnel_lib.TargetServer, also answering plain
HTTP/1.1 requests on the same connection) and a small blocking client.

The backend's behaviour is chosen by the request path:
  /ws           handshake (101), then echo every message, answer PING with
                PONG and CLOSE with CLOSE, then close the TCP connection
  /ws/close     as /ws, but the backend sends CLOSE after its first echo
  /ws/flood     handshake, then send binary frames until the peer is gone
  /ws/reset     as /ws, but the backend resets the TCP connection (RST)
                on its second message, after echoing the first
  /ws/bad-accept  a 101 whose Sec-WebSocket-Accept is not the key's, then
                as /ws
  /raw          with an Upgrade field: 101 naming the same protocol,
                then every byte echoed as is (--allow-upgrade tokens)
  /refuse/NNN   an Upgrade request answered NNN with a short body, the
                connection kept alive (no switch)
  anything else 200, the body a JSON object of the request: method, path,
                headers (lower-case names, values), body length
Every request head is reported (srv.results) as (method, path, headers).

Loopback only; every wait has a deadline.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import time

from testlib import HOST, Deadline
from tunnel_lib import TargetServer

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
MAX_MESSAGE = 8 << 20


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def frame(opcode, payload=b"", mask=False, fin=True):
    """One frame; clients mask (RFC 6455 §5.3), servers do not."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + _xor(payload, key)


def _xor(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        len(data), "big")


class FrameReader:
    """Frames from a byte source: read(n) returns some bytes (b"" at EOF)."""

    def __init__(self, read):
        self.read = read
        self.buf = b""

    def _need(self, n):
        while len(self.buf) < n:
            data = self.read()
            if not data:
                raise EOFError("connection closed")
            self.buf += data

    def _take(self, n):
        self._need(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        """(fin, opcode, payload), unmasked."""
        b0, b1 = self._take(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        if n > MAX_MESSAGE:
            raise ValueError("frame too large")
        key = self._take(4) if b1 & 0x80 else None
        payload = self._take(n)
        if key:
            payload = _xor(payload, key)
        return bool(b0 & 0x80), b0 & 0x0f, payload

    def message(self):
        """(opcode, payload) of the next message or control frame;
        fragments are joined."""
        fin, op, data = self.frame()
        if op >= OP_CLOSE:
            return op, data
        while not fin:
            fin, cop, more = self.frame()
            if cop >= OP_CLOSE:
                continue   # control frames inside a message: not used here
            data += more
        return op, data


# --------------------------------------------------------------------------
# the backend


def _read_head(srv, c, buf):
    """(head bytes, rest) or (None, buf) at EOF / stop."""
    while b"\r\n\r\n" not in buf:
        data = srv.recv(c)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def _parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return method, path, headers


def _get(headers, name):
    vals = [v for n, v in headers if n == name]
    return ", ".join(vals) if vals else None


def _respond(srv, c, status, body, extra=""):
    srv.sendall(c, ("HTTP/1.1 %d X\r\ncontent-length: %d\r\n%s\r\n"
                    % (status, len(body), extra)).encode() + body)


def ws_backend_handler(srv, c):
    buf = b""
    while True:
        head, buf = _read_head(srv, c, buf)
        if head is None:
            return
        method, path, headers = _parse_head(head)
        srv.report((method, path, headers))
        n = int(_get(headers, "content-length") or 0)
        while len(buf) < n:
            data = srv.recv(c)
            if not data:
                return
            buf += data
        body, buf = buf[:n], buf[n:]
        if path.startswith("/refuse/"):
            status = int(path.split("/")[2])
            _respond(srv, c, status, b"refused %d\n" % status)
            continue
        if path == "/raw" and _get(headers, "upgrade"):
            srv.sendall(c, ("HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: %s\r\nConnection: Upgrade\r\n\r\n"
                            % _get(headers, "upgrade")).encode())
            _raw_echo(srv, c, buf)
            return
        if path.startswith("/ws"):
            key = _get(headers, "sec-websocket-key")
            if path == "/ws/bad-accept":
                key = "not the key"
            srv.sendall(c, ("HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n\r\n"
                            % accept_key(key or "")).encode())
            _ws_session(srv, c, path, buf)
            c.close()   # the WebSocket's TCP close follows its CLOSE
            return
        info = {"method": method, "path": path, "headers": headers,
                "body_len": len(body)}
        _respond(srv, c, 200, json.dumps(info).encode(),
                 "content-type: application/json\r\n")


def _raw_echo(srv, c, buf):
    if buf:
        srv.sendall(c, buf)
    while True:
        data = srv.recv(c)
        if not data:
            c.close()
            return
        srv.sendall(c, data)


def _ws_session(srv, c, path, buf):
    if path == "/ws/flood":
        chunk = frame(OP_BIN, b"f" * 65536)
        while srv.sendall(c, chunk):
            with srv.lock:
                srv.flood_sent = getattr(srv, "flood_sent", 0) + len(chunk)
        srv.report("flood-ended")
        return
    pending = [buf] if buf else []

    def read():
        if pending:
            return pending.pop()
        return srv.recv(c) or b""

    r = FrameReader(read)
    echoed = False
    try:
        while True:
            op, data = r.message()
            if op == OP_PING:
                srv.sendall(c, frame(OP_PONG, data))
            elif op == OP_CLOSE:
                srv.sendall(c, frame(OP_CLOSE, data[:2]))
                srv.report("close-from-client")
                return
            elif op in (OP_TEXT, OP_BIN):
                if path == "/ws/reset" and echoed:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    srv.report("reset")
                    return
                srv.sendall(c, frame(op, data))
                echoed = True
                if path == "/ws/close":
                    srv.sendall(c, frame(OP_CLOSE, struct.pack("!H", 1000)))
                    r.message()  # the client's CLOSE answer
                    srv.report("close-from-server")
                    return
    except (EOFError, ValueError, OSError):
        srv.report("eof")


def ws_backend():
    return TargetServer(ws_backend_handler)


# --------------------------------------------------------------------------
# the client


def upgrade_request(path, host="ws.test", key=None, extra=(), body=None):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host,
             "Connection: Upgrade", "Upgrade: websocket",
             "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13",
             *extra]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""), key


class WSClient:
    """A blocking RFC 6455 client over an H1Conn-like raw socket."""

    def __init__(self, port, path="/ws", timeout=10.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((HOST, port))
        self.timeout = timeout
        req, key = upgrade_request(path)
        self.sock.sendall(req)
        self.buf = b""
        head = self._head()
        self.status_line, self.headers = head
        if " 101 " not in self.status_line + " ":
            raise AssertionError("no switch: %s" % self.status_line)
        got = dict(self.headers).get("sec-websocket-accept")
        if got != accept_key(key):
            raise AssertionError("bad Sec-WebSocket-Accept %r" % got)
        first, self.buf = self.buf, b""
        pending = [first] if first else []

        def read():
            if pending:
                return pending.pop()
            try:
                return self.sock.recv(262144)
            except socket.timeout as e:
                raise Deadline("no WebSocket bytes in time") from e
            except ConnectionResetError:
                return b""
        self.reader = FrameReader(read)

    def _head(self):
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in self.buf:
            if time.monotonic() > deadline:
                raise Deadline("no 101 in time")
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed before the answer: %r" % self.buf)
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        hdrs = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            hdrs.append((name.strip().lower(), value.strip()))
        return lines[0], hdrs

    def send(self, opcode, payload):
        self.sock.sendall(frame(opcode, payload, mask=True))

    def recv(self):
        return self.reader.message()

    def echo(self, opcode, payload):
        self.send(opcode, payload)
        op, data = self.recv()
        assert (op, data) == (opcode, payload), (op, len(data))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_flood_stalled(srv, quiet=1.0, timeout=60.0):
    """Poll until the /ws/flood backend's byte count stopped growing for
    `quiet` seconds (every buffer on the way is full); returns it. A
    state, not a speed."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        cur = getattr(srv, "flood_sent", 0)
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since >= quiet and cur > 0:
            return cur
        time.sleep(0.05)
    raise Deadline("the flood never stalled")


# --------------------------------------------------------------------------
# an HTTP/2 WebSocket backend (RFC 8441): Node's http2 module


NODE_H2_BACKEND = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "node_h2_ws_backend.js")


class NodeH2WSBackend:
    """node_h2_ws_backend.js in a child process (stopped by its PID); its
    JSON event lines gather in .events. connect_protocol=False leaves out
    SETTINGS_ENABLE_CONNECT_PROTOCOL; tls=(key, cert) serves TLS."""

    def __init__(self, connect_protocol=True, tls=None, timeout=15.0):
        import json as _json
        import subprocess
        import threading
        argv = ["node", NODE_H2_BACKEND]
        if not connect_protocol:
            argv.append("--no-connect-protocol")
        if tls:
            argv += ["--tls", str(tls[0]), str(tls[1])]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.events = []
        self.lock = threading.Lock()
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening "):
            self.stop()
            raise AssertionError("node backend did not start: %r" % line)
        self.port = int(line.split()[1])

        def pump():
            for raw in self.proc.stdout:
                try:
                    ev = _json.loads(raw)
                except ValueError:
                    ev = {"ev": "text", "line": raw.decode("replace")}
                with self.lock:
                    self.events.append(ev)
        self.thread = threading.Thread(target=pump, daemon=True)
        self.thread.start()
        self.timeout = timeout

    def spec(self, pattern="", params=";proto=h2"):
        return "%s,%d;%s%s" % (HOST, self.port, pattern, params)

    def streams(self):
        with self.lock:
            return [e for e in self.events if e.get("ev") == "stream"]

    def wait_streams(self, n, timeout=None):
        """Polls until n stream heads have been reported; returns them."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.streams()) < n:
            if time.monotonic() > deadline:
                raise Deadline("backend saw %d streams" % len(self.streams()))
            time.sleep(0.02)
        return self.streams()

    def wait_event(self, pred, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            with self.lock:
                for e in self.events:
                    if pred(e):
                        return e
            if time.monotonic() > deadline:
                raise Deadline("no such backend event: %r" % self.events)
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdout.close()
