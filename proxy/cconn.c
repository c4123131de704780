#include "proxy/cconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/forwarded.h"
#include "proxy/h1srv.h"
#include "proxy/proxyproto.h"
#include "proxy/h2srv.h"
#include "proxy/ratelimit.h"
#include "proxy/sock.h"
#include "proxy/clientcert.h"
#include "proxy/tls.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

/* An idle connection costs this struct plus libnghttp2's session: keep it
 * within jemalloc's 768-byte size class (bench/idle_mem, RESULTS.md). */
_Static_assert(sizeof(struct cconn) <= 768, "struct cconn outgrew 768 bytes");

/* Bytes written per connection per flush pass before yielding. */
#define WRITE_BUDGET (512 * 1024)
/* Reads per readable event before yielding to other connections. */
#define READ_BATCH 8

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)

static void on_readable(struct sock *s);
static void on_writable(struct sock *s);
static void on_ready(struct sock *s, int err, const char *why, int sys_errno);
static void on_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void linger_write(struct cconn *cc);
static void proxy_read(struct cconn *cc);
static double proxy_timeout(const struct config *cfg);

static const struct sock_handler cc_sock_handler = {
    .readable = on_readable,
    .writable = on_writable,
    .ready = on_ready,
};

void cconn_global_init(const struct config *cfg)
{
    h2srv_global_init(cfg);
}

void cconn_global_cleanup(void)
{
    h2srv_global_cleanup();
}

void cconn_mark(struct cconn *cc)
{
    wrk_mark_dirty(cc->w, cc);
}

/* ---- exchanges ---- */

struct xchg *cconn_xchg_new(struct cconn *cc, int32_t stream_id, enum xchg_proto proto)
{
    struct xchg *x = xchg_new(&cc->xc, stream_id, proto);
    x->next = cc->xchgs;
    cc->xchgs = x;
    cc->num_xchgs++;
    return x;
}

static void unlink_from(struct xchg **head, struct xchg *x, bool pending_list)
{
    for (struct xchg **pp = head; *pp; pp = pending_list ? &(*pp)->next_pending : &(*pp)->next) {
        if (*pp == x) {
            *pp = pending_list ? x->next_pending : x->next;
            return;
        }
    }
}

void cconn_xchg_free(struct cconn *cc, struct xchg *x)
{
    unlink_from(&cc->xchgs, x, false);
    if (x->pending)
        unlink_from(&cc->pending, x, true);
    cc->num_xchgs--;
    xchg_free(x);
}

void cconn_wake(struct xchg *x)
{
    struct cconn *cc = cconn_of(x);
    if (!x->pending) {
        x->pending = true;
        x->next_pending = cc->pending;
        cc->pending = x;
    }
    cconn_mark(cc);
}

/* ---- input ---- */

void cconn_in_append(struct cconn *cc, const char *p, size_t len)
{
    if (cc->in_len + len > cc->in_cap) {
        size_t cap = cc->in_cap ? cc->in_cap : 4096;
        while (cap < cc->in_len + len)
            cap *= 2;
        cc->in = xrealloc(cc->in, cap);
        cc->in_cap = cap;
    }
    memcpy(cc->in + cc->in_len, p, len);
    cc->in_len += len;
}

void cconn_in_consume(struct cconn *cc, size_t n)
{
    if (n >= cc->in_len) {
        free(cc->in);
        cc->in = NULL;
        cc->in_len = cc->in_cap = 0;
        return;
    }
    memmove(cc->in, cc->in + n, cc->in_len - n);
    cc->in_len -= n;
}

/* --read-rate/--write-rate's buckets, or NULL (none, or lingering: the
 * field is then linger_until). */
static struct ratelimit *rl_of(const struct cconn *cc)
{
    return cc->lingering ? NULL : cc->rl;
}

bool cconn_rate_limited(const struct cconn *cc)
{
    return rl_of(cc) != NULL;
}

/* The flush pass again at at (ratelimit_wait's), when a bucket holds
 * enough (conn_timeout ends the wait). */
static void rl_wake(struct cconn *cc, double at)
{
    double left = at - ev_now(cc->w->loop);
    cconn_deadline(cc, left > 0.001 ? left : 0.001);
}

/* --read-rate: how much of want may be read now; 0, with reading paused
 * until the bucket holds enough again, when nothing. */
