"""--io-collect-interval: a worker waits between polls to gather ready
sockets only while its polls keep finding several at once.

The rule (proxy/coalesce.h): an average of the events each poll found,
weight 1/8 to the newest; the wait turns on at 2 a poll, off below 1.5.
h2gate_io_collect_polls_total counts the polls made while it is on. No
test depends on how fast anything runs: a client that waits for each
answer gives the worker one ready socket a poll, however slow or fast.
"""

import signal

import pytest

from conftest import IS_NGHTTPX
from h2backend_lib import wait_for
from obs_lib import gate_with_admin, scrape
from testlib import HOST, h2load, h2load_check

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own option")

POLLS = "h2gate_io_collect_polls_total"


def sequential(port, n):
    """n requests, one at a time on one connection: each poll of the
    worker finds one socket ready (the client, then the backend)."""
    r = h2load("http://%s:%d/size/100" % (HOST, port), n, 1, 1)
    assert (r.succeeded, r.failed, r.errored) == (n, 0, 0), r.output


def test_waits_only_while_polls_find_several_sockets_ready(procs):
    o = procs.origin()
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--io-collect-interval=1ms"])
    # One socket at a time: the wait never turns on.
    sequential(g.port, 300)
    assert scrape(g.admin_port).get(POLLS) == 0
    # 16 connections of 10 streams each, to 160 backend connections: the
    # polls find several sockets ready; every request is still answered.
    h2load_check("http://%s:%d/size/100" % (HOST, g.port), n=4000, c=16, m=10)
    during = scrape(g.admin_port).get(POLLS)
    assert during > 0
    # One at a time again: the average falls below 1.5 within a few
    # dozen polls (from at most 64 events a poll), then the wait stays off.
    sequential(g.port, 300)
    after = scrape(g.admin_port).get(POLLS)
    sequential(g.port, 300)
    assert scrape(g.admin_port).get(POLLS) == after


def test_reload_turns_it_on_and_off(procs, tmp_path):
    """0 (the default) never waits, under the load that turns a set
    interval on; a reload that sets one starts the worker's count, and a
    reload back to 0 stops its waits at once."""
    o = procs.origin()
    conf = tmp_path / "h2gate.conf"
    conf.write_text("io-collect-interval=0\n")
    g = gate_with_admin(procs, [o], tls=False, extra=["--conf=%s" % conf])
    url = "http://%s:%d/size/100" % (HOST, g.port)

    def reload(value, gen):
        conf.write_text("io-collect-interval=%s\n" % value)
        g.signal(signal.SIGHUP)
        assert wait_for(lambda: scrape(g.admin_port).get(
            "h2gate_config_generation") == gen, 15.0)

    h2load_check(url, n=4000, c=16, m=10)
    assert scrape(g.admin_port).get(POLLS) == 0
    reload("1ms", 2)
    h2load_check(url, n=4000, c=16, m=10)
    assert scrape(g.admin_port).get(POLLS) > 0
    reload("0", 3)
    # The poll that brought the reload may still count; none after it.
    before = scrape(g.admin_port).get(POLLS)
    h2load_check(url, n=4000, c=16, m=10)
    assert scrape(g.admin_port).get(POLLS) == before
