/* h2gate entry point: the main thread parses the configuration, opens the
 * listeners, starts the workers and owns the signals. It never touches a
 * connection. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "common/stats.h"
#include "proxy/accesslog.h"
#include "proxy/admin.h"
#include "proxy/auth.h"
#include "proxy/cconn.h"
#include "proxy/privdrop.h"
#include "proxy/probe.h"
#include "proxy/sdnotify.h"
#include "proxy/tls.h"
#include "proxy/worker.h"

static struct worker *workers;
static int num_workers;
static ev_async workers_done;
static _Atomic int num_exited;
static struct ev_loop *main_loop;
static ev_timer deadline;
static ev_timer accept_period;     /* --graceful-shutdown-accept-period */
static bool graceful_started;
static _Atomic bool shutting_down; /* read by the admin's /healthz and /readyz */

static void raise_nofile(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t target = want ? (rlim_t)want : rl.rlim_max;
    if (target > rl.rlim_max && want) {
        rl.rlim_max = target; /* only root may raise the hard limit */
    }
    rl.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot set the open-file limit to %llu: %s", (unsigned long long)target,
                 strerror(errno));
}

/* Opens one listening socket for fe. Returns the fd, or H2G_ERR_IO with a
 * message in err. */
static int open_listener(const struct cfg_frontend *fe, bool reuseport, char *err,
                         size_t err_len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    char port[8];
    snprintf(port, sizeof(port), "%u", fe->port);
    bool any = strcmp(fe->host, "*") == 0;
    hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
    struct addrinfo *res = NULL;
    int rv = getaddrinfo(any ? NULL : fe->host, port, &hints, &res);
    if (rv != 0 && any) {
        hints.ai_family = AF_INET;
        rv = getaddrinfo(NULL, port, &hints, &res);
    }
    if (rv != 0) {
        snprintf(err, err_len, "frontend %s,%u: cannot resolve: %s", fe->host, fe->port,
                 gai_strerror(rv));
        return H2G_ERR_IO;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "frontend %s,%u: socket: %s", fe->host, fe->port,
                 strerror(errno));
        freeaddrinfo(res);
        return H2G_ERR_IO;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (res->ai_family == AF_INET6 && any)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            snprintf(err, err_len,
                     "frontend %s,%u: address already in use (another process is "
                     "listening there; pick another port with -f)",
                     fe->host, fe->port);
        else
            snprintf(err, err_len, "frontend %s,%u: %s", fe->host, fe->port, strerror(e));
        close(fd);
        freeaddrinfo(res);
        return H2G_ERR_IO;
    }
    freeaddrinfo(res);
    return fd;
}

/* Opens the --admin listener ("HOST,PORT"). Returns the fd, or H2G_ERR_INVAL
 * or H2G_ERR_IO with a message in err. */
static int open_admin(const char *spec, char *err, size_t err_len)
{
    const char *comma = strrchr(spec, ',');
    char *end = NULL;
    unsigned long port = comma ? strtoul(comma + 1, &end, 10) : 0;
    if (!comma || comma == spec || !end || *end || port == 0 || port > 65535) {
        snprintf(err, err_len, "--admin=%s: expected HOST,PORT", spec);
        return H2G_ERR_INVAL;
    }
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(comma - spec), spec);
    struct cfg_frontend fe = { .host = host, .port = (uint16_t)port, .tls = false };
    return open_listener(&fe, false, err, err_len);
}

static void stop_all(enum wrk_cmd cmd)
{
    for (int i = 0; i < num_workers; i++)
        wrk_command(&workers[i], cmd);
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    log_notice("graceful shutdown timeout: closing the remaining connections");
    stop_all(WRK_CMD_STOP);
}

/* The drain: workers close their listeners and send GOAWAY; the
 * deadline counts from here. */
static void begin_drain(struct ev_loop *loop, const struct config *cfg)
{
    stop_all(WRK_CMD_GRACEFUL);
    ev_timer_init(&deadline, on_deadline, cfg->graceful_shutdown_timeout, 0.);
    ev_timer_start(loop, &deadline);
}

static void on_accept_period_end(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    log_notice("graceful shutdown: accept period over, draining");
    begin_drain(loop, t->data);
}

