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
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "config/registry.h"
#include "common/stats.h"
#include "common/syslog.h"
#include "proxy/accesslog.h"
#include "proxy/admin.h"
#include "proxy/auth.h"
#include "proxy/cconn.h"
#include "proxy/dnswatch.h"
#include "proxy/gen.h"
#include "proxy/health.h"
#include "proxy/listen.h"
#include "proxy/privdrop.h"
#include "proxy/probe.h"
#include "proxy/sdnotify.h"
#include "proxy/tls.h"
#include "proxy/upool.h"
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

/* Reload state: main thread only. */
static struct gen *cur_gen;             /* the newest generation */
static struct cfg_registry registry;    /* the backends in use (config/registry.h) */
static ev_timer reclaim_timer;          /* frees retired registry slots */
static struct lsn_table listeners;
static int saved_argc;
static char **saved_argv;
static int *handed_fds;                 /* the workers' sockets for cur_gen, until all switch */
static bool reload_queued;              /* SIGHUP while workers were switching */
static bool rebuild_queued;             /* a ;dns answer changed while they were */
static bool rebuilding;                 /* the switch in flight is a rebuild */
static bool rebuild_failed;             /* the last rebuild was not applied: retried
                                         * when registry slots are freed */
static ev_async workers_reloaded;
static struct admin *admin;
static struct admin_config_info config_info;

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

/* A few scrapers and operators: no need for --backlog's queue. */
#define ADMIN_BACKLOG 128

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
    return lsn_open(&fe, false, ADMIN_BACKLOG, err, err_len);
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
static void begin_drain(struct ev_loop *loop)
{
    stop_all(WRK_CMD_GRACEFUL);
    ev_timer_init(&deadline, on_deadline, cur_gen->cfg.graceful_shutdown_timeout, 0.);
    ev_timer_start(loop, &deadline);
}

static void on_accept_period_end(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    log_notice("graceful shutdown: accept period over, draining");
    begin_drain(loop);
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
    double period = cur_gen->cfg.graceful_shutdown_accept_period;
    if (period <= 0) {
        log_notice("signal %d: graceful shutdown", s->signum);
        begin_drain(loop);
        return;
    }
    log_notice("signal %d: graceful shutdown: still accepting for %gs "
               "(--graceful-shutdown-accept-period)",
               s->signum, period);
    ev_timer_init(&accept_period, on_accept_period_end, period, 0.);
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

static void reload(void);
static void rebuild(void);

static bool workers_switched(void)
{
    for (int i = 0; i < num_workers; i++) {
        if (atomic_load_explicit(&workers[i].gen_applied, memory_order_acquire) != cur_gen->id)
            return false;
    }
    return true;
}

/* For the admin: the newest generation's certificates (main thread). */
static size_t certificates(const struct stats_cert **out)
{
    *out = cur_gen ? cur_gen->cert_info : NULL;
    return cur_gen ? cur_gen->num_cert_info : 0;
}

static void on_hup(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)loop;
    (void)revents;
    if (graceful_started) {
        log_warn("signal %d: shutting down, configuration not reloaded", s->signum);
        return;
    }
    if (!workers_switched()) {
        /* One switch at a time: the previous one's sockets are in flight. */
        reload_queued = true;
        return;
    }
    reload();
}

/* A worker switched generations (on its thread): when all have, the
 * socket rows are no longer needed and a queued reload may run. */
static void on_workers_reloaded(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)a;
    (void)revents;
    if (!workers_switched())
        return;
    if (handed_fds && rebuilding) {
        config_info.generation = cur_gen->id;
        log_notice("backend addresses updated: generation %llu in force on every worker",
                   (unsigned long long)cur_gen->id);
    } else if (handed_fds) {
        /* The reload is done when the last worker took it. */
        config_info.generation = cur_gen->id;
        config_info.reloads++;
        config_info.last_success = (double)time(NULL);
        log_notice("configuration reloaded: generation %llu in force on every worker",
                   (unsigned long long)cur_gen->id);
        sdnotify("READY=1");
    }
    free(handed_fds);
    handed_fds = NULL;
    rebuilding = false;
    if (reload_queued && !graceful_started) {
        reload_queued = rebuild_queued = false;
        reload();
    } else if (rebuild_queued && !graceful_started) {
        rebuild_queued = false;
        rebuild();
    }
}

