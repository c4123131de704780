/* Choosing a member of a group (a route's backends) for an exchange's
 * first try, by the group's policy (cfg_group_policy): smooth weighted
 * round-robin, two random choices by requests in progress
 * (least-outstanding) or by a latency estimate times the square root of
 * requests in progress plus one (peak-ewma, lbewma.h), or affinity by
 * client address (a consistent-hash ring, so a change of members moves
 * about 1/N of the clients) or by cookie. Members that are
 * down (health.h) are passed over; when all are, the one that failed
 * longest ago is taken (fail open) unless --backend-fail-closed. */
#ifndef H2G_PROXY_BALANCE_H
#define H2G_PROXY_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/str.h"
#include "config/config-t.h"

struct xchg;

/* A route's hash ring (affinity=ip): points sorted by hash. Immutable,
 * built with the generation. */
struct lb_ring {
    uint64_t *hash;
    uint32_t *member;  /* index into route->backends */
    size_t num;
};

/* Per worker, per route of a generation. */
struct lb_state {
    int64_t *current;  /* smooth round-robin: current weight by member */
};

/* Rings for every route of cfg (NULL entries where affinity is not ip);
 * free with lb_rings_free. */
struct lb_ring *lb_rings_build(const struct config *cfg);
void lb_rings_free(struct lb_ring *rings, size_t num_routes);

struct lb_state *lb_states_new(const struct config *cfg);
void lb_states_free(struct lb_state *st, size_t num_routes);

/* The member index (into x->route->backends) for x's first try, or
 * SIZE_MAX when every member is down and the group fails closed. With
 * affinity=cookie, sets x->affinity_cookie when the client needs the
 * cookie. */
size_t lb_pick(struct xchg *x);

/* The affinity cookie's value for member be: 8 hex digits of a hash of its
 * address, stable across restarts and reloads. */
void lb_cookie_value(const struct cfg_backend *be, char out[9]);

#endif
