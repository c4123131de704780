#include "proxy/cconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/auth.h"
#include "proxy/hdrs.h"
#include "proxy/sock.h"
#include "proxy/tls.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* Stop generating HTTP/2 frames once this much output is queued. */
#define OUT_HIGH (64 * 1024)
/* Bytes written per connection per loop iteration before yielding. */
#define WRITE_BUDGET (512 * 1024)
/* Reads per readable event before yielding to other connections. */
#define READ_BATCH 8

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)

static nghttp2_session_callbacks *h2_callbacks;
static nghttp2_option *h2_option;
static http_parser_settings h1_settings;

static void on_readable(struct sock *s);
static void on_writable(struct sock *s);
static void on_ready(struct sock *s, int err, const char *why, int sys_errno);
static void on_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void h1_process(struct cconn *cc);

static const struct sock_handler cc_sock_handler = {
    .readable = on_readable,
    .writable = on_writable,
    .ready = on_ready,
};

static void xc_wake(struct xchg *x);
static void xc_consumed(struct xchg *x, size_t n);
static void xc_send_continue(struct xchg *x);

static const struct xchg_client_ops cc_xchg_ops = {
    .wake = xc_wake,
    .consumed = xc_consumed,
    .send_continue = xc_send_continue,
};

static struct cconn *cc_of(const struct xchg *x)
{
    return container_of(x->cl, struct cconn, xc);
}

/* ---- exchanges ---- */

static struct xchg *new_xchg(struct cconn *cc, int32_t stream_id, enum xchg_proto proto)
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

/* Unlinks x, returns the HTTP/2 credit of request bytes nobody will
 * forward, and frees it. */
static void free_xchg(struct cconn *cc, struct xchg *x)
{
    unlink_from(&cc->xchgs, x, false);
    if (x->pending)
        unlink_from(&cc->pending, x, true);
    cc->num_xchgs--;
    if (cc->h2 && x->req_unconsumed)
        nghttp2_session_consume_connection(cc->h2, x->req_unconsumed);
    xchg_free(x);
}

static void xc_wake(struct xchg *x)
{
    struct cconn *cc = cc_of(x);
    if (!x->pending) {
        x->pending = true;
        x->next_pending = cc->pending;
        cc->pending = x;
    }
    wrk_mark_dirty(cc->w, cc);
}

static void xc_consumed(struct xchg *x, size_t n)
{
    struct cconn *cc = cc_of(x);
    if (cc->h2) {
        nghttp2_session_consume(cc->h2, x->stream_id, n);
        x->req_unconsumed -= n;
    }
    /* HTTP/1.1: the flush pass resumes a paused reader. */
    wrk_mark_dirty(cc->w, cc);
}

static void xc_send_continue(struct xchg *x)
{
    struct cconn *cc = cc_of(x);
    if (cc->h2) {
        nghttp2_nv nv = { (uint8_t *)":status", (uint8_t *)"100", 7, 3, NGHTTP2_NV_FLAG_NONE };
        nghttp2_submit_headers(cc->h2, NGHTTP2_FLAG_NONE, x->stream_id, NULL, &nv, 1, NULL);
    } else {
        bufq_append(&cc->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    wrk_mark_dirty(cc->w, cc);
}

/* ---- I/O ---- */

/* Writes queued output within the budget. Returns 0 (all written or it
 * would block, EV_WRITE armed as needed; output left with EV_WRITE not
 * armed means the budget ran out), or a negative h2g_err. */
static int write_out(struct cconn *cc)
{
    ssize_t n = sock_write(&cc->sock, &cc->out, WRITE_BUDGET);
    if (n < 0)
        return (int)n;
    if (n) {
        stats_bytes(cc->w->stats, STATS_SIDE_CLIENT, STATS_DIR_OUT, (uint64_t)n);
        cc->last_activity = ev_now(cc->w->loop);
    }
    return 0;
}

static void in_append(struct cconn *cc, const char *p, size_t len)
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

static void in_consume(struct cconn *cc, size_t n)
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

/* ---- HTTP/2 ---- */

static int on_h2_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct cconn *cc = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct xchg *x = new_xchg(cc, f->hd.stream_id, XCHG_H2);
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, x);
    return 0;
}

static int on_h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    (void)flags;
    (void)ud;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!x || x->bad_request)
        return 0;
    struct str n = str_make((const char *)name, namelen);
    struct str v = str_make((const char *)value, valuelen);
    if (f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        /* Trailers (nghttp2 allows no pseudo-header here). */
        if (xlate_trailer_ok(n) && hdrs_add(&x->req_trailers, n, v, false) < 0)
            hdrs_reset(&x->req_trailers); /* over the cap: dropped, not failed */
        return 0;
    }
    if (hdrs_add(&x->req, n, v, false) < 0) {
        x->bad_request = true;
        x->bad_status = 431;
        return 0;
    }
    if (namelen && name[0] == ':') {
        long i = (long)x->req.num - 1;
        if (str_eq(n, STR_LIT(":method"))) {
            x->i_method = i;
            x->is_connect = str_eq(v, STR_LIT("CONNECT"));
            x->head_request = str_eq(v, STR_LIT("HEAD"));
        }
        else if (str_eq(n, STR_LIT(":scheme")))
            x->i_scheme = i;
        else if (str_eq(n, STR_LIT(":authority")))
            x->i_authority = i;
        else if (str_eq(n, STR_LIT(":path")))
            x->i_path = i;
    } else if (str_eq(n, STR_LIT("content-length"))) {
        /* nghttp2 has checked it is a number and matches the DATA. */
        x->req_content_length = strtoll(hdrs_value(&x->req, x->req.num - 1).p, NULL, 10);
    } else if (str_eq(n, STR_LIT("expect")) && str_ieq(v, STR_LIT("100-continue"))) {
        x->expect_continue = true;
    }
    return 0;
}