/* /readyz turns 503 at once; the listeners keep accepting through the
 * accept period, so connections a load balancer still sends us while it
 * learns that are served, not refused. */
static void on_graceful(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)revents;
    if (graceful_started)
        return;
    graceful_started = true;
    atomic_store(&shutting_down, true);
    sdnotify("STOPPING=1");
    const struct config *cfg = s->data;
    if (cfg->graceful_shutdown_accept_period <= 0) {
        log_notice("signal %d: graceful shutdown", s->signum);
        begin_drain(loop, cfg);
        return;
    }
    log_notice("signal %d: graceful shutdown: still accepting for %gs "
               "(--graceful-shutdown-accept-period)",
               s->signum, cfg->graceful_shutdown_accept_period);
    ev_timer_init(&accept_period, on_accept_period_end, cfg->graceful_shutdown_accept_period,
                  0.);
    accept_period.data = (void *)cfg;
    ev_timer_start(loop, &accept_period);
}

static void on_int(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)loop;
    (void)revents;
    log_notice("signal %d: exiting now", s->signum);
    sdnotify("STOPPING=1");
    stop_all(WRK_CMD_STOP);
}

static void on_usr1(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)loop;
    (void)s;
    (void)revents;
    if (log_reopen() != 0)
        log_error("cannot reopen the error log");
    stop_all(WRK_CMD_REOPEN_LOGS);
}

static void on_hup(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)loop;
    (void)s;
    (void)revents;
    /* nghttpx reloads on SIGHUP; we cannot yet, and must not die of it. */
    log_warn("SIGHUP: configuration reload is not supported; ignored (restart h2gate, "
             "or send SIGQUIT for a graceful stop)");
}

static void on_workers_done(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)a;
    (void)revents;
    if (atomic_load(&num_exited) == num_workers)
        ev_break(loop, EVBREAK_ALL);
}

/* Called on each worker thread as it exits. */
static void worker_exited(void)
{
    atomic_fetch_add(&num_exited, 1);
    ev_async_send(main_loop, &workers_done);
}

static int run(const struct config *cfgp);

int main(int argc, char **argv)
{
    struct config cfg = { 0 };
    char err[1024];
    enum cfg_load_result lr = cfg_load(&cfg, argc, argv, err, sizeof(err));
    if (lr == CFG_EXIT_OK)
        return 0;
    if (lr == CFG_PROBE) {
        int rc = probe_run(cfg.probe);
        cfg_cleanup(&cfg);
        return rc;
    }
    if (lr == CFG_ERROR) {
        fprintf(stderr, "h2gate: %s\n", err);
        fprintf(stderr, "Try 'h2gate --help' for the options.\n");
        return 1;
    }
    int rc = run(&cfg);
    cfg_cleanup(&cfg);
    return rc;
}

/* What main builds before the workers start and they borrow until they
 * are joined. */
struct shared {
    SSL_CTX *ssl_ctx;
    int *fds;                   /* workers x frontends listening sockets */
    size_t num_fds;
    struct auth_db *auth_db;
    struct alog_format *alog_fmt, *alog_fmt_tunnel;
    int admin_fd;
};

static void shared_free(struct shared *sh)
{
    for (size_t i = 0; i < sh->num_fds; i++)
        close(sh->fds[i]);
    free(sh->fds);
    if (sh->admin_fd >= 0)
        close(sh->admin_fd);
    alog_format_free(sh->alog_fmt);
    alog_format_free(sh->alog_fmt_tunnel);
    auth_db_free(sh->auth_db);
    SSL_CTX_free(sh->ssl_ctx);
    memset(sh, 0, sizeof(*sh));
    sh->admin_fd = -1;
}

/* The server TLS context, when a frontend uses TLS, and every worker's
 * listening sockets. Returns 0 or H2G_ERR_IO with a message in err. */
