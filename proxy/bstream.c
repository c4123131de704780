#include "proxy/bsess.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/log.h"
#include "common/spares.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/forwarded.h"
#include "proxy/hdrs.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* Request body bytes kept per exchange so a refused stream can be sent
 * again; a longer body makes the exchange fail instead of retrying. */
#define REPLAY_MAX (64 * 1024)

static const struct upstream_ops stream_ops;
static void on_ws_idle(struct ev_loop *loop, ev_timer *t, int revents);

/* Spare streams (common/spares.h), with the first storage of their
 * request field list, as for exchanges (xchg.c). */
#define SPARE_FLOOR 64
#define SPARE_MAX 8192

static void spare_destroy(void *obj)
{
    struct bstream *bs = obj;
    hdrs_cleanup(&bs->req_hdrs);
    free(bs);
}

void bstream_spares_init(struct worker *w)
{
    spares_init(&w->bstream_spares, offsetof(struct bstream, next_spare), SPARE_FLOOR,
                SPARE_MAX, spare_destroy);
}

/* A zeroed stream with an empty request field list: a spare's storage
 * kept. */
static struct bstream *stream_alloc(struct worker *w)
{
    const struct config *cfg = w->cfg;
    size_t max_bytes = cfg->request_header_field_buffer + XLATE_H2_BYTES_SLACK;
    size_t max_fields = cfg->max_request_header_fields + XLATE_H2_FIELDS_SLACK;
    struct bstream *bs = spares_take(&w->bstream_spares);
    if (!bs) {
        bs = xcalloc(1, sizeof(*bs));
        hdrs_init(&bs->req_hdrs, max_bytes, max_fields);
        return bs;
    }
    struct hdrs h = bs->req_hdrs;
    memset(bs, 0, sizeof(*bs));
    bs->req_hdrs = h;
    hdrs_reinit(&bs->req_hdrs, max_bytes, max_fields);
    return bs;
}

struct bstream *bstream_new(struct worker *w, const struct cfg_backend *be, struct xchg *x)
{
    struct bstream *bs = stream_alloc(w);
    bs->up.ops = &stream_ops;
    bs->w = w;
    bs->be = be;
    bs->queued_at = ev_now(w->loop);
    bufq_init(&bs->replay, &w->pool);
    struct xlate_req r = { 0 };
    struct xlate_opts o;
    char fwd[FWD_ELEMENT_MAX], host[XLATE_HOSTPORT_MAX];
    xchg_xlate_req(x, &r, &o, fwd, host);
    r.scheme = x->i_scheme >= 0 ? hdrs_value(&x->req, (size_t)x->i_scheme)
               : x->cl->facts.tls ? STR_LIT("https")
                                  : STR_LIT("http");
    r.content_length =
        hdrs_find(&x->req, STR_LIT("content-length")) >= 0 ? x->req_content_length : -1;
    if (x->websocket) {
        /* RFC 8441 §4 (xlate_req_h2): the stream's DATA is the WebSocket. */
        r.websocket = bs->ws = true;
        r.content_length = -1;
    }
    ev_timer_init(&bs->ws_timer, on_ws_idle, 1., 0.);
    bs->ws_timer.data = bs;
    if (xlate_req_h2(&bs->req_hdrs, &r, &o) < 0) {
        bstream_free(bs);
        return NULL;
    }
    xchg_link(x, &bs->up);
    return bs;
}

/* An open WebSocket moved n bytes: up (to the backend) or down. */
static void ws_count(struct bstream *bs, bool up, size_t n)
{
    struct xchg *x = bs->up.x;
    if (!bs->ws_open || n == 0)
        return;
    bs->ws_active = ev_now(bs->w->loop);
    stats_ws_bytes(bs->w->stats, up ? STATS_WS_TO_BACKEND : STATS_WS_TO_CLIENT, n);
    if (x)
        *(up ? &x->tun_bytes_up : &x->tun_bytes_down) += n;
}

