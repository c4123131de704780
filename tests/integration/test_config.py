"""Command-line and configuration errors: exit status and message.

The spec's exit status for a bad configuration is 1. nghttpx exits 1 only for
an unknown option (getopt) and 255 for everything it rejects later (bad
duration, bad --conf line, listen failure), so those three fail there.
"""

import socket

from conftest import HOST, IS_NGHTTPX, free_port, run_gate


def plain_frontend():
    return ["-f", "%s,%d;no-tls" % (HOST, free_port())]


def test_unknown_option(procs):
    p = run_gate(["--no-such-option-xyz", *plain_frontend(),
                  "-b", "%s,%d" % (HOST, free_port())])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "no-such-option-xyz" in p.stderr


def test_bad_duration(procs):
    p = run_gate(["--backend-read-timeout=abc", *plain_frontend(),
                  "-b", "%s,%d" % (HOST, free_port())])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert p.stderr.strip()


def test_bad_conf_line(procs, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("# fine\nworkers=1\nno-such-option=1\n")
    p = run_gate(["--conf=%s" % conf, *plain_frontend(),
                  "-b", "%s,%d" % (HOST, free_port())])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "no-such-option" in p.stderr


def test_port_in_use(procs):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        p = run_gate(["-f", "%s,%d;no-tls" % (HOST, port),
                      "-b", "%s,%d" % (HOST, free_port())])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "in use" in p.stderr.lower(), p.stderr


def test_help(procs):
    p = run_gate(["--help"])
    assert p.returncode == 0, p.stderr
    assert "-b" in p.stdout and "-f" in p.stdout


def test_version(procs):
    p = run_gate(["--version"])
    assert p.returncode == 0, p.stderr
    assert ("nghttpx" if IS_NGHTTPX else "h2gate") in p.stdout
