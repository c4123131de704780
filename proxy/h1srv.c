#include "proxy/h1srv.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/auth.h"
#include "proxy/cconn.h"
#include "proxy/gen.h"
#include "proxy/hdrs.h"
#include "proxy/sock.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

static http_parser_settings settings;

static void h1_recv(struct cconn *cc, const char *p, size_t len);
static bool h1_eof(struct cconn *cc);
static void h1_news(struct cconn *cc, struct xchg *x);
static bool h1_produce(struct cconn *cc);
static void h1_drained(struct cconn *cc);
static bool h1_shutdown(struct cconn *cc, enum cconn_shut how);
static bool h1_may_read(struct cconn *cc);
static double h1_timeout(struct cconn *cc, double now);
static void h1_cleanup(struct cconn *cc);
static void xc_consumed(struct xchg *x, size_t n);
static void xc_send_continue(struct xchg *x);

static const struct cconn_ops h1_ops = {
    .recv = h1_recv,
    .eof = h1_eof,
    .news = h1_news,
    .produce = h1_produce,
    .drained = h1_drained,
    .shutdown = h1_shutdown,
    .may_read = h1_may_read,
    .timeout = h1_timeout,
    .cleanup = h1_cleanup,
};

static const struct xchg_client_ops h1_xchg_ops = {
    .wake = cconn_wake,
    .consumed = xc_consumed,
    .send_continue = xc_send_continue,
};

static void process(struct cconn *cc);

/* ---- http-parser callbacks: they only record ---- */

static struct xchg *h1_x(http_parser *p)
{
    struct cconn *cc = p->data;
    return cc->xchgs;
}

static int on_h1_url(http_parser *p, const char *at, size_t len)
{
    struct xchg *x = h1_x(p);
    if (x->i_path < 0) {
        if (hdrs_add(&x->req, STR_LIT(":path"), STR_NULL, false) < 0)
            return -1;
        x->i_path = (long)x->req.num - 1;
    }
    /* The URL arrives before any field, so :path is the last field. */
    return hdrs_add_value_part(&x->req, str_make(at, len)) < 0 ? -1 : 0;
}

static int on_h1_field(http_parser *p, const char *at, size_t len)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    if (xchg_req_head_done(x)) {
        /* A chunked body's trailer section. */
        if (hdrs_add_name_part(&x->req_trailers, str_make(at, len), cc->p.h1.last_was_name) < 0)
            return -1;
        cc->p.h1.last_was_name = true;
        return 0;
    }
    /* The request line is parsed: its version is known. */
    x->proto = p->http_minor == 0 ? XCHG_HTTP10 : XCHG_HTTP11;
    if (hdrs_add_name_part(&x->req, str_make(at, len), cc->p.h1.last_was_name) < 0) {
        x->bad_status = 431;
        return -1;
    }
    cc->p.h1.last_was_name = true;
    return 0;
}

static int on_h1_value(http_parser *p, const char *at, size_t len)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    if (xchg_req_head_done(x)) {
        if (hdrs_add_value_part(&x->req_trailers, str_make(at, len)) < 0)
            return -1;
        cc->p.h1.last_was_name = false;
        return 0;
    }
    if (hdrs_add_value_part(&x->req, str_make(at, len)) < 0) {
        x->bad_status = 431;
        return -1;
    }
    cc->p.h1.last_was_name = false;
    return 0;
}

/* Upgrade: websocket makes a GET a WebSocket request (refused with 400
 * when it has a body: simplest, and never a desynchronised backend), and so
 * does a protocol --allow-upgrade names (x->upgrade). Another upgrade is
 * served as a plain request (Upgrade and Connection are hop fields, never
 * forwarded); http-parser stops after it either way, and h->upgrade_http
 * says the connection goes on as HTTP/1.1 if no switch. */
