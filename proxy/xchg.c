#include "proxy/xchg.h"

#include <inttypes.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/accesslog.h"
#include "proxy/bconn.h"
#include "proxy/bsess.h"
#include "proxy/cconn.h"
#include "proxy/hdrs.h"
#include "proxy/tunnel.h"
#include "proxy/worker.h"

static struct str field(const struct xchg *x, long i)
{
    return i < 0 ? STR_NULL : hdrs_value(&x->req, (size_t)i);
}

static int client_status(const struct xchg *x);
static struct str connect_target(const struct xchg *x);

/* Pseudo-header fields stored beside the regular ones. */
#define NUM_PSEUDO 6

struct xchg *xchg_new(struct cconn *cc, int32_t stream_id)
{
    struct worker *w = cc->w;
    const struct config *cfg = w->cfg;
    struct xchg *x = xcalloc(1, sizeof(*x));
    x->cc = cc;
    x->stream_id = stream_id;
    x->start = ev_now(w->loop);
    hdrs_init(&x->req, cfg->request_header_field_buffer,
              cfg->max_request_header_fields + NUM_PSEUDO);
    hdrs_init(&x->resp, cfg->response_header_field_buffer, cfg->max_response_header_fields);
    hdrs_init(&x->req_trailers, cfg->request_header_field_buffer, cfg->max_request_header_fields);
    hdrs_init(&x->resp_trailers, cfg->response_header_field_buffer,
              cfg->max_response_header_fields);
    hdrs_init(&x->interim, cfg->response_header_field_buffer, cfg->max_response_header_fields);
    x->i_method = x->i_scheme = x->i_authority = x->i_path = -1;
    x->req_content_length = -1;
    x->resp_content_length = -1;
    x->backend_index = -1;
    stats_stream_opened(w->stats);
    bufq_init(&x->req_body, &w->pool);
    bufq_init(&x->resp_body, &w->pool);
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

void xchg_free(struct xchg *x)
{
    if (!x)
        return;
    struct cconn *cc = x->cc;
    if (x->bc) {
        struct bconn *bc = x->bc;
        x->bc = NULL;
        bc->x = NULL;
        bconn_abandon(bc);
    }
    if (x->bs)
        bsess_detach(x);
    if (x->tun) {
        struct tunnel *t = x->tun;
        x->tun_bytes_up = t->bytes_up;
        x->tun_bytes_down = t->bytes_down;
        x->tun = NULL;
        t->x = NULL;
        cc->num_tunnels--;
        tun_abandon(t);
    }
    if (cc->h2 && x->req_unconsumed)
        nghttp2_session_consume_connection(cc->h2, x->req_unconsumed);
    struct worker *w = cc->w;
    xchg_log_access(x);
    int status = client_status(x);
    if (status && cc->stats_proto >= 0) {
        double now = ev_now(w->loop);
        stats_request_done(w->stats, (enum stats_proto)cc->stats_proto, status, x->backend_index,
                           now - x->start, x->head_sent_at > 0 ? x->head_sent_at - x->start : -1);
    }
    stats_stream_closed(w->stats);
    unlink_from(&cc->xchgs, x, false);
    if (x->pending)
        unlink_from(&cc->pending, x, true);
    cc->num_xchgs--;
    hdrs_cleanup(&x->req);
    hdrs_cleanup(&x->resp);
    hdrs_cleanup(&x->req_trailers);
    hdrs_cleanup(&x->resp_trailers);
    hdrs_cleanup(&x->interim);
    bufq_cleanup(&x->req_body);
    bufq_cleanup(&x->resp_body);
    free(x);
}

/* What the client saw: the head it was sent (a later failure only cuts
 * the body short), else the error that answered it. */
static int client_status(const struct xchg *x)
{
    if (x->sent_status)
        return x->sent_status;
    return x->error_status ? x->error_status : x->status;
}

void xchg_log_access(struct xchg *x)
{
    struct cconn *cc = x->cc;
    struct worker *w = cc->w;
    int status = client_status(x);
    if (!w->alog || x->logged || !status)
        return;
    x->logged = true;
    const struct cfg_backend *be =
        x->backend_index >= 0 ? &w->cfg->backends[x->backend_index] : NULL;
    const char *proto = cc->proto == CC_H2              ? "HTTP/2"
                        : cc->parser.http_minor == 0 ? "HTTP/1.0"
                                                       : "HTTP/1.1";
    struct alog_entry e = {
        .remote_addr = str_make(cc->peer, cc->peer_len),
        .remote_port = cc->peer_port,
        .server_port = cc->fe->port,
        .start_time = x->start,
        .request_time_s = ev_now(w->loop) - x->start,
        .method = xchg_method(x),
        .path = xchg_path(x),
        .authority = xchg_authority(x),
        .scheme = field(x, x->i_scheme),
        .protocol = proto,
        .status = status,
        .body_bytes_sent = x->resp_bytes,
        .alpn = cc->proto == CC_H2 ? (cc->sock.ssl ? "h2" : "h2c") : "http/1.1",
        .tls_protocol = cc->sock.ssl ? SSL_get_version(cc->sock.ssl) : NULL,
        .tls_cipher = cc->sock.ssl ? SSL_get_cipher_name(cc->sock.ssl) : NULL,
        .backend_host = be ? str_cstr(be->host) : STR_NULL,
        .backend_port = be ? be->port : 0,
        .req_headers = &x->req,
        .is_tunnel = x->is_connect,
    };
    if (cc->sock.ssl) {
        const char *sni = SSL_get_servername(cc->sock.ssl, TLSEXT_NAMETYPE_host_name);
        if (sni)
            e.tls_sni = str_cstr(sni);
        e.tls_session_reused = SSL_session_reused(cc->sock.ssl);
    }
    /* HTTP/1.1 has no :scheme: the connection tells. */
    if (e.scheme.len == 0 && !x->is_connect)
        e.scheme = cc->sock.ssl ? STR_LIT("https") : STR_LIT("http");
    if (cc->sock.ssl) {
        SSL_SESSION *sess = SSL_get_session(cc->sock.ssl);
        unsigned id_len = 0;
        const uint8_t *id = sess ? SSL_SESSION_get_id(sess, &id_len) : NULL;
        e.tls_session_id = id;
        e.tls_session_id_len = id_len;
    }
    const struct alog_format *fmt = w->alog_fmt;
    if (x->is_connect) {
        e.tunnel_target = connect_target(x);
        e.tunnel_bytes_up = x->tun ? x->tun->bytes_up : x->tun_bytes_up;
        e.tunnel_bytes_down = x->tun ? x->tun->bytes_down : x->tun_bytes_down;
        /* An open tunnel's "body" is what the target sent (spliced or
         * not); a refused one's is its error text. */
        if (x->sent_status == 200)
            e.body_bytes_sent = e.tunnel_bytes_down;
        if (w->alog_fmt_tunnel)
            fmt = w->alog_fmt_tunnel;
    }
    alog_write(w->alog, fmt, &e);
}



/* CONNECT names its target in the request line (HTTP/1.1) or :authority. */
static struct str connect_target(const struct xchg *x)
{
    return x->cc->proto == CC_H1 ? xchg_path(x) : xchg_authority(x);
}

struct str xchg_method(const struct xchg *x)
{
    return field(x, x->i_method);
}

struct str xchg_authority(const struct xchg *x)
{
    return field(x, x->i_authority);
}

struct str xchg_path(const struct xchg *x)
{
    return field(x, x->i_path);
}

void xchg_notify(struct xchg *x)
{
    struct cconn *cc = x->cc;
    if (!x->pending) {
        x->pending = true;
        x->next_pending = cc->pending;
        cc->pending = x;
    }
    wrk_mark_dirty(cc->w, cc);
}

void xchg_fail(struct xchg *x, int status, const char *why)
{
    struct cconn *cc = x->cc;
    struct str m = xchg_method(x), p = x->is_connect ? connect_target(x) : xchg_path(x);
    log_info("c%" PRIu64 " s%d %.*s %.*s: %d (%s)", cc->id, x->stream_id, (int)m.len, m.p,
             (int)p.len, p.p, status, why);
    if (!x->error_status)
        x->error_status = status;
    xchg_notify(x);
}

static void connect_next(struct xchg *x)
{
    struct worker *w = x->cc->w;
    const struct cfg_route *route = x->route;
    size_t num = route->num_backends;
    while (x->backend_tries < num) {
        size_t idx;
        if (x->backend_tries == 0) {
            size_t ri = (size_t)(route - w->cfg->routes);
            idx = w->rr[ri]++ % num;
            x->first_backend = idx;
        } else {
            idx = (x->first_backend + x->backend_tries) % num;
        }
        x->backend_tries++;
        x->backend_index = (long)route->backends[idx]->index;
        if (route->backends[idx]->proto == CFG_PROTO_H2) {
            if (bsess_attach(w, route->backends[idx], x) == 0)
                return;
            continue;
        }
        struct bconn *bc = bconn_get(w, route->backends[idx], false);
        if (bc) {
            bconn_attach(bc, x);
            return;
        }
    }
    xchg_fail(x, 502, "no backend could be reached");
}

void xchg_backend_failed(struct xchg *x, int status, const char *why, bool retry_next,
                         bool retry_fresh, const struct cfg_backend *be)
{
    if (retry_fresh && !x->reuse_retried) {
        /* A kept-alive connection the backend had already closed: the
         * request never reached it, so it is safe to send it again. */
        x->reuse_retried = true;
        stats_backend_retry(x->cc->w->stats, (long)be->index);
        struct bconn *bc = bconn_get(x->cc->w, be, true);
        if (bc) {
            bconn_attach(bc, x);
            return;
        }
    }
    if (retry_next && x->backend_tries < x->route->num_backends) {
        log_info("c%" PRIu64 " s%d backend %s:%u failed (%s): trying the next one",
                 x->cc->id, x->stream_id, be->host, be->port, why);
        stats_backend_retry(x->cc->w->stats, (long)be->index);
        connect_next(x);
        return;
    }
    xchg_fail(x, status, why);
}

/* Absolute-form request targets (RFC 9112 §3.2.2): take the authority and
 * the path from the URL. Returns false when the target is unusable. */
static bool split_absolute_form(struct xchg *x)
{
    struct str p = xchg_path(x);
    struct str scheme_end = STR_LIT("://");
    size_t i = 0;
    while (i < p.len && p.p[i] != ':' && p.p[i] != '/')
        i++;
    if (i == 0 || p.len < i + scheme_end.len ||
        memcmp(p.p + i, scheme_end.p, scheme_end.len) != 0)
        return false;
    size_t host_start = i + scheme_end.len;
    size_t j = host_start;
    while (j < p.len && p.p[j] != '/' && p.p[j] != '?')
        j++;
    if (j == host_start)
        return false;
    char *copy = xstrndup(p.p, p.len);
    struct str host = str_make(copy + host_start, j - host_start);
    struct str path = j < p.len ? str_make(copy + j, p.len - j) : STR_LIT("/");
    bool ok = hdrs_add(&x->req, STR_LIT(":authority"), host, false) == 0;
    if (ok) {
        x->i_authority = (long)x->req.num - 1;
        ok = hdrs_add(&x->req, STR_LIT(":path"), path, false) == 0;
        x->i_path = (long)x->req.num - 1;
    }
    free(copy);
    return ok;
}

static void send_continue(struct xchg *x)
{
    struct cconn *cc = x->cc;
    if (cc->proto == CC_H2) {
        nghttp2_nv nv = { (uint8_t *)":status", (uint8_t *)"100", 7, 3,
                          NGHTTP2_NV_FLAG_NONE };
        nghttp2_submit_headers(cc->h2, NGHTTP2_FLAG_NONE, x->stream_id, NULL, &nv, 1, NULL);
    } else {
        bufq_append(&cc->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    wrk_mark_dirty(cc->w, cc);
}

void xchg_start(struct xchg *x)
{
    const struct config *cfg = x->cc->w->cfg;
    if (x->bad_request) {
        xchg_fail(x, x->bad_status ? x->bad_status : 400, "bad request");
        return;
    }
    if (x->is_connect) {
        tun_start(x);
        return;
    }
    struct str path = xchg_path(x);
    if (path.len && path.p[0] != '/' && !(path.len == 1 && path.p[0] == '*')) {
        if (!split_absolute_form(x)) {
            xchg_fail(x, 400, "bad request target");
            return;
        }
        path = xchg_path(x);
    }
    if (path.len == 0) {
        xchg_fail(x, 400, "no request target");
        return;
    }
    x->route = cfg_route_match(cfg, xchg_authority(x), path);
    if (!x->route) {
        xchg_fail(x, 404, "no route");
        return;
    }
    if (x->expect_continue && !x->req_end)
        send_continue(x);
    connect_next(x);
}

void xchg_req_progress(struct xchg *x)
{
    if (x->bc)
        bconn_pump(x->bc);
    else if (x->bs)
        bsess_pump(x);
    else if (x->tun)
        tun_pump(x->tun);
}

void xchg_req_consumed(struct xchg *x, size_t n)
{
    struct cconn *cc = x->cc;
    x->req_body_moved += n;
    if (cc->proto == CC_H2) {
        nghttp2_session_consume(cc->h2, x->stream_id, n);
        x->req_unconsumed -= n;
    }
    /* HTTP/1.1: the flush pass resumes a paused reader. */
    wrk_mark_dirty(cc->w, cc);
}

void xchg_resp_drained(struct xchg *x)
{
    if (x->bs) {
        bsess_resp_drained(x);  /* credit for exactly what the client took */
        return;
    }
    if (bufq_len(&x->resp_body) >= XCHG_BUF_LOW)
        return;
    if (x->bc && x->bc->read_paused)
        bconn_resume_read(x->bc);
    else if (x->tun && x->tun->read_paused)
        tun_resume_read(x->tun);
}