static int on_h2_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    struct cconn *cc = ud;
    if (f->hd.type == NGHTTP2_RST_STREAM)
        stats_rst(cc->w->stats, true, f->rst_stream.error_code);
    else if (f->hd.type == NGHTTP2_GOAWAY)
        stats_goaway(cc->w->stats, true, f->goaway.error_code);
    return 0;
}

static int on_h2_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct cconn *cc = ud;
    if (f->hd.type == NGHTTP2_RST_STREAM)
        stats_rst(cc->w->stats, false, f->rst_stream.error_code);
    else if (f->hd.type == NGHTTP2_GOAWAY)
        stats_goaway(cc->w->stats, false, f->goaway.error_code);
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!x)
        return 0;
    bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        x->req_head_done = true;
        x->req_end = end;
        xchg_start(x);
        return 0;
    }
    if (f->hd.type == NGHTTP2_HEADERS && x->is_connect) {
        /* RFC 9113 §8.5: after CONNECT only DATA and stream management
         * frames; trailers make the stream malformed. */
        log_info("c%" PRIu64 " s%d HEADERS on a CONNECT stream", cc->xc.facts.conn_id, f->hd.stream_id);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
        return 0;
    }
    if (end) {
        x->req_end = true;
        xchg_req_progress(x);
    }
    return 0;
}

static int on_h2_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id,
                            const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, stream_id);
    /* A tunnel's target may half-close while the client still sends, so
     * its bytes keep flowing after the response ended. */
    bool answered = x && x->resp_done && !x->is_connect;
    if (!x || x->error_status || answered || !x->req_head_done) {
        /* Nobody will forward these bytes: give the credit back now. */
        nghttp2_session_consume(s, stream_id, len);
        return 0;
    }
    bufq_append(&x->req_body, data, len);
    x->req_unconsumed += len;
    xchg_req_progress(x);
    return 0;
}

static int on_h2_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code,
                              void *ud)
{
    struct cconn *cc = ud;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!x)
        return 0;
    if (error_code != NGHTTP2_NO_ERROR)
        log_info("c%" PRIu64 " s%d closed: %s", cc->xc.facts.conn_id, stream_id,
                 nghttp2_http2_strerror(error_code));
    nghttp2_session_set_stream_user_data(s, stream_id, NULL);
    free_xchg(cc, x);
    return 0;
}

/* At the end of the body: the backend's trailers, if any, end the stream. */
static void submit_h2_trailers(nghttp2_session *s, int32_t stream_id, struct xchg *x,
                               uint32_t *data_flags)
{
    if (x->resp_trailers.num == 0 || x->error_status)
        return;
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_nv_add_hdrs(&nv, &x->resp_trailers, XLATE_TRAILER, NGHTTP2_NV_FLAG_NONE);
    if (nv.num && nghttp2_submit_trailer(s, stream_id, nv.v, nv.num) == 0)
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    xlate_nv_cleanup(&nv);
}

static ssize_t on_h2_read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf,
                               size_t length, uint32_t *data_flags, nghttp2_data_source *src,
                               void *ud)
{
    (void)buf;
    (void)ud;
    struct xchg *x = src->ptr;
    size_t avail = bufq_len(&x->resp_body);
    if (avail == 0) {
        if (x->resp_end) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            x->resp_done = true;
            submit_h2_trailers(s, stream_id, x, data_flags);
            return 0;
        }
        if (x->error_status)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        x->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && x->resp_end) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        x->resp_done = true;
        submit_h2_trailers(s, stream_id, x, data_flags);
    }
    return (ssize_t)n;
}

/* DATA payload goes straight from the exchange's buffer to the socket
 * queue: no copy into nghttp2. */
static int on_h2_send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *framehd,
                           size_t length, nghttp2_data_source *src, void *ud)
{
    (void)s;
    struct cconn *cc = ud;
    struct xchg *x = src->ptr;
    size_t padlen = f->data.padlen;
    bufq_append(&cc->out, framehd, 9);
    if (padlen) {
        uint8_t pl = (uint8_t)(padlen - 1);
        bufq_append(&cc->out, &pl, 1);
    }
    while (length) {
        struct iovec iov;
        bufq_peek_iov(&x->resp_body, &iov, 1);
        size_t n = iov.iov_len < length ? iov.iov_len : length;
        bufq_append(&cc->out, iov.iov_base, n);
        bufq_drain(&x->resp_body, n);
        x->resp_bytes += n;
        length -= n;
    }
    if (padlen > 1) {
        static const uint8_t zeros[256];
        bufq_append(&cc->out, zeros, padlen - 1);
    }
    xchg_resp_drained(x);
    return 0;
}