static void worker_reloaded(void)
{
    ev_async_send(main_loop, &workers_reloaded);
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

/* Frees the registry slots nothing uses any more (registry.h's
 * invariant): no generation names them (gen_refs), no worker holds a
 * connection to them (upool_slot_held; the probe thread's probes are
 * covered by its generation reference). Their metric series go, and their
 * stats and health cells start over for the next member. */
static size_t reclaim_slots(void)
{
    size_t freed = 0;
    for (size_t slot = 0; slot < registry.num; slot++) {
        if (!cfg_registry_retired(&registry, slot))
            continue;
        bool held = false;
        for (int i = 0; i < num_workers && !held; i++)
            held = upool_slot_held(&workers[i], slot);
        if (held)
            continue;
        for (int i = 0; i < num_workers; i++)
            stats_clear_backend(workers[i].stats, slot);
        health_forget(slot);
        log_notice("backend %s: removed; its slot %zu is free", registry.names[slot], slot);
        cfg_registry_free_slot(&registry, slot);
        freed++;
    }
    if (freed)
        log_info("backend registry: %zu slots in use of %zu", registry.num_live, registry.cap);
    return freed;
}

static void on_dns_changed(void);

/* Some slot in use is not named by the current generation: it waits for
 * old generations and connections to end. */
static bool slots_draining(void)
{
    bool *named = xcalloc(registry.num ? registry.num : 1, sizeof(*named));
    size_t num_named = 0;
    for (size_t i = 0; i < cur_gen->cfg.num_backends; i++) {
        size_t slot = cur_gen->cfg.backends[i].index;
        num_named += !named[slot];
        named[slot] = true;
    }
    free(named);
    return num_named < registry.num_live;
}

/* Runs every second from a switch until no removed member is left. */
static void on_reclaim_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    if (reclaim_slots() && rebuild_failed)
        on_dns_changed();  /* a ;dns answer may now find room */
    if (!slots_draining())
        ev_timer_stop(loop, t);
}

/* The slot cap: CFG_REGISTRY_MAX, or less for tests that cycle through
 * it (H2GATE_TEST_MAX_BACKEND_SLOTS, read once at start; not an option). */
static size_t registry_cap(void)
{
    const char *v = getenv("H2GATE_TEST_MAX_BACKEND_SLOTS");
    long n = v ? atol(v) : 0;
    return n > 0 && n < CFG_REGISTRY_MAX ? (size_t)n : CFG_REGISTRY_MAX;
}

/* The next generation: a config loaded and checked as a whole, with room
 * for its backends in the registry, reading its files again unless it is
 * a rebuild of like. Returns NULL with the error in err. */
static struct gen *load_gen(struct config *cfg, const struct gen *like, char *err,
                            size_t err_len)
{
    reclaim_slots();
    size_t need = cfg_registry_needed(&registry, cfg);
    if (registry.num_live + need > registry.cap) {
        snprintf(err, err_len, "%zu new backend members, but %zu of the %zu backend slots are "
                 "in use (members configured, or removed with connections still open)",
                 need, registry.num_live, registry.cap);
        cfg_cleanup(cfg);
        return NULL;
    }
    return gen_rebuild(cfg, like, err, err_len);
}

/* Puts g's backends in the registry (load_gen made room). */
static void intern(struct gen *g)
{
    cfg_registry_intern(&registry, &g->cfg);
    g->registry = &registry;
    g->num_slots = registry.num;
}

/* /readyz: some member of every group is up (always, without checks). */
static bool backends_ready(void)
{
    return health_routes_ready(cur_gen);
}

/* Makes g the generation the workers switch to, with the sockets in fds
 * (rows of g's frontends, one per worker). */
static void publish(struct gen *g, int *fds)
{
    intern(g);
    rebuild_failed = false;
    g->id = cur_gen->id + 1;
    for (int i = 0; i < num_workers; i++)
        stats_grow(workers[i].stats, registry.num);
    if (admin)
        admin_set_backends(admin, (const char *const *)registry.names, registry.num);
    health_use(g, &registry);
    dnswatch_use(g);
    handed_fds = fds;
    for (int i = 0; i < num_workers; i++) {
        gen_ref(g);
        gen_members_ref(g);
        workers[i].next_gen = g;
        workers[i].next_fds = fds + (size_t)i * g->cfg.num_frontends;
        wrk_command(&workers[i], WRK_CMD_RELOAD);
    }
    gen_members_unref(cur_gen);
    gen_unref(cur_gen);
    cur_gen = g;
    if (!ev_is_active(&reclaim_timer))
        ev_timer_start(main_loop, &reclaim_timer);
}

