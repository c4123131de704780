#include "proxy/h2push.h"

#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "common/stats.h"
#include "config/config.h"
#include "proxy/h2mem.h"
#include "proxy/cconn.h"
#include "proxy/extpri.h"
#include "proxy/hdrs.h"
#include "proxy/linkhdr.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* The request fields a promised request takes from the one that caused
 * it (as nghttpx does; cookie, authorization and the rest stay out: the
 * client stores the pushed response for every request to the origin). */
static bool copied_field(struct str n)
{
    return str_eq(n, STR_LIT("accept-encoding")) || str_eq(n, STR_LIT("accept-language")) ||
           str_eq(n, STR_LIT("cache-control")) || str_eq(n, STR_LIT("user-agent"));
}

static bool may_push(struct cconn *cc, const struct xchg *x)
{
    const struct h2srv *h = &cc->p.h2;
    if (cc->w->cfg->no_server_push || x->error_status || x->pushed || x->status != 200 ||
        !(x->stream_id & 1) || !str_eq(xchg_method(x), STR_LIT("GET")))
        return false;
    if (cc->closing || cc->w->shutting_down || h->goaway_final_sent)
        return false;
    return nghttp2_session_get_remote_settings(h2mem_session(cc), NGHTTP2_SETTINGS_ENABLE_PUSH) == 1 &&
           hdrs_find(&x->resp, STR_LIT("link")) >= 0;
}

/* The paths a response has promised so far. */
struct promised {
    size_t num;
    size_t len[H2PUSH_MAX_PER_RESPONSE];
    char path[H2PUSH_MAX_PER_RESPONSE][H2PUSH_PATH_MAX];
};

static bool already(const struct promised *pr, const char *p, size_t len)
{
    for (size_t i = 0; i < pr->num; i++) {
        if (pr->len[i] == len && memcmp(pr->path[i], p, len) == 0)
            return true;
    }
    return false;
}

/* Returns whether nghttp2 took the PUSH_PROMISE. */
static bool submit(struct cconn *cc, struct xchg *x, struct str scheme, struct str authority,
                   struct str path)
{
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_nv_add(&nv, STR_LIT(":method"), STR_LIT("GET"), NGHTTP2_NV_FLAG_NONE);
    xlate_nv_add(&nv, STR_LIT(":scheme"), scheme, NGHTTP2_NV_FLAG_NONE);
    xlate_nv_add(&nv, STR_LIT(":authority"), authority, NGHTTP2_NV_FLAG_NONE);
    xlate_nv_add(&nv, STR_LIT(":path"), path, NGHTTP2_NV_FLAG_NONE);
    for (size_t i = 0; i < x->req.num; i++) {
        struct str n = hdrs_name(&x->req, i);
        if (copied_field(n))
            xlate_nv_add(&nv, n, hdrs_value(&x->req, i), NGHTTP2_NV_FLAG_NONE);
    }
    int32_t id = nghttp2_submit_push_promise(h2mem_session(cc), NGHTTP2_FLAG_NONE, x->stream_id,
                                             nv.v, nv.num, NULL);
    xlate_nv_cleanup(&nv);
    if (id < 0) {
        log_info("c%" PRIu64 " s%d push of %.*s not submitted: %s", cc->xc.facts.conn_id,
                 x->stream_id, (int)path.len, path.p, nghttp2_strerror(id));
        return false;
    }
    cc->p.h2.num_pushes++;
    return true;
}

/* One preload target of x's response: pushed, skipped or limited. */
static void push_one(struct cconn *cc, struct xchg *x, struct promised *pr, struct str uri)
{
    struct str scheme = x->i_scheme < 0 ? STR_NULL : hdrs_value(&x->req, (size_t)x->i_scheme);
    struct str authority = xchg_authority(x);
    char buf[H2PUSH_PATH_MAX];
    size_t n = link_push_path(uri, scheme, authority, xchg_path(x), buf, sizeof(buf));
    if (n == 0 || already(pr, buf, n))
        return;
    /* A path no route takes would only push h2gate's 404. */
    if (!cfg_route_match(x->gen->cfg, authority, str_make(buf, n)))
        return;
    if (pr->num == H2PUSH_MAX_PER_RESPONSE || cc->p.h2.num_pushes >= H2PUSH_MAX_PER_CONN) {
        stats_push(cc->w->stats, STATS_PUSH_LIMITED);
        return;
    }
    if (!submit(cc, x, scheme, authority, str_make(buf, n)))
        return;
    memcpy(pr->path[pr->num], buf, n);
    pr->len[pr->num++] = n;
}

void h2push_response(struct cconn *cc, struct xchg *x)
{
    if (!may_push(cc, x))
        return;
    struct promised pr;
    pr.num = 0;
    for (size_t i = 0; i < x->resp.num; i++) {
        if (!str_eq(hdrs_name(&x->resp, i), STR_LIT("link")))
            continue;
        struct str v = hdrs_value(&x->resp, i), uri;
        size_t pos = 0;
        while (link_next_preload(v, &pos, &uri))
            push_one(cc, x, &pr, uri);
    }
}

/* One field of the promised request into x->req, noting the pseudo-header
 * fields' places as on_h2_header does for a client's request. */
static void take_field(struct xchg *x, const nghttp2_nv *nv)
{
    struct str n = str_make((const char *)nv->name, nv->namelen);
    struct str v = str_make((const char *)nv->value, nv->valuelen);
    if (hdrs_add(&x->req, n, v, false) < 0)
        return; /* within the caps the request it copies from met */
    if (n.len && n.p[0] == ':')
        xchg_req_pseudo(x, n, v);
}

void h2push_promised(struct cconn *cc, const nghttp2_frame *f)
{
    struct h2srv *h = &cc->p.h2;
    int32_t id = f->push_promise.promised_stream_id;
    struct xchg *x = cconn_xchg_new(cc, id, XCHG_H2);
    x->pushed = true;
    for (size_t i = 0; i < f->push_promise.nvlen; i++)
        take_field(x, &f->push_promise.nva[i]);
    x->req_state = XREQ_END;
    x->in_at = ev_now(cc->w->loop);
    x->prio_urgency = EXTPRI_URGENCY_DEFAULT;
    nghttp2_session_set_stream_user_data(h2mem_session(cc), id, x);
    h->num_open++;
    h->idle_since = 0;
    stats_push(cc->w->stats, STATS_PUSH_PROMISED);
    xchg_start(x);
}

void h2push_closed(struct cconn *cc, const struct xchg *x, uint32_t error_code)
{
    if (x->pushed && error_code != NGHTTP2_NO_ERROR && !xchg_out_done(x))
        stats_push(cc->w->stats, STATS_PUSH_CANCELLED);
}
