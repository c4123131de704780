#include "proxy/h2srv.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "config/config.h"
#include "proxy/cconn.h"
#include "proxy/h2abuse.h"
#include "proxy/h2mem.h"
#include "proxy/h2prio.h"
#include "proxy/h2push.h"
#include "proxy/h2resp.h"
#include "proxy/h2win.h"
#include "proxy/hdrs.h"
#include "proxy/tls.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* Stop generating frames once this much output is queued. */
#define OUT_HIGH (64 * 1024)

static nghttp2_session_callbacks *callbacks;

static void h2_recv(struct cconn *cc, const char *p, size_t len);
static bool h2_eof(struct cconn *cc);
static void h2_news(struct cconn *cc, struct xchg *x);
static bool h2_produce(struct cconn *cc);
static void h2_drained(struct cconn *cc);
static bool h2_shutdown(struct cconn *cc, enum cconn_shut how);
static bool h2_may_read(struct cconn *cc);
static double h2_timeout(struct cconn *cc, double now);
static void h2_cleanup(struct cconn *cc);
static void xc_consumed(struct xchg *x, size_t n);
static void xc_send_continue(struct xchg *x);

static const struct cconn_ops h2_ops = {
    .recv = h2_recv,
    .eof = h2_eof,
    .news = h2_news,
    .produce = h2_produce,
    .drained = h2_drained,
    .shutdown = h2_shutdown,
    .may_read = h2_may_read,
    .timeout = h2_timeout,
    .cleanup = h2_cleanup,
};

static const struct xchg_client_ops h2_xchg_ops = {
    .wake = cconn_wake,
    .consumed = xc_consumed,
    .send_continue = xc_send_continue,
};

static nghttp2_session *session_of(const struct xchg *x)
{
    return h2mem_session(cconn_of(x));
}

/* ---- nghttp2 callbacks: record, never free ---- */

static int on_h2_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct cconn *cc = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    uint64_t max = cc->w->cfg->frontend_max_requests;
    if (max && cc->num_requests >= max) {
        /* Sent before our GOAWAY reached the client, maybe in the same
         * read: unprocessed, so the client may retry it (RFC 9113 §8.7). */
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    struct xchg *x = cconn_xchg_new(cc, f->hd.stream_id, XCHG_H2);
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, x);
    cc->p.h2.num_open++;
    cc->p.h2.idle_since = 0;
    x->in_at = ev_now(cc->w->loop);
    cconn_deadline(cc, cc->w->cfg->stream_read_timeout);
    if (++cc->num_requests == max) {
        /* The last stream: nghttp2 ends the session once it is done
         * (h2_drained), and a later graceful shutdown adds no GOAWAY. */
        cc->p.h2.goaway_final_sent = true;
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR, NULL, 0);
    }
    return 0;
}

/* The value of a content-length field (nghttp2 has checked it is digits
 * only and fits an int64_t), read to its length and not a byte further:
 * field values are (pointer, length) views, and the copy in x->req has
 * no NUL after it, only stale heap, digits included. */
static int64_t content_length_value(struct str v)
{
    int64_t n = 0;
    for (size_t i = 0; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
        int d = v.p[i] - '0';
        if (n > (INT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    return n;
}

static int on_h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    (void)flags;
    (void)ud;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!x || x->bad_status)
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
        /* 431; the rest of the block is still decoded (HPACK state) but
         * skipped above. */
        x->bad_status = 431;
        h2abuse_glitch(cconn_of(x), STATS_GLITCH_HEADER_BLOCK);
        return 0;
    }
    if (namelen && name[0] == ':') {
        xchg_req_pseudo(x, n, v);
    } else if (str_eq(n, STR_LIT("content-length"))) {
        /* nghttp2 has checked it is a number and matches the DATA. */
        x->req_content_length = content_length_value(v);
    } else if (str_eq(n, STR_LIT("expect")) && str_ieq(v, STR_LIT("100-continue"))) {
        x->expect_continue = true;
    }
    return 0;
}

/* Its DATA is a byte pipe: a CONNECT tunnel or a WebSocket (RFC 8441),
 * which follows CONNECT's rules (RFC 9113 §8.5): no trailers, no timeout
 * on the request "body". */
