#include "proxy/tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "config/connect_rule.h"
#include "proxy/auth.h"
#include "proxy/dns.h"
#include "proxy/hdrs.h"
#include "proxy/sock.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

/* RFC 8305 §5: the recommended Connection Attempt Delay. */
#define HAPPY_EYEBALLS_DELAY 0.25
#define READ_BATCH 4

static const struct upstream_ops tun_up_ops;
static void on_target_readable(struct sock *s);
static void on_target_writable(struct sock *s);
static void on_attempt_done(struct sock *s, int err, const char *why, int sys_errno);
static void on_client_io(struct sock *s);
static void on_tunnel_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void on_he_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void tun_pump(struct tunnel *t);
static void pipe_give(struct worker *w, struct tun_pipe *p);

static const struct sock_handler target_handler = {
    .readable = on_target_readable,
    .writable = on_target_writable,
};

static const struct sock_handler attempt_handler = {
    .ready = on_attempt_done,
};

/* Splice mode: the client's socket, borrowed from the client side. */
static const struct sock_handler client_handler = {
    .readable = on_client_io,
    .writable = on_client_io,
};

/* The metric's cause of a refusal, from its status and Proxy-Status
 * error (RFC 9209): one mapping, so the two never disagree. */
static enum stats_tunnel_cause refusal_cause(int status, const char *proxy_status)
{
    static const struct {
        const char *error;
        enum stats_tunnel_cause cause;
    } causes[] = {
        { "dns_error", STATS_TUNFAIL_DNS },
        { "dns_timeout", STATS_TUNFAIL_DNS },
        { "connection_refused", STATS_TUNFAIL_REFUSED },
        { "connection_timeout", STATS_TUNFAIL_TIMEOUT },
        { "connection_limit_reached", STATS_TUNFAIL_LIMIT },
        { "http_request_error", STATS_TUNFAIL_BAD_REQUEST },
    };
    if (status == 403)
        return STATS_TUNFAIL_DENIED;
    if (status == 407)
        return STATS_TUNFAIL_AUTH;
    for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
        if (strcmp(causes[i].error, proxy_status) == 0)
            return causes[i].cause;
    return STATS_TUNFAIL_UNREACHABLE;
}

/* Answers x with an error before the tunnel opened. */
static void refuse(struct xchg *x, int status, const char *proxy_status, const char *why)
{
    x->proxy_status = proxy_status;
    stats_tunnel_refused(x->w->stats, refusal_cause(status, proxy_status));
    xchg_fail(x, status, why);
}

static void close_attempt(struct tun_attempt *a)
{
    sock_close(&a->sock, false);
}

/* Closes every socket and watcher; memory goes in the next tun_reap(). */
static void kill_tunnel(struct tunnel *t)
{
    if (t->state == TUN_DEAD)
        return;
    struct worker *w = t->w;
    if (t->query) {
        dns_cancel(t->query);
        t->query = NULL;
    }
    for (int i = 0; i < 2; i++)
        close_attempt(&t->attempts[i]);
    ev_timer_stop(w->loop, &t->he_timer);
    ev_timer_stop(w->loop, &t->timer);
    sock_close(&t->sock, false);
    bufq_cleanup(&t->rest);
    if (t->spliced) {
        sock_release(&t->csock); /* the client side closes its own */
        pipe_give(w, &t->to_target);
        pipe_give(w, &t->to_client);
        t->spliced = false;
    }
    if (t->state == TUN_OPEN) {
        double dur = ev_now(w->loop) - t->start;
        log_info("%s to " CFG_BE_FMT " closed after %.3fs: %" PRIu64 " bytes up, %" PRIu64
                 " bytes down",
                 t->websocket ? "WebSocket" : "tunnel", CFG_BE_ARGS(t), dur, t->bytes_up,
                 t->bytes_down);
        if (t->websocket) {
            stats_ws_closed(w->stats, dur);
            stats_backend_conn_closed(w->stats, t->backend_index);
        } else {
            stats_tunnel_closed(w->stats, dur, t->bytes_up, t->bytes_down);
        }
    }
    t->state = TUN_DEAD;
    t->next = w->tun_grave;
    w->tun_grave = t;
}

