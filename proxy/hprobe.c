/* One health check of one member: see hprobe.h. */
#include "proxy/hprobe.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/tls.h"

static bool wants_request(const struct hprobe *p)
{
    return p->be->health_path != NULL;
}

/* Stops the watchers and frees the connection's state. */
static void release(struct hprobe *p)
{
    if (p->fd < 0)
        return;
    ev_io_stop(p->loop, &p->io);
    ev_timer_stop(p->loop, &p->timer);
    if (p->h2)
        nghttp2_session_del(p->h2);
    p->h2 = NULL;
    if (p->ssl)
        SSL_free(p->ssl);
    p->ssl = NULL;
    close(p->fd);
    p->fd = -1;
}

static void finish(struct hprobe *p, bool ok, const char *why)
{
    release(p);
    p->done(p, ok, why);
}

void hprobe_cancel(struct hprobe *p)
{
    release(p);
    if (p->tls_session)
        SSL_SESSION_free(p->tls_session);
    p->tls_session = NULL;
}

bool hprobe_busy(const struct hprobe *p)
{
    return p->fd >= 0;
}

/* ---- transport: plain or TLS; <0 error (errno), 0 would block or EOF
 * (*eof), >0 bytes ---- */

static ssize_t tls_result(struct hprobe *p, int r, bool *eof)
{
    if (r > 0)
        return r;
    int e = SSL_get_error(p->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN && eof) {
        *eof = true;
        return 0;
    }
    errno = EPROTO;
    return -1;
}

static ssize_t xread(struct hprobe *p, void *buf, size_t n, bool *eof)
{
    if (p->ssl)
        return tls_result(p, SSL_read(p->ssl, buf, (int)n), eof);
    ssize_t r = read(p->fd, buf, n);
    if (r == 0)
        *eof = true;
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return r;
}

static ssize_t xwrite(struct hprobe *p, const void *buf, size_t n)
{
    if (p->ssl)
        return tls_result(p, SSL_write(p->ssl, buf, (int)n), NULL);
    ssize_t w = write(p->fd, buf, n);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return w;
}

/* ---- HTTP/2 ---- */

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    (void)s;
    (void)flags;
    struct hprobe *p = ud;
    if (f->hd.type == NGHTTP2_HEADERS && namelen == 7 && memcmp(name, ":status", 7) == 0 &&
        valuelen == 3 && p->status == 0)
        p->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)s;
    (void)stream_id;
    (void)error_code;
    struct hprobe *p = ud;
    if (p->status == 0)
        p->status = -1;  /* reset, or ended without a status */
    return 0;
}

/* The Host (:authority) of a probe: the -b's name; "localhost" for a UNIX
 * domain socket, as nghttpx sends it there. */
static const char *authority(const struct cfg_backend *be)
{
    return be->addr.ss_family == AF_UNIX ? "localhost" : be->host;
}

static int h2_start(struct hprobe *p)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    int rc = nghttp2_session_client_new(&p->h2, cb, p);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0)
        return -1;
    const struct cfg_backend *be = p->be;
    const char *scheme = be->tls ? "https" : "http";
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
    nghttp2_nv nva[] = { NV(":method", "GET"), NV(":scheme", scheme),
                         NV(":authority", authority(be)), NV(":path", be->health_path),
                         NV("user-agent", "h2gate-health") };
#undef NV
    nghttp2_submit_settings(p->h2, NGHTTP2_FLAG_NONE, NULL, 0);
    return nghttp2_submit_request(p->h2, NULL, nva, sizeof(nva) / sizeof(nva[0]), NULL, NULL) > 0
               ? 0 : -1;
}

/* Moves what nghttp2 has to send into out. */
static int h2_produce(struct hprobe *p)
{
    if (p->out_off == p->out_len)
        p->out_off = p->out_len = 0;
    while (p->out_len < sizeof(p->out)) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(p->h2, &data);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if ((size_t)n > sizeof(p->out) - p->out_len)
            return -1;  /* a handful of small frames: never this much */
        memcpy(p->out + p->out_len, data, (size_t)n);
        p->out_len += (size_t)n;
    }
    return 0;
}

/* ---- the check ---- */

static int request_start(struct hprobe *p)
{
    if (p->be->proto == CFG_PROTO_H2)
        return h2_start(p);
    int n = snprintf(p->out, sizeof(p->out),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: h2gate-health\r\n"
                     "Connection: close\r\n\r\n",
                     p->be->health_path, authority(p->be));
    if (n <= 0 || (size_t)n >= sizeof(p->out))
        return -1;
    p->out_len = (size_t)n;
    return 0;
}

/* HTTP/1.1: the status from the status line, once it is in. */
static void h1_status(struct hprobe *p)
{
    p->in[p->in_len] = '\0';
    int st = 0;
    if (memchr(p->in, '\n', p->in_len) || p->in_len == sizeof(p->in) - 1)
        p->status = sscanf(p->in, "HTTP/1.%*1[01] %3d", &st) == 1 && st >= 100 ? st : -1;
}