static void mark_upgrade(struct cconn *cc, struct xchg *x, http_parser *p, bool has_body)
{
    cc->p.h1.upgrade_http = false;
    if (!p->upgrade || x->is_connect || p->http_minor == 0)
        return;
    /* RFC 9110 §7.8: the client sends nothing of the new protocol before
     * a 101, so what follows is HTTP/1.1 unless the request switches
     * (curl --http2 and Java's HttpClient ask for h2c on cleartext). */
    cc->p.h1.upgrade_http = true;
    enum xlate_upgrade kind = xlate_req_upgrade(&x->req);
    if (kind == XLATE_UPGRADE_OTHER) {
        long i = hdrs_find(&x->req, STR_LIT("upgrade"));
        struct str tok = cfg_upgrade_allowed(cc->w->cfg, hdrs_value(&x->req, (size_t)i));
        if (tok.len == 0)
            return;
        x->upgrade = tok.p;
        x->upgrade_len = tok.len;
    } else if (kind != XLATE_UPGRADE_WEBSOCKET || p->method != HTTP_GET) {
        /* A WebSocket opens with a GET (RFC 6455 §4.1); another method's
         * request is served as it is, never turned into one. */
        return;
    }
    x->websocket = !has_body;
    if (has_body) {
        x->bad_status = 400;
        stats_ws_refused(cc->w->stats);
    }
}

static int on_h1_headers_complete(http_parser *p)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    struct hdrs *h = &x->req;
    hdrs_trim_values(h);
    x->proto = p->http_minor == 0 ? XCHG_HTTP10 : XCHG_HTTP11;
    /* HTTP/0.9 (http-parser takes a request line with no version, fields
     * after it and all) and 2.0 and up in HTTP/1.1's syntax: 505 (RFC 9110
     * §15.6.6), never forwarded as HTTP/1.1. A higher 1.x is 1.1 (§2.5). */
    bool bad_version = p->http_major != 1;
    struct str m = cc->p.h1.method_len ? str_make(cc->p.h1.method, cc->p.h1.method_len)
                                       : str_cstr(http_method_str((enum http_method)p->method));
    if (hdrs_add(h, STR_LIT(":method"), m, false) < 0)
        return -1;
    x->i_method = (long)h->num - 1;
    x->head_request = p->method == HTTP_HEAD;
    x->is_connect = p->method == HTTP_CONNECT;
    long host = hdrs_find(h, STR_LIT("host"));
    if (host >= 0) {
        struct str hv = hdrs_value(h, (size_t)host);
        /* hdrs_add may move h->buf: copy the view first. */
        char *tmp = xstrndup(hv.p, hv.len);
        int r = hdrs_add(h, STR_LIT(":authority"), str_make(tmp, hv.len), false);
        free(tmp);
        if (r < 0)
            return -1;
        x->i_authority = (long)h->num - 1;
    } else if (p->http_minor >= 1) {
        x->bad_status = 400; /* RFC 9112 §3.2: Host is required in 1.1 */
    }
    if (bad_version)
        x->bad_status = 505;
    for (size_t i = 0; i < h->num; i++) {
        if (str_eq(hdrs_name(h, i), STR_LIT("expect"))) {
            if (str_ieq(str_trim(hdrs_value(h, i)), STR_LIT("100-continue")))
                x->expect_continue = true;
        }
    }
    if (p->flags & F_CHUNKED)
        x->req_content_length = -1;
    else if (p->content_length > INT64_MAX && p->content_length != ULLONG_MAX)
        x->bad_status = 400; /* http-parser takes up to 2^64 - 2: no body is that long */
    else if (p->content_length != ULLONG_MAX)
        x->req_content_length = (int64_t)p->content_length;
    else
        x->req_content_length = 0;
    uint64_t max = cc->w->cfg->frontend_max_requests;
    cc->num_requests++;
    cc->p.h1.keep_alive = http_should_keep_alive(p) && !cc->w->shutting_down &&
                          !(max && cc->num_requests >= max) && !bad_version;
    bool has_body = (p->flags & F_CHUNKED) || (p->content_length != ULLONG_MAX &&
                                               p->content_length > 0);
    mark_upgrade(cc, x, p, has_body);
    /* A CONNECT's "body" is the tunnel, a WebSocket's the WebSocket: each
     * ends when the client closes. */
    x->req_state = !has_body && !x->is_connect && !x->websocket ? XREQ_END : XREQ_BODY;
    xchg_start(x);
    return 0;
}

