/* tunnel_client: the CONNECT tunnel benchmark's client and target.
 *
 *   tunnel_client serve [-a ADDR] -p PORT
 *   tunnel_client run -m MODE -x HOST:PORT [-t HOST:PORT] [-n TUNNELS]
 *                     [-c CONNS] (-d BYTES | -u BYTES | -i) [-T SECONDS]
 *
 * serve: the target. Each accepted connection first sends a 9-byte command,
 * a letter and a big-endian 64-bit count N:
 *   'D' N   the target sends N bytes, then FIN, then reads to EOF and closes;
 *   'U' N   the target reads N bytes, answers the one byte 'K', then reads to
 *           EOF and closes;
 *   'I' 0   idle: the target holds the connection until the peer closes.
 * One thread, epoll; no per-connection buffer beyond the command.
 *
 * run: opens TUNNELS tunnels to the target through -x, all before any
 * payload moves, then starts them at once, and prints one line:
 *   mode=M tunnels=N conns=C bytes=B seconds=S MiB/s=R
 * (seconds from the moment every tunnel is open to the last payload byte
 * or 'K'). MODE:
 *   tcp   -x is the target itself, or a plain TCP relay in front of it
 *         (socat): one TCP connection per tunnel, no CONNECT at all;
 *   h1    HTTP/1.1 CONNECT -t over TCP to -x, one connection per tunnel;
 *   h2c   HTTP/2 CONNECT -t, prior knowledge, TUNNELS spread over CONNS
 *         connections (default 1);
 *   h2    the same over TLS (ALPN h2, the certificate is not checked).
 * -d BYTES downloads BYTES per tunnel, -u BYTES uploads BYTES per tunnel;
 * -i opens idle tunnels, prints "ready N" once all are open and holds them
 * until its standard input reaches EOF. -T bounds the whole run (default
 * 600 s; exit 2 when it passes). Any failure (a non-200 answer, a reset, an
 * early EOF) prints a message and exits 1. Sizes take K, M and G suffixes
 * (powers of 1024). Both modes raise RLIMIT_NOFILE to its hard limit. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define IO_CHUNK (256 * 1024)
#define OUT_HIGH (256 * 1024)
#define CMD_LEN 9

static unsigned char pattern[IO_CHUNK];
static unsigned char scratch[IO_CHUNK];

const char *bench_prog = "tunnel_client";



/* ---- serve ---- */

struct sconn {
    int fd;
    unsigned char cmd[CMD_LEN];
    size_t cmd_len;
    uint64_t left;
    bool sending;   /* 'D' payload still going out */
    bool acking;    /* 'U' payload read: 'K' to send */
    bool peer_eof;  /* keep sending after the peer's FIN */
};

static int listen_fd;

static void sconn_close(struct sconn *s)
{
    close(s->fd);
    free(s);
}

/* Closes s once the peer has ended and nothing is left to send. */
static bool sconn_events(struct sconn *s)
{
    bool out = s->sending || s->acking;
    if (s->peer_eof && !out) {
        sconn_close(s);
        return false;
    }
    ep_set(s->fd, s, (s->peer_eof ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0), false);
    return true;
}

static void on_sconn(struct sconn *s, uint32_t ev)
{
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (int i = 0; i < 16; i++) {
            ssize_t n = read(s->fd, scratch, sizeof(scratch));
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n < 0) {
                sconn_close(s);
                return;
            }
            if (n == 0) {
                s->peer_eof = true;
                if (!sconn_events(s))
                    return;
                break;
            }
            size_t off = 0;
            if (s->cmd_len < CMD_LEN) {
                size_t k = CMD_LEN - s->cmd_len;
                if (k > (size_t)n)
                    k = (size_t)n;
                memcpy(s->cmd + s->cmd_len, scratch, k);
                s->cmd_len += k;
                off = k;
                if (s->cmd_len == CMD_LEN) {
                    uint64_t v = 0;
                    for (int j = 1; j < CMD_LEN; j++)
                        v = v << 8 | s->cmd[j];
                    s->left = v;
                    if (s->cmd[0] == 'D')
                        s->sending = true;
                    else if (s->cmd[0] == 'U' && v == 0)
                        s->acking = true;
                    if (!sconn_events(s))
                        return;
                }
            }
            if (s->cmd_len == CMD_LEN && s->cmd[0] == 'U' && s->left) {
                uint64_t k = (uint64_t)n - off;
                s->left = k >= s->left ? 0 : s->left - k;
                if (!s->left) {
                    s->acking = true;
                    if (!sconn_events(s))
                        return;
                }
            }
        }
    }
    if (ev & EPOLLOUT) {
        if (s->acking) {
            if (write(s->fd, "K", 1) == 1) {
                s->acking = false;
                sconn_events(s);
            }
            return;
        }
        while (s->sending) {
            size_t k = s->left < sizeof(pattern) ? (size_t)s->left : sizeof(pattern);
            ssize_t n = k ? write(s->fd, pattern, k) : 0;
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return;
                sconn_close(s);
                return;
            }
            s->left -= (uint64_t)n;
            if (!s->left) {
                s->sending = false;
                shutdown(s->fd, SHUT_WR);
                if (!sconn_events(s))
                    return;
            }
        }
    }
}

