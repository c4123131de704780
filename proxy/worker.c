#include "proxy/balance.h"
#include "proxy/worker.h"

#include <errno.h>
#include <time.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/accesslog.h"
#include "proxy/bconn.h"
#include "proxy/bsess.h"
#include "proxy/auth.h"
#include "proxy/cconn.h"
#include "proxy/dns.h"
#include "proxy/gen.h"
#include "proxy/h2mem.h"
#include "proxy/h2srv.h"
#include "proxy/sock.h"
#include "proxy/tls.h"
#include "proxy/tunnel.h"
#include "proxy/upool.h"
#include "proxy/xchg.h"

/* Accepts per listener wakeup, so one busy frontend cannot starve the loop. */
#define ACCEPT_BATCH 64

/* True when a warning may be logged now (at most one a second); then
 * *suppressed is the number of warnings swallowed since the last one. */
static bool ratelog_due(struct wrk_ratelog *r, double now, uint64_t *suppressed)
{
    if (r->last != 0 && now - r->last < 1.) {
        r->suppressed++;
        return false;
    }
    r->last = now;
    *suppressed = r->suppressed;
    r->suppressed = 0;
    return true;
}

/* Stops accepting on every listener of this worker: they share one
 * descriptor table, and a level-triggered watcher on a listener whose
 * accept() keeps failing would spin. Resumed by resume_accept(). */
static void pause_accept(struct worker *w)
{
    if (w->accept_paused)
        return;
    w->accept_paused = true;
    stats_accept_paused(w->stats, true);
    for (size_t i = 0; i < w->num_listeners; i++)
        ev_io_stop(w->loop, &w->listeners[i].io);
    /* 0 waits for a close, which a worker without connections never sees. */
    double t = w->cfg->listener_disable_timeout;
    if (t <= 0 && w->num_conns == 0)
        t = 1.;
    if (t > 0) {
        ev_timer_set(&w->accept_timer, t, 0.);
        ev_timer_start(w->loop, &w->accept_timer);
    }
}

/* Ends a pause: the listeners that are still open accept again. */
static void resume_accept(struct worker *w)
{
    if (!w->accept_paused)
        return;
    w->accept_paused = false;
    stats_accept_paused(w->stats, false);
    ev_timer_stop(w->loop, &w->accept_timer);
    for (size_t i = 0; i < w->num_listeners; i++) {
        if (w->listeners[i].fd >= 0)
            ev_io_start(w->loop, &w->listeners[i].io);
    }
}

static void on_accept_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    resume_accept(t->data);
}

static void accept_failed(struct worker *w, int e)
{
    uint64_t n;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        stats_accept_error(w->stats);
        if (ratelog_due(&w->accept_log, ev_now(w->loop), &n))
            log_warn("accept: %s%s; paused until a client connection closes or "
                     "--listener-disable-timeout (%" PRIu64 " suppressed since the last)",
                     strerror(e), e == EMFILE || e == ENFILE ? " (raise --rlimit-nofile)" : "",
                     n);
        pause_accept(w);
    } else if (e != EAGAIN && e != EINTR && e != ECONNABORTED) {
        log_warn("accept: %s", strerror(e));
    }
}

/* --worker-frontend-connections: a connection past the cap is closed
 * before we read a byte of it. Accepting it (rather than leaving it in
 * the backlog) tells the client at once; with SO_REUSEPORT the kernel
 * would not hand a waiting one to another worker anyway. */
static bool refuse(struct worker *w, int fd)
{
    size_t cap = w->cfg->worker_frontend_connections;
    if (cap == 0 || w->num_conns < cap)
        return false;
    close(fd);
    stats_conn_refused(w->stats);
    uint64_t n;
    if (ratelog_due(&w->refuse_log, ev_now(w->loop), &n))
        log_warn("connection refused: %zu client connections open on this worker "
                 "(--worker-frontend-connections) (%" PRIu64 " suppressed since the last)",
                 w->num_conns, n);
    return true;
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct wrk_listener *l = (struct wrk_listener *)io;
    struct worker *w = l->w;
    for (int i = 0; i < ACCEPT_BATCH && !w->accept_paused; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == ECONNABORTED || errno == EINTR)
                continue;
            accept_failed(w, errno);
            return;
        }
        if (refuse(w, fd))
            continue;
        int one = 1;
        if (ss.ss_family != AF_UNIX)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        cconn_new(w, fd, l->fe, (struct sockaddr *)&ss);
    }
}

