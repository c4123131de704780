#ifndef H2G_PROXY_SOCK_T_H
#define H2G_PROXY_SOCK_T_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

struct sock;

/* What the owner of a socket is told. The owner gets back to itself with
 * container_of() on the struct sock it embeds. A handler may close the
 * socket; only a plain socket's owner may also free it there (the
 * transport touches a TLS socket again after readable() returns). */
struct sock_handler {
    /* Bytes (or EOF) may be read. */
    void (*readable)(struct sock *s);
    /* Output that was blocked may go on: the socket is writable again
     * (EV_WRITE is disarmed before the call), or a TLS write that wanted a
     * read has had one. */
    void (*writable)(struct sock *s);
    /* The connect (sock_connect) and the TLS handshake (sock_start_tls,
     * sock_accept_tls) are over. err is 0, or a negative h2g_err: then
     * why says what failed and sys_errno holds the connect's errno (0 when
     * the failure was TLS). The owner decides what to do next; the socket
     * stays open until sock_close(). */
    void (*ready)(struct sock *s, int err, const char *why, int sys_errno);
};

enum sock_state {
    SOCK_CLOSED = 0,
    SOCK_CONNECTING,    /* non-blocking connect under way */
    SOCK_HANDSHAKE,     /* TLS handshake under way */
    SOCK_OPEN,
};

/* A non-blocking stream socket (TCP, or a backend's UNIX domain socket),
 * optionally with TLS, and its two watchers.
 * Invariants: rev is active iff reading; wev is active iff write_armed;
 * ssl is NULL or owned; fd >= 0 iff state != SOCK_CLOSED. */
struct sock {
    int fd;
    uint32_t tls_warm;    /* bytes SSL_write took since the warm-up began,
                             up to UINT32_MAX (sock_tls_record_max) */
    SSL *ssl;
    struct ev_loop *loop;
    const struct sock_handler *h;
    ev_io rev, wev;
    /* Bit-fields: a client connection (struct cconn) holds a sock and
     * stays within 768 bytes. */
    enum sock_state state : 8;
    bool reading : 1;
    bool write_armed : 1;
    bool write_wants_read : 1; /* SSL_write asked for a read first */
    bool read_wants_write : 1; /* SSL_read asked for a write first */
    bool notified : 1;         /* close_notify sent (sock_close_notify) */
    bool tls_idle : 1;         /* TLS output drained at tls_idle_ms */
    bool tls_kept : 1;         /* TLS records wait unsent (tlsbio.c) */
    bool tls_slow : 1;         /* records were kept since the output last
                                  drained: a record's worth a send */
    uint16_t connect_errno; /* connecting: the errno of a connect that
                             * failed at once (sock_connect), or 0 */
    uint32_t tls_idle_ms; /* ev_now in ms, modulo 2^32 */
};

#endif