static int serve(const char *addr, const char *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char hp[300];
    snprintf(hp, sizeof(hp), "%s:%s", addr, port);
    parse_hostport(hp, &ss, &len);
    listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(listen_fd, 4096) < 0)
        die("listen on %s: %s", hp, strerror(errno));
    ep_set(listen_fd, NULL, EPOLLIN, true);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                for (int k = 0; k < 64; k++) {
                    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct sconn *s = xcalloc(1, sizeof(*s));
                    s->fd = fd;
                    ep_set(fd, s, EPOLLIN, true);
                }
                continue;
            }
            on_sconn(evs[i].data.ptr, evs[i].events);
        }
    }
}

/* ---- run ---- */

enum mode { M_TCP, M_H1, M_H2C, M_H2 };

struct conn;

struct tun {
    struct conn *c;
    int32_t sid;
    bool open;
    bool done;
    unsigned char cmd[CMD_LEN];
    size_t cmd_sent;
    uint64_t up_left;      /* payload still to send */
    uint64_t down_left;    /* payload still to receive */
    int status;
};

struct conn {
    int fd;
    SSL *ssl;
    nghttp2_session *h2;
    bool connected;
    bool handshaken;
    bool want_out;
    unsigned char *out;
    size_t out_off, out_len, out_cap; /* unsent bytes: out[out_off..out_len) */
    /* HTTP/1.1 answer head */
    char head[1024];
    size_t head_len;
    struct tun **tuns;
    size_t num_tuns;
};

static enum mode mode;
static char target_name[300];
static uint64_t per_tunnel;
static char direction;      /* 'D', 'U' or 'I' */
static size_t num_tunnels, num_conns, num_open, num_done;
static bool started;
static double t_start;
static struct conn *conns;
static struct tun *tuns;
static SSL_CTX *ssl_ctx;

static void out_append(struct conn *c, const void *p, size_t n)
{
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    } else if (c->out_off && c->out_len + n > c->out_cap) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out)
            die("out of memory");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* <0 error, 0 would block, >0 bytes. */
static ssize_t conn_write(struct conn *c, const void *p, size_t n)
{
    if (c->ssl) {
        if (n > 16384)
            n = 16384;
        int r = SSL_write(c->ssl, p, (int)n);
        if (r > 0)
            return r;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
            return 0;
        return -1;
    }
    ssize_t r = write(c->fd, p, n);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return r;
}

static ssize_t conn_read(struct conn *c, void *p, size_t n)
{
    if (c->ssl) {
        int r = SSL_read(c->ssl, p, (int)(n > 65536 ? 65536 : n));
        if (r > 0)
            return r;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return -2;
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        return -1;
    }
    ssize_t r = read(c->fd, p, n);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return -2;
    return r;
}

static void finish(void)
{
    double secs = now() - t_start;
    uint64_t total = per_tunnel * num_tunnels;
    static const char *names[] = { "tcp", "h1", "h2c", "h2" };
    printf("mode=%s tunnels=%zu conns=%zu bytes=%" PRIu64 " seconds=%.3f MiB/s=%.1f\n",
           names[mode], num_tunnels, num_conns, total, secs,
           secs > 0 ? (double)total / 1048576.0 / secs : 0.0);
    fflush(stdout);
    exit(0);
}

static void tun_done(struct tun *t)
{
    if (t->done)
        return;
    t->done = true;
    if (++num_done == num_tunnels)
        finish();
}

static void conn_update(struct conn *c);
static void h2_flush(struct conn *c);

static void start_all(void)
{
    started = true;
    t_start = now();
    if (direction == 'I') {
        printf("ready %zu\n", num_tunnels);
        fflush(stdout);
    }
    for (size_t i = 0; i < num_conns; i++) {
        struct conn *c = &conns[i];
        for (size_t k = 0; k < c->num_tuns; k++)
            if (c->h2)
                nghttp2_session_resume_data(c->h2, c->tuns[k]->sid);
        if (c->h2)
            h2_flush(c);
        else
            conn_update(c);
    }
}