static bool is_pipe(const struct xchg *x)
{
    return x->is_connect || x->websocket;
}

/* An extended CONNECT is a request to route by :authority and :path, not
 * a tunnel to :authority. Only websocket is carried: another :protocol
 * gets 501. */
static void take_ext_connect(struct xchg *x)
{
    if (!x->ext_connect)
        return;
    x->is_connect = false;
    if (!x->websocket && !x->bad_status)
        x->bad_status = 501;
}

/* The response went out whole while the client is still sending its
 * request (the backend, or h2gate itself, answered before the body's end:
 * a 413, a 401, an early gRPC status): RST_STREAM(NO_ERROR) asks the
 * client to stop (RFC 9113 §8.1), as nghttpx does, instead of taking the
 * rest of an upload nobody reads (on_h2_data_chunk drops it). Not when
 * the rest, by its Content-Length, fits the credit the client already has:
 * it is on its way or may be sent at once, so a reset saves nothing, and
 * some clients (curl 7.88, Debian 12's) report a reset upload as a failed
 * transfer, the answer unseen. A pipe's END_STREAM is its target's
 * half-close: the client may go on sending. */
static void stop_request_after_response(nghttp2_session *s, int32_t stream_id)
{
    struct xchg *x = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!x || is_pipe(x) || xchg_req_ended(x)) /* its END_STREAM came */
        return;
    int32_t credit = nghttp2_session_get_stream_local_window_size(s, stream_id);
    if (x->req_content_length >= 0 && credit >= 0 &&
        (uint64_t)x->req_content_length - x->req_received <= (uint64_t)credit)
        return;
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
}

static int on_h2_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct cconn *cc = ud;
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        (f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS)) {
        stop_request_after_response(s, f->hd.stream_id);
    } else if (f->hd.type == NGHTTP2_RST_STREAM) {
        stats_rst(cc->w->stats, true, f->rst_stream.error_code);
        h2abuse_rst_sent(cc, f->hd.stream_id, f->rst_stream.error_code,
                         nghttp2_session_get_stream_user_data(s, f->hd.stream_id) != NULL);
    } else if (f->hd.type == NGHTTP2_PUSH_PROMISE) {
        h2push_promised(cc, f);
    } else if (f->hd.type == NGHTTP2_GOAWAY) {
        stats_goaway(cc->w->stats, true, f->goaway.error_code);
        h2abuse_goaway_sent(cc, f->goaway.error_code);
        /* nghttp2's own connection errors (a header block it cannot
         * decode, a flow-control breach) are logged nowhere else; the
         * other codes are where they are decided (goaway_close, h2abuse). */
        uint32_t code = f->goaway.error_code;
        if (code != NGHTTP2_NO_ERROR && code != NGHTTP2_SETTINGS_TIMEOUT &&
            code != NGHTTP2_ENHANCE_YOUR_CALM)
            log_info("c%" PRIu64 " GOAWAY(%s) sent%s%.*s", cc->xc.facts.conn_id,
                     nghttp2_http2_strerror(code), f->goaway.opaque_data_len ? ": " : "",
                     (int)f->goaway.opaque_data_len, (const char *)f->goaway.opaque_data);
    } else if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) &&
               cc->p.h2.settings_since == 0) {
        cc->p.h2.settings_since = ev_now(cc->w->loop);
        cconn_deadline(cc, cc->w->cfg->frontend_http2_setting_timeout);
    }
    return 0;
}