static void stream_pump(struct upstream *up)
{
    struct bstream *bs = container_of(up, struct bstream, up);
    if (!bs->s || bs->s->state == BS_DEAD || !bs->deferred || bs->stream_id <= 0)
        return;
    bs->deferred = false;
    nghttp2_session_resume_data(bs->s->h2, bs->stream_id);
    bsess_mark(bs->s);
}

/* Credit for exactly what the client took. */
static void stream_drained(struct upstream *up)
{
    struct bstream *bs = container_of(up, struct bstream, up);
    struct xchg *x = up->x;
    if (!bs->s || bs->s->state == BS_DEAD)
        return;
    size_t held = bufq_len(&x->resp_body);
    if (bs->unconsumed <= held)
        return;
    size_t taken = bs->unconsumed - held;
    bs->unconsumed = held;
    ws_count(bs, false, taken);
    nghttp2_session_consume(bs->s->h2, bs->stream_id, taken);
    bsess_mark(bs->s);
}

/* The exchange is gone: leave the queue, or the session. */
static void stream_abandon(struct upstream *up)
{
    struct bstream *bs = container_of(up, struct bstream, up);
    if (bs->s) {
        bsess_cancel(bs->s, bs);
        return;
    }
    upool_h2_dequeue(bs->w, bs);
    bstream_free(bs);
}

static const struct upstream_ops stream_ops = {
    .pump = stream_pump,
    .drained = stream_drained,
    .abandon = stream_abandon,
};

void bstream_free(struct bstream *bs)
{
    ev_timer_stop(bs->w->loop, &bs->ws_timer);
    if (bs->ws_open) {
        double dur = ev_now(bs->w->loop) - bs->ws_start;
        log_info("WebSocket to " CFG_BE_FMT " (HTTP/2) closed after %.3fs", CFG_BE_ARGS(bs->be),
                 dur);
        stats_ws_closed(bs->w->stats, dur);
    }
    bufq_cleanup(&bs->replay);
    if (!hdrs_storage_small(&bs->req_hdrs) || !spares_put(&bs->w->bstream_spares, bs))
        spare_destroy(bs);
}

void bstream_fail(struct bstream *bs, int status, const char *why, bool connect_failed)
{
    struct xchg *x = bs->up.x;
    const struct cfg_backend *be = bs->be;
    if (bs->ws_open)
        x->rst_code = NGHTTP2_CONNECT_ERROR; /* RFC 9113 §8.5 */
    xchg_unlink(x);
    bstream_free(bs);
    upool_failed(x, be, status, why, connect_failed ? UPOOL_RETRY_NEXT : UPOOL_RETRY_NONE);
}

void bstream_reset(struct bstream *bs)
{
    bs->stream_id = 0;
    bs->headers_sent = bs->not_sent = bs->deferred = bs->got_head = bs->got_rst = false;
    bs->closed = bs->in_done = false;
    bs->status = 0;
    bs->rst_code = bs->close_code = 0;
    bs->why = NULL;
    bs->unconsumed = 0;
    bs->s = NULL;
}

/* ---- the request body, as nghttp2 sends it ---- */

ssize_t bstream_read_body(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *src, void *ud)
{
    (void)buf;
    (void)ud;
    struct bstream *bs = src->ptr;
    struct xchg *x = bs->up.x;
    if (!x)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t avail = bufq_len(&x->req_body);
    if (avail == 0 && !xchg_req_ended(x)) {
        bs->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    if (n)
        *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && xchg_req_ended(x)) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (x->req_trailers.num) {
            struct xlate_nv nv;
            xlate_nv_init(&nv);
            xlate_nv_add_hdrs(&nv, &x->req_trailers, XLATE_TRAILER, NGHTTP2_NV_FLAG_NONE);
            if (nv.num && nghttp2_submit_trailer(h2, stream_id, nv.v, nv.num) == 0)
                *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            xlate_nv_cleanup(&nv);
        }
    }
    return (ssize_t)n;
}

