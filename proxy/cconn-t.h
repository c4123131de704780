#ifndef H2G_PROXY_CCONN_T_H
#define H2G_PROXY_CCONN_T_H

#include <ev.h>
#include <http_parser.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "proxy/sock-t.h"
#include "proxy/xchg-t.h"

struct worker;
struct xchg;
struct cfg_frontend;

enum cconn_proto {
    CC_SNIFF,   /* cleartext: waiting for the first bytes */
    CC_TLS,     /* TLS handshake under way */
    CC_H2,
    CC_H1,
};

/* One accepted client connection. Freed only by the worker's prepare pass
 * (cconn_close() marks it). */
struct cconn {
    struct worker *w;
    const struct cfg_frontend *fe;
    struct xchg_client xc;  /* facts and operations for the exchanges */
    struct sock sock;
    ev_timer timer;
    double last_activity;
    enum cconn_proto proto;
    /* Bytes read but not yet parsed (HTTP/1.1, and the preface sniff).
     * Contiguous so a request head can be checked in one pass; freed
     * whenever it empties. At most the header cap plus one read. */
    char *in;
    size_t in_len, in_cap;
    struct bufq out;    /* bytes waiting for the socket */
    nghttp2_session *h2;
    http_parser parser;
    struct xchg *xchgs;     /* HTTP/2: every open exchange; HTTP/1.1: current */
    struct xchg *pending;   /* exchanges with news from their backend */
    size_t num_xchgs;

    struct cconn *prev, *next;  /* worker->conns */
    struct cconn *next_dirty;
    struct cconn *next_grave;
    bool dirty;
    bool closing;       /* close once out is written */
    bool dead;          /* watchers stopped; freed by the prepare pass */
    bool read_paused;
    bool eof;           /* client closed its sending side */
    bool goaway_final_sent;

    /* HTTP/1.1 parser state. */
    bool h1_keep_alive;
    bool h1_last_was_name;
    bool h1_head_checked;
    bool h1_in_message;
    bool h1_tunnel;     /* after CONNECT: a raw byte pipe */
    bool spliced;       /* the tunnel moves our socket's bytes: hands off */
};

#endif
