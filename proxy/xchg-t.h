#ifndef H2G_PROXY_XCHG_T_H
#define H2G_PROXY_XCHG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "proxy/hdrs-t.h"

struct worker;
struct upstream;
struct cfg_route;
struct cfg_backend;
struct wgen;
struct xchg;

/* How far the client's request has come. Only moves forward.
 *   XREQ_HEAD  header fields arriving (req, i_*, bad_status)
 *   XREQ_BODY  the head is complete and xchg_start()ed; body bytes arrive
 *              in req_body (a tunnel's bytes, for CONNECT)
 *   XREQ_END   the client sent everything: req_body holds the rest,
 *              req_trailers is complete */
enum xchg_req_state { XREQ_HEAD, XREQ_BODY, XREQ_END };

/* What the upstream has delivered. Only moves forward (a retry on another
 * backend happens only in XRESP_WAIT).
 *   XRESP_WAIT  nothing final yet (an interim response may be waiting)
 *   XRESP_HEAD  status, resp and resp_content_length are set; body bytes
 *               arrive in resp_body (the target's bytes, for a tunnel)
 *   XRESP_END   resp_body holds the rest of the body, resp_trailers is
 *               complete (also set by the client side once it has put
 *               h2gate's own error answer in resp_body) */
enum xchg_resp_state { XRESP_WAIT, XRESP_HEAD, XRESP_END };

/* What the client side has sent. Only moves forward.
 *   XOUT_NONE  nothing (but perhaps interim responses and 100-continue)
 *   XOUT_HEAD  the head is queued (sent_status, head_sent_at are set)
 *   XOUT_DONE  everything is queued: the end of the body, or a reset */
enum xchg_out_state { XOUT_NONE, XOUT_HEAD, XOUT_DONE };

/* The client protocol of one exchange (HTTP/1.x is per request). */
enum xchg_proto { XCHG_HTTP10, XCHG_HTTP11, XCHG_H2 };

struct clientcert;

/* What the backend side and the access log may know of a client
 * connection, recorded once by the client side (peer at accept, the rest
 * when the protocol is known). Strings point at static text or into the
 * connection, which outlives its exchanges. */
struct client_facts {
    uint64_t conn_id;           /* for log lines: "c<id>" */
    int stats_proto;            /* enum stats_proto, -1 until known */
    bool tls;
    uint16_t peer_port;
    uint16_t server_port;       /* the frontend's port */
    size_t peer_len;
    char peer[48];              /* the address, IPv4-mapped shown as IPv4 */
    size_t local_len;           /* the address the client connected to, kept */
    char local[48];             /* only for --forwarded-by=ip (else empty) */
    const char *tls_version;    /* e.g. "TLSv1.3", or NULL */
    const char *tls_cipher;
    const char *sni;            /* server name the client asked for, or NULL */
    bool tls_session_reused;
    size_t tls_session_id_len;
    uint8_t tls_session_id[32];
    const struct clientcert *client_cert; /* a verified client's, or NULL */
};

/* What an exchange can ask of its client side. */
struct xchg_client_ops {
    /* x has news for the client (head, body, end, failure, interim):
     * queue it for the client's next flush pass. */
    void (*wake)(struct xchg *x);
    /* x's upstream took n request body bytes: return the HTTP/2 credit,
     * or let a paused HTTP/1.1 client read again. */
    void (*consumed)(struct xchg *x, size_t n);
    /* Answer the request's Expect: 100-continue. */
    void (*send_continue)(struct xchg *x);
};

/* The client's face towards its exchanges, embedded in the client
 * connection. */
struct xchg_client {
    const struct xchg_client_ops *ops;
    struct worker *w;
    struct client_facts facts;
    size_t num_tunnels;         /* exchanges linked to a tunnel upstream now */
};

/* One client request and its response, or one tunnel. Owned by its client
 * side, which creates it (xchg_new), links it in its own lists and frees
 * it (xchg_free) in its flush pass, never inside a protocol callback.
 * Linked to at most one upstream at a time (up and up->x point at each
 * other). The upstream side only records what happened and calls
 * xchg_notify(); the client side acts on it in its flush pass.
 *
 * Failure: error_status, once set, stays. Before XOUT_HEAD the client
 * gets h2gate's own answer with that status (or, for HTTP/2 with
 * reset_stream, RST_STREAM(rst_code)); after it, the response is cut
 * short (RST_STREAM, or the HTTP/1.1 connection closes). */
struct xchg {
    struct xchg_client *cl;
    struct worker *w;
    struct upstream *up;        /* NULL when none is linked */
    struct xchg *next;          /* the client side's list of exchanges */
    struct xchg *next_pending;  /* the client side's list of news */
    struct xchg *next_closed;   /* HTTP/2: the client side's list of closed streams */
    void *next_spare;           /* the worker's spare exchanges (xchg.c) */
    bool pending;               /* on the client side's list of news */
    bool req_due;               /* HTTP/2 pipe: request bytes arrived; the
                                   upstream is pumped once, in the flush pass */
    bool closed;                /* HTTP/2: the stream is closed, x is freed soon */
    enum xchg_proto proto;
    int32_t stream_id;          /* HTTP/2 stream, 0 for HTTP/1.1 */
    double start;               /* ev_now at the request's first byte */