/* DATA payload goes from the exchange's buffer straight to the socket
 * queue. Credit goes back to the client here, when the backend session
 * has taken the bytes. */
int bstream_send_data(nghttp2_session *h2, nghttp2_frame *f, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *src, void *ud)
{
    (void)h2;
    (void)f;
    struct bsess *s = ud;
    struct bstream *bs = src->ptr;
    struct xchg *x = bs->up.x;
    if (!x || bufq_len(&x->req_body) < length)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    bufq_append(&s->out, framehd, 9);
    bufq_copy(&s->out, &x->req_body, length);
    if (!bs->replay_overflow) {
        if (bufq_len(&bs->replay) + length <= REPLAY_MAX) {
            bufq_copy(&bs->replay, &x->req_body, length);
        } else {
            bs->replay_overflow = true;
            bufq_cleanup(&bs->replay);
        }
    }
    bufq_drain(&x->req_body, length);
    ws_count(bs, true, length);
    size_t again = length < bs->replay_len ? length : bs->replay_len;
    bs->replay_len -= again;
    if (length > again)
        xchg_req_consumed(x, length - again);
    return 0;
}

/* ---- a closed stream ---- */

static bool can_retry(const struct bstream *bs)
{
    const struct xchg *x = bs->up.x;
    if (bs->got_head || xchg_head_ready(x) || bs->replay_overflow)
        return false;
    if (bs->not_sent)
        return bs->retries < UPOOL_H2_MAX_REFUSED;
    if (bs->close_code != NGHTTP2_REFUSED_STREAM)
        return false;
    /* A reset says REFUSED_STREAM: one more try. A GOAWAY closes streams
     * above its last-stream-id with the same code: those may go on. */
    return bs->got_rst ? bs->retries == 0 : bs->retries < UPOOL_H2_MAX_REFUSED;
}

void bstream_done(struct bsess *s, struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    if (!x) {
        bstream_free(bs);
        return;
    }
    /* A WebSocket's backend may end its side and then reset (Node does,
     * END_STREAM then RST_STREAM): a reset all the same for the client,
     * which may still be sending. */
    bool ws_reset = bs->ws_open && bs->got_rst && bs->rst_code != NGHTTP2_NO_ERROR;
    if (xchg_resp_ended(x) && !bs->not_sent && !ws_reset) {
        xchg_unlink(x);
        bstream_free(bs);
        return;
    }
    if (can_retry(bs)) {
        bs->retries++;
        stats_backend_retry(s->w->stats, (long)bs->be->index);
        log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 " s%d %s: retrying",
                 CFG_BE_ARGS(s->be), s->id, bs->stream_id,
                 bs->not_sent ? "not sent" : "refused");
        upool_h2_retry(bs, s);
        return;
    }
    char why[96];
    if (bs->got_rst) {
        snprintf(why, sizeof(why), "backend reset the stream (%s)",
                 nghttp2_http2_strerror(bs->rst_code));
        if (x->proto == XCHG_H2) {
            x->rst_code = xlate_rst_code(bs->rst_code);
            x->reset_stream = true;
        }
    } else if (!bs->why && !bs->got_head &&
               (bs->not_sent || bs->close_code == NGHTTP2_REFUSED_STREAM)) {
        snprintf(why, sizeof(why), "the backend refused the stream %d times", bs->retries + 1);
        x->rst_code = NGHTTP2_INTERNAL_ERROR;
    } else {
        snprintf(why, sizeof(why), "%s",
                 bs->why                       ? bs->why
                 : bs->close_code != NGHTTP2_NO_ERROR ? "malformed response"
                                                      : "response ended early");
        x->rst_code = NGHTTP2_INTERNAL_ERROR;
    }
    if (bs->ws_open)
        x->rst_code = NGHTTP2_CONNECT_ERROR; /* RFC 8441 §3, RFC 9113 §8.5 */
    xchg_unlink(x);
    bstream_free(bs);
    hdrs_reset(&x->interim);
    x->interim_status = 0;
    xchg_fail(x, 502, why);
}

