/* A verified client certificate, as the access log and the backends see
 * it: fingerprints, names, serial (nghttpx's $tls_client_* variables) and
 * RFC 9440's Client-Cert and Client-Cert-Chain values. Made once per
 * client connection after its handshake, owned by the connection, read by
 * its exchanges. */
#ifndef H2G_PROXY_CLIENTCERT_H
#define H2G_PROXY_CLIENTCERT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"

struct clientcert {
    char sha256[65];       /* lower-case hex of the DER's SHA-256 */
    char sha1[41];
    char *subject;         /* RFC 2253 text */
    char *issuer;
    char *serial;          /* lower-case hex of the serial's bytes */
    char *field;           /* Client-Cert: ":BASE64(DER):", or NULL */
    char *chain_field;     /* Client-Cert-Chain: ":B64:, :B64:" of the
                            * certificates the client sent after its own,
                            * or NULL (none, or not asked for) */
};

/* The peer certificate of ssl (a server connection whose handshake is
 * done; a resumed session's certificate counts), with the RFC 9440 field
 * values when fields is true. Returns NULL when the client sent none. */
struct clientcert *clientcert_new(SSL *ssl, bool fields);
void clientcert_free(struct clientcert *c);

/* Base64 (RFC 4648, padded) of p[0..len) between colons, as an RFC 8941
 * byte sequence. Returns a heap string. */
char *clientcert_sf_binary(const uint8_t *p, size_t len);

#endif
