"""A tiny authoritative DNS server on 127.0.0.1 (UDP) for tests: A and
AAAA answers from a dict the test changes while h2gate runs, with a TTL,
NXDOMAIN for unknown names, and a switch that makes it answer SERVFAIL or
not at all. h2gate reaches it through --dns-server=127.0.0.1:PORT."""
import ipaddress
import socket
import struct
import threading


class DNSServer:
    def __init__(self, ttl=1):
        self.ttl = ttl
        self.records = {}        # "name." lower-case -> [address, ...]
        self.mode = "answer"     # "answer", "servfail" or "drop"
        self.queries = {}        # name -> number of A/AAAA questions
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def set(self, name, addrs):
        with self._lock:
            self.records[name.lower().rstrip(".") + "."] = list(addrs)

    def count(self, name):
        with self._lock:
            return self.queries.get(name.lower().rstrip(".") + ".", 0)

    def close(self):
        self._stop = True
        self._thread.join(timeout=2)
        self.sock.close()

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", q[:6])
        if qdcount != 1:
            return None
        labels, off = [], 12
        while off < len(q) and q[off] != 0:
            n = q[off]
            labels.append(q[off + 1:off + 1 + n].decode("ascii", "replace"))
            off += 1 + n
        off += 1
        if off + 4 > len(q):
            return None
        qtype, qclass = struct.unpack("!HH", q[off:off + 4])
        question = q[12:off + 4]
        name = ".".join(labels).lower() + "."
        with self._lock:
            mode = self.mode
            known = name in self.records
            addrs = list(self.records.get(name, ()))
            if qtype in (1, 28):
                self.queries[name] = self.queries.get(name, 0) + 1
        if mode == "drop":
            return None
        rd = flags & 0x0100
        if mode == "servfail":
            rcode, answers = 2, []
        elif not known:
            rcode, answers = 3, []
        else:
            rcode, answers = 0, []
            for a in addrs:
                ip = ipaddress.ip_address(a)
                if (qtype == 1 and ip.version == 4) or (qtype == 28 and ip.version == 6):
                    answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, self.ttl,
                                               len(ip.packed)) + ip.packed)
        head = struct.pack("!HHHHHH", qid, 0x8400 | rd | 0x0080 | rcode, 1, len(answers), 0, 0)
        return head + question + b"".join(answers)
