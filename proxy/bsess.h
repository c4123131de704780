/* HTTP/2 backend sessions: nghttp2 client sessions (cleartext prior
 * knowledge or TLS with ALPN h2), each multiplexing the exchanges of every
 * client connection of its worker, and the streams that are those
 * exchanges' upstreams. Which session a stream goes on, the wait queue and
 * retries are the upstream pool's (proxy/upool.c). The session lives in
 * bsess.c, its streams (the upstream side of an exchange) in bstream.c. */
#ifndef H2G_PROXY_BSESS_H
#define H2G_PROXY_BSESS_H

#include <stdbool.h>

#include "common/str.h"
#include "proxy/bsess-t.h"

struct config;

/* Sets up the shared nghttp2 callbacks (once per process). */
void bsess_global_init(void);

/* The options of backend sessions under cfg: nghttp2's limits and
 * --backend-http2-encoder-dynamic-table-size. As h2srv_option_new's, made
 * per worker and generation (w->bsess_option); the caller owns the result
 * (nghttp2_option_del). Never NULL. */
nghttp2_option *bsess_option_new(const struct config *cfg);

/* Returns a new session to be, connecting, listed in w's pool. Returns
 * NULL when the connect failed at once (logged). */
struct bsess *bsess_new(struct worker *w, const struct cfg_backend *be);

/* s can take one more stream now (not closing, no GOAWAY, under the
 * backend's limit). */
bool bsess_has_room(const struct bsess *s);
/* s may soon take streams: it is usable but has not yet had the
 * backend's SETTINGS (its stream limit is unknown). */
bool bsess_learning(const struct bsess *s);
/* The backend told s it takes no stream now (its SETTINGS allow 0). */
bool bsess_refuses(const struct bsess *s);

/* Puts bs on s: submitted now, or held until the backend's SETTINGS (or
 * the ACK of a liveness PING) arrive. */
void bsess_assign(struct bsess *s, struct bstream *bs);

/* Closes s: its streams are retried elsewhere when the backend cannot
 * have processed them, else their exchanges fail with 502. */
void bsess_close(struct bsess *s, const char *why);

/* Returns a stream for exchange x to be, linked to x as its upstream, with
 * the request head translated for HTTP/2. Returns NULL (nothing linked)
 * when the head does not fit the caps. */
struct bstream *bstream_new(struct worker *w, const struct cfg_backend *be, struct xchg *x);
void bstream_free(struct bstream *bs);
/* Sets up w->bstream_spares (freed streams kept for reuse). */
void bstream_spares_init(struct worker *w);
/* Forgets the attempt bs made (stream id, flags, what it received) so it
 * can be placed again; the replay buffer is the pool's to handle. */
void bstream_reset(struct bstream *bs);
/* bs (off any session) failed: unlinks and frees it, then reports to its
 * exchange through upool_failed() (connect_failed: nothing reached the
 * backend, so the next member may be tried). */
void bstream_fail(struct bstream *bs, int status, const char *why, bool connect_failed);

/* ---- between the session (bsess.c) and its streams (bstream.c) ---- */

#include <nghttp2/nghttp2.h>

/* s has output to generate: flush it in the prepare pass. */
void bsess_mark(struct bsess *s);
/* bs's exchange is gone: bs leaves s (held), or its stream is reset with
 * CANCEL and freed once nghttp2 closed it. */
void bsess_cancel(struct bsess *s, struct bstream *bs);
/* nghttp2's data source and send-data callbacks for request bodies. */
ssize_t bstream_read_body(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
                          uint32_t *data_flags, nghttp2_data_source *src, void *ud);
int bstream_send_data(nghttp2_session *h2, nghttp2_frame *f, const uint8_t *framehd,
                      size_t length, nghttp2_data_source *src, void *ud);
/* nghttp2 closed bs's stream (taken off s already): the exchange has its
 * response, or the stream is retried, or the exchange fails. */
void bstream_done(struct bsess *s, struct bstream *bs);
/* The final head of bs's extended CONNECT arrived (bs->status): a 2xx
 * opens the WebSocket (x->status 101, Sec-WebSocket-Accept added for an
 * HTTP/1.1 client, the idle timer started); any other is left to be
 * relayed. Records only: called from an nghttp2 callback. */
void bstream_ws_head(struct bstream *bs);

/* nghttp2's callbacks, for bsess.c: one field of the response (0, or
 * NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE over the limits), and the end of
 * its head. */
int bstream_header(struct bstream *bs, struct str n, struct str v);
void bstream_head_done(struct bstream *bs);
/* bs is an extended CONNECT and the session's backend did not send
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (bs is off the session): bs is freed
 * and its exchange goes to an HTTP/1.1 member of its route
 * (upool_h1_fallback). Not from an nghttp2 callback. */
void bstream_no_ext_connect(struct bstream *bs);
/* The session s died under bs: retried elsewhere, or failed. */
void bstream_orphaned(struct bstream *bs, struct bsess *s, bool held, bool was_ready, int status,
                      const char *why, bool connect_failed);

/* Prepare pass: writes every session with output, handles queues.
 * Returns true when more work is left for the next iteration. */
bool bsess_flush_all(struct worker *w);
/* Prepare pass: frees closed sessions. */
void bsess_reap(struct worker *w);

#endif