static int on_h1_body(http_parser *p, const char *at, size_t len)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    if (x->error_status || xchg_out_done(x))
        return 0; /* discarded: the connection closes after the answer */
    bufq_append(&x->req_body, at, len);
    xchg_req_progress(x);
    if (bufq_len(&x->req_body) > XCHG_BUF_HIGH)
        http_parser_pause(p, 1);
    return 0;
}

static int on_h1_message_complete(http_parser *p)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    cc->p.h1.in_message = false;
    hdrs_trim_values(&x->req_trailers);
    if (!xchg_req_ended(x) && !x->is_connect && !x->websocket) {
        x->req_state = XREQ_END;
        xchg_req_progress(x);
    }
    /* One request at a time: the next pipelined one waits for this answer. */
    http_parser_pause(p, 1);
    return 0;
}

static void reject(struct cconn *cc, int status, const char *why)
{
    log_info("c%" PRIu64 " HTTP/1.1 request rejected with %d: %s", cc->xc.facts.conn_id, status, why);
    char buf[64];
    const char *body;
    size_t n;
    const char *ctype = gen_error_body(cc->gen->g, status, buf, &body, &n);
    struct xlate_resp r = { .status = status, .content_length = (int64_t)n, .keep_alive = false,
                            .content_type = ctype };
    xlate_resp_config(&r, cc->w->cfg, false);
    xlate_resp_h1(&cc->out, &r);
    bufq_append(&cc->out, body, n);
    cc->closing = true;
    cconn_pause_read(cc);
}

/* http-parser stopped at the end of a CONNECT or Upgrade request (the
 * flag is set from the head on, but an Upgrade request with a body is
 * parsed to the body's end like any other: nghttpx CVE-2026-58055, ending
 * it at the head desynchronised the backend connection, which expected
 * the framed body). Returns true when process() stops there. */
static bool upgrade_ended(struct cconn *cc, struct xchg *x, enum http_errno e)
{
    struct h1srv *h = &cc->p.h1;
    if (!h->parser.upgrade || h->in_message || (e != HPE_OK && e != HPE_PAUSED))
        return false;
    http_parser_pause(&h->parser, 0);
    if (h->upgrade_http) {
        /* What follows waits in cc->in for the answer: a WebSocket after
         * a 101, else the next request. */
        return true;
    }
    /* CONNECT (or an HTTP/1.0 Upgrade): whatever follows is not HTTP. */
    h->keep_alive = false;
    if (x->is_connect && !x->error_status) {
        h->tunnel = true;
        bufq_append(&x->req_body, cc->in, cc->in_len);
        xchg_req_progress(x);
    } else if (!xchg_req_ended(x)) {
        x->req_state = XREQ_END;
        xchg_req_progress(x);
    }
    cconn_in_consume(cc, cc->in_len);
    return true;
}

