/* Worker threads: one libev loop each, with its own SO_REUSEPORT listeners,
 * connections, buffer pool and backend pools. */
#ifndef H2G_PROXY_WORKER_H
#define H2G_PROXY_WORKER_H

#include "proxy/worker-t.h"

/* Prepares w; listen_fds holds one listening socket per frontend (taken
 * over by w). Does not start the thread. */
void wrk_init(struct worker *w, int id, const struct config *cfg, SSL_CTX *ssl_ctx,
              const struct auth_db *auth_db, const int *listen_fds);
/* Starts the thread. Returns 0 or H2G_ERR_IO. */
int wrk_start(struct worker *w);
/* Sends a command from another thread (main). Lock-free. */
void wrk_command(struct worker *w, enum wrk_cmd cmd);
void wrk_join(struct worker *w);
void wrk_cleanup(struct worker *w);

/* Queues cc for the next flush pass (once per loop iteration). */
void wrk_mark_dirty(struct worker *w, struct cconn *cc);

#endif