static size_t read_allowance(struct cconn *cc, size_t want)
{
    double now = ev_now(cc->w->loop);
    size_t n = ratelimit_allow(cc->rl, RL_READ, want, now);
    if (n == 0) {
        if (!cc->read_paused)
            stats_rate_wait(cc->w->stats, STATS_DIR_IN);
        cconn_pause_read(cc);
        rl_wake(cc, ratelimit_wait(cc->rl, RL_READ, now));
    }
    return n;
}

/* A flush pass stopped at its budget with output left: another pass, or,
 * when --write-rate's bucket is empty, one when it holds enough. */
static void write_later(struct cconn *cc)
{
    double now = ev_now(cc->w->loop);
    if (rl_of(cc) && !ratelimit_allow(cc->rl, RL_WRITE, 1, now)) {
        stats_rate_wait(cc->w->stats, STATS_DIR_OUT);
        rl_wake(cc, ratelimit_wait(cc->rl, RL_WRITE, now));
    } else {
        cconn_mark(cc);
    }
}

void cconn_pause_read(struct cconn *cc)
{
    if (cc->read_paused)
        return;
    cc->read_paused = true;
    sock_read_stop(&cc->sock);
}

void cconn_resume_read(struct cconn *cc)
{
    if (!cc->read_paused || cc->dead || cc->closing)
        return;
    if (cc->ops && !cc->ops->may_read(cc))
        return;
    if (rl_of(cc) && !read_allowance(cc, 1))
        return;
    cc->read_paused = false;
    if (cc->eof)
        return;
    /* Read timeouts count from here: the pause was ours. */
    cc->last_read = ev_now(cc->w->loop);
    cconn_deadline(cc, cc->w->cfg->frontend_read_timeout);
    sock_read_start(&cc->sock);
    /* TLS may hold bytes it decrypted but was not asked for (a read cut
     * short by --read-rate): the socket will not say so. */
    if (sock_read_pending(&cc->sock))
        ev_feed_event(cc->w->loop, &cc->sock.rev, EV_READ);
}

/* ---- the protocol ---- */

void cconn_set_proto(struct cconn *cc, enum cconn_proto proto, const struct cconn_ops *ops,
                     const struct xchg_client_ops *xops)
{
    cc->proto = proto;
    cc->ops = ops;
    cc->xc.ops = xops;
    struct client_facts *f = &cc->xc.facts;
    f->stats_proto = proto == CC_H1   ? STATS_PROTO_HTTP1
                     : cc->sock.ssl ? STATS_PROTO_H2
                                    : STATS_PROTO_H2C;
    stats_conn_opened(cc->w->stats, (enum stats_proto)f->stats_proto);
    SSL *ssl = cc->sock.ssl;
    if (!ssl)
        return;
    f->tls_version = SSL_get_version(ssl);
    f->tls_cipher = SSL_get_cipher_name(ssl);
    f->sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    f->tls_session_reused = SSL_session_reused(ssl);
    SSL_SESSION *sess = SSL_get_session(ssl);
    unsigned id_len = 0;
    const uint8_t *id = sess ? SSL_SESSION_get_id(sess, &id_len) : NULL;
    if (id && id_len <= sizeof(f->tls_session_id)) {
        memcpy(f->tls_session_id, id, id_len);
        f->tls_session_id_len = id_len;
    }
    cc->client_cert = clientcert_new(ssl, cc->w->cfg->forward_client_cert);
    f->client_cert = cc->client_cert;
}

static void start_h2(struct cconn *cc)
{
    if (h2srv_start(cc) < 0)
        cconn_close(cc, "cannot start HTTP/2 session");
}

static void select_proto_after_tls(struct cconn *cc)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(cc->sock.ssl, &alpn, &alpn_len);
    if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0)
        start_h2(cc);
    else
        h1srv_start(cc);
}

/* Cleartext: the HTTP/2 preface means h2c, anything else HTTP/1.1. Bytes
 * of a partial preface wait in cc->in. */
static void sniff(struct cconn *cc, const char *p, size_t len)
{
    size_t have = cc->in_len;
    size_t cmp = H2_PREFACE_LEN - have < len ? H2_PREFACE_LEN - have : len;
    if (memcmp(h2_preface + have, p, cmp) != 0) {
        h1srv_start(cc);
        cc->ops->recv(cc, p, len);
        return;
    }
    if (have + cmp < H2_PREFACE_LEN) {
        cconn_in_append(cc, p, len);
        return;
    }
    start_h2(cc);
    if (cc->dead)
        return;
    char *prefix = cc->in;
    size_t prefix_len = cc->in_len;
    cc->in = NULL;
    cc->in_len = cc->in_cap = 0;
    if (prefix_len)
        cc->ops->recv(cc, prefix, prefix_len);
    free(prefix);
    if (!cc->dead)
        cc->ops->recv(cc, p, len);
}