static void tun_opened(struct tun *t)
{
    t->open = true;
    if (++num_open == num_tunnels)
        start_all();
}

static void tun_payload(struct tun *t, const uint8_t *p, size_t n)
{
    if (direction == 'D') {
        if (n > t->down_left)
            die("target sent %zu bytes more than asked", n - (size_t)t->down_left);
        t->down_left -= n;
        if (!t->down_left)
            tun_done(t);
    } else if (direction == 'U') {
        if (n != 1 || p[0] != 'K')
            die("unexpected %zu bytes from an upload target", n);
        tun_done(t);
    } else if (n) {
        die("unexpected bytes on an idle tunnel");
    }
}

/* tcp and h1: one tunnel per connection, raw after the (h1) head. */
static void raw_fill(struct conn *c)
{
    struct tun *t = c->tuns[0];
    if (!started || !t->open || t->done)
        return;
    if (t->cmd_sent < CMD_LEN) {
        out_append(c, t->cmd + t->cmd_sent, CMD_LEN - t->cmd_sent);
        t->cmd_sent = CMD_LEN;
    }
}

static void conn_update(struct conn *c)
{
    raw_fill(c);
    struct tun *t = c->tuns[0];
    for (;;) {
        if (c->out_len > c->out_off) {
            ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
            if (n < 0)
                die("write: %s", strerror(errno));
            if (n == 0)
                break;
            c->out_off += (size_t)n;
            continue;
        }
        if (started && t->open && t->up_left) {
            size_t k = t->up_left < sizeof(pattern) ? (size_t)t->up_left : sizeof(pattern);
            ssize_t n = conn_write(c, pattern, k);
            if (n < 0)
                die("write: %s", strerror(errno));
            if (n == 0)
                break;
            t->up_left -= (uint64_t)n;
            continue;
        }
        break;
    }
    bool want = c->out_len > c->out_off || (started && t->open && t->up_left) || !c->connected;
    if (want != c->want_out) {
        c->want_out = want;
        ep_set(c->fd, c, EPOLLIN | (want ? EPOLLOUT : 0), false);
    }
}

static void raw_input(struct conn *c, const uint8_t *p, size_t n)
{
    struct tun *t = c->tuns[0];
    if (mode == M_H1 && !t->open) {
        size_t room = sizeof(c->head) - 1 - c->head_len;
        size_t k = n < room ? n : room;
        memcpy(c->head + c->head_len, p, k);
        c->head_len += k;
        c->head[c->head_len] = 0;
        char *end = strstr(c->head, "\r\n\r\n");
        if (!end) {
            if (c->head_len == sizeof(c->head) - 1)
                die("answer head too long");
            return;
        }
        if (strncmp(c->head, "HTTP/1.1 200", 12) != 0)
            die("CONNECT answered: %.*s", (int)strcspn(c->head, "\r\n"), c->head);
        size_t used = (size_t)(end + 4 - c->head) - (c->head_len - k);
        tun_opened(t);
        p += used;
        n -= used;
    }
    if (n)
        tun_payload(t, p, n);
}

/* ---- HTTP/2 ---- */

static ssize_t on_h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *ud)
{
    (void)s;
    (void)flags;
    struct conn *c = ud;
    if (c->out_len - c->out_off >= OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK; /* bounded: resumes once written */
    out_append(c, data, len);
    return (ssize_t)len;
}

static ssize_t on_read_data(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    struct tun *t = src->ptr;
    if (!started)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = 0;
    if (t->cmd_sent < CMD_LEN) {
        n = CMD_LEN - t->cmd_sent;
        memcpy(buf, t->cmd + t->cmd_sent, n);
        t->cmd_sent = CMD_LEN;
    }
    if (t->up_left && n < len) {
        size_t k = len - n;
        if (k > t->up_left)
            k = (size_t)t->up_left;
        memcpy(buf + n, pattern, k);
        t->up_left -= k;
        n += k;
    }
    if (!t->up_left && direction != 'I')
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (n == 0 && direction == 'I')
        return NGHTTP2_ERR_DEFERRED;
    return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    (void)flags;
    (void)ud;
    (void)valuelen; /* nghttp2 NUL-terminates values */
    struct tun *t = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (t && namelen == 7 && memcmp(name, ":status", 7) == 0)
        t->status = atoi((const char *)value);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct tun *t = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!t || t->open)
        return 0;
    if (t->status != 200)
        die("stream %d: CONNECT answered %d", f->hd.stream_id, t->status);
    tun_opened(t);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    struct tun *t = nghttp2_session_get_stream_user_data(s, sid);
    if (t)
        tun_payload(t, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    (void)ud;
    struct tun *t = nghttp2_session_get_stream_user_data(s, sid);
    if (t && !t->done)
        die("stream %d closed (%s) before its transfer ended", sid,
            nghttp2_http2_strerror(code));
    return 0;
}

static nghttp2_session_callbacks *h2_cbs;

static void h2_flush(struct conn *c)
{
    for (;;) {
        if (c->out_len - c->out_off < OUT_HIGH && nghttp2_session_want_write(c->h2)) {
            int rv = nghttp2_session_send(c->h2);
            if (rv)
                die("nghttp2_session_send: %s", nghttp2_strerror(rv));
        }
        if (c->out_len == c->out_off)
            break;
        ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0)
            die("write: %s", strerror(errno));
        if (n == 0)
            break;
        c->out_off += (size_t)n;
    }
    bool want = c->out_len > c->out_off;
    if (want != c->want_out) {
        c->want_out = want;
        ep_set(c->fd, c, EPOLLIN | (want ? EPOLLOUT : 0), false);
    }
}