static void reload_failed(const char *err)
{
    config_info.failures++;
    sdnotify("READY=1");
    log_error("reload failed: %s; the running configuration stays in force", err);
}

/* SIGHUP: reads the --conf file again with the original command line
 * (which wins, as at start), checks everything, then hands the new
 * generation to the workers. Any error leaves the running one untouched. */
static void reload(void)
{
    char err[1024], fixed[512];
    struct config cfg = { 0 };
    log_notice("SIGHUP: reloading the configuration%s%s",
               cur_gen->cfg.conf_file ? " from " : "",
               cur_gen->cfg.conf_file ? cur_gen->cfg.conf_file : "");
    sdnotify("RELOADING=1");
    if (cfg_load(&cfg, saved_argc, saved_argv, err, sizeof(err)) != CFG_RUN) {
        reload_failed(err);
        return;
    }
    if (cfg_keep_fixed(&cfg, &cur_gen->cfg, fixed, sizeof(fixed)))
        log_warn("reload: %s changed: that needs a restart; the running value stays", fixed);
    struct gen *g = load_gen(&cfg, NULL, err, sizeof(err));
    int *fds = NULL;
    if (!g) {
        reload_failed(err);
        return;
    }
    if (lsn_update(&listeners, &g->cfg, &fds, err, sizeof(err)) < 0) {
        gen_unref(g);
        reload_failed(err);
        return;
    }
    log_notice("configuration checked: generation %llu, %zu frontends, %zu backends, "
               "%zu routes; switching the workers",
               (unsigned long long)cur_gen->id + 1, g->cfg.num_frontends, g->cfg.num_backends,
               g->cfg.num_routes);
    publish(g, fds);
}

/* A ;dns name's addresses changed (dnswatch.c): the running configuration
 * again, from the same --conf text, with the new members. */
static void rebuild(void)
{
    char err[1024], fixed[512];
    struct config cfg = { 0 };
    struct cfg_reuse reuse = { .conf_text = cur_gen->cfg.conf_text,
                               .conf_len = cur_gen->cfg.conf_len,
                               .included = cur_gen->cfg.included,
                               .num_included = cur_gen->cfg.num_included,
                               .backends_text = cur_gen->cfg.api_backends,
                               .backends_len = cur_gen->cfg.api_backends_len };
    dnswatch_answers(cur_gen, &reuse);
    struct gen *g = NULL;
    int *fds = NULL;
    if (cfg_load_again(&cfg, saved_argc, saved_argv, &reuse, err, sizeof(err)) == CFG_RUN) {
        cfg_keep_fixed(&cfg, &cur_gen->cfg, fixed, sizeof(fixed));
        g = load_gen(&cfg, cur_gen, err, sizeof(err));
    }
    if (g && lsn_update(&listeners, &g->cfg, &fds, err, sizeof(err)) < 0) {
        gen_unref(g);
        g = NULL;
    }
    rebuild_failed = !g;
    if (!g) {
        log_warn("backend addresses changed but not applied: %s", err);
        return;
    }
    log_notice("backend addresses changed: generation %llu, %zu backends; switching the workers",
               (unsigned long long)cur_gen->id + 1, g->cfg.num_backends);
    rebuilding = true;
    publish(g, fds);
}

/* nghttpx's PUT /api/v1beta1/backendconfig (--admin-api, admin.h): the
 * running configuration again, from the texts it was read from, with the
 * backend= lines of text in place of its backends (names looked up now).
 * Like a ;dns rebuild it is no reload: configRevision stays. A SIGHUP
 * reload reads the files and drops what the API set, as in nghttpx.
 * Returns the HTTP status, with a message in msg unless 200. */
