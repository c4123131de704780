#include "proxy/xchg.h"

#include <inttypes.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/spares.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/accesslog.h"
#include "proxy/clientcert.h"
#include "proxy/forwarded.h"
#include "proxy/hdrs.h"
#include "proxy/tunnel.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xlate.h"

static struct str field(const struct xchg *x, long i)
{
    return i < 0 ? STR_NULL : hdrs_value(&x->req, (size_t)i);
}

static int client_status(const struct xchg *x);

/* A WebSocket that switched: the client was sent its 101 (an HTTP/2
 * client a 200). From there it is a tunnel, logged and timed as one. */
static bool ws_opened(const struct xchg *x)
{
    return x->websocket && x->status == 101 && (x->sent_status == 101 || x->sent_status == 200);
}

/* Pseudo-header fields stored beside the regular ones. */
#define NUM_PSEUDO 6

/* Spare exchanges (common/spares.h): a worker keeps freed exchanges with
 * the storage of their request and response field lists, so a request
 * allocates neither: ~2.3 KB an exchange with small heads, ~7 KB at most
 * (hdrs_storage_small). */
#define SPARE_MAX 8192

static void spare_destroy(void *obj)
{
    struct xchg *x = obj;
    hdrs_cleanup(&x->req);
    hdrs_cleanup(&x->resp);
    free(x);
}

void xchg_spares_init(struct worker *w)
{
    spares_init(&w->xchg_spares, offsetof(struct xchg, next_spare), XCHG_SPARE_FLOOR, SPARE_MAX,
                spare_destroy);
}

/* An exchange from w's spares (zeroed, field storage kept), or NULL. */
static struct xchg *spare_take(struct worker *w)
{
    struct xchg *x = spares_take(&w->xchg_spares);
    if (!x)
        return NULL;
    struct hdrs req = x->req, resp = x->resp;
    memset(x, 0, sizeof(*x));
    x->req = req;
    x->resp = resp;
    return x;
}

struct xchg *xchg_new(struct xchg_client *cl, int32_t stream_id, enum xchg_proto proto)
{
    struct worker *w = cl->w;
    const struct config *cfg = w->cfg;
    struct xchg *x = spare_take(w);
    if (x) {
        hdrs_reinit(&x->req, cfg->request_header_field_buffer,
                    cfg->max_request_header_fields + NUM_PSEUDO);
        hdrs_reinit(&x->resp, cfg->response_header_field_buffer,
                    cfg->max_response_header_fields);
    } else {
        x = xcalloc(1, sizeof(*x));
        hdrs_init(&x->req, cfg->request_header_field_buffer,
                  cfg->max_request_header_fields + NUM_PSEUDO);
        hdrs_init(&x->resp, cfg->response_header_field_buffer,
                  cfg->max_response_header_fields);
    }
    x->gen = wrk_gen_pin_routes(w);
    x->cl = cl;
    x->w = w;
    x->proto = proto;
    x->stream_id = stream_id;
    x->start = ev_now(w->loop);
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
    return x;
}

void xchg_link(struct xchg *x, struct upstream *up)
{
    x->up = up;
    up->x = x;
    if (up->ops->tunnel)
        x->cl->num_tunnels++;
}

void xchg_unlink(struct xchg *x)
{
    struct upstream *up = x->up;
    if (!up)
        return;
    if (up->ops->tunnel)
        x->cl->num_tunnels--;
    up->x = NULL;
    x->up = NULL;
}