static void h2_begin(struct conn *c)
{
    nghttp2_session_client_new(&c->h2, h2_cbs, c);
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 << 20 },
        { NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 1 << 14 },
    };
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 30);
    for (size_t i = 0; i < c->num_tuns; i++) {
        struct tun *t = c->tuns[i];
        nghttp2_nv nv[] = {
            { (uint8_t *)":method", (uint8_t *)"CONNECT", 7, 7, NGHTTP2_NV_FLAG_NONE },
            { (uint8_t *)":authority", (uint8_t *)target_name, 10, strlen(target_name),
              NGHTTP2_NV_FLAG_NONE },
        };
        nghttp2_data_provider dp = { .source.ptr = t, .read_callback = on_read_data };
        t->sid = nghttp2_submit_request(c->h2, NULL, nv, 2, &dp, t);
        if (t->sid < 0)
            die("nghttp2_submit_request: %s", nghttp2_strerror(t->sid));
    }
    h2_flush(c);
}

/* ---- connections ---- */

static void conn_connected(struct conn *c)
{
    c->connected = true;
    if (mode == M_TCP) {
        tun_opened(c->tuns[0]);
        conn_update(c);
    } else if (mode == M_H1) {
        char req[700];
        int n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                         target_name, target_name);
        out_append(c, req, (size_t)n);
        conn_update(c);
    } else if (mode == M_H2C) {
        h2_begin(c);
    } else {
        c->ssl = SSL_new(ssl_ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_connect_state(c->ssl);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
    }
}

static void on_conn(struct conn *c, uint32_t ev)
{
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            die("connect: %s", strerror(err));
        if (!(ev & EPOLLOUT))
            return;
        conn_connected(c);
        if (!c->ssl)
            return;
    }
    if (c->ssl && !c->handshaken) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                die("TLS handshake failed");
            ep_set(c->fd, c, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN, false);
            c->want_out = e == SSL_ERROR_WANT_WRITE;
            return;
        }
        const unsigned char *alpn;
        unsigned alpn_len;
        SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
        if (alpn_len != 2 || memcmp(alpn, "h2", 2) != 0)
            die("ALPN did not select h2");
        c->handshaken = true;
        c->want_out = true; /* forces ep_set in h2_flush */
        h2_begin(c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (int i = 0; i < 16; i++) {
            ssize_t n = conn_read(c, scratch, sizeof(scratch));
            if (n == -2)
                break;
            if (n == 0 && !c->h2 && c->tuns[0]->done) {
                /* The target's FIN after its payload: this one is over. */
                close(c->fd);
                c->fd = -1;
                return;
            }
            if (n <= 0)
                die("connection closed by the %s (%s)", mode == M_TCP ? "relay" : "proxy",
                    n < 0 ? strerror(errno) : "EOF");
            if (c->h2) {
                ssize_t rv = nghttp2_session_mem_recv(c->h2, scratch, (size_t)n);
                if (rv < 0)
                    die("nghttp2_session_mem_recv: %s", nghttp2_strerror((int)rv));
            } else {
                raw_input(c, scratch, (size_t)n);
            }
        }
    }
    if (c->h2)
        h2_flush(c);
    else
        conn_update(c);
}