/* ---- socket events ---- */

/* The TLS handshake is over. */
static void on_ready(struct sock *s, int err, const char *why, int sys_errno)
{
    (void)sys_errno;
    struct cconn *cc = container_of(s, struct cconn, sock);
    if (err) {
        log_info("c%" PRIu64 " %s", cc->xc.facts.conn_id, why);
        stats_tls_failed(cc->w->stats, err == H2G_ERR_TLS ? tls_handshake_reason(s->ssl)
                                                          : STATS_TLSFAIL_CLOSED);
        cconn_close(cc, "TLS handshake failed");
        return;
    }
    stats_tls_handshake(cc->w->stats, tls_stats_version(s->ssl), SSL_session_reused(s->ssl));
    select_proto_after_tls(cc);
    if (cc->dead)
        return;
    cconn_mark(cc);
    on_readable(s); /* application data may have come with the handshake */
}

/* The answer is out and the connection ends, but the client may still be
 * sending (a request body nobody reads): closing now, with its bytes
 * unread, would make the kernel reset the connection and drop what of the
 * answer it still holds. So the write side is shut (behind a TLS
 * close_notify, once that is out: linger_write) and what the client sends
 * is read raw and dropped until the answer is acknowledged, for up to
 * CCONN_LINGER_TIME (RFC 9112 §9.6; linger_done). */
void cconn_linger(struct cconn *cc)
{
    if (cc->lingering || cc->dead)
        return;
    if (cc->eof) {
        cconn_close(cc, "done");
        return;
    }
    ratelimit_free(cc->rl); /* the last bytes go unlimited */
    cc->lingering = true;
    cc->linger_until = ev_now(cc->w->loop) + CCONN_LINGER_TIME;
    cc->read_paused = false;
    sock_read_start(&cc->sock);
    cconn_deadline(cc, CCONN_LINGER_POLL);
    linger_write(cc);
}

static void linger_write(struct cconn *cc)
{
    if (sock_close_notify(&cc->sock))
        shutdown(cc->sock.fd, SHUT_WR);
}

/* Lingering: what the client sends is counted and dropped. */
static void linger_read(struct cconn *cc)
{
    struct worker *w = cc->w;
    for (int i = 0; i < READ_BATCH; i++) {
        ssize_t n = sock_read_raw(&cc->sock, w->scratch, BUF_RECORD_SIZE);
        if (n == 0)
            return;
        if (n < 0) {
            cconn_close(cc, "done");
            return;
        }
        stats_bytes(w->stats, STATS_SIDE_CLIENT, STATS_DIR_IN, (uint64_t)n);
    }
}

static void on_readable(struct sock *s)
{
    struct cconn *cc = container_of(s, struct cconn, sock);
    struct worker *w = cc->w;
    if (cc->lingering) {
        linger_read(cc);
        return;
    }
    if (cc->proto == CC_PROXY) {
        proxy_read(cc);
        return;
    }
    cc->last_read = ev_now(w->loop);
    size_t full = cc->proto == CC_H2 ? WRK_SCRATCH_SIZE : BUF_RECORD_SIZE, want = full;
    for (int i = 0; i < READ_BATCH && !cc->read_paused && !cc->dead && !cc->closing; i++) {
        if (rl_of(cc) && !(want = read_allowance(cc, full)))
            break;
        ssize_t n = sock_read(s, w->scratch, want);
        if (n == 0)
            break;
        if (n < 0) {
            bool eof = n == H2G_ERR_EOF || n == H2G_ERR_RESET;
            if (eof && cc->ops && !cc->ops->eof(cc))
                break;
            cconn_close(cc, eof ? "peer closed" : h2g_strerror((int)n));
            return;
        }
        stats_bytes(w->stats, STATS_SIDE_CLIENT, STATS_DIR_IN, (uint64_t)n);
        if (rl_of(cc))
            ratelimit_took(cc->rl, RL_READ, (size_t)n);
        if (cc->ops)
            cc->ops->recv(cc, w->scratch, (size_t)n);
        else
            sniff(cc, w->scratch, (size_t)n);
        if ((size_t)n < want && !s->ssl)
            break;
    }
    if (cc->dead)
        return;
    if (cc->closing)
        cconn_pause_read(cc); /* nothing more is read: do not wake for it */
    else if (!cc->read_paused && sock_read_pending(s))
        ev_feed_event(w->loop, &s->rev, EV_READ);
    cconn_mark(cc);
}

