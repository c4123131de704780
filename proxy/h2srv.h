/* The HTTP/2 server glue of a client connection: an nghttp2 server
 * session turning frames into exchanges and exchange news into frames.
 * nghttp2 callbacks only record; closed streams' exchanges are freed in
 * the flush pass. Flow control is manual: request credit goes back as the
 * upstream takes the bytes (xchg_client_ops.consumed). */
#ifndef H2G_PROXY_H2SRV_H
#define H2G_PROXY_H2SRV_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>

struct cconn;
struct config;

void h2srv_global_init(const struct config *cfg);
void h2srv_global_cleanup(void);

/* The options of client sessions under cfg: nghttp2's limits and
 * extensions, and --frontend-http2-encoder-dynamic-table-size. nghttp2
 * reads them only when a session is made, so a worker makes one set per
 * generation it applies (w->h2srv_option); the caller owns the result
 * (nghttp2_option_del). Never NULL (aborts when out of memory). */
nghttp2_option *h2srv_option_new(const struct config *cfg);

/* cc speaks HTTP/2 from now on: sets up the session and queues SETTINGS.
 * Returns 0 or H2G_ERR_NOMEM. */
int h2srv_start(struct cconn *cc);

#endif
