/* The server certificates of TLS frontends: the default (positional) one
 * and every --subcert, each in a server context of its own configured
 * alike (versions, ciphers, groups, ALPN, client verification, tickets),
 * and the choice among them per handshake: by SNI against each
 * certificate's DNS names, then by key type (ECDSA to clients that offer
 * it, else RSA). Built with a generation, immutable, shared read-only by
 * every worker. */
#ifndef H2G_PROXY_TLS_CERTS_H
#define H2G_PROXY_TLS_CERTS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct tls_ticket_keys;

struct tls_cert {
    SSL_CTX *ctx;       /* this certificate's server context */
    char **names;       /* DNS names, lower case ("*.example.com" kept as is) */
    size_t num_names;
    bool ecdsa;         /* the key is ECDSA (else RSA or other) */
    int64_t not_after;  /* the leaf's notAfter, seconds since the epoch */
    char *label;        /* the subject (RFC 2253); the file when it has none or an
                         * earlier certificate has the same subject */
};

struct tls_certs {
    struct tls_cert *v; /* v[0]: the default certificate, then --subcert in order */
    size_t num;
    struct tls_ticket_keys *tickets;
};

/* Loads every certificate and key cfg names (keys decrypted with
 * --private-key-passwd-file's password), their OCSP responses, and the
 * ticket keys. Returns the set, or NULL with the option or file and what
 * was wrong in err. */
struct tls_certs *tls_certs_new(const struct config *cfg, char *err, size_t err_len);
void tls_certs_free(struct tls_certs *c);

/* The context to make each server connection with (v[0]'s): its
 * certificate callback switches a handshake to the chosen certificate's
 * context. */
SSL_CTX *tls_certs_ctx(const struct tls_certs *c);

/* Whether the DNS name pattern (lower case; "*." then at least two labels
 * for a wildcard) matches host (any case, no trailing dot): a wildcard
 * stands for exactly one whole left-most label (RFC 6125 §6.4.3). */
bool tls_name_matches(const char *pattern, const char *host, size_t host_len);

#endif