    /* Request. Pseudo-header fields are stored in req with their ':'
     * names; i_* are their indexes or -1. i_authority is an HTTP/2
     * request's Host field when it has no :authority (h2srv.c); an
     * HTTP/1.1 client's Host is copied in as :authority (h1srv.c). */
    struct hdrs req;
    long i_method, i_scheme, i_authority, i_path;
    int64_t req_content_length; /* -1: unknown */
    enum xchg_req_state req_state;
    bool head_request;
    bool is_connect;            /* CONNECT: a tunnel, not a request */
    /* HTTP/1.1 Connection: upgrade + Upgrade: websocket (or a token
     * --allow-upgrade allows: upgrade says which). Its "body" is the
     * WebSocket (req_state stays XREQ_BODY) once the backend accepts:
     * status is then 101, whatever the backend said (an HTTP/1.1
     * backend's 101, or an HTTP/2 backend's 2xx to the extended CONNECT,
     * bstream.c), and the upstream is a byte pipe (tun_adopt_websocket, or
     * the HTTP/2 stream itself); any other answer ends the request there
     * and the connection goes on. */
    bool websocket;
    /* With websocket: the token, static or config memory (xchg_upgrade). */
    const char *upgrade;
    size_t upgrade_len;
    /* HTTP/2 extended CONNECT (RFC 8441): the request had :protocol. It
     * is routed as a request (is_connect is cleared), and websocket is set
     * when :protocol is "websocket": an HTTP/1.1 backend gets an Upgrade
     * GET, an HTTP/2 one the extended CONNECT; the client gets :status 200
     * when the WebSocket opens. */
    bool ext_connect;
    bool expect_continue;
    int bad_status;             /* nonzero: the head broke a rule or cap (400, 431) */
    size_t req_unconsumed;      /* HTTP/2: received, credit not returned */
    uint64_t req_received;      /* HTTP/2: body bytes received, all told */
    uint64_t req_body_moved;    /* body bytes handed to a backend */
    struct bufq req_body;
    struct hdrs req_trailers;   /* complete in XREQ_END */

    /* Written by the upstream pool. */
    const struct cfg_route *route;
    size_t backend_tries;       /* backends of the route tried so far */
    size_t first_backend;       /* round-robin pick of the first try */
    long backend_index;         /* registry slot of the last backend used, or -1 */
    bool outstanding;           /* counted in backend's upool outstanding */
    /* ev_now when upool gave x to backend (its latest try), until the
     * response head; 0 after it or before any (lb=peak-ewma's sample). */
    double taken_at;
    bool affinity_cookie;       /* the response sets the group's affinity cookie */
    const struct cfg_backend *backend; /* that backend (registry object), or NULL */
    struct wgen *gen;           /* the generation its route comes from (pinned) */
    bool reuse_retried;         /* a stale keep-alive connection was retried */

    /* Response, as the upstream delivers it. */
    enum xchg_resp_state resp_state;
    struct hdrs resp;
    int status;
    int64_t resp_content_length;
    /* ... and as the client side sends it. */
    enum xchg_out_state out_state;
    bool deferred;          /* HTTP/2 data source returned DEFERRED */
    bool resp_chunked;      /* HTTP/1.1 client: body framed chunked */
    int error_status;       /* nonzero: answer this (or reset if too late) */
    uint32_t rst_code;      /* HTTP/2 reset code when too late (0: INTERNAL_ERROR) */
    const char *proxy_status; /* RFC 9209 error type for error answers, or NULL */
    bool auth_challenge;    /* 407: add Proxy-Authenticate */
    char *location;         /* h2gate's own redirect: its Location (heap) */
    uint64_t resp_bytes;    /* body bytes sent to the client */
    double head_sent_at;    /* ev_now when the response head was queued */
    int sent_status;        /* the status the client was sent, 0 before */
    bool logged;            /* the access log line is written */
    uint64_t tun_bytes_up;  /* tunnel totals, kept up to date by the tunnel */
    uint64_t tun_bytes_down;
    struct bufq resp_body;
    /* Response trailer fields; complete in XRESP_END. The client
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
    bool pipe_reset;        /* HTTP/2 client: RST_STREAM submitted after the head */
    /* HTTP/2 client: stream timeouts (--stream-read-timeout,
     * --stream-write-timeout). in_at: request bytes last arrived or credit
     * was last returned; out_wait_since: response bytes have waited in
     * resp_body without any being sent since (0: none waiting). */
    double in_at;
    double out_wait_since;
    /* HTTP/2 client, pipe streams (h2win.c): stream credit returned since
     * h2_win_since (0: none yet), and how much the window has grown. */
    size_t h2_win_used;
    double h2_win_since;
    size_t h2_win_grown;
    double h2_rtt;              /* the client's RTT as last read, seconds */
    double h2_rtt_at;           /* when (0: never) */
    /* HTTP/2 client: the stream's RFC 9218 priority as nghttp2 schedules
     * it (h2prio.c): the client's signals, then the backend's amendment;
     * prio_fixed once the backend's is applied (client signals ignored). */
    uint8_t prio_urgency;
    bool prio_incremental;
    bool prio_fixed;
    /* HTTP/2 client: a pushed stream's exchange (h2push.c): its request
     * is the one h2gate promised, it never pushes in turn. */
    bool pushed;
};

#endif