void wrk_mark_dirty(struct worker *w, struct cconn *cc)
{
    if (cc->dirty || cc->dead)
        return;
    cc->dirty = true;
    cc->next_dirty = w->dirty;
    w->dirty = cc;
}

static void stop_listeners(struct worker *w)
{
    resume_accept(w); /* its timer and gauge; the watchers stop below */
    for (size_t i = 0; i < w->num_listeners; i++) {
        if (w->listeners[i].fd >= 0) {
            ev_io_stop(w->loop, &w->listeners[i].io);
            close(w->listeners[i].fd);
            w->listeners[i].fd = -1;
        }
    }
}

static void on_idle(struct ev_loop *loop, ev_idle *idle, int revents)
{
    (void)revents;
    ev_idle_stop(loop, idle);
}

/* libev's wait between polls: the option's while the rule says so. */
static void set_io_collect(struct worker *w)
{
    ev_set_io_collect_interval(w->loop, w->coalesce.on ? w->cfg->io_collect_interval : 0.);
}

/* After each poll, before its events are handled: how many it found
 * (the check watcher itself already taken off the pending list) decides
 * whether the next polls wait to gather more (proxy/coalesce.h). */
static void on_check(struct ev_loop *loop, ev_check *c, int revents)
{
    (void)revents;
    struct worker *w = c->data;
    if (coalesce_note(&w->coalesce, ev_pending_count(loop)))
        set_io_collect(w);
    if (w->coalesce.on)
        stats_io_collect_poll(w->stats);
}

/* --io-collect-interval as the current generation has it (at a reload, a
 * new value applies at once): watched after each poll when set; off, with
 * nothing watched, when 0. */
static void use_io_collect(struct worker *w)
{
    if (w->cfg->io_collect_interval > 0) {
        ev_check_start(w->loop, &w->check);
    } else {
        ev_check_stop(w->loop, &w->check);
        w->coalesce = (struct coalesce){ 0 };
    }
    set_io_collect(w);
}

/* --tls-dyn-rec-*: sock.c keeps them per thread; this worker's are the
 * current generation's. */
static void use_tls_dyn_rec(const struct worker *w)
{
    sock_set_tls_dyn_rec(w->cfg->tls_dyn_rec_warmup_threshold, w->cfg->tls_dyn_rec_idle_timeout);
}

/* The one place that writes and frees: runs before the loop blocks. */
static void on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
    (void)revents;
    struct worker *w = p->data;
    /* Backend sessions first: a stream error nghttp2 found while reading
     * (and resets now) must reach the client before its head does. */
    bsess_flush_all(w);
    struct cconn *list = w->dirty;
    w->dirty = NULL;
    while (list) {
        struct cconn *cc = list;
        list = cc->next_dirty;
        cc->dirty = false;
        cconn_flush(cc);
    }
    size_t open = w->num_conns;
    cconn_reap(w);
    /* A descriptor was freed: worth another accept(). */
    if (w->accept_paused && w->num_conns < open)
        resume_accept(w);
    /* After the client side: it returns credit and resets streams. */
    bool bs_more = bsess_flush_all(w);
    bconn_reap(w);
    bsess_reap(w);
    tun_reap(w);
    if (w->alog) {
        alog_writer_flush(w->alog);
        stats_alog_dropped(w->stats, alog_writer_num_dropped(w->alog));
    }
    if (w->dirty || bs_more)
        ev_idle_start(loop, &w->idle_watch);
    if ((w->pool.num_free > w->pool.max_free || spares_over_floor(&w->xchg_spares) ||
         spares_over_floor(&w->bstream_spares)) &&
        !ev_is_active(&w->pool_timer))
        ev_timer_start(loop, &w->pool_timer);
    if (w->shutting_down && w->num_conns == 0)
        ev_break(loop, EVBREAK_ONE);
}

