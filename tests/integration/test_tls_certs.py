"""Server certificates (--subcert by SNI and key type, reload) and the
TLS frontend options (--tls-min/max-proto-version, --ciphers,
--tls13-ciphers, --ecdh-curves, --private-key-passwd-file)."""

import signal

import pytest

from conftest import IS_NGHTTPX, free_port, run_gate
from h2backend_lib import wait_for
from obs_lib import scrape
from h2.errors import ErrorCodes
from rawh2 import GOAWAY, HEADERS, RawH2, status_of
from testlib import HOST, curl
from tls_lib import CA, run, s_client, served_cert, serial_of

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's TLS set-up")


@pytest.fixture
def ca(tmp_path):
    return CA(tmp_path / "ca")


def gate(procs, key, cert, extra=(), workers=1):
    """h2gate with only a TLS frontend, key and cert positional."""
    port = free_port()
    args = ["-f", "%s,%d" % (HOST, port), "-b", "127.0.0.1,9;;", "-n", str(workers),
            *extra, str(key), str(cert)]
    g = procs.gate_raw(args, ports=[port])
    g.tls_port = port
    return g


def three(ca):
    d = ca.leaf("default", "default.test", ["default.test"], serial=1001)
    a = ca.leaf("a", "a.example.com", ["a.example.com", "www.a.example.com"], serial=1002)
    w = ca.leaf("w", "wild.example.org", ["*.example.org"], serial=1003)
    return d, a, w


def test_subcert_chosen_by_sni(procs, ca):
    d, a, w = three(ca)
    g = gate(procs, *d, extra=["--subcert=%s:%s" % a, "--subcert=%s:%s" % w])
    p = g.tls_port
    assert served_cert(p, "a.example.com") == ("a.example.com", serial_of(a[1]))
    assert served_cert(p, "WWW.A.example.com") == ("a.example.com", serial_of(a[1]))
    assert served_cert(p, "x.example.org") == ("wild.example.org", serial_of(w[1]))
    # A wildcard stands for one label: neither two nor none.
    assert served_cert(p, "y.x.example.org")[0] == "default.test"
    assert served_cert(p, "example.org")[0] == "default.test"
    assert served_cert(p, "other.test")[0] == "default.test"
    assert served_cert(p, None) == ("default.test", serial_of(d[1]))
    assert served_cert(p, "default.test", ["-tls1_2"])[0] == "default.test"
    assert served_cert(p, "a.example.com", ["-tls1_2"])[0] == "a.example.com"


def test_curl_resolve_verifies_the_sni_certificate(procs, ca):
    """curl --resolve NAME:PORT:127.0.0.1 with the test CA: the handshake
    verifies (the certificate served for the SNI carries NAME) for each
    certificate's names; a name none carries gets the default one, which
    curl rejects for its name (exit 60)."""
    d, a, w = three(ca)
    g = gate(procs, *d, extra=["--subcert=%s:%s" % a, "--subcert=%s:%s" % w])
    for name, rc in (("a.example.com", 0), ("www.a.example.com", 0), ("x.example.org", 0),
                     ("default.test", 0), ("other.test", 60)):
        p = curl(["-s", "-o", "/dev/null", "--cacert", str(ca.cert),
                  "--resolve", "%s:%d:127.0.0.1" % (name, g.tls_port),
                  "https://%s:%d/" % (name, g.tls_port)])
        assert p.returncode == rc, (name, p.returncode, p.stderr)


