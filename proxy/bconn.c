#include "proxy/bconn.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/base64.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <math.h>
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
#include "proxy/forwarded.h"
#include "proxy/h1resp.h"
#include "proxy/hdrs.h"
#include "proxy/sock.h"
#include "proxy/tunnel.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* Request bytes queued on the socket before we stop taking more body. */
#define BC_OUT_HIGH (64 * 1024)
#define READ_BATCH 4

static http_parser_settings resp_settings;

static void on_bc_readable(struct sock *s);
static void on_bc_writable(struct sock *s);
static void on_bc_ready(struct sock *s, int err, const char *why, int sys_errno);
static void on_bc_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void pump(struct bconn *bc);
static const struct upstream_ops bc_up_ops;

static const struct sock_handler bc_sock_handler = {
    .readable = on_bc_readable,
    .writable = on_bc_writable,
    .ready = on_bc_ready,
};

/* Stops bc and queues it for bconn_reap(); its socket is closed, or was
 * handed over (the WebSocket switch). */
static void to_grave(struct bconn *bc)
{
    struct worker *w = bc->w;
    ev_timer_stop(w->loop, &bc->timer);
    sock_close(&bc->sock, false);
    bc->state = BC_DEAD;
    upool_h1_closed(w, bc->be);
    bc->next = w->bc_grave;
    w->bc_grave = bc;
}

static void kill_conn(struct bconn *bc)
{
    if (bc->state == BC_DEAD)
        return;
    stats_backend_conn_closed(bc->w->stats, (long)bc->be->index);
    to_grave(bc);
}

void bconn_close(struct bconn *bc)
{
    kill_conn(bc);
}

/* Ends the exchange on bc with a failure. Retrying is allowed only when no
 * byte of the request can have been processed by the backend. */
static void fail(struct bconn *bc, int status, const char *why, bool connect_failed)
{
    struct xchg *x = bc->up.x;
    const struct cfg_backend *be = bc->be;
    bool retry_fresh = bc->reused && !bc->got_bytes && x && x->req_body_moved == 0;
    log_info("backend " CFG_BE_FMT ": %s", CFG_BE_ARGS(be), why);
    kill_conn(bc);
    if (!x)
        return;
    xchg_unlink(x);
    upool_failed(x, be, status, why,
                 connect_failed ? UPOOL_RETRY_NEXT
                 : retry_fresh  ? UPOOL_RETRY_FRESH
                                : UPOOL_RETRY_NONE);
}

/* The timer fires no later than after seconds from now. One already due
 * sooner is left as it is (on_bc_timer finds the state's deadline not
 * reached and arms it for the rest), so a connection going busy and back
 * idle with every request does not stop and start it each time. */
static void arm_timer(struct bconn *bc, double after)
{
    struct ev_loop *loop = bc->w->loop;
    if (ev_is_active(&bc->timer) && ev_timer_remaining(loop, &bc->timer) <= after)
        return;
    ev_timer_stop(loop, &bc->timer);
    ev_timer_set(&bc->timer, after, 0.);
    ev_timer_start(loop, &bc->timer);
}

struct bconn *bconn_new(struct worker *w, const struct cfg_backend *be)
{
    struct bconn *bc = xcalloc(1, sizeof(*bc));
    bc->up.ops = &bc_up_ops;
    bc->w = w;
    bc->be = be;
    bc->state = BC_CONNECTING;
    bc->last_activity = ev_now(w->loop);
    if (upool_connect(w, be, &bc->sock, &bc_sock_handler) < 0) {
        free(bc);
        return NULL;
    }
    upool_h1_opened(w, be);
    bufq_init(&bc->out, &w->pool);
    ev_timer_init(&bc->timer, on_bc_timer, w->cfg->backend_connect_timeout, 0.);
    bc->timer.data = bc;
    ev_timer_start(w->loop, &bc->timer);
    return bc;
}

/* Why an I/O call that returned err failed, for the log. */
static const char *io_why(ssize_t err)
{
    return err == H2G_ERR_IO ? strerror(errno) : h2g_strerror((int)err);
}

