#include "proxy/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "config/config.h"

static void ssl_error(char *err, size_t err_len, const char *what, const char *file)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    snprintf(err, err_len, "%s %s: %s", what, file, buf);
}

SSL *tls_server_new(SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    SSL_set_accept_state(ssl);
    /* Once the handshake is done, BoringSSL frees its copy of the
     * configuration (certificates, cipher and ALPN settings): an idle TLS
     * connection keeps only what the handshake settled (bench/idle_mem).
     * Nothing after the handshake asks the SSL for its configuration,
     * and a server never renegotiates. Its record buffers are released
     * whenever empty anyway (BoringSSL: SSL_MODE_RELEASE_BUFFERS is 0). */
    SSL_set_shed_handshake_config(ssl, 1);
    return ssl;
}

/* ---- backend (client) side ---- */

static int slot_index = -1;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void init_slot_index(void)
{
    slot_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The server issued a session (TLS 1.3: after the handshake): keep the
 * newest in the connection's cache slot. Returning 1 keeps the reference. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    SSL_SESSION **slot = SSL_get_ex_data(ssl, slot_index);
    if (!slot)
        return 0;
    SSL_SESSION_free(*slot);
    *slot = sess;
    return 1;
}

SSL_CTX *tls_client_ctx_new(const struct config *cfg, bool h2_alpn, char *err, size_t err_len)
{
    pthread_once(&slot_once, init_slot_index);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, err_len, "cannot create TLS client context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    /* --client-ciphers (by default ECDHE with AEAD only, which suits
     * both protocols); TLS 1.3 suites are fixed by BoringSSL. (Server
     * contexts: proxy/tls_certs.c, --ciphers.) */
    if (!SSL_CTX_set_strict_cipher_list(ctx, cfg->client_ciphers)) {
        ssl_error(err, err_len, "--client-ciphers", cfg->client_ciphers);
        SSL_CTX_free(ctx);
        return NULL;
    }
    static const unsigned char alpn_h2[] = "\x02h2", alpn_h1[] = "\x08http/1.1";
    if (h2_alpn)
        SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2) - 1);
    else
        SSL_CTX_set_alpn_protos(ctx, alpn_h1, sizeof(alpn_h1) - 1);
    if (!cfg->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (cfg->cacert) {
            if (SSL_CTX_load_verify_locations(ctx, cfg->cacert, NULL) != 1) {
                ssl_error(err, err_len, "cannot load CA certificates", cfg->cacert);
                SSL_CTX_free(ctx);
                return NULL;
            }
        } else {
            /* BoringSSL's default paths may not be Debian's: add its store. */
            SSL_CTX_set_default_verify_paths(ctx);
            SSL_CTX_load_verify_locations(ctx, NULL, "/etc/ssl/certs");
            ERR_clear_error();
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (cfg->client_cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->client_cert_file) != 1) {
            ssl_error(err, err_len, "cannot load client certificate", cfg->client_cert_file);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg->client_private_key_file, SSL_FILETYPE_PEM) !=
                1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            ssl_error(err, err_len, "cannot use client private key",
                      cfg->client_private_key_file);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return ctx;
}

bool tls_h2_suite_ok(const SSL *ssl)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    if (!c || SSL_version(ssl) >= TLS1_3_VERSION)
        return true;
    int kx = SSL_CIPHER_get_kx_nid(c);
    return SSL_CIPHER_is_aead(c) && kx == NID_kx_ecdhe;
}

const char *tls_h2_backend_refusal(const SSL *ssl, bool allow_blocked, char *buf, size_t len)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len != 2 || memcmp(alpn, "h2", 2) != 0) {
        snprintf(buf, len, "TLS peer did not select ALPN h2");
        return "backend did not negotiate h2";
    }
    if (allow_blocked || tls_h2_suite_ok(ssl))
        return NULL;
    snprintf(buf, len, "TLS suite %s is not allowed for HTTP/2 (RFC 9113 section 9.2.2; "
             "--client-no-http2-cipher-block-list allows it)",
             SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
    return "backend negotiated a TLS suite HTTP/2 forbids";
}

SSL *tls_client_new(SSL_CTX *ctx, int fd, const struct cfg_backend *be, SSL_SESSION **cache)
{
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_connect_state(ssl);
    SSL_set_ex_data(ssl, slot_index, cache);
    /* A UNIX domain socket's "unix:PATH" is no name: its sni= or none (only
     * with --insecure, which config.c checks). */
    const char *name = be->sni ? be->sni : be->addr.ss_family == AF_UNIX ? NULL : be->host;
    unsigned char ip[16];
    bool is_ip = name && (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1);
    if (name && !is_ip)
        SSL_set_tlsext_host_name(ssl, name);
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (!name) {
        /* nothing to check the certificate's name against */
    } else if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name);
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name, strlen(name));
    }
    if (*cache)
        SSL_set_session(ssl, *cache);
    return ssl;
}