static int on_h2_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct cconn *cc = ud;
    if (f->hd.type == NGHTTP2_RST_STREAM)
        stats_rst(cc->w->stats, false, f->rst_stream.error_code);
    else if (f->hd.type == NGHTTP2_GOAWAY)
        stats_goaway(cc->w->stats, false, f->goaway.error_code);
    else if (f->hd.type == NGHTTP2_SETTINGS && (f->hd.flags & NGHTTP2_FLAG_ACK))
        cc->p.h2.settings_since = 0; /* we send one SETTINGS frame */
    else if (f->hd.type == NGHTTP2_SETTINGS)
        h2prio_settings_recv(cc, f);
    else if (f->hd.type == NGHTTP2_PRIORITY_UPDATE)
        h2prio_update_recv(cc, f);
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!x)
        return 0;
    bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        x->req_state = end ? XREQ_END : XREQ_BODY;
        if (x->i_authority < 0)
            /* RFC 9113 §8.3.1: a request with no :authority may carry it
             * in Host; routing, logs and both backend kinds then see it
             * as an HTTP/1.1 client's Host. */
            x->i_authority = hdrs_find(&x->req, STR_LIT("host"));
        h2prio_request_head(x);
        take_ext_connect(x);
        xchg_start(x);
        return 0;
    }
    if (f->hd.type == NGHTTP2_HEADERS && is_pipe(x)) {
        /* RFC 9113 §8.5: after CONNECT only DATA and stream management
         * frames; trailers make the stream malformed. */
        log_info("c%" PRIu64 " s%d HEADERS on a CONNECT stream", cc->xc.facts.conn_id, f->hd.stream_id);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
        return 0;
    }
    if (end) {
        x->req_state = XREQ_END;
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
    if (x)
        x->req_received += len;
    /* A tunnel's target may half-close while the client still sends, so
     * its bytes keep flowing after the response ended. */
    bool answered = x && xchg_out_done(x) && !x->is_connect &&
                    !(x->websocket && x->status == 101);
    if (!x || x->error_status || answered || !xchg_req_head_done(x)) {
        /* Nobody will forward these bytes: give the credit back now. */
        nghttp2_session_consume(s, stream_id, len);
        return 0;
    }
    bufq_append(&x->req_body, data, len);
    x->req_unconsumed += len;
    x->in_at = ev_now(cconn_of(x)->w->loop);
    if (!is_pipe(x)) {
        xchg_req_progress(x);
        return 0;
    }
    /* A pipe's bytes are bounded by its stream window alone: its
     * connection credit goes back now, so that a stalled target holds
     * its own stream, not the connection (h2win.h). */
    nghttp2_session_consume_connection(s, len);
    /* The upstream takes what a whole read batch brought in one write,
     * in the flush pass (h2_news), not one write per DATA frame. */
    x->req_due = true;
    cconn_wake(x);
    return 0;
}

/* A stream waiting for its backend or carrying a tunnel: the connection's
 * read timeout does not run meanwhile (see h2_timeout). */
static bool stream_waits(const struct xchg *x)
{
    return !x->closed && (is_pipe(x) || xchg_req_ended(x));
}

static int on_h2_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code,
                              void *ud)
{
    struct cconn *cc = ud;
    struct xchg *x = nghttp2_session_get_stream_user_data(s, stream_id);
    h2abuse_stream_closed(cc, stream_id);
    if (!x)
        return 0;
    if (error_code != NGHTTP2_NO_ERROR)
        log_info("c%" PRIu64 " s%d closed: %s", cc->xc.facts.conn_id, stream_id,
                 nghttp2_http2_strerror(error_code));
    nghttp2_session_set_stream_user_data(s, stream_id, NULL);
    h2push_closed(cc, x, error_code);
    if (is_pipe(x) && error_code != NGHTTP2_NO_ERROR)
        bufq_cleanup(&x->req_body); /* reset: not for the target any more */
    if (stream_waits(x)) {
        /* The read timeout did not run while it waited: it starts over. */
        cc->p.h2.wait_ended = ev_now(cc->w->loop);
        cconn_deadline(cc, cc->w->cfg->frontend_http2_read_timeout);
    }
    if (--cc->p.h2.num_open == 0) {
        cc->p.h2.idle_since = ev_now(cc->w->loop);
        cconn_deadline(cc, cc->w->cfg->frontend_keep_alive_timeout);
        cconn_deadline(cc, h2mem_delay(cc));
    }
    x->closed = true;
    x->next_closed = cc->p.h2.closed;
    cc->p.h2.closed = x;
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
    h2abuse_invalid_frame(cc, f, lib_error);
    return 0;
}