static int run(int argc, char **argv)
{
    const char *via = NULL, *target = NULL;
    int opt;
    double limit = 600;
    num_tunnels = 1;
    num_conns = 1;
    mode = M_TCP;
    while ((opt = getopt(argc, argv, "m:x:t:n:c:d:u:iT:")) != -1) {
        switch (opt) {
        case 'm':
            if (!strcmp(optarg, "tcp")) mode = M_TCP;
            else if (!strcmp(optarg, "h1")) mode = M_H1;
            else if (!strcmp(optarg, "h2c")) mode = M_H2C;
            else if (!strcmp(optarg, "h2")) mode = M_H2;
            else die("unknown mode %s", optarg);
            break;
        case 'x': via = optarg; break;
        case 't': target = optarg; break;
        case 'n': num_tunnels = (size_t)parse_size(optarg); break;
        case 'c': num_conns = (size_t)parse_size(optarg); break;
        case 'd': direction = 'D'; per_tunnel = parse_size(optarg); break;
        case 'u': direction = 'U'; per_tunnel = parse_size(optarg); break;
        case 'i': direction = 'I'; break;
        case 'T': limit = atof(optarg); break;
        default: die("bad option (see the comment at the top of bench/tunnel_client.c)");
        }
    }
    if (!via || !direction || !num_tunnels || (mode != M_TCP && !target))
        die("usage: tunnel_client run -m MODE -x HOST:PORT [-t HOST:PORT] [-n N] [-c C] "
            "(-d BYTES | -u BYTES | -i)");
    if (target)
        snprintf(target_name, sizeof(target_name), "%s", target);
    if (mode == M_TCP || mode == M_H1)
        num_conns = num_tunnels;
    if (num_conns > num_tunnels)
        num_conns = num_tunnels;
    alarm((unsigned)limit);
    struct sockaddr_storage ss;
    socklen_t sslen;
    parse_hostport(via, &ss, &sslen);
    if (mode == M_H2) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
        static const unsigned char alpn[] = "\x02h2";
        SSL_CTX_set_alpn_protos(ssl_ctx, alpn, 3);
        SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    nghttp2_session_callbacks_new(&h2_cbs);
    nghttp2_session_callbacks_set_send_callback(h2_cbs, on_h2_send);
    nghttp2_session_callbacks_set_on_header_callback(h2_cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2_cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h2_cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2_cbs, on_stream_close);

    conns = xcalloc(num_conns, sizeof(*conns));
    tuns = xcalloc(num_tunnels, sizeof(*tuns));
    for (size_t i = 0; i < num_conns; i++)
        conns[i].tuns = xcalloc(num_tunnels / num_conns + 1, sizeof(struct tun *));
    for (size_t i = 0; i < num_tunnels; i++) {
        struct tun *t = &tuns[i];
        struct conn *c = &conns[i % num_conns];
        t->c = c;
        c->tuns[c->num_tuns++] = t;
        t->cmd[0] = (unsigned char)direction;
        uint64_t v = direction == 'I' ? 0 : per_tunnel;
        for (int j = 8; j >= 1; j--, v >>= 8)
            t->cmd[j] = (unsigned char)(v & 0xff);
        if (direction == 'U')
            t->up_left = per_tunnel;
        if (direction == 'D')
            t->down_left = per_tunnel;
        if (direction == 'D' && per_tunnel == 0)
            die("-d wants a size above 0");
    }
    int one = 1;
    for (size_t i = 0; i < num_conns; i++) {
        struct conn *c = &conns[i];
        c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            die("socket: %s", strerror(errno));
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS)
            die("connect %s: %s", via, strerror(errno));
        c->want_out = true;
        ep_set(c->fd, c, EPOLLIN | EPOLLOUT, true);
    }
    if (direction == 'I')
        ep_set(0, NULL, EPOLLIN, true);
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(epfd, evs, 512, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                ssize_t k = read(0, scratch, sizeof(scratch));
                if (k <= 0)
                    exit(0);
                continue;
            }
            on_conn(evs[i].data.ptr, evs[i].events);
        }
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "tunnel_client: time limit reached\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(2);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    raise_nofile();
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (unsigned char)(i * 131 + 7);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (argc >= 2 && !strcmp(argv[1], "serve")) {
        const char *addr = "127.0.0.1", *port = NULL;
        int opt;
        optind = 2;
        while ((opt = getopt(argc, argv, "a:p:")) != -1) {
            if (opt == 'a')
                addr = optarg;
            else if (opt == 'p')
                port = optarg;
            else
                die("usage: tunnel_client serve [-a ADDR] -p PORT");
        }
        if (!port)
            die("usage: tunnel_client serve [-a ADDR] -p PORT");
        return serve(addr, port);
    }
    if (argc >= 2 && !strcmp(argv[1], "run")) {
        optind = 2;
        return run(argc, argv);
    }
    die("usage: tunnel_client serve ... | tunnel_client run ...");
}
