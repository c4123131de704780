/* Choosing a member of a group: see balance.h. */
#include "proxy/balance.h"

#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/xalloc.h"
#include "proxy/gen.h"
#include "proxy/health.h"
#include "proxy/hdrs.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

/* Ring points per unit of weight: enough that members' shares stay within
 * a few percent of their weights. */
#define RING_POINTS 160

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* FNV-1a, mixed: a good spread for short keys. */
static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return mix64(h);
}

/* Room for the longest key: a socket path. */
#define MEMBER_KEY_MAX sizeof(((struct sockaddr_un *)NULL)->sun_path)

/* A member's key: its address and port, whatever name gave it; a UNIX
 * domain socket's path. */
static size_t member_key(const struct cfg_backend *be, unsigned char out[MEMBER_KEY_MAX])
{
    if (be->addr.ss_family == AF_UNIX) {
        const struct sockaddr_un *a = (const void *)&be->addr;
        size_t n = strnlen(a->sun_path, sizeof(a->sun_path));
        memcpy(out, a->sun_path, n);
        return n;
    }
    if (be->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)&be->addr;
        memcpy(out, &a->sin6_addr, 16);
        memcpy(out + 16, &a->sin6_port, 2);
        return 18;
    }
    const struct sockaddr_in *a = (const void *)&be->addr;
    memcpy(out, &a->sin_addr, 4);
    memcpy(out + 4, &a->sin_port, 2);
    return 6;
}

void lb_cookie_value(const struct cfg_backend *be, char out[9])
{
    unsigned char key[MEMBER_KEY_MAX];
    size_t n = member_key(be, key);
    snprintf(out, 9, "%08x", (unsigned)(hash_bytes(key, n, 0) >> 32));
}

/* ---- rings ---- */

struct point {
    uint64_t hash;
    uint32_t member;
};

static int cmp_point(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : (int)x->member - (int)y->member;
}

static void ring_build(const struct cfg_route *r, struct lb_ring *ring)
{
    size_t total = 0;
    for (size_t m = 0; m < r->num_backends; m++)
        total += RING_POINTS * (size_t)r->weights[m];
    struct point *pts = xcalloc(total ? total : 1, sizeof(*pts));
    size_t n = 0;
    for (size_t m = 0; m < r->num_backends; m++) {
        unsigned char key[MEMBER_KEY_MAX];
        size_t kn = member_key(r->backends[m], key);
        for (size_t k = 0; k < RING_POINTS * (size_t)r->weights[m]; k++)
            pts[n++] = (struct point){ hash_bytes(key, kn, k + 1), (uint32_t)m };
    }
    qsort(pts, n, sizeof(*pts), cmp_point);
    ring->hash = xcalloc(n ? n : 1, sizeof(*ring->hash));
    ring->member = xcalloc(n ? n : 1, sizeof(*ring->member));
    for (size_t i = 0; i < n; i++) {
        ring->hash[i] = pts[i].hash;
        ring->member[i] = pts[i].member;
    }
    ring->num = n;
    free(pts);
}

struct lb_ring *lb_rings_build(const struct config *cfg)
{
    struct lb_ring *rings = xcalloc(cfg->num_routes ? cfg->num_routes : 1, sizeof(*rings));
    for (size_t i = 0; i < cfg->num_routes; i++) {
        if (cfg->routes[i].policy.affinity == CFG_AFFINITY_IP)
            ring_build(&cfg->routes[i], &rings[i]);
    }
    return rings;
}

void lb_rings_free(struct lb_ring *rings, size_t num_routes)
{
    if (!rings)
        return;
    for (size_t i = 0; i < num_routes; i++) {
        free(rings[i].hash);
        free(rings[i].member);
    }
    free(rings);
}

struct lb_state *lb_states_new(const struct config *cfg)
{
    struct lb_state *st = xcalloc(cfg->num_routes ? cfg->num_routes : 1, sizeof(*st));
    for (size_t i = 0; i < cfg->num_routes; i++) {
        size_t n = cfg->routes[i].num_backends;
        st[i].current = xcalloc(n ? n : 1, sizeof(*st[i].current));
    }
    return st;
}

void lb_states_free(struct lb_state *st, size_t num_routes)
{
    if (!st)
        return;
    for (size_t i = 0; i < num_routes; i++)
        free(st[i].current);
    free(st);
}

/* ---- policies ---- */

static bool usable(const struct cfg_route *r, size_t m)
{
    return health_up(r->backends[m]->index);
}

/* Smooth weighted round-robin (nginx's): every member gains its weight,
 * the one with the most is picked and pays the total. Members out of
 * service neither gain nor pay. Weights 1: plain round-robin order. */
static size_t pick_round_robin(const struct cfg_route *r, struct lb_state *st)
{
    int64_t total = 0;
    size_t best = SIZE_MAX;
    for (size_t m = 0; m < r->num_backends; m++) {
        if (!usable(r, m))
            continue;
        st->current[m] += r->weights[m];
        total += r->weights[m];
        if (best == SIZE_MAX || st->current[m] > st->current[best])
            best = m;
    }
    if (best != SIZE_MAX)
        st->current[best] -= total;
    return best;
}

