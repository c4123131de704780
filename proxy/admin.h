/* The admin listener (--admin=HOST,PORT): a small plain HTTP/1.1 server
 * on the main thread's libev loop, never on a worker. It answers
 *   GET /metrics   Prometheus text format 0.0.4 (common/stats.h lists the names)
 *   GET /stats     the same numbers as JSON, plus "workers": an array with
 *                  one object per worker block, in order (connections_active,
 *                  streams_active, requests_total, client_bytes_in,
 *                  client_bytes_out, tunnels_active, websockets_active)
 *   GET /, GET /dashboard  the dashboard page (proxy/dashboard.h), which
 *                  polls /stats; text/html, Cache-Control: no-cache and a
 *                  Content-Security-Policy allowing only this origin
 *   GET /healthz   200 "ok" while accepting, 503 "shutting down" after
 *                  (liveness)
 *   GET /readyz    200 "ready" while listening and not draining, 503
 *                  "draining" from SIGTERM on (readiness: new traffic)
 * and HEAD of each; with --admin-api, nghttpx's API too (admin_set_api);
 * 405 for other methods on those paths, 404 for any
 * other path, 400 for a malformed request, 431 for a request head over
 * ADMIN_MAX_HEAD bytes, 414 for a target over ADMIN_MAX_URL bytes, 413
 * for a body over ADMIN_MAX_BODY bytes. Keep-alive and pipelining work;
 * at most ADMIN_MAX_CONNS connections are served at once (further ones
 * wait in the kernel's backlog) and an idle one is closed after
 * ADMIN_IDLE_TIMEOUT seconds. It never proxies, and its requests are not
 * counted in the proxy's stats. Reading stats only loads the workers'
 * counters: no worker is stopped or signalled. */
#ifndef H2G_PROXY_ADMIN_H
#define H2G_PROXY_ADMIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/stats-t.h"

#define ADMIN_MAX_HEAD 8192
#define ADMIN_MAX_URL 2048
#define ADMIN_MAX_BODY 65536
#define ADMIN_MAX_CONNS 32
#define ADMIN_IDLE_TIMEOUT 30.0

struct ev_loop;
struct admin;

/* Starts serving on listen_fd (a bound, listening TCP socket; made
 * non-blocking here) from loop, which must be the main thread's loop.
 * Takes ownership of listen_fd: admin_free() closes it. Borrows, until
 * admin_free(): workers (num_workers blocks, each made by
 * stats_new(num_backends)), backend_names (num_backends names, may be
 * NULL) and shutting_down (read with a relaxed load; true turns /healthz
 * and /readyz into 503). Never NULL. */
struct admin *admin_new(struct ev_loop *loop, int listen_fd, struct stats *const *workers,
                        size_t num_workers, const char *const *backend_names,
                        size_t num_backends, const _Atomic bool *shutting_down);

/* The configuration's history for /metrics (main thread, so plain). */
struct admin_config_info {
    uint64_t generation;    /* 1 at start, +1 per successful reload */
    uint64_t reloads;       /* successful reloads */
    uint64_t failures;      /* failed reloads */
    double last_success;    /* Unix time of the start or the last good reload */
    size_t (*generations_alive)(void); /* read at each scrape; may be NULL */
    /* The running configuration's server certificates (*out borrowed until
     * the scrape is rendered); may be NULL. */
    size_t (*certificates)(const struct stats_cert **out);
};

/* Borrows info until admin_free(): rendered with every /metrics and /stats. */
void admin_set_config_info(struct admin *a, const struct admin_config_info *info);

/* /readyz also asks ready() (main thread) and answers 503 when false. */
void admin_set_ready_check(struct admin *a, bool (*ready)(void));

/* A reload added backends: names (num entries, borrowed) replaces the
 * labels given so far. The worker blocks must have cells for num. */
void admin_set_backends(struct admin *a, const char *const *names, size_t num);

/* nghttpx's API (--admin-api), every answer JSON: {"status":"Success",
 * "code":200} or {"status":"Failure","code":N,"message":"..."}:
 *   PUT or POST /api/v1beta1/backendconfig  the body (at most max_body()
 *            bytes, else 413) goes to backendconfig(), which returns the
 *            status (200, or 400 with the reason, 503 while busy)
 *   GET /api/v1beta1/configrevision  "data":{"configRevision":revision()}
 * 405 for another method on them, 404 for another /api/ path; while
 * max_body() is 0 the API is off and every /api/ path is 404. Each
 * function runs on the main thread. */
struct admin_api {
    int (*backendconfig)(const char *text, size_t len, char *msg, size_t msg_len);
    size_t (*max_body)(void);
    uint64_t (*revision)(void);
};

/* Borrows api until admin_free(). */
void admin_set_api(struct admin *a, const struct admin_api *api);

/* Stops every watcher, closes every admin connection and the listening
 * socket. Call from the loop's thread. NULL: no-op. */
void admin_free(struct admin *a);

#endif
