#ifndef H2G_PROXY_BCONN_T_H
#define H2G_PROXY_BCONN_T_H

#include <ev.h>
#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "proxy/sock-t.h"
#include "proxy/upstream-t.h"

struct worker;
struct xchg;
struct cfg_backend;

enum bconn_state {
    BC_CONNECTING,  /* connect, then the TLS handshake (";tls") */
    BC_BUSY,    /* serving up.x */
    BC_IDLE,    /* in the upstream pool's keep-alive list */
    BC_DEAD,    /* closed; freed by the prepare pass */
};

/* One HTTP/1.1 connection to a backend, one exchange at a time: that
 * exchange's upstream. */
struct bconn {
    struct upstream up;
    struct worker *w;
    const struct cfg_backend *be;
    struct sock sock;       /* TLS for ";tls" backends */
    ev_timer timer;
    double last_activity;
    enum bconn_state state;
    http_parser parser;
    struct bufq out;
    struct bconn *next;     /* the pool's idle list or the graveyard */
    struct bconn *prev;     /* the pool's idle list only */
    bool pooled;            /* on the pool's idle list */
    bool last_was_name;
    bool reused;            /* came from the idle pool */
    bool read_paused;
    bool got_bytes;         /* any response byte for the current exchange */
    bool in_place;          /* this read went straight into the response body */
    bool req_chunked;
    int64_t req_left;       /* Content-Length framing: body bytes still to queue */
    bool req_overrun;       /* body bytes past Content-Length were dropped */
    bool req_sent;          /* the whole request is queued in out */
    bool write_failed;      /* the backend took no more of the request: the
                               rest is dropped, the answer still read */
    bool keep_alive;
    bool fast;              /* the head took h1resp's fast path; the body is counted here */
    uint64_t fast_left;     /* ... and so many of its bytes are still to come */
    bool in_trailers;
    bool websocket;         /* the request asks to switch to WebSocket */
    bool switched;          /* ... and the backend answered 101 */
    /* An HTTP/2 client's WebSocket (RFC 8441): h2gate's own
     * Sec-WebSocket-Key, base64 of 16 random bytes, NUL-terminated;
     * empty otherwise (an HTTP/1.1 client checks its own). */
    char ws_key[25];
};

#endif
