#include "proxy/upool.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "config/registry.h"
#include "proxy/balance.h"
#include "proxy/bconn.h"
#include "proxy/bsess.h"
#include "proxy/hdrs.h"
#include "proxy/health.h"
#include "proxy/lbewma.h"
#include "proxy/sock.h"
#include "proxy/tls.h"
#include "proxy/upstream-t.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

/* Idle keep-alive connections kept per backend per worker. Each was busy
 * a moment ago, so the pool never holds more than the peak concurrency;
 * the cap only guards against a burst leaving tens of thousands of
 * sockets open until --backend-keep-alive-timeout. At 4096, h2load -c64
 * -m100 (6,400 requests in flight) closed and reopened a backend
 * connection for about one request in five: socket, connect, close and
 * two epoll_ctl each, the largest kernel cost of that load. */
#define MAX_IDLE_PER_BACKEND 16384
/* Exchanges waiting per backend per worker for an HTTP/2 stream. At 4096,
 * 6,400 requests in flight over a backend's 128 streams a session (nginx)
 * answered about half of them 503. */
#define QUEUE_MAX 16384

static void on_queue_timer(struct ev_loop *loop, ev_timer *t, int revents);

/* An exchange waiting for an HTTP/1.1 connection to its member (the
 * bound reached): its upstream meanwhile, so a client that goes away
 * takes it out of the queue through the ordinary abandon. */
struct upool_h1wait {
    struct upstream up;
    struct worker *w;
    const struct cfg_backend *be;
    struct upool_h1wait *next, *prev;
    double queued_at;
};

static struct upool_backend *backend_of(struct worker *w, const struct cfg_backend *be)
{
    return &w->up.be[be->index];
}

void upool_init(struct worker *w)
{
    struct upool *p = &w->up;
    memset(p, 0, sizeof(*p));
    p->holders = xcalloc(CFG_REGISTRY_MAX, sizeof(*p->holders));
    ev_timer_init(&p->queue_timer, on_queue_timer, 1., 0.);
    p->queue_timer.data = w;
    bsess_global_init();
}

/* Takes the first of bk's idle HTTP/1.1 connections (there is one). */
static struct bconn *idle_pop(struct upool_backend *bk)
{
    struct bconn *bc = bk->idle;
    bk->idle = bc->next;
    if (bk->idle)
        bk->idle->prev = NULL;
    bc->pooled = false;
    bk->num_idle--;
    bc->next = NULL;
    stats_backend_idle(bc->w->stats, (long)bc->be->index, false);
    return bc;
}

/* Closes bk's idle HTTP/1.1 connections and its HTTP/2 sessions that
 * carry no stream (unless streams wait for one); busy ones end by
 * themselves once idle. */
static void close_unused(struct upool_backend *bk, const char *why)
{
    while (bk->idle)
        bconn_close(idle_pop(bk));
    for (struct bsess *s = bk->sessions, *next; s && bk->q_len == 0; s = next) {
        next = s->next;
        if (s->num_streams == 0)
            bsess_close(s, why);
    }
}