static void on_writable(struct sock *s)
{
    struct cconn *cc = container_of(s, struct cconn, sock);
    if (cc->lingering)
        linger_write(cc);
    else
        cconn_mark(cc);
}

/* ---- timeouts ---- */

static void arm_timer(struct cconn *cc, double at)
{
    struct ev_loop *loop = cc->w->loop;
    ev_timer_stop(loop, &cc->timer);
    if (at == INFINITY)
        return;
    double left = at - ev_now(loop);
    ev_timer_set(&cc->timer, left > 0 ? left : 0., 0.);
    ev_timer_start(loop, &cc->timer);
    cc->timer_at = at;
}

void cconn_deadline(struct cconn *cc, double timeout)
{
    if (timeout <= 0 || cc->dead)
        return;
    double at = ev_now(cc->w->loop) + timeout;
    if (!ev_is_active(&cc->timer) || at < cc->timer_at)
        arm_timer(cc, at);
}

/* The connection's own deadlines: the handshake and first bytes, and
 * output that does not move. Returns the earliest left, or INFINITY;
 * closes cc when one expired. */
static double conn_timeout(struct cconn *cc, double now)
{
    const struct config *cfg = cc->w->cfg;
    double next = INFINITY;
    if (cc->proto == CC_PROXY) {
        double at = cc->accepted_at + proxy_timeout(cfg);
        if (at <= now) {
            cconn_close(cc, "no PROXY header in time");
            return INFINITY;
        }
        return at;
    }
    if (!cc->ops && cfg->frontend_read_timeout > 0) {
        double at = cc->accepted_at + cfg->frontend_read_timeout;
        if (at <= now) {
            if (cc->proto == CC_TLS)
                stats_tls_failed(cc->w->stats, STATS_TLSFAIL_TIMEOUT);
            cconn_close(cc, cc->proto == CC_TLS ? "TLS handshake timeout" : "read timeout");
            return INFINITY;
        }
        next = at;
    }
    if (rl_of(cc) && cc->rl->wake_at > 0) {
        /* A wait for tokens: over, the flush pass (on_timer) goes on. */
        if (cc->rl->wake_at <= now)
            cc->rl->wake_at = 0;
        else
            next = cc->rl->wake_at < next ? cc->rl->wake_at : next;
    }
    if (cc->out_since > 0 && cfg->frontend_write_timeout > 0) {
        double at = cc->out_since + cfg->frontend_write_timeout;
        if (at <= now) {
            cconn_close(cc, "write timeout");
            return INFINITY;
        }
        next = at < next ? at : next;
    }
    return next;
}

/* Lingering may end once the write side is shut (the close_notify out,
 * over TLS) and the client has acknowledged every byte: closing can then
 * destroy nothing it has not got. */
static bool linger_done(const struct cconn *cc)
{
    int unacked = 0;
    return (!cc->sock.ssl || cc->sock.notified) &&
           ioctl(cc->sock.fd, SIOCOUTQ, &unacked) == 0 && unacked == 0;
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct cconn *cc = t->data;
    double now = ev_now(loop);
    if (cc->lingering) {
        if (now >= cc->linger_until || linger_done(cc))
            cconn_close(cc, "done");
        else
            arm_timer(cc, fmin(now + CCONN_LINGER_POLL, cc->linger_until));
        return;
    }
    double next = conn_timeout(cc, now);
    if (!cc->dead && cc->ops) {
        double g = cc->ops->timeout(cc, now);
        next = g < next ? g : next;
    }
    if (cc->dead)
        return;
    cconn_mark(cc); /* a timeout may have queued output */
    arm_timer(cc, next);
}

/* ---- the flush pass ---- */

/* Writes what is in out within what is left of the budget. Returns the
 * bytes written, or a negative h2g_err. */
static ssize_t write_out(struct cconn *cc, size_t budget)
{
    ssize_t n = sock_write(&cc->sock, &cc->out, budget);
    if (n > 0)
        stats_bytes(cc->w->stats, STATS_SIDE_CLIENT, STATS_DIR_OUT, (uint64_t)n);
    return n;
}

/* Output is left in out after a write pass: the write timeout runs from
 * the last progress. */
static void out_waits(struct cconn *cc, bool progress)
{
    if (cc->out_since > 0 && !progress)
        return;
    cc->out_since = ev_now(cc->w->loop);
    cconn_deadline(cc, cc->w->cfg->frontend_write_timeout);
}

