/* The upstream pool: how exchanges get a backend connection. */
#ifndef H2G_PROXY_UPOOL_H
#define H2G_PROXY_UPOOL_H

#include "proxy/sock-t.h"

struct worker;
struct cfg_backend;

/* Starts a connection to be on s (TLS for ";tls" backends, with w's
 * backend TLS state): h->ready() follows. Counts the attempt in w's stats.
 * Returns 0, or a negative h2g_err when it failed at once (logged and
 * counted; s is closed). */
int upool_connect(struct worker *w, const struct cfg_backend *be, struct sock *s,
                  const struct sock_handler *h);

/* A connection started by upool_connect() at time started reported
 * ready(err): counts the connect and its duration, or the failure. */
void upool_connect_done(struct worker *w, const struct cfg_backend *be, int err,
                        double started);

#endif
