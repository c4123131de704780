/* The HTTP/2 server glue of a client connection: an nghttp2 server
 * session turning frames into exchanges and exchange news into frames.
 * nghttp2 callbacks only record; closed streams' exchanges are freed in
 * the flush pass. Flow control is manual: request credit goes back as the
 * upstream takes the bytes (xchg_client_ops.consumed). */
#ifndef H2G_PROXY_H2SRV_H
#define H2G_PROXY_H2SRV_H

#include <stddef.h>

struct cconn;
struct config;

void h2srv_global_init(const struct config *cfg);
void h2srv_global_cleanup(void);

/* cc speaks HTTP/2 from now on: sets up the session and queues SETTINGS.
 * Returns 0 or H2G_ERR_NOMEM. */
int h2srv_start(struct cconn *cc);

#endif