/* The target failed: before the 200 the client gets an error answer;
 * after it, HTTP/2 gets RST_STREAM(CONNECT_ERROR) and HTTP/1.1 a close. */
static void fail_tunnel(struct tunnel *t, int status, const char *proxy_status, const char *why)
{
    struct xchg *x = t->up.x;
    bool was_open = t->state == TUN_OPEN;
    kill_tunnel(t);
    if (!x)
        return;
    xchg_unlink(x);
    x->rst_code = NGHTTP2_CONNECT_ERROR;
    if (was_open) {
        xchg_fail(x, status, why);
        return;
    }
    refuse(x, status, proxy_status, why);
}

/* n bytes moved: up (client to target) or down. */
static void count(struct tunnel *t, bool up, uint64_t n)
{
    struct xchg *x = t->up.x;
    struct stats *st = t->w->stats;
    if (n == 0)
        return;
    *(up ? &t->bytes_up : &t->bytes_down) += n;
    if (x)
        *(up ? &x->tun_bytes_up : &x->tun_bytes_down) += n;
    t->last_activity = ev_now(t->w->loop);
    enum stats_dir dir = up ? STATS_DIR_OUT : STATS_DIR_IN;
    if (t->websocket) {
        stats_bytes(st, STATS_SIDE_BACKEND, dir, n);
        stats_ws_bytes(st, up ? STATS_WS_TO_BACKEND : STATS_WS_TO_CLIENT, n);
    } else {
        stats_bytes(st, STATS_SIDE_TUNNEL, dir, n);
    }
}

static void arm_timer(struct tunnel *t, double after)
{
    ev_timer_stop(t->w->loop, &t->timer);
    ev_timer_set(&t->timer, after, 0.);
    ev_timer_start(t->w->loop, &t->timer);
}

/* t->sock is connected: the pipe starts, idle-timed. */
static void start_pipe(struct tunnel *t)
{
    struct worker *w = t->w;
    struct xchg *x = t->up.x;
    t->state = TUN_OPEN;
    t->start = t->last_activity = ev_now(w->loop);
    sock_read_start(&t->sock);
    arm_timer(t, w->cfg->tunnel_idle_timeout);
    log_info("c%" PRIu64 " s%d %s to " CFG_BE_FMT " open", x->cl->facts.conn_id, x->stream_id,
             t->websocket ? "WebSocket" : "tunnel", CFG_BE_ARGS(t));
    x->resp_state = XRESP_HEAD;
    xchg_notify(x);
    tun_pump(t);
}

static void opened(struct tunnel *t, int fd)
{
    struct worker *w = t->w;
    ev_timer_stop(w->loop, &t->he_timer);
    for (int i = 0; i < 2; i++)
        close_attempt(&t->attempts[i]);
    sock_init(&t->sock, w->loop, fd, &target_handler);
    stats_tunnel_opened(w->stats);
    t->up.x->status = 200;
    start_pipe(t);
}

void tun_adopt_websocket(struct xchg *x, struct sock *s, const char *host, uint16_t port,
                         const char *rest, size_t rest_len)
{
    struct worker *w = x->w;
    struct tunnel *t = xcalloc(1, sizeof(*t));
    t->up.ops = &tun_up_ops;
    t->w = w;
    t->host = xstrdup(host);
    t->port = port;
    t->websocket = true;
    t->backend_index = x->backend_index;
    if (t->backend_index >= 0)
        upool_hold(w, (size_t)t->backend_index); /* its stats cells, past the bconn */
    ev_timer_init(&t->timer, on_tunnel_timer, w->cfg->tunnel_idle_timeout, 0.);
    t->timer.data = t;
    ev_timer_init(&t->he_timer, on_he_timer, HAPPY_EYEBALLS_DELAY, 0.);
    t->he_timer.data = t;
    sock_move(&t->sock, s, &target_handler);
    xchg_link(x, &t->up);
    stats_ws_opened(w->stats);
    bufq_append(&x->resp_body, rest, rest_len);
    start_pipe(t);
    count(t, false, rest_len);
    /* TLS may hold bytes read along with the 101 that the socket will
     * not signal. */
    if (t->state == TUN_OPEN && sock_read_pending(&t->sock))
        ev_feed_event(w->loop, &t->sock.rev, EV_READ);
}