static int on_h2_frame_not_sent(nghttp2_session *s, const nghttp2_frame *f, int lib_error,
                                void *ud)
{
    (void)s;
    struct cconn *cc = ud;
    log_info("c%" PRIu64 " s%d frame type %d not sent: %s", cc->xc.facts.conn_id, f->hd.stream_id,
             f->hd.type, nghttp2_strerror(lib_error));
    return 0;
}

static int on_h2_invalid_frame(nghttp2_session *s, const nghttp2_frame *f, int lib_error,
                               void *ud)
{
    (void)s;
    struct cconn *cc = ud;
    log_info("c%" PRIu64 " s%d invalid frame type %d: %s", cc->xc.facts.conn_id, f->hd.stream_id,
             f->hd.type, nghttp2_strerror(lib_error));
    return 0;
}

void cconn_global_init(const struct config *cfg)
{
    nghttp2_session_callbacks_new(&h2_callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(h2_callbacks, on_h2_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(h2_callbacks, on_h2_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2_callbacks, on_h2_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(h2_callbacks, on_h2_frame_send);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h2_callbacks, on_h2_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2_callbacks, on_h2_stream_close);
    nghttp2_session_callbacks_set_send_data_callback(h2_callbacks, on_h2_send_data);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(h2_callbacks,
                                                             on_h2_frame_not_sent);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(h2_callbacks,
                                                                 on_h2_invalid_frame);

    nghttp2_option_new(&h2_option);
    nghttp2_option_set_no_auto_window_update(h2_option, 1);
    nghttp2_option_set_no_closed_streams(h2_option, 1);
    /* Rapid-reset defence (CVE-2023-44487): a burst of 1000 resets, then
     * 33 per second, as nghttpx. */
    nghttp2_option_set_stream_reset_rate_limit(h2_option, 1000, 33);
    nghttp2_option_set_max_continuations(h2_option, 8);
    nghttp2_option_set_max_settings(h2_option, 32);
    (void)cfg;
}

void cconn_global_cleanup(void)
{
    nghttp2_session_callbacks_del(h2_callbacks);
    nghttp2_option_del(h2_option);
    h2_callbacks = NULL;
    h2_option = NULL;
}

/* The protocol is known: count the connection under it. */
static void set_proto(struct cconn *cc, enum cconn_proto proto)
{
    cc->proto = proto;
    struct client_facts *f = &cc->xc.facts;
    f->stats_proto = proto == CC_H1   ? STATS_PROTO_HTTP1
                     : cc->sock.ssl ? STATS_PROTO_H2
                                    : STATS_PROTO_H2C;
    stats_conn_opened(cc->w->stats, (enum stats_proto)f->stats_proto);
    SSL *ssl = cc->sock.ssl;
    if (ssl) {
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
    }
}

static int start_h2(struct cconn *cc)
{
    const struct config *cfg = cc->w->cfg;
    set_proto(cc, CC_H2);
    if (nghttp2_session_server_new2(&cc->h2, h2_callbacks, cc, h2_option) != 0)
        return H2G_ERR_NOMEM;
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->frontend_http2_max_concurrent_streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)cfg->frontend_http2_window_size },
    };
    nghttp2_submit_settings(cc->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    if (cfg->frontend_http2_connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        nghttp2_session_set_local_window_size(cc->h2, NGHTTP2_FLAG_NONE, 0,
                                              cfg->frontend_http2_connection_window_size);
    if (cc->w->shutting_down)
        nghttp2_submit_shutdown_notice(cc->h2);
    return 0;
}

static void h2_feed(struct cconn *cc, const char *p, size_t len)
{
    ssize_t rv = nghttp2_session_mem_recv(cc->h2, (const uint8_t *)p, len);
    if (rv < 0) {
        log_info("c%" PRIu64 " HTTP/2 error: %s", cc->xc.facts.conn_id, nghttp2_strerror((int)rv));
        if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC || rv == NGHTTP2_ERR_CALLBACK_FAILURE ||
            rv == NGHTTP2_ERR_NOMEM) {
            cconn_close(cc, "HTTP/2 fatal error");
            return;
        }
        /* Flooding and similar: nghttp2 queued GOAWAY; send it, then close. */
        cc->closing = true;
    }
}

static int submit_h2_response(struct cconn *cc, struct xchg *x)
{
    const struct config *cfg = cc->w->cfg;
    struct xlate_resp r = { .content_length = -1 };
    bool bodyless;
    if (x->error_status) {
        char body[64];
        size_t bl = xlate_error_body(body, sizeof(body), x->error_status);
        bodyless = x->head_request;
        bufq_cleanup(&x->resp_body); /* whatever a failed backend left */
        if (!bodyless)
            bufq_append(&x->resp_body, body, bl);
        x->resp_end = true;
        r.status = x->error_status;
        r.content_length = (int64_t)bl;
        r.proxy_status = x->proxy_status;
        r.auth_challenge = x->auth_challenge ? auth_challenge() : NULL;
    } else {
        bodyless = xlate_resp_bodyless(x->status, x->head_request);
        r.status = x->status;
        r.hdrs = &x->resp;
        if (!cfg->no_via)
            r.backend_proto = x->backend_index >= 0 &&
                                      cfg->backends[x->backend_index].proto == CFG_PROTO_H2
                                  ? "2"
                                  : "1.1";
    }
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_resp_h2(&nv, &r);
    nghttp2_data_provider prd = { .source.ptr = x, .read_callback = on_h2_read_body };
    int rv = nghttp2_submit_response(cc->h2, x->stream_id, nv.v, nv.num, bodyless ? NULL : &prd);
    xlate_nv_cleanup(&nv);
    x->sent_status = r.status;
    x->resp_head_sent = true;
    if (bodyless)
        x->resp_done = true;
    return rv;
}

