#ifndef H2G_PROXY_CCONN_T_H
#define H2G_PROXY_CCONN_T_H

#include <ev.h>
#include <http_parser.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "proxy/h2abuse-t.h"
#include "proxy/sock-t.h"
#include "proxy/xchg-t.h"

struct worker;
struct xchg;
struct wgen;
struct cfg_frontend;
struct cconn;

enum cconn_proto {
    CC_SNIFF,   /* cleartext: waiting for the first bytes */
    CC_TLS,     /* TLS handshake under way */
    CC_H2,
    CC_H1,
    CC_PROXY,   /* ";proxyproto": waiting for the PROXY header */
};

enum cconn_shut {
    CC_SHUT_NOTICE,     /* graceful shutdown begins: HTTP/2 first GOAWAY */
    CC_SHUT_FINAL,      /* the final GOAWAY, a second later */
};

/* The protocol glue behind a client connection, once its protocol is
 * known: the HTTP/2 server (h2srv.c) and the HTTP/1.1 server (h1srv.c).
 * The connection (cconn.c) owns the socket, the buffers, the timer and
 * the flush pass; the glue turns bytes into exchanges and exchange news
 * into bytes. */
struct cconn_ops {
    /* Bytes read from the client. */
    void (*recv)(struct cconn *cc, const char *p, size_t len);
    /* The client ended its sending side (or reset). Returns true when the
     * connection is to close now (else cc->eof is set and reading stops). */
    bool (*eof)(struct cconn *cc);
    /* x has news from its upstream (flush pass). */
    void (*news)(struct cconn *cc, struct xchg *x);
    /* Flush pass: adds output to cc->out while it is under the glue's
     * mark. Returns true when it stopped only because out was full, so
     * more will come once out is written. */
    bool (*produce)(struct cconn *cc);
    /* Flush pass: everything produced is written. The glue closes the
     * connection, or lets it wait. */
    void (*drained)(struct cconn *cc);
    /* Graceful shutdown steps. Returns true when the glue keeps the
     * connection a while longer (GOAWAY sent), false when it is marked to
     * close when done. */
    bool (*shutdown)(struct cconn *cc, enum cconn_shut how);
    /* The timer fired (at now): act on the glue's expired deadlines (its
     * read, idle and stream timeouts) and return the earliest one still
     * ahead, or INFINITY. See "Timeouts" in ARCHITECTURE.md. */
    double (*timeout)(struct cconn *cc, double now);
    /* Reading was paused for backpressure: may it resume now? */
    bool (*may_read)(struct cconn *cc);
    /* The connection is being freed: free the exchanges and the glue's
     * own state. */
    void (*cleanup)(struct cconn *cc);
};

/* HTTP/2 server state (h2srv.c). */
struct h2srv {
    /* Read through h2mem_session() (h2mem.h), which wakes it if it
     * sleeps; nghttp2's callbacks have it as their argument. */
    nghttp2_session *session_raw;
    struct xchg *closed;        /* streams nghttp2 closed: freed in the flush pass */
    size_t num_open;            /* exchanges not yet closed */
    double idle_since;          /* no open stream since; 0 while one is open */
    double settings_since;      /* our SETTINGS unacknowledged since; 0: none */
    double wait_ended;          /* a stream that held off the read timeout closed */
    double close_at;            /* GOAWAY queued for a timeout: close then */
    bool goaway_final_sent;     /* shutdown's or --frontend-max-requests' */
    bool rfc9218_seen;          /* the client sent an RFC 9218 signal (h2prio.c) */
    uint8_t sleep_shift;        /* the delay before sleep: the option's << this */
    bool mem_used;              /* frames sent since h2mem gave pages back
                                   (with --frontend-http2-session-sleep=0) */
    uint32_t num_pushes;        /* PUSH_PROMISEs submitted (h2push.c) */
    struct h2abuse abuse;       /* glitch budget (h2abuse.c) */
    /* The session's region (h2mem.c: what nghttp2 allocated while it was
     * created, and h2gate's own bytes, h2mem_own), and while the session
     * sleeps, the region's packed words. */
    struct h2mem_region *mem;
    void *blob;
};

/* HTTP/1.1 server state (h1srv.c): one exchange at a time. */
#define H1SRV_METHOD_MAX 32

struct h1srv {
    http_parser parser;
    bool keep_alive;
    bool last_was_name;
    bool in_message;
    double head_start;  /* first byte of the request head being read; 0: none */
    double idle_since;  /* between requests since; 0 otherwise */
    bool served;        /* a request was answered: idle means keep-alive */
    bool upgrade_http;  /* the current request asks for an Upgrade; the
                           connection stays HTTP/1.1 unless it switches */
    bool tunnel;        /* after CONNECT or a WebSocket's 101: a raw byte pipe */
    bool spliced;       /* the tunnel moves our socket's bytes: hands off */
    /* The current request's method when http-parser does not know it
     * (h1srv.c swap_method): parsed as "PUT", restored here. */
    uint8_t method_len; /* 0: http-parser's own */
    char method[H1SRV_METHOD_MAX];
};

/* One accepted client connection. Freed only by the worker's prepare pass
 * (cconn_close() marks it). */
struct cconn {
    struct worker *w;
    const struct cfg_frontend *fe;
    struct wgen *gen;       /* the generation fe belongs to (pinned) */
    struct xchg_client xc;  /* facts and operations for the exchanges */
    struct sock sock;
    struct clientcert *client_cert; /* the client's certificate, or NULL */
    /* One timer for every deadline of the connection and its streams:
     * it fires at timer_at, the glue and the connection act on what has
     * expired and re-arm it at the earliest deadline left. Activity only
     * moves deadlines later (the timer then fires early and re-arms);
     * a deadline that starts calls cconn_deadline(). */
    ev_timer timer;
    double timer_at;
    double accepted_at;
    double last_read;       /* bytes last came from the client */
    double out_since;       /* output waiting with no write progress since; 0: none */
    enum cconn_proto proto;
    const struct cconn_ops *ops;    /* NULL until the protocol is known */
    union {
        struct h2srv h2;
        struct h1srv h1;
    } p;
    /* Bytes read but not yet parsed (HTTP/1.1, and the preface sniff).
     * Contiguous so a request head can be checked in one pass; freed
     * whenever it empties. At most the header cap plus one read. */
    char *in;
    size_t in_len, in_cap;
    struct bufq out;    /* bytes waiting for the socket */
    struct xchg *xchgs;     /* HTTP/2: every open exchange; HTTP/1.1: current */
    struct xchg *pending;   /* exchanges with news from their upstream */
    size_t num_xchgs;
    uint64_t num_requests;  /* request heads begun (--frontend-max-requests) */

    struct cconn *prev, *next;  /* worker->conns */
    struct cconn *next_dirty;
    struct cconn *next_grave;
    union {
        double linger_until;    /* lingering: see cconn_linger */
        struct ratelimit *rl;   /* otherwise: --read-rate/--write-rate's
                                   buckets (proxy/ratelimit.h), or NULL */
    };
    /* The flags last, together: struct cconn stays within jemalloc's
     * 768-byte size class (bench/idle_mem). */
    bool dirty;
    bool closing;       /* close once out is written */
    bool lingering;     /* answer out, write side shut: dropping what the
                           client still sends until linger_until (cconn_linger) */
    bool dead;          /* watchers stopped; freed by the prepare pass */
    bool read_paused;
    bool eof;           /* client closed its sending side */
};

#endif