static int api_backendconfig(const char *text, size_t len, char *msg, size_t msg_len)
{
    if (graceful_started) {
        snprintf(msg, msg_len, "shutting down");
        return 503;
    }
    if (!workers_switched() || handed_fds) {
        snprintf(msg, msg_len, "a configuration switch is in progress: try again");
        return 503;
    }
    char fixed[512];
    struct config cfg = { 0 };
    struct cfg_reuse reuse = { .conf_text = cur_gen->cfg.conf_text,
                               .conf_len = cur_gen->cfg.conf_len,
                               .included = cur_gen->cfg.included,
                               .num_included = cur_gen->cfg.num_included,
                               .lookup = true,
                               .backends_text = text,
                               .backends_len = len };
    if (cfg_load_again(&cfg, saved_argc, saved_argv, &reuse, msg, msg_len) != CFG_RUN)
        return 400;
    cfg_keep_fixed(&cfg, &cur_gen->cfg, fixed, sizeof(fixed));
    struct gen *g = load_gen(&cfg, NULL, msg, msg_len);
    int *fds = NULL;
    if (!g)
        return 400;
    if (lsn_update(&listeners, &g->cfg, &fds, msg, msg_len) < 0) {
        gen_unref(g);
        return 500;
    }
    log_notice("backendconfig API: generation %llu, %zu backends; switching the workers",
               (unsigned long long)cur_gen->id + 1, g->cfg.num_backends);
    rebuilding = true;
    publish(g, fds);
    return 200;
}

/* For the admin's API: whether it is on, and its body limit. */
static size_t api_max_body(void)
{
    return cur_gen->cfg.admin_api ? cur_gen->cfg.api_max_request_body : 0;
}

static uint64_t config_revision(void)
{
    return config_info.reloads;
}

static void on_dns_changed(void)
{
    if (graceful_started)
        return;
    if (!workers_switched() || handed_fds) {
        rebuild_queued = true;
        return;
    }
    rebuild();
}

/* -t: everything a reload would check, without a socket. */
static int check_config(struct config *cfg)
{
    char err[1024];
    struct gen *g = gen_build(cfg, err, sizeof(err));
    if (g && g->cfg.admin) {
        /* The admin address is only parsed, not bound. */
        const char *comma = strrchr(g->cfg.admin, ',');
        if (!comma || comma == g->cfg.admin || atoi(comma + 1) <= 0 || atoi(comma + 1) > 65535) {
            snprintf(err, sizeof(err), "--admin=%s: expected HOST,PORT", g->cfg.admin);
            gen_unref(g);
            g = NULL;
        }
    }
    if (!g) {
        fprintf(stderr, "h2gate: %s\n", err);
        return 1;
    }
    printf("configuration OK\n");
    gen_unref(g);
    return 0;
}

static int run(struct gen *g);

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
    if (cfg.check_config)
        return check_config(&cfg);
    saved_argc = argc;
    saved_argv = argv;
    cfg_registry_init(&registry, registry_cap());
    struct gen *g = load_gen(&cfg, NULL, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "h2gate: %s\n", err);
        cfg_registry_free(&registry);
        return 1;
    }
    intern(g);
    g->id = 1;
    int rc = run(g);
    cfg_registry_free(&registry);
    return rc;
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

/* A worker's access log writer: syslog (--accesslog-syslog wins over
 * --accesslog-file, as in nghttpx) or the file. Exits when neither can
 * be opened; a syslog socket nobody listens on yet is only a warning
 * (once), its lines are dropped and counted until a daemon appears. */
static void open_access_log(const struct config *cfg, struct worker *w)
{
    if (cfg->accesslog_syslog) {
        const char *path = cfg->syslog_socket ? cfg->syslog_socket : SYSLOG_DEFAULT_SOCKET;
        w->alog = alog_writer_new_syslog(path, cfg->syslog_facility);
        if (!w->alog) {
            fprintf(stderr, "h2gate: --accesslog-syslog: socket for %s: %s\n", path,
                    strerror(errno));
            exit(1);
        }
        int e = alog_writer_syslog_errno(w->alog);
        if (e && w->id == 0)
            log_warn("--accesslog-syslog: %s: %s; access log lines are dropped until it "
                     "accepts them", path, strerror(e));
        return;
    }
    if (!cfg->accesslog_file)
        return;
    w->alog = alog_writer_new(cfg->accesslog_file);
    if (!w->alog) {
        fprintf(stderr, "h2gate: cannot open access log %s: %s\n", cfg->accesslog_file,
                strerror(errno));
        exit(1);
    }
}

