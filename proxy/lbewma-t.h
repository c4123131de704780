#ifndef H2G_PROXY_LBEWMA_T_H
#define H2G_PROXY_LBEWMA_T_H

/* One member's latency estimate for lb=peak-ewma, per worker (lbewma.h).
 * All zero: no estimate yet. */
struct lbewma {
    double est;  /* seconds; > 0 once the member has answered */
    double at;   /* when est was set (the caller's clock, seconds) */
};

#endif