def test_cn_used_without_san(procs, ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    c = ca.leaf("cn", "cn-only.test", [])
    g = gate(procs, *d, extra=["--subcert=%s:%s" % c])
    assert served_cert(g.tls_port, "cn-only.test")[0] == "cn-only.test"


def test_ecdsa_and_rsa_pair_by_client_support(procs, ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    ec = ca.leaf("ec", "pair-ec", ["pair.test"], kind="ec", serial=2001)
    rsa = ca.leaf("rsa", "pair-rsa", ["pair.test"], kind="rsa", serial=2002)
    for order in ((ec, rsa), (rsa, ec)):
        g = gate(procs, *d, extra=["--subcert=%s:%s" % order[0],
                                   "--subcert=%s:%s" % order[1]])
        p = g.tls_port
        assert served_cert(p, "pair.test") == ("pair-ec", serial_of(ec[1]))
        assert served_cert(p, "pair.test", ["-sigalgs", "RSA-PSS+SHA256"]) == \
            ("pair-rsa", serial_of(rsa[1]))
        assert served_cert(p, "pair.test", ["-tls1_2", "-cipher",
                                            "ECDHE-RSA-AES128-GCM-SHA256"]) == \
            ("pair-rsa", serial_of(rsa[1]))
        assert served_cert(p, "pair.test", ["-tls1_2", "-cipher",
                                            "ECDHE-ECDSA-AES128-GCM-SHA256"]) == \
            ("pair-ec", serial_of(ec[1]))
        g.stop()


def test_reload_reads_changed_certificates(procs, ca, tmp_path):
    d, a, _ = three(ca)
    key, cert = tmp_path / "sub.key", tmp_path / "sub.crt"
    key.write_bytes(a[0].read_bytes())
    cert.write_bytes(a[1].read_bytes())
    aport = free_port()
    g = gate(procs, *d, extra=["--subcert=%s:%s" % (key, cert),
                               "--admin=%s,%d" % (HOST, aport)])
    g.wait_port(aport)
    assert served_cert(g.tls_port, "a.example.com")[1] == serial_of(a[1])
    a2 = ca.leaf("a2", "a.example.com", ["a.example.com"], serial=3001)
    key.write_bytes(a2[0].read_bytes())
    cert.write_bytes(a2[1].read_bytes())
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(aport).get("h2gate_config_generation") == 2, 10)
    assert served_cert(g.tls_port, "a.example.com")[1] == serial_of(a2[1])


# ---- protocol versions, suites, groups ----

def test_proto_versions(procs, ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    g = gate(procs, *d, extra=["--tls-min-proto-version=tlsv1.3"])
    assert "TLSv1.3" in s_client(g.tls_port, extra=["-brief"])
    out = s_client(g.tls_port, extra=["-tls1_2", "-brief"])
    assert "alert protocol version" in out, out
    g.stop()
    g = gate(procs, *d, extra=["--tls-max-proto-version=TLSv1.2"])
    out = s_client(g.tls_port, extra=["-brief"])
    assert "Protocol version: TLSv1.2" in out, out


def test_ciphers_and_curves(procs, ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    g = gate(procs, *d, extra=["--ciphers=ECDHE-ECDSA-CHACHA20-POLY1305",
                               "--ecdh-curves=P-384"])
    out = s_client(g.tls_port, extra=["-tls1_2", "-brief"])
    assert "Ciphersuite: ECDHE-ECDSA-CHACHA20-POLY1305" in out, out
    assert "secp384r1" in out, out
    out = s_client(g.tls_port, extra=["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
    assert "handshake failure" in out, out
    out = s_client(g.tls_port, extra=["-groups", "X25519"])
    assert "handshake failure" in out, out


def test_http2_on_a_forbidden_suite(procs, ca):
    """--ciphers may allow a suite RFC 9113 §9.2.2 forbids for HTTP/2
    (here CBC) for HTTP/1.1 clients: an HTTP/2 client that negotiates it
    gets SETTINGS then GOAWAY(INADEQUATE_SECURITY) and no stream, unless
    --no-http2-cipher-block-list; HTTP/1.1 on it is served."""
    d = ca.leaf("default", "default.test", ["default.test"])
    cbc = "ECDHE-ECDSA-AES128-SHA"
    g = gate(procs, *d, extra=["--ciphers=ECDHE-ECDSA-AES128-GCM-SHA256:" + cbc])
    with RawH2(g.tls_port, tls=True, ciphers=cbc) as c:
        c.request(1, "/")
        c.until(lambda f: f.type == GOAWAY)
        assert [(f.type, int.from_bytes(f.payload[4:8], "big")) for f in c.errors()] \
            == [(GOAWAY, ErrorCodes.INADEQUATE_SECURITY)]
        assert [f for f in c.frames if f.type == HEADERS] == []
    assert wait_for(lambda: "TLS suite %s is not allowed for HTTP/2" % cbc in g.log(), 5)
    with RawH2(g.tls_port, tls=True, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256") as c:
        c.request(1, "/")       # the backend is down: 502 is served
        assert status_of(c.until(lambda f: f.type == HEADERS)) == "502"
    out = curl(["-sk", "--http1.1", "--tls-max", "1.2", "--ciphers", cbc, "-o", "/dev/null",
                "-w", "%{http_code}", "https://%s:%d/" % (HOST, g.tls_port)])
    assert out.stdout == b"502", out
    g.stop()
    g = gate(procs, *d, extra=["--ciphers=" + cbc, "--no-http2-cipher-block-list"])
    with RawH2(g.tls_port, tls=True, ciphers=cbc) as c:
        c.request(1, "/")
        assert status_of(c.until(lambda f: f.type == HEADERS)) == "502"
        assert c.errors() == []


def test_encrypted_key_with_password_file(procs, ca, tmp_path):
    key, cert = ca.leaf("enc", "enc.test", ["enc.test"], serial=4001)
    enc = tmp_path / "enc.key"
    run(["openssl", "pkey", "-in", str(key), "-out", str(enc), "-aes256",
         "-passout", "pass:s3cret word"])
    pw = tmp_path / "pw"
    pw.write_text("s3cret word\nignored\n")
    g = gate(procs, enc, cert, extra=["--private-key-passwd-file=%s" % pw])
    assert served_cert(g.tls_port, None)[1] == serial_of(cert)
    g.stop()
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()), str(enc), str(cert)])
    assert r.returncode != 0
    assert "--private-key-passwd-file" in r.stderr, r.stderr
    pw.write_text("wrong\n")
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()),
                  "--private-key-passwd-file=%s" % pw, str(enc), str(cert)])
    assert r.returncode != 0 and "cannot load private key" in r.stderr, r.stderr


