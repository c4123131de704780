/* HTTP/2 responses to clients, for h2srv.c: the head (the backend's
 * translated, or h2gate's own error page), the body through nghttp2's data
 * provider with no copy (h2resp_send_data), the trailers. See h2resp.h. */
#include "proxy/h2resp.h"

#include <string.h>

#include "common/buf.h"
#include "common/stats.h"
#include "config/config.h"
#include "proxy/auth.h"
#include "proxy/h2mem.h"
#include "proxy/cconn.h"
#include "proxy/gen.h"
#include "proxy/h2prio.h"
#include "proxy/h2push.h"
#include "proxy/hdrs.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

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
    struct xchg *x = src->ptr;
    size_t avail = bufq_len(&x->resp_body);
    if (avail == 0) {
        if (xchg_resp_ended(x)) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            x->out_state = XOUT_DONE;
            submit_h2_trailers(s, stream_id, x, data_flags);
            return 0;
        }
        if (x->error_status)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        x->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    /* A frame carries at most the first block's bytes, so that
     * h2resp_send_data moves that block whole, its header in front. */
    size_t first = bufq_first_len(&x->resp_body);
    size_t n = h2prio_data_len(ud, first ? first : avail, length);
    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && xchg_resp_ended(x)) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        x->out_state = XOUT_DONE;
        submit_h2_trailers(s, stream_id, x, data_flags);
    }
    return (ssize_t)n;
}

/* DATA payload goes from the exchange's buffer to the socket queue with
 * no copy: the block is relinked, the frame header (and Pad Length)
 * written into its headroom (bufq_move_prefixed). */
int h2resp_send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *framehd,
                     size_t length, nghttp2_data_source *src, void *ud)
{
    (void)s;
    struct cconn *cc = ud;
    struct xchg *x = src->ptr;
    size_t padlen = f->data.padlen;
    uint8_t hd[10];
    memcpy(hd, framehd, 9);
    hd[9] = (uint8_t)(padlen - 1);
    bufq_move_prefixed(&cc->out, &x->resp_body, length, hd, padlen ? 10 : 9);
    x->resp_bytes += length;
    x->out_wait_since = bufq_len(&x->resp_body) ? ev_now(cc->w->loop) : 0;
    if (padlen > 1) {
        static const uint8_t zeros[256];
        bufq_append(&cc->out, zeros, padlen - 1);
    }
    xchg_resp_drained(x);
    return 0;
}

int h2resp_submit(struct cconn *cc, struct xchg *x)
{
    const struct config *cfg = cc->w->cfg;
    struct xlate_resp r = { .content_length = -1 };
    bool bodyless;
    if (x->error_status) {
        char buf[64];
        const char *body;
        size_t bl;
        r.content_type = gen_error_body(x->gen->g, x->error_status, buf, &body, &bl);
        bodyless = x->head_request;
        bufq_cleanup(&x->resp_body); /* whatever a failed backend left */
        if (!bodyless)
            bufq_append(&x->resp_body, body, bl);
        x->resp_state = XRESP_END;
        r.status = x->error_status;
        r.content_length = (int64_t)bl;
        r.proxy_status = x->proxy_status;
        r.auth_challenge = x->auth_challenge ? auth_challenge() : NULL;
        r.location = x->location;
    } else {
        /* RFC 8441 §5: the backend's 101 is the client's 200. */
        bool ws_open = x->websocket && x->status == 101;
        /* A response that ended at its head (the backend's HEADERS with
         * END_STREAM) goes out the same way, one HEADERS frame with
         * END_STREAM: gRPC's Trailers-Only form, where an error status
         * travels, must not become a head and an empty DATA frame, or
         * the client finds no status. */
        bool ended = xchg_resp_ended(x) && bufq_len(&x->resp_body) == 0 &&
                     x->resp_trailers.num == 0;
        bodyless = !ws_open && (ended || xlate_resp_bodyless(x->status, x->head_request));
        r.status = ws_open ? 200 : x->status;
        r.hdrs = &x->resp;
        if (!cfg->no_via)
            r.backend_proto = x->backend && x->backend->proto == CFG_PROTO_H2
                                  ? "2"
                                  : "1.1";
    }
    xlate_resp_config(&r, cfg, true);
    if ((x->is_connect || x->websocket) && !x->error_status)
        r.altsvc = NULL;    /* a tunnel's 200 (a WebSocket's too) */
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_resp_h2(&nv, &r);
    if (x->websocket && (x->error_status || x->status != 101))
        stats_ws_refused(cc->w->stats);
    h2push_response(cc, x); /* PUSH_PROMISE goes before the head it comes with */
    nghttp2_data_provider prd = { .source.ptr = x, .read_callback = on_h2_read_body };
    int rv = nghttp2_submit_response(h2mem_session(cc), x->stream_id, nv.v, nv.num, bodyless ? NULL : &prd);
    xlate_nv_cleanup(&nv);
    if (rv == 0)
        h2prio_response_head(cc, x);
    x->sent_status = r.status;
    x->out_state = XOUT_HEAD;
    if (bodyless)
        x->out_state = XOUT_DONE;
    return rv;
}
