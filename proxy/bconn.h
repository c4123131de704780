/* HTTP/1.1 backend connections and the per-worker keep-alive pools. */
#ifndef H2G_PROXY_BCONN_H
#define H2G_PROXY_BCONN_H

#include <stdbool.h>

#include "proxy/bconn-t.h"

struct cfg_backend;

/* Returns a connection to be, from the idle pool unless fresh, or a new
 * one being connected. Returns NULL when the connect fails at once
 * (logged). */
struct bconn *bconn_get(struct worker *w, const struct cfg_backend *be, bool fresh);

/* Starts exchange x on bc: queues the request head and whatever body is
 * buffered. bc and x point at each other until the response completes or
 * either side fails. */
void bconn_attach(struct bconn *bc, struct xchg *x);

/* Moves buffered request body (and the end of it) to the socket. */
void bconn_pump(struct bconn *bc);

/* The client drained the response buffer: read from the backend again. */
void bconn_resume_read(struct bconn *bc);

/* The exchange is gone before its response completed: close bc. */
void bconn_abandon(struct bconn *bc);

void bconn_pool_close_all(struct worker *w);
/* Frees every closed backend connection of w. Prepare pass only. */
void bconn_reap(struct worker *w);

#endif