/* Starts a connection attempt to the next address of family (AF_INET6 or
 * AF_INET) in slot; returns false when that family has no address left. */
static bool try_next(struct tunnel *t, int family, int slot)
{
    size_t *next = family == AF_INET6 ? &t->next_v6 : &t->next_v4;
    for (; *next < t->num_addrs; (*next)++) {
        const struct sockaddr_storage *ss = &t->addrs[*next];
        if (ss->ss_family != family)
            continue;
        struct tun_attempt *a = &t->attempts[slot];
        if (sock_connect(&a->sock, t->w->loop, (const struct sockaddr *)ss,
                         t->addr_lens[*next], &attempt_handler) < 0) {
            t->last_errno = errno;
            continue;
        }
        (*next)++;
        a->t = t;
        return true;
    }
    return false;
}

static bool any_attempt(const struct tunnel *t)
{
    return t->attempts[0].sock.state != SOCK_CLOSED || t->attempts[1].sock.state != SOCK_CLOSED;
}

static void give_up_connecting(struct tunnel *t)
{
    int e = t->last_errno;
    char why[128];
    snprintf(why, sizeof(why), "cannot connect to %s:%u: %s", t->host, t->port,
             e ? strerror(e) : "no address");
    if (e == ECONNREFUSED)
        fail_tunnel(t, 502, "connection_refused", why);
    else if (e == ETIMEDOUT)
        fail_tunnel(t, 504, "connection_timeout", why);
    else
        fail_tunnel(t, 502, "destination_unavailable", why);
}

/* Slot 0 carries IPv6 attempts, slot 1 IPv4 ones; when a family has no
 * address the other family uses its slot too. */
static void refill(struct tunnel *t, int slot)
{
    int fam = slot == 0 ? AF_INET6 : AF_INET;
    int other = slot == 0 ? AF_INET : AF_INET6;
    if (!try_next(t, fam, slot))
        try_next(t, other, slot);
    if (!any_attempt(t) && !ev_is_active(&t->he_timer))
        give_up_connecting(t);
}

static void on_attempt_done(struct sock *s, int err, const char *why, int sys_errno)
{
    (void)why;
    struct tun_attempt *a = container_of(s, struct tun_attempt, sock);
    struct tunnel *t = a->t;
    if (err == 0) {
        opened(t, sock_release(s)); /* ownership passes to the tunnel */
        return;
    }
    t->last_errno = sys_errno;
    close_attempt(a);
    refill(t, (int)(a - t->attempts));
}

static void on_he_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    struct tunnel *t = timer->data;
    if (t->attempts[1].sock.state == SOCK_CLOSED)
        refill(t, 1);
}

static void on_resolved(void *arg, int status, const struct dns_result *res)
{
    struct tunnel *t = arg;
    /* The rules the tunnel started under, even if a reload came since. */
    const struct config *cfg = t->up.x ? t->up.x->gen->cfg : t->w->cfg;
    t->query = NULL;
    if (status != 0 || !res || res->num == 0) {
        char why[128];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", t->host, h2g_strerror(status));
        if (status == H2G_ERR_TIMEOUT)
            fail_tunnel(t, 504, "dns_timeout", why);
        else
            fail_tunnel(t, 502, "dns_error", why);
        return;
    }
    struct str host = str_cstr(t->host);
    for (size_t i = 0; i < res->num && t->num_addrs < TUN_MAX_ADDRS; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&res->addrs[i];
        if (!crule_check_addr(cfg->connect_rules, host, sa, t->port))
            continue;
        memcpy(&t->addrs[t->num_addrs], &res->addrs[i], sizeof(res->addrs[i]));
        struct sockaddr_in *sin = (struct sockaddr_in *)&t->addrs[t->num_addrs];
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addrs[t->num_addrs];
        if (sa->sa_family == AF_INET) {
            sin->sin_port = htons(t->port);
            t->addr_lens[t->num_addrs] = sizeof(*sin);
        } else {
            sin6->sin6_port = htons(t->port);
            t->addr_lens[t->num_addrs] = sizeof(*sin6);
        }
        t->num_addrs++;
    }
    if (t->num_addrs == 0) {
        char why[160];
        snprintf(why, sizeof(why), "no address of %s:%u is allowed", t->host, t->port);
        fail_tunnel(t, 403, "destination_ip_prohibited", why);
        return;
    }
    /* try_next() walks each family in resolver order on its own. */
    t->state = TUN_CONNECTING;
    bool have_v6 = false, have_v4 = false;
    for (size_t i = 0; i < t->num_addrs; i++) {
        have_v6 = have_v6 || t->addrs[i].ss_family == AF_INET6;
        have_v4 = have_v4 || t->addrs[i].ss_family == AF_INET;
    }
    if (have_v6 && have_v4) {
        ev_timer_init(&t->he_timer, on_he_timer, HAPPY_EYEBALLS_DELAY, 0.);
        t->he_timer.data = t;
        ev_timer_start(t->w->loop, &t->he_timer);
    }
    refill(t, have_v6 ? 0 : 1);
}