/* Whether http-parser knows method m (it refuses any other token). */
static bool known_method(struct str m)
{
    static const char *const known[] = {
#define XX(num, name, string) #string,
        HTTP_METHOD_MAP(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (str_eq(m, str_cstr(known[i])))
            return true;
    }
    return false;
}

/* A method is any token (RFC 9110 §9.1: QUERY, a WebDAV method
 * http-parser lacks, a site's own), but http-parser knows a fixed list
 * and refuses the rest. So the head (whole in cc->in, checked by
 * xlate_h1_head_scan) gets "PUT" in place of a token it does not know,
 * up to H1SRV_METHOD_MAX bytes long (a shorter one makes room first): to
 * http-parser PUT means nothing special (the body is framed as any
 * request's, no HEAD, no CONNECT), and on_h1_headers_complete restores
 * the token as the method. */
static void swap_method(struct cconn *cc)
{
    struct h1srv *h = &cc->p.h1;
    h->method_len = 0;
    size_t max = cc->in_len < H1SRV_METHOD_MAX + 1 ? cc->in_len : H1SRV_METHOD_MAX + 1;
    const char *sp = memchr(cc->in, ' ', max);
    if (!sp)
        return;
    size_t len = (size_t)(sp - cc->in);
    if (len == 0 || !str_is_token(str_make(cc->in, len)) || known_method(str_make(cc->in, len)))
        return;
    memcpy(h->method, cc->in, len);
    h->method_len = (uint8_t)len;
    size_t old_len = cc->in_len;
    if (len < 3)
        cconn_in_append(cc, "  ", 3 - len); /* room: cc->in may move */
    memmove(cc->in + 3, cc->in + len, old_len - len);
    memcpy(cc->in, "PUT", 3);
    cc->in_len = old_len - len + 3;
}

/* The next request's head is in cc->in (or not yet, or is refused):
 * its exchange, with the parser set for it, or NULL. */
static struct xchg *begin_request(struct cconn *cc)
{
    const struct config *cfg = cc->w->cfg;
    size_t head_len = 0;
    int r = xlate_h1_head_scan(cc->in, cc->in_len, true, &head_len);
    if (r < 0) {
        reject(cc, 400, "malformed request head");
        return NULL;
    }
    if (r == 0) {
        if (cc->in_len > cfg->request_header_field_buffer)
            reject(cc, 431, "request head too large");
        return NULL;
    }
    if (head_len > cfg->request_header_field_buffer) {
        reject(cc, 431, "request head too large");
        return NULL;
    }
    swap_method(cc);
    struct xchg *x = cconn_xchg_new(cc, 0, XCHG_HTTP11);
    cc->p.h1.head_start = 0;
    http_parser_init(&cc->p.h1.parser, HTTP_REQUEST);
    cc->p.h1.parser.data = cc;
    cc->p.h1.last_was_name = false;
    cc->p.h1.in_message = true;
    return x;
}

/* http-parser refused the request (error e). The exchange may have
 * started (its head was complete) and must go now: a request the client
 * gets 400 for never reaches the backend, and a body cut by a bad chunk
 * leaves the backend connection unused again. Once an answer is on its
 * way, the connection is cut instead. */
static void parse_failed(struct cconn *cc, enum http_errno e)
{
    struct xchg *x = cc->xchgs;
    if (x && xchg_head_sent(x)) {
        log_info("c%" PRIu64 " HTTP/1.1 request body malformed: %s", cc->xc.facts.conn_id,
                 http_errno_description(e));
        cconn_close(cc, "request body malformed");
        return;
    }
    int status = x && x->bad_status == 431 ? 431 : 400;
    if (x)
        cconn_xchg_free(cc, x);
    if (status == 431)
        reject(cc, 431, "request header fields too large");
    else
        reject(cc, 400, http_errno_description(e));
}

/* Parses buffered input: at most one request at a time. */
static void process(struct cconn *cc)
{
    while (cc->in_len && !cc->closing && !cc->dead) {
        struct xchg *x = cc->xchgs;
        if (x && !cc->p.h1.in_message)
            return; /* previous request still being answered */
        if (!x && !(x = begin_request(cc)))
            return;
        size_t n = http_parser_execute(&cc->p.h1.parser, &settings, cc->in, cc->in_len);
        enum http_errno e = HTTP_PARSER_ERRNO(&cc->p.h1.parser);
        cconn_in_consume(cc, n);
        if (upgrade_ended(cc, x, e))
            return;
        if (e == HPE_PAUSED) {
            http_parser_pause(&cc->p.h1.parser, 0);
            if (cc->p.h1.in_message) {
                /* Body over the high-water mark: wait for the backend. */
                cconn_pause_read(cc);
                return;
            }
            continue;
        }
        if (e != HPE_OK) {
            parse_failed(cc, e);
            return;
        }
    }
}

/* ---- the response ---- */

/* A WebSocket request answered with anything but 101 is a complete
 * request (it had no body): the connection goes on as HTTP/1.1. */
static void no_switch(struct cconn *cc, struct xchg *x)
{
    if (!x->websocket || xchg_req_ended(x))
        return;
    x->req_state = XREQ_END;
    stats_ws_refused(cc->w->stats);
}

/* The backend's 101: from now on the connection is the WebSocket's pipe,
 * like a CONNECT tunnel's. Bytes the client sent after its request head
 * are the first WebSocket bytes. */
static void send_switch(struct cconn *cc, struct xchg *x)
{
    struct h1srv *h = &cc->p.h1;
    struct xlate_resp r = { .status = 101, .hdrs = &x->resp, .websocket = true,
                            .upgrade = xchg_upgrade(x) };
    if (!cc->w->cfg->no_via)
        r.backend_proto = "1.1";
    xlate_resp_config(&r, cc->w->cfg, false);
    xlate_resp_h1(&cc->out, &r);
    x->sent_status = 101;
    h->keep_alive = false;
    h->tunnel = true;
    bufq_append(&x->req_body, cc->in, cc->in_len);
    cconn_in_consume(cc, cc->in_len);
    xchg_req_progress(x);
    cconn_mark(cc); /* a reader paused by the cap on cc->in may go on */
}

/* The response is h2gate's own error answer. */
static void send_error(struct cconn *cc, struct xchg *x)
{
    struct h1srv *h = &cc->p.h1;
    char buf[64];
    const char *body;
    size_t n;
    const char *ctype = gen_error_body(x->gen->g, x->error_status, buf, &body, &n);
    no_switch(cc, x);
    /* An unread request body makes the connection unusable. */
    if (!xchg_req_ended(x) || x->is_connect)
        h->keep_alive = false;
    struct xlate_resp r = { .status = x->error_status,
                            .content_length = (int64_t)n,
                            .keep_alive = h->keep_alive,
                            .http10 = h->parser.http_minor == 0,
                            .proxy_status = x->proxy_status,
                            .auth_challenge = x->auth_challenge ? auth_challenge() : NULL,
                            .content_type = ctype,
                            .location = x->location };
    xlate_resp_config(&r, cc->w->cfg, false);
    xlate_resp_h1(&cc->out, &r);
    x->sent_status = x->error_status;
    x->head_sent_at = ev_now(cc->w->loop);
    if (!x->head_request) {
        bufq_append(&cc->out, body, n);
        x->resp_bytes += n;
    }
    bufq_cleanup(&x->resp_body);
    x->out_state = XOUT_DONE;
}

/* A backend's 1xx: HTTP/1.0 clients cannot take one. */
static void send_interim(struct cconn *cc, struct xchg *x)
{
    if (cc->p.h1.parser.http_minor >= 1)
        xlate_interim_h1(&cc->out, x->interim_status, &x->interim);
    x->interim_status = 0;
}

/* The backend's head, or the 200 that opens a tunnel. */
static void send_head(struct cconn *cc, struct xchg *x)
{
    struct h1srv *h = &cc->p.h1;
    const struct config *cfg = cc->w->cfg;
    x->head_sent_at = ev_now(cc->w->loop);
    x->out_state = XOUT_HEAD;
    if (x->websocket && x->status == 101) {
        send_switch(cc, x); /* logged at its end, with its bytes */
        return;
    }
    no_switch(cc, x);
    if (cfg->accesslog_write_early)
        xchg_log_access(x);
    if (x->is_connect) {
        bufq_append(&cc->out, "HTTP/1.1 200 Connection Established\r\n\r\n", 39);
        x->sent_status = 200;
        h->keep_alive = false;
        return;
    }
    bool bodyless = xlate_resp_bodyless(x->status, x->head_request);
    struct xlate_resp r = {
        .status = x->status,
        .hdrs = &x->resp,
        .content_length = x->resp_content_length,
    };
    if (!cfg->no_via)
        r.backend_proto = x->backend && x->backend->proto == CFG_PROTO_H2
                              ? "2"
                              : "1.1";
    if (bodyless) {
        if (!x->head_request)
            r.content_length = -1;
    } else if (r.content_length < 0) {
        if (h->parser.http_minor >= 1)
            r.chunked = x->resp_chunked = true;
        else
            h->keep_alive = false; /* the close delimits the body */
    }
    if (!xchg_req_ended(x))
        h->keep_alive = false;
    r.keep_alive = h->keep_alive;
    r.http10 = h->parser.http_minor == 0;
    xlate_resp_config(&r, cc->w->cfg, false);
    xlate_resp_h1(&cc->out, &r);
    x->sent_status = x->status;
    if (bodyless) {
        bufq_cleanup(&x->resp_body);
        x->resp_state = XRESP_END;
    }
}

/* Moves the buffered body to out (the caller checked out has room). */
static void send_body(struct cconn *cc, struct xchg *x)
{
    size_t len = bufq_len(&x->resp_body);
    if (len == 0)
        return;
    if (x->resp_chunked)
        bufq_appendf(&cc->out, "%zx\r\n", len);
    x->resp_bytes += len;
    bufq_move(&cc->out, &x->resp_body);
    if (x->resp_chunked)
        bufq_append(&cc->out, "\r\n", 2);
    xchg_resp_drained(x);
}

/* The body is all out: the last chunk and the trailers when chunked. */
static void send_end(struct cconn *cc, struct xchg *x)
{
    if (x->resp_chunked)
        xlate_last_chunk_h1(&cc->out, &x->resp_trailers);
    x->out_state = XOUT_DONE;
}

static void h1_news(struct cconn *cc, struct xchg *x)
{
    if (xchg_out_done(x))
        return;
    if (!xchg_head_sent(x)) {
        if (x->error_status) {
            send_error(cc, x);
            return;
        }
        if (x->interim_status)
            send_interim(cc, x);
        if (!xchg_head_ready(x))
            return;
        send_head(cc, x);
    }
    if (x->error_status) {
        /* The head went out: cut the connection so the client sees the
         * response is incomplete. */
        cc->p.h1.keep_alive = false;
        cc->closing = true;
        x->out_state = XOUT_DONE;
        return;
    }
    if (bufq_len(&cc->out) < XCHG_BUF_HIGH)
        send_body(cc, x);
    if (xchg_resp_ended(x) && bufq_len(&x->resp_body) == 0)
        send_end(cc, x);
}

/* When a connection waiting for a request is closed: the first request's
 * first bytes are due within the read timeout from the accept (as before
 * the protocol was known, or the TLS handshake), later ones within the
 * keep-alive timeout. INFINITY: never. */
static double idle_deadline(const struct cconn *cc)
{
    const struct config *cfg = cc->w->cfg;
    const struct h1srv *h = &cc->p.h1;
    double to = h->served ? cfg->frontend_keep_alive_timeout : cfg->frontend_read_timeout;
    if (to <= 0)
        return INFINITY;
    return (h->served ? h->idle_since : cc->accepted_at) + to;
}

/* True while the request's body is being read: a WebSocket request has
 * none to read (the client waits for the answer, the backend's timers
 * run), a tunnel's is not timed by the read timeout. */
static bool body_due(const struct cconn *cc, const struct xchg *x)
{
    return !xchg_req_ended(x) && !(x->websocket && !cc->p.h1.in_message);
}

/* Where the connection is between requests, and the deadline that starts
 * there (see h1_timeout). */
static void phase(struct cconn *cc)
{
    struct h1srv *h = &cc->p.h1;
    const struct config *cfg = cc->w->cfg;
    double now = ev_now(cc->w->loop);
    struct xchg *x = cc->xchgs;
    if (x || h->tunnel) {
        h->head_start = h->idle_since = 0;
        if (x && body_due(cc, x))
            cconn_deadline(cc, cfg->frontend_read_timeout);
        return;
    }
    if (cc->in_len) {
        h->idle_since = 0;
        if (h->head_start == 0) {
            h->head_start = now;
            cconn_deadline(cc, cfg->frontend_read_timeout);
        }
        return;
    }
    h->head_start = 0;
    if (h->idle_since == 0) {
        h->idle_since = now;
        cconn_deadline(cc, idle_deadline(cc) - now);
    }
}

/* The current exchange is answered: free it, then close or go on with the
 * next pipelined request. */
static void finish(struct cconn *cc)
{
    struct h1srv *h = &cc->p.h1;
    struct xchg *x = cc->xchgs;
    if (!x || !xchg_out_done(x) || bufq_len(&cc->out) > XCHG_BUF_HIGH)
        return;
    bool req_complete = xchg_req_ended(x) && !h->in_message;
    cconn_xchg_free(cc, x);
    h->served = true;
    if (!h->keep_alive || !req_complete || cc->w->shutting_down) {
        cc->closing = true;
        return;
    }
    if (cc->in_len)
        process(cc);
    if (cc->eof && !cc->xchgs && cc->in_len == 0)
        cc->closing = true;
    else
        cconn_resume_read(cc);
    phase(cc);
}

/* ---- the glue ---- */

void h1srv_start(struct cconn *cc)
{
    memset(&cc->p.h1, 0, sizeof(cc->p.h1));
    cconn_set_proto(cc, CC_H1, &h1_ops, &h1_xchg_ops);
    phase(cc);
}

static void h1_recv(struct cconn *cc, const char *p, size_t len)
{
    if (cc->p.h1.tunnel) {
        struct xchg *x = cc->xchgs;
        bufq_append(&x->req_body, p, len);
        xchg_req_progress(x);
        if (bufq_len(&x->req_body) > XCHG_BUF_HIGH)
            cconn_pause_read(cc);
        return;
    }
    cconn_in_append(cc, p, len);
    process(cc);
    /* Pipelined requests wait while one is answered: bounded. */
    if (cc->in_len > cc->w->cfg->request_header_field_buffer)
        cconn_pause_read(cc);
    phase(cc);
}

/* Half-close after a request: answer it, then close. A tunnel forwards
 * what it has, then closes both sides. */
static bool h1_eof(struct cconn *cc)
{
    struct xchg *x = cc->xchgs;
    if (!x)
        return true;
    if (!cc->p.h1.tunnel && !xchg_req_ended(x)) {
        /* Gone in the middle of its request: nothing will be answered. */
        log_info("c%" PRIu64 " client closed during its request", cc->xc.facts.conn_id);
        return true;
    }
    cc->eof = true;
    cconn_pause_read(cc);
    if (cc->p.h1.tunnel && !xchg_req_ended(x)) {
        x->req_state = XREQ_END;
        xchg_req_progress(x);
    }
    return false;
}

/* Body bytes move when there is room in out, not only on news: a paused
 * backend sends no news until we drain its buffer. */
static bool h1_produce(struct cconn *cc)
{
    struct xchg *x = cc->xchgs;
    if (x)
        h1_news(cc, x);
    finish(cc);
    x = cc->xchgs;
    return x && xchg_head_sent(x) && !xchg_out_done(x) && bufq_len(&x->resp_body) > 0 &&
           bufq_len(&cc->out) >= XCHG_BUF_HIGH;
}

/* A cleartext tunnel whose 200 is on the wire and which has nothing
 * buffered either way: let the kernel move the bytes. */
static void try_splice(struct cconn *cc)
{
    struct xchg *x = cc->xchgs;
    if (!x || !xchg_head_sent(x) || xchg_req_ended(x) || xchg_resp_ended(x) || bufq_len(&x->req_body) ||
        bufq_len(&x->resp_body) || cc->in_len || bufq_len(&cc->out) || cconn_rate_limited(cc))
        return;
    if (!xchg_splice(x, cc->sock.fd))
        return;
    cc->p.h1.spliced = true;
    cconn_pause_read(cc);
    sock_arm_write(&cc->sock, false);
}

static void h1_drained(struct cconn *cc)
{
    if (cc->p.h1.tunnel && !cc->p.h1.spliced && !cc->sock.ssl)
        try_splice(cc);
    if (cc->xchgs && xchg_out_done(cc->xchgs)) {
        finish(cc);
        if (bufq_len(&cc->out)) {
            cconn_mark(cc);
            return;
        }
    }
    if (cc->closing)
        cconn_linger(cc);
}

static bool h1_shutdown(struct cconn *cc, enum cconn_shut how)
{
    if (how == CC_SHUT_NOTICE && !cc->xchgs)
        return false;
    cc->p.h1.keep_alive = false; /* close after the current response */
    return true;
}

static bool h1_may_read(struct cconn *cc)
{
    struct h1srv *h = &cc->p.h1;
    if (h->spliced)
        return false;
    struct xchg *x = cc->xchgs;
    if (x && bufq_len(&x->req_body) > XCHG_BUF_LOW)
        return false;
    if (cc->in_len && !h->tunnel) {
        /* Parse what is buffered first: it may hold the rest of the
         * paused body, and only parsing shrinks it. */
        cc->read_paused = false;
        process(cc);
        if (cc->read_paused || cc->closing || cc->dead)
            return false;
        cc->read_paused = true;
    }
    /* Pipelined requests beyond the cap wait for the current answer. */
    return cc->in_len <= cc->w->cfg->request_header_field_buffer;
}

/* A request head is bounded from its first byte, a request body by the
 * gap between reads (while h2gate reads), the wait between requests by
 * the keep-alive timeout. A tunnel has its own idle timeout; a request
 * waiting for its backend is timed by the backend's timers; an answer
 * that does not go out, by the write timeout (cconn.c). */
static double h1_timeout(struct cconn *cc, double now)
{
    struct h1srv *h = &cc->p.h1;
    const struct config *cfg = cc->w->cfg;
    double read_to = cfg->frontend_read_timeout;
    struct xchg *x = cc->xchgs;
    if (h->tunnel || cc->closing)
        return INFINITY;
    double at = INFINITY;
    if (x) {
        if (body_due(cc, x) && !cc->read_paused && !cc->eof && read_to > 0)
            at = cc->last_read + read_to;
        if (at <= now)
            xchg_cancel(x, 408, "request body timeout");
    } else if (h->head_start > 0 && read_to > 0) {
        at = h->head_start + read_to;
        if (at <= now)
            reject(cc, 408, "request head timeout");
    } else if (h->idle_since > 0) {
        at = idle_deadline(cc);
        if (at <= now && bufq_len(&cc->out)) {
            /* The last answer is still going out (the write timeout
             * watches that): idle only from now. */
            h->idle_since = now;
            at = idle_deadline(cc);
        } else if (at <= now) {
            cconn_close(cc, h->served ? "keep-alive timeout" : "read timeout");
        }
    }
    return at <= now ? INFINITY : at;
}

static void h1_cleanup(struct cconn *cc)
{
    while (cc->xchgs)
        cconn_xchg_free(cc, cc->xchgs);
}

static void xc_consumed(struct xchg *x, size_t n)
{
    (void)n;
    /* The flush pass resumes a paused reader. */
    cconn_mark(cconn_of(x));
}

static void xc_send_continue(struct xchg *x)
{
    struct cconn *cc = cconn_of(x);
    bufq_append(&cc->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    cconn_mark(cc);
}

static void __attribute__((constructor)) init_settings(void)
{
    settings.on_url = on_h1_url;
    settings.on_header_field = on_h1_field;
    settings.on_header_value = on_h1_value;
    settings.on_headers_complete = on_h1_headers_complete;
    settings.on_body = on_h1_body;
    settings.on_message_complete = on_h1_message_complete;
}
