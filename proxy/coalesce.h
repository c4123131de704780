/* Event coalescing for a busy worker (--io-collect-interval).
 *
 * A worker that wakes for every one or two ready sockets pays a poll, a
 * read and a write per wake, and so do its peers, which get the
 * requests and responses in as many small writes. When the worker's polls
 * keep finding several sockets ready at once, other sockets are usually
 * about to be ready too: then waiting up to the interval between polls
 * (libev's io collect interval: no wait when the pass itself took that
 * long) gathers more work per wake, for fewer system calls per request on
 * both sides. A worker whose polls find one socket at a time (one client
 * waiting on each answer) gains nothing from waiting, and would only add
 * latency: it never waits.
 *
 * The rule: an average of the events each poll returned (weight 1/8 to
 * the newest); waiting turns on at 2 events a poll or more, off again
 * below 1.5. Pure, for unit tests; worker.c feeds it from an ev_check
 * watcher (ev_pending_count after each poll) and sets libev's interval
 * when the state flips. */
#ifndef H2G_PROXY_COALESCE_H
#define H2G_PROXY_COALESCE_H

#include <stdbool.h>
#include <stdint.h>

struct coalesce {
    uint32_t avg;   /* events a poll, average, in 1/16ths */
    bool on;        /* waiting between polls */
};

#define COALESCE_ON_AT  (2 * 16)    /* 2 events a poll */
#define COALESCE_OFF_AT (3 * 16 / 2) /* 1.5 */

/* One poll found events ready (timers included). Returns true when the
 * state flipped (c->on then says which way). */
bool coalesce_note(struct coalesce *c, unsigned events);

#endif