static int open_frontends(const struct config *cfg, struct shared *sh, char *err,
                          size_t err_len)
{
    for (size_t i = 0; i < cfg->num_frontends; i++) {
        if (cfg->frontends[i].tls && !sh->ssl_ctx) {
            sh->ssl_ctx = tls_server_ctx_new(cfg, err, err_len);
            if (!sh->ssl_ctx)
                return H2G_ERR_IO;
        }
    }
    /* A plain bind first: SO_REUSEPORT would let us share a port another
     * h2gate or nghttpx already serves, and the user would never know. */
    for (size_t i = 0; i < cfg->num_frontends; i++) {
        int fd = open_listener(&cfg->frontends[i], false, err, err_len);
        if (fd < 0)
            return H2G_ERR_IO;
        close(fd);
    }
    sh->fds = xcalloc((size_t)cfg->workers * cfg->num_frontends, sizeof(int));
    for (int w = 0; w < cfg->workers; w++) {
        for (size_t i = 0; i < cfg->num_frontends; i++) {
            int fd = open_listener(&cfg->frontends[i], true, err, err_len);
            if (fd < 0)
                return H2G_ERR_IO;
            sh->fds[sh->num_fds++] = fd;
        }
    }
    return 0;
}

/* The auth file, the access log formats and the admin listener. Returns 0
 * or H2G_ERR_INVAL with a message (naming the option) in err. */
static int load_services(const struct config *cfg, struct shared *sh, char *err,
                         size_t err_len)
{
    char msg[512];
    if (cfg->connect_auth_file) {
        sh->auth_db = auth_db_load(cfg->connect_auth_file, msg, sizeof(msg));
        if (!sh->auth_db) {
            snprintf(err, err_len, "--connect-auth-file: %s", msg);
            return H2G_ERR_INVAL;
        }
    }
    if (cfg->accesslog_file) {
        if (!cfg->accesslog_format) {
            /* The default format, plus duration and bytes for tunnels. */
            sh->alog_fmt_tunnel =
                alog_format_compile(alog_default_tunnel_format(), msg, sizeof(msg));
        }
        sh->alog_fmt = alog_format_compile(
            cfg->accesslog_format ? cfg->accesslog_format : alog_default_format(), msg,
            sizeof(msg));
        if (!sh->alog_fmt) {
            snprintf(err, err_len, "--accesslog-format: %s", msg);
            return H2G_ERR_INVAL;
        }
    }
    if (cfg->admin) {
        sh->admin_fd = open_admin(cfg->admin, err, err_len);
        if (sh->admin_fd < 0)
            return H2G_ERR_INVAL;
    }
    return 0;
}

/* --user: after everything that needs root (listeners, keys, the
 * workers' backend TLS files), before any thread. Exits on a failure. */
static void drop_privileges(const struct config *cfg)
{
    char err[512];
    if (!cfg->user)
        return;
    if (privdrop(cfg->user, err, sizeof(err)) != 0) {
        fprintf(stderr, "h2gate: %s\n", err);
        exit(1);
    }
    log_notice("running as user %s (uid %u, gid %u)", cfg->user, (unsigned)getuid(),
               (unsigned)getgid());
}

/* Starts the workers with the handled signals blocked, so only the main
 * thread sees them. Exits on a failure (out of threads, access log,
 * --user). */
static void start_workers(const struct config *cfg, struct shared *sh)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    num_workers = cfg->workers;
    workers = xcalloc((size_t)num_workers, sizeof(*workers));
    for (int w = 0; w < num_workers; w++) {
        wrk_init(&workers[w], w, cfg, sh->ssl_ctx, sh->auth_db,
                 &sh->fds[(size_t)w * cfg->num_frontends]);
        workers[w].on_exit = worker_exited;
        if (sh->alog_fmt) {
            workers[w].alog_fmt = sh->alog_fmt;
            workers[w].alog_fmt_tunnel = sh->alog_fmt_tunnel;
            workers[w].alog = alog_writer_new(cfg->accesslog_file);
            if (!workers[w].alog) {
                fprintf(stderr, "h2gate: cannot open access log %s: %s\n", cfg->accesslog_file,
                        strerror(errno));
                exit(1);
            }
        }
    }
    drop_privileges(cfg);
    for (int w = 0; w < num_workers; w++) {
        if (wrk_start(&workers[w]) != 0) {
            /* Out of threads at start-up: nothing to save, say so and go. */
            fprintf(stderr, "h2gate: cannot start worker thread %d\n", w);
            exit(1);
        }
    }
    /* The workers own their listening sockets now. */
    free(sh->fds);
    sh->fds = NULL;
    sh->num_fds = 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Backend labels for the stats: unique even when one address appears in
 * several -b. */
