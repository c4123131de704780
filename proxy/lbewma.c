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
        e->est = latency >= d ? latency : d * w + latency * (1.0 - w);
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
    return decayed(e, now, &w) * ((double)outstanding + 1.0);
}