void cconn_flush(struct cconn *cc)
{
    if (cc->dead)
        return;
    if (cc->read_paused && !cc->eof)
        cconn_resume_read(cc);
    while (cc->pending && cc->ops) {
        struct xchg *x = cc->pending;
        cc->pending = x->next_pending;
        x->pending = false;
        x->next_pending = NULL;
        cc->ops->news(cc, x);
    }
    /* Produce and write until nothing more comes, the socket would block
     * or the budget is spent: a write that empties out must never end the
     * pass while the glue still has output to give (it would wait for news
     * that may never come). */
    size_t budget = WRITE_BUDGET;
    if (rl_of(cc))
        budget = ratelimit_allow(cc->rl, RL_WRITE, budget, ev_now(cc->w->loop));
    bool wrote = false;
    for (;;) {
        bool more = cc->ops && cc->ops->produce(cc);
        if (cc->dead)
            return;
        ssize_t n = write_out(cc, budget);
        if (n < 0) {
            cconn_close(cc, "write error");
            return;
        }
        if (n > 0 && rl_of(cc))
            ratelimit_took(cc->rl, RL_WRITE, (size_t)n);
        budget = (size_t)n < budget ? budget - (size_t)n : 0;
        wrote |= n > 0;
        if (bufq_len(&cc->out)) {
            out_waits(cc, wrote);
            if (!sock_write_blocked(&cc->sock))
                write_later(cc); /* the budget ran out */
            return;
        }
        cc->out_since = 0;
        if (!more)
            break;
        if (budget == 0) {
            write_later(cc);
            return;
        }
    }
    if (cc->ops)
        cc->ops->drained(cc);
    else if (cc->closing)
        cconn_close(cc, "done");
}

/* ---- lifecycle ---- */

/* sa's address as text into buf (48 bytes), IPv4-mapped shown as IPv4;
 * its port into *port. A UNIX domain socket's peer has no address:
 * "localhost" (nghttpx's word for it, in X-Forwarded-For and Forwarded
 * too) and port 0, which the access log shows as absent. Returns the
 * length. */
static size_t format_addr(const struct sockaddr *sa, char *buf, uint16_t *port)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_UNIX) {
        snprintf(host, sizeof(host), "localhost");
        *port = 0;
    } else if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
        *port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        *port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], host, sizeof(host));
        else
            inet_ntop(AF_INET6, a, host, sizeof(host));
    }
    return (size_t)snprintf(buf, 48, "%s", host);
}