static char **backend_names(const struct config *cfg)
{
    char **names = xcalloc(cfg->num_backends ? cfg->num_backends : 1, sizeof(*names));
    for (size_t i = 0; i < cfg->num_backends; i++) {
        char name[300];
        snprintf(name, sizeof(name), "%s:%u", cfg->backends[i].host, cfg->backends[i].port);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[j], name) == 0) {
                snprintf(name, sizeof(name), "%s:%u#%zu", cfg->backends[i].host,
                         cfg->backends[i].port, i);
                break;
            }
        }
        names[i] = xstrdup(name);
    }
    return names;
}

/* The main thread's loop: signals and the admin listener, until every
 * worker has exited. */
static void serve(const struct config *cfg, struct shared *sh)
{
    ev_signal sig_term, sig_quit, sig_int, sig_usr1, sig_hup;
    ev_signal_init(&sig_term, on_graceful, SIGTERM);
    ev_signal_init(&sig_quit, on_graceful, SIGQUIT);
    ev_signal_init(&sig_int, on_int, SIGINT);
    ev_signal_init(&sig_usr1, on_usr1, SIGUSR1);
    ev_signal_init(&sig_hup, on_hup, SIGHUP);
    sig_term.data = sig_quit.data = (void *)cfg;
    ev_signal_start(main_loop, &sig_term);
    ev_signal_start(main_loop, &sig_quit);
    ev_signal_start(main_loop, &sig_int);
    ev_signal_start(main_loop, &sig_usr1);
    ev_signal_start(main_loop, &sig_hup);

    struct admin *admin = NULL;
    struct stats **wstats = xcalloc((size_t)num_workers, sizeof(*wstats));
    for (int w = 0; w < num_workers; w++)
        wstats[w] = workers[w].stats;
    char **names = backend_names(cfg);
    if (sh->admin_fd >= 0) {
        admin = admin_new(main_loop, sh->admin_fd, wstats, (size_t)num_workers,
                          (const char *const *)names, cfg->num_backends, &shutting_down);
        sh->admin_fd = -1; /* the admin owns it */
        log_notice("admin listener on %s", cfg->admin);
    }
    for (size_t i = 0; i < cfg->num_frontends; i++)
        log_notice("listening on %s,%u (%s)", cfg->frontends[i].host, cfg->frontends[i].port,
                   cfg->frontends[i].tls ? "TLS: h2, http/1.1" : "cleartext: h2c, http/1.1");
    log_notice("h2gate started: %d workers, %zu backends", num_workers, cfg->num_backends);
    sdnotify("READY=1");

    ev_run(main_loop, 0);

    for (int w = 0; w < num_workers; w++)
        wrk_join(&workers[w]);
    admin_free(admin);
    free(wstats);
    for (size_t i = 0; i < cfg->num_backends; i++)
        free(names[i]);
    free(names);
}

/* Everything after the configuration; returns the exit status. Every path
 * frees what it made, so sanitizer builds exit with the same status. */
static int run(const struct config *cfgp)
{
    /* A copy by value: the workers borrow it until run() returns. */
    struct config cfg = *cfgp;
    char err[1024];
    if (log_open((enum log_level)cfg.log_level, cfg.errorlog_file) != 0) {
        fprintf(stderr, "h2gate: cannot open error log %s: %s\n", cfg.errorlog_file,
                strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(cfg.rlimit_nofile);
    struct shared sh = { .admin_fd = -1 };
    if (open_frontends(&cfg, &sh, err, sizeof(err)) < 0 ||
        load_services(&cfg, &sh, err, sizeof(err)) < 0) {
        fprintf(stderr, "h2gate: %s\n", err);
        shared_free(&sh);
        return 1;
    }
    main_loop = ev_default_loop(EVFLAG_AUTO);
    ev_async_init(&workers_done, on_workers_done);
    ev_async_start(main_loop, &workers_done);
    cconn_global_init(&cfg);
    start_workers(&cfg, &sh);
    serve(&cfg, &sh);
    for (int w = 0; w < num_workers; w++)
        wrk_cleanup(&workers[w]);
    free(workers);
    cconn_global_cleanup();
    shared_free(&sh);
    ev_loop_destroy(main_loop);
    log_notice("h2gate exits");
    return 0;
}
