/* Peak-EWMA latency estimates: see lbewma.h. */
#include "proxy/lbewma.h"

#include <math.h>

bool lbewma_known(const struct lbewma *e, double now)
{
    return e->est > 0 && now - e->at < LBEWMA_DECAY;
}

/* e's estimate decayed from e->at to now, and the decay factor. */
static double decayed(const struct lbewma *e, double now, double *w)
{
    double dt = now - e->at;
    /* Picks within one loop iteration see the same ev_now: no exp then. */
    *w = dt > 0 ? exp(-dt / LBEWMA_DECAY) : 1.0;
    return e->est * *w;
}

void lbewma_answer(struct lbewma *e, double latency, double now)
{
    if (!(latency >= LBEWMA_MIN_LATENCY))
        latency = LBEWMA_MIN_LATENCY;  /* also a NaN */
    if (!lbewma_known(e, now)) {
        e->est = latency;
    } else {
        double w, d = decayed(e, now, &w);
        /* Time-weighted alone, a member answering thousands of times a
         * second kept the peak of any of them (a scheduling hiccup) for
         * seconds, and peaks of many samples outweighed the few of a slow
         * member: each answer moves it at least LBEWMA_ANSWER_WEIGHT. */
        double k = fmax(1.0 - w, LBEWMA_ANSWER_WEIGHT);
        e->est = latency >= d ? latency : d + (latency - d) * k;
    }
    e->at = now;
}

void lbewma_unanswered(struct lbewma *e, double waited, double now)
{
    if (!lbewma_known(e, now))
        return;
    double w, d = decayed(e, now, &w);
    if (waited > d) {
        e->est = waited;
        e->at = now;
    }
}

double lbewma_cost(const struct lbewma *e, uint32_t outstanding, double now)
{
    if (!lbewma_known(e, now))
        return outstanding == 0 ? 0.0 : LBEWMA_PENALTY + outstanding;
    double w;
    /* The samples already hold the queueing that requests in progress
     * cause (in h2gate's loop and in the member), so the full count would
     * weigh it twice: at 128 in flight the fast members' own latency grew
     * with their counts, (count + 1) x latency grew as the square, and a
     * member 50 times slower still got a 1% share. The square root keeps
     * the count deciding between members of like latency (it orders them
     * the same) and lets the latency decide between unlike ones (Envoy's
     * least_request has such an exponent, active_request_bias). */
    return decayed(e, now, &w) * sqrt((double)outstanding + 1.0);
}
