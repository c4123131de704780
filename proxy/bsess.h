/* HTTP/2 backend sessions: per worker and per backend, nghttp2 client
 * sessions (cleartext prior knowledge or TLS with ALPN h2) that multiplex
 * the exchanges of every client connection of the worker. */
#ifndef H2G_PROXY_BSESS_H
#define H2G_PROXY_BSESS_H

#include <stdbool.h>

#include "proxy/bsess-t.h"

/* Sets up w->bsp for w->cfg. */
void bsess_pool_init(struct worker *w);
/* Closes every session and frees w->bsp. */
void bsess_pool_cleanup(struct worker *w);

/* Starts exchange x on a stream to be: an open session with room, a new
 * session (up to --backend-connections-per-host), or the backend's wait
 * queue. Returns 0 (x->bs is set), or -1 when no session could even be
 * started (socket or connect failed at once; logged): the caller tries
 * the next backend. */
int bsess_attach(struct worker *w, const struct cfg_backend *be, struct xchg *x);

/* x has more request body, or its end: resume the stream's data source. */
void bsess_pump(struct xchg *x);

/* The client side took response bytes from x->resp_body: return their
 * flow-control credit to the backend. */
void bsess_resp_drained(struct xchg *x);

/* x is going away: reset its stream (CANCEL) or leave the queue, and
 * forget x. x->bs is NULL afterwards. */
void bsess_detach(struct xchg *x);

/* Prepare pass: writes every session with output, handles queues.
 * Returns true when more work is left for the next iteration. */
bool bsess_flush_all(struct worker *w);
/* Prepare pass: frees closed sessions. */
void bsess_reap(struct worker *w);
/* Graceful shutdown: closes sessions with no streams. */
void bsess_shutdown(struct worker *w);

#endif
