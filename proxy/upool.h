/* The upstream pool: how an exchange gets its backend and its connection.
 * Per worker, it picks the route's member (round-robin, the next member
 * when one cannot be reached), keeps HTTP/1.1 keep-alive connections,
 * places exchanges on HTTP/2 sessions (opening new ones as every open
 * one fills, up to --backend-connections-per-host when set, queueing
 * beyond), bounds HTTP/1.1
 * connections (--backend-http1-connections-per-host, exchanges waiting
 * in arrival order beyond), and retries streams a
 * backend refused, replaying their request body. Health checks and DNS
 * re-resolution belong here too. */
#ifndef H2G_PROXY_UPOOL_H
#define H2G_PROXY_UPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/sock-t.h"
#include "proxy/upool-t.h"

struct worker;
struct cfg_backend;
struct xchg;

/* Tries of a stream the backend cannot have processed: never sent (held
 * for a session's SETTINGS, or not sent because a GOAWAY came first), or
 * above a GOAWAY's last-stream-id. A backend that sends GOAWAY on every
 * session at once bounces such a stream from session to session, each
 * one's GOAWAY still unread when the stream was placed there, as many
 * times as there are sessions: the cap only stops a backend that refuses
 * everything forever (nghttpx's is 50 tries of any kind). A
 * REFUSED_STREAM reset is retried once. */
#define UPOOL_H2_MAX_REFUSED 50
/* Tries of an idempotent request whose connection broke with nothing
 * said about it: the backend may have processed it. */
#define UPOOL_H2_MAX_RESENDS 3

void upool_init(struct worker *w);

/* The slot-holder counts that keep a backend registry slot from being
 * reclaimed (config/registry.h): every object that may still use a
 * cfg_backend (or its slot's cells) without an exchange pinning a
 * generation takes one: a backend connection or session from its connect
 * until it is reaped, a WebSocket tunnel adopted from one until it is
 * reaped. upool_hold and upool_unhold on w's thread only, upool_unhold
 * after the last use of the slot (release); upool_slot_held on any
 * thread (acquire). */
void upool_hold(struct worker *w, size_t slot);
void upool_unhold(struct worker *w, size_t slot);
bool upool_slot_held(const struct worker *w, size_t slot);
/* Sizes the pool for num_slots backend slots and closes what is unused of
 * every slot w->cfg (a new generation) no longer names: idle keep-alive
 * connections and HTTP/2 sessions without a stream. A slot whose member is
 * a new registry object (a reclaimed slot reused: cfg_backend.serial)
 * starts fresh: its pool entry and its TLS session. */
void upool_use(struct worker *w, size_t num_slots);
/* Closes every connection and session and frees the pool's memory.
 * Exchanges still queued are dropped (their client side is gone). */
void upool_cleanup(struct worker *w);
/* Graceful shutdown: closes idle keep-alive connections and HTTP/2
 * sessions that carry no stream. */
void upool_shutdown(struct worker *w);

/* x is routed (x->route): starts it on the route's next member. When no
 * member can be reached x fails with 502. */
void upool_start(struct xchg *x);

/* x (routed, no upstream) is an upgrade an HTTP/2 member cannot take (its
 * backend did not send SETTINGS_ENABLE_CONNECT_PROTOCOL, or the protocol
 * has no HTTP/2 form): starts it on an HTTP/1.1 member of its route, from
 * its round-robin pick on, or fails it with 502 when there is none. */
void upool_h1_fallback(struct xchg *x);

/* Requests in progress on be in this worker (least-outstanding). */
uint32_t upool_outstanding(struct worker *w, const struct cfg_backend *be);
/* lb=peak-ewma: the cost now of one more request to be in this worker
 * (lbewma_cost of its estimate and requests in progress). */
double upool_ewma_cost(struct worker *w, const struct cfg_backend *be, double now);
/* x is done with its backend (freed, or about to try another). In a
 * peak-ewma group, an x its backend never answered raises the backend's
 * estimate to the time it waited (lbewma_unanswered). */
void upool_release(struct xchg *x);
/* x's backend sent the final response head (x->resp filled): a passive
 * health success, in a peak-ewma group a latency sample (the time since
 * upool gave x to the backend), and the affinity cookie when x needs one. */
void upool_resp_head(struct xchg *x);

enum upool_retry {
    UPOOL_RETRY_NONE,
    UPOOL_RETRY_NEXT,   /* nothing reached the backend (connect failed): next member */
    UPOOL_RETRY_FRESH,  /* a reused keep-alive connection was found closed before
                           taking a request byte: one fresh connection to be */
};

