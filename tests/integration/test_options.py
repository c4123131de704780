"""Options that change what goes on the wire or on disk: --errorlog-file
with -L INFO, --frontend-http2-window-size, --backend-connect-timeout,
--fastopen."""

import os
import socket
import subprocess

import h2.events
import h2.settings
import pytest

from conftest import H2GATE_BIN, ORIGIN_BIN
from testlib import HOST, H2Client, curl_code


def test_errorlog_file_info(procs, tmp_path):
    log = tmp_path / "error.log"
    g = procs.gate([procs.origin()], tls=False,
                   extra=["-L", "INFO", "--errorlog-file=%s" % log])
    g.extra_logs.append(log)
    _, code, _, p = curl_code(["--http2-prior-knowledge",
                               "http://%s:%d/" % (HOST, g.port)])
    assert code == "200", p.stderr
    assert log.stat().st_size > 0
    assert "INFO" in log.read_text(errors="replace")


def test_frontend_http2_window_size(procs):
    g = procs.gate([procs.origin()], tls=False,
                   extra=["--frontend-http2-window-size=1048576"])
    with H2Client(g.port) as c:
        sid = c.request("/")
        c.wait_streams([sid])
        changed = [ev for ev in c.events
                   if isinstance(ev, h2.events.RemoteSettingsChanged)]
        assert changed, c.events
        iws = h2.settings.SettingCodes.INITIAL_WINDOW_SIZE
        assert changed[0].changed_settings[iws].new_value == 1048576


def test_backend_connect_timeout(procs):
    # A listener with a full accept queue that never accepts: Linux drops
    # further SYNs, so connecting to it hangs until the proxy gives up.
    with socket.socket() as lsn:
        lsn.bind((HOST, 0))
        lsn.listen(0)
        port = lsn.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex((HOST, port))
                fillers.append(s)
            g = procs.gate(["%s,%d" % (HOST, port)], tls=False,
                           extra=["--backend-connect-timeout=1s"])
            ver, code, _, p = curl_code(
                ["--http2-prior-knowledge", "-m", "8",
                 "http://%s:%d/" % (HOST, g.port)])
            assert p.returncode == 0, p.stderr
            # "backend refused or broke" 502 or "too slow" 504: either is
            # an answer; hanging until the client gives up is not.
            assert code in ("502", "504"), code
        finally:
            for s in fillers:
                s.close()


TFO_SCRIPT = r"""
set -e
ip link set lo up
echo 3 > /proc/sys/net/ipv4/tcp_fastopen    # client and server, this namespace only
"$ORIGIN" -a 127.0.0.1 -p 8080 >/dev/null 2>&1 & opid=$!
"$H2GATE" -n 1 -f '127.0.0.1,8443;no-tls' -b 127.0.0.1,8080 $EXTRA 2>gate.err & gpid=$!
trap 'kill $gpid $opid 2>/dev/null; wait' EXIT
i=0
until curl -s -o /dev/null http://127.0.0.1:8443/size/1; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "h2gate did not start" >&2; exit 1; }
    sleep 0.1
done
for i in 1 2 3; do
    curl -s --tcp-fastopen -o /dev/null -w '%{http_code} ' http://127.0.0.1:8443/size/5
done
awk '/^TcpExt:/ { if (!n) { split($0, h); n = 1 } else for (k in h) if (h[k] == "TCPFastOpenPassive") print $k }' /proc/net/netstat
"""


def tfo_run(tmp_path, extra):
    """Three curl --tcp-fastopen requests through h2gate in a network
    namespace of their own (TCP Fast Open allowed there only): the codes
    and how many connections the server side took with data in the SYN."""
    env = dict(os.environ, H2GATE=str(H2GATE_BIN), ORIGIN=str(ORIGIN_BIN), EXTRA=extra)
    p = subprocess.run(["unshare", "-n", "sh", "-c", TFO_SCRIPT], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60, check=False)
    err = (tmp_path / "gate.err").read_text(errors="replace")
    assert p.returncode == 0 and "Sanitizer" not in err, (p.stderr, err)
    *codes, passive = p.stdout.split()
    return codes, int(passive)


def can_unshare_net():
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not can_unshare_net(), reason="no network namespace here (unshare -n)")
def test_fastopen(tmp_path):
    """--fastopen (nghttpx's): a returning client's SYN carries its
    request (the kernel's TCPFastOpenPassive counts it); without the
    option the kernel takes none."""
    codes, passive = tfo_run(tmp_path, "--fastopen=16")
    assert codes == ["200"] * 3 and passive >= 1, (codes, passive)
    codes, passive = tfo_run(tmp_path, "")
    assert codes == ["200"] * 3 and passive == 0, (codes, passive)
