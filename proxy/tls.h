/* TLS contexts (BoringSSL). */
#ifndef H2G_PROXY_TLS_H
#define H2G_PROXY_TLS_H

#include <openssl/ssl.h>

struct config;

/* Returns a server context with the configured key and certificate, TLS
 * 1.2 and 1.3, ALPN "h2" and "http/1.1" (server preference h2), and the
 * TLS 1.2 cipher suites RFC 9113 §9.2.2 allows for HTTP/2. On failure
 * returns NULL with a message in err. The context is shared read-only by
 * every worker. */
SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t err_len);

#endif