/* Every second while the pool keeps more spare blocks than its floor, or
 * the worker spare exchanges: frees those no request took during the
 * last second. */
static void on_pool_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct worker *w = t->data;
    bool more = buf_pool_trim(&w->pool) > 0;
    more |= spares_trim(&w->xchg_spares);
    more |= spares_trim(&w->bstream_spares);
    if (!more)
        ev_timer_stop(loop, t);
}

static void on_goaway_final(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = t->data;
    for (struct cconn *cc = w->conns; cc; cc = cc->next)
        cconn_shutdown_final(cc);
}

static void begin_graceful(struct worker *w)
{
    if (w->shutting_down)
        return;
    w->shutting_down = true;
    stop_listeners(w);
    upool_shutdown(w);
    for (struct cconn *cc = w->conns; cc; cc = cc->next)
        cconn_shutdown(cc);
    /* The first GOAWAY (last stream id 2^31-1) warns clients; one second
     * later, time for streams already in flight to arrive, the final one
     * names the last stream we will process. */
    ev_timer_init(&w->shutdown_timer, on_goaway_final, 1., 0.);
    w->shutdown_timer.data = w;
    ev_timer_start(w->loop, &w->shutdown_timer);
    log_info("graceful shutdown: %zu connections open", w->num_conns);
}

struct wgen *wrk_gen_pin(struct worker *w)
{
    w->gen->users++;
    return w->gen;
}

/* wg is not current and no exchange uses it: its members may go. */
static void let_members_go(struct worker *w, struct wgen *wg, bool force)
{
    if (wg->members_held && (force || (wg != w->gen && wg->routed == 0))) {
        wg->members_held = false;
        gen_members_unref(wg->g);
    }
}

struct wgen *wrk_gen_pin_routes(struct worker *w)
{
    w->gen->routed++;
    return wrk_gen_pin(w);
}

void wrk_gen_unpin_routes(struct worker *w, struct wgen *wg)
{
    wg->routed--;
    let_members_go(w, wg, false);
    wrk_gen_unpin(w, wg);
}

static void wgen_drop(struct worker *w, struct wgen *wg)
{
    let_members_go(w, wg, true);
    for (struct wgen **pp = &w->old_gens; *pp; pp = &(*pp)->next) {
        if (*pp == wg) {
            *pp = wg->next;
            break;
        }
    }
    lb_states_free(wg->lb, wg->cfg->num_routes);
    gen_unref(wg->g);
    free(wg);
}

uint64_t wrk_random(struct worker *w)
{
    /* xorshift64*: fast, and plenty for picking members. */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

void wrk_gen_unpin(struct worker *w, struct wgen *wg)
{
    if (--wg->users == 0 && wg != w->gen)
        wgen_drop(w, wg);
}

static bool has_fd(const int *fds, size_t n, int fd)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] == fd)
            return true;
    }
    return false;
}

/* One listener per frontend of cfg on fds (main's sockets, shared with
 * the previous generation where the address stayed): the sockets are
 * never closed in between, so no connection is refused across a reload;
 * a socket the new list lacks (a removed frontend) is closed here. */
static void set_listeners(struct worker *w, const struct config *cfg, const int *fds)
{
    size_t n = cfg->num_frontends;
    struct wrk_listener *nl = xcalloc(n ? n : 1, sizeof(*nl));
    for (size_t i = 0; i < w->num_listeners; i++) {
        struct wrk_listener *l = &w->listeners[i];
        if (l->fd < 0)
            continue;
        ev_io_stop(w->loop, &l->io);
        if (!has_fd(fds, n, l->fd))
            close(l->fd);
    }
    free(w->listeners);
    w->listeners = nl;
    w->num_listeners = n;
    for (size_t i = 0; i < n; i++) {
        nl[i] = (struct wrk_listener){ .fd = fds[i], .fe = &cfg->frontends[i], .w = w };
        ev_io_init(&nl[i].io, on_accept, nl[i].fd, EV_READ);
        if (!w->accept_paused)
            ev_io_start(w->loop, &nl[i].io);
    }
}