/* x's upstream on be failed and let go of x (xchg_unlink). Before the
 * response head, retry may start x again; otherwise x fails with status
 * (the client sees a cut response when the head went out). */
void upool_failed(struct xchg *x, const struct cfg_backend *be, int status, const char *why,
                  enum upool_retry retry);

/* Starts a connection to be on s (TLS for ";tls" backends, with w's
 * backend TLS state): h->ready() follows. Counts the attempt in w's stats.
 * Returns 0, or a negative h2g_err when it failed at once (logged and
 * counted; s is closed). On success the connection holds be's slot
 * (upool_hold): its owner calls upool_unhold once it is freed. */
int upool_connect(struct worker *w, const struct cfg_backend *be, struct sock *s,
                  const struct sock_handler *h);

/* A connection started by upool_connect() at time started reported
 * ready(err, why): counts the connect and its duration, or the failure
 * (and logs a TLS one). */
void upool_connect_done(struct worker *w, const struct cfg_backend *be, int err, const char *why,
                        double started);

/* ---- HTTP/1.1 keep-alive connections ---- */

/* bc finished its exchange and may be kept: returns true when the pool
 * took it (then bconn parks it), false when bc should close (shutting
 * down, the pool is at its cap, or a reload removed the backend). */
bool upool_h1_put(struct bconn *bc);

/* A connection to be was opened (bconn_new) / is closed or handed over
 * (its bconn is dead): counted against --backend-http1-connections-per-host.
 * A close lets a waiting exchange have a new connection, in the next
 * upool_h1_dispatch. */
void upool_h1_opened(struct worker *w, const struct cfg_backend *be);
void upool_h1_closed(struct worker *w, const struct cfg_backend *be);
/* The oldest exchange waiting for a connection to be, taken out of the
 * wait queue (no upstream now), or NULL when none waits. A connection
 * that finished its exchange and may be kept serves it before it goes
 * back to the pool. */
struct xchg *upool_h1_waiter(struct worker *w, const struct cfg_backend *be);
/* Prepare pass (after the connections closed in this loop pass are
 * dead): waiting exchanges get new connections where the bound leaves
 * room. */
void upool_h1_dispatch(struct worker *w);

/* be's read and write timeouts: its -b's read-timeout= and
 * write-timeout=, else --backend-read-timeout and --backend-write-timeout. */
double upool_read_timeout(struct worker *w, const struct cfg_backend *be);
double upool_write_timeout(struct worker *w, const struct cfg_backend *be);

/* How long an idle HTTP/2 session to be may stay open:
 * --backend-keep-alive-timeout, or 0 once a reload removed be from every
 * route (its sessions close as soon as their last stream ends). */
double upool_keep_alive(struct worker *w, const struct cfg_backend *be);
/* An idle bc closes (EOF, timeout): it leaves the pool. */
void upool_h1_remove(struct bconn *bc);

/* ---- HTTP/2 sessions and streams ---- */

/* s was just created for its backend / s is closing. */
void upool_h2_add(struct bsess *s);
void upool_h2_remove(struct bsess *s);
/* s gained or lost room for a stream: moves it to the front or back of
 * its backend's list, where upool_h2_place looks first. */
void upool_h2_room(struct bsess *s);

/* Puts bs (with its exchange) on a session of its backend that has room
 * (other than avoid), on a new one, or in the backend's queue. Returns 0,
 * H2G_ERR_REFUSED when no session could even be started, or H2G_ERR_BUSY
 * when the queue is full. */
int upool_h2_place(struct worker *w, struct bstream *bs, struct bsess *avoid);

/* bs's attempt (on avoid) was not processed by the backend: the body sent
 * goes back in front of the exchange's buffer and bs is placed again, or
 * its exchange fails when that cannot be. */
void upool_h2_retry(struct bstream *bs, struct bsess *avoid);

/* bs goes to the back of its backend's queue (no session has room). */
void upool_h2_enqueue(struct worker *w, struct bstream *bs);
/* bs's exchange is gone while bs is queued: bs leaves the queue. */
void upool_h2_dequeue(struct worker *w, struct bstream *bs);

/* Sessions of be may have room (a stream ended, SETTINGS arrived, a
 * session closed): queued exchanges move onto them. */
void upool_h2_dispatch(struct worker *w, const struct cfg_backend *be);

#endif
