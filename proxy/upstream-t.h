#ifndef H2G_PROXY_UPSTREAM_T_H
#define H2G_PROXY_UPSTREAM_T_H

#include <stdbool.h>

struct bufq;
struct upstream;
struct xchg;

/* What an exchange can ask of its upstream. Every upstream implements
 * them: the HTTP/1.1 backend connection (bconn.c), the HTTP/2 backend
 * stream (bsess.c) and the tunnel (tunnel.c). */
struct upstream_ops {
    bool tunnel;        /* counted in the client's num_tunnels */
    /* The exchange has more request body in x->req_body, or its end
     * (XREQ_END): move it on. */
    void (*pump)(struct upstream *up);
    /* The client side took response bytes from x->resp_body: take more
     * from the backend (resume reading, return flow-control credit). */
    void (*drained)(struct upstream *up);
    /* The exchange is going away: up->x is already NULL. The upstream
     * closes (or, for an HTTP/2 stream, resets) whatever is unfinished and
     * frees itself in its own time. Never calls back into the exchange. */
    void (*abandon)(struct upstream *up);
    /* Optional (NULL otherwise): the client's socket fd, plain, with
     * nothing buffered either way, may be spliced to the upstream's from
     * now on. Returns false (nothing changed) when it cannot be. */
    bool (*splice)(struct upstream *up, int client_fd);
    /* Optional (NULL: abandon is called instead): like abandon, for an
     * exchange whose client ended its request cleanly while rest (its
     * req_body) still holds bytes the upstream has not taken. The
     * upstream moves them out of rest, writes them, then ends its
     * sending side and closes (a tunnel's target gets the client's last
     * bytes even when the client connection goes first). */
    void (*finish)(struct upstream *up, struct bufq *rest);
};

/* Embedded in each upstream object. x and x->up point at each other while
 * linked (xchg_link() / xchg_unlink()); x is NULL afterwards. */
struct upstream {
    const struct upstream_ops *ops;
    struct xchg *x;
};

#endif