static bool same_opt(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* CONNECT lookups from now on with g's --dns-server and timeouts: a new
 * resolver when they changed (old lookups end on the old one). */
static void use_dns(struct worker *w, const struct config *was, const struct config *cfg)
{
    if (!w->dns || !was || (same_opt(was->dns_server, cfg->dns_server) &&
                            was->dns_lookup_timeout == cfg->dns_lookup_timeout &&
                            was->dns_cache_timeout == cfg->dns_cache_timeout))
        return;
    w->dns = dns_renew(w->dns, cfg->dns_lookup_timeout, cfg->dns_cache_timeout,
                       cfg->dns_server);
}

/* Makes g (whose reference the caller hands over) the generation new
 * connections and exchanges use. The previous one stays while some
 * object pins it. */
static void apply_gen(struct worker *w, struct gen *g, const int *listen_fds)
{
    struct wgen *wg = xcalloc(1, sizeof(*wg));
    wg->g = g;
    wg->cfg = &g->cfg;
    wg->lb = lb_states_new(&g->cfg);
    wg->members_held = true;    /* main's gen_members_ref for this worker */
    struct wgen *old = w->gen;
    use_dns(w, old ? old->cfg : NULL, wg->cfg);
    w->gen = wg;
    w->cfg = wg->cfg;
    w->ssl_ctx = g->ssl_ctx;
    if (old) { /* wrk_init's first generation has none to drop */
        nghttp2_option_del(w->h2srv_option);
        nghttp2_option_del(w->bsess_option);
    }
    w->h2srv_option = h2srv_option_new(w->cfg);
    w->bsess_option = bsess_option_new(w->cfg);
    /* A fresh cache per generation: entries checked against a freed
     * file must never match a new one at the same address. */
    w->auth_db = g->auth_db;
    auth_cache_free(w->auth_cache);
    w->auth_cache = g->auth_db ? auth_cache_new(1024) : NULL;
    w->alog_fmt = g->alog_fmt;
    w->alog_fmt_tunnel = g->alog_fmt_tunnel;
    tls_upstream_use(&w->tls_up, g->up_ctx_h2, g->up_ctx_h1, g->num_slots);
    upool_use(w, g->num_slots);
    set_listeners(w, w->cfg, listen_fds);
    if (old) {
        old->next = w->old_gens;
        w->old_gens = old;
        let_members_go(w, old, false);
        if (old->users == 0)
            wgen_drop(w, old);
    }
    atomic_store_explicit(&w->gen_applied, g->id, memory_order_release);
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    struct worker *w = a->data;
    int cmd = atomic_exchange(&w->cmd, 0);
    if (cmd & WRK_CMD_STOP) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (cmd & WRK_CMD_RELOAD) {
        /* Taken before apply_gen publishes gen_applied: from then on main
         * may hand over the next generation in these fields. */
        struct gen *g = w->next_gen;
        const int *fds = w->next_fds;
        w->next_gen = NULL;
        w->next_fds = NULL;
        apply_gen(w, g, fds);
        use_io_collect(w);
        use_tls_dyn_rec(w);
        log_info("configuration generation %" PRIu64 " in use", w->gen->g->id);
        if (w->on_reloaded)
            w->on_reloaded();
    }
    if (cmd & WRK_CMD_GRACEFUL)
        begin_graceful(w);
    if ((cmd & WRK_CMD_REOPEN_LOGS) && w->alog && alog_writer_reopen(w->alog) != 0)
        log_error("cannot reopen the access log: %s", strerror(errno));
}

void wrk_init(struct worker *w, int id, struct gen *g, const int *listen_fds)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    snprintf(w->tag, sizeof(w->tag), "w%d", id);
    w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
    if (!w->loop)
        w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    buf_pool_init(&w->pool, 256);
    buf_pool_keep(&w->pool);
    ev_timer_init(&w->pool_timer, on_pool_timer, 1., 1.);
    w->pool_timer.data = w;
    w->stats = stats_new(g->num_slots);
    w->rng = ((uint64_t)time(NULL) << 16 ^ (uint64_t)(uintptr_t)w ^ (uint64_t)id) | 1;
    stats_worker_started(w->stats);
    w->dns = dns_new(w->loop, g->cfg.dns_lookup_timeout, g->cfg.dns_cache_timeout);
    if (w->dns && g->cfg.dns_server)
        dns_set_servers(w->dns, g->cfg.dns_server);  /* checked by cfg_load already */
    if (w->dns)
        dns_set_stats(w->dns, w->stats);
    w->scratch = xmalloc(WRK_SCRATCH_SIZE);
    xchg_spares_init(w);
    bstream_spares_init(w);
    upool_init(w);
    tun_worker_init(w);
    apply_gen(w, g, listen_fds);
    ev_timer_init(&w->accept_timer, on_accept_timer, 0., 0.);
    w->accept_timer.data = w;
    ev_async_init(&w->wake, on_wake);
    w->wake.data = w;
    ev_async_start(w->loop, &w->wake);
    /* Keeps the loop from blocking while a connection still has output
     * left over from its per-iteration write budget. */
    ev_idle_init(&w->idle_watch, on_idle);
    ev_prepare_init(&w->prepare, on_prepare);
    w->prepare.data = w;
    ev_prepare_start(w->loop, &w->prepare);
    ev_check_init(&w->check, on_check);
    w->check.data = w;
    use_io_collect(w);
    ev_set_userdata(w->loop, w);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    log_set_thread_tag(w->tag);
    use_tls_dyn_rec(w);
    ev_run(w->loop, 0);
    log_info("worker exits");
    if (w->on_exit)
        w->on_exit();
    return NULL;
}

