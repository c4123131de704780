"""Lifecycle in containers and Kubernetes (issue 12): the --workers default
under an affinity mask, /readyz, SIGTERM's accept period, --user,
sd_notify, --probe, and the deploy/ manifests checked against the real
binary.

Everything listens on 127.0.0.1; every wait is bounded; every process is
started through `procs` and stopped by its PID."""

import os
import pwd
import re
import signal
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (H2GATE_BIN, IS_NGHTTPX, REPO_ROOT, Gate, free_port,
                      gate_argv, port_listening, run_gate)
from obs_lib import Snapshot, admin_request, gate_with_admin
from testlib import HOST, H1Conn, H2Client, h1_get

pytestmark = pytest.mark.skipif(IS_NGHTTPX, reason="h2gate's own options")

WAIT = 15.0


def wait_until(cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def workers_metric(port):
    status, _, body = admin_request(port, "/metrics")
    assert status == 200
    return Snapshot(body.decode()).samples[("h2gate_workers", ())]


def refused(port):
    try:
        socket.create_connection((HOST, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# --------------------------------------------------------------------------
# --workers default


def start_raw(procs, prefix, args, ports, env=None):
    """h2gate run through `prefix` (taskset, ...) or with `env`; the PID is
    h2gate's own once prefix execs it."""
    g = Gate("h2gate", [*prefix, *gate_argv(args)], procs._log("h2gate"))
    procs.all.append(g)
    for p in ports:
        g.wait_port(p)
    return g


def test_workers_default_is_the_affinity_mask(procs):
    if not os.path.exists("/usr/bin/taskset"):
        pytest.skip("taskset (util-linux) is not installed")
    port, aport = free_port(), free_port()
    g = start_raw(procs, ["taskset", "-c", "0"],
                  ["-f", "%s,%d;no-tls" % (HOST, port),
                   "--admin=%s,%d" % (HOST, aport)], [port, aport])
    assert workers_metric(aport) == 1
    assert "h2gate started: 1 workers" in g.log()


def cgroup2_dir():
    """Where this process's cgroup v2 directory is (h2gate, our child, is
    in the same cgroup): (mount point, directory), or None."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split(" - ")[0].split() for line in f
                  if " - cgroup2 " in line]
    with open("/proc/self/cgroup") as f:
        paths = [line.strip()[3:] for line in f if line.startswith("0::")]
    if not mounts or not paths:
        return None
    root, mount = mounts[0][3], mounts[0][4]
    rel = paths[0]
    if root != "/" and rel.startswith(root):
        rel = rel[len(root):]
    return mount, mount + (rel if rel != "/" else "")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a cgroup stand-in needs root")
def test_workers_default_is_bounded_by_cpu_max(procs):
    """Half a CPU of quota on a mask of 2+: one worker. The cgroup tree is
    a tmpfs stand-in mounted over the real one in a private mount
    namespace (a real cpu.max needs a delegated cgroup v2 tree)."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("the affinity mask has one CPU: a quota of 1 would prove nothing")
    found = cgroup2_dir()
    if not found or not os.path.exists("/usr/bin/unshare"):
        pytest.skip("no cgroup v2 mount, or no unshare (util-linux)")
    mount, cgdir = found
    port, aport = free_port(), free_port()
    script = ('mount -t tmpfs h2gate-test "$1" && mkdir -p "$2" && '
              'echo "50000 100000" > "$2/cpu.max" && shift 2 && exec "$@"')
    g = start_raw(procs, ["unshare", "-m", "sh", "-c", script, "sh", mount, cgdir],
                  ["-f", "%s,%d;no-tls" % (HOST, port),
                   "--admin=%s,%d" % (HOST, aport)], [port, aport])
    assert workers_metric(aport) == 1
    assert "h2gate started: 1 workers" in g.log()


def test_workers_default_never_exceeds_the_mask(procs):
    g = gate_with_admin(procs, [], workers=None, tls=False)
    n = workers_metric(g.admin_port)
    assert 1 <= n <= len(os.sched_getaffinity(0))
    g2 = gate_with_admin(procs, [], workers=3, tls=False)
    assert workers_metric(g2.admin_port) == 3


# --------------------------------------------------------------------------
# /readyz and the accept period


def test_readyz_200_while_serving(procs):
    g = gate_with_admin(procs, [procs.origin()], tls=False)
    status, headers, body = admin_request(g.admin_port, "/readyz")
    assert (status, body) == (200, b"ready\n")
    assert headers["cache-control"] == "no-store"
    status, headers, body = admin_request(g.admin_port, "/readyz", "HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "6"
    assert admin_request(g.admin_port, "/readyz", "POST")[0] == 405


def test_sigterm_accept_period_then_drain(procs):
    """/readyz turns 503 at once; during the accept period new connections
    are accepted and served and old ones carry on; after it new ones are
    refused while a request in flight since before SIGTERM finishes."""
    o = procs.origin(count=True)
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--graceful-shutdown-accept-period=6s"])
    with H2Client(g.port, timeout=30) as old:
        slow = old.request("/delay/8000")
        wait_until(lambda: o.count() >= 1, "the slow request never reached origin")
        g.signal(signal.SIGTERM)
        wait_until(lambda: admin_request(g.admin_port, "/readyz")[0] == 503,
                   "/readyz stayed 200 after SIGTERM")
        assert admin_request(g.admin_port, "/readyz")[2] == b"draining\n"
        # Within the accept period: a new connection is accepted and served.
        with H1Conn(g.port, timeout=10) as h1:
            h1.send(h1_get("/size/10"))
            r = h1.read_response()
            assert r.status == 200 and len(r.body) == 10
        with H2Client(g.port, timeout=10) as new:
            sid = new.request("/size/5")
            r = new.wait_streams([sid])[0]
            assert r.status == 200 and len(r.data) == 5
        # The old connection still takes new streams: no GOAWAY yet.
        sid = old.request("/size/3")
        r = old.wait_streams([sid])[0]
        assert r.status == 200 and old.goaway is None
        # After the period: refused, GOAWAY, and the slow request finishes.
        wait_until(lambda: refused(g.port), "still accepting after the period")
        r = old.wait_streams([slow], timeout=20)[0]
        assert r.status == 200 and r.ended and r.reset is None, r
        assert old.goaway is not None and old.goaway.last_stream_id >= slow
    assert g.popen.wait(timeout=WAIT) == 0


# --------------------------------------------------------------------------
# --user


def privileged_port():
    """A free loopback port below 1024 (binding it proves root)."""
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        if not port_listening(port):
            return port
    pytest.skip("no free loopback port below 1024")


def status_ids(pid, key):
    """The ids of a /proc/PID/status line (Uid: real effective saved fs)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("%s missing from /proc/%d/status" % (key, pid))


@pytest.mark.skipif(os.geteuid() != 0, reason="--user needs the test to run as root")
def test_user_drops_privileges_after_binding(procs, tls_files):
    nobody = pwd.getpwnam("nobody")
    assert not os.stat(tls_files[0]).st_mode & 0o004, "the key must be root's only"
    o = procs.origin()
    low, tls_port, aport = privileged_port(), free_port(), free_port()
    g = start_raw(procs, [], [
        "-f", "%s,%d;no-tls" % (HOST, low), "-f", "%s,%d" % (HOST, tls_port),
        "-b", o.backend(), "-n", "2", "--admin=%s,%d" % (HOST, aport),
        "--user=nobody", str(tls_files[0]), str(tls_files[1])], [low, tls_port, aport])
    # The sockets listen before the drop; the admin answers only once the
    # main loop runs, after it.
    assert admin_request(aport, "/readyz")[0] == 200
    assert status_ids(g.pid, "Uid") == [nobody.pw_uid] * 4
    assert status_ids(g.pid, "Gid") == [nobody.pw_gid] * 4
    assert 0 not in status_ids(g.pid, "Groups")
    for tid in os.listdir("/proc/%d/task" % g.pid):
        assert status_ids(int(tid), "Uid") == [nobody.pw_uid] * 4
    with H1Conn(low, timeout=10) as h1:
        h1.send(h1_get("/size/7"))
        assert h1.read_response().status == 200
    out = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code}",
                          "https://%s:%d/" % (HOST, tls_port)],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "200"
    assert "running as user nobody" in g.log()


def test_user_unknown_is_refused():
    r = run_gate(["-f", "%s,%d;no-tls" % (HOST, free_port()), "--user=no-such-user-h2g"])
    assert r.returncode == 1
    assert "--user=no-such-user-h2g: no such user" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start as another user")
def test_user_refused_when_the_drop_fails():
    nobody = pwd.getpwnam("nobody")

    def become_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    # nobody may not reach the build tree (a clone under a 0700 mktemp
    # directory): run a copy from a directory anyone can enter.
    d = tempfile.mkdtemp(prefix="h2gate-nobody.")
    try:
        os.chmod(d, 0o755)
        argv = gate_argv(["-f", "%s,%d;no-tls" % (HOST, free_port()), "--user=root"])
        argv[0] = shutil.copy2(argv[0], os.path.join(d, os.path.basename(argv[0])))
        r = subprocess.run(argv, preexec_fn=become_nobody, capture_output=True, text=True,
                           timeout=15)
    finally:
        shutil.rmtree(d)
    assert r.returncode == 1
    assert "--user=root" in r.stderr and "start h2gate as root" in r.stderr


# --------------------------------------------------------------------------
# sd_notify


@pytest.mark.parametrize("abstract", [False, True])
def test_sd_notify_ready_and_stopping(procs, tmp_path, monkeypatch, abstract):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "h2gate-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    else:
        path = str(tmp_path / "notify")
        sock.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
    sock.settimeout(WAIT)
    with sock:
        aport = free_port()
        g = procs.gate([procs.origin()], tls=False, wait=False,
                       extra=["--admin=%s,%d" % (HOST, aport)])
        assert sock.recv(256) == b"READY=1"
        # READY means serving: the frontend and the admin answer now.
        assert port_listening(g.port) and port_listening(aport)
        assert admin_request(aport, "/readyz")[0] == 200
        # systemctl reload: RELOADING=1, then READY=1 once every worker
        # took the new configuration.
        g.signal(signal.SIGHUP)
        assert sock.recv(256) == b"RELOADING=1"
        assert sock.recv(256) == b"READY=1"
        g.signal(signal.SIGTERM)
        assert sock.recv(256) == b"STOPPING=1"
        assert g.popen.wait(timeout=WAIT) == 0


# --------------------------------------------------------------------------
# --probe


def probe(url, timeout=20):
    return subprocess.run([str(H2GATE_BIN), "--probe=" + url], capture_output=True,
                          text=True, timeout=timeout)


def test_probe_status_decides_the_exit(procs):
    o = procs.origin()
    r = probe("http://%s:%d/status/204" % (HOST, o.port))
    assert r.returncode == 0, r.stderr
    assert "204" in r.stdout
    r = probe("http://%s:%d/status/503" % (HOST, o.port))
    assert r.returncode == 1 and "503" in r.stderr
    g = gate_with_admin(procs, [o], tls=False,
                        extra=["--graceful-shutdown-accept-period=30s"])
    assert probe("http://%s:%d/readyz" % (HOST, g.admin_port)).returncode == 0
    assert probe("http://localhost:%d/healthz" % g.admin_port).returncode == 0
    g.signal(signal.SIGTERM)
    wait_until(lambda: probe("http://%s:%d/readyz" % (HOST, g.admin_port)).returncode == 1,
               "/readyz probe stayed 0 after SIGTERM")
    g.signal(signal.SIGINT)  # not the 30s accept period
    assert g.popen.wait(timeout=WAIT) == 0


def test_probe_failures_say_why():
    port = free_port()
    r = probe("http://%s:%d/healthz" % (HOST, port))
    assert r.returncode == 1 and "cannot connect: Connection refused" in r.stderr
    r = probe("https://%s:%d/" % (HOST, port))
    assert r.returncode == 1 and "expected an http:// URL" in r.stderr
    r = probe("http://%s:0/" % HOST)
    assert r.returncode == 1 and "bad port" in r.stderr
    # Listening but never answering: the timeout ends it.
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(1)
        r = probe("http://%s:%d/" % (HOST, s.getsockname()[1]))
    assert r.returncode == 1 and "no answer within the timeout" in r.stderr


# --------------------------------------------------------------------------
# deploy/: the manifests against the real binary

try:
    import yaml
except ImportError:  # python3-yaml: deploy/install-deps.sh installs it
    yaml = None
needs_yaml = pytest.mark.skipif(yaml is None, reason="python3-yaml is not installed")
DEPLOY = REPO_ROOT / "deploy"


def load_manifests():
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc and "kind" in doc and "apiVersion" in doc, path
            docs.append(doc)
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def duration_s(text):
    m = re.fullmatch(r"([0-9.]+)(ms|s|m|h)?", text)
    assert m, text
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def conf_options(text):
    """The NAME=VALUE lines of a config file, in order."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


def localize(name, value, ports):
    """A frontend, admin or backend value moved to loopback: the rest of
    the value (parameters, patterns) is kept and checked by h2gate."""
    if name in ("frontend", "admin", "backend"):
        host, _, rest = value.partition(",")
        port, sep, params = rest.partition(";")
        if name == "backend":
            return "%s,%d%s%s" % (HOST, ports["backend"], sep, params)
        ports[name + ":" + port] = free_port()
        return "%s,%d%s%s" % (HOST, ports[name + ":" + port], sep, params)
    return value


def run_localized(procs, args, conf, tmp_path):
    """h2gate with the manifest's args and conf, moved to loopback ports.
    Returns (gate, {"admin:9090": local port, ...})."""
    o = procs.origin()
    ports = {"backend": o.port}
    if conf is not None:
        lines = ["%s=%s" % (n, localize(n, v, ports)) for n, v in conf_options(conf)]
        (tmp_path / "h2gate.conf").write_text("\n".join(lines) + "\n")
    argv = []
    for a in args:
        if a.startswith("--conf="):
            a = "--conf=%s" % (tmp_path / "h2gate.conf")
        elif a.startswith("--admin="):
            a = "--admin=" + localize("admin", a[len("--admin="):], ports)
        argv.append(a)
    for i, a in enumerate(argv[:-1]):
        if a in ("-f", "-b"):
            argv[i + 1] = localize("frontend" if a == "-f" else "backend", argv[i + 1], ports)
    g = start_raw(procs, [], argv, [p for k, p in ports.items() if k != "backend"])
    return g, ports


@needs_yaml
def test_k8s_manifests(procs, tmp_path):
    m = load_manifests()
    kinds = {k for k, _ in m}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler"} <= kinds
    dep = m[("Deployment", "h2gate")]
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    conf_vol = next(v for v in pod["volumes"] if "configMap" in v)
    cm = m[("ConfigMap", conf_vol["configMap"]["name"])]
    mount = next(vm for vm in c["volumeMounts"] if vm["name"] == conf_vol["name"])
    conf_arg = next(a for a in c["args"] if a.startswith("--conf="))
    conf_dir, conf_file = conf_arg[len("--conf="):].rsplit("/", 1)
    assert conf_dir == mount["mountPath"] and conf_file in cm["data"]
    conf = dict(conf_options(cm["data"][conf_file]))

    # Non-root, read-only root, resources, and time for the whole drain.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    period = next(duration_s(a.split("=", 1)[1]) for a in c["args"]
                  if a.startswith("--graceful-shutdown-accept-period="))
    assert period == 5
    drain = duration_s(conf.get("graceful-shutdown-timeout", "30s"))
    assert pod["terminationGracePeriodSeconds"] > period + drain

    # The probes ask the admin port for /readyz and /healthz.
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["admin"] == int(conf["admin"].split(",")[1])
    assert ports["http"] == int(conf["frontend"].split(",")[1].split(";")[0])
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}

    svc = m[("Service", "h2gate")]
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert all(p["targetPort"] in ports for p in svc["spec"]["ports"])
    backend = m[("Service", conf["backend"].split(",")[0])]
    assert backend["spec"]["clusterIP"] == "None"
    assert backend["spec"]["ports"][0]["port"] == int(conf["backend"].split(",")[1].split(";")[0])
    hpa = m[("HorizontalPodAutoscaler", "h2gate")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "h2gate"

    # Every option is one h2gate takes: run it with them, probe as kubelet.
    g, local = run_localized(procs, c["args"], cm["data"][conf_file], tmp_path)
    aport = local["admin:%d" % ports["admin"]]
    for probe_kind in ("readinessProbe", "livenessProbe"):
        assert admin_request(aport, c[probe_kind]["httpGet"]["path"])[0] == 200
    with H1Conn(local["frontend:%d" % ports["http"]], timeout=10) as h1:
        h1.send(h1_get("/size/4"))
        assert h1.read_response().status == 200


def dockerfile_stages():
    text = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages, cur = {}, None
    for line in text.splitlines():
        mm = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if mm:
            cur = stages.setdefault(mm.group(1), [])
        elif cur is not None and line.strip() and not line.lstrip().startswith("#"):
            cur.append(line.strip())
    return stages, cur


@needs_yaml
def test_dockerfile_and_compose(procs, tmp_path):
    stages, last = dockerfile_stages()
    prod = stages["h2gate"]
    assert last is prod, "the production image must be the last stage"
    assert not any("origin" in line for line in prod if line.startswith("COPY"))
    assert any("/origin" in line for line in stages["demo"] if line.startswith("COPY"))
    exposed = {int(p) for line in prod if line.startswith("EXPOSE") for p in line.split()[1:]}
    hc = next(line for line in prod if line.startswith("HEALTHCHECK"))
    assert "curl" not in hc
    url = re.search(r"--probe=(http://[^\"\s]+)", hc).group(1)
    hc_port, hc_path = re.match(r"http://127\.0\.0\.1:(\d+)(/\S*)", url).groups()

    comp = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    gate, origin = comp["services"]["h2gate"], comp["services"]["origin"]
    assert gate["build"]["target"] == "h2gate" and origin["build"]["target"] == "demo"
    g, local = run_localized(procs, gate["command"], None, tmp_path)
    admin = next(a for a in gate["command"] if a.startswith("--admin="))
    admin_port = int(admin.split(",")[1])
    assert admin_port == int(hc_port) and {admin_port, 3000} <= exposed
    published = {int(p.rsplit(":", 1)[1]) for p in gate["ports"]}
    assert published <= exposed
    r = probe("http://%s:%d%s" % (HOST, local["admin:%d" % admin_port], hc_path))
    assert r.returncode == 0, r.stderr
    assert origin["command"][:2] == ["-a", "0.0.0.0"]