static bool has_field(const struct xchg *x, struct str name)
{
    return hdrs_find(&x->req, name) >= 0;
}

void tun_start(struct xchg *x)
{
    struct worker *w = x->w;
    const struct config *cfg = x->gen->cfg;
    struct str host;
    uint16_t port;
    const char *msg = crule_parse_authority(xchg_connect_target(x), &host, &port);
    if (msg) {
        x->rst_code = NGHTTP2_PROTOCOL_ERROR;
        refuse(x, 400, "http_request_error", msg);
        return;
    }
    if (has_field(x, STR_LIT("content-length")) || has_field(x, STR_LIT("transfer-encoding"))) {
        refuse(x, 400, "http_request_error", "CONNECT with a body length");
        return;
    }
    if (w->auth_db) {
        long i = hdrs_find(&x->req, STR_LIT("proxy-authorization"));
        struct str v = i >= 0 ? hdrs_value(&x->req, (size_t)i) : STR_NULL;
        if (auth_check(w->auth_db, w->auth_cache, v) != AUTH_OK) {
            x->auth_challenge = true;
            refuse(x, 407, "http_request_denied",
                   i >= 0 ? "bad proxy credentials" : "proxy credentials required");
            return;
        }
    }
    if (!cfg->connect_rules ||
        crule_check_name(cfg->connect_rules, host, port) == CRULE_DENY) {
        char why[160];
        snprintf(why, sizeof(why), "CONNECT to %.*s:%u denied", (int)host.len, host.p, port);
        refuse(x, 403, "destination_ip_prohibited", why);
        return;
    }
    size_t max_tunnels = cfg->max_tunnels_per_connection
                             ? cfg->max_tunnels_per_connection
                             : cfg->frontend_http2_max_concurrent_streams;
    if (x->cl->num_tunnels >= max_tunnels) {
        refuse(x, 503, "connection_limit_reached", "too many tunnels on this connection");
        return;
    }
    struct tunnel *t = xcalloc(1, sizeof(*t));
    t->up.ops = &tun_up_ops;
    t->w = w;
    t->host = xstrndup(host.p, host.len);
    t->port = port;
    t->state = TUN_RESOLVING;
    ev_timer_init(&t->timer, on_tunnel_timer, cfg->tunnel_connect_timeout, 0.);
    t->timer.data = t;
    ev_timer_start(w->loop, &t->timer);
    ev_timer_init(&t->he_timer, on_he_timer, HAPPY_EYEBALLS_DELAY, 0.);
    t->he_timer.data = t;
    xchg_link(x, &t->up);
    t->query = dns_resolve(w->dns, host, on_resolved, t);
}

static int write_target(struct tunnel *t)
{
    struct xchg *x = t->up.x;
    ssize_t n = sock_write(&t->sock, &x->req_body, SIZE_MAX);
    if (n < 0) {
        char why[128];
        snprintf(why, sizeof(why), "write to %s:%u: %s", t->host, t->port,
                 n == H2G_ERR_IO ? strerror(errno) : h2g_strerror((int)n));
        fail_tunnel(t, 502, "connection_terminated", why);
        return (int)n;
    }
    if (n) {
        count(t, true, (uint64_t)n);
        xchg_req_consumed(x, (size_t)n);
    }
    return 0;
}

/* An orphan's last bytes (up_finish): written, then the FIN and the
 * close; a write error closes at once. */