void upool_hold(struct worker *w, size_t slot)
{
    _Atomic uint32_t *h = &w->up.holders[slot];
    atomic_store_explicit(h, atomic_load_explicit(h, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

void upool_unhold(struct worker *w, size_t slot)
{
    if (!w->up.holders)
        return; /* upool_cleanup ran: the worker is exiting */
    _Atomic uint32_t *h = &w->up.holders[slot];
    atomic_store_explicit(h, atomic_load_explicit(h, memory_order_relaxed) - 1,
                          memory_order_release);
}

bool upool_slot_held(const struct worker *w, size_t slot)
{
    return w->up.holders && slot < CFG_REGISTRY_MAX &&
           atomic_load_explicit(&w->up.holders[slot], memory_order_acquire) != 0;
}

/* bk was last used for another registry object (its slot was reclaimed
 * and reused): nothing of that one may be left (registry.h's invariant). */
static void fresh_slot(struct worker *w, struct upool_backend *bk, const struct cfg_backend *b)
{
    if (bk->serial &&
        (bk->idle || bk->sessions || bk->q_len || bk->w_len || bk->num_h1 || bk->outstanding))
        log_error("backend slot %zu reused with connections or requests left: %zu idle, "
                  "%zu sessions, %zu queued, %zu HTTP/1.1 open, %zu waiting, %u outstanding",
                  b->index, bk->num_idle, bk->num_sessions, bk->q_len, bk->num_h1, bk->w_len,
                  bk->outstanding);
    *bk = (struct upool_backend){ .serial = b->serial };
    tls_upstream_forget(&w->tls_up, b->index);
}

void upool_use(struct worker *w, size_t num_slots)
{
    struct upool *p = &w->up;
    if (num_slots > p->num_be) {
        p->be = xrealloc(p->be, num_slots * sizeof(*p->be));
        memset(p->be + p->num_be, 0, (num_slots - p->num_be) * sizeof(*p->be));
        p->num_be = num_slots;
    }
    bool *used = xcalloc(p->num_be ? p->num_be : 1, sizeof(*used));
    const struct config *cfg = w->cfg;
    for (size_t i = 0; i < cfg->num_backends; i++) {
        const struct cfg_backend *b = &cfg->backends[i];
        struct upool_backend *bk = &p->be[b->index];
        if (bk->serial != b->serial)
            fresh_slot(w, bk, b);
        if (!used[b->index])
            bk->read_timeout = bk->write_timeout = 0;
        used[b->index] = true;
        /* One member in several -b with different values: the longest. */
        bk->read_timeout = fmax(bk->read_timeout, b->read_timeout);
        bk->write_timeout = fmax(bk->write_timeout, b->write_timeout);
    }
    p->h1_dispatch = true; /* the bound may have changed */
    for (size_t i = 0; i < p->num_be; i++) {
        if (used[i] && !p->be[i].read_timeout)
            p->be[i].read_timeout = cfg->backend_read_timeout;
        if (used[i] && !p->be[i].write_timeout)
            p->be[i].write_timeout = cfg->backend_write_timeout;
        p->be[i].retired = !used[i];
        if (!used[i])
            close_unused(&p->be[i], "backend no longer configured");
    }
    free(used);
}

void upool_cleanup(struct worker *w)
{
    struct upool *p = &w->up;
    for (size_t i = 0; i < p->num_be; i++) {
        close_unused(&p->be[i], "worker stopping");
        while (p->be[i].sessions)
            bsess_close(p->be[i].sessions, "worker stopping");
    }
    bsess_reap(w);
    for (size_t i = 0; i < p->num_be; i++) {
        while (p->be[i].q_head) {
            struct bstream *bs = p->be[i].q_head;
            p->be[i].q_head = bs->next;
            if (bs->up.x)
                xchg_unlink(bs->up.x);
            bstream_free(bs);
        }
    }
    for (size_t i = 0; i < p->num_be; i++) {
        while (p->be[i].w_head) {
            struct upool_h1wait *wt = p->be[i].w_head;
            p->be[i].w_head = wt->next;
            if (wt->up.x)
                xchg_unlink(wt->up.x);
            free(wt);
        }
    }
    ev_timer_stop(w->loop, &p->queue_timer);
    free(p->be);
    free(p->holders);
    memset(p, 0, sizeof(*p));
}

void upool_shutdown(struct worker *w)
{
    for (size_t i = 0; i < w->up.num_be; i++)
        close_unused(&w->up.be[i], "shutting down");
}

/* ---- connecting ---- */

int upool_connect(struct worker *w, const struct cfg_backend *be, struct sock *s,
                  const struct sock_handler *h)
{
    int rc = sock_connect(s, w->loop, (const struct sockaddr *)&be->addr, be->addr_len, h);
    if (rc < 0) {
        log_info("backend " CFG_BE_FMT ": connect: %s", CFG_BE_ARGS(be), strerror(errno));
        stats_backend_connect_failure(w->stats, (long)be->index);
        return rc;
    }
    if (be->tls)
        sock_start_tls(s, tls_upstream_new(&w->tls_up, be, s->fd));
    stats_backend_conn_opened(w->stats, (long)be->index);
    upool_hold(w, be->index);
    return 0;
}

void upool_connect_done(struct worker *w, const struct cfg_backend *be, int err, const char *why,
                        double started)
{
    if (err == H2G_ERR_TLS)
        log_warn("backend " CFG_BE_FMT ": %s", CFG_BE_ARGS(be), why);
    if (err)
        stats_backend_connect_failure(w->stats, (long)be->index);
    else
        stats_backend_connect(w->stats, (long)be->index, ev_now(w->loop) - started);
}

/* ---- choosing a member ---- */

/* Starts x on a stream of HTTP/2 backend be. Returns 0 when x is placed
 * or answered, H2G_ERR_REFUSED when the next member should be tried. */
static int start_h2(struct worker *w, const struct cfg_backend *be, struct xchg *x)
{
    if (x->websocket && x->proto != XCHG_H2 &&
        hdrs_find(&x->req, STR_LIT("sec-websocket-key")) < 0) {
        /* h2gate answers the 101 itself: it needs the key (RFC 6455 §4.1). */
        xchg_fail(x, 400, "WebSocket upgrade without Sec-WebSocket-Key");
        return 0;
    }
    struct bstream *bs = bstream_new(w, be, x);
    if (!bs) {
        xchg_fail(x, 431, "request header fields too large for the backend");
        return 0;
    }
    int rc = upool_h2_place(w, bs, NULL);
    if (rc == 0)
        return 0;
    xchg_unlink(x);
    bstream_free(bs);
    if (rc == H2G_ERR_REFUSED)
        return rc;
    stats_backend_queue_overflow(w->stats, (long)be->index);
    xchg_fail(x, 503, "HTTP/2 backend queue full");
    return 0;
}

/* ---- HTTP/1.1 wait queue ---- */

static void h1w_pump(struct upstream *up)
{
    (void)up; /* the body waits in x->req_body, its credit not returned */
}

static void h1w_drained(struct upstream *up)
{
    (void)up;
}

static void h1w_remove(struct upool_h1wait *wt)
{
    struct worker *w = wt->w;
    struct upool_backend *bk = backend_of(w, wt->be);
    /* Doubly linked: a client cancelling one of thousands of waiters. */
    if (wt->prev)
        wt->prev->next = wt->next;
    else
        bk->w_head = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    else
        bk->w_tail = wt->prev;
    bk->w_len--;
    w->up.num_queued--;
    stats_backend_queue(w->stats, (long)wt->be->index, false);
}

/* The client is gone (stream reset, connection closed) while x waited. */
static void h1w_abandon(struct upstream *up)
{
    struct upool_h1wait *wt = container_of(up, struct upool_h1wait, up);
    h1w_remove(wt);
    free(wt);
}

static const struct upstream_ops h1w_ops = {
    .pump = h1w_pump,
    .drained = h1w_drained,
    .abandon = h1w_abandon,
};

static void start_queue_timer(struct worker *w)
{
    struct upool *p = &w->up;
    if (!ev_is_active(&p->queue_timer)) {
        ev_timer_set(&p->queue_timer, w->cfg->backend_connect_timeout, 0.);
        ev_timer_start(w->loop, &p->queue_timer);
    }
}

/* x waits at the back of be's queue for an HTTP/1.1 connection, or is
 * answered 503 when the queue is full. */
static void h1_wait(struct worker *w, struct upool_backend *bk, const struct cfg_backend *be,
                    struct xchg *x)
{
    if (bk->w_len >= QUEUE_MAX) {
        stats_backend_queue_overflow(w->stats, (long)be->index);
        xchg_fail(x, 503, "HTTP/1.1 backend queue full");
        return;
    }
    struct upool_h1wait *wt = xcalloc(1, sizeof(*wt));
    wt->up.ops = &h1w_ops;
    wt->w = w;
    wt->be = be;
    wt->queued_at = ev_now(w->loop);
    wt->prev = bk->w_tail;
    if (bk->w_tail)
        bk->w_tail->next = wt;
    else
        bk->w_head = wt;
    bk->w_tail = wt;
    bk->w_len++;
    w->up.num_queued++;
    stats_backend_queue(w->stats, (long)be->index, true);
    xchg_link(x, &wt->up);
    start_queue_timer(w);
}

/* Takes bk's oldest waiter out of the queue: its exchange, unlinked. */
static struct xchg *h1_pop(struct upool_backend *bk)
{
    struct upool_h1wait *wt = bk->w_head;
    struct xchg *x = wt->up.x;
    h1w_remove(wt);
    xchg_unlink(x);
    free(wt);
    return x;
}

struct xchg *upool_h1_waiter(struct worker *w, const struct cfg_backend *be)
{
    struct upool_backend *bk = backend_of(w, be);
    return bk->w_head ? h1_pop(bk) : NULL;
}

void upool_h1_opened(struct worker *w, const struct cfg_backend *be)
{
    backend_of(w, be)->num_h1++;
}

void upool_h1_closed(struct worker *w, const struct cfg_backend *be)
{
    if (be->index >= w->up.num_be)
        return; /* upool_cleanup ran: the worker is exiting */
    struct upool_backend *bk = backend_of(w, be);
    bk->num_h1--;
    if (bk->w_len)
        w->up.h1_dispatch = true;
}

void upool_h1_dispatch(struct worker *w)
{
    struct upool *p = &w->up;
    if (!p->h1_dispatch)
        return;
    p->h1_dispatch = false;
    for (size_t i = 0; i < p->num_be; i++) {
        struct upool_backend *bk = &p->be[i];
        size_t bound = w->cfg->backend_http1_connections_per_host;
        while (bk->w_head && (!bound || bk->num_h1 < bound)) {
            const struct cfg_backend *be = bk->w_head->be;
            struct xchg *x = h1_pop(bk);
            struct bconn *bc = bk->idle ? idle_pop(bk) : bconn_new(w, be);
            if (bc)
                bconn_attach(bc, x);
            else
                upool_failed(x, be, 502, "cannot connect to the backend", UPOOL_RETRY_NEXT);
        }
    }
}

/* Starts x on an HTTP/1.1 connection to be: a kept-alive one unless fresh,
 * else a new one. Returns 0, or H2G_ERR_REFUSED when no connection could
 * be started. */
static int start_h1(struct worker *w, const struct cfg_backend *be, struct xchg *x, bool fresh)
{
    struct upool_backend *bk = backend_of(w, be);
    size_t bound = w->cfg->backend_http1_connections_per_host;
    struct bconn *bc = NULL;
    if (!fresh && bk->idle) {
        bc = idle_pop(bk);
    } else if (bound && (bk->num_h1 >= bound || (!fresh && bk->w_len))) {
        /* At the bound, or others wait already (arrival order). */
        h1_wait(w, bk, be, x);
        return 0;
    } else {
        bc = bconn_new(w, be);
        if (!bc)
            return H2G_ERR_REFUSED;
    }
    bconn_attach(bc, x);
    return 0;
}

uint32_t upool_outstanding(struct worker *w, const struct cfg_backend *be)
{
    return be->index < w->up.num_be ? w->up.be[be->index].outstanding : 0;
}

double upool_ewma_cost(struct worker *w, const struct cfg_backend *be, double now)
{
    if (be->index >= w->up.num_be)
        return lbewma_cost(&(struct lbewma){ 0, 0 }, 0, now);
    const struct upool_backend *bk = &w->up.be[be->index];
    return lbewma_cost(&bk->ewma, bk->outstanding, now);
}

/* Only peak-ewma groups pay for the samples (an exp() each). */
static bool samples_latency(const struct xchg *x)
{
    return x->route && x->route->policy.lb == CFG_LB_PEAK_EWMA;
}

void upool_release(struct xchg *x)
{
    if (x->outstanding) {
        struct upool_backend *bk = backend_of(x->w, x->backend);
        bk->outstanding--;
        x->outstanding = false;
        if (x->taken_at > 0 && samples_latency(x)) {
            double now = ev_now(x->w->loop);
            lbewma_unanswered(&bk->ewma, now - x->taken_at, now);
        }
        x->taken_at = 0;
    }
}

/* x goes to be now (its first try, a retry, a fallback). */
static void take(struct xchg *x, const struct cfg_backend *be)
{
    upool_release(x);
    x->backend_index = (long)be->index;
    x->backend = be;
    backend_of(x->w, be)->outstanding++;
    x->outstanding = true;
    x->taken_at = ev_now(x->w->loop);
}

void upool_start(struct xchg *x)
{
    struct worker *w = x->w;
    const struct cfg_route *route = x->route;
    size_t num = route->num_backends;
    if (num == 0) {
        xchg_fail(x, 503, "the backend name has no address yet");
        return;
    }
    while (x->backend_tries < num) {
        size_t idx;
        if (x->backend_tries == 0) {
            idx = lb_pick(x);
            if (idx == SIZE_MAX) {
                xchg_fail(x, 503, "every backend of the route is down");
                return;
            }
            x->first_backend = idx;
        } else {
            idx = (x->first_backend + x->backend_tries) % num;
            if (!health_up(route->backends[idx]->index)) {
                x->backend_tries++;  /* a retry never goes to a member that is down */
                continue;
            }
        }
        x->backend_tries++;
        const struct cfg_backend *be = route->backends[idx];
        take(x, be);
        if (be->proto == CFG_PROTO_H2 && x->websocket && !xchg_is_websocket(x)) {
            /* Only WebSocket has an HTTP/2 form (RFC 8441). */
            upool_h1_fallback(x);
            return;
        }
        int rc = be->proto == CFG_PROTO_H2 ? start_h2(w, be, x) : start_h1(w, be, x, false);
        if (rc == 0)
            return;
    }
    xchg_fail(x, 502, "no backend could be reached");
}

void upool_h1_fallback(struct xchg *x)
{
    const struct cfg_route *route = x->route;
    size_t num = route->num_backends;
    /* The HTTP/2 members cannot take it: no retry goes back to them. */
    x->backend_tries = num;
    for (size_t k = 0; k < num; k++) {
        const struct cfg_backend *be = route->backends[(x->first_backend + k) % num];
        if (be->proto != CFG_PROTO_HTTP1)
            continue;
        take(x, be);
        if (start_h1(x->w, be, x, false) == 0)
            return;
    }
    xchg_fail(x, 502, "no backend of the route takes the upgrade");
}

void upool_failed(struct xchg *x, const struct cfg_backend *be, int status, const char *why,
                  enum upool_retry retry)
{
    struct worker *w = x->w;
    if (!xchg_head_ready(x) && retry != UPOOL_RETRY_FRESH) {
        /* (A kept-alive connection found closed says nothing of the member.) */
        char label[320];
        cfg_backend_label(be, label, sizeof(label));
        health_report_failure(be->index, label);
    }
    if (xchg_head_ready(x)) {
        /* Part of the response is out: the client must see it cut short. */
        xchg_fail(x, status, why);
        return;
    }
    hdrs_reset(&x->resp);
    if (retry == UPOOL_RETRY_FRESH && !x->reuse_retried) {
        /* A kept-alive connection the backend had already closed: the
         * request never reached it, so it is safe to send it again. */
        x->reuse_retried = true;
        stats_backend_retry(w->stats, (long)be->index);
        if (start_h1(w, be, x, true) == 0)
            return;
    }
    if (retry == UPOOL_RETRY_NEXT && x->backend_tries < x->route->num_backends) {
        log_info("c%" PRIu64 " s%d backend " CFG_BE_FMT " failed (%s): trying the next one",
                 x->cl->facts.conn_id, x->stream_id, CFG_BE_ARGS(be), why);
        stats_backend_retry(w->stats, (long)be->index);
        upool_start(x);
        return;
    }
    xchg_fail(x, status, why);
}

void upool_resp_head(struct xchg *x)
{
    if (xchg_has_location(x->status) && !x->gen->cfg->no_location_rewrite)
        xchg_rewrite_location(x);
    const struct cfg_backend *be = x->backend;
    if (!be)
        return;
    health_report_success(be->index);
    if (x->taken_at > 0 && x->outstanding && samples_latency(x)) {
        double now = ev_now(x->w->loop);
        lbewma_answer(&backend_of(x->w, be)->ewma, now - x->taken_at, now);
    }
    x->taken_at = 0;
    if (!x->affinity_cookie)
        return;
    const struct cfg_group_policy *pol = &x->route->policy;
    char val[9], buf[512];
    lb_cookie_value(be, val);
    bool secure = pol->cookie_secure == CFG_COOKIE_SECURE_YES ||
                  (pol->cookie_secure == CFG_COOKIE_SECURE_AUTO && x->cl->facts.tls);
    int n = snprintf(buf, sizeof(buf), "%s=%s%s%s%s", pol->cookie_name, val,
                     pol->cookie_path ? "; Path=" : "", pol->cookie_path ? pol->cookie_path : "",
                     secure ? "; Secure" : "");
    if (n > 0 && (size_t)n < sizeof(buf))
        hdrs_add(&x->resp, STR_LIT("set-cookie"), str_make(buf, (size_t)n), true);
}

/* ---- HTTP/1.1 keep-alive connections ---- */

bool upool_h1_put(struct bconn *bc)
{
    struct worker *w = bc->w;
    struct upool_backend *bk = backend_of(w, bc->be);
    if (w->shutting_down || bk->retired || bk->num_idle >= MAX_IDLE_PER_BACKEND)
        return false;
    bc->next = bk->idle;
    bc->prev = NULL;
    if (bk->idle)
        bk->idle->prev = bc;
    bk->idle = bc;
    bc->pooled = true;
    bk->num_idle++;
    stats_backend_idle(w->stats, (long)bc->be->index, true);
    return true;
}

double upool_read_timeout(struct worker *w, const struct cfg_backend *be)
{
    double t = backend_of(w, be)->read_timeout;
    return t > 0 ? t : w->cfg->backend_read_timeout;
}

double upool_write_timeout(struct worker *w, const struct cfg_backend *be)
{
    double t = backend_of(w, be)->write_timeout;
    return t > 0 ? t : w->cfg->backend_write_timeout;
}

double upool_keep_alive(struct worker *w, const struct cfg_backend *be)
{
    return backend_of(w, be)->retired ? 0. : w->cfg->backend_keep_alive_timeout;
}

void upool_h1_remove(struct bconn *bc)
{
    if (!bc->pooled)
        return;
    struct upool_backend *bk = backend_of(bc->w, bc->be);
    /* Doubly linked: a pool of thousands of idle connections (6,400
     * requests in flight) lost one at each backend close or idle
     * timeout, a scan of the list each time. */
    if (bc->prev)
        bc->prev->next = bc->next;
    else
        bk->idle = bc->next;
    if (bc->next)
        bc->next->prev = bc->prev;
    bc->next = bc->prev = NULL;
    bc->pooled = false;
    bk->num_idle--;
    stats_backend_idle(bc->w->stats, (long)bc->be->index, false);
}

/* ---- HTTP/2 sessions ---- */

static void sess_push(struct upool_backend *bk, struct bsess *s, bool front)
{
    if (front) {
        s->prev = NULL;
        s->next = bk->sessions;
        *(bk->sessions ? &bk->sessions->prev : &bk->sessions_tail) = s;
        bk->sessions = s;
    } else {
        s->next = NULL;
        s->prev = bk->sessions_tail;
        *(bk->sessions_tail ? &bk->sessions_tail->next : &bk->sessions) = s;
        bk->sessions_tail = s;
    }
}

static void sess_unlink(struct upool_backend *bk, struct bsess *s)
{
    *(s->prev ? &s->prev->next : &bk->sessions) = s->next;
    *(s->next ? &s->next->prev : &bk->sessions_tail) = s->prev;
    s->next = s->prev = NULL;
}

static bool sess_listed(const struct upool_backend *bk, const struct bsess *s)
{
    return s->prev || bk->sessions == s;
}

void upool_h2_add(struct bsess *s)
{
    struct upool_backend *bk = backend_of(s->w, s->be);
    sess_push(bk, s, true);
    bk->num_sessions++;
}

void upool_h2_remove(struct bsess *s)
{
    struct upool_backend *bk = backend_of(s->w, s->be);
    if (!sess_listed(bk, s))
        return;
    sess_unlink(bk, s);
    bk->num_sessions--;
}

void upool_h2_room(struct bsess *s)
{
    struct upool_backend *bk = backend_of(s->w, s->be);
    bool room = bsess_has_room(s);
    if (!sess_listed(bk, s) || (room ? bk->sessions == s : bk->sessions_tail == s))
        return;
    sess_unlink(bk, s);
    sess_push(bk, s, room);
}

/* The first session with room: the front one, unless every one is
 * full (or s had room taken without upool_h2_room). */
static struct bsess *pick(struct upool_backend *bk, const struct bsess *avoid)
{
    for (struct bsess *s = bk->sessions; s; s = s->next) {
        if (s != avoid && bsess_has_room(s))
            return s;
    }
    return NULL;
}

/* No other session may be opened to bk: --backend-connections-per-host
 * are open (0: no bound), or an open one has the backend's word that it
 * takes no stream now (SETTINGS_MAX_CONCURRENT_STREAMS 0, as a draining
 * server may say): a new one would be told the same, and with no bound
 * the queued requests would go from session to new session for ever. */
static bool at_bound(const struct worker *w, const struct upool_backend *bk)
{
    size_t bound = w->cfg->backend_connections_per_host;
    if (bound && bk->num_sessions >= bound)
        return true;
    for (const struct bsess *s = bk->sessions; s; s = s->next) {
        if (bsess_refuses(s))
            return true;
    }
    return false;
}

/* True while a usable session has not yet had the backend's SETTINGS. */
static bool learning(const struct upool_backend *bk, const struct bsess *avoid)
{
    for (const struct bsess *s = bk->sessions; s; s = s->next) {
        if (s != avoid && bsess_learning(s))
            return true;
    }
    return false;
}

void upool_h2_enqueue(struct worker *w, struct bstream *bs)
{
    struct upool *p = &w->up;
    struct upool_backend *bk = backend_of(w, bs->be);
    bs->s = NULL;
    bs->next = NULL;
    bs->prev = bk->q_tail;
    bs->queued = true;
    if (bk->q_tail)
        bk->q_tail->next = bs;
    else
        bk->q_head = bs;
    bk->q_tail = bs;
    bk->q_len++;
    p->num_queued++;
    stats_backend_queue(w->stats, (long)bs->be->index, true);
    start_queue_timer(w);
}

static struct bstream *dequeue_head(struct worker *w, struct upool_backend *bk)
{
    struct bstream *bs = bk->q_head;
    upool_h2_dequeue(w, bs);
    return bs;
}

void upool_h2_dequeue(struct worker *w, struct bstream *bs)
{
    if (!bs->queued)
        return;
    struct upool_backend *bk = backend_of(w, bs->be);
    /* Doubly linked: a client that cancels queued streams (thousands
     * wait at high concurrency) must not scan the queue for each. */
    if (bs->prev)
        bs->prev->next = bs->next;
    else
        bk->q_head = bs->next;
    if (bs->next)
        bs->next->prev = bs->prev;
    else
        bk->q_tail = bs->prev;
    bs->next = bs->prev = NULL;
    bs->queued = false;
    bk->q_len--;
    w->up.num_queued--;
    stats_backend_queue(w->stats, (long)bs->be->index, false);
}

int upool_h2_place(struct worker *w, struct bstream *bs, struct bsess *avoid)
{
    const struct cfg_backend *be = bs->be;
    struct upool_backend *bk = backend_of(w, be);
    struct bsess *s = pick(bk, avoid);
    if (!s && learning(bk, avoid)) {
        /* A session is about to learn the backend's stream limit: wait
         * for it rather than open sessions a burst does not need. */
    } else if (!s && !at_bound(w, bk)) {
        s = bsess_new(w, be);
        if (!s)
            return H2G_ERR_REFUSED;
    }
    if (s) {
        bsess_assign(s, bs);
        return 0;
    }
    if (bk->q_len >= QUEUE_MAX)
        return H2G_ERR_BUSY;
    upool_h2_enqueue(w, bs);
    return 0;
}

void upool_h2_dispatch(struct worker *w, const struct cfg_backend *be)
{
    struct upool_backend *bk = backend_of(w, be);
    while (bk->q_head) {
        struct bsess *s = pick(bk, NULL);
        if (!s) {
            if (at_bound(w, bk) || learning(bk, NULL))
                return;
            s = bsess_new(w, be);
        }
        struct bstream *bs = dequeue_head(w, bk);
        if (s)
            bsess_assign(s, bs);
        else
            bstream_fail(bs, 502, "cannot connect to the backend", true);
    }
}

static void on_queue_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct worker *w = t->data;
    struct upool *p = &w->up;
    double now = ev_now(loop), timeout = w->cfg->backend_connect_timeout;
    double next = INFINITY;
    for (size_t i = 0; i < p->num_be; i++) {
        struct upool_backend *bk = &p->be[i];
        while (bk->q_head && bk->q_head->queued_at + timeout <= now) {
            struct bstream *bs = dequeue_head(w, bk);
            struct xchg *x = bs->up.x;
            xchg_unlink(x);
            bstream_free(bs);
            stats_backend_queue_overflow(w->stats, (long)i);
            xchg_fail(x, 503, "no HTTP/2 backend stream free in time");
        }
        if (bk->q_head)
            next = fmin(next, bk->q_head->queued_at + timeout);
        while (bk->w_head && bk->w_head->queued_at + timeout <= now) {
            struct xchg *x = h1_pop(bk);
            stats_backend_queue_overflow(w->stats, (long)i);
            xchg_fail(x, 503, "no HTTP/1.1 backend connection free in time");
        }
        if (bk->w_head)
            next = fmin(next, bk->w_head->queued_at + timeout);
    }
    if (next < INFINITY) {
        ev_timer_set(t, next - now > 0.001 ? next - now : 0.001, 0.);
        ev_timer_start(loop, t);
    }
}

/* The request body sent on the failed attempt goes in front of what is
 * still buffered, so the next attempt sends it again; its credit was
 * returned already. */
static void rewind_body(struct worker *w, struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    if (bufq_len(&bs->replay)) {
        struct bufq tmp = bs->replay;
        bs->replay_len += bufq_len(&tmp);
        bufq_move(&tmp, &x->req_body);
        x->req_body = tmp;
        bufq_init(&bs->replay, &w->pool);
    }
    bstream_reset(bs);
    hdrs_reset(&x->resp);
    hdrs_reset(&x->resp_trailers);
}

void upool_h2_retry(struct bstream *bs, struct bsess *avoid)
{
    struct worker *w = bs->w;
    rewind_body(w, bs);
    bs->queued_at = ev_now(w->loop);
    int rc = upool_h2_place(w, bs, avoid);
    if (rc == 0)
        return;
    if (rc == H2G_ERR_BUSY)
        stats_backend_queue_overflow(w->stats, (long)bs->be->index);
    bstream_fail(bs, rc == H2G_ERR_BUSY ? 503 : 502,
                 rc == H2G_ERR_BUSY ? "backend queue full" : "cannot reach the backend again",
                 false);
}