static void h2_on_news(struct cconn *cc, struct xchg *x)
{
    if (!x->resp_head_sent && x->interim_status && !x->error_status) {
        /* A backend's 1xx (RFC 9110 §15.2), before the final head. */
        struct xlate_nv nv;
        xlate_nv_init(&nv);
        xlate_interim_h2(&nv, x->interim_status, &x->interim);
        nghttp2_submit_headers(cc->h2, NGHTTP2_FLAG_NONE, x->stream_id, NULL, nv.v, nv.num, NULL);
        xlate_nv_cleanup(&nv);
        x->interim_status = 0;
    }
    if (!x->resp_head_sent) {
        if ((x->error_status == 400 && x->rst_code == NGHTTP2_PROTOCOL_ERROR) ||
            (x->error_status && x->reset_stream)) {
            /* A malformed request (RFC 9113 §8.1.1): a stream error. */
            nghttp2_submit_rst_stream(cc->h2, NGHTTP2_FLAG_NONE, x->stream_id, x->rst_code);
            x->resp_head_sent = x->resp_done = true;
            return;
        }
        if (x->error_status || x->resp_head_ready) {
            x->head_sent_at = ev_now(cc->w->loop);
            if (cc->w->cfg->accesslog_write_early)
                xchg_log_access(x);
            if (submit_h2_response(cc, x) != 0)
                nghttp2_submit_rst_stream(cc->h2, NGHTTP2_FLAG_NONE, x->stream_id,
                                          NGHTTP2_INTERNAL_ERROR);
        }
        return;
    }
    if (x->error_status && !x->resp_done) {
        /* Headers went out already: all we can say now is a reset. */
        nghttp2_submit_rst_stream(cc->h2, NGHTTP2_FLAG_NONE, x->stream_id,
                                  x->rst_code ? x->rst_code : NGHTTP2_INTERNAL_ERROR);
        x->resp_done = true;
        return;
    }
    if (x->deferred) {
        x->deferred = false;
        nghttp2_session_resume_data(cc->h2, x->stream_id);
    }
}

static void h2_flush(struct cconn *cc)
{
    while (bufq_len(&cc->out) < OUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(cc->h2, &data);
        if (n < 0) {
            log_info("c%" PRIu64 " HTTP/2 send error: %s", cc->xc.facts.conn_id, nghttp2_strerror((int)n));
            cconn_close(cc, "HTTP/2 send error");
            return;
        }
        if (n == 0)
            break;
        bufq_append(&cc->out, data, (size_t)n);
    }
}

/* ---- HTTP/1.1 ---- */

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
    if (x->req_head_done) {
        /* A chunked body's trailer section. */
        if (hdrs_add_name_part(&x->req_trailers, str_make(at, len), cc->h1_last_was_name) < 0)
            return -1;
        cc->h1_last_was_name = true;
        return 0;
    }
    /* The request line is parsed: its version is known. */
    x->proto = p->http_minor == 0 ? XCHG_HTTP10 : XCHG_HTTP11;
    if (hdrs_add_name_part(&x->req, str_make(at, len), cc->h1_last_was_name) < 0) {
        x->bad_request = true;
        x->bad_status = 431;
        return -1;
    }
    cc->h1_last_was_name = true;
    return 0;
}

static int on_h1_value(http_parser *p, const char *at, size_t len)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    if (x->req_head_done) {
        if (hdrs_add_value_part(&x->req_trailers, str_make(at, len)) < 0)
            return -1;
        cc->h1_last_was_name = false;
        return 0;
    }
    if (hdrs_add_value_part(&x->req, str_make(at, len)) < 0) {
        x->bad_request = true;
        x->bad_status = 431;
        return -1;
    }
    cc->h1_last_was_name = false;
    return 0;
}

static int on_h1_headers_complete(http_parser *p)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    struct hdrs *h = &x->req;
    x->proto = p->http_minor == 0 ? XCHG_HTTP10 : XCHG_HTTP11;
    const char *m = http_method_str((enum http_method)p->method);
    if (hdrs_add(h, STR_LIT(":method"), str_cstr(m), false) < 0)
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
        x->bad_request = true; /* RFC 9112 §3.2: Host is required in 1.1 */
        x->bad_status = 400;
    }
    for (size_t i = 0; i < h->num; i++) {
        if (str_eq(hdrs_name(h, i), STR_LIT("expect"))) {
            if (str_ieq(str_trim(hdrs_value(h, i)), STR_LIT("100-continue")))
                x->expect_continue = true;
        }
    }
    if (p->flags & F_CHUNKED)
        x->req_content_length = -1;
    else if (p->content_length != ULLONG_MAX)
        x->req_content_length = (int64_t)p->content_length;
    else
        x->req_content_length = 0;
    cc->h1_keep_alive = http_should_keep_alive(p) && !cc->w->shutting_down;
    x->req_head_done = true;
    bool has_body = (p->flags & F_CHUNKED) || (p->content_length != ULLONG_MAX &&
                                               p->content_length > 0);
    /* A CONNECT's "body" is the tunnel: it ends when the client closes. */
    x->req_end = !has_body && !x->is_connect;
    xchg_start(x);
    return 0;
}