/* A write failed with err after the backend reset the connection (or over
 * TLS with any error). A server that answers before the whole body (a
 * 413, a 401) and closes with the upload unread makes its kernel reset
 * the connection, and the reset fails h2gate's next write while the
 * answer waits in the socket, ahead of it. So the rest of the request is
 * dropped and the answer read: the reader forwards it, or fails the
 * exchange at the reset as the write would have. bc may be gone on
 * return. */
static int write_failed(struct bconn *bc, ssize_t err)
{
    log_info("backend " CFG_BE_FMT ": %s while sending the request; reading its answer",
             CFG_BE_ARGS(bc->be), io_why(err));
    bc->write_failed = true;
    bufq_drain(&bc->out, bufq_len(&bc->out));
    sock_arm_write(&bc->sock, false);
    on_bc_readable(&bc->sock);
    return (int)err;
}

/* Returns 0, or a negative h2g_err when bc failed (bc may be gone). */
static int do_write(struct bconn *bc)
{
    if (bc->write_failed) {
        bufq_drain(&bc->out, bufq_len(&bc->out));
        return 0;
    }
    ssize_t n = sock_write(&bc->sock, &bc->out, SIZE_MAX);
    if (n < 0) {
        if ((n == H2G_ERR_RESET || n == H2G_ERR_TLS) && bc->up.x && bc->state == BC_BUSY &&
            !bc->switched)
            return write_failed(bc, n);
        fail(bc, 502, io_why(n), false);
        return (int)n;
    }
    if (n) {
        stats_bytes(bc->w->stats, STATS_SIDE_BACKEND, STATS_DIR_OUT, (uint64_t)n);
        bc->last_activity = ev_now(bc->w->loop);
    }
    return 0;
}

/* RFC 6455 §4.1: a fresh key, 16 random bytes in base64, kept in bc to
 * check the backend's Sec-WebSocket-Accept. */
static struct str new_ws_key(struct bconn *bc)
{
    uint8_t nonce[16];
    RAND_bytes(nonce, sizeof(nonce));
    size_t n = EVP_EncodeBlock((uint8_t *)bc->ws_key, nonce, sizeof(nonce));
    return str_make(bc->ws_key, n);
}

/* When on_bc_timer first looks: the sooner of the read and write
 * timeouts (it re-arms for whichever applies then). */
static double first_deadline(const struct bconn *bc)
{
    return fmin(upool_read_timeout(bc->w, bc->be), upool_write_timeout(bc->w, bc->be));
}

void bconn_attach(struct bconn *bc, struct xchg *x)
{
    if (bc->state == BC_IDLE) {
        bc->state = BC_BUSY;
        bc->reused = true;
    }
    xchg_link(x, &bc->up);
    bc->got_bytes = false;
    bc->req_sent = false;
    bc->keep_alive = true;
    bc->in_trailers = false;
    bc->last_was_name = false;
    bc->fast = false;
    http_parser_init(&bc->parser, HTTP_RESPONSE);
    bc->parser.data = bc;

    struct xlate_req r = { 0 };
    struct xlate_opts o;
    char fwd[FWD_ELEMENT_MAX], host[XLATE_HOSTPORT_MAX];
    xchg_xlate_req(x, &r, &o, fwd, host);
    struct str method = r.method;
    r.content_length = x->req_content_length;
    bc->websocket = r.websocket = x->websocket;
    r.protocol = xchg_upgrade(x);
    bc->switched = false;
    bc->ws_key[0] = '\0';
    if (x->websocket) {
        /* No body until the switch; after it the bytes are not HTTP. An
         * extended CONNECT (RFC 8441 §5) becomes RFC 6455's GET. */
        r.content_length = -1;
        r.method = STR_LIT("GET");
        if (x->proto == XCHG_H2)
            r.ws_key = new_ws_key(bc);
    } else if (r.content_length < 0) {
        if (xchg_req_ended(x))
            r.content_length = (int64_t)bufq_len(&x->req_body);
        else
            r.chunked = true;
    }
    /* A bodiless GET or HEAD says nothing about length, as clients do. */
    if (r.content_length == 0 && xchg_req_ended(x) &&
        (str_eq(method, STR_LIT("GET")) || str_eq(method, STR_LIT("HEAD")) ||
         str_eq(method, STR_LIT("DELETE")) || str_eq(method, STR_LIT("OPTIONS"))))
        r.content_length = -1;
    bc->req_chunked = r.chunked;
    bc->req_left = r.content_length > 0 ? r.content_length : 0;
    bc->req_overrun = false;
    bc->req_sent = x->websocket;
    bc->write_failed = false;
    xlate_req_h1(&bc->out, &r, &o);
    if (bc->state == BC_BUSY) {
        sock_read_start(&bc->sock);
        bc->last_activity = ev_now(bc->w->loop);
        arm_timer(bc, first_deadline(bc));
        pump(bc);
    }
}