/* The connection broke under a stream the backend has said nothing about:
 * it may never have read it (a GOAWAY naming a lower stream, then a close,
 * crossed our HEADERS and was lost with the reset). An idempotent request
 * (RFC 9110 §9.2.2) may go again, as a reused HTTP/1.1 connection's does. */
static bool may_resend(const struct bsess *s, const struct bstream *bs)
{
    if (!s->lost || bs->status || bs->got_head || bs->got_rst)
        return false;
    static const struct str idempotent[] = { STR_LIT("GET"), STR_LIT("HEAD"), STR_LIT("OPTIONS"),
                                             STR_LIT("PUT"), STR_LIT("DELETE"), STR_LIT("TRACE") };
    struct str m = xchg_method(bs->up.x);
    for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++) {
        if (str_eq(m, idempotent[i]))
            return true;
    }
    return false;
}

/* The session s died (was_ready: after its handshake; s->lost: the
 * connection broke) under bs, held (checked for liveness, never sent) or
 * in flight: send it again on another session, or fail it. */
void bstream_orphaned(struct bstream *bs, struct bsess *s, bool held, bool was_ready, int status,
                      const char *why, bool connect_failed)
{
    bs->next = NULL;
    bs->s = NULL;
    struct xchg *x = bs->up.x;
    if (!x) {
        bstream_free(bs);
        return;
    }
    bool again;
    int cap = UPOOL_H2_MAX_REFUSED; /* never sent: the backend never saw it */
    if (held) {
        /* A backend that never sent SETTINGS does not speak HTTP/2 (or
         * refused us): its streams fail. */
        again = was_ready && s->got_settings;
    } else if (xchg_resp_ended(x)) {
        xchg_unlink(x);
        bstream_free(bs);
        return;
    } else {
        again = was_ready && !bs->replay_overflow && (!bs->headers_sent || may_resend(s, bs));
        if (bs->headers_sent)
            cap = UPOOL_H2_MAX_RESENDS;
    }
    if (again && bs->retries < cap) {
        bs->retries++;
        upool_h2_retry(bs, s);
        return;
    }
    bstream_fail(bs, status, why, connect_failed && !was_ready);
}

/* ---- the response head ---- */

/* One field of bs's response (head, interim or trailers), as nghttp2
 * gives it (names lower-case, values checked). Returns 0, or
 * NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE when the fields are over the
 * limits (bs->why says which). */
