"""Client certificates: --verify-client, --verify-client-cacert,
--forward-client-cert (RFC 9440 Client-Cert and Client-Cert-Chain to
backends), the access log's $tls_client_* variables and the handshake
failure metric's "certificate" reason."""

import base64
import re
import socket
import ssl

import pytest

from conftest import IS_NGHTTPX, free_port
from h2backend_lib import wait_for
from obs_lib import scrape
from test_headers import parse, values
from testlib import HOST, H2Client
from tls_lib import CA, run

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's option names")


@pytest.fixture
def pki(tmp_path):
    """A server CA and leaf, a client CA with a client and an
    intermediate-signed client, and a stranger CA with a client."""
    class P:
        pass
    p = P()
    p.server_ca = CA(tmp_path / "sca", "server CA")
    p.server = p.server_ca.leaf("server", "localhost", ["localhost"])
    p.client_ca = CA(tmp_path / "cca", "client CA")
    p.client = p.client_ca.leaf("alice", "alice", client=True, serial=0x1234ab)
    p.stranger_ca = CA(tmp_path / "xca", "stranger CA")
    p.stranger = p.stranger_ca.leaf("mallory", "mallory", client=True)
    return p


def der(pem_path):
    return run(["openssl", "x509", "-in", str(pem_path), "-outform", "DER"]).stdout


def client_ctx(cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(str(cert[1]), str(cert[0]))
    return ctx


def h1_headers_tls(port, cert=None, lines=()):
    """The origin's /headers over HTTP/1.1 on TLS, presenting cert."""
    raw = socket.create_connection((HOST, port), timeout=10)
    with client_ctx(cert).wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(("GET /headers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n"
                   % "".join(l + "\r\n" for l in lines)).encode())
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), got
    return parse(body)


def handshake_fails(port, cert=None):
    """True when the server ends the handshake (TLS 1.3: the first read
    after it) for this client."""
    raw = socket.create_connection((HOST, port), timeout=10)
    try:
        with client_ctx(cert).wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /headers HTTP/1.1\r\nHost: localhost\r\n\r\n")
            return s.recv(100) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


@pytest.fixture(params=["h1", "h2"])
def backend(request, procs):
    o = procs.origin()
    return o if request.param == "h1" else "%s,%d;;proto=h2" % (HOST, o.port)


def start(procs, pki, backend, extra=(), log=None):
    port, aport = free_port(), free_port()
    args = ["-f", "%s,%d" % (HOST, port), "-b",
            backend.backend() if hasattr(backend, "backend") else backend,
            "--admin=%s,%d" % (HOST, aport), "--verify-client",
            "--verify-client-cacert=%s" % pki.client_ca.cert, *extra,
            str(pki.server[0]), str(pki.server[1])]
    if log:
        args += ["--accesslog-file=%s" % log, "--accesslog-format=$tls_client_fingerprint_sha256 "
                 "$tls_client_fingerprint_sha1 $tls_client_serial "
                 "\"$tls_client_subject_name\" \"$tls_client_issuer_name\""]
    g = procs.gate_raw(args, ports=[port, aport])
    g.tls_port, g.admin_port = port, aport
    return g


def test_verify_client_none_wrong_right(procs, pki, backend):
    g = start(procs, pki, backend)
    assert handshake_fails(g.tls_port)
    assert handshake_fails(g.tls_port, pki.stranger)
    h = h1_headers_tls(g.tls_port, pki.client, ["Client-Cert: :Zm9yZ2Vk:"])
    # Not asked to forward: no Client-Cert, and the client's own is dropped.
    assert values(h, "client-cert") == []
    fails = lambda: scrape(g.admin_port).get(  # noqa: E731
        "h2gate_tls_handshake_failures_total", reason="certificate")
    assert wait_for(lambda: fails() == 2, 10), scrape(g.admin_port).text
    assert scrape(g.admin_port).get("h2gate_tls_handshake_failures_total") == 2


def test_client_cert_forwarded_rfc9440(procs, pki, backend, tmp_path):
    # alice2 is signed by an intermediate; the client sends it in its chain.
    inter_key, inter = pki.client_ca.leaf("inter", "client intermediate")
    run(["openssl", "x509", "-in", str(inter), "-out", str(inter)])
    ext = tmp_path / "inter.ext"
    ext.write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n")
    csr = tmp_path / "inter.csr"
    run(["openssl", "req", "-new", "-key", str(inter_key), "-out", str(csr),
         "-subj", "/CN=client intermediate"])
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(pki.client_ca.cert),
         "-CAkey", str(pki.client_ca.key), "-out", str(inter), "-days", "30",
         "-extfile", str(ext), "-set_serial", "77"])
    bob_key = tmp_path / "bob.key"
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", str(bob_key)])
    run(["openssl", "req", "-new", "-key", str(bob_key), "-out", str(tmp_path / "bob.csr"),
         "-subj", "/CN=bob"])
    bob = tmp_path / "bob.crt"
    run(["openssl", "x509", "-req", "-in", str(tmp_path / "bob.csr"), "-CA", str(inter),
         "-CAkey", str(inter_key), "-out", str(bob), "-days", "30", "-set_serial", "78"])
    bundle = tmp_path / "bob-chain.crt"
    bundle.write_bytes(bob.read_bytes() + inter.read_bytes())

    g = start(procs, pki, backend, extra=["--forward-client-cert"])
    forged = ["Client-Cert: :Zm9yZ2Vk:", "Client-Cert-Chain: :Zm9yZ2Vk:"]
    h = h1_headers_tls(g.tls_port, pki.client, forged)
    (cc,) = values(h, "client-cert")
    assert re.fullmatch(r":[A-Za-z0-9+/]+=*:", cc), cc
    assert base64.b64decode(cc[1:-1]) == der(pki.client[1])
    assert values(h, "client-cert-chain") == []
    h = h1_headers_tls(g.tls_port, (bob_key, bundle), forged)
    assert base64.b64decode(values(h, "client-cert")[0][1:-1]) == der(bob)
    (chain,) = values(h, "client-cert-chain")
    assert [base64.b64decode(x.strip()[1:-1]) for x in chain.split(",")] == [der(inter)]
    # HTTP/2 from the client, a forged field among its own.
    with H2Client(g.tls_port, tls=True, cert=(str(pki.client[1]), str(pki.client[0]))) as c:
        sid = c.request("/headers", authority="localhost", scheme="https",
                        extra=[("client-cert", ":Zm9yZ2Vk:")])
        r = c.wait_streams([sid])[0]
    h = parse(bytes(r.data))
    assert [base64.b64decode(v[1:-1]) for v in values(h, "client-cert")] == \
        [der(pki.client[1])]