/* Moves buffered request body into out, up to BC_OUT_HIGH; queues the end
 * of the request once the client has sent it all. Returns the body bytes
 * taken from the exchange. */
static size_t fill(struct bconn *bc, struct xchg *x)
{
    size_t moved = 0;
    if (bc->websocket)
        return 0; /* the client side holds its bytes until the 101 */
    while (bufq_len(&bc->out) < BC_OUT_HIGH && bufq_len(&x->req_body)) {
        size_t n = bufq_len(&x->req_body);
        if (n > BC_OUT_HIGH)
            n = BC_OUT_HIGH;
        moved += n;
        if (bc->req_chunked) {
            bufq_appendf(&bc->out, "%zx\r\n", n);
        } else if ((uint64_t)n > (uint64_t)bc->req_left) {
            /* Bytes past the Content-Length sent would reach the backend
             * as the start of another request. The client side never
             * hands us any (http-parser and nghttp2 hold bodies to their
             * length); if it did, they are dropped and bc not reused. */
            log_warn("backend " CFG_BE_FMT ": %zu request body bytes past Content-Length dropped",
                     CFG_BE_ARGS(bc->be), n - (size_t)bc->req_left);
            bufq_drain(&x->req_body, n - (size_t)bc->req_left);
            n = (size_t)bc->req_left;
            bc->req_overrun = true;
        }
        bufq_copy(&bc->out, &x->req_body, n);
        bufq_drain(&x->req_body, n);
        if (bc->req_chunked)
            bufq_append(&bc->out, "\r\n", 2);
        else
            bc->req_left -= (int64_t)n;
    }
    if (xchg_req_ended(x) && bufq_len(&x->req_body) == 0 && !bc->req_sent) {
        if (bc->req_chunked)
            xlate_last_chunk_h1(&bc->out, &x->req_trailers);
        bc->req_sent = true;
    }
    return moved;
}

/* Moves request body to the socket until the body buffer is empty or the
 * socket would block: a write that empties out must not end the pump
 * while body is still buffered, since nothing else would restart it. */
static void pump(struct bconn *bc)
{
    struct xchg *x = bc->up.x;
    if (bc->state != BC_BUSY || !x)
        return;
    for (;;) {
        /* Credit is returned as body bytes are queued on the backend
         * socket; that queue is capped at BC_OUT_HIGH, so what a stream
         * can make us hold stays bounded by its window plus that cap. */
        size_t moved = fill(bc, x);
        if (moved)
            xchg_req_consumed(x, moved);
        if (do_write(bc) < 0)
            return;
        if (bc->websocket || sock_write_blocked(&bc->sock) || bufq_len(&x->req_body) == 0)
            return;
    }
}

static void up_pump(struct upstream *up)
{
    pump(container_of(up, struct bconn, up));
}

/* The client drained the response buffer below the low-water mark: read
 * from the backend again. */
static void up_drained(struct upstream *up)
{
    struct bconn *bc = container_of(up, struct bconn, up);
    if (!bc->read_paused || bc->state != BC_BUSY ||
        bufq_len(&up->x->resp_body) >= XCHG_BUF_LOW)
        return;
    bc->read_paused = false;
    bc->last_activity = ev_now(bc->w->loop);
    sock_read_start(&bc->sock);
}