static int on_h1_body(http_parser *p, const char *at, size_t len)
{
    struct cconn *cc = p->data;
    struct xchg *x = cc->xchgs;
    if (x->error_status || x->resp_done)
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
    cc->h1_in_message = false;
    if (!x->req_end && !x->is_connect) {
        x->req_end = true;
        xchg_req_progress(x);
    }
    /* One request at a time: the next pipelined one waits for this answer. */
    http_parser_pause(p, 1);
    return 0;
}

static void h1_error(struct cconn *cc, int status, const char *why)
{
    log_info("c%" PRIu64 " HTTP/1.1 request rejected with %d: %s", cc->xc.facts.conn_id, status, why);
    char body[64];
    size_t n = xlate_error_body(body, sizeof(body), status);
    struct xlate_resp r = { .status = status, .content_length = (int64_t)n, .keep_alive = false };
    xlate_resp_h1(&cc->out, &r);
    bufq_append(&cc->out, body, n);
    cc->closing = true;
    sock_read_stop(&cc->sock);
    cc->read_paused = true;
}

/* Parses buffered input: at most one request at a time. */
static void h1_process(struct cconn *cc)
{
    const struct config *cfg = cc->w->cfg;
    while (cc->in_len && !cc->closing && !cc->dead) {
        struct xchg *x = cc->xchgs;
        if (x && !cc->h1_in_message)
            return; /* previous request still being answered */
        if (!x) {
            size_t head_len = 0;
            int r = xlate_h1_head_scan(cc->in, cc->in_len, true, &head_len);
            if (r < 0) {
                h1_error(cc, 400, "malformed request head");
                return;
            }
            if (r == 0) {
                if (cc->in_len > cfg->request_header_field_buffer)
                    h1_error(cc, 431, "request head too large");
                return;
            }
            if (head_len > cfg->request_header_field_buffer) {
                h1_error(cc, 431, "request head too large");
                return;
            }
            x = new_xchg(cc, 0, XCHG_HTTP11);
            http_parser_init(&cc->parser, HTTP_REQUEST);
            cc->parser.data = cc;
            cc->h1_last_was_name = false;
            cc->h1_in_message = true;
        }
        size_t n = http_parser_execute(&cc->parser, &h1_settings, cc->in, cc->in_len);
        enum http_errno e = HTTP_PARSER_ERRNO(&cc->parser);
        in_consume(cc, n);
        if (cc->parser.upgrade && (e == HPE_OK || e == HPE_PAUSED)) {
            /* CONNECT, or an Upgrade we do not do: http-parser stops at the
             * end of the head, and whatever follows is not HTTP. */
            http_parser_pause(&cc->parser, 0);
            cc->h1_keep_alive = false;
            cc->h1_in_message = false;
            if (x->is_connect && !x->error_status) {
                cc->h1_tunnel = true;
                bufq_append(&x->req_body, cc->in, cc->in_len);
                xchg_req_progress(x);
            } else if (!x->req_end) {
                x->req_end = true;
                xchg_req_progress(x);
            }
            in_consume(cc, cc->in_len);
            return;
        }
        if (e == HPE_PAUSED) {
            http_parser_pause(&cc->parser, 0);
            if (cc->h1_in_message) {
                /* Body over the high-water mark: wait for the backend. */
                cc->read_paused = true;
                sock_read_stop(&cc->sock);
                return;
            }
            continue;
        }
        if (e != HPE_OK) {
            if (x->bad_request && x->bad_status == 431)
                h1_error(cc, 431, "request header fields too large");
            else
                h1_error(cc, 400, http_errno_description(e));
            return;
        }
    }
}

static void h1_write_body(struct cconn *cc, struct xchg *x)
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