int tls_upstream_ctx_new(const struct config *cfg, SSL_CTX **h2, SSL_CTX **h1, char *err,
                         size_t err_len)
{
    bool h2_tls = false, h1_tls = false;
    for (size_t i = 0; i < cfg->num_backends; i++) {
        if (cfg->backends[i].tls) {
            if (cfg->backends[i].proto == CFG_PROTO_H2)
                h2_tls = true;
            else
                h1_tls = true;
        }
    }
    *h2 = *h1 = NULL;
    if ((h2_tls && !(*h2 = tls_client_ctx_new(cfg, true, err, err_len))) ||
        (h1_tls && !(*h1 = tls_client_ctx_new(cfg, false, err, err_len)))) {
        SSL_CTX_free(*h2);
        *h2 = NULL;
        return H2G_ERR_TLS;
    }
    return 0;
}

void tls_upstream_use(struct tls_upstream *t, SSL_CTX *h2, SSL_CTX *h1, size_t num_slots)
{
    if (t->ctx_h2 != h2 || t->ctx_h1 != h1) {
        for (size_t i = 0; i < t->num_cells; i++) {
            SSL_SESSION_free(*t->cells[i]);
            *t->cells[i] = NULL;
        }
    }
    t->ctx_h2 = h2;
    t->ctx_h1 = h1;
    if (num_slots <= t->num_cells)
        return;
    t->cells = xrealloc(t->cells, num_slots * sizeof(*t->cells));
    for (size_t i = t->num_cells; i < num_slots; i++)
        t->cells[i] = xcalloc(1, sizeof(**t->cells));
    t->num_cells = num_slots;
}

void tls_upstream_forget(struct tls_upstream *t, size_t slot)
{
    if (slot >= t->num_cells)
        return;
    SSL_SESSION_free(*t->cells[slot]);
    *t->cells[slot] = NULL;
}

void tls_upstream_cleanup(struct tls_upstream *t)
{
    for (size_t i = 0; i < t->num_cells; i++) {
        SSL_SESSION_free(*t->cells[i]);
        free(t->cells[i]);
    }
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

SSL *tls_upstream_new(struct tls_upstream *t, const struct cfg_backend *be, int fd)
{
    SSL_CTX *ctx = be->proto == CFG_PROTO_H2 ? t->ctx_h2 : t->ctx_h1;
    return tls_client_new(ctx, fd, be, t->cells[be->index]);
}

/* True when the peer's certificate was verified and failed. BoringSSL
 * reports X509_V_ERR_INVALID_CALL until a verification ran: a server that
 * asks for no client certificate, or a handshake that failed before. */
static bool peer_cert_failed(SSL *ssl)
{
    long v = SSL_get_verify_result(ssl);
    return v != X509_V_OK && v != X509_V_ERR_INVALID_CALL;
}

enum stats_tls_fail tls_handshake_reason(SSL *ssl)
{
    static const struct {
        int reason;
        enum stats_tls_fail why;
    } reasons[] = {
        { SSL_R_HTTP_REQUEST, STATS_TLSFAIL_NOT_TLS },
        { SSL_R_HTTPS_PROXY_REQUEST, STATS_TLSFAIL_NOT_TLS },
        { SSL_R_WRONG_VERSION_NUMBER, STATS_TLSFAIL_NOT_TLS },
        { SSL_R_UNSUPPORTED_PROTOCOL, STATS_TLSFAIL_VERSION },
        { SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, STATS_TLSFAIL_VERSION },
        { SSL_R_NO_SHARED_CIPHER, STATS_TLSFAIL_CIPHER },
        { SSL_R_NO_SHARED_GROUP, STATS_TLSFAIL_CIPHER },
        { SSL_R_NO_CIPHERS_AVAILABLE, STATS_TLSFAIL_CIPHER },
        { SSL_R_NO_APPLICATION_PROTOCOL, STATS_TLSFAIL_ALPN },
        { SSL_R_CERTIFICATE_VERIFY_FAILED, STATS_TLSFAIL_CERTIFICATE },
        { SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, STATS_TLSFAIL_CERTIFICATE },
        /* A TLS 1.3 client (OpenSSL's) that rejects our certificate sends
         * its alert before it switched keys: we cannot decrypt it. */
        { SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC, STATS_TLSFAIL_PEER_ALERT },
    };
    if (peer_cert_failed(ssl))
        return STATS_TLSFAIL_CERTIFICATE;
    unsigned long e = ERR_peek_last_error();
    if (!e)
        return STATS_TLSFAIL_CLOSED;
    if (ERR_GET_LIB(e) != ERR_LIB_SSL)
        return STATS_TLSFAIL_OTHER;
    int r = ERR_GET_REASON(e);
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].reason == r)
            return reasons[i].why;
    return r >= SSL_AD_REASON_OFFSET ? STATS_TLSFAIL_PEER_ALERT : STATS_TLSFAIL_OTHER;
}

enum stats_tls_version tls_stats_version(const SSL *ssl)
{
    switch (SSL_version(ssl)) {
    case TLS1_2_VERSION:
        return STATS_TLS_12;
    case TLS1_3_VERSION:
        return STATS_TLS_13;
    default:
        return STATS_TLS_OTHER;
    }
}

void tls_handshake_error(SSL *ssl, char *buf, size_t len)
{
    long v = SSL_get_verify_result(ssl);
    if (peer_cert_failed(ssl)) {
        snprintf(buf, len, "certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
        return;
    }
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char tmp[200];
        ERR_error_string_n(e, tmp, sizeof(tmp));
        snprintf(buf, len, "TLS handshake failed: %s", tmp);
    } else {
        snprintf(buf, len, "TLS handshake failed: connection closed");
    }
}