/* The exchange is gone before its response completed. */
static void up_abandon(struct upstream *up)
{
    struct bconn *bc = container_of(up, struct bconn, up);
    log_info("backend " CFG_BE_FMT ": exchange abandoned by the client", CFG_BE_ARGS(bc->be));
    kill_conn(bc);
}

static const struct upstream_ops bc_up_ops = {
    .pump = up_pump,
    .drained = up_drained,
    .abandon = up_abandon,
};

/* Keeps bc for the next exchange: the oldest one waiting for a
 * connection to its member, else the pool's if it takes it. */
static void to_pool(struct bconn *bc)
{
    struct worker *w = bc->w;
    struct xchg *next = upool_h1_waiter(w, bc->be);
    if (next) {
        bc->state = BC_IDLE;
        bc->read_paused = false;
        bconn_attach(bc, next);
        return;
    }
    if (!upool_h1_put(bc)) {
        kill_conn(bc);
        return;
    }
    bc->state = BC_IDLE;
    bc->read_paused = false;
    sock_read_start(&bc->sock);
    bc->last_activity = ev_now(w->loop);
    arm_timer(bc, w->cfg->backend_keep_alive_timeout);
}

/* ---- response parsing ---- */

static int on_resp_begin(http_parser *p)
{
    struct bconn *bc = p->data;
    if (bc->up.x)
        hdrs_reset(&bc->up.x->resp);
    bc->last_was_name = false;
    bc->in_trailers = false;
    return 0;
}

static int on_resp_field(http_parser *p, const char *at, size_t len)
{
    struct bconn *bc = p->data;
    /* A field name is a token: http-parser takes a space in one. */
    if (!str_is_token(str_make(at, len)))
        return -1;
    struct hdrs *h = bc->in_trailers ? &bc->up.x->resp_trailers : &bc->up.x->resp;
    if (hdrs_add_name_part(h, str_make(at, len), bc->last_was_name) < 0)
        return -1;
    bc->last_was_name = true;
    return 0;
}

static int on_resp_value(http_parser *p, const char *at, size_t len)
{
    struct bconn *bc = p->data;
    /* No control character but HTAB, no DEL (RFC 9110 §5.5):
     * http-parser lets a NUL through at a value's start. */
    if (!str_is_field_value(str_make(at, len)))
        return -1;
    struct hdrs *h = bc->in_trailers ? &bc->up.x->resp_trailers : &bc->up.x->resp;
    if (hdrs_add_value_part(h, str_make(at, len)) < 0)
        return -1;
    bc->last_was_name = false;
    return 0;
}

/* With h2gate's own key, the 101 must carry its Sec-WebSocket-Accept
 * (RFC 6455 §4.1), which is then dropped: the HTTP/2 client sent no key.
 * Without one, the HTTP/1.1 client checks the field itself. */
static bool ws_accept_ok(struct bconn *bc, struct hdrs *h)
{
    if (!bc->ws_key[0])
        return true;
    char want[XLATE_WS_ACCEPT_LEN + 1];
    size_t n = xlate_ws_accept(str_make(bc->ws_key, strlen(bc->ws_key)), want);
    long i = hdrs_find(h, STR_LIT("sec-websocket-accept"));
    if (i < 0 || !str_eq(str_trim(hdrs_value(h, (size_t)i)), str_make(want, n))) {
        log_info("backend " CFG_BE_FMT ": WebSocket 101 without the right Sec-WebSocket-Accept",
                 CFG_BE_ARGS(bc->be));
        return false;
    }
    hdrs_remove(h, (size_t)i);
    return true;
}

/* True when the 101's Upgrade names the protocol asked for. */
static bool ws_accepted(const struct hdrs *h, struct str protocol)
{
    for (size_t i = 0; i < h->num; i++) {
        if (str_eq(hdrs_name(h, i), STR_LIT("upgrade")) &&
            str_ieq(str_trim(hdrs_value(h, i)), protocol))
            return true;
    }
    return false;
}

