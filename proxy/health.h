/* Backend member health, process-wide: one cell per backend registry slot,
 * written by the workers (passive: a member's failures to connect or to
 * answer) and by the probe thread (active checks, and the probes that
 * bring a down member back), read by the workers when they choose a
 * member and by the admin listener. Every field is an atomic of its own;
 * no lock anywhere, and a reader may see a member's state a moment late.
 *
 * The probe thread (health_start) probes, on one libev loop for the whole
 * process: every member of a -b with ";health=/PATH" every
 * --backend-health-interval (a GET over the member's own protocol and
 * TLS, hprobe.h; 2xx or 3xx is a success), and every member that is down,
 * with a backoff that doubles from 1s up to --backend-max-backoff (TCP
 * connect, or the GET when it has a path).
 * A member goes down after ";fall=N" consecutive failures (of requests or
 * of checks) and comes back after ";rise=N" consecutive check successes. */
#ifndef H2G_PROXY_HEALTH_H
#define H2G_PROXY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_MAX_SLOTS 16384  /* the backend registry's cap (stats chunks) */

struct gen;
struct cfg_registry;

/* Starts the probe thread with g (referenced until the next health_use).
 * Returns 0, or -1 when the thread cannot start. */
int health_start(struct gen *g, const struct cfg_registry *reg);
/* A new generation is published (main thread): its fall/rise and probes
 * apply from now on; members it no longer names keep their state but are
 * not probed. */
void health_use(struct gen *g, const struct cfg_registry *reg);
/* Stops the probe thread and drops its generation. */
void health_stop(void);

/* The member may get new requests (not down). */
bool health_up(size_t slot);
/* When the member last failed, in seconds of CLOCK_MONOTONIC, 0 if never. */
double health_last_failure(size_t slot);

/* Passive reports from the workers: a request could not reach the member
 * or got no response head from it (failure), or got one (success). */
void health_report_failure(size_t slot, const char *label);
void health_report_success(size_t slot);

/* A reclaimed registry slot (config/registry.h: no generation names it,
 * no worker or probe uses it): its cell starts over for the next member
 * (main thread). */
void health_forget(size_t slot);

/* For the metrics: whether the member is checked at all (fall or an active
 * probe configured), and its check counters. */
struct health_view {
    bool checked;
    bool up;
    uint64_t checks, check_failures;
};
void health_view(size_t slot, struct health_view *out);

/* True when some member of every route of g's config is up, or no member
 * of g is checked (for /readyz). */
bool health_routes_ready(const struct gen *g);

#endif
