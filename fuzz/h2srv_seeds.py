#!/usr/bin/python3
"""Writes the seeds of the h2srv fuzz target into fuzz/corpus/h2srv/.

Each seed is fuzz/h2srv.c's input: one mode byte (how the fake backend
answers) and then HTTP/2 frames as a client sends them after its preface
(the target sends the preface itself). Frames are packed by hand with
python-hpack for the header blocks, so each seed is exactly the sequence
named. Run with Debian's python (python3-hpack): /usr/bin/python3
fuzz/h2srv_seeds.py
"""

import struct
from pathlib import Path

from hpack import Encoder

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20

# Backend modes (fuzz/proxy_rig.h, RIG_*).
M_AT_HEAD, M_CHUNKED, M_CLOSE, M_CONTINUE = 0x01, 0x02, 0x04, 0x08
M_NO_BODY, M_DROP, M_TRUNCATE, M_SHUTDOWN = 0x10, 0x20, 0x40, 0x80


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0,
                 b"".join(struct.pack(">HI", k, v) for k, v in pairs))


class Client:
    def __init__(self):
        self.enc = Encoder()

    def block(self, fields):
        return self.enc.encode(fields)

    def headers(self, sid, fields, end_stream=False, split=0):
        """HEADERS (and CONTINUATION frames of `split` bytes when > 0)."""
        blk = self.block(fields)
        fl = END_STREAM if end_stream else 0
        if not split or len(blk) <= split:
            return frame(HEADERS, fl | END_HEADERS, sid, blk)
        out = frame(HEADERS, fl, sid, blk[:split])
        rest = blk[split:]
        while rest:
            part, rest = rest[:split], rest[split:]
            out += frame(CONTINUATION, 0 if rest else END_HEADERS, sid, part)
        return out


def req(method, path, extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", "fuzz"),
            (":path", path), *extra]


def data(sid, body, end=True):
    return frame(DATA, END_STREAM if end else 0, sid, body)


def seeds():
    pre = settings((0x3, 100), (0x4, 65535))
    ack = settings(ack=True)
    out = {}

    c = Client()
    out["get"] = (0, pre + ack + c.headers(1, req("GET", "/"), end_stream=True))

    c = Client()
    out["get-at-head-close"] = (M_AT_HEAD | M_CLOSE,
                                pre + c.headers(1, req("GET", "/a"), end_stream=True) +
                                c.headers(3, req("GET", "/b"), end_stream=True))

    c = Client()
    out["post-body"] = (0, pre + ack +
                        c.headers(1, req("POST", "/up", [("content-length", "11")])) +
                        data(1, b"hello ", end=False) + data(1, b"world"))

    c = Client()
    out["post-no-cl-chunked-resp"] = (M_CHUNKED,
                                      pre + c.headers(1, req("POST", "/up")) +
                                      data(1, b"x" * 300, end=False) + data(1, b""))

    c = Client()
    out["post-trailers"] = (M_AT_HEAD | M_CHUNKED,
                            pre + c.headers(1, req("POST", "/t", [("te", "trailers")])) +
                            data(1, b"body", end=False) +
                            c.headers(1, [("x-trailer", "1")], end_stream=True))

    c = Client()
    out["get-rst"] = (M_AT_HEAD, pre + c.headers(1, req("GET", "/slow"), end_stream=True) +
                      frame(RST_STREAM, 0, 1, struct.pack(">I", 8)) +
                      c.headers(3, req("GET", "/"), end_stream=True))

    c = Client()
    out["ping-settings-window"] = (
        0, pre + frame(PING, 0, 0, b"12345678") + settings((0x4, 1 << 20), (0x2, 0)) +
        frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 20)) +
        c.headers(1, req("GET", "/"), end_stream=True) +
        frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 4096)) +
        frame(PING, ACK, 0, b"abcdefgh") + ack)

    c = Client()
    out["goaway"] = (M_CONTINUE, pre + c.headers(1, req("GET", "/"), end_stream=True) +
                     frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))

    c = Client()
    big = [("x-h%d" % i, "v" * 40) for i in range(20)]
    out["continuation"] = (M_NO_BODY, pre + c.headers(1, req("GET", "/c", big),
                                                      end_stream=True, split=200))

    # Past nghttp2's limit of 8 CONTINUATION frames: once left the
    # connection open, silent (the regression test is in
    # tests/unit/proxy/h2srv.c).
    c = Client()
    out["too-many-continuations"] = (0, pre + c.headers(1, req("GET", "/c", big),
                                                        end_stream=True, split=64))

    c = Client()
    many = pre
    for i in range(8):
        many += c.headers(1 + 2 * i, req("GET" if i % 2 else "HEAD", "/s%d" % i),
                          end_stream=True)
    out["many-streams"] = (M_AT_HEAD, many)

    c = Client()
    out["backend-drops"] = (M_DROP, pre + c.headers(1, req("GET", "/"), end_stream=True))

    c = Client()
    out["backend-truncates"] = (M_TRUNCATE, pre + c.headers(1, req("GET", "/"),
                                                            end_stream=True))

    c = Client()
    out["shutdown"] = (M_SHUTDOWN | M_AT_HEAD,
                       pre + c.headers(1, req("POST", "/p")) + data(1, b"abc", end=False))

    c = Client()
    out["priority-padded"] = (0, pre + frame(PRIORITY, 0, 3, struct.pack(">IB", 0, 16)) +
                              frame(HEADERS, END_HEADERS | END_STREAM | PADDED | PRIO, 1,
                                    b"\x04" + struct.pack(">IB", 0, 32) +
                                    c.block(req("GET", "/")) + b"\0" * 4))

    c = Client()
    pu = frame(0x10, 0, 0, struct.pack(">I", 1) + b"u=0, i")
    out["rfc9218"] = (M_AT_HEAD, pre + settings((0x9, 1)) +
                      c.headers(1, req("GET", "/", [("priority", "u=5, i")]),
                                end_stream=True) + pu)

    c = Client()
    out["connect"] = (0, pre + c.headers(1, [(":method", "CONNECT"),
                                             (":authority", "127.0.0.1:1")]))

    # DATA after the stream ended both ways, after the client's reset, and
    # after h2gate's (content-length exceeded): answered, answered,
    # dropped. Then PRIORITY on stream 0, a connection error.
    c = Client()
    out["closed-stream-data"] = (
        M_AT_HEAD, pre + ack + c.headers(1, req("GET", "/"), end_stream=True) + data(1, b"late") +
        c.headers(3, req("POST", "/r")) + frame(RST_STREAM, 0, 3, struct.pack(">I", 8)) +
        data(3, b"late") + c.headers(5, req("POST", "/cl", [("content-length", "1")])) +
        data(5, b"too long", end=False) + data(5, b"late") +
        frame(PRIORITY, 0, 0, struct.pack(">IB", 0, 16)))
    return out


def main():
    d = Path(__file__).resolve().parent / "corpus" / "h2srv"
    d.mkdir(parents=True, exist_ok=True)
    for name, (mode, body) in seeds().items():
        (d / name).write_bytes(bytes([mode]) + body)


if __name__ == "__main__":
    main()
