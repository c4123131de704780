"""bench/compare_peers.py: the shared backend and the targets of bench/compare
(h2gate, nghttpx, h2o, haproxy), each with a config of its own in a
temporary directory, on free loopback ports, stopped by PID.

Every target gets W workers, no access log, keep-alive to the backend,
HTTP/2 with prior knowledge on its cleartext front and the same
self-signed P-256 certificate on its TLS front. Modes: h1 (h2c front,
HTTP/1.1 backend), h2 (h2c front, h2c backend), tls (TLS front, HTTP/1.1
backend).
"""

import os
import shutil
import socket
import subprocess
import time

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BODY = "hello, world\n"     # 13 bytes, the response


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def listening(port):
    """True when something LISTENs on loopback TCP PORT (from /proc: no
    probe connection shows up in anyone's counters)."""
    want = ":%04X" % port
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and cols[1].endswith(want):
                        return True
        except OSError:
            pass
    return False


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(d))
    return kids


def pid_tree(pid):
    out = [pid]
    for k in children(pid):
        out += pid_tree(k)
    return out


def cpu_seconds(pid):
    """(utime, stime) of PID and its descendants (all their threads), in
    seconds: the proxy's own code and the kernel's work for it."""
    user = system = 0
    for p in pid_tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return user / CLK_TCK, system / CLK_TCK


