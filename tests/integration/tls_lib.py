"""Certificates for the TLS tests, made with the openssl command line: a
small CA, leaves with chosen names, key types and serials, OCSP responses;
and `openssl s_client` runs that report what the server sent."""

import re
import subprocess

from testlib import HOST


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, timeout=60, **kw)


def make_key(path, kind="ec"):
    if kind == "ec":
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", str(path)])
    else:
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
             "rsa_keygen_bits:2048", "-out", str(path)])
    return path


class CA:
    """A self-signed CA in directory d that signs leaves."""

    def __init__(self, d, name="h2gate test CA"):
        d.mkdir(parents=True, exist_ok=True)
        self.d = d
        self.key = make_key(d / "ca.key")
        self.cert = d / "ca.crt"
        run(["openssl", "req", "-x509", "-new", "-key", str(self.key),
             "-out", str(self.cert), "-days", "30", "-subj", "/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    def leaf(self, stem, cn, sans=(), kind="ec", serial=None, client=False,
             days=30):
        """(key, cert) of a leaf for CN cn with DNS SANs sans."""
        key = make_key(self.d / (stem + ".key"), kind)
        csr = self.d / (stem + ".csr")
        cert = self.d / (stem + ".crt")
        ext = self.d / (stem + ".ext")
        lines = ["basicConstraints=CA:FALSE"]
        if sans:
            lines.append("subjectAltName=" + ",".join("DNS:" + s for s in sans))
        if client:
            lines.append("extendedKeyUsage=clientAuth")
        ext.write_text("\n".join(lines) + "\n")
        run(["openssl", "req", "-new", "-key", str(key), "-out", str(csr),
             "-subj", "/CN=" + cn])
        argv = ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.cert),
                "-CAkey", str(self.key), "-out", str(cert), "-days", str(days),
                "-extfile", str(ext)]
        argv += ["-set_serial", str(serial)] if serial is not None else ["-CAcreateserial"]
        run(argv)
        return key, cert

    def ocsp_response(self, cert, out, revoked=False):
        """A DER OCSP response saying cert is good (or revoked), signed by
        the CA."""
        index = self.d / "index.txt"
        index.write_text("")
        req = self.d / "ocsp.req"
        run(["openssl", "ocsp", "-issuer", str(self.cert), "-cert", str(cert),
             "-reqout", str(req), "-no_nonce"])
        serial = cert_field(cert, "-serial").split("=", 1)[1]
        end = cert_field(cert, "-enddate").split("=", 1)[1]
        subj = cert_field(cert, "-subject", "-nameopt", "compat").split("=", 1)[1].strip()
        import datetime
        t = datetime.datetime.strptime(end.replace(" GMT", ""), "%b %d %H:%M:%S %Y")
        exp = t.strftime("%y%m%d%H%M%SZ")
        if revoked:
            index.write_text("R\t%s\t%s\t%s\tunknown\t%s\n"
                             % (exp, "200101000000Z", serial, subj))
        else:
            index.write_text("V\t%s\t\t%s\tunknown\t%s\n" % (exp, serial, subj))
        run(["openssl", "ocsp", "-index", str(index), "-rsigner", str(self.cert),
             "-rkey", str(self.key), "-CA", str(self.cert), "-reqin", str(req),
             "-respout", str(out), "-ndays", "1"])
        return out


def cert_field(cert, *opts):
    return run(["openssl", "x509", "-noout", "-in", str(cert), *opts],
               text=True).stdout.strip()


def serial_of(cert):
    return cert_field(cert, "-serial").split("=", 1)[1]


def s_client(port, servername=None, extra=(), stdin=b""):
    """An `openssl s_client` handshake with 127.0.0.1:port; its stdout."""
    argv = ["openssl", "s_client", "-connect", "%s:%d" % (HOST, port)]
    argv += ["-servername", servername] if servername else ["-noservername"]
    argv += list(extra)
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=30)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def served_cert(port, servername=None, extra=()):
    """(subject CN, serial hex) of the certificate the server sent."""
    out = s_client(port, servername, extra)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                  out, re.S)
    assert m, out
    pem = m.group(0).encode()
    subj = run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"],
               input=pem).stdout.decode()
    cn = re.search(r"commonName\s*=\s*(\S+)", subj).group(1)
    serial = run(["openssl", "x509", "-noout", "-serial"],
                 input=pem).stdout.decode().strip().split("=", 1)[1]
    return cn, serial
