#ifndef H2G_PROXY_XCHG_T_H
#define H2G_PROXY_XCHG_T_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "proxy/hdrs-t.h"

struct cconn;
struct bconn;
struct bstream;
struct tunnel;
struct cfg_route;

/* One client request and its response. Owned by its client connection
 * (cc); linked to at most one backend connection (bc) at a time. The
 * backend side only records what happened and calls xchg_notify(); the
 * client side acts on it in its flush pass. */
struct xchg {
    struct cconn *cc;
    struct bconn *bc;
    struct bstream *bs;         /* HTTP/2 backend stream (proxy/bsess.c), or NULL */
    struct tunnel *tun;         /* CONNECT: the target side */
    struct xchg *next;          /* cc->xchgs */
    struct xchg *next_pending;  /* cc->pending */
    bool pending;
    int32_t stream_id;          /* HTTP/2 stream, 0 for HTTP/1.1 */
    double start;               /* ev_now at the request's first byte */

    /* Request. Pseudo-header fields are stored in req with their ':'
     * names; i_* are their indexes or -1. */
    struct hdrs req;
    long i_method, i_scheme, i_authority, i_path;
    int64_t req_content_length; /* -1: unknown */
    bool req_head_done;         /* all request header fields received */
    bool req_end;               /* client sent the whole body */
    bool head_request;
    bool is_connect;            /* CONNECT: a tunnel, not a request */
    bool expect_continue;
    bool bad_request;           /* a field broke a rule or cap: answer 400/431 */
    int bad_status;
    size_t req_unconsumed;      /* HTTP/2: received, credit not returned */
    uint64_t req_body_moved;    /* body bytes handed to a backend */
    struct bufq req_body;
    struct hdrs req_trailers;   /* complete once req_end is set */

    const struct cfg_route *route;
    size_t backend_tries;       /* backends of the route tried so far */
    size_t first_backend;       /* round-robin pick of the first try */
    long backend_index;         /* config index of the last backend used, or -1 */
    bool reuse_retried;         /* a stale keep-alive connection was retried */

    /* Response. */
    struct hdrs resp;
    int status;
    int64_t resp_content_length;
    bool resp_head_ready;   /* backend delivered the head */
    bool resp_head_sent;    /* head forwarded to the client */
    bool resp_end;          /* backend delivered the whole body */
    bool resp_done;         /* client side has queued everything */
    bool deferred;          /* HTTP/2 data source returned DEFERRED */
    bool resp_chunked;      /* HTTP/1.1 client: body framed chunked */
    int error_status;       /* nonzero: answer this (or reset if too late) */
    uint32_t rst_code;      /* HTTP/2 reset code when too late (0: INTERNAL_ERROR) */
    const char *proxy_status; /* RFC 9209 error type for error answers, or NULL */
    bool auth_challenge;    /* 407: add Proxy-Authenticate */
    uint64_t resp_bytes;    /* body bytes sent to the client */
    double head_sent_at;    /* ev_now when the response head was queued */
    int sent_status;        /* the status the client was sent, 0 before */
    bool logged;            /* the access log line is written */
    uint64_t tun_bytes_up;  /* tunnel totals, kept when the tunnel ends */
    uint64_t tun_bytes_down;
    struct bufq resp_body;
    /* Response trailer fields; complete once resp_end is set. The client
     * side sends them after the body (HTTP/2 trailers, or after the last
     * chunk of a chunked HTTP/1.1 response; dropped otherwise). */
    struct hdrs resp_trailers;
    /* An interim (1xx other than 100, which h2gate answers itself) response
     * from the backend waiting to be forwarded before the head: the client
     * side sends it when it can (HTTP/2, HTTP/1.1) and sets the status back
     * to 0; a newer one replaces one not yet sent. */
    int interim_status;
    struct hdrs interim;
    /* HTTP/2 client: answer RST_STREAM(rst_code) even when no head was
     * sent (a backend reset passed on, RFC 9113 §8.7). */
    bool reset_stream;
};

#endif