static void h2_news(struct cconn *cc, struct xchg *x)
{
    if (x->closed)
        return; /* the stream is gone; freed in this flush pass */
    if (x->req_due) {
        /* A pipe's bytes from this loop pass's reads (on_h2_data_chunk). */
        x->req_due = false;
        xchg_req_progress(x);
        if (x->closed)
            return;
    }
    if (!xchg_head_sent(x) && x->interim_status && !x->error_status) {
        /* A backend's 1xx (RFC 9110 §15.2), before the final head. */
        struct xlate_nv nv;
        xlate_nv_init(&nv);
        xlate_interim_h2(&nv, x->interim_status, &x->interim);
        nghttp2_submit_headers(h2mem_session(cc), NGHTTP2_FLAG_NONE, x->stream_id, NULL, nv.v, nv.num, NULL);
        xlate_nv_cleanup(&nv);
        x->interim_status = 0;
    }
    if (!xchg_head_sent(x)) {
        if ((x->error_status == 400 && x->rst_code == NGHTTP2_PROTOCOL_ERROR) ||
            (x->error_status && x->reset_stream)) {
            /* A malformed request (RFC 9113 §8.1.1): a stream error. */
            nghttp2_submit_rst_stream(h2mem_session(cc), NGHTTP2_FLAG_NONE, x->stream_id, x->rst_code);
            x->out_state = XOUT_DONE;
            return;
        }
        if (x->error_status || xchg_head_ready(x)) {
            x->head_sent_at = ev_now(cc->w->loop);
            if (cc->w->cfg->accesslog_write_early)
                xchg_log_access(x);
            if (h2resp_submit(cc, x) != 0)
                nghttp2_submit_rst_stream(h2mem_session(cc), NGHTTP2_FLAG_NONE, x->stream_id,
                                          NGHTTP2_INTERNAL_ERROR);
        }
        return;
    }
    /* A pipe whose far side ended (END_STREAM sent) and then broke while
     * the client still sends: the client's side is reset too. */
    bool pipe_broke = xchg_out_done(x) && is_pipe(x) && !xchg_req_ended(x) && !x->pipe_reset;
    if (x->error_status && (!xchg_out_done(x) || pipe_broke)) {
        /* Headers went out already: all we can say now is a reset. */
        nghttp2_submit_rst_stream(h2mem_session(cc), NGHTTP2_FLAG_NONE, x->stream_id,
                                  x->rst_code ? x->rst_code : NGHTTP2_INTERNAL_ERROR);
        x->out_state = XOUT_DONE;
        x->pipe_reset = true;
        return;
    }
    if (bufq_len(&x->resp_body) && x->out_wait_since == 0) {
        x->out_wait_since = ev_now(cc->w->loop);
        cconn_deadline(cc, cc->w->cfg->stream_write_timeout);
    }
    if (x->deferred) {
        x->deferred = false;
        nghttp2_session_resume_data(h2mem_session(cc), x->stream_id);
    }
}


/* ---- the glue ---- */

void h2srv_global_init(const struct config *cfg)
{
    (void)cfg;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_h2_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_h2_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_h2_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_h2_frame_send);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_h2_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_h2_stream_close);
    nghttp2_session_callbacks_set_send_data_callback(callbacks, h2resp_send_data);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, on_h2_frame_not_sent);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, on_h2_invalid_frame);
    h2prio_global_init(callbacks);
}

void h2srv_global_cleanup(void)
{
    nghttp2_session_callbacks_del(callbacks);
    callbacks = NULL;
}

nghttp2_option *h2srv_option_new(const struct config *cfg)
{
    nghttp2_option *option;
    if (nghttp2_option_new(&option) != 0) {
        log_error("out of memory for HTTP/2 session options");
        abort();
    }
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_option_set_no_closed_streams(option, 1);
    /* Rapid-reset defence (CVE-2023-44487): a burst of 1000 resets, then
     * 33 per second, as nghttpx. */
    nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
    nghttp2_option_set_max_continuations(option, 8);
    nghttp2_option_set_max_settings(option, 32);
    /* Unsent PING and SETTINGS ACKs past this are a flood (h2abuse.c
     * counts on the same number). */
    nghttp2_option_set_max_outbound_ack(option, 1000);
    /* nghttp2 uses the smaller of this and the client's
     * SETTINGS_HEADER_TABLE_SIZE; below 4096 the first header block
     * announces it with a dynamic table size update. */
    nghttp2_option_set_max_deflate_dynamic_table_size(
        option, cfg->frontend_http2_encoder_dynamic_table_size);
    h2prio_option(option);
    return option;
}

