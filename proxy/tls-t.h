#ifndef H2G_PROXY_TLS_T_H
#define H2G_PROXY_TLS_T_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A worker's TLS state towards its backends: the client contexts of its
 * current generation (one per ALPN, only those some backend needs;
 * borrowed) and, per backend registry slot, the newest session the backend
 * issued, offered for resumption on the next connection. Each slot's cell
 * is allocated on its own and never moves: a handshake in flight holds a
 * pointer to it. */
struct tls_upstream {
    SSL_CTX *ctx_h2;            /* ALPN h2, or NULL */
    SSL_CTX *ctx_h1;            /* ALPN http/1.1, or NULL */
    SSL_SESSION ***cells;       /* by backend slot: a cell holding a session or NULL */
    size_t num_cells;
};

#endif