def pinner(cpus):
    """A preexec_fn that pins the child to CPUS (None: no pinning)."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class Proc:
    def __init__(self, argv, logfile, cpus, ports):
        self.logfile = logfile
        self.ports = ports
        with open(logfile, "w") as log:
            self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, preexec_fn=pinner(cpus))
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def wait_listen(self):
        for _ in range(100):
            if all(listening(p) for p in self.ports):
                return None
            if not self.alive():
                return "exited (rc %s; log %s)" % (self.popen.returncode, self.logfile)
            time.sleep(0.1)
        return "not listening on %s within 10 s (log %s)" % (self.ports, self.logfile)

    def stop(self):
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Env:
    """Temporary directory, certificate, shared backend, started processes."""

    def __init__(self, tmp, workers, backend, backend_threads, h2gate_bin, root,
                 proxy_cpus, load_cpus, nginx_h2_streams=128):
        self.tmp, self.workers, self.backend = tmp, workers, backend
        self.backend_threads, self.h2gate_bin, self.root = backend_threads, h2gate_bin, root
        self.proxy_cpus, self.load_cpus = proxy_cpus, load_cpus
        self.nginx_h2_streams = nginx_h2_streams
        self.procs = []
        self.be_h1 = self.be_h2 = None
        self.key, self.cert, self.pem = (os.path.join(tmp, f) for f in
                                         ("key.pem", "cert.pem", "both.pem"))

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def prepare(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        with open(self.pem, "w") as f:     # HAProxy's crt: certificate then key
            f.write(open(self.cert).read() + open(self.key).read())
        os.makedirs(self.path("htdocs/size"), exist_ok=True)
        with open(self.path("htdocs/size/1048576"), "wb") as f:
            f.write(b"x" * 1048576)
        with open(self.path("htdocs/size/13"), "w") as f:
            f.write(BODY)
        self.be_h1 = free_port()
        self.be_h2 = free_port() if self.backend == "nginx" else self.be_h1
        if self.backend == "nginx":
            self.write("nginx.conf", NGINX_CONF % dict(
                tmp=self.tmp, workers=self.backend_threads, h1=self.be_h1, h2=self.be_h2,
                host=HOST, body=BODY.replace("\n", "\\n"), streams=self.nginx_h2_streams))

    def spawn(self, argv, name, ports, cpus):
        p = Proc(argv, self.path(name + ".log"), cpus, ports)
        self.procs.append(p)
        return p

    def start_backend(self):
        if self.backend == "nginx":
            argv = ["nginx", "-p", self.tmp + "/", "-c", self.path("nginx.conf"),
                    "-e", self.path("nginx-error.log")]
        else:
            argv = [os.path.join(self.root, "build", "origin"), "-a", HOST,
                    "-p", str(self.be_h1), "-t", str(self.backend_threads)]
        p = self.spawn(argv, "backend", sorted({self.be_h1, self.be_h2}), self.load_cpus)
        why = p.wait_listen()
        if why:
            raise SystemExit("compare: backend %s: %s" % (self.backend, why))
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []


NGINX_CONF = """\
# bench/compare's shared backend: /size/13 answers 13 bytes from memory,
# other paths are files under htdocs; no access log; keep-alive connections
# live long enough for every run.
daemon off;
master_process on;
user root;
worker_processes %(workers)d;
worker_rlimit_nofile 20000;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/nginx-error.log error;
events { worker_connections 19000; }
http {
    access_log off;
    default_type application/octet-stream;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    http2_max_concurrent_streams %(streams)d;
    client_body_temp_path %(tmp)s/nginx-body;
    proxy_temp_path %(tmp)s/nginx-proxy;
    fastcgi_temp_path %(tmp)s/nginx-fastcgi;
    uwsgi_temp_path %(tmp)s/nginx-uwsgi;
    scgi_temp_path %(tmp)s/nginx-scgi;
    server {
        listen %(host)s:%(h1)d;
        listen %(host)s:%(h2)d http2;
        root %(tmp)s/htdocs;
        location = /size/13 { return 200 "%(body)s"; }
    }
}
"""


class Target:
    """One proxy. argv(mode, port) is its command line for a mode."""
    name = None
    binary = None
    supports_why = ""

    def __init__(self, env):
        self.env = env

    def missing(self):
        if not shutil.which(self.binary):
            return "%s not installed" % self.binary
        return None

    def supports(self, mode):
        return True

    def backend_port(self, mode):
        return self.env.be_h2 if mode == "h2" else self.env.be_h1

    def start(self, mode):
        """(Instance, None) or (None, why). Checks one GET per path first."""
        port = free_port()
        p = self.env.spawn(self.argv(mode, port), "%s-%s" % (self.name, mode), [port],
                           self.env.proxy_cpus)
        p.port = port
        why = p.wait_listen()
        if not why:
            why = probe(mode, port)
        return (None, why) if why else (p, None)


def probe(mode, port):
    """One GET of each path through the target, checked for 200 and length."""
    scheme, opt = ("https", ["-k", "--http2"]) if mode == "tls" else \
        ("http", ["--http2-prior-knowledge"])
    for path, size in (("/size/13", 13), ("/size/1048576", 1048576)):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "10",
                            "-w", "%{http_code} %{size_download} %{http_version}"] + opt +
                           ["%s://%s:%d%s" % (scheme, HOST, port, path)],
                           capture_output=True, text=True)
        if r.stdout.strip() != "200 %d 2" % size:
            return "probe GET %s answered '%s' (want '200 %d 2')" % (path, r.stdout.strip(), size)
    return None


class H2gate(Target):
    name = binary = "h2gate"

    def missing(self):
        if not os.access(self.env.h2gate_bin, os.X_OK):
            return "%s not built (make binaries)" % self.env.h2gate_bin
        return None

    def argv(self, mode, port):
        be = "%s,%d" % (HOST, self.backend_port(mode)) + (";;proto=h2" if mode == "h2" else "")
        front = "%s,%d" % (HOST, port) + ("" if mode == "tls" else ";no-tls")
        argv = [self.env.h2gate_bin, "-n", str(self.env.workers), "-f", front, "-b", be]
        argv += os.environ.get("H2GATE_ARGS", "").split()
        return argv + ([self.env.key, self.env.cert] if mode == "tls" else [])


class Nghttpx(Target):
    name = binary = "nghttpx"

    def argv(self, mode, port):
        be = "%s,%d" % (HOST, self.backend_port(mode)) + (";;proto=h2" if mode == "h2" else "")
        front = "%s,%d" % (HOST, port) + ("" if mode == "tls" else ";no-tls")
        argv = ["nghttpx", "--conf=/dev/null", "--no-ocsp", "-L", "ERROR",
                "-n", str(self.env.workers), "-f", front, "-b", be]
        argv += os.environ.get("NGHTTPX_ARGS", "").split()
        return argv + ([self.env.key, self.env.cert] if mode == "tls" else [])


class H2o(Target):
    name = binary = "h2o"
    supports_why = "h2o 2.2's proxy speaks only HTTP/1.1 to backends"

    def supports(self, mode):
        return mode != "h2"

    def argv(self, mode, port):
        ssl = ""
        if mode == "tls":
            ssl = "  ssl:\n    certificate-file: %s\n    key-file: %s\n" % (
                self.env.cert, self.env.key)
        conf = self.env.write("h2o-%s.conf" % mode, H2O_CONF % dict(
            workers=self.env.workers, host=HOST, port=port, ssl=ssl,
            tmp=self.env.tmp, mode=mode, be=self.backend_port(mode)))
        return ["h2o", "-c", conf]


H2O_CONF = """\
# h2o 2.2: HTTP/2 with prior knowledge on a plain listener, no access log
# (none configured), keep-alive to the backend (proxy.timeout.keepalive).
user: root
num-threads: %(workers)d
max-connections: 10000
error-log: %(tmp)s/h2o-%(mode)s-error.log
pid-file: %(tmp)s/h2o-%(mode)s.pid
proxy.timeout.keepalive: 60000
listen:
  host: %(host)s
  port: %(port)d
%(ssl)shosts:
  "default":
    paths:
      "/":
        proxy.reverse.url: "http://%(host)s:%(be)d/"
"""


class Haproxy(Target):
    name = binary = "haproxy"

    def argv(self, mode, port):
        bind = "%s:%d proto h2" % (HOST, port)
        if mode == "tls":
            bind = "%s:%d ssl crt %s alpn h2" % (HOST, port, self.env.pem)
        conf = self.env.write("haproxy-%s.cfg" % mode, HAPROXY_CONF % dict(
            workers=self.env.workers, bind=bind, host=HOST, be=self.backend_port(mode),
            proto=" proto h2" if mode == "h2" else ""))
        return ["haproxy", "-db", "-f", conf]


HAPROXY_CONF = """\
# HAProxy: h2c with prior knowledge on the plain bind ("proto h2"), no log
# line (no "log" anywhere), idle backend connections shared between
# clients ("http-reuse always", as nghttpx and h2gate pool them).
global
    nbthread %(workers)d
    maxconn 9000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    http-reuse always
frontend fe
    bind %(bind)s
    default_backend be
backend be
    server s1 %(host)s:%(be)d%(proto)s
"""

TARGETS = {"h2gate": H2gate, "nghttpx": Nghttpx, "h2o": H2o, "haproxy": Haproxy}
