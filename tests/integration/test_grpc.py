"""gRPC through h2gate with the real gRPC stack on both ends (Debian's
python3-grpcio: grpc-core's HTTP/2 client and server), cleartext and TLS
in front, an h2c backend: every call kind, large messages, error statuses
(gRPC's Trailers-Only response: one HEADERS frame with END_STREAM), a
client deadline that cancels the backend's call, and a server that
answers a client stream before its end (RST_STREAM(NO_ERROR) after the
status). test_h2_backend.py's python-h2 gRPC imitation did not catch the
Trailers-Only case; grpc-core does."""

import threading
import time
from concurrent import futures

import grpc
import pytest

from obs_lib import gate_with_admin, settle
from testlib import HOST

MAX_MSG = 64 << 20
OPTIONS = [("grpc.max_receive_message_length", MAX_MSG),
           ("grpc.max_send_message_length", MAX_MSG)]


class Service:
    """Methods of service t.S on raw bytes (no protobuf)."""

    def __init__(self):
        self.cancelled = threading.Event()

    def unary(self, req, ctx):
        return req

    def server_stream(self, req, ctx):
        for i in range(100):
            yield b"m%03d" % i

    def client_stream(self, it, ctx):
        return b"%d" % sum(len(m) for m in it)

    def bidi(self, it, ctx):
        for m in it:
            yield m.upper()

    def fail(self, req, ctx):
        ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad thing")

    def slow(self, req, ctx):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not ctx.is_active():
                self.cancelled.set()
                return b""
            time.sleep(0.01)
        return b"late"

    def early(self, it, ctx):
        next(it)
        ctx.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "stop sending")

    def double(self, req, ctx):
        return req * 2


@pytest.fixture
def grpc_backend():
    """(spec for -b, Service): a grpcio server on a free loopback port."""
    svc = Service()
    h = grpc.method_handlers_generic_handler("t.S", {
        "Unary": grpc.unary_unary_rpc_method_handler(svc.unary),
        "SStream": grpc.unary_stream_rpc_method_handler(svc.server_stream),
        "CStream": grpc.stream_unary_rpc_method_handler(svc.client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(svc.bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(svc.fail),
        "Slow": grpc.unary_unary_rpc_method_handler(svc.slow),
        "Early": grpc.stream_unary_rpc_method_handler(svc.early),
        "Double": grpc.unary_unary_rpc_method_handler(svc.double),
    })
    srv = grpc.server(futures.ThreadPoolExecutor(8), options=OPTIONS)
    srv.add_generic_rpc_handlers((h,))
    port = srv.add_insecure_port("%s:0" % HOST)
    srv.start()
    yield "%s,%d;;proto=h2" % (HOST, port), svc
    srv.stop(0)


def channel(g, tls, tls_files):
    if not tls:
        return grpc.insecure_channel("%s:%d" % (HOST, g.port), options=OPTIONS)
    creds = grpc.ssl_channel_credentials(root_certificates=tls_files[1].read_bytes())
    return grpc.secure_channel("%s:%d" % (HOST, g.tls_port), creds,
                               options=OPTIONS + [("grpc.ssl_target_name_override",
                                                   "localhost")])


def method(ch, kind, name):
    return getattr(ch, kind)("/t.S/" + name)


def status(call):
    """(code name, details) of a failing call."""
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value.code().name, e.value.details()


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_every_call_kind(procs, grpc_backend, tls_files, tls):
    spec, _ = grpc_backend
    g = procs.gate([spec])
    with channel(g, tls, tls_files) as ch:
        assert method(ch, "unary_unary", "Unary")(b"hello", timeout=10) == b"hello"
        msgs = list(method(ch, "unary_stream", "SStream")(b"", timeout=10))
        assert msgs == [b"m%03d" % i for i in range(100)]
        total = method(ch, "stream_unary", "CStream")(iter([b"a" * 1000] * 100), timeout=10)
        assert total == b"100000"
        assert list(method(ch, "stream_stream", "Bidi")(iter([b"x", b"yz"]), timeout=10)) \
            == [b"X", b"YZ"]
        big = bytes(range(256)) * (32 << 10)                   # 8 MiB each way
        assert method(ch, "unary_unary", "Double")(big, timeout=30) == big * 2


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_error_status_trailers_only(procs, grpc_backend, tls_files, tls):
    """The server's status with no message before it is one HEADERS frame
    with END_STREAM: the client gets the code and the details (it got
    UNKNOWN "Stream removed" when h2gate split it into a head and an
    empty DATA frame)."""
    spec, _ = grpc_backend
    g = procs.gate([spec])
    with channel(g, tls, tls_files) as ch:
        assert status(lambda: method(ch, "unary_unary", "Fail")(b"", timeout=10)) == \
            ("INVALID_ARGUMENT", "bad thing")
        # The connection carries on.
        assert method(ch, "unary_unary", "Unary")(b"again", timeout=10) == b"again"


def test_deadline_cancels_the_backend_call(procs, grpc_backend, tls_files):
    spec, svc = grpc_backend
    g = procs.gate([spec])
    with channel(g, False, tls_files) as ch:
        assert status(lambda: method(ch, "unary_unary", "Slow")(b"", timeout=0.3)) == \
            ("DEADLINE_EXCEEDED", "Deadline Exceeded")
        # The client's RST_STREAM(CANCEL) reached the backend as one.
        assert svc.cancelled.wait(10)


def test_status_before_the_client_stream_ends(procs, grpc_backend, tls_files):
    """A server that gives its status after one message of a long client
    stream: the client gets that status, not a reset (RFC 9113 8.1:
    h2gate's RST_STREAM(NO_ERROR) follows the status and stops the
    upload)."""
    spec, _ = grpc_backend
    g = gate_with_admin(procs, [spec])

    def upload():
        for _ in range(10000):
            yield b"z" * 16384                                 # 160 MiB if sent
    with channel(g, False, tls_files) as ch:
        assert status(lambda: method(ch, "stream_unary", "Early")(upload(), timeout=30)) == \
            ("RESOURCE_EXHAUSTED", "stop sending")
        assert method(ch, "unary_unary", "Unary")(b"after", timeout=10) == b"after"
    snap = settle(g.admin_port)
    assert snap.get("h2gate_rst_stream_total", direction="sent",
                    error_code="NO_ERROR") == 1