static double goaway_close(struct cconn *cc, uint32_t code, const char *why);

/* RFC 9113 §9.2.2: a TLS 1.2 suite HTTP/2 forbids (--ciphers allowed it
 * for HTTP/1.1 clients) ends the session before any request. */
static void refuse_suite(struct cconn *cc)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(cc->sock.ssl);
    log_notice("c%" PRIu64 " TLS suite %s is not allowed for HTTP/2 (RFC 9113 section 9.2.2; "
               "--no-http2-cipher-block-list allows it)",
               cc->xc.facts.conn_id, c ? SSL_CIPHER_get_name(c) : "?");
    goaway_close(cc, NGHTTP2_INADEQUATE_SECURITY, "TLS suite forbidden for HTTP/2");
}

int h2srv_start(struct cconn *cc)
{
    const struct config *cfg = cc->w->cfg;
    struct h2srv *h = &cc->p.h2;
    cconn_set_proto(cc, CC_H2, &h2_ops, &h2_xchg_ops);
    memset(h, 0, sizeof(*h));
    if (h2mem_session_new(cc, callbacks, cc->w->h2srv_option) != 0)
        return H2G_ERR_NOMEM;
    h2abuse_init(cc);
    h2prio_start(cc);
    /* RFC 9113 §6.5.2 counts 32 octets per field on top of name and
     * value; our limits count names and values only. Advisory: larger
     * blocks get 431. */
    size_t max_list = cfg->request_header_field_buffer + 32 * cfg->max_request_header_fields;
    nghttp2_settings_entry iv[6] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->frontend_http2_max_concurrent_streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)cfg->frontend_http2_window_size },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, max_list > UINT32_MAX ? UINT32_MAX : (uint32_t)max_list },
        /* RFC 9218 scheduling (h2prio.h), with or without the client's
         * own setting: no fallback to RFC 7540 priorities. */
        { NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
    };
    size_t num_iv = 4;
    /* RFC 8441: WebSocket over HTTP/2; left off with --no-http2-websocket
     * (nghttp2 then refuses :protocol). */
    if (!cfg->no_http2_websocket)
        iv[num_iv++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 };
    /* nghttp2 gives its decoder this table size when the client
     * acknowledges the frame; one below 4096 must then open the client's
     * next header block as a size update. A size past 32 bits (nghttpx
     * takes them too, and truncates) goes out as the largest there is. */
    size_t table = cfg->frontend_http2_decoder_dynamic_table_size;
    if (table != NGHTTP2_DEFAULT_HEADER_TABLE_SIZE)
        iv[num_iv++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE,
                                                 table > UINT32_MAX ? UINT32_MAX : (uint32_t)table };
    nghttp2_submit_settings(h2mem_session(cc), NGHTTP2_FLAG_NONE, iv, num_iv);
    if (cfg->frontend_http2_connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        nghttp2_session_set_local_window_size(h2mem_session(cc), NGHTTP2_FLAG_NONE, 0,
                                              cfg->frontend_http2_connection_window_size);
    if (cc->w->shutting_down)
        nghttp2_submit_shutdown_notice(h2mem_session(cc));
    h->idle_since = ev_now(cc->w->loop);
    cconn_deadline(cc, cfg->frontend_keep_alive_timeout);
    cconn_deadline(cc, cfg->frontend_http2_read_timeout);
    cconn_deadline(cc, h2mem_delay(cc));
    if (cc->sock.ssl && !cfg->no_http2_cipher_block_list && !tls_h2_suite_ok(cc->sock.ssl))
        refuse_suite(cc);
    return 0;
}

/* Nothing more is read: the GOAWAY goes out, then h2_drained closes
 * (nghttp2 wants neither read nor write once it is sent), whatever the
 * open streams; a client that does not read it is closed a second later
 * (h2_timeout). */