static void flush_rest(struct tunnel *t)
{
    ssize_t n = sock_write(&t->sock, &t->rest, SIZE_MAX);
    if (n < 0) {
        kill_tunnel(t);
        return;
    }
    count(t, true, (uint64_t)n);
    if (bufq_len(&t->rest) == 0) {
        shutdown(t->sock.fd, SHUT_WR);
        kill_tunnel(t);
    }
}

static void tun_pump(struct tunnel *t)
{
    struct xchg *x = t->up.x;
    if (t->state == TUN_OPEN && t->orphan)
        flush_rest(t);
    if (t->state != TUN_OPEN || !x)
        return;
    if (write_target(t) < 0)
        return;
    if (xchg_req_ended(x) && bufq_len(&x->req_body) == 0 && !t->shut_wr) {
        t->shut_wr = true;
        /* The client's FIN (END_STREAM, or EOF on HTTP/1.1) reaches the
         * target; its answer may still come (RFC 9113 §8.5). */
        shutdown(t->sock.fd, SHUT_WR);
    }
}

static void splice_pump(struct tunnel *t);

static void on_target_writable(struct sock *s)
{
    struct tunnel *t = container_of(s, struct tunnel, sock);
    if (t->spliced)
        splice_pump(t);
    else
        tun_pump(t);
}

static void on_target_readable(struct sock *s)
{
    struct tunnel *t = container_of(s, struct tunnel, sock);
    struct xchg *x = t->up.x;
    struct worker *w = t->w;
    if (t->spliced) {
        splice_pump(t);
        return;
    }
    if (!x) {
        /* An orphan (up_finish), woken by an event queued before. */
        sock_read_stop(s);
        return;
    }
    for (int i = 0; i < READ_BATCH && t->state == TUN_OPEN && !t->read_paused; i++) {
        /* Up to four blocks (64 KiB) per readv(2), straight into them. */
        struct bufq_resv resv;
        struct iovec iov[4];
        int niov = bufq_reserve_iov(&x->resp_body, &resv, iov, 4);
        ssize_t n = sock_readv(s, iov, niov);
        bufq_commit_iov(&x->resp_body, &resv, n > 0 ? (size_t)n : 0);
        if (n == 0)
            return;
        if (n < 0 && n != H2G_ERR_EOF) {
            char why[128];
            snprintf(why, sizeof(why), "read from %s:%u: %s", t->host, t->port,
                     n == H2G_ERR_IO ? strerror(errno) : h2g_strerror((int)n));
            fail_tunnel(t, 502, "connection_terminated", why);
            return;
        }
        if (n < 0) {
            t->target_eof = true;
            sock_read_stop(s);
            x->resp_state = XRESP_END;
            xchg_notify(x);
            return;
        }
        count(t, false, (uint64_t)n);
        xchg_notify(x);
        if (bufq_len(&x->resp_body) > XCHG_BUF_HIGH) {
            t->read_paused = true;
            sock_read_stop(s);
        }
    }
    /* A TLS target (a WebSocket backend) may hold decrypted bytes. */
    if (t->state == TUN_OPEN && !t->read_paused && sock_read_pending(s))
        ev_feed_event(w->loop, &s->rev, EV_READ);
}

static void up_pump(struct upstream *up)
{
    tun_pump(container_of(up, struct tunnel, up));
}

/* The client drained the target's bytes below the low-water mark. */
static void up_drained(struct upstream *up)
{
    struct tunnel *t = container_of(up, struct tunnel, up);
    if (!t->read_paused || t->state != TUN_OPEN || t->target_eof ||
        bufq_len(&up->x->resp_body) >= XCHG_BUF_LOW)
        return;
    t->read_paused = false;
    sock_read_start(&t->sock);
    if (sock_read_pending(&t->sock))
        ev_feed_event(t->w->loop, &t->sock.rev, EV_READ);
}

static void on_tunnel_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)revents;
    struct tunnel *t = timer->data;
    const struct config *cfg = t->w->cfg;
    if (t->state != TUN_OPEN) {
        char why[128];
        snprintf(why, sizeof(why), "connecting to %s:%u timed out", t->host, t->port);
        fail_tunnel(t, 504, t->state == TUN_RESOLVING ? "dns_timeout" : "connection_timeout",
                    why);
        return;
    }
    double left = t->last_activity + cfg->tunnel_idle_timeout - ev_now(loop);
    if (left > 0) {
        arm_timer(t, left);
        return;
    }
    fail_tunnel(t, 504, "connection_timeout", "tunnel idle timeout");
}