static void on_bytes(struct hprobe *p, const char *buf, size_t n)
{
    if (p->h2) {
        if (nghttp2_session_mem_recv(p->h2, (const uint8_t *)buf, n) < 0)
            p->status = -1;
        return;
    }
    size_t room = sizeof(p->in) - 1 - p->in_len;
    memcpy(p->in + p->in_len, buf, n < room ? n : room);
    p->in_len += n < room ? n : room;
    h1_status(p);
}

/* The connection is up (and TLS done): write, read, until a status. */
static void exchange(struct hprobe *p)
{
    if (p->h2 && h2_produce(p) < 0) {
        finish(p, false, "HTTP/2 session failed");
        return;
    }
    while (p->out_off < p->out_len) {
        ssize_t w = xwrite(p, p->out + p->out_off, p->out_len - p->out_off);
        if (w < 0) {
            finish(p, false, strerror(errno));
            return;
        }
        if (w == 0)
            break;
        p->out_off += (size_t)w;
    }
    char buf[4096];
    for (;;) {
        bool eof = false;
        ssize_t r = xread(p, buf, sizeof(buf), &eof);
        if (r < 0 || (r == 0 && eof)) {
            finish(p, false, r < 0 ? strerror(errno) : "closed before a status");
            return;
        }
        if (r == 0)
            break;
        on_bytes(p, buf, (size_t)r);
        if (p->status)
            break;
    }
    if (p->status) {
        char why[32];
        snprintf(why, sizeof(why), p->status > 0 ? "status %d" : "no status in the answer",
                 p->status);
        finish(p, p->status >= 200 && p->status < 400, why);
        return;
    }
    if (p->h2 && h2_produce(p) < 0) {  /* SETTINGS ack, WINDOW_UPDATE */
        finish(p, false, "HTTP/2 session failed");
        return;
    }
    int ev = EV_READ | (p->out_off < p->out_len ? EV_WRITE : 0);
    ev_io_stop(p->loop, &p->io);
    ev_io_set(&p->io, p->fd, ev);
    ev_io_start(p->loop, &p->io);
}

/* Connected (and TLS done): a TCP check has passed; else the request. */
static void begin_request(struct hprobe *p)
{
    if (!wants_request(p)) {
        finish(p, true, NULL);
        return;
    }
    if (request_start(p) < 0) {
        finish(p, false, "cannot build the request");
        return;
    }
    exchange(p);
}

static void handshake(struct hprobe *p)
{
    int r = SSL_do_handshake(p->ssl);
    if (r == 1) {
        p->handshaking = false;
        const unsigned char *alpn;
        unsigned alpn_len;
        SSL_get0_alpn_selected(p->ssl, &alpn, &alpn_len);
        if (p->be->proto == CFG_PROTO_H2 && !(alpn_len == 2 && memcmp(alpn, "h2", 2) == 0)) {
            finish(p, false, "the backend did not select h2 (ALPN)");
            return;
        }
        begin_request(p);
        return;
    }
    int e = SSL_get_error(p->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ev_io_stop(p->loop, &p->io);
        ev_io_set(&p->io, p->fd, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
        ev_io_start(p->loop, &p->io);
        return;
    }
    char why[256];
    tls_handshake_error(p->ssl, why, sizeof(why));
    ERR_clear_error();
    finish(p, false, why);
}

static void connected(struct hprobe *p)
{
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        finish(p, false, strerror(err));
        return;
    }
    p->connected = true;
    if (p->ssl) {
        p->handshaking = true;
        handshake(p);
        return;
    }
    begin_request(p);
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct hprobe *p = io->data;
    if (!p->connected)
        connected(p);
    else if (p->handshaking)
        handshake(p);
    else
        exchange(p);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    finish(t->data, false, "timed out");
}

void hprobe_start(struct hprobe *p, struct ev_loop *loop, const struct cfg_backend *be,
                  SSL_CTX *ctx, double timeout, hprobe_done_cb done)
{
    p->loop = loop;
    p->be = be;
    p->done = done;
    p->connected = p->handshaking = false;
    p->status = 0;
    p->out_len = p->out_off = p->in_len = 0;
    int fd = socket(be->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        done(p, false, strerror(errno));
        return;
    }
    p->fd = fd;
    ev_io_init(&p->io, on_io, fd, EV_WRITE);
    p->io.data = p;
    ev_timer_init(&p->timer, on_timer, timeout, 0.);
    p->timer.data = p;
    if (be->tls && ctx && wants_request(p)) {
        p->ssl = tls_client_new(ctx, fd, be, &p->tls_session);
        if (!p->ssl) {
            finish(p, false, "cannot make a TLS connection");
            return;
        }
    }
    if (connect(fd, (const struct sockaddr *)&be->addr, be->addr_len) != 0 &&
        errno != EINPROGRESS) {
        finish(p, false, strerror(errno));
        return;
    }
    ev_io_start(loop, &p->io);
    ev_timer_start(loop, &p->timer);
}