static void h1_on_news(struct cconn *cc, struct xchg *x)
{
    if (x->resp_done)
        return;
    if (!x->resp_head_sent) {
        if (x->error_status) {
            char body[64];
            size_t n = xlate_error_body(body, sizeof(body), x->error_status);
            /* An unread request body makes the connection unusable. */
            if (!x->req_end)
                cc->h1_keep_alive = false;
            struct xlate_resp r = { .status = x->error_status,
                                    .content_length = (int64_t)n,
                                    .keep_alive = cc->h1_keep_alive,
                                    .proxy_status = x->proxy_status,
                                    .auth_challenge = x->auth_challenge ? auth_challenge()
                                                                        : NULL };
            if (x->is_connect)
                cc->h1_keep_alive = r.keep_alive = false;
            xlate_resp_h1(&cc->out, &r);
            x->sent_status = x->error_status;
            x->head_sent_at = ev_now(cc->w->loop);
            if (!x->head_request) {
                bufq_append(&cc->out, body, n);
                x->resp_bytes += n;
            }
            bufq_cleanup(&x->resp_body);
            x->resp_head_sent = true;
            x->resp_done = true;
            return;
        }
        if (x->interim_status) {
            /* A backend's 1xx: HTTP/1.0 clients cannot take one. */
            if (cc->parser.http_minor >= 1)
                xlate_interim_h1(&cc->out, x->interim_status, &x->interim);
            x->interim_status = 0;
        }
        if (!x->resp_head_ready)
            return;
        x->head_sent_at = ev_now(cc->w->loop);
            if (cc->w->cfg->accesslog_write_early)
                xchg_log_access(x);
        if (x->is_connect) {
            bufq_append(&cc->out, "HTTP/1.1 200 Connection Established\r\n\r\n", 39);
            x->sent_status = 200;
            x->resp_head_sent = true;
            cc->h1_keep_alive = false;
            goto body;
        }
        bool bodyless = xlate_resp_bodyless(x->status, x->head_request);
        struct xlate_resp r = {
            .status = x->status,
            .hdrs = &x->resp,
            .backend_proto = cc->w->cfg->no_via ? NULL
                             : x->backend_index >= 0 &&
                                     cc->w->cfg->backends[x->backend_index].proto == CFG_PROTO_H2
                                 ? "2"
                                 : "1.1",
            .content_length = x->resp_content_length,
        };
        if (bodyless) {
            if (!x->head_request)
                r.content_length = -1;
        } else if (r.content_length < 0) {
            if (cc->parser.http_minor >= 1)
                r.chunked = x->resp_chunked = true;
            else
                cc->h1_keep_alive = false; /* the close delimits the body */
        }
        if (!x->req_end)
            cc->h1_keep_alive = false;
        r.keep_alive = cc->h1_keep_alive;
        xlate_resp_h1(&cc->out, &r);
        x->sent_status = x->status;
        x->resp_head_sent = true;
        if (bodyless) {
            bufq_cleanup(&x->resp_body);
            x->resp_end = true;
        }
    }
body:
    if (x->error_status) {
        /* The head went out: cut the connection so the client sees the
         * response is incomplete. */
        cc->h1_keep_alive = false;
        cc->closing = true;
        x->resp_done = true;
        return;
    }
    if (bufq_len(&cc->out) < XCHG_BUF_HIGH)
        h1_write_body(cc, x);
    if (x->resp_end && bufq_len(&x->resp_body) == 0) {
        if (x->resp_chunked)
            xlate_last_chunk_h1(&cc->out, &x->resp_trailers);
        x->resp_done = true;
    }
}

/* The current exchange is answered: free it, then close or go on with the
 * next pipelined request. */
static void h1_finish(struct cconn *cc)
{
    struct xchg *x = cc->xchgs;
    if (!x || !x->resp_done || bufq_len(&cc->out) > XCHG_BUF_HIGH)
        return;
    bool req_complete = x->req_end && !cc->h1_in_message;
    free_xchg(cc, x);
    if (!cc->h1_keep_alive || !req_complete || cc->w->shutting_down) {
        cc->closing = true;
        return;
    }
    if (cc->in_len)
        h1_process(cc);
    if (cc->eof && !cc->xchgs && cc->in_len == 0)
        cc->closing = true;
    else
        cconn_resume_read(cc);
}

static void pause_read(struct cconn *cc)
{
    if (cc->read_paused)
        return;
    cc->read_paused = true;
    sock_read_stop(&cc->sock);
}

void cconn_resume_read(struct cconn *cc)
{
    if (!cc->read_paused || cc->dead || cc->closing || cc->spliced)
        return;
    if (cc->proto == CC_H1) {
        struct xchg *x = cc->xchgs;
        if (x && bufq_len(&x->req_body) > XCHG_BUF_LOW)
            return;
        if (cc->in_len && !cc->h1_tunnel) {
            /* Parse what is buffered first: it may hold the rest of the
             * paused body, and only parsing shrinks it. */
            cc->read_paused = false;
            h1_process(cc);
            if (cc->read_paused || cc->closing || cc->dead)
                return;
            cc->read_paused = true;
        }
        /* Pipelined requests beyond the cap wait for the current answer. */
        if (cc->in_len > cc->w->cfg->request_header_field_buffer)
            return;
    }
    cc->read_paused = false;
    if (cc->eof)
        return;
    sock_read_start(&cc->sock);
}

/* ---- connection lifecycle ---- */

static void format_peer(struct client_facts *f, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
        f->peer_port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        f->peer_port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], host, sizeof(host));
        else
            inet_ntop(AF_INET6, a, host, sizeof(host));
    }
    f->peer_len = (size_t)snprintf(f->peer, sizeof(f->peer), "%s", host);
}