@pytest.mark.parametrize("opt,msg", [
    ("--tls-min-proto-version=TLSv1.1", "does not offer TLS 1.1 or older"),
    ("--tls-max-proto-version=SSLv3", "unknown version (expected TLSv1.2 or TLSv1.3)"),
    ("--tls13-ciphers=TLS_AES_128_GCM_SHA256", "BoringSSL does not let TLS 1.3"),
    ("--ciphers=DHE-RSA-AES128-GCM-SHA256", "--ciphers DHE-RSA-AES128-GCM-SHA256"),
    ("--ecdh-curves=P-999", "--ecdh-curves P-999: unknown group"),
    ("--subcert=nocolon", "expected KEYPATH:CERTPATH"),
    ("--subcert=/k:/c;sct-dir=/x", "unknown parameter"),
    ("--subcert=/nonexistent.key:/nonexistent.crt", "cannot load certificate /nonexistent.crt"),
    ("--private-key-passwd-file=/nonexistent", "--private-key-passwd-file /nonexistent"),
])
def test_bad_values(ca, opt, msg):
    d = ca.leaf("default", "default.test", ["default.test"])
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()), opt, str(d[0]), str(d[1])])
    assert r.returncode != 0
    assert msg in r.stderr, r.stderr


def test_min_above_max_refused(ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    r = run_gate(["-t", "--tls-min-proto-version=TLSv1.3",
                  "--tls-max-proto-version=TLSv1.2", str(d[0]), str(d[1])])
    assert r.returncode != 0
    assert "--tls-min-proto-version is above --tls-max-proto-version" in r.stderr


# ---- OCSP stapling ----

def test_ocsp_stapled_from_files_and_reloaded(procs, ca, tmp_path):
    d = ca.leaf("default", "default.test", ["default.test"], serial=5001)
    a = ca.leaf("a", "a.example.com", ["a.example.com"], serial=5002)
    d_ocsp = ca.ocsp_response(d[1], tmp_path / "d.der")
    a_ocsp = ca.ocsp_response(a[1], tmp_path / "a.der")
    aport = free_port()
    g = gate(procs, *d, extra=["--ocsp-file=%s" % d_ocsp,
                               "--subcert=%s:%s;ocsp=%s" % (a[0], a[1], a_ocsp),
                               "--admin=%s,%d" % (HOST, aport)])
    g.wait_port(aport)
    for name, cert in ((None, d[1]), ("a.example.com", a[1])):
        out = s_client(g.tls_port, name, ["-status"])
        assert "OCSP Response Status: successful" in out, out
        assert "Serial Number: %s" % serial_of(cert) in out, out
        assert "Cert Status: good" in out, out
    # A client that does not ask gets none.
    assert "OCSP Response Status" not in s_client(g.tls_port, None)
    ca.ocsp_response(a[1], a_ocsp, revoked=True)
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(aport).get("h2gate_config_generation") == 2, 10)
    out = s_client(g.tls_port, "a.example.com", ["-status"])
    assert "Cert Status: revoked" in out, out
    # A broken file fails the reload and the old response stays.
    a_ocsp.write_bytes(b"not DER")
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(aport).get("h2gate_config_reload_failures_total") == 1, 10)
    assert "Cert Status: revoked" in s_client(g.tls_port, "a.example.com", ["-status"])
    assert "not a DER OCSP response" in g.log()


