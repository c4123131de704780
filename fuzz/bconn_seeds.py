#!/usr/bin/python3
"""Writes the HTTP/2 backend seeds of the bconn fuzz target into
fuzz/corpus/bconn/ (the HTTP/1.1 ones are plain files there).

Each seed is fuzz/bconn.c's input: the client byte, the backend byte
(bit 2 set: the backend speaks HTTP/2), then the frames the backend sends
on each connection h2gate opens, after the empty SETTINGS the rig sends
for it: more SETTINGS, the ACK of h2gate's, and the answer on stream 1
(and 3). Frames are packed by hand with
python-hpack for the header blocks. Run with Debian's python
(python3-hpack): /usr/bin/python3 fuzz/bconn_seeds.py
"""

import struct
from pathlib import Path

from hpack import Encoder

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4

# fuzz/bconn.c's first byte: the client and its requests.
H2_CLIENT, HEAD, POST, SPECIAL, TWO = 0x01, 0x02, 0x04, 0x06, 0x08
CLOSE, BY_1, BY_7 = 0x10, 0x20, 0x80
# Its second byte.
AT_HEAD, BACKEND_H2 = 0x01, 0x04


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def headers(sid, fields, end=False):
    """A header block that refers to no entry of a block before (a fresh
    encoder each: the seeds are built up front, in any order)."""
    return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), sid,
                 Encoder().encode(fields))


def start():
    return frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) + frame(SETTINGS, ACK, 0)


def ok(sid, body=b"hello"):
    return headers(sid, [(":status", "200"), ("content-length", str(len(body)))]) + \
        frame(DATA, END_STREAM, sid, body)


SEEDS = {
    "h2be-h1-get": (0, ok(1)),
    "h2be-h2-get": (H2_CLIENT, ok(1)),
    "h2be-h1-head": (HEAD, headers(1, [(":status", "200"), ("content-length", "5")], True)),
    "h2be-h2-post-at-head": (H2_CLIENT | POST, ok(1), AT_HEAD),
    "h2be-h2-trailers-by-7": (H2_CLIENT | SPECIAL | BY_7,
                              headers(1, [(":status", "200")]) + frame(DATA, 0, 1, b"body") +
                              headers(1, [("grpc-status", "0")], True)),
    "h2be-h1-chunked-trailers": (0, headers(1, [(":status", "200")]) + frame(DATA, 0, 1, b"ab") +
                                 headers(1, [("x-t", "1")], True)),
    "h2be-h2-103": (H2_CLIENT, headers(1, [(":status", "103"), ("link", "</s.css>; rel=preload")]) +
                    ok(1)),
    "h2be-h2-rst-after-head": (H2_CLIENT, headers(1, [(":status", "200")]) +
                               frame(RST_STREAM, 0, 1, struct.pack(">I", 2))),
    "h2be-h1-goaway-close": (CLOSE, frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0))),
    "h2be-h2-two": (H2_CLIENT | TWO, ok(1) + ok(3, b"second")),
    "h2be-h1-two-by-1": (TWO | BY_1, ok(1) + ok(3, b"second")),
    "h2be-h2-204-with-data": (H2_CLIENT, headers(1, [(":status", "204")]) +
                              frame(DATA, END_STREAM, 1, b"x")),
    "h2be-h2-ping-window": (H2_CLIENT, frame(PING, 0, 0, b"12345678") +
                            frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1000)) + ok(1)),
}


def main():
    out = Path(__file__).resolve().parent / "corpus" / "bconn"
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in SEEDS.items():
        mode, frames = spec[0], spec[1]
        when = BACKEND_H2 | (spec[2] if len(spec) > 2 else 0)
        (out / name).write_bytes(bytes([mode, when]) + start() + frames)
    print("%d seeds in %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