int bstream_header(struct bstream *bs, struct str n, struct str v)
{
    struct xchg *x = bs->up.x;
    if (bs->got_head) {
        if (!xlate_trailer_ok(n))
            return 0;
        if (hdrs_add(&x->resp_trailers, n, v, false) < 0) {
            bs->why = "response trailer fields too large";
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return 0;
    }
    if (str_eq(n, STR_LIT(":status"))) {
        /* nghttp2 checked it is three digits; status codes are 100-599
         * (RFC 9110 §15). */
        bs->status = (v.p[0] - '0') * 100 + (v.p[1] - '0') * 10 + (v.p[2] - '0');
        if (bs->status < 100 || bs->status > 599) {
            bs->why = "response status outside 100-599";
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        if (bs->status / 100 == 1)
            hdrs_reset(&x->interim);
        return 0;
    }
    if (n.len && n.p[0] == ':')
        return 0;
    if (bs->status / 100 == 1) {
        if (hdrs_add(&x->interim, n, v, false) < 0)
            hdrs_reset(&x->interim); /* too big to forward: the status alone */
        return 0;
    }
    if (hdrs_add(&x->resp, n, v, false) < 0) {
        bs->why = "response header fields too large";
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}


/* bs's response head is complete: the exchange learns its status and
 * length, a WebSocket its 2xx. */
void bstream_head_done(struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    bs->got_head = true;
    x->status = bs->status;
    x->resp_content_length = -1;
    long i = hdrs_find(&x->resp, STR_LIT("content-length"));
    if (i >= 0) {
        /* nghttp2 checked it is a number (and will check the DATA). */
        struct str v = hdrs_value(&x->resp, (size_t)i);
        int64_t cl = 0;
        for (size_t k = 0; k < v.len && v.p[k] >= '0' && v.p[k] <= '9'; k++)
            cl = cl * 10 + (v.p[k] - '0');
        x->resp_content_length = cl;
    }
    if (bs->ws)
        bstream_ws_head(bs);
    upool_resp_head(x);
    x->resp_state = XRESP_HEAD;
}

/* ---- extended CONNECT (RFC 8441) ---- */

/* RFC 6455 §4.2.2: an HTTP/1.1 client checks Sec-WebSocket-Accept, which
 * an HTTP/2 backend does not send (RFC 8441 §5): computed from the
 * client's key (upool.c checked there is one). Returns false when the
 * response's caps leave no room for it. */
static bool add_accept(struct xchg *x)
{
    long i = hdrs_find(&x->req, STR_LIT("sec-websocket-key"));
    if (i < 0)
        return false;
    char acc[XLATE_WS_ACCEPT_LEN + 1];
    size_t n = xlate_ws_accept(str_trim(hdrs_value(&x->req, (size_t)i)), acc);
    return hdrs_add(&x->resp, STR_LIT("sec-websocket-accept"), str_make(acc, n), false) == 0;
}

void bstream_ws_head(struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    struct worker *w = bs->w;
    /* Anything but 2xx refuses: relayed as the response. */
    if (bs->status / 100 != 2)
        return;
    if (x->proto != XCHG_H2 && !add_accept(x)) {
        log_info("backend " CFG_BE_FMT ": no room for Sec-WebSocket-Accept: relayed as a refusal",
                 CFG_BE_ARGS(bs->be));
        return;
    }
    x->status = 101; /* the exchange's "switched" (xchg-t.h) */
    x->resp_content_length = -1;
    bs->ws_open = true;
    bs->ws_start = bs->ws_active = ev_now(w->loop);
    /* Never sent again now: no replay copy of WebSocket bytes. */
    bs->replay_overflow = true;
    bufq_cleanup(&bs->replay);
    stats_ws_opened(w->stats);
    ev_timer_set(&bs->ws_timer, w->cfg->tunnel_idle_timeout, 0.);
    ev_timer_start(w->loop, &bs->ws_timer);
    log_info("c%" PRIu64 " s%d WebSocket to " CFG_BE_FMT " (HTTP/2 s%d) open", x->cl->facts.conn_id,
             x->stream_id, CFG_BE_ARGS(bs->be), bs->stream_id);
}

/* --tunnel-idle-timeout, as for a WebSocket over an HTTP/1.1 backend: the
 * backend stream is reset (CANCEL), the client's with CONNECT_ERROR (or
 * an HTTP/1.1 client's connection closed). */
static void on_ws_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct bstream *bs = t->data;
    double left = bs->ws_active + bs->w->cfg->tunnel_idle_timeout - ev_now(loop);
    if (left > 0) {
        ev_timer_set(t, left, 0.);
        ev_timer_start(loop, t);
        return;
    }
    struct xchg *x = bs->up.x;
    if (!x)
        return;
    x->rst_code = NGHTTP2_CONNECT_ERROR;
    xchg_cancel(x, 504, "WebSocket idle timeout");
}

void bstream_no_ext_connect(struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    log_info("backend " CFG_BE_FMT
             " did not send SETTINGS_ENABLE_CONNECT_PROTOCOL: no WebSocket on it",
             CFG_BE_ARGS(bs->be));
    if (x)
        xchg_unlink(x);
    bstream_free(bs);
    if (x)
        upool_h1_fallback(x);
}