struct cconn *cconn_new(struct worker *w, int fd, const struct cfg_frontend *fe,
                        const struct sockaddr *peer)
{
    struct cconn *cc = xcalloc(1, sizeof(*cc));
    cc->w = w;
    cc->fe = fe;
    cc->xc.ops = &cc_xchg_ops;
    cc->xc.w = w;
    struct client_facts *f = &cc->xc.facts;
    f->conn_id = ++w->next_conn_id * 256 + (uint64_t)w->id;
    f->stats_proto = -1;
    f->server_port = fe->port;
    f->tls = fe->tls;
    format_peer(f, peer);
    bufq_init(&cc->out, &w->pool);
    cc->last_activity = ev_now(w->loop);
    sock_init(&cc->sock, w->loop, fd, &cc_sock_handler);
    ev_timer_init(&cc->timer, on_timer, w->cfg->frontend_keep_alive_timeout, 0.);
    cc->timer.data = cc;
    ev_timer_start(w->loop, &cc->timer);
    if (fe->tls) {
        cc->proto = CC_TLS;
        sock_accept_tls(&cc->sock, tls_server_new(w->ssl_ctx, fd));
    } else {
        cc->proto = CC_SNIFF;
        sock_read_start(&cc->sock);
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
    if (cc->h2) {
        /* Deleting the session would call on_stream_close for nothing we
         * track: free the exchanges ourselves first. */
        for (struct xchg *x = cc->xchgs; x; x = x->next)
            nghttp2_session_set_stream_user_data(cc->h2, x->stream_id, NULL);
    }
    while (cc->xchgs)
        free_xchg(cc, cc->xchgs);
    if (cc->h2)
        nghttp2_session_del(cc->h2);
    sock_close(&cc->sock, true);
    if (cc->xc.facts.stats_proto >= 0)
        stats_conn_closed(w->stats, (enum stats_proto)cc->xc.facts.stats_proto);
    bufq_cleanup(&cc->out);
    free(cc->in);
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        w->conns = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    w->num_conns--;
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
    if (cc->proto == CC_H2) {
        nghttp2_submit_shutdown_notice(cc->h2);
    } else if (cc->proto == CC_H1 && cc->xchgs) {
        cc->h1_keep_alive = false;
    } else {
        cc->closing = true;
    }
    wrk_mark_dirty(cc->w, cc);
}

void cconn_shutdown_final(struct cconn *cc)
{
    if (cc->dead || cc->proto != CC_H2 || cc->goaway_final_sent)
        return;
    cc->goaway_final_sent = true;
    nghttp2_submit_goaway(cc->h2, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(cc->h2), NGHTTP2_NO_ERROR,
                          NULL, 0);
    wrk_mark_dirty(cc->w, cc);
}

static void select_proto_after_tls(struct cconn *cc)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(cc->sock.ssl, &alpn, &alpn_len);
    if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) {
        if (start_h2(cc) < 0)
            cconn_close(cc, "cannot start HTTP/2 session");
    } else {
        set_proto(cc, CC_H1);
    }
}

static void feed(struct cconn *cc, const char *p, size_t len)
{
    if (cc->proto == CC_SNIFF) {
        size_t have = cc->in_len;
        size_t cmp = H2_PREFACE_LEN - have < len ? H2_PREFACE_LEN - have : len;
        if (memcmp(h2_preface + have, p, cmp) != 0) {
            set_proto(cc, CC_H1);
        } else if (have + cmp == H2_PREFACE_LEN) {
            if (start_h2(cc) < 0) {
                cconn_close(cc, "cannot start HTTP/2 session");
                return;
            }
            const char *prefix = cc->in;
            size_t prefix_len = cc->in_len;
            cc->in = NULL;
            cc->in_len = cc->in_cap = 0;
            if (prefix_len)
                h2_feed(cc, prefix, prefix_len);
            free((void *)prefix);
            h2_feed(cc, p, len);
            return;
        } else {
            in_append(cc, p, len);
            return;
        }
    }
    if (cc->proto == CC_H2) {
        h2_feed(cc, p, len);
    } else if (cc->h1_tunnel) {
        struct xchg *x = cc->xchgs;
        bufq_append(&x->req_body, p, len);
        xchg_req_progress(x);
        if (bufq_len(&x->req_body) > XCHG_BUF_HIGH)
            pause_read(cc);
    } else {
        in_append(cc, p, len);
        h1_process(cc);
        /* Pipelined requests wait while one is answered: bounded. */
        if (cc->in_len > cc->w->cfg->request_header_field_buffer)
            pause_read(cc);
    }
}

/* The TLS handshake is over. */
static void on_ready(struct sock *s, int err, const char *why, int sys_errno)
{
    (void)sys_errno;
    struct cconn *cc = container_of(s, struct cconn, sock);
    if (err) {
        log_info("c%" PRIu64 " %s", cc->xc.facts.conn_id, why);
        cconn_close(cc, "TLS handshake failed");
        return;
    }
    select_proto_after_tls(cc);
    if (cc->dead)
        return;
    wrk_mark_dirty(cc->w, cc);
    on_readable(s); /* application data may have come with the handshake */
}

static void on_readable(struct sock *s)
{
    struct cconn *cc = container_of(s, struct cconn, sock);
    struct worker *w = cc->w;
    cc->last_activity = ev_now(w->loop);
    for (int i = 0; i < READ_BATCH && !cc->read_paused && !cc->dead && !cc->closing; i++) {
        ssize_t n = sock_read(s, w->scratch, BUF_BLOCK_SIZE);
        if (n == 0)
            break;
        if (n < 0) {
            bool eof = n == H2G_ERR_EOF || n == H2G_ERR_RESET;
            if (cc->proto == CC_H1 && eof && cc->xchgs) {
                /* Half-close after a request: answer it, then close. A
                 * tunnel forwards what it has, then closes both sides. */
                struct xchg *x = cc->xchgs;
                cc->eof = true;
                pause_read(cc);
                if (cc->h1_tunnel && !x->req_end) {
                    x->req_end = true;
                    xchg_req_progress(x);
                }
                break;
            }
            cconn_close(cc, eof ? "peer closed" : h2g_strerror((int)n));
            return;
        }
        stats_bytes(w->stats, STATS_SIDE_CLIENT, STATS_DIR_IN, (uint64_t)n);
        feed(cc, w->scratch, (size_t)n);
        if ((size_t)n < BUF_BLOCK_SIZE && !s->ssl)
            break;
    }
    if (!cc->read_paused && !cc->dead && sock_read_pending(s))
        ev_feed_event(w->loop, &s->rev, EV_READ);
    wrk_mark_dirty(w, cc);
}

