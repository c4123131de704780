/* TLS session ticket keys for the server contexts (BoringSSL's ticket key
 * callback). Two sources:
 *  - the process ring: h2gate's own keys, a new one every hour
 *    (TLS_TICKET_ROTATE seconds), each kept TLS_TICKET_KEEP rotations to
 *    decrypt; shared by every worker thread (a mutex guards it: a
 *    handshake copies the key it needs and lets go) and by every
 *    generation, so a reload does not forget it;
 *  - --tls-ticket-key-file: keys read when a generation is built, owned by
 *    it and immutable (no lock), the first file's key encrypting.
 * Either way every worker uses the same keys, so a ticket issued on one
 * worker resumes on another. */
#ifndef H2G_PROXY_TLS_TICKETS_H
#define H2G_PROXY_TLS_TICKETS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TLS_TICKET_ROTATE 3600
#define TLS_TICKET_KEEP 12

struct tls_ticket_key {
    uint8_t name[16];
    uint8_t aes[32];
    uint8_t hmac[32];
    uint8_t aes_len;   /* 16 (aes-128-cbc) or 32 (aes-256-cbc) */
    uint8_t hmac_len;  /* 16 or 32; HMAC-SHA256 either way */
};

/* The keys of --tls-ticket-key-file, in order (v[0] encrypts). */
struct tls_ticket_keys {
    struct tls_ticket_key *v;
    size_t num;
    uint8_t aes_len;   /* of the process ring's keys when num is 0 */
};

/* Reads each of paths[0..num) (nghttpx's layout: 16 bytes of name, then
 * the AES key, then the HMAC key; 48 bytes for aes_len 16, 80 for 32).
 * Returns the keys (caller frees with tls_ticket_keys_free), or NULL with
 * the file and what was wrong in err. With num 0 returns an empty set:
 * the process ring is used, with keys of aes_len. */
struct tls_ticket_keys *tls_ticket_keys_load(char *const *paths, size_t num, uint8_t aes_len,
                                             char *err, size_t err_len);
void tls_ticket_keys_free(struct tls_ticket_keys *k);

/* Installs the ticket callback on ctx with keys (borrowed: it must outlive
 * ctx). */
void tls_tickets_use(SSL_CTX *ctx, const struct tls_ticket_keys *keys);

/* The process ring, for tests: copies the key that encrypts at time now
 * (rotating first when its hour is over; a new key gets aes_len) into
 * *out. */
void tls_ticket_ring_current(time_t now, uint8_t aes_len, struct tls_ticket_key *out);
/* Copies the ring's key named name into *out; false when none is (a key
 * older than TLS_TICKET_KEEP rotations is gone). *is_current tells
 * whether it is the encrypting one. */
bool tls_ticket_ring_find(const uint8_t name[16], struct tls_ticket_key *out, bool *is_current);

#endif