void xchg_free(struct xchg *x)
{
    if (!x)
        return;
    struct upstream *up = x->up;
    if (up) {
        bool rest = up->ops->finish && xchg_req_ended(x) && !x->error_status &&
                    bufq_len(&x->req_body) > 0;
        xchg_unlink(x);
        if (rest)
            up->ops->finish(up, &x->req_body);
        else
            up->ops->abandon(up);
    }
    struct worker *w = x->w;
    upool_release(x);
    xchg_log_access(x);
    int status = client_status(x);
    int proto = x->cl->facts.stats_proto;
    if (status && proto >= 0) {
        double now = ev_now(w->loop);
        stats_request_done(w->stats, (enum stats_proto)proto, status, x->backend_index,
                           x->is_connect || ws_opened(x), now - x->start, x->head_sent_at > 0 ? x->head_sent_at - x->start : -1);
    }
    stats_stream_closed(w->stats);
    hdrs_cleanup(&x->req_trailers);
    hdrs_cleanup(&x->resp_trailers);
    hdrs_cleanup(&x->interim);
    bufq_cleanup(&x->req_body);
    bufq_cleanup(&x->resp_body);
    if (x->location) /* rare: free(NULL) is not free of cost */
        free(x->location);
    wrk_gen_unpin_routes(w, x->gen);
    if (!hdrs_storage_small(&x->req) || !hdrs_storage_small(&x->resp) ||
        !spares_put(&w->xchg_spares, x))
        spare_destroy(x);
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
    struct worker *w = x->w;
    const struct client_facts *f = &x->cl->facts;
    int status = client_status(x);
    if (!w->alog || x->logged || !status)
        return;
    x->logged = true;
    const struct cfg_backend *be = x->backend;
    static const char *const protos[] = { "HTTP/1.0", "HTTP/1.1", "HTTP/2" };
    struct alog_entry e = {
        .remote_addr = str_make(f->peer, f->peer_len),
        .remote_port = f->peer_port,
        .server_port = f->server_port,
        .start_time = x->start,
        .request_time_s = ev_now(w->loop) - x->start,
        .method = xchg_method(x),
        .path = xchg_path(x),
        .authority = xchg_authority(x),
        .scheme = field(x, x->i_scheme),
        .protocol = protos[x->proto],
        .status = status,
        .body_bytes_sent = x->resp_bytes,
        .alpn = x->proto == XCHG_H2 ? (f->tls ? "h2" : "h2c") : "http/1.1",
        .tls_protocol = f->tls_version,
        .tls_cipher = f->tls_cipher,
        .tls_sni = str_cstr(f->sni),
        .tls_session_reused = f->tls_session_reused,
        .tls_session_id = f->tls_session_id_len ? f->tls_session_id : NULL,
        .tls_session_id_len = (unsigned)f->tls_session_id_len,
        .client_cert = f->client_cert,
        .backend_host = be ? str_cstr(be->host) : STR_NULL,
        .backend_port = be ? be->port : 0,
        .req_headers = &x->req,
        .is_tunnel = x->is_connect,
        .ext_connect = x->ext_connect,
    };
    /* HTTP/1.1 has no :scheme: the connection tells. */
    if (e.scheme.len == 0 && !x->is_connect)
        e.scheme = f->tls ? STR_LIT("https") : STR_LIT("http");
    const struct alog_format *fmt = w->alog_fmt;
    if (ws_opened(x)) {
        /* Logged as a tunnel: its lifetime and bytes each way. */
        e.is_tunnel = true;
        e.tunnel_target = xchg_authority(x);
        e.tunnel_bytes_up = x->tun_bytes_up;
        e.tunnel_bytes_down = x->tun_bytes_down;
        e.body_bytes_sent = x->tun_bytes_down;
        if (w->alog_fmt_tunnel)
            fmt = w->alog_fmt_tunnel;
    } else if (x->is_connect) {
        e.tunnel_target = xchg_connect_target(x);
        e.tunnel_bytes_up = x->tun_bytes_up;
        e.tunnel_bytes_down = x->tun_bytes_down;
        /* An open tunnel's "body" is what the target sent (spliced or
         * not); a refused one's is its error text. */
        if (x->sent_status == 200)
            e.body_bytes_sent = e.tunnel_bytes_down;
        if (w->alog_fmt_tunnel)
            fmt = w->alog_fmt_tunnel;
    }
    alog_write(w->alog, fmt, &e);
}

