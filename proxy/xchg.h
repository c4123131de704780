/* Exchanges: the link between one client stream and one upstream. An
 * exchange knows its client only through the facts and operations of
 * struct xchg_client, and its upstream only through struct upstream_ops. */
#ifndef H2G_PROXY_XCHG_H
#define H2G_PROXY_XCHG_H

#include "common/str.h"
#include "proxy/upstream-t.h"
#include "proxy/xchg-t.h"

struct xlate_req;
struct xlate_opts;

/* High-water marks. Over them the producer pauses (stops reading or
 * withholds flow-control credit); below the low-water mark it resumes. */
#define XCHG_BUF_HIGH (256 * 1024)
#define XCHG_BUF_LOW (64 * 1024)

static inline bool xchg_req_head_done(const struct xchg *x)
{
    return x->req_state != XREQ_HEAD;
}

static inline bool xchg_req_ended(const struct xchg *x)
{
    return x->req_state == XREQ_END;
}

static inline bool xchg_head_ready(const struct xchg *x)
{
    return x->resp_state != XRESP_WAIT;
}

static inline bool xchg_resp_ended(const struct xchg *x)
{
    return x->resp_state == XRESP_END;
}

static inline bool xchg_head_sent(const struct xchg *x)
{
    return x->out_state != XOUT_NONE;
}

static inline bool xchg_out_done(const struct xchg *x)
{
    return x->out_state == XOUT_DONE;
}

/* The protocol a websocket exchange switches to ("websocket" or an
 * --allow-upgrade token). */
static inline struct str xchg_upgrade(const struct xchg *x)
{
    return x->upgrade_len ? str_make(x->upgrade, x->upgrade_len) : STR_LIT("websocket");
}

/* True for a WebSocket proper (not another allowed upgrade). */
static inline bool xchg_is_websocket(const struct xchg *x)
{
    return x->websocket && x->upgrade_len == 0;
}

/* Returns a new exchange of client cl; the client side links it into its
 * own lists and sets the request fields as they arrive. */
struct xchg *xchg_new(struct xchg_client *cl, int32_t stream_id, enum xchg_proto proto);

/* Detaches x from its upstream (which closes or resets what is
 * unfinished), writes the access log line, counts the exchange and frees
 * x. The client side has unlinked x and returned its HTTP/2 credit.
 * xchg_free(NULL) does nothing. */
void xchg_free(struct xchg *x);
/* Spare exchanges a worker keeps however long they are unused. */
#define XCHG_SPARE_FLOOR 64
/* Sets up w->xchg_spares (freed exchanges kept for reuse). */
void xchg_spares_init(struct worker *w);

/* The request head is complete: validate, route and start the upstream,
 * or record error_status and notify. */
void xchg_start(struct xchg *x);

/* The client sent more body bytes or ended the request. */
void xchg_req_progress(struct xchg *x);

/* The upstream took n request body bytes: the client side returns HTTP/2
 * credit or resumes an HTTP/1.1 client's reads. */
void xchg_req_consumed(struct xchg *x, size_t n);

/* The client side took response body bytes: the upstream takes more. */
void xchg_resp_drained(struct xchg *x);

/* Offers the client's plain socket to the upstream for splice(2) (see
 * upstream_ops.splice). Returns whether the upstream took it. */
bool xchg_splice(struct xchg *x, int client_fd);

/* Records a failure (status for the client, e.g. 502 or 504) and notifies;
 * logs why with the connection and stream. */
void xchg_fail(struct xchg *x, int status, const char *why);

/* The client side gives up on x (a stream timeout): the upstream is let
 * go (abandoned: it closes or resets what is unfinished), then as
 * xchg_fail(). */
void xchg_cancel(struct xchg *x, int status, const char *why);

/* The backend's Location, when an absolute URI on the request's own host,
 * gets the client's scheme and the request's authority (xlate_location;
 * off with --no-location-rewrite). At the final response head of a
 * status xchg_has_location says may carry one. */
void xchg_rewrite_location(struct xchg *x);

/* Location means something in a 201 and a 3xx (RFC 9110 §10.2.2): other
 * answers skip the search. */
static inline bool xchg_has_location(int status)
{
    return status == 201 || (status >= 300 && status <= 399);
}

/* Queues x for its client's next flush. */
void xchg_notify(struct xchg *x);

/* Links x and up (x has no upstream). */
void xchg_link(struct xchg *x, struct upstream *up);

/* The upstream lets go of x (it failed, or finished): unlinks both. The
 * upstream then reports to x (xchg_fail, upool_failed) or has done so. */
void xchg_unlink(struct xchg *x);

/* Writes x's access log line once (no-op without an access log). */
void xchg_log_access(struct xchg *x);

/* The request's pseudo-header values (empty when absent). */
struct str xchg_method(const struct xchg *x);
struct str xchg_authority(const struct xchg *x);
struct str xchg_path(const struct xchg *x);
/* CONNECT's target: the request line (HTTP/1.1) or :authority (HTTP/2). */
struct str xchg_connect_target(const struct xchg *x);

/* The pseudo-header n: v was just added to x->req (HTTP/2, a client's
 * request or a pushed one): remembers where :method, :scheme,
 * :authority and :path are, and what :method and :protocol imply
 * (CONNECT, HEAD, an RFC 8441 extended CONNECT). */
void xchg_req_pseudo(struct xchg *x, struct str n, struct str v);

/* Fills the client-side parts of r for a backend request: method,
 * authority, path, fields, the client's protocol and address, TLS; and o
 * from the configuration (Via, X-Forwarded-*, Forwarded, added fields),
 * with h2gate's Forwarded element written into fwd_buf
 * (FWD_ELEMENT_MAX bytes, proxy/forwarded.h), which o->fwd points to.
 * With --host-rewrite the authority is x->backend's own, written into
 * host_buf (XLATE_HOSTPORT_MAX bytes). */
void xchg_xlate_req(const struct xchg *x, struct xlate_req *r, struct xlate_opts *o,
                    char *fwd_buf, char *host_buf);

#endif