/* A final status's head is in: the exchange takes it. content_length:
 * -1 for a chunked body, -2 when the head gave no length. */
static void resp_head_done(struct bconn *bc, int status, int64_t content_length)
{
    struct xchg *x = bc->up.x;
    x->status = status;
    if (content_length != -2)
        x->resp_content_length = content_length;
    upool_resp_head(x);
    x->resp_state = XRESP_HEAD;
    bc->in_trailers = true;
    xchg_notify(x);
}

static void drop_content_length(struct hdrs *h)
{
    for (size_t i = h->num; i-- > 0;) {
        if (str_eq(hdrs_name(h, i), STR_LIT("content-length")))
            hdrs_remove(h, i);
    }
}

static int on_resp_headers_complete(http_parser *p)
{
    struct bconn *bc = p->data;
    struct xchg *x = bc->up.x;
    hdrs_trim_values(&x->resp);
    /* http-parser takes any three digits; status codes are 100-599
     * (RFC 9110 §15). */
    if (p->status_code < 100 || p->status_code > 599)
        return -1;
    if (p->status_code == 101) {
        /* A switch we did not ask for, or not to what we asked. */
        if (!bc->websocket || !p->upgrade || !ws_accepted(&x->resp, xchg_upgrade(x)) ||
            !ws_accept_ok(bc, &x->resp))
            return -1;
        x->status = 101;
        upool_resp_head(x);
        x->resp_state = XRESP_HEAD;
        bc->switched = true;
        xchg_notify(x);
        return 1; /* no body: what follows is the WebSocket */
    }
    if (p->status_code / 100 == 1) {
        /* Interim: passed on (100 is h2gate's own answer to Expect), the
         * final response follows. */
        if (p->status_code != 100 && !xchg_head_sent(x)) {
            hdrs_reset(&x->interim);
            for (size_t i = 0; i < x->resp.num; i++)
                hdrs_add(&x->interim, hdrs_name(&x->resp, i), hdrs_value(&x->resp, i), false);
            x->interim_status = (int)p->status_code;
            xchg_notify(x);
        }
        return 1; /* no body, even with a Content-Length (RFC 9110 §8.6) */
    }
    if (p->status_code == 204 || p->status_code == 304) {
        /* No body, whatever the head says (RFC 9110 §6.4.1): a 304's
         * Content-Length is the representation's, and a 204 may have
         * none (§8.6), so it is not passed on. */
        if (p->status_code == 204)
            drop_content_length(&x->resp);
        resp_head_done(bc, p->status_code, -2);
        return 1;
    }
    int64_t cl = -2;
    if (p->flags & F_CHUNKED)
        cl = -1;
    else if (p->content_length > INT64_MAX && p->content_length != ULLONG_MAX)
        return -1; /* http-parser takes up to 2^64 - 2; none of it could be sent on */
    else if (p->content_length != ULLONG_MAX)
        cl = (int64_t)p->content_length;
    resp_head_done(bc, p->status_code, cl);
    return x->head_request ? 1 : 0;
}

static void resp_body(struct bconn *bc, const char *at, size_t len)
{
    struct xchg *x = bc->up.x;
    if (bc->in_place)
        bufq_commit_at(&x->resp_body, at, len);
    else
        bufq_append(&x->resp_body, at, len);
    if (bufq_len(&x->resp_body) > XCHG_BUF_HIGH && !bc->read_paused) {
        bc->read_paused = true;
        sock_read_stop(&bc->sock);
    }
    xchg_notify(x);
}

static int on_resp_body(http_parser *p, const char *at, size_t len)
{
    resp_body(p->data, at, len);
    return 0;
}

/* The final response ended. */
static void resp_done(struct bconn *bc, bool keep_alive)
{
    struct xchg *x = bc->up.x;
    x->resp_state = XRESP_END;
    /* Trailer fields that must not travel (hop, framing) are dropped. */
    struct hdrs *t = &x->resp_trailers;
    hdrs_trim_values(t);
    for (size_t i = 0; i < t->num;) {
        if (xlate_trailer_ok(hdrs_name(t, i))) {
            i++;
            continue;
        }
        hdrs_remove(t, i);
    }
    bc->keep_alive = keep_alive;
    xchg_notify(x);
}

