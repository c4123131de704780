"""Options that change what goes on the wire or on disk: --errorlog-file
with -L INFO, --frontend-http2-window-size, --backend-connect-timeout."""

import socket

import h2.events
import h2.settings

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
