#ifndef H2G_PROXY_BSESS_T_H
#define H2G_PROXY_BSESS_T_H

#include <ev.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "proxy/hdrs-t.h"
#include "proxy/sock-t.h"
#include "proxy/upstream-t.h"

struct worker;
struct xchg;
struct cfg_backend;
struct bsess;

/* One exchange's stream towards an HTTP/2 backend: the exchange's
 * upstream. Lives from bstream_new() until its nghttp2 stream is closed
 * and handled (or the exchange fails); up.x is NULL once the client has
 * gone. */
struct bstream {
    struct upstream up;
    struct worker *w;
    struct bsess *s;            /* NULL while waiting in the pool's queue */
    const struct cfg_backend *be;
    struct hdrs req_hdrs;       /* the request head as sent (kept for a retry) */
    int32_t stream_id;          /* 0 until submitted */
    struct bstream *next;       /* s->streams, s->held, or the pool's queue */
    struct bstream *prev;       /* s->streams or the pool's queue */
    struct bstream *next_done;  /* s->done */
    void *next_spare;           /* the worker's spare streams (bstream.c) */
    double queued_at;
    size_t unconsumed;          /* response DATA taken in, credit not returned */
    size_t replay_len;          /* leading bytes of x->req_body already credited */
    struct bufq replay;         /* body bytes sent on this attempt, for a retry */
    int status;                 /* :status of the header block being read */
    int retries;
    uint32_t rst_code;          /* the backend's RST_STREAM code */
    uint32_t close_code;
    const char *why;            /* a local reason to fail (malformed response) */
    bool headers_sent;          /* the request HEADERS left h2gate */
    bool not_sent;              /* nghttp2 gave up on the HEADERS: never sent */
    bool deferred;              /* the body source returned DEFERRED */
    bool got_head;              /* the final response head arrived */
    bool got_rst;
    bool closed;
    bool in_done;
    bool replay_overflow;       /* the body outgrew the replay buffer */
    /* An extended CONNECT (RFC 8441) carrying a WebSocket: submitted only
     * on a session whose backend sent SETTINGS_ENABLE_CONNECT_PROTOCOL;
     * ws_open once it answered 2xx, from then on a byte pipe timed by
     * --tunnel-idle-timeout (ws_timer, ws_active) and counted in the
     * WebSocket metrics. */
    bool queued;                /* on the pool's queue (upool_h2_enqueue) */
    bool ws;
    bool ws_open;
    double ws_start;
    double ws_active;
    ev_timer ws_timer;
};

enum bsess_state {
    BS_CONNECTING,  /* connect, then the TLS handshake */
    BS_READY,
    BS_DEAD,    /* closed; freed by the prepare pass */
};

/* One HTTP/2 connection to a backend, shared by every client connection
 * of its worker. Listed in the upstream pool while not dead. */
struct bsess {
    struct worker *w;
    const struct cfg_backend *be;
    uint64_t id;
    struct sock sock;
    ev_timer timer;
    enum bsess_state state;
    nghttp2_session *h2;
    struct bufq out;
    struct bstream *streams;    /* submitted to nghttp2 */
    struct bstream *held;       /* waiting for the backend's SETTINGS or a PING ACK */
    struct bstream *done;       /* closed by nghttp2; handled after recv/send */
    size_t num_streams;         /* streams + held */
    struct bsess *next, *prev;  /* the pool's session list of the backend */
    struct bsess *next_dirty;
    struct bsess *next_grave;
    double started;             /* ev_now at connect, then at READY */
    double last_read;
    double last_write;          /* ev_now of the last write progress, or when output became pending */
    double idle_since;          /* ev_now when num_streams fell to 0 */
    double ping_sent;
    const char *fatal;          /* set in callbacks: torn down afterwards */
    bool dirty;
    bool settings_acked;
    bool got_settings;          /* the backend's SETTINGS arrived */
    bool settings_news;         /* ... just now: the queue may move */
    bool goaway;                /* no new streams (GOAWAY either way) */
    bool checking;              /* PING sent, held streams wait for its ACK */
    bool counted_idle;          /* in h2gate_backend_connections_idle (sync_idle) */
    bool write_wait;            /* output left pending: the write deadline is armed */
    bool lost;                  /* the connection broke (reset, EOF, write error) */
};

#endif
