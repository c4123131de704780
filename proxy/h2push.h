/* HTTP/2 server push for the server glue (h2srv.c): a backend's
 * `Link: <...>; rel=preload` on its 200 to a client's GET becomes a
 * PUSH_PROMISE of a GET for the same scheme and authority, and the
 * promised stream an exchange of its own, routed and fetched like any
 * request (timeouts, access log line, metrics).
 *
 * Never with --no-server-push, when the client's SETTINGS_ENABLE_PUSH is
 * 0, for another origin, a "nopush" link, a path no route takes, a
 * non-GET request, a pushed stream's own response, or on a closing
 * connection. At most
 * H2PUSH_MAX_PER_RESPONSE pushes per response and H2PUSH_MAX_PER_CONN per
 * connection; a link past a bound is counted as limited. */
#ifndef H2G_PROXY_H2PUSH_H
#define H2G_PROXY_H2PUSH_H

#include <nghttp2/nghttp2.h>
#include <stdint.h>

#define H2PUSH_MAX_PER_RESPONSE 8
#define H2PUSH_MAX_PER_CONN 100
/* A longer pushed :path is not pushed. */
#define H2PUSH_PATH_MAX 1024

struct cconn;
struct xchg;

/* x's response head is about to be submitted: submits a PUSH_PROMISE on
 * x's stream for each target its Link fields ask to preload, when push
 * applies (see above); the same path twice is pushed once. Nothing else
 * happens until nghttp2 sends the frame (h2push_promised). */
void h2push_response(struct cconn *cc, struct xchg *x);

/* nghttp2 has sent PUSH_PROMISE f (from on_frame_send): the promised
 * stream gets its exchange (the promised request, complete), linked in
 * cc and set as the stream's user data, and started (xchg_start). */
void h2push_promised(struct cconn *cc, const nghttp2_frame *f);

/* x's stream closed with error_code (on_stream_close): a pushed stream
 * the client reset before its response was all queued counts as
 * cancelled. Its exchange is freed as any other (the backend fetch is
 * abandoned). */
void h2push_closed(struct cconn *cc, const struct xchg *x, uint32_t error_code);

#endif