static int on_resp_complete(http_parser *p)
{
    struct bconn *bc = p->data;
    if (bc->switched) {
        http_parser_pause(p, 1);
        return 0;
    }
    if (p->status_code / 100 == 1) {
        hdrs_reset(&bc->up.x->resp);
        return 0;
    }
    resp_done(bc, http_should_keep_alive(p) != 0);
    http_parser_pause(p, 1);
    return 0;
}

/* ---- the fast path (h1resp.h): a simple head, a body of known length ---- */

/* The body bytes of at[0..len) this response still wants; the response
 * ends with the last. Returns how many were taken. */
static size_t fast_body(struct bconn *bc, const char *at, size_t len)
{
    size_t take = len < bc->fast_left ? len : (size_t)bc->fast_left;
    if (take)
        resp_body(bc, at, take);
    bc->fast_left -= take;
    if (bc->fast_left == 0) {
        bc->fast = false;
        resp_done(bc, bc->keep_alive);
    }
    return take;
}

/* A head h1resp_simple accepted, at the start of buf[0..n), and the body
 * bytes after it. Returns the bytes taken, or 0 when bc failed (the
 * fields outgrow h2gate's limits, as http-parser's callbacks would). */
static size_t fast_head(struct bconn *bc, const char *buf, size_t n, const struct h1resp_head *h)
{
    struct xchg *x = bc->up.x;
    hdrs_reset(&x->resp);
    size_t bytes = 0;
    for (size_t i = 0; i < h->num_fields; i++)
        bytes += (size_t)h->f[i].name_len + h->f[i].value_len;
    if (hdrs_reserve(&x->resp, bytes, h->num_fields) < 0) {
        char why[128];
        snprintf(why, sizeof(why), "malformed response: %s",
                 http_errno_description(HPE_CB_header_field));
        fail(bc, 502, why, false);
        return 0;
    }
    for (size_t i = 0; i < h->num_fields; i++) {
        const struct h1resp_field *f = &h->f[i];
        hdrs_add(&x->resp, str_make(buf + f->name_off, f->name_len),
                 str_make(buf + f->value_off, f->value_len), true);
    }
    resp_head_done(bc, h->status, (int64_t)h->content_length);
    bc->keep_alive = h->keep_alive;
    bc->fast = true;
    bc->fast_left = h->content_length;
    return h->head_len + fast_body(bc, buf + h->head_len, n - h->head_len);
}

/* The response is complete: hand bc back to the pool or close it. */
static void finish(struct bconn *bc, bool clean)
{
    xchg_unlink(bc->up.x);
    /* A request that ended short of its Content-Length leaves the
     * backend waiting for body bytes: the next request would be read as
     * them. */
    if (clean && bc->keep_alive && bc->req_sent && bc->req_left == 0 && !bc->req_overrun &&
        !bc->write_failed && bufq_len(&bc->out) == 0)
        to_pool(bc);
    else
        kill_conn(bc);
}

/* The backend answered 101 to a WebSocket request: its socket becomes
 * the exchange's tunnel (never back to the pool), with rest, the bytes
 * read past the 101 head. */
static void switch_to_websocket(struct bconn *bc, const char *rest, size_t rest_len)
{
    struct xchg *x = bc->up.x;
    if (bufq_len(&bc->out)) {
        fail(bc, 502, "backend answered 101 before the request head was sent", false);
        return;
    }
    xchg_unlink(x);
    tun_adopt_websocket(x, &bc->sock, bc->be->host, bc->be->port, rest, rest_len);
    /* The socket lives on in the tunnel, which counts its close. */
    to_grave(bc);
}