/* ---- splice(2) mode ---- */

#define SPLICE_CHUNK (256 * 1024)

static void close_pipe(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
    fds[0] = fds[1] = -1;
}

static void on_pipe_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)revents;
    struct tun_pipe_cache *c = timer->data;
    if (c->used) {
        c->used = false;
        return;
    }
    while (c->num)
        close_pipe(c->fds[--c->num]);
    ev_timer_stop(loop, timer);
}

void tun_worker_init(struct worker *w)
{
    struct tun_pipe_cache *c = &w->tun_pipes;
    c->num = 0;
    c->used = false;
    ev_timer_init(&c->timer, on_pipe_timer, 1., 1.);
    c->timer.data = c;
}

void tun_worker_cleanup(struct worker *w)
{
    struct tun_pipe_cache *c = &w->tun_pipes;
    ev_timer_stop(w->loop, &c->timer);
    while (c->num)
        close_pipe(c->fds[--c->num]);
}

/* p holds a pipe afterwards (a spare one of w's, or a new one), or
 * returns false with errno set (EMFILE, ENFILE). */
static bool pipe_take(struct worker *w, struct tun_pipe *p)
{
    struct tun_pipe_cache *c = &w->tun_pipes;
    if (p->fds[0] >= 0)
        return true;
    c->used = true;
    if (c->num) {
        c->num--;
        p->fds[0] = c->fds[c->num][0];
        p->fds[1] = c->fds[c->num][1];
        return true;
    }
    if (pipe2(p->fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        p->fds[0] = p->fds[1] = -1;
        return false;
    }
    fcntl(p->fds[1], F_SETPIPE_SZ, SPLICE_CHUNK);
    return true;
}

/* p lets go of its pipe: an empty one goes to w's spares while there is
 * room, one with bytes left in it (the tunnel died mid-flight) is
 * closed, since nothing can tell those bytes from the next tunnel's. */
static void pipe_give(struct worker *w, struct tun_pipe *p)
{
    struct tun_pipe_cache *c = &w->tun_pipes;
    if (p->fds[0] < 0)
        return;
    if (p->pending || c->num == TUN_PIPE_CACHE) {
        close_pipe(p->fds);
        return;
    }
    c->fds[c->num][0] = p->fds[0];
    c->fds[c->num][1] = p->fds[1];
    c->num++;
    c->used = true;
    p->fds[0] = p->fds[1] = -1;
    if (!ev_is_active(&c->timer))
        ev_timer_start(w->loop, &c->timer);
}

/* Moves what it can src -> pipe -> dst, holding a pipe of w's only while
 * bytes are in it. Returns 0, or H2G_ERR_IO (errno set; also when no pipe
 * can be had). */
static int splice_step(struct worker *w, struct tun_pipe *p, int src, int dst,
                       uint64_t *counter)
{
    p->need_read = p->need_write = false;
    if (!p->src_eof && !pipe_take(w, p))
        return H2G_ERR_IO;
    for (;;) {
        bool progress = false;
        if (!p->src_eof && p->pending < SPLICE_CHUNK) {
            ssize_t n = splice(src, NULL, p->fds[1], NULL, SPLICE_CHUNK - p->pending,
                               SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            if (n > 0) {
                p->pending += (size_t)n;
                progress = true;
            } else if (n == 0) {
                p->src_eof = true;
            } else if (errno == EAGAIN) {
                p->need_read = true;
            } else if (errno != EINTR) {
                return H2G_ERR_IO;
            }
        }
        if (p->pending) {
            ssize_t m = splice(p->fds[0], NULL, dst, NULL, p->pending,
                               SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            if (m > 0) {
                p->pending -= (size_t)m;
                *counter += (uint64_t)m;
                progress = true;
            } else if (m < 0 && errno == EAGAIN) {
                p->need_write = true;
            } else if (m < 0 && errno != EINTR) {
                return H2G_ERR_IO;
            }
        }
        if (!progress)
            break;
    }
    if (!p->pending)
        pipe_give(w, p);
    return 0;
}

static void set_watch(struct sock *s, bool rd, bool wr)
{
    if (rd)
        sock_read_start(s);
    else
        sock_read_stop(s);
    sock_arm_write(s, wr);
}

/* Half-closes pass through, as in the HTTP/2 case and as socat does: a
 * side's EOF becomes a FIN to the other once its bytes are delivered, and
 * the tunnel ends when both directions have ended (a full close or reset
 * ends the other direction too, through EOF or a write error). */
static void splice_pump(struct tunnel *t)
{
    uint64_t up0 = t->bytes_up, down0 = t->bytes_down;
    int cfd = t->csock.fd, tfd = t->sock.fd;
    int e1 = splice_step(t->w, &t->to_target, cfd, tfd, &t->bytes_up);
    int e2 = e1 < 0 ? 0 : splice_step(t->w, &t->to_client, tfd, cfd, &t->bytes_down);
    uint64_t moved_up = t->bytes_up - up0, moved_down = t->bytes_down - down0;
    t->bytes_up = up0;
    t->bytes_down = down0;
    count(t, true, moved_up);
    count(t, false, moved_down);
    if (t->to_target.src_eof && !t->to_target.pending && !t->to_target.shut) {
        t->to_target.shut = true;
        shutdown(tfd, SHUT_WR);
    }
    if (t->to_client.src_eof && !t->to_client.pending && !t->to_client.shut) {
        t->to_client.shut = true;
        shutdown(cfd, SHUT_WR);
    }
    if (e1 < 0 || e2 < 0 || (t->to_target.shut && t->to_client.shut)) {
        struct xchg *x = t->up.x;
        set_watch(&t->csock, false, false);
        set_watch(&t->sock, false, false);
        if (x) {
            x->resp_state = XRESP_END;
            xchg_notify(x);
        }
        return;
    }
    set_watch(&t->csock, t->to_target.need_read, t->to_client.need_write);
    set_watch(&t->sock, t->to_client.need_read, t->to_target.need_write);
}

static void on_client_io(struct sock *s)
{
    splice_pump(container_of(s, struct tunnel, csock));
}

static bool up_splice(struct upstream *up, int cfd)
{
    struct tunnel *t = container_of(up, struct tunnel, up);
    if (t->spliced || t->state != TUN_OPEN || t->sock.ssl)
        return false;
    /* No pipe yet: splice_step takes them while bytes flow. */
    t->to_target.fds[0] = t->to_target.fds[1] = -1;
    t->to_client.fds[0] = t->to_client.fds[1] = -1;
    set_watch(&t->sock, false, false);
    t->spliced = true;
    sock_init(&t->csock, t->w->loop, cfd, &client_handler);
    splice_pump(t);
    return true;
}

/* The exchange is gone: close the target and log the tunnel. */
static void up_abandon(struct upstream *up)
{
    kill_tunnel(container_of(up, struct tunnel, up));
}

static void up_finish(struct upstream *up, struct bufq *rest)
{
    struct tunnel *t = container_of(up, struct tunnel, up);
    if (t->state != TUN_OPEN || t->spliced || t->websocket) {
        kill_tunnel(t);
        return;
    }
    /* Nothing more goes to the client: the target's bytes are not read
     * (the idle timeout still bounds a target that takes nothing). */
    sock_read_stop(&t->sock);
    t->read_paused = true;
    t->orphan = true;
    bufq_init(&t->rest, &t->w->pool);
    bufq_move(&t->rest, rest);
    flush_rest(t);
}

static const struct upstream_ops tun_up_ops = {
    .tunnel = true,
    .pump = up_pump,
    .drained = up_drained,
    .abandon = up_abandon,
    .splice = up_splice,
    .finish = up_finish,
};

void tun_reap(struct worker *w)
{
    while (w->tun_grave) {
        struct tunnel *t = w->tun_grave;
        w->tun_grave = t->next;
        long slot = t->websocket ? t->backend_index : -1;
        free(t->host);
        free(t);
        if (slot >= 0)
            upool_unhold(w, (size_t)slot); /* held since tun_adopt_websocket */
    }
}