int wrk_start(struct worker *w)
{
    return pthread_create(&w->thread, NULL, run, w) == 0 ? 0 : -1;
}

void wrk_command(struct worker *w, enum wrk_cmd cmd)
{
    atomic_fetch_or(&w->cmd, (int)cmd);
    ev_async_send(w->loop, &w->wake);
}

void wrk_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
}

void wrk_cleanup(struct worker *w)
{
    stop_listeners(w);
    cconn_close_all(w);
    cconn_reap(w);
    upool_cleanup(w);
    bconn_reap(w);
    tun_reap(w);
    tun_worker_cleanup(w);
    tls_upstream_cleanup(&w->tls_up);
    dns_free(w->dns);
    if (w->alog) {
        alog_writer_flush(w->alog);
        uint64_t lost = alog_writer_num_dropped(w->alog);
        if (lost)
            log_notice("worker %d: %" PRIu64 " access log lines dropped", w->id, lost);
        alog_writer_free(w->alog);
    }
    auth_cache_free(w->auth_cache);
    nghttp2_option_del(w->h2srv_option);
    nghttp2_option_del(w->bsess_option);
    h2mem_worker_cleanup(w);
    free(w->listeners);
    /* Every connection and exchange is gone: nothing pins a generation. */
    while (w->old_gens)
        wgen_drop(w, w->old_gens);
    struct wgen *cur = w->gen;
    w->gen = NULL;
    if (cur)
        wgen_drop(w, cur);
    free(w->scratch);
    spares_free(&w->xchg_spares);
    spares_free(&w->bstream_spares);
    ev_timer_stop(w->loop, &w->pool_timer);
    buf_pool_cleanup(&w->pool);
    stats_free(w->stats);
    ev_loop_destroy(w->loop);
}