/* The connect (and TLS handshake) of a fresh connection is over. */
static void on_bc_ready(struct sock *s, int err, const char *why, int sys_errno)
{
    struct bconn *bc = container_of(s, struct bconn, sock);
    upool_connect_done(bc->w, bc->be, err, why, bc->last_activity);
    if (err) {
        /* Only a failed connect means nothing reached the backend. */
        fail(bc, 502, why, sys_errno != 0);
        return;
    }
    bc->state = BC_BUSY;
    bc->last_activity = ev_now(bc->w->loop);
    arm_timer(bc, first_deadline(bc));
    sock_read_start(&bc->sock);
    if (!bc->up.x) {
        to_pool(bc);
        return;
    }
    pump(bc);
}

/* An idle connection has nothing to say: EOF or junk ends it. A TLS one
 * may get session tickets, which SSL_read takes in. */
static void idle_readable(struct bconn *bc)
{
    char c;
    if (bc->sock.ssl) {
        if (sock_read(&bc->sock, &c, 1) == 0)
            return;
    } else if (recv(bc->sock.fd, &c, 1, MSG_PEEK) < 0 && errno == EAGAIN) {
        return;
    }
    upool_h1_remove(bc);
    kill_conn(bc);
}

/* Where the next read of a response goes. Once the head is in, body
 * bytes are read straight into the tail of the exchange's response body
 * and on_resp_body commits them where they lie (chunk framing between
 * them is squeezed out by bufq_commit_at), so the block the backend's
 * bytes were read into is the block a DATA frame carries. The head, and
 * a read the nearly full tail block would make small, go through the
 * worker's scratch buffer and are copied. */
#define IN_PLACE_MIN 4096

static char *read_target(struct bconn *bc, size_t *want)
{
    struct xchg *x = bc->up.x;
    bc->in_place = false;
    if (x && x->resp_state == XRESP_HEAD && !bc->switched) {
        char *dst = bufq_reserve(&x->resp_body, want);
        if (*want >= IN_PLACE_MIN) {
            bc->in_place = true;
            return dst;
        }
        bufq_commit(&x->resp_body, 0);
    }
    *want = BUF_RECORD_SIZE;
    return bc->w->scratch;
}

/* After an in-place read: a block reserved for it that kept no byte (the
 * read got nothing, or only chunk framing) leaves the response body. */
static void drop_unread(struct bconn *bc)
{
    bufq_commit(&bc->up.x->resp_body, 0);
    bc->in_place = false;
}

/* http-parser over buf[0..n): false when the response ended (bc is
 * finished or switched) or failed. */
static bool parse_slow(struct bconn *bc, const char *buf, size_t n)
{
    size_t parsed = http_parser_execute(&bc->parser, &resp_settings, buf, n);
    if (bc->in_place)
        drop_unread(bc);
    enum http_errno e = HTTP_PARSER_ERRNO(&bc->parser);
    if (e == HPE_PAUSED && bc->switched) {
        switch_to_websocket(bc, buf + parsed, n - parsed);
        return false;
    }
    if (e == HPE_PAUSED) {
        finish(bc, parsed == n);
        return false;
    }
    if (e != HPE_OK) {
        char why[128];
        snprintf(why, sizeof(why), "malformed response: %s", http_errno_description(e));
        fail(bc, 502, why, false);
        return false;
    }
    return true;
}

/* The fast path over buf[0..n) (bc->fast, or h the head it found):
 * false when the response ended or failed. */
static bool parse_fast(struct bconn *bc, const char *buf, size_t n, const struct h1resp_head *h)
{
    size_t took = bc->fast ? fast_body(bc, buf, n) : fast_head(bc, buf, n, h);
    if (took == 0)
        return false; /* failed */
    if (bc->in_place)
        drop_unread(bc);
    if (bc->fast)
        return true;
    finish(bc, took == n);
    return false;
}