static void stop_reading(struct cconn *cc)
{
    cc->closing = true;
    cconn_pause_read(cc);
    cc->p.h2.close_at = ev_now(cc->w->loop) + 1.;
    cconn_deadline(cc, 1.);
}

static void h2_recv(struct cconn *cc, const char *p, size_t len)
{
    struct h2srv *h = &cc->p.h2;
    const uint8_t *in = (const uint8_t *)p;
    ssize_t rv = 0;
    /* Frame by frame, so that h2abuse sees every frame header (nghttp2
     * hides those it ignores) with the session state of its turn. */
    while (len > 0 && !h->abuse.tripped) {
        size_t n = h2abuse_scan(cc, in, len);
        if (n == 0)
            break;
        rv = nghttp2_session_mem_recv(h2mem_session(cc), in, n);
        if (rv < 0)
            break;
        in += n;
        len -= n;
    }
    if (h->abuse.conn_error) {
        goaway_close(cc, h->abuse.conn_error, "frame not allowed on stream 0");
        return;
    }
    if (h->abuse.tripped) {
        stop_reading(cc); /* the frame that tipped it never reached nghttp2 */
        return;
    }
    if (rv >= 0) {
        /* A client that never reads makes nghttp2 queue what it answers
         * by itself; a reader never has this many frames waiting. */
        if (nghttp2_session_get_outbound_queue_size(h2mem_session(cc)) > h2abuse_max_queued_frames(cc)) {
            h2abuse_trip(cc, STATS_GLITCH_OUTPUT_QUEUE);
            cconn_close(cc, "HTTP/2 output queue over its cap");
        }
        return;
    }
    log_info("c%" PRIu64 " HTTP/2 error: %s", cc->xc.facts.conn_id, nghttp2_strerror((int)rv));
    enum stats_glitch kind = h2abuse_recv_error_kind(cc, (int)rv);
    if (kind == STATS_GLITCH_FLOOD) {
        /* Its ACKs are not being read: a GOAWAY would not be either. */
        stats_glitch(cc->w->stats, kind);
        h2abuse_trip(cc, kind);
        cconn_close(cc, "HTTP/2 flood");
        return;
    }
    if (kind != STATS_NUM_GLITCHES) {
        stats_glitch(cc->w->stats, kind);
        h2abuse_trip(cc, kind);
        stop_reading(cc);
        return;
    }
    if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC || rv == NGHTTP2_ERR_CALLBACK_FAILURE ||
        rv == NGHTTP2_ERR_NOMEM) {
        cconn_close(cc, "HTTP/2 fatal error");
        return;
    }
    /* nghttp2 may have queued a GOAWAY; if it did not, this one goes. */
    nghttp2_session_terminate_session(h2mem_session(cc), NGHTTP2_PROTOCOL_ERROR);
    stop_reading(cc);
}

static bool h2_eof(struct cconn *cc)
{
    (void)cc;
    return true;
}

/* A pipe whose stream ended cleanly both ways while its upstream still
 * has the client's last bytes to write (a slow target, a window's worth
 * of them): it stays until they are written (each write marks cc, see
 * xc_consumed) and the FIN has followed, or its upstream fails. */
static bool pipe_flushing(const struct xchg *x)
{
    return is_pipe(x) && x->up && !x->error_status && bufq_len(&x->req_body) > 0;
}

/* Frees the exchanges of streams nghttp2 has closed. */
static void reap_closed(struct cconn *cc)
{
    struct h2srv *h = &cc->p.h2;
    struct xchg **pp = &h->closed;
    while (*pp) {
        struct xchg *x = *pp;
        if (pipe_flushing(x)) {
            pp = &x->next_closed;
            continue;
        }
        *pp = x->next_closed;
        if (x->req_unconsumed && !is_pipe(x))
            nghttp2_session_consume_connection(h2mem_session(cc), x->req_unconsumed);
        cconn_xchg_free(cc, x);
    }
}

