/* The transport under a TLS socket's records: BoringSSL reads and writes
 * the socket through this BIO instead of a socket BIO (SSL_set_fd), so
 * that the records of one sock_write leave in one send(2).
 *
 * With a socket BIO every record is its own write(2): 64 a MiB with full
 * records, and 800 a MiB while --tls-dyn-rec-warmup-threshold keeps the
 * records small, each a system call (bench/RESULTS.md, "TLS dynamic record
 * size"). Between tlsbio_begin() and tlsbio_end() the records SSL_write
 * makes are gathered in a per-thread stage (TLSBIO_STAGE bytes) and sent
 * at once. What the kernel does not take then is kept on the connection
 * (allocated only then, freed once sent) with the count of plaintext
 * bytes it carries: those stay at the head of the writer's queue until
 * their records are out, so a queue that looks drained is drained.
 *
 * Outside a gather (the handshake, SSL_read's alerts and post-handshake
 * messages, SSL_shutdown) the BIO writes through, after what is kept. */
#ifndef H2G_PROXY_TLSBIO_H
#define H2G_PROXY_TLSBIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/sock-t.h"

/* Ciphertext bytes the stage holds: three full records and more. */
#define TLSBIO_STAGE 65535u

/* Puts the BIO under s->ssl (in place of any other); reads and writes
 * s->fd. */
void tlsbio_attach(struct sock *s);
/* s->ssl now belongs to s (sock_move): the BIO follows it. What was kept
 * unsent still goes first, but its plaintext was another queue's. */
void tlsbio_moved(struct sock *s);

/* Sends what an earlier gather left unsent. Returns 1 when nothing is
 * left (*held: the plaintext bytes that were waiting on it, to drain now),
 * 0 when the socket would block, or a negative h2g_err. */
int tlsbio_resume(struct sock *s, size_t *held);

/* Starts gathering s's records. */
void tlsbio_begin(struct sock *s);
/* Whether a record of plaintext len fits the stage of the gather under
 * way beside what it holds. */
bool tlsbio_room(size_t len);
/* Ends the gather: sends the stage. sealed is the plaintext its records
 * carry (at the head of the writer's queue). Returns 1 when all went (the
 * caller drains sealed), 0 when some is kept (sealed stays in the queue
 * until tlsbio_resume says it went; the caller arms EV_WRITE), or a
 * negative h2g_err. */
int tlsbio_end(struct sock *s, size_t sealed);

#endif
