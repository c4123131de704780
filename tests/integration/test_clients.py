"""Real clients through h2gate: curl, nghttp, h2load, Node.js http2."""

import hashlib
import json
import re
import subprocess

from testlib import HOST, curl_code, h2load_check

SIZE = 1000


# 1. curl -------------------------------------------------------------------

def test_curl_h2_tls_alpn(procs):
    o = procs.origin()
    g = procs.gate([o])
    ver, code, body, p = curl_code(
        ["-k", "--http2", "https://%s:%d/size/%d" % (HOST, g.tls_port, SIZE)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("2", "200")
    assert len(body) == SIZE
    direct = curl_code(["http://%s:%d/size/%d" % (HOST, o.port, SIZE)])[2]
    assert body == direct


def test_curl_h2c_prior_knowledge(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    ver, code, body, p = curl_code(
        ["--http2-prior-knowledge",
         "http://%s:%d/size/%d" % (HOST, g.port, SIZE)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("2", "200")
    assert len(body) == SIZE


def test_curl_http11_on_cleartext_port(procs):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    ver, code, body, p = curl_code(
        ["--http1.1", "http://%s:%d/size/%d" % (HOST, g.port, SIZE)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("1.1", "200")
    assert len(body) == SIZE


def test_curl_http11_over_tls(procs):
    o = procs.origin()
    g = procs.gate([o])
    ver, code, body, p = curl_code(
        ["-k", "--http1.1", "-v",
         "https://%s:%d/size/%d" % (HOST, g.tls_port, SIZE)])
    assert p.returncode == 0, p.stderr
    assert (ver, code) == ("1.1", "200")
    assert len(body) == SIZE
    assert b"ALPN: server accepted http/1.1" in p.stderr


# 2. nghttp -----------------------------------------------------------------

def nghttp_check(url):
    p = subprocess.run(["nghttp", "-nv", url], capture_output=True,
                       timeout=30, check=False)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert re.search(r"recv \(stream_id=\d+\) :status: 200$", out, re.M), out
    data = sum(int(n) for n in
               re.findall(r"recv DATA frame <length=(\d+)", out))
    assert data == SIZE, out
    assert re.search(r"recv DATA frame <length=\d+, flags=0x0[13]", out)


def test_nghttp_h2c(procs):
    g = procs.gate([procs.origin()], tls=False)
    nghttp_check("http://%s:%d/size/%d" % (HOST, g.port, SIZE))


def test_nghttp_tls(procs):
    g = procs.gate([procs.origin()])
    nghttp_check("https://%s:%d/size/%d" % (HOST, g.tls_port, SIZE))


# 3. h2load -----------------------------------------------------------------

def test_h2load_h2c(procs):
    g = procs.gate([procs.origin()], tls=False)
    h2load_check("http://%s:%d/size/100" % (HOST, g.port))


def test_h2load_tls(procs):
    g = procs.gate([procs.origin()])
    r = h2load_check("https://%s:%d/size/100" % (HOST, g.tls_port))
    assert "Application protocol: h2" in r.stdout, r.output


# 17. Node.js ---------------------------------------------------------------

NODE_CLIENT = r"""
const http2 = require('http2');
const crypto = require('crypto');
const [url, path] = process.argv.slice(2);
const client = http2.connect(url, {rejectUnauthorized: false});
client.on('error', (e) => { console.error('session error', e); process.exit(2); });
const req = client.request({':path': path});
let status = null;
const chunks = [];
req.on('response', (h) => { status = h[':status']; });
req.on('data', (c) => chunks.push(c));
req.on('error', (e) => { console.error('stream error', e); process.exit(3); });
req.on('end', () => {
  const body = Buffer.concat(chunks);
  console.log(JSON.stringify({status, length: body.length,
    sha256: crypto.createHash('sha256').update(body).digest('hex')}));
  client.close();
});
req.end();
"""


def node_get(tmp_path, url, path):
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    p = subprocess.run(["node", str(script), url, path], capture_output=True,
                       timeout=30, check=False, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def direct_sha(o, path):
    body = curl_code(["http://%s:%d%s" % (HOST, o.port, path)])[2]
    return hashlib.sha256(body).hexdigest()


def test_node_h2c(procs, tmp_path):
    o = procs.origin()
    g = procs.gate([o], tls=False)
    r = node_get(tmp_path, "http://%s:%d" % (HOST, g.port), "/size/5000")
    assert r["status"] == 200 and r["length"] == 5000
    assert r["sha256"] == direct_sha(o, "/size/5000")


def test_node_tls(procs, tmp_path):
    o = procs.origin()
    g = procs.gate([o])
    r = node_get(tmp_path, "https://localhost:%d" % g.tls_port, "/")
    assert r["status"] == 200 and r["length"] > 0
    assert r["sha256"] == direct_sha(o, "/")