/* Whether member b is cheaper than member a under r's policy: fewer
 * requests in progress on this worker (least-outstanding), or a lower
 * upool_ewma_cost (peak-ewma; lbewma.h). Neither reads the weights: a
 * latency cost divided by a weight gave no predictable share (two like
 * members of weights 4 and 1 split 3999:1 in one run, 1657:2343 in the
 * next). */
static bool cheaper(struct worker *w, const struct cfg_route *r, size_t b, size_t a)
{
    const struct cfg_backend *bb = r->backends[b], *ba = r->backends[a];
    if (r->policy.lb != CFG_LB_PEAK_EWMA)
        return upool_outstanding(w, bb) < upool_outstanding(w, ba);
    double now = ev_now(w->loop);
    return upool_ewma_cost(w, bb, now) < upool_ewma_cost(w, ba, now);
}

/* Power of two choices: two members at random, the cheaper one (ties: the
 * first drawn). */
static size_t pick_two_choices(struct worker *w, const struct cfg_route *r)
{
    size_t n = 0;
    for (size_t m = 0; m < r->num_backends; m++)
        n += usable(r, m);
    if (n == 0)
        return SIZE_MAX;
    size_t i = wrk_random(w) % n, j = n > 1 ? wrk_random(w) % (n - 1) : 0;
    if (j >= i)
        j++;  /* two different members (j == n when there is one) */
    size_t a = SIZE_MAX, b = SIZE_MAX;
    for (size_t m = 0, k = 0; m < r->num_backends; m++) {
        if (!usable(r, m))
            continue;
        if (k == i)
            a = m;
        if (k == j)
            b = m;
        k++;
    }
    if (b == SIZE_MAX)
        return a;
    return cheaper(w, r, b, a) ? b : a;
}

static size_t pick_ip(const struct cfg_route *r, const struct lb_ring *ring,
                      const struct xchg *x)
{
    if (!ring || ring->num == 0)
        return SIZE_MAX;
    const struct client_facts *f = &x->cl->facts;
    uint64_t h = hash_bytes(f->peer, f->peer_len, 0);
    size_t lo = 0, hi = ring->num;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring->hash[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* The first point at or after h, then on round the ring past members
     * that are down. */
    for (size_t k = 0; k < ring->num; k++) {
        size_t m = ring->member[(lo + k) % ring->num];
        if (usable(r, m))
            return m;
    }
    return SIZE_MAX;
}

/* The member the request's affinity cookie names, if it is up. */
static size_t pick_cookie(const struct cfg_route *r, const struct xchg *x)
{
    struct str name = str_cstr(r->policy.cookie_name);
    for (size_t i = 0; i < x->req.num; i++) {
        if (!str_ieq(hdrs_name(&x->req, i), STR_LIT("cookie")))
            continue;
        struct str v = hdrs_value(&x->req, i);
        while (v.len) {
            while (v.len && (v.p[0] == ' ' || v.p[0] == ';'))
                v = str_make(v.p + 1, v.len - 1);
            const char *semi = memchr(v.p, ';', v.len);
            struct str pair = str_make(v.p, semi ? (size_t)(semi - v.p) : v.len);
            v = semi ? str_make(semi, v.len - pair.len) : STR_LIT("");
            if (pair.len != name.len + 9 || memcmp(pair.p, name.p, name.len) != 0 ||
                pair.p[name.len] != '=')
                continue;
            for (size_t m = 0; m < r->num_backends; m++) {
                char val[9];
                lb_cookie_value(r->backends[m], val);
                if (memcmp(pair.p + name.len + 1, val, 8) == 0)
                    return usable(r, m) ? m : SIZE_MAX;
            }
        }
    }
    return SIZE_MAX;
}

/* Every member is down: the one whose last failure is oldest. */
static size_t pick_fail_open(const struct cfg_route *r)
{
    size_t best = 0;
    double best_t = 0;
    for (size_t m = 0; m < r->num_backends; m++) {
        double t = health_last_failure(r->backends[m]->index);
        if (m == 0 || t < best_t) {
            best = m;
            best_t = t;
        }
    }
    return best;
}

size_t lb_pick(struct xchg *x)
{
    const struct cfg_route *r = x->route;
    struct wgen *wg = x->gen;
    size_t ri = (size_t)(r - wg->cfg->routes);
    size_t m = SIZE_MAX;
    if (r->num_backends == 0)
        return SIZE_MAX;
    if (r->policy.affinity == CFG_AFFINITY_IP)
        m = pick_ip(r, &wg->g->rings[ri], x);
    else if (r->policy.affinity == CFG_AFFINITY_COOKIE && (m = pick_cookie(r, x)) == SIZE_MAX)
        x->affinity_cookie = true;
    if (m == SIZE_MAX) {
        m = r->policy.lb == CFG_LB_ROUND_ROBIN ? pick_round_robin(r, &wg->lb[ri])
                                               : pick_two_choices(x->w, r);
    }
    if (m == SIZE_MAX && !wg->cfg->backend_fail_closed)
        m = pick_fail_open(r);
    return m;
}