def test_no_ocsp_file_no_staple(procs, ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    g = gate(procs, *d)
    assert "OCSP response: no response sent" in s_client(g.tls_port, None, ["-status"])


def test_no_ocsp_staples_nothing_and_reads_no_file(procs, ca, tmp_path):
    """--no-ocsp (nghttpx's): the files are not read (a missing one is no
    error) and no handshake gets a response, though the client asks."""
    d = ca.leaf("default", "default.test", ["default.test"], serial=5003)
    a = ca.leaf("a", "a.example.com", ["a.example.com"], serial=5004)
    d_ocsp = ca.ocsp_response(d[1], tmp_path / "d.der")
    g = gate(procs, *d, extra=["--ocsp-file=%s" % d_ocsp, "--no-ocsp",
                               "--subcert=%s:%s;ocsp=/nonexistent.der" % (a[0], a[1])])
    for name in (None, "a.example.com"):
        out = s_client(g.tls_port, name, ["-status"])
        assert "OCSP response: no response sent" in out, out


def test_ocsp_file_missing(ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()), "--ocsp-file=/nonexistent.der",
                  str(d[0]), str(d[1])])
    assert r.returncode != 0
    assert "OCSP response /nonexistent.der: No such file" in r.stderr, r.stderr


# ---- metrics ----

def not_after(cert):
    import calendar
    import time
    end = run(["openssl", "x509", "-noout", "-enddate", "-in", str(cert)],
              text=True).stdout.strip().split("=", 1)[1]
    return calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))


def test_certificate_not_after_gauge(procs, ca, tmp_path):
    d = ca.leaf("default", "default.test", ["default.test"], days=10)
    ec = ca.leaf("ec", "pair", ["pair.test"], kind="ec", days=20)
    rsa = ca.leaf("rsa", "pair", ["pair.test"], kind="rsa", days=30)
    key, cert = tmp_path / "sub.key", tmp_path / "sub.crt"
    key.write_bytes(ec[0].read_bytes())
    cert.write_bytes(ec[1].read_bytes())
    aport = free_port()
    g = gate(procs, *d, extra=["--subcert=%s:%s" % (key, cert), "--subcert=%s:%s" % rsa,
                               "--admin=%s,%d" % (HOST, aport)])
    g.wait_port(aport)
    m = "h2gate_tls_certificate_not_after_seconds"
    snap = scrape(aport)
    assert snap.label_values(m, "certificate") == sorted(["CN=default.test", "CN=pair",
                                                          str(rsa[1])])
    assert snap.get(m, certificate="CN=default.test") == not_after(d[1])
    assert snap.get(m, certificate="CN=pair") == not_after(ec[1])
    assert snap.get(m, certificate=str(rsa[1])) == not_after(rsa[1])
    longer = ca.leaf("ec2", "pair", ["pair.test"], kind="ec", days=40)
    key.write_bytes(longer[0].read_bytes())
    cert.write_bytes(longer[1].read_bytes())
    g.signal(signal.SIGHUP)
    assert wait_for(lambda: scrape(aport).get("h2gate_config_generation") == 2, 10)
    assert scrape(aport).get(m, certificate="CN=pair") == not_after(longer[1])


def test_verify_client_cacert_unreadable(ca):
    d = ca.leaf("default", "default.test", ["default.test"])
    r = run_gate(["-t", "-f", "%s,%d" % (HOST, free_port()), "--verify-client",
                  "--verify-client-cacert=/nonexistent.pem", str(d[0]), str(d[1])])
    assert r.returncode != 0
    assert "--verify-client-cacert /nonexistent.pem" in r.stderr, r.stderr