/* The signals the main loop handles (serve()). */
static const int handled_signals[] = { SIGTERM, SIGQUIT, SIGINT, SIGUSR1, SIGHUP };
#define NUM_HANDLED (sizeof(handled_signals) / sizeof(handled_signals[0]))

/* One that came after the listeners were bound and before serve() watched
 * it: a SIGTERM or SIGHUP then (a client of the port may send one as soon
 * as it accepts) would otherwise take its default action and kill h2gate,
 * whichever thread it reached. A handler is the process's, whatever the
 * thread, so it is noted here and handed to the loop once it watches. */
static volatile sig_atomic_t early_signal[NUM_HANDLED];

static void on_early_signal(int sig)
{
    for (size_t i = 0; i < NUM_HANDLED; i++) {
        if (handled_signals[i] == sig)
            early_signal[i] = 1;
    }
}

static void catch_early_signals(void)
{
    struct sigaction sa = { .sa_handler = on_early_signal };
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NUM_HANDLED; i++)
        sigaction(handled_signals[i], &sa, NULL);
}

/* serve()'s watchers have replaced on_early_signal: what it noted is
 * theirs now. */
static void replay_early_signals(void)
{
    for (size_t i = 0; i < NUM_HANDLED; i++) {
        if (early_signal[i])
            ev_feed_signal(handled_signals[i]);
    }
}

/* Starts the workers with the handled signals blocked, so only the main
 * thread sees them. Each gets a reference to g and its row of fds. Exits
 * on a failure (out of threads, access log, --user). */