struct str xchg_connect_target(const struct xchg *x)
{
    return x->proto == XCHG_H2 ? xchg_authority(x) : xchg_path(x);
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

/* --host-rewrite's authority for be (XLATE_HOSTPORT_MAX bytes). */
static size_t backend_hostport(const struct cfg_backend *be, char *out)
{
    return xlate_hostport(be->host, be->port, be->addr.ss_family == AF_UNIX, out);
}

void xchg_rewrite_location(struct xchg *x)
{
    long i = hdrs_find(&x->resp, STR_LIT("location"));
    if (i < 0)
        return;
    struct str uri = hdrs_value(&x->resp, (size_t)i), authority = xchg_authority(x);
    struct str scheme = field(x, x->i_scheme);
    if (scheme.len == 0) /* HTTP/1.1: the connection tells */
        scheme = x->cl->facts.tls ? STR_LIT("https") : STR_LIT("http");
    /* The backend names itself as it was named to it. */
    char hostport[XLATE_HOSTPORT_MAX];
    struct str match = x->gen->cfg->host_rewrite && x->backend
                           ? str_make(hostport, backend_hostport(x->backend, hostport))
                           : authority;
    char *out = xmalloc(scheme.len + authority.len + uri.len + 3);
    size_t n = xlate_location(uri, match, authority, scheme, out);
    if (n && hdrs_set_value(&x->resp, (size_t)i, str_make(out, n)) < 0)
        log_info("c%" PRIu64 " s%d: Location not rewritten: response header fields too large",
                 x->cl->facts.conn_id, x->stream_id);
    free(out);
}

void xchg_notify(struct xchg *x)
{
    x->cl->ops->wake(x);
}

/* ";redirect-if-not-tls" on a cleartext connection: 308 to the same
 * host and path over https, on --redirect-https-port (RFC 9110 §15.4.9:
 * the method and body are kept by the client). */
static void redirect_to_https(struct xchg *x, const struct config *cfg, struct str path)
{
    struct str host = xchg_authority(x);
    /* The host without its port: the last ':' after any IPv6 bracket. */
    const char *rb = memrchr(host.p, ']', host.len);
    const char *colon = memrchr(host.p, ':', host.len);
    if (colon && (!rb || colon > rb))
        host.len = (size_t)(colon - host.p);
    if (host.len == 0) {
        xchg_fail(x, 400, "no host to redirect to");
        return;
    }
    char port[8] = "";
    if (cfg->redirect_https_port != 443)
        snprintf(port, sizeof(port), ":%u", cfg->redirect_https_port);
    size_t len = 8 + host.len + strlen(port) + path.len + 1;
    x->location = xmalloc(len);
    snprintf(x->location, len, "https://%.*s%s%.*s", (int)host.len, host.p, port, (int)path.len,
             path.p);
    xchg_fail(x, 308, "redirect-if-not-tls");
}

void xchg_fail(struct xchg *x, int status, const char *why)
{
    struct str m = xchg_method(x), p = x->is_connect ? xchg_connect_target(x) : xchg_path(x);
    log_info("c%" PRIu64 " s%d %.*s %.*s: %d (%s)", x->cl->facts.conn_id, x->stream_id,
             (int)m.len, m.p, (int)p.len, p.p, status, why);
    if (!x->error_status)
        x->error_status = status;
    xchg_notify(x);
}

void xchg_cancel(struct xchg *x, int status, const char *why)
{
    struct upstream *up = x->up;
    if (up) {
        xchg_unlink(x);
        up->ops->abandon(up);
    }
    xchg_fail(x, status, why);
}

/* Absolute-form request targets (RFC 9112 §3.2.2): take the authority and
 * the path from the URL, and its scheme into *scheme (a view of the
 * target's field, taken after the adds that may move the storage).
 * Returns false when the target is unusable. */
static bool split_absolute_form(struct xchg *x, struct str *scheme)
{
    struct str p = xchg_path(x);
    struct str scheme_end = STR_LIT("://");
    size_t i = 0;
    while (i < p.len && p.p[i] != ':' && p.p[i] != '/')
        i++;
    if (i == 0 || p.len < i + scheme_end.len ||
        memcmp(p.p + i, scheme_end.p, scheme_end.len) != 0)
        return false;
    size_t target = (size_t)x->i_path;
    size_t host_start = i + scheme_end.len;
    size_t j = host_start;
    while (j < p.len && p.p[j] != '/' && p.p[j] != '?')
        j++;
    if (j == host_start)
        return false;
    char *copy = xstrndup(p.p, p.len);
    struct str host = str_make(copy + host_start, j - host_start);
    struct str path = j < p.len ? str_make(copy + j, p.len - j) : STR_LIT("/");
    char *rooted = NULL;
    if (j < p.len && p.p[j] == '?') {
        /* An empty path is "/" in origin-form (RFC 9112 §3.2.1), query
         * or not: "http://a?x" asks for "/?x". */
        rooted = xmalloc(path.len + 1);
        rooted[0] = '/';
        memcpy(rooted + 1, path.p, path.len);
        path = str_make(rooted, path.len + 1);
    }
    bool ok = hdrs_add(&x->req, STR_LIT(":authority"), host, false) == 0;
    if (ok) {
        x->i_authority = (long)x->req.num - 1;
        ok = hdrs_add(&x->req, STR_LIT(":path"), path, false) == 0;
        x->i_path = (long)x->req.num - 1;
    }
    if (ok)     /* the target's field stays where it was */
        *scheme = str_make(hdrs_value(&x->req, target).p, i);
    free(rooted);
    free(copy);
    return ok;
}

void xchg_start(struct xchg *x)
{
    const struct config *cfg = x->gen->cfg;
    if (x->bad_status) {
        xchg_fail(x, x->bad_status, "bad request");
        return;
    }
    if (x->is_connect) {
        tun_start(x);
        return;
    }
    struct str path = xchg_path(x), scheme = STR_NULL;
    if (path.len && path.p[0] != '/' && !(path.len == 1 && path.p[0] == '*')) {
        if (!split_absolute_form(x, &scheme)) {
            xchg_fail(x, 400, "bad request target");
            return;
        }
        path = xchg_path(x);
    }
    if (path.len == 0) {
        xchg_fail(x, 400, "no request target");
        return;
    }
    /* nghttpx's --require-http-scheme: "https" over TLS, "http" without
     * (an HTTP/1.1 origin-form target has none: its connection's). */
    if (cfg->require_http_scheme) {
        if (!scheme.len)
            scheme = field(x, x->i_scheme);
        if (scheme.len && !str_ieq(scheme, x->cl->facts.tls ? STR_LIT("https") : STR_LIT("http"))) {
            xchg_fail(x, 400, "scheme is not the connection's (--require-http-scheme)");
            return;
        }
    }
    x->route = cfg_route_match(cfg, xchg_authority(x), path);
    if (!x->route) {
        xchg_fail(x, 404, "no route");
        return;
    }
    if (x->route->redirect_if_not_tls && !x->cl->facts.tls) {
        redirect_to_https(x, cfg, path);
        return;
    }
    if (x->expect_continue && !xchg_req_ended(x))
        x->cl->ops->send_continue(x);
    upool_start(x);
}

void xchg_req_progress(struct xchg *x)
{
    if (x->up)
        x->up->ops->pump(x->up);
}

void xchg_req_consumed(struct xchg *x, size_t n)
{
    x->req_body_moved += n;
    x->cl->ops->consumed(x, n);
}

void xchg_resp_drained(struct xchg *x)
{
    if (x->up)
        x->up->ops->drained(x->up);
}

bool xchg_splice(struct xchg *x, int client_fd)
{
    return x->up && x->up->ops->splice && x->up->ops->splice(x->up, client_fd);
}

void xchg_req_pseudo(struct xchg *x, struct str n, struct str v)
{
    long i = (long)x->req.num - 1;
    if (str_eq(n, STR_LIT(":method"))) {
        x->i_method = i;
        x->is_connect = str_eq(v, STR_LIT("CONNECT"));
        x->head_request = str_eq(v, STR_LIT("HEAD"));
    } else if (str_eq(n, STR_LIT(":scheme"))) {
        x->i_scheme = i;
    } else if (str_eq(n, STR_LIT(":authority"))) {
        x->i_authority = i;
    } else if (str_eq(n, STR_LIT(":path"))) {
        x->i_path = i;
    } else if (str_eq(n, STR_LIT(":protocol"))) {
        /* nghttp2 takes it only with our SETTINGS_ENABLE_CONNECT_PROTOCOL
         * and on a CONNECT with :scheme and :path (RFC 8441 §4). */
        x->ext_connect = true;
        x->websocket = str_ieq(v, STR_LIT("websocket"));
    }
}

void xchg_xlate_req(const struct xchg *x, struct xlate_req *r, struct xlate_opts *o,
                    char *fwd_buf, char *host_buf)
{
    static const char *const versions[] = { "1.0", "1.1", "2" };
    const struct client_facts *f = &x->cl->facts;
    r->method = xchg_method(x);
    r->authority = xchg_authority(x);
    r->path = xchg_path(x);
    r->hdrs = &x->req;
    r->client_proto = versions[x->proto];
    r->client_addr = str_make(f->peer, f->peer_len);
    r->tls = f->tls;
    const struct config *cfg = x->gen->cfg;
    struct str host = r->authority;     /* the client's, for Forwarded */
    if (cfg->host_rewrite && x->backend)
        r->authority = str_make(host_buf, backend_hostport(x->backend, host_buf));
    *o = (struct xlate_opts){
        .via = !cfg->no_via,
        .xff = cfg->add_x_forwarded_for,
        .strip_xff = cfg->strip_incoming_x_forwarded_for,
        .xfp = !cfg->no_add_x_forwarded_proto,
        .strip_xfp = !cfg->no_strip_incoming_x_forwarded_proto,
        .strip_fwd = cfg->strip_incoming_forwarded,
        .fwd = str_make(fwd_buf, fwd_element(fwd_buf, cfg, f, host, f->tls)),
        .add = &cfg->add_request_headers,
        .crumble_cookies = !cfg->http2_no_cookie_crumbling,
    };
    if (cfg->forward_client_cert && f->client_cert) {
        o->client_cert = str_cstr(f->client_cert->field);
        o->client_cert_chain = str_cstr(f->client_cert->chain_field);
    }
}
