#include "proxy/bsess.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/hdrs.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* Request body bytes kept per exchange so a refused stream can be sent
 * again; a longer body makes the exchange fail instead of retrying. */
#define REPLAY_MAX (64 * 1024)
#define MAX_RETRIES UPOOL_H2_MAX_RETRIES

static const struct upstream_ops stream_ops;

struct bstream *bstream_new(struct worker *w, const struct cfg_backend *be, struct xchg *x)
{
    const struct config *cfg = w->cfg;
    struct bstream *bs = xcalloc(1, sizeof(*bs));
    bs->up.ops = &stream_ops;
    bs->w = w;
    bs->be = be;
    bs->queued_at = ev_now(w->loop);
    hdrs_init(&bs->req_hdrs, cfg->request_header_field_buffer + 1024,
              cfg->max_request_header_fields + 16);
    bufq_init(&bs->replay, &w->pool);
    struct xlate_req r = { 0 };
    xchg_xlate_req(x, &r);
    r.scheme = x->i_scheme >= 0 ? hdrs_value(&x->req, (size_t)x->i_scheme)
               : x->cl->facts.tls ? STR_LIT("https")
                                  : STR_LIT("http");
    r.content_length =
        hdrs_find(&x->req, STR_LIT("content-length")) >= 0 ? x->req_content_length : -1;
    if (r.authority.len == 0) {
        /* An HTTP/2 request may carry Host instead of :authority. */
        long i = hdrs_find(&x->req, STR_LIT("host"));
        if (i >= 0)
            r.authority = hdrs_value(&x->req, (size_t)i);
    }
    struct xlate_opts o = {
        .via = !cfg->no_via,
        .xff = cfg->add_x_forwarded_for,
        .strip_xff = cfg->strip_incoming_x_forwarded_for,
    };
    if (xlate_req_h2(&bs->req_hdrs, &r, &o) < 0) {
        bstream_free(bs);
        return NULL;
    }
    xchg_link(x, &bs->up);
    return bs;
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
    hdrs_cleanup(&bs->req_hdrs);
    bufq_cleanup(&bs->replay);
    free(bs);
}

void bstream_fail(struct bstream *bs, int status, const char *why, bool connect_failed)
{
    struct xchg *x = bs->up.x;
    const struct cfg_backend *be = bs->be;
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
        return bs->retries < MAX_RETRIES;
    if (bs->close_code != NGHTTP2_REFUSED_STREAM)
        return false;
    /* A reset says REFUSED_STREAM: one more try. A GOAWAY closes streams
     * above its last-stream-id with the same code: those may go on. */
    return bs->got_rst ? bs->retries == 0 : bs->retries < MAX_RETRIES;
}

void bstream_done(struct bsess *s, struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    if (!x) {
        bstream_free(bs);
        return;
    }
    if (xchg_resp_ended(x) && !bs->not_sent) {
        xchg_unlink(x);
        bstream_free(bs);
        return;
    }
    if (can_retry(bs)) {
        bs->retries++;
        stats_backend_retry(s->w->stats, (long)bs->be->index);
        log_info("backend %s:%u h2 session %" PRIu64 " s%d %s: retrying", s->be->host,
                 s->be->port, s->id, bs->stream_id,
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
    } else {
        snprintf(why, sizeof(why), "%s",
                 bs->why                       ? bs->why
                 : bs->close_code != NGHTTP2_NO_ERROR ? "malformed response"
                                                      : "response ended early");
        x->rst_code = NGHTTP2_INTERNAL_ERROR;
    }
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
    }
    if (again && bs->retries < MAX_RETRIES) {
        bs->retries++;
        upool_h2_retry(bs, s);
        return;
    }
    bstream_fail(bs, status, why, connect_failed && !was_ready);
}
