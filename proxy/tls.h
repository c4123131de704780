/* TLS contexts (BoringSSL). */
#ifndef H2G_PROXY_TLS_H
#define H2G_PROXY_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "common/stats-t.h"
#include "proxy/tls-t.h"

struct config;

/* Returns a server connection (accept state) for ctx; sock_accept_tls
 * gives it its socket. */
SSL *tls_server_new(SSL_CTX *ctx);

struct cfg_backend;

/* Returns a client context for backend connections: TLS 1.2 and 1.3,
 * ALPN "h2" (h2_alpn) or "http/1.1", peer verification against
 * cfg->cacert or the system store unless cfg->insecure, the client key
 * and certificate when configured, and a client session cache whose new
 * sessions are stored through tls_client_new()'s cache slot. On failure
 * returns NULL with a message in err. Shared by every worker: the session
 * slot is per connection. */
SSL_CTX *tls_client_ctx_new(const struct config *cfg, bool h2_alpn, char *err, size_t err_len);

/* Whether ssl's negotiated suite may carry HTTP/2 (RFC 9113 §9.2.2):
 * TLS 1.3, or a TLS 1.2 suite that is AEAD with an ECDHE key exchange. */
bool tls_h2_suite_ok(const SSL *ssl);

/* Why an HTTP/2 backend's TLS session cannot carry HTTP/2, or NULL: the
 * peer did not select ALPN h2, or (unless allow_blocked:
 * --client-no-http2-cipher-block-list) its suite fails tls_h2_suite_ok.
 * The reason is a static string; buf gets the detail for the log. */
const char *tls_h2_backend_refusal(const SSL *ssl, bool allow_blocked, char *buf, size_t len);

/* Returns a client connection on fd for be: SNI (be->sni, else be->host
 * unless it is an IP literal; a UNIX domain socket's: be->sni or none),
 * the certificate's name checked against the same name (or IP; no name,
 * no check), and the session in *cache offered for resumption.
 * *cache (owned by the caller's worker, freed with SSL_SESSION_free) is
 * replaced with each new session the server issues; cache must outlive
 * the returned SSL. */
SSL *tls_client_new(SSL_CTX *ctx, int fd, const struct cfg_backend *be, SSL_SESSION **cache);

/* Makes the backend client contexts cfg needs: *h2 and *h1 (NULL when no
 * backend of that kind uses TLS). Returns 0, or H2G_ERR_TLS with a message
 * in err (--cacert or the client key unusable). */
int tls_upstream_ctx_new(const struct config *cfg, SSL_CTX **h2, SSL_CTX **h1, char *err,
                         size_t err_len);

/* Makes t use the contexts h2 and h1 (borrowed: they must outlive the next
 * call) with a session cell for each of num_slots backend slots. A switch
 * to new contexts (a reload) forgets every cached session, so no session
 * resumes past a changed --cacert or client certificate. */
void tls_upstream_use(struct tls_upstream *t, SSL_CTX *h2, SSL_CTX *h1, size_t num_slots);
void tls_upstream_cleanup(struct tls_upstream *t);
/* Drops the session cached for slot (its backend registry slot was
 * reclaimed and now names another backend: upool_use). */
void tls_upstream_forget(struct tls_upstream *t, size_t slot);

/* Returns a client connection on fd for be (which uses TLS), with the
 * context for its protocol and its session slot in t (see
 * tls_client_new). */
SSL *tls_upstream_new(struct tls_upstream *t, const struct cfg_backend *be, int fd);

/* Writes why a handshake on ssl failed into buf: the certificate
 * verification error when there is one, else the TLS error queue. */
void tls_handshake_error(SSL *ssl, char *buf, size_t len);

/* The metric's reason for the same failure (common/stats-t.h), read from
 * the same state: call it before anything clears the error queue. */
enum stats_tls_fail tls_handshake_reason(SSL *ssl);

/* The metric's version of a completed handshake. */
enum stats_tls_version tls_stats_version(const SSL *ssl);

#endif
