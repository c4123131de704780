/* Worker threads: one libev loop each, with its own SO_REUSEPORT listeners,
 * connections, buffer pool and backend pools. */
#ifndef H2G_PROXY_WORKER_H
#define H2G_PROXY_WORKER_H

#include "proxy/worker-t.h"

/* Prepares w with generation g (the caller's reference is handed over);
 * listen_fds holds one listening socket per frontend of g (closed by w
 * when a later generation drops the frontend, or at wrk_cleanup). Does
 * not start the thread. */
void wrk_init(struct worker *w, int id, struct gen *g, const int *listen_fds);
/* Starts the thread. Returns 0 or H2G_ERR_IO. */
int wrk_start(struct worker *w);
/* Sends a command from another thread (main). Lock-free. */
void wrk_command(struct worker *w, enum wrk_cmd cmd);
void wrk_join(struct worker *w);
void wrk_cleanup(struct worker *w);

/* Pins the current generation for an object that points into it; unpin
 * when the object ends. Worker thread only. */
struct wgen *wrk_gen_pin(struct worker *w);
void wrk_gen_unpin(struct worker *w, struct wgen *wg);
/* The same for an object that uses the generation's routes and so its
 * members (an exchange): the worker keeps its gen_members_ref of an old
 * generation while such pins remain. */
struct wgen *wrk_gen_pin_routes(struct worker *w);
void wrk_gen_unpin_routes(struct worker *w, struct wgen *wg);

/* A pseudo-random number from the worker's own generator. */
uint64_t wrk_random(struct worker *w);

/* Queues cc for the next flush pass (once per loop iteration). */
void wrk_mark_dirty(struct worker *w, struct cconn *cc);

#endif
