/* One health check of one member, on the probe thread's loop (health.c):
 * a TCP connect, then for a member with ";health=/PATH" a GET of PATH —
 * HTTP/1.1 (Connection: close) or HTTP/2 (";proto=h2": prior knowledge,
 * or ALPN h2 with ";tls"), over TLS for ";tls" members with the
 * generation's backend client context (so --cacert, -k and the client
 * certificate apply, and SNI is ";sni=" or the name). A 2xx or 3xx status
 * passes. The check ends in exactly one call of done(), after which the
 * probe holds nothing until the next hprobe_start. */
#ifndef H2G_PROXY_HPROBE_H
#define H2G_PROXY_HPROBE_H

#include <ev.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config-t.h"

#define HPROBE_OUT_MAX 4096
#define HPROBE_IN_MAX 256

struct hprobe;
typedef void (*hprobe_done_cb)(struct hprobe *p, bool ok, const char *why);

struct hprobe {
    struct ev_loop *loop;
    const struct cfg_backend *be;  /* the generation's member */
    hprobe_done_cb done;
    int fd;                        /* -1 when idle */
    ev_io io;
    ev_timer timer;
    bool connected, handshaking;
    SSL *ssl;
    SSL_SESSION *tls_session;      /* resumption across checks */
    nghttp2_session *h2;
    int status;                    /* the answer's status, 0 until known */
    char out[HPROBE_OUT_MAX];
    size_t out_len, out_off;
    char in[HPROBE_IN_MAX];        /* HTTP/1.1: the status line */
    size_t in_len;
};

/* Starts a check of be (valid until done) on loop; ctx is the backend
 * client context for a ;tls member (NULL otherwise). */
void hprobe_start(struct hprobe *p, struct ev_loop *loop, const struct cfg_backend *be,
                  SSL_CTX *ctx, double timeout, hprobe_done_cb done);
/* Ends a check in progress without calling done (a generation switch);
 * also drops the TLS session. Safe on an idle or zeroed probe with fd -1. */
void hprobe_cancel(struct hprobe *p);
bool hprobe_busy(const struct hprobe *p);

#endif