static void format_peer(struct client_facts *f, const struct sockaddr *sa, int fd,
                        bool want_local)
{
    f->peer_len = format_addr(sa, f->peer, &f->peer_port);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    uint16_t port;
    if (want_local && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        f->local_len = format_addr((const struct sockaddr *)&ss, f->local, &port);
}

/* TLS or the cleartext sniff, once the socket's first bytes are h2gate's
 * to read (after the PROXY header on a ";proxyproto" frontend). */
static void start_transport(struct cconn *cc)
{
    if (cc->fe->tls) {
        cc->proto = CC_TLS;
        sock_accept_tls(&cc->sock, tls_server_new(cc->w->ssl_ctx));
    } else {
        cc->proto = CC_SNIFF;
        sock_read_start(&cc->sock);
    }
}

static double proxy_timeout(const struct config *cfg)
{
    double t = cfg->frontend_read_timeout;
    return t > 0 && t < PP_TIMEOUT ? t : PP_TIMEOUT;
}

/* ";proxyproto": peeks at what arrived, and once a whole PROXY header is
 * there, consumes exactly it, takes its client address as the
 * connection's, and starts TLS or the sniff on the bytes after it. A
 * connection without a valid header is closed: nothing of it goes on. */
static void proxy_read(struct cconn *cc)
{
    uint8_t *buf = (uint8_t *)cc->w->scratch;
    ssize_t n = recv(cc->sock.fd, buf, PP_MAX_HEADER, MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        cconn_close(cc, "closed before its PROXY header");
        return;
    }
    if (n < 0)
        return;
    struct pp_header h;
    const char *why = "PROXY header longer than h2gate takes";
    enum pp_result r = pp_parse(buf, (size_t)n, &h, &why);
    if (r == PP_NEED_MORE && n < PP_MAX_HEADER)
        return;
    if (r != PP_DONE || recv(cc->sock.fd, buf, h.len, 0) != (ssize_t)h.len) {
        log_info("c%" PRIu64 " from %s: %s", cc->xc.facts.conn_id, cc->xc.facts.peer, why);
        cconn_close(cc, "bad PROXY header");
        return;
    }
    stats_bytes(cc->w->stats, STATS_SIDE_CLIENT, STATS_DIR_IN, h.len);
    if (!h.local)
        cc->xc.facts.peer_len = format_addr((const struct sockaddr *)&h.src,
                                            cc->xc.facts.peer, &cc->xc.facts.peer_port);
    sock_read_stop(&cc->sock);
    start_transport(cc);
}

struct cconn *cconn_new(struct worker *w, int fd, const struct cfg_frontend *fe,
                        const struct sockaddr *peer)
{
    struct cconn *cc = xcalloc(1, sizeof(*cc));
    cc->w = w;
    cc->fe = fe;
    cc->gen = wrk_gen_pin(w);
    cc->xc.w = w;
    struct client_facts *f = &cc->xc.facts;
    f->conn_id = ++w->next_conn_id * 256 + (uint64_t)w->id;
    f->stats_proto = -1;
    f->server_port = fe->port;
    f->tls = fe->tls;
    format_peer(f, peer, fd, fwd_wants_local_addr(w->cfg));
    bufq_init(&cc->out, &w->pool);
    cc->accepted_at = cc->last_read = ev_now(w->loop);
    cc->rl = ratelimit_new(w->cfg, cc->accepted_at);
    sock_init(&cc->sock, w->loop, fd, &cc_sock_handler);
    ev_timer_init(&cc->timer, on_timer, 0., 0.);
    cc->timer.data = cc;
    cconn_deadline(cc, w->cfg->frontend_read_timeout);
    if (fe->proxyproto) {
        cc->proto = CC_PROXY;
        cconn_deadline(cc, proxy_timeout(w->cfg));
        sock_read_start(&cc->sock);
    } else {
        start_transport(cc);
    }
    cc->next = w->conns;
    if (w->conns)
        w->conns->prev = cc;
    w->conns = cc;
    w->num_conns++;
    log_info("c%" PRIu64 " accepted from %s", f->conn_id, f->peer);
    return cc;
}

void cconn_close(struct cconn *cc, const char *why)
{
    if (cc->dead)
        return;
    log_info("c%" PRIu64 " closed: %s", cc->xc.facts.conn_id, why);
    cc->dead = true;
    struct ev_loop *loop = cc->w->loop;
    sock_read_stop(&cc->sock);
    sock_arm_write(&cc->sock, false);
    ev_timer_stop(loop, &cc->timer);
    cc->next_grave = cc->w->cc_grave;
    cc->w->cc_grave = cc;
}

static void cconn_free(struct cconn *cc)
{
    struct worker *w = cc->w;
    if (cc->ops)
        cc->ops->cleanup(cc);
    if (cc->dirty) {
        /* Marked again during its last flush pass (an upstream's write
         * returned credit) and closed in the same pass: off the list. */
        struct cconn **pp = &w->dirty;
        while (*pp != cc)
            pp = &(*pp)->next_dirty;
        *pp = cc->next_dirty;
        cc->dirty = false;
    }
    sock_close(&cc->sock, true);
    if (cc->xc.facts.stats_proto >= 0)
        stats_conn_closed(w->stats, (enum stats_proto)cc->xc.facts.stats_proto);
    bufq_cleanup(&cc->out);
    free(cc->in);
    clientcert_free(cc->client_cert);
    if (!cc->lingering)
        ratelimit_free(cc->rl);
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        w->conns = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    w->num_conns--;
    wrk_gen_unpin(w, cc->gen);
    free(cc);
}

void cconn_reap(struct worker *w)
{
    while (w->cc_grave) {
        struct cconn *cc = w->cc_grave;
        w->cc_grave = cc->next_grave;
        cconn_free(cc);
    }
}

void cconn_close_all(struct worker *w)
{
    for (struct cconn *cc = w->conns; cc; cc = cc->next)
        cconn_close(cc, "worker stopping");
}

void cconn_shutdown(struct cconn *cc)
{
    if (cc->dead)
        return;
    if (!cc->ops || !cc->ops->shutdown(cc, CC_SHUT_NOTICE))
        cc->closing = true;
    cconn_mark(cc);
}

void cconn_shutdown_final(struct cconn *cc)
{
    if (cc->dead || !cc->ops)
        return;
    cc->ops->shutdown(cc, CC_SHUT_FINAL);
    cconn_mark(cc);
}