static bool h2_produce(struct cconn *cc)
{
    reap_closed(cc);
    /* A sleeping session has nothing to send (it went to sleep with
     * nothing, and nothing has called it since): left asleep. */
    while (!h2mem_asleep(cc) && bufq_len(&cc->out) < OUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h2mem_session(cc), &data);
        if (n < 0) {
            log_info("c%" PRIu64 " HTTP/2 send error: %s", cc->xc.facts.conn_id,
                     nghttp2_strerror((int)n));
            cconn_close(cc, "HTTP/2 send error");
            return false;
        }
        if (n == 0)
            break;
        bufq_append(&cc->out, data, (size_t)n);
        if (!cc->p.h2.mem_used) {
            /* With the sleep off: pages to give back once idle again. */
            cc->p.h2.mem_used = true;
            cconn_deadline(cc, h2mem_delay(cc));
        }
    }
    reap_closed(cc);
    return bufq_len(&cc->out) >= OUT_HIGH;
}

/* The session is over once its last frame (a GOAWAY) is out. The client
 * may still be sending (frames after the error, a request that crossed
 * the GOAWAY): a close with them unread would have the kernel reset the
 * connection and drop the GOAWAY before the client reads it, so the
 * close lingers (cconn_linger) until the client has it. Not after
 * GOAWAY(ENHANCE_YOUR_CALM): an abusive client's flood would go on being
 * read for the whole linger, and it has no answer to wait for. */
static void h2_drained(struct cconn *cc)
{
    /* A sleeping session wants to read and has nothing to write (so it
     * went to sleep, h2mem_deadline, and nothing has called it since):
     * not woken to be asked. */
    bool asleep = h2mem_asleep(cc);
    bool wants_read = asleep || nghttp2_session_want_read(h2mem_session(cc));
    bool wants_write = !asleep && nghttp2_session_want_write(h2mem_session(cc));
    if ((!wants_read || (cc->closing && cc->num_xchgs == 0)) && !wants_write) {
        if (cc->p.h2.abuse.tripped)
            cconn_close(cc, "HTTP/2 abuse");
        else
            cconn_linger(cc);
        return;
    }
    if (wants_write)
        cconn_mark(cc);
}

static bool h2_shutdown(struct cconn *cc, enum cconn_shut how)
{
    struct h2srv *h = &cc->p.h2;
    switch (how) {
    case CC_SHUT_NOTICE:
        nghttp2_submit_shutdown_notice(h2mem_session(cc));
        return true;
    case CC_SHUT_FINAL:
        if (h->goaway_final_sent)
            return true;
        h->goaway_final_sent = true;
        nghttp2_submit_goaway(h2mem_session(cc), NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h2mem_session(cc)),
                              NGHTTP2_NO_ERROR, NULL, 0);
        return true;
    }
    return false;
}

/* ---- timeouts (see "Timeouts" in ARCHITECTURE.md) ---- */

static double earlier(double a, double b)
{
    return a < b ? a : b;
}

/* GOAWAY(code), then close once it is out, or a second later. */
static double goaway_close(struct cconn *cc, uint32_t code, const char *why)
{
    struct h2srv *h = &cc->p.h2;
    log_info("c%" PRIu64 " %s: GOAWAY(%s)", cc->xc.facts.conn_id, why,
             nghttp2_http2_strerror(code));
    nghttp2_session_terminate_session(h2mem_session(cc), code);
    stop_reading(cc);
    return h->close_at;
}

/* A stream's own deadlines: its request body stops arriving while h2gate
 * holds none of it (--stream-read-timeout), its response bytes wait
 * unsent (--stream-write-timeout). An expired one cancels the exchange:
 * 408, or RST_STREAM once the head went out; the backend side is freed. */
static double stream_deadline(struct xchg *x, const struct config *cfg, double now)
{
    double at = INFINITY;
    if (x->closed || x->error_status)
        return at;
    if (cfg->stream_read_timeout > 0 && !is_pipe(x) && xchg_req_head_done(x) &&
        !xchg_req_ended(x) && x->req_unconsumed == 0) {
        at = x->in_at + cfg->stream_read_timeout;
        if (at <= now) {
            xchg_cancel(x, 408, "stream read timeout");
            return INFINITY;
        }
    }
    if (cfg->stream_write_timeout > 0 && x->out_wait_since > 0 && bufq_len(&x->resp_body)) {
        double w = x->out_wait_since + cfg->stream_write_timeout;
        if (w <= now) {
            xchg_cancel(x, 408, "stream write timeout");
            return INFINITY;
        }
        at = earlier(at, w);
    }
    return at;
}

