#ifndef H2G_PROXY_TLS_T_H
#define H2G_PROXY_TLS_T_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A worker's TLS state towards its backends: one client context per ALPN
 * (only those some backend needs) and, per backend, the newest session the
 * backend issued, offered for resumption on the next connection. */
struct tls_upstream {
    SSL_CTX *ctx_h2;            /* ALPN h2, or NULL */
    SSL_CTX *ctx_h1;            /* ALPN http/1.1, or NULL */
    SSL_SESSION **sessions;     /* by cfg_backend.index; NULL entries */
    size_t num_sessions;
};

#endif
