#include "proxy/h2prio.h"

#include <inttypes.h>

#include "common/log.h"
#include "config/config.h"
#include "proxy/h2mem.h"
#include "proxy/cconn.h"
#include "proxy/extpri.h"
#include "proxy/hdrs.h"
#include "proxy/sock.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

/* A padded frame carries the Pad Length byte and at most 255 bytes. */
#define MAX_PADLEN 256

static size_t pad_of(const struct cconn *cc)
{
    size_t n = cc->w->cfg->padding;
    return n < MAX_PADLEN ? n : MAX_PADLEN;
}

/* nghttp2 asks for the padded payload length of each HEADERS and DATA
 * frame, within [frame length, max_payloadlen]; max_payloadlen keeps the
 * frame under the peer's SETTINGS_MAX_FRAME_SIZE (and a DATA frame
 * within the flow-control windows). */
static ssize_t on_h2_select_padding(nghttp2_session *s, const nghttp2_frame *f,
                                    size_t max_payloadlen, void *ud)
{
    (void)s;
    size_t want = f->hd.length + pad_of(ud);
    return (ssize_t)(want < max_payloadlen ? want : max_payloadlen);
}

void h2prio_global_init(nghttp2_session_callbacks *cb)
{
    nghttp2_session_callbacks_set_select_padding_callback(cb, on_h2_select_padding);
}

void h2prio_option(nghttp2_option *opt)
{
    nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_PRIORITY_UPDATE);
}

void h2prio_start(struct cconn *cc)
{
    /* Without it, a connection's writes fill the socket buffer (megabytes
     * once autotuned) whenever the client reads slower than h2gate
     * produces, and each new response's first bytes wait behind it,
     * whatever its urgency. */
    sock_set_notsent_lowat(&cc->sock, H2PRIO_NOTSENT_MAX);
}

static struct extpri prio_of(const struct xchg *x)
{
    return (struct extpri){ x->prio_urgency, x->prio_incremental };
}

static void set_prio(struct xchg *x, struct extpri p)
{
    x->prio_urgency = p.urgency;
    x->prio_incremental = p.incremental;
}

/* Every field named priority read in order over p; any invalid one
 * spoils the lot (p untouched), as nghttp2 treats the request's. One
 * pass; *present (when not NULL) says whether there was any, valid or
 * not. */
static bool parse_fields(const struct hdrs *h, struct extpri *p, bool *present)
{
    struct extpri next = *p;
    bool any = false, bad = false;
    for (size_t i = 0; i < h->num; i++) {
        if (!str_eq(hdrs_name(h, i), STR_LIT("priority")))
            continue;
        any = true;
        bad = bad || extpri_parse(hdrs_value(h, i), &next) != 0;
    }
    if (present)
        *present = any;
    if (!any || bad)
        return false;
    *p = next;
    return true;
}

void h2prio_request_head(struct xchg *x)
{
    struct cconn *cc = cconn_of(x);
    struct extpri p = { EXTPRI_URGENCY_DEFAULT, false }, parsed = p;
    bool present;
    bool valid = parse_fields(&x->req, &parsed, &present);
    if (present)
        cc->p.h2.rfc9218_seen = true;
    if (!cc->p.h2.rfc9218_seen) {
        /* RFC 7540's default: every stream a share, in turn. */
        p.incremental = true;
        nghttp2_session_change_extpri_stream_priority(
            h2mem_session(cc), x->stream_id, &(nghttp2_extpri){ p.urgency, 1 }, 0);
    } else if (valid) {
        p = parsed;
    }
    set_prio(x, p);
}

void h2prio_settings_recv(struct cconn *cc, const nghttp2_frame *f)
{
    for (size_t i = 0; i < f->settings.niv; i++) {
        if (f->settings.iv[i].settings_id == NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES &&
            f->settings.iv[i].value == 1)
            cc->p.h2.rfc9218_seen = true;
    }
}

void h2prio_update_recv(struct cconn *cc, const nghttp2_frame *f)
{
    const nghttp2_ext_priority_update *pu = f->ext.payload;
    cc->p.h2.rfc9218_seen = true;
    if (!pu)
        return;
    struct xchg *x = nghttp2_session_get_stream_user_data(h2mem_session(cc), pu->stream_id);
    if (!x || x->prio_fixed)
        return;
    struct extpri p = { EXTPRI_URGENCY_DEFAULT, false };
    /* RFC 9218 §7: the frame's value replaces the stream's priority;
     * nghttp2 ignores an invalid one. */
    if (extpri_parse(str_make((const char *)pu->field_value, pu->field_value_len), &p) == 0)
        set_prio(x, p);
}

void h2prio_response_head(struct cconn *cc, struct xchg *x)
{
    struct extpri p = prio_of(x);
    if (x->error_status || !parse_fields(&x->resp, &p, NULL))
        return;
    int rv = nghttp2_session_change_extpri_stream_priority(
        h2mem_session(cc), x->stream_id, &(nghttp2_extpri){ p.urgency, p.incremental }, 1);
    if (rv != 0) {
        log_info("c%" PRIu64 " s%d backend priority not applied: %s", cc->xc.facts.conn_id,
                 x->stream_id, nghttp2_strerror(rv));
        return;
    }
    set_prio(x, p);
    x->prio_fixed = true;
}

size_t h2prio_data_len(const struct cconn *cc, size_t avail, size_t length)
{
    size_t pad = pad_of(cc);
    /* nghttp2 pads only within the length it offered: leave the room,
     * unless the window is too small to carry anything then. */
    if (pad && length > pad)
        length -= pad;
    return avail < length ? avail : length;
}