static void start_workers(struct gen *g, const int *fds)
{
    const struct config *cfg = &g->cfg;
    sigset_t set, old;
    sigemptyset(&set);
    for (size_t i = 0; i < NUM_HANDLED; i++)
        sigaddset(&set, handled_signals[i]);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    num_workers = cfg->workers;
    workers = xcalloc((size_t)num_workers, sizeof(*workers));
    for (int w = 0; w < num_workers; w++) {
        gen_ref(g);
        gen_members_ref(g);
        wrk_init(&workers[w], w, g, &fds[(size_t)w * cfg->num_frontends]);
        workers[w].on_exit = worker_exited;
        workers[w].on_reloaded = worker_reloaded;
        open_access_log(cfg, &workers[w]);
    }
    drop_privileges(cfg);
    for (int w = 0; w < num_workers; w++) {
        if (wrk_start(&workers[w]) != 0) {
            /* Out of threads at start-up: nothing to save, say so and go. */
            fprintf(stderr, "h2gate: cannot start worker thread %d\n", w);
            exit(1);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void write_pid_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        fprintf(stderr, "h2gate: --pid-file=%s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* The main thread's loop: signals and the admin listener, until every
 * worker has exited. */
static void serve(int admin_fd)
{
    const struct config *cfg = &cur_gen->cfg;
    ev_signal sig_term, sig_quit, sig_int, sig_usr1, sig_hup;
    ev_signal_init(&sig_term, on_graceful, SIGTERM);
    ev_signal_init(&sig_quit, on_graceful, SIGQUIT);
    ev_signal_init(&sig_int, on_int, SIGINT);
    ev_signal_init(&sig_usr1, on_usr1, SIGUSR1);
    ev_signal_init(&sig_hup, on_hup, SIGHUP);
    ev_signal_start(main_loop, &sig_term);
    ev_signal_start(main_loop, &sig_quit);
    ev_signal_start(main_loop, &sig_int);
    ev_signal_start(main_loop, &sig_usr1);
    ev_signal_start(main_loop, &sig_hup);
    replay_early_signals();

    struct stats **wstats = xcalloc((size_t)num_workers, sizeof(*wstats));
    for (int w = 0; w < num_workers; w++)
        wstats[w] = workers[w].stats;
    config_info.generation = cur_gen->id;
    config_info.last_success = (double)time(NULL);
    config_info.generations_alive = gen_alive;
    config_info.certificates = certificates;
    if (admin_fd >= 0) {
        admin = admin_new(main_loop, admin_fd, wstats, (size_t)num_workers,
                          (const char *const *)registry.names, registry.num, &shutting_down);
        admin_set_config_info(admin, &config_info);
        admin_set_ready_check(admin, backends_ready);
        static const struct admin_api api = { api_backendconfig, api_max_body, config_revision };
        admin_set_api(admin, &api);
        log_notice("admin listener on %s%s", cfg->admin,
                   cfg->admin_api ? " (with the backendconfig API)" : "");
    }
    for (size_t i = 0; i < cfg->num_frontends; i++)
        log_notice("listening on " CFG_FE_FMT " (%s)", CFG_FE_ARGS(&cfg->frontends[i]),
                   cfg->frontends[i].tls ? "TLS: h2, http/1.1" : "cleartext: h2c, http/1.1");
    log_notice("h2gate started: %d workers, %zu backends", num_workers, cfg->num_backends);
    sdnotify("READY=1");

    ev_run(main_loop, 0);

    for (int w = 0; w < num_workers; w++)
        wrk_join(&workers[w]);
    admin_free(admin);
    admin = NULL;
    free(wstats);
}

/* The error log: syslog (--errorlog-syslog, which makes --errorlog-file
 * ignored, as in nghttpx) or the file. Returns 0, or -1 after saying why
 * on stderr. */
static int open_error_log(const struct config *cfg)
{
    const char *file = cfg->errorlog_syslog ? NULL : cfg->errorlog_file;
    if (log_open((enum log_level)cfg->log_level, file) != 0) {
        fprintf(stderr, "h2gate: cannot open error log %s: %s\n", file, strerror(errno));
        return -1;
    }
    if (!cfg->errorlog_syslog)
        return 0;
    const char *path = cfg->syslog_socket ? cfg->syslog_socket : SYSLOG_DEFAULT_SOCKET;
    int e = 0;
    if (log_use_syslog(path, cfg->syslog_facility, &e) != 0) {
        fprintf(stderr, "h2gate: --errorlog-syslog: socket for %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (e)
        fprintf(stderr, "h2gate: --errorlog-syslog: %s: %s; error log lines are dropped "
                        "until it accepts them\n", path, strerror(e));
    return 0;
}

/* Everything after the configuration; returns the exit status. Every path
 * frees what it made, so sanitizer builds exit with the same status. */
static int run(struct gen *g)
{
    const struct config *cfg = &g->cfg;
    char err[1024];
    if (open_error_log(cfg) != 0) {
        gen_unref(g);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    catch_early_signals();
    raise_nofile(cfg->rlimit_nofile);
    listeners.workers = cfg->workers;
    int *fds = NULL, admin_fd = -1;
    if (lsn_update(&listeners, cfg, &fds, err, sizeof(err)) < 0 ||
        (cfg->admin && (admin_fd = open_admin(cfg->admin, err, sizeof(err))) < 0)) {
        fprintf(stderr, "h2gate: %s\n", err);
        if (fds) {
            for (size_t i = 0; i < (size_t)cfg->workers * cfg->num_frontends; i++)
                close(fds[i]);
        }
        free(fds);
        lsn_table_free(&listeners);
        gen_unref(g);
        return 1;
    }
    if (cfg->pid_file)
        write_pid_file(cfg->pid_file);
    cur_gen = g;
    main_loop = ev_default_loop(EVFLAG_AUTO);
    ev_async_init(&workers_done, on_workers_done);
    ev_async_start(main_loop, &workers_done);
    ev_async_init(&workers_reloaded, on_workers_reloaded);
    ev_async_start(main_loop, &workers_reloaded);
    cconn_global_init(cfg);
    if (health_start(g, &registry) != 0)
        log_warn("the health check thread did not start: no active checks");
    start_workers(g, fds);
    free(fds);
    dnswatch_start(main_loop, cur_gen, on_dns_changed);
    ev_timer_init(&reclaim_timer, on_reclaim_timer, 1., 1.);
    serve(admin_fd);
    ev_timer_stop(main_loop, &reclaim_timer);
    dnswatch_stop();
    health_stop();
    for (int w = 0; w < num_workers; w++)
        wrk_cleanup(&workers[w]);
    free(workers);
    free(handed_fds);
    cconn_global_cleanup();
    lsn_table_free(&listeners);
    if (cur_gen->cfg.pid_file)
        unlink(cur_gen->cfg.pid_file);
    gen_unref(cur_gen);
    cur_gen = NULL;
    ev_loop_destroy(main_loop);
    log_notice("h2gate exits");
    return 0;
}