static void on_bc_readable(struct sock *s)
{
    struct bconn *bc = container_of(s, struct bconn, sock);
    struct worker *w = bc->w;
    struct ev_loop *loop = w->loop;
    if (bc->state == BC_IDLE) {
        idle_readable(bc);
        return;
    }
    for (int i = 0; i < READ_BATCH && bc->state == BC_BUSY && !bc->read_paused; i++) {
        size_t want;
        char *buf = read_target(bc, &want);
        ssize_t n = sock_read(s, buf, want);
        if (bc->in_place && n <= 0)
            drop_unread(bc);
        if (n == 0)
            return;
        if (n < 0 && n != H2G_ERR_EOF) {
            fail(bc, 502, io_why(n), false);
            return;
        }
        bc->last_activity = ev_now(loop);
        if (n == H2G_ERR_EOF) {
            /* EOF ends a close-delimited body; anything else is cut short. */
            if (!bc->fast)
                http_parser_execute(&bc->parser, &resp_settings, NULL, 0);
            if (bc->up.x && xchg_resp_ended(bc->up.x)) {
                finish(bc, false);
            } else {
                fail(bc, 502, "backend closed the connection before the response ended",
                     false);
            }
            return;
        }
        if (!bc->up.x) {
            kill_conn(bc);
            return;
        }
        bool first = !bc->got_bytes;
        bc->got_bytes = true;
        stats_bytes(w->stats, STATS_SIDE_BACKEND, STATS_DIR_IN, (uint64_t)n);
        struct h1resp_head h;
        bool fast = bc->fast || (first && !bc->websocket && !bc->up.x->head_request &&
                                 h1resp_simple(buf, (size_t)n, &h));
        if (!(fast ? parse_fast(bc, buf, (size_t)n, &h) : parse_slow(bc, buf, (size_t)n)))
            return;
        if ((size_t)n < want && !s->ssl)
            return;
    }
    if (bc->state == BC_BUSY && !bc->read_paused && sock_read_pending(s))
        ev_feed_event(loop, &s->rev, EV_READ);
}


static void on_bc_writable(struct sock *s)
{
    struct bconn *bc = container_of(s, struct bconn, sock);
    if (do_write(bc) == 0)
        pump(bc);
}

static void on_bc_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct bconn *bc = t->data;
    double now = ev_now(loop);
    switch (bc->state) {
    case BC_CONNECTING:
        stats_backend_timeout(bc->w->stats, (long)bc->be->index);
        fail(bc, 504, "connect timed out", false);
        return;
    case BC_IDLE: {
        double left = bc->last_activity + bc->w->cfg->backend_keep_alive_timeout - now;
        if (left > 0) {
            arm_timer(bc, left);
            return;
        }
        upool_h1_remove(bc);
        kill_conn(bc);
        return;
    }
    case BC_BUSY: {
        /* Paused for a slow client: the backend is not the one late. */
        if (bc->read_paused)
            bc->last_activity = now;
        /* Bytes waiting to go out are held to the write timeout. */
        bool writing = bufq_len(&bc->out) > 0;
        double rt = upool_read_timeout(bc->w, bc->be), wt = upool_write_timeout(bc->w, bc->be);
        double timeout = writing && wt < rt ? wt : rt;
        double left = bc->last_activity + timeout - now;
        if (left > 0) {
            arm_timer(bc, left);
            return;
        }
        stats_backend_timeout(bc->w->stats, (long)bc->be->index);
        fail(bc, 504, writing ? "write timed out" : "read timed out", false);
        return;
    }
    case BC_DEAD:
        return;
    }
}

void bconn_reap(struct worker *w)
{
    while (w->bc_grave) {
        struct bconn *bc = w->bc_grave;
        w->bc_grave = bc->next;
        size_t slot = bc->be->index;
        bufq_cleanup(&bc->out);
        free(bc);
        upool_unhold(w, slot); /* held since upool_connect */
    }
    /* After the graves: what failed here is counted closed. */
    upool_h1_dispatch(w);
}

static void __attribute__((constructor)) init_resp_settings(void)
{
    resp_settings.on_message_begin = on_resp_begin;
    resp_settings.on_header_field = on_resp_field;
    resp_settings.on_header_value = on_resp_value;
    resp_settings.on_headers_complete = on_resp_headers_complete;
    resp_settings.on_body = on_resp_body;
    resp_settings.on_message_complete = on_resp_complete;
}