static void on_writable(struct sock *s)
{
    struct cconn *cc = container_of(s, struct cconn, sock);
    wrk_mark_dirty(cc->w, cc);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct cconn *cc = t->data;
    const struct config *cfg = cc->w->cfg;
    double now = ev_now(loop);
    bool busy = cc->num_xchgs > 0;
    double timeout = bufq_len(&cc->out) ? cfg->frontend_write_timeout
                     : busy              ? cfg->frontend_read_timeout
                                         : cfg->frontend_keep_alive_timeout;
    /* Streams waiting on a backend are timed by the backend's timers, and
     * tunnels by their own idle timeout. */
    if (busy && bufq_len(&cc->out) == 0)
        timeout = cfg->frontend_read_timeout > cfg->backend_read_timeout
                      ? cfg->frontend_read_timeout
                      : cfg->backend_read_timeout + 1;
    double left = cc->last_activity + timeout - now;
    if (cc->xc.num_tunnels) {
        /* Open tunnels time themselves out (--tunnel-idle-timeout); a
         * spliced one moves bytes this connection never sees. */
        left = cfg->tunnel_idle_timeout + 1;
    }
    if (left > 0) {
        ev_timer_set(t, left, 0.);
        ev_timer_start(loop, t);
        return;
    }
    if (cc->proto == CC_H2 && !cc->closing) {
        nghttp2_session_terminate_session(cc->h2, NGHTTP2_NO_ERROR);
        cc->closing = true;
        wrk_mark_dirty(cc->w, cc);
        ev_timer_set(t, 1., 0.);
        ev_timer_start(loop, t);
        return;
    }
    cconn_close(cc, "timeout");
}

/* A cleartext HTTP/1.1 tunnel whose 200 is on the wire and which has
 * nothing buffered either way: let the kernel move the bytes. */
static void try_splice(struct cconn *cc)
{
    struct xchg *x = cc->xchgs;
    if (!x || !x->resp_head_sent || x->req_end || x->resp_end || bufq_len(&x->req_body) ||
        bufq_len(&x->resp_body) || cc->in_len || bufq_len(&cc->out))
        return;
    if (!xchg_splice(x, cc->sock.fd))
        return;
    cc->spliced = true;
    pause_read(cc);
    sock_arm_write(&cc->sock, false);
}

void cconn_flush(struct cconn *cc)
{
    if (cc->dead)
        return;
    if (cc->read_paused && !cc->eof)
        cconn_resume_read(cc);
    while (cc->pending) {
        struct xchg *x = cc->pending;
        cc->pending = x->next_pending;
        x->pending = false;
        x->next_pending = NULL;
        if (cc->proto == CC_H2)
            h2_on_news(cc, x);
        else
            h1_on_news(cc, x);
    }
    if (cc->proto == CC_H2) {
        h2_flush(cc);
        if (cc->dead)
            return;
    } else if (cc->proto == CC_H1) {
        /* Body bytes move when there is room in out, not only on news:
         * a paused backend sends no news until we drain its buffer. */
        if (cc->xchgs)
            h1_on_news(cc, cc->xchgs);
        h1_finish(cc);
    }
    if (write_out(cc) < 0) {
        cconn_close(cc, "write error");
        return;
    }
    if (bufq_len(&cc->out)) {
        if (!sock_write_blocked(&cc->sock))
            wrk_mark_dirty(cc->w, cc); /* the budget ran out */
        return;
    }
    if (cc->proto == CC_H2) {
        if (!nghttp2_session_want_read(cc->h2) && !nghttp2_session_want_write(cc->h2)) {
            cconn_close(cc, "HTTP/2 session done");
            return;
        }
        if (cc->closing && cc->num_xchgs == 0 && !nghttp2_session_want_write(cc->h2)) {
            cconn_close(cc, "closing");
            return;
        }
        if (nghttp2_session_want_write(cc->h2))
            wrk_mark_dirty(cc->w, cc);
        return;
    }
    if (cc->h1_tunnel && !cc->spliced && !cc->sock.ssl)
        try_splice(cc);
    if (cc->proto == CC_H1 && cc->xchgs && cc->xchgs->resp_done) {
        h1_finish(cc);
        if (bufq_len(&cc->out)) {
            wrk_mark_dirty(cc->w, cc);
            return;
        }
    }
    if (cc->closing) {
        if (cc->proto == CC_H1 && !cc->sock.ssl)
            shutdown(cc->sock.fd, SHUT_WR);
        cconn_close(cc, "done");
    }
}

static void __attribute__((constructor)) init_h1_settings(void)
{
    h1_settings.on_url = on_h1_url;
    h1_settings.on_header_field = on_h1_field;
    h1_settings.on_header_value = on_h1_value;
    h1_settings.on_headers_complete = on_h1_headers_complete;
    h1_settings.on_body = on_h1_body;
    h1_settings.on_message_complete = on_h1_message_complete;
}
