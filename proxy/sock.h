/* The transport: one non-blocking TCP socket, plain or TLS, with its read
 * and write watchers. Every socket the proxy owns goes through it: client
 * connections, HTTP/1.1 backend connections, HTTP/2 backend sessions,
 * tunnels (and their connection attempts) and the admin listener's
 * connections. It knows nothing of HTTP. */
#ifndef H2G_PROXY_SOCK_H
#define H2G_PROXY_SOCK_H

#include <stdbool.h>
#include <sys/uio.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>

#include "common/buf-t.h"
#include "proxy/sock-t.h"

/* Takes ownership of fd (connected, non-blocking) as an open plain socket.
 * Neither watcher is started. */
void sock_init(struct sock *s, struct ev_loop *loop, int fd, const struct sock_handler *h);

/* Opens a non-blocking stream socket for sa's family (TCP_NODELAY on TCP)
 * and starts connecting to sa. Returns 0 (h->ready() follows once the
 * connect, and the TLS handshake when sock_start_tls() is called next, are
 * over), or a negative h2g_err when it failed at once: errno is left as
 * connect(2) or socket(2) set it, and s is closed. An AF_UNIX connect that
 * fails at once (no listener, no such path, a full backlog) returns 0 and
 * its failure reaches h->ready() from the loop, as a TCP one's does. */
int sock_connect(struct sock *s, struct ev_loop *loop, const struct sockaddr *sa,
                 socklen_t len, const struct sock_handler *h);

/* Client side: after sock_connect(), the TLS handshake on ssl (takes
 * ownership; its reads and writes go through tlsbio.c's BIO, in place of
 * any it had) runs once the connect succeeds. */
void sock_start_tls(struct sock *s, SSL *ssl);

/* Server side: starts the TLS handshake on ssl (takes ownership; in
 * accept state, tlsbio.c's BIO on s->fd put under it) and reads for it;
 * h->ready() follows. */
void sock_accept_tls(struct sock *s, SSL *ssl);

/* Reads up to len bytes. Returns >0 bytes read, 0 when it would block, or
 * a negative h2g_err: H2G_ERR_EOF for an orderly close, H2G_ERR_RESET,
 * H2G_ERR_TLS, or H2G_ERR_IO (errno tells). */
ssize_t sock_read(struct sock *s, void *buf, size_t len);
/* Like sock_read, into iov[0..n) in order (readv(2)); a TLS socket reads
 * into iov[0] only. */
ssize_t sock_readv(struct sock *s, const struct iovec *iov, int n);

/* Reads the socket's bytes as they come, past TLS if any (a lingering
 * close drops what the peer still sends unread). Returns as sock_read. */
ssize_t sock_read_raw(struct sock *s, void *buf, size_t len);

/* True when TLS holds decrypted bytes the socket will not signal. */
bool sock_read_pending(const struct sock *s);

/* Writes from the head of q (draining what went out) until q is empty,
 * the socket would block, or at least budget bytes went out. EV_WRITE is
 * armed when it would block and disarmed when q empties. Returns the
 * bytes written (>= 0; q not empty and EV_WRITE not armed means the budget
 * ran out), or a negative h2g_err: H2G_ERR_RESET (reset or broken pipe),
 * H2G_ERR_TLS, or H2G_ERR_IO (errno tells). Over TLS the records of one
 * call leave in one send, and bytes leave q only once their records have
 * gone whole (tlsbio.h): q's head must not change while EV_WRITE is armed. */
ssize_t sock_write(struct sock *s, struct bufq *q, size_t budget);
/* What sock_write gives the next SSL_write: q's bytes from offset off on
 * (after those of the records before it in the same send), for a record
 * of rec bytes (at most BUF_RECORD_SIZE): the first block in place when it
 * is a record or less and half a record or more (or alone), its first rec
 * bytes in place when it is longer, else whole leading blocks gathered
 * into stage (BUF_RECORD_SIZE bytes) up to a record. Exposed for its unit
 * test. */
struct iovec sock_tls_chunk(const struct bufq *q, size_t off, char *stage, size_t rec);

/* TLS dynamic record size (nghttpx's --tls-dyn-rec-warmup-threshold and
 * --tls-dyn-rec-idle-timeout): a TLS connection writes records of at most
 * SOCK_TLS_SMALL_RECORD bytes until SSL_write has taken warmup bytes, so
 * that the first bytes of a response are decoded from its first TCP
 * segments, then full records; output that stayed drained for longer
 * than idle starts the warm-up over. warmup 0: full records always. Set
 * per thread (each worker from its configuration, at start and on
 * reload); a thread that never sets it uses nghttpx's defaults, 1M and
 * 1s. */
#define SOCK_TLS_SMALL_RECORD 1300
void sock_set_tls_dyn_rec(uint64_t warmup, double idle);
/* The record size for s's next SSL_write at now; a write after more than
 * the idle time drained starts the warm-up over. Exposed for its unit
 * test (sock_write calls it). */
size_t sock_tls_record_max(struct sock *s, double now);

static inline bool sock_write_blocked(const struct sock *s)
{
    return s->write_armed || s->write_wants_read;
}

/* Caps the bytes the kernel holds unsent for this TCP socket
 * (TCP_NOTSENT_LOWAT): a write past it would block, and EV_WRITE fires
 * once the queue is back under it. Best effort: other sockets ignore it. */
void sock_set_notsent_lowat(struct sock *s, int bytes);

void sock_read_start(struct sock *s);
void sock_read_stop(struct sock *s);
void sock_arm_write(struct sock *s, bool on);

/* The first half of a TLS close: close_notify goes out, whole, so that
 * the write side can be shut behind it (a lingering close). true once it
 * is out, or when there is nothing to send (no TLS) or to wait for (the
 * socket failed); false while the socket is full: EV_WRITE is armed, call
 * again when it fires. */
bool sock_close_notify(struct sock *s);

/* Stops both watchers and closes. tls_notify: send a TLS close_notify
 * first (best effort). Closing a closed socket does nothing. */
void sock_close(struct sock *s, bool tls_notify);

/* Moves the open socket src (plain or TLS, with its TLS state) to dst,
 * whose owner is told through h from now on. Neither watcher of dst is
 * started; src is left closed. */
void sock_move(struct sock *dst, struct sock *src, const struct sock_handler *h);

/* Stops both watchers and gives up the fd (plain sockets only): the
 * caller owns it; s is closed. */
int sock_release(struct sock *s);

#endif