/* The connection's deadlines: SETTINGS unacknowledged, no open stream
 * (--frontend-keep-alive-timeout), no frame received while no stream
 * waits for a backend or carries a tunnel (--frontend-http2-read-timeout).
 * Each ends the connection with a GOAWAY. */
static double h2_timeout(struct cconn *cc, double now)
{
    struct h2srv *h = &cc->p.h2;
    const struct config *cfg = cc->w->cfg;
    if (h->close_at > 0) {
        if (h->close_at > now)
            return h->close_at;
        cconn_close(cc, "GOAWAY not delivered");
        return INFINITY;
    }
    double next = INFINITY;
    if (h->settings_since > 0 && cfg->frontend_http2_setting_timeout > 0) {
        double at = h->settings_since + cfg->frontend_http2_setting_timeout;
        if (at <= now)
            return goaway_close(cc, NGHTTP2_SETTINGS_TIMEOUT, "SETTINGS timeout");
        next = at;
    }
    bool waits = false;
    for (struct xchg *x = cc->xchgs; x; x = x->next) {
        next = earlier(next, stream_deadline(x, cfg, now));
        waits |= stream_waits(x);
    }
    if (cc->closing)
        return next;
    next = earlier(next, h2mem_deadline(cc, now));
    if (h->num_open == 0 && h->idle_since > 0 && cfg->frontend_keep_alive_timeout > 0) {
        double at = h->idle_since + cfg->frontend_keep_alive_timeout;
        if (at <= now && bufq_len(&cc->out)) {
            /* The last answer is still going out: idle only from now. */
            h->idle_since = now;
            at = now + cfg->frontend_keep_alive_timeout;
        } else if (at <= now) {
            return goaway_close(cc, NGHTTP2_NO_ERROR, "idle timeout");
        }
        next = earlier(next, at);
    }
    if (!waits && cfg->frontend_http2_read_timeout > 0) {
        double from = cc->last_read > h->wait_ended ? cc->last_read : h->wait_ended;
        double at = from + cfg->frontend_http2_read_timeout;
        if (at <= now)
            return goaway_close(cc, NGHTTP2_NO_ERROR, "read timeout");
        next = earlier(next, at);
    }
    return next;
}

static bool h2_may_read(struct cconn *cc)
{
    (void)cc;
    return true;
}

static void h2_cleanup(struct cconn *cc)
{
    struct h2srv *h = &cc->p.h2;
    /* Deleting the session would call on_stream_close for nothing we
     * track: free the exchanges ourselves first. */
    for (struct xchg *x = cc->xchgs; x; x = x->next) {
        if (!x->closed)
            nghttp2_session_set_stream_user_data(h2mem_session(cc), x->stream_id, NULL);
    }
    h->closed = NULL;
    while (cc->xchgs)
        cconn_xchg_free(cc, cc->xchgs);
    h2mem_session_del(cc);
}

static void xc_consumed(struct xchg *x, size_t n)
{
    struct cconn *cc = cconn_of(x);
    x->req_unconsumed -= n;
    if (is_pipe(x)) {
        /* Its connection credit went back on arrival. */
        nghttp2_session_consume_stream(h2mem_session(cc), x->stream_id, n);
        h2win_consumed(cc, x, n);
    } else {
        nghttp2_session_consume(h2mem_session(cc), x->stream_id, n);
    }
    x->in_at = ev_now(cc->w->loop);
    cconn_deadline(cc, cc->w->cfg->stream_read_timeout);
    cconn_mark(cc);
}

static void xc_send_continue(struct xchg *x)
{
    static const nghttp2_nv nv = { (uint8_t *)":status", (uint8_t *)"100", 7, 3,
                                   NGHTTP2_NV_FLAG_NONE };
    nghttp2_submit_headers(session_of(x), NGHTTP2_FLAG_NONE, x->stream_id, NULL, &nv, 1, NULL);
    cconn_mark(cconn_of(x));
}
