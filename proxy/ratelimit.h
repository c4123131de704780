/* nghttpx's --read-rate/--read-burst and --write-rate/--write-burst: two
 * token buckets of one client connection, in bytes (what the connection
 * reads and writes above TLS). A bucket holds at most its burst (0: one
 * second's worth of its rate) and fills at its rate; reading or writing
 * takes from it, and may take it below zero by the part of a TLS record
 * or frame already under way, which later time repays. A rate of 0 is no
 * limit. The connection asks how much it may move now, moves at most
 * that, says what it moved, and when a bucket is empty waits until
 * ratelimit_wait(): the time by which the bucket holds enough for one
 * full record again (or its burst, or one second's worth, if smaller), so
 * a limited connection wakes about as often as its rate divided by 16 KiB
 * (at least once a second), not once a byte.
 * Time is the caller's (ev_now): the functions are pure, for unit tests. */
#ifndef H2G_PROXY_RATELIMIT_H
#define H2G_PROXY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct config;

enum rl_dir { RL_READ, RL_WRITE };

struct rl_bucket {
    double rate;        /* bytes a second; 0: unlimited */
    double burst;       /* the most it holds */
    double tokens;      /* bytes it may move now; below 0 after an overshoot */
    double at;          /* the time tokens was last brought up to date */
};

struct ratelimit {
    struct rl_bucket b[2];  /* by enum rl_dir */
    double wake_at;         /* a wait under way ends then; 0: none */
};

/* The buckets cfg asks for, full at now; NULL when neither direction is
 * limited (the common case: the connection then carries no state). */
struct ratelimit *ratelimit_new(const struct config *cfg, double now);

void ratelimit_free(struct ratelimit *r);

/* How many of want bytes may move in direction d now (0: wait). */
size_t ratelimit_allow(struct ratelimit *r, enum rl_dir d, size_t want, double now);

/* n bytes moved in direction d. */
void ratelimit_took(struct ratelimit *r, enum rl_dir d, size_t n);

/* Direction d is empty: the time to try again, also kept as r->wake_at
 * (the earliest of the waits asked for). */
double ratelimit_wait(struct ratelimit *r, enum rl_dir d, double now);

#endif
