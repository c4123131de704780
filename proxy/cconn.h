/* Client connections: accept, TLS, protocol sniffing, the timer, the
 * flush pass and the lifecycle. The protocol itself is the glue's
 * (proxy/h2srv.c, proxy/h1srv.c, behind struct cconn_ops). Only the client
 * side, the worker and main include this header. */
#ifndef H2G_PROXY_CCONN_H
#define H2G_PROXY_CCONN_H

#include <sys/socket.h>

#include "common/container.h"
#include "proxy/cconn-t.h"

struct config;

/* Sets up the shared, read-only protocol state (nghttp2 callbacks and
 * options, http-parser settings). Called once by main before workers
 * start. */
void cconn_global_init(const struct config *cfg);
void cconn_global_cleanup(void);

/* Takes ownership of the accepted, non-blocking fd. Never fails (on
 * out-of-memory the process aborts). */
struct cconn *cconn_new(struct worker *w, int fd, const struct cfg_frontend *fe,
                        const struct sockaddr *peer);

/* Acts on exchange news, produces and writes output, and closes when
 * done. Called only by the worker's prepare pass. */
void cconn_flush(struct cconn *cc);

/* Marks cc closed: watchers stop at once, memory goes in the next
 * cconn_reap(). Safe to call more than once and from any callback. */
void cconn_close(struct cconn *cc, const char *why);

/* For a glue whose last answer on a connection it closes is all out:
 * half-close (over TLS once the close_notify is out), then read and drop
 * what the client still sends, raw, so bytes the client sent and h2gate
 * never read do not turn the close into a reset that can destroy the
 * answer before the client reads it (RFC 9112 §9.6). Closes at the
 * client's EOF, once the client has acknowledged every byte h2gate sent
 * (the kernel's send queue empty: SIOCOUTQ, checked every
 * CCONN_LINGER_POLL), or at CCONN_LINGER_TIME (nginx's lingering_time),
 * whichever comes first: a slow reader gets the whole answer, one that
 * stops reading holds the connection that long at most. A connection
 * whose client closed already closes at once. */
#define CCONN_LINGER_TIME 30.0
#define CCONN_LINGER_POLL 0.2
void cconn_linger(struct cconn *cc);

/* Frees every closed connection of w. Prepare pass only. */
void cconn_reap(struct worker *w);

/* Begins graceful shutdown of cc: HTTP/2 two-step GOAWAY, HTTP/1.1 close
 * after the current response. */
void cconn_shutdown(struct cconn *cc);
/* Second GOAWAY step: the final GOAWAY with the last processed stream. */
void cconn_shutdown_final(struct cconn *cc);
void cconn_close_all(struct worker *w);

/* ---- for the protocol glue ---- */

static inline struct cconn *cconn_of(const struct xchg *x)
{
    return container_of(x->cl, struct cconn, xc);
}

/* The glue takes over: counts the connection under its protocol and
 * records the TLS facts. */
void cconn_set_proto(struct cconn *cc, enum cconn_proto proto, const struct cconn_ops *ops,
                     const struct xchg_client_ops *xops);

/* Returns a new exchange of cc, linked in cc->xchgs. */
struct xchg *cconn_xchg_new(struct cconn *cc, int32_t stream_id, enum xchg_proto proto);
/* Unlinks x from cc's lists and frees it (xchg_free). The glue has
 * returned its HTTP/2 credit. */
void cconn_xchg_free(struct cconn *cc, struct xchg *x);
/* The xchg_client_ops.wake both glues use: queue x's news and mark cc. */
void cconn_wake(struct xchg *x);

/* A deadline timeout seconds from now has started (timeout <= 0: none):
 * the timer fires no later than that. */
void cconn_deadline(struct cconn *cc, double timeout);

/* Queues cc for the next flush pass. */
void cconn_mark(struct cconn *cc);

/* Stops reading for backpressure / resumes when ops->may_read allows. */
void cconn_pause_read(struct cconn *cc);
void cconn_resume_read(struct cconn *cc);

/* Whether --read-rate or --write-rate limit cc (then no splice(2): the
 * bytes must pass through the buckets). */
bool cconn_rate_limited(const struct cconn *cc);

/* The contiguous input buffer (cc->in). */
void cconn_in_append(struct cconn *cc, const char *p, size_t len);
void cconn_in_consume(struct cconn *cc, size_t n);

#endif
