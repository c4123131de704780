"""A real browser through h2gate's TLS frontend (headless Chromium,
skipped with the dashboard's browser tests when it is missing): the page
comes over HTTP/2, a POST is echoed, an 8 MiB upload answered 413 before
its end gets the 413 (h2gate's RST_STREAM(NO_ERROR) after it), and a
WebSocket opens as an RFC 8441 stream of the same HTTP/2 connection and
echoes."""

import json
import re
import subprocess

import pytest

from test_dashboard import CHROMIUM, HERE, browser_missing
from testlib import HOST
from ws_lib import ws_backend

pytestmark = pytest.mark.skipif(browser_missing() is not None,
                                reason=browser_missing() or "")


def test_chromium_h2_post_early_answer_and_websocket(procs, backends):
    b = backends(h1=True)
    ws = ws_backend()
    try:
        g = procs.gate([b.spec(";;proto=http/1.1"), "%s,%d;/ws" % (HOST, ws.port)],
                       extra=["-L", "INFO"])
        p = subprocess.run(["node", str(HERE / "node_browser_proxy.js"), CHROMIUM,
                            "https://localhost:%d" % g.tls_port],
                           cwd=str(HERE), capture_output=True, text=True, timeout=120)
    finally:
        ws.stop()
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out == {"status": 200, "proto": "h2", "echo": [200, "hello"],
                   "early": [413, "too big\n"], "ws": "echo: ping!"}, out
    # The WebSocket was a stream (s1, s3...) of an HTTP/2 connection.
    assert re.search(r" s[1-9][0-9]* WebSocket to ", g.log()), g.log()[-3000:]
