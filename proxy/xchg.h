/* Exchanges: the link between a client stream and a backend connection. */
#ifndef H2G_PROXY_XCHG_H
#define H2G_PROXY_XCHG_H

#include "common/str.h"
#include "proxy/xchg-t.h"

/* High-water marks. Over them the producer pauses (stops reading or
 * withholds flow-control credit); below the low-water mark it resumes. */
#define XCHG_BUF_HIGH (256 * 1024)
#define XCHG_BUF_LOW (64 * 1024)

/* Returns a new exchange owned by cc (linked into cc->xchgs). */
struct xchg *xchg_new(struct cconn *cc, int32_t stream_id);

/* Unlinks x from its client connection, detaches it from its backend
 * connection (closing that connection when the exchange is unfinished),
 * returns HTTP/2 credit for request bytes that will never be forwarded,
 * and frees x. xchg_free(NULL) does nothing. */
void xchg_free(struct xchg *x);

/* The request head is complete: validate, route and start the backend
 * side, or record error_status and notify. */
void xchg_start(struct xchg *x);

/* The client sent more body bytes or ended the request. */
void xchg_req_progress(struct xchg *x);

/* The backend side took n request body bytes: return HTTP/2 credit or
 * resume the HTTP/1.1 client's reads. */
void xchg_req_consumed(struct xchg *x, size_t n);

/* The client side took response body bytes: resume the backend if it was
 * paused and the buffer is below the low-water mark. */
void xchg_resp_drained(struct xchg *x);

/* Records a failure (status for the client, e.g. 502 or 504) and notifies;
 * logs why with the connection and stream. */
void xchg_fail(struct xchg *x, int status, const char *why);

/* The backend connection serving x failed. retry_next: nothing reached a
 * backend (connect failed), so the next backend of the route may be tried;
 * retry_fresh: a reused keep-alive connection was found closed before any
 * request byte was taken, so one fresh connection to be may be tried.
 * Otherwise x fails with status. */
struct cfg_backend;
void xchg_backend_failed(struct xchg *x, int status, const char *why, bool retry_next,
                         bool retry_fresh, const struct cfg_backend *be);

/* Queues x for its client connection's next flush. */
void xchg_notify(struct xchg *x);

/* Writes x's access log line once (no-op without an access log). */
void xchg_log_access(struct xchg *x);

/* The request's pseudo-header values (empty when absent). */
struct str xchg_method(const struct xchg *x);
struct str xchg_authority(const struct xchg *x);
struct str xchg_path(const struct xchg *x);

#endif
