#ifndef H2G_PROXY_BCONN_T_H
#define H2G_PROXY_BCONN_T_H

#include <ev.h>
#include <http_parser.h>
#include <stdbool.h>

#include "common/buf-t.h"
#include "proxy/sock-t.h"

struct worker;
struct xchg;
struct cfg_backend;

enum bconn_state {
    BC_CONNECTING,  /* connect, then the TLS handshake (";tls") */
    BC_BUSY,    /* serving bc->x */
    BC_IDLE,    /* in the worker's keep-alive pool */
    BC_DEAD,    /* closed; freed by the prepare pass */
};

/* One HTTP/1.1 connection to a backend, one exchange at a time. */
struct bconn {
    struct worker *w;
    const struct cfg_backend *be;
    struct sock sock;       /* TLS for ";tls" backends */
    ev_timer timer;
    double last_activity;
    enum bconn_state state;
    http_parser parser;
    struct bufq out;
    struct xchg *x;
    struct bconn *next;     /* idle pool or graveyard */
    bool last_was_name;
    bool reused;            /* came from the idle pool */
    bool read_paused;
    bool got_bytes;         /* any response byte for the current exchange */
    bool req_chunked;
    bool req_sent;          /* the whole request is queued in out */
    bool keep_alive;
    bool in_trailers;
};

#endif
