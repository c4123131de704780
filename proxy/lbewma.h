/* lb=peak-ewma's view of a member: a moving average of its response-head
 * latency that jumps up to a slower answer at once and comes down only
 * with time (Finagle's and Linkerd's "peak EWMA"), and the cost of sending
 * it one more request, sqrt(requests in progress + 1) x that estimate. Pure
 * arithmetic on times the caller gives (seconds on any monotonic clock,
 * ev_now in h2gate), so unit tests drive it with a fake clock. One
 * struct lbewma per member per worker (upool-t.h): no locks, no sharing.
 *
 * Between answers the estimate decays toward zero with the time constant
 * LBEWMA_DECAY, so a member that is passed over looks cheaper as time goes
 * by; an estimate with no answer for LBEWMA_DECAY is forgotten, and a
 * member with no estimate (new, back from down, or long avoided) costs
 * nothing while it has no request in progress, so it is probed with the
 * next request that draws it, and costs a penalty above any real cost
 * while that probe is out, so it gets no second request before it has
 * answered one (a member that takes requests and never answers holds one). */
#ifndef H2G_PROXY_LBEWMA_H
#define H2G_PROXY_LBEWMA_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/lbewma-t.h"

/* Seconds: the decay's time constant (the estimate falls to 1/e of itself
 * in that time without an answer) and the age past which it is dropped. */
#define LBEWMA_DECAY 2.0
/* The cost of a member with no estimate and requests in progress (plus
 * their number): above any cost a member with an estimate can reach. */
#define LBEWMA_PENALTY 1e9
/* The least weight of an answer faster than the estimate. */
#define LBEWMA_ANSWER_WEIGHT (1.0 / 16)
/* Seconds: the smallest latency recorded (a clock that did not move
 * between request and answer still makes an estimate). */
#define LBEWMA_MIN_LATENCY 1e-6

/* Whether e holds an estimate at time now: the member has answered, and
 * its last answer is younger than LBEWMA_DECAY. */
bool lbewma_known(const struct lbewma *e, double now);

/* The member answered (a response head) latency seconds after it was given
 * the request, at time now. An answer slower than the decayed estimate
 * replaces it; a faster one pulls it down by the weight of the time since
 * the last answer (1 - e^(-dt/LBEWMA_DECAY)), at least by
 * LBEWMA_ANSWER_WEIGHT; with no estimate, the answer is the estimate. */
void lbewma_answer(struct lbewma *e, double latency, double now);

/* A request to the member ended without an answer after waited seconds
 * (it failed, or its client went away): the member took at least that
 * long, so the estimate rises to waited if that is more. Says nothing of
 * a member with no estimate (a fast failure is not a fast answer: passive
 * health, fall=, deals with failures). */
void lbewma_unanswered(struct lbewma *e, double waited, double now);

/* The cost at time now of one more request to a member with estimate e
 * and outstanding requests in progress: e's estimate decayed to now, times
 * sqrt(outstanding + 1). With no estimate: 0 while outstanding is 0, else
 * LBEWMA_PENALTY + outstanding. Lower is better. */
double lbewma_cost(const struct lbewma *e, uint32_t outstanding, double now);

#endif
