/* HTTP/1.1 backend connections: one exchange at a time, kept alive
 * between exchanges in the upstream pool (proxy/upool.c). */
#ifndef H2G_PROXY_BCONN_H
#define H2G_PROXY_BCONN_H

#include <stdbool.h>

#include "proxy/bconn-t.h"

struct cfg_backend;

/* Returns a new connection to be, connecting. Returns NULL when the
 * connect fails at once (logged). */
struct bconn *bconn_new(struct worker *w, const struct cfg_backend *be);

/* Starts exchange x on bc (new, or idle from the pool): links x to bc as
 * its upstream and queues the request head and whatever body is buffered.
 * They stay linked until the response completes or either side fails. */
void bconn_attach(struct bconn *bc, struct xchg *x);

/* Closes bc (an idle one, taken off the pool by the caller). */
void bconn_close(struct bconn *bc);

/* Frees every closed backend connection of w. Prepare pass only. */
void bconn_reap(struct worker *w);

#endif