def test_client_cert_in_access_log(procs, pki, tmp_path):
    log = tmp_path / "access.log"
    g = start(procs, pki, procs.origin(), log=log)
    h1_headers_tls(g.tls_port, pki.client)
    assert wait_for(lambda: log.exists() and log.read_text().count("\n") == 1, 10)
    line = log.read_text().strip()
    fp256 = run(["openssl", "x509", "-in", str(pki.client[1]), "-noout", "-fingerprint",
                 "-sha256"], text=True).stdout.split("=", 1)[1].strip()
    fp1 = run(["openssl", "x509", "-in", str(pki.client[1]), "-noout", "-fingerprint",
               "-sha1"], text=True).stdout.split("=", 1)[1].strip()
    expect = '%s %s 1234ab "CN=alice" "CN=client CA"' % (
        fp256.replace(":", "").lower(), fp1.replace(":", "").lower())
    assert line == expect, line


def test_client_cert_in_json_access_log(procs, pki, tmp_path):
    import json
    log = tmp_path / "access.log"
    g = start(procs, pki, procs.origin(), extra=["--accesslog-file=%s" % log,
                                                 "--accesslog-json"])
    h1_headers_tls(g.tls_port, pki.client)
    assert wait_for(lambda: log.exists() and log.read_text().count("\n") == 1, 10)
    e = json.loads(log.read_text())
    assert e["tls_client_subject_name"] == "CN=alice"
    fp = run(["openssl", "x509", "-in", str(pki.client[1]), "-noout", "-fingerprint",
              "-sha256"], text=True).stdout.split("=", 1)[1].strip()
    assert e["tls_client_fingerprint_sha256"] == fp.replace(":", "").lower()


def test_client_cert_fields_always_stripped(procs, backend):
    """Without any client certificate option, on cleartext, a client's
    Client-Cert and Client-Cert-Chain never reach a backend."""
    from test_headers import h1_headers, h2_headers
    g = procs.gate([backend], tls=False)
    h = h1_headers(g.port, ["Host: localhost", "Client-Cert: :Zm9yZ2Vk:",
                            "Client-Cert-Chain: :Zm9yZ2Vk:", "X-Kept: 1"])
    assert values(h, "client-cert") == values(h, "client-cert-chain") == []
    assert values(h, "x-kept") == ["1"]
    h = h2_headers(g.port, extra=[("client-cert", ":Zm9yZ2Vk:"),
                                  ("client-cert-chain", ":Zm9yZ2Vk:")])
    assert values(h, "client-cert") == values(h, "client-cert-chain") == []


def test_client_cert_with_subcert_and_resumption(procs, pki):
    """A handshake switched to a --subcert context still verifies the
    client; a resumed session keeps the client's certificate (the backend
    gets the same Client-Cert), and a stranger is refused there too."""
    other = pki.server_ca.leaf("other", "other.test", ["other.test"], serial=999)
    g = start(procs, pki, procs.origin(), extra=["--forward-client-cert",
                                                 "--subcert=%s:%s" % other])
    ctx = client_ctx(pki.client)
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx.minimum_version = ctx.maximum_version = version
        sess = None
        for i in range(2):
            raw = socket.create_connection((HOST, g.tls_port), timeout=10)
            with ctx.wrap_socket(raw, server_hostname="other.test", session=sess) as s:
                assert s.getpeercert(binary_form=True) == der(other[1]) or i == 1
                s.sendall(b"GET /headers HTTP/1.1\r\nHost: other.test\r\n"
                          b"Connection: close\r\n\r\n")
                got = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                assert s.session_reused == (i == 1), (version, i)
                sess = s.session
            h = parse(got.partition(b"\r\n\r\n")[2])
            assert [base64.b64decode(v[1:-1]) for v in values(h, "client-cert")] == \
                [der(pki.client[1])], (version, i)
    raw = socket.create_connection((HOST, g.tls_port), timeout=10)
    try:
        with client_ctx(pki.stranger).wrap_socket(raw, server_hostname="other.test") as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: other.test\r\n\r\n")
            refused = s.recv(100) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        refused = True
    assert refused
