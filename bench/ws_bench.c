/* ws_bench: the WebSocket benchmark's echo backend and client (issue 10).
 *
 *   ws_bench serve [-a ADDR] -p PORT
 *   ws_bench run -m MODE -x HOST:PORT [-n WEBSOCKETS] [-c CONNS]
 *                [-s BYTES] [-M MSGSIZE] [-i] [-T SECONDS]
 *
 * serve: an RFC 6455 echo backend. Each connection sends an HTTP/1.1
 * Upgrade request (GET, Upgrade: websocket, Sec-WebSocket-Key); it is
 * answered 101 with Sec-WebSocket-Accept = base64(SHA1(key + GUID)), and
 * from then on every client frame (masked) comes back as the same frame
 * unmasked (same FIN bit and opcode, text, binary, ping, anything); a close
 * frame is echoed and the connection closed after it. A request that is not
 * an Upgrade gets a 400. One thread, epoll; the echo is bounded: above 1 MiB
 * of unsent echo a connection is not read until it drains.
 *
 * run: opens WEBSOCKETS WebSockets through -x, all before any payload
 * moves, then starts them at once; each sends BYTES of payload (default 16)
 * in binary messages of MSGSIZE bytes (default 64K, the last one shorter)
 * and reads the echoes back. Once every echo byte is in, it prints one line
 *   mode=M websockets=N conns=C bytes=B seconds=S MiB/s=R
 * (B is the payload of one direction, N x BYTES; seconds from the moment
 * every WebSocket is open to the last echoed byte) and exits 0; with -i it
 * prints "ready N" instead and holds every WebSocket open until its
 * standard input reaches EOF (the idle-memory measurement). MODE:
 *   h1    HTTP/1.1 Upgrade (GET /ws), one TCP connection per WebSocket; -x
 *         is the backend itself or a proxy in front of it;
 *   h2c   RFC 8441 extended CONNECT (:protocol websocket, :scheme http,
 *         :path /ws) over HTTP/2 with prior knowledge, WEBSOCKETS streams
 *         spread over CONNS connections (default 1); the peer must send
 *         SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
 * The client's frames are masked (mask bit set) with the all-zero masking
 * key, so that neither end spends its CPU on XOR: the relays in between do
 * not look at frames, and this keeps the client and the backend off the
 * critical path. The key is fixed (RFC 6455 wants it unpredictable; this is
 * a benchmark on loopback). The echoes' lengths are checked, not their
 * bytes. -T bounds the whole run (default 600 s; exit 2 when it passes). Any
 * failure (a non-101/200 answer, a reset, an early EOF, a close frame)
 * prints a message and exits 1. Sizes take K, M and G suffixes (powers of
 * 1024). Both modes raise RLIMIT_NOFILE to its hard limit. */
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
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"

#include <nghttp2/nghttp2.h>
#include <openssl/base64.h>
#include <openssl/sha.h>

#define IO_CHUNK (256 * 1024)
#define OUT_HIGH (256 * 1024)
#define ECHO_HIGH (1024 * 1024)
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* RFC 6455 section 1.3's example key and its accept value. */
#define CLIENT_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define CLIENT_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static unsigned char scratch[IO_CHUNK];

const char *bench_prog = "ws_bench";



/* A growable output buffer: unsent bytes are b[off..len). */
struct obuf {
    unsigned char *b;
    size_t off, len, cap;
};

static size_t ob_pending(const struct obuf *o)
{
    return o->len - o->off;
}

static void ob_append(struct obuf *o, const void *p, size_t n)
{
    if (o->off == o->len) {
        o->off = o->len = 0;
    } else if (o->off && o->len + n > o->cap) {
        memmove(o->b, o->b + o->off, o->len - o->off);
        o->len -= o->off;
        o->off = 0;
    }
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n)
            cap *= 2;
        o->b = realloc(o->b, cap);
        if (!o->b)
            die("out of memory");
        o->cap = cap;
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

/* Writes what it can; <0 on an error. */
static int ob_flush(struct obuf *o, int fd)
{
    while (o->len > o->off) {
        ssize_t n = write(fd, o->b + o->off, o->len - o->off);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        o->off += (size_t)n;
    }
    if (o->off == o->len && o->cap > ECHO_HIGH * 2) {
        free(o->b);
        *o = (struct obuf){ 0 };
    }
    return 0;
}

/* A frame header: hb holds what has come so far; returns the header's
 * length once complete (its fields filled), 0 while more is needed. */
struct fhdr {
    unsigned char hb[14];
    size_t hb_len;
    uint8_t b0;
    bool masked;
    uint8_t mask[4];
    uint64_t len;
};

static size_t fhdr_need(const struct fhdr *h)
{
    if (h->hb_len < 2)
        return 2;
    size_t n = 2 + ((h->hb[1] & 0x80) ? 4 : 0);
    unsigned l7 = h->hb[1] & 0x7f;
    return n + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
}

/* Eats header bytes from *p; true once the header is complete. */
static bool fhdr_feed(struct fhdr *h, const uint8_t **p, size_t *n)
{
    while (*n) {
        size_t need = fhdr_need(h);
        if (h->hb_len >= need)
            break;
        size_t k = need - h->hb_len;
        if (k > *n)
            k = *n;
        memcpy(h->hb + h->hb_len, *p, k);
        h->hb_len += k;
        *p += k;
        *n -= k;
    }
    if (h->hb_len < 2 || h->hb_len < fhdr_need(h))
        return false;
    h->b0 = h->hb[0];
    h->masked = h->hb[1] & 0x80;
    unsigned l7 = h->hb[1] & 0x7f;
    size_t i = 2;
    if (l7 == 126) {
        h->len = (uint64_t)h->hb[2] << 8 | h->hb[3];
        i = 4;
    } else if (l7 == 127) {
        h->len = 0;
        for (i = 2; i < 10; i++)
            h->len = h->len << 8 | h->hb[i];
    } else {
        h->len = l7;
    }
    if (h->masked)
        memcpy(h->mask, h->hb + i, 4);
    h->hb_len = 0;
    return true;
}

/* Writes a frame header (FIN+opcode byte b0, payload length len, masked
 * with the zero key when mask) to out; returns its length. */
static size_t frame_header(unsigned char *out, uint8_t b0, uint64_t len, bool mask)
{
    size_t n = 0;
    out[n++] = b0;
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = m | (uint8_t)len;
    } else if (len < 65536) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int s = 56; s >= 0; s -= 8)
            out[n++] = (uint8_t)(len >> s);
    }
    if (mask) {
        memset(out + n, 0, 4);
        n += 4;
    }
    return n;
}

/* ---- serve ---- */

struct sconn {
    int fd;
    char *head;          /* the Upgrade request head, freed after the 101 */
    size_t head_len;
    bool up;             /* 101 sent: echoing */
    bool in_payload;
    bool closing;        /* a close frame echoed: close once flushed */
    bool want_out, reading;
    struct fhdr h;
    uint64_t pay_left;
    size_t moff;
    struct obuf out;
};

static int listen_fd;

static void sconn_close(struct sconn *s)
{
    close(s->fd);
    free(s->head);
    free(s->out.b);
    free(s);
}

static void echo_input(struct sconn *s, const uint8_t *p, size_t n)
{
    while (n) {
        if (!s->in_payload) {
            if (!fhdr_feed(&s->h, &p, &n))
                return;
            unsigned char hdr[14];
            ob_append(&s->out, hdr, frame_header(hdr, s->h.b0, s->h.len, false));
            if ((s->h.b0 & 0x0f) == 0x8)
                s->closing = true;
            s->pay_left = s->h.len;
            s->moff = 0;
            s->in_payload = true;
        }
        size_t k = n < s->pay_left ? n : (size_t)s->pay_left;
        if (k) {
            size_t at = s->out.len;
            ob_append(&s->out, p, k);
            if (s->h.masked && (s->h.mask[0] | s->h.mask[1] | s->h.mask[2] | s->h.mask[3])) {
                unsigned char *q = s->out.b + at;
                for (size_t i = 0; i < k; i++)
                    q[i] ^= s->h.mask[(s->moff + i) & 3];
            }
            s->moff += k;
            s->pay_left -= k;
            p += k;
            n -= k;
        }
        if (!s->pay_left) {
            s->in_payload = false;
            if (s->closing)
                return; /* nothing is read after a close frame */
        }
    }
}

static bool handshake(struct sconn *s)
{
    char *end = strstr(s->head, "\r\n\r\n");
    if (!end) {
        if (s->head_len >= 8191)
            die("request head too long");
        return false;
    }
    char *key = NULL;
    bool upgrade = false;
    for (char *line = strstr(s->head, "\r\n"); line && line < end; line = strstr(line, "\r\n")) {
        line += 2;
        if (!strncasecmp(line, "Sec-WebSocket-Key:", 18))
            key = line + 18;
        else if (!strncasecmp(line, "Upgrade:", 8))
            upgrade = strncasecmp(line + 8 + strspn(line + 8, " \t"), "websocket", 9) == 0;
    }
    if (!key || !upgrade) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
        ob_append(&s->out, bad, sizeof(bad) - 1);
        s->closing = true;
        return true;
    }
    key += strspn(key, " \t");
    size_t klen = strcspn(key, " \t\r\n");
    char buf[200];
    if (klen > 100)
        die("Sec-WebSocket-Key too long");
    memcpy(buf, key, klen);
    memcpy(buf + klen, WS_GUID, sizeof(WS_GUID) - 1);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)buf, klen + sizeof(WS_GUID) - 1, md);
    uint8_t accept[64];
    EVP_EncodeBlock(accept, md, SHA_DIGEST_LENGTH);
    char resp[300];
    int rn = snprintf(resp, sizeof(resp),
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                      (const char *)accept);
    ob_append(&s->out, resp, (size_t)rn);
    s->up = true;
    size_t used = (size_t)(end + 4 - s->head);
    size_t rest = s->head_len - used;
    if (rest)
        echo_input(s, (const uint8_t *)end + 4, rest);
    free(s->head);
    s->head = NULL;
    return true;
}

static void on_sconn(struct sconn *s, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && s->reading) {
        for (int i = 0; i < 8 && !s->closing && ob_pending(&s->out) < ECHO_HIGH; i++) {
            ssize_t n;
            if (!s->up) {
                if (!s->head)
                    s->head = xcalloc(1, 8192);
                n = read(s->fd, s->head + s->head_len, 8191 - s->head_len);
            } else {
                n = read(s->fd, scratch, sizeof(scratch));
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n <= 0) {
                sconn_close(s);
                return;
            }
            if (!s->up) {
                s->head_len += (size_t)n;
                s->head[s->head_len] = 0;
                handshake(s);
            } else {
                echo_input(s, scratch, (size_t)n);
            }
        }
    }
    if (ob_flush(&s->out, s->fd) < 0) {
        sconn_close(s);
        return;
    }
    if (s->closing && !ob_pending(&s->out)) {
        sconn_close(s);
        return;
    }
    bool want = ob_pending(&s->out) > 0;
    bool reading = !s->closing && ob_pending(&s->out) < ECHO_HIGH;
    if (want != s->want_out || reading != s->reading) {
        s->want_out = want;
        s->reading = reading;
        ep_set(s->fd, s, (reading ? EPOLLIN : 0) | (want ? EPOLLOUT : 0), false);
    }
}

static int serve(const char *addr, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai;
    int rc = getaddrinfo(addr, port, &hints, &ai);
    if (rc)
        die("%s: %s", addr, gai_strerror(rc));
    listen_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listen_fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(listen_fd, 4096) < 0)
        die("bind/listen %s:%s: %s", addr, port, strerror(errno));
    freeaddrinfo(ai);
    ep_set(listen_fd, NULL, EPOLLIN, true);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr) {
                on_sconn(evs[i].data.ptr, evs[i].events);
                continue;
            }
            for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        fprintf(stderr, "ws_bench: accept: %s\n", strerror(errno));
                    break;
                }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                struct sconn *s = xcalloc(1, sizeof(*s));
                s->fd = fd;
                s->reading = true;
                ep_set(fd, s, EPOLLIN, true);
            }
        }
    }
}

/* ---- run ---- */

enum mode { M_H1, M_H2C };

struct conn;

struct ws {
    struct conn *c;
    int32_t sid;
    bool open, done;
    int status;
    uint64_t send_left;  /* frame bytes (headers included) still to send */
    uint64_t sent;       /* frame bytes sent */
    uint64_t recv_left;  /* echoed payload bytes still to come */
    bool in_payload;
    uint64_t pay_left;
    struct fhdr h;
};

struct conn {
    int fd;
    nghttp2_session *h2;
    bool connected, want_out, requested;
    struct obuf out;
    char head[1024];
    size_t head_len;
    struct ws **wss;
    size_t num_ws;
};

static enum mode mode;
static uint64_t per_ws = 16, msg_size = 64 << 10;
static bool idle;
static size_t num_ws, num_conns, num_open, num_done;
static bool started;
static double t_start;
static struct conn *conns;
static struct ws *wss;
/* The byte stream every WebSocket sends: messages of msg_size, repeated
 * to fill send_buf (a whole number of them); frame_total is one socket's
 * whole stream, the last message cut to what per_ws leaves. */
static unsigned char *send_buf;
static size_t send_len;
static uint64_t frame_total;
static unsigned char last_frame[14 + 65536];
static size_t last_len; /* the last, shorter message's frame, when there is one */
static uint64_t full_bytes; /* frame bytes of the full-size messages */

static void finish(void)
{
    double secs = now() - t_start;
    uint64_t total = per_ws * num_ws;
    if (idle) {
        printf("ready %zu\n", num_ws);
        fflush(stdout);
        return;
    }
    printf("mode=%s websockets=%zu conns=%zu bytes=%" PRIu64 " seconds=%.3f MiB/s=%.1f\n",
           mode == M_H1 ? "h1" : "h2c", num_ws, num_conns, total, secs,
           secs > 0 ? (double)total / 1048576.0 / secs : 0.0);
    fflush(stdout);
    exit(0);
}

static void ws_done(struct ws *w)
{
    if (w->done)
        return;
    w->done = true;
    if (++num_done == num_ws)
        finish();
}

/* Up to max bytes of w's outgoing stream at its current position. */
static const unsigned char *ws_chunk(struct ws *w, size_t *len, size_t max)
{
    const unsigned char *p;
    size_t n;
    if (w->sent < full_bytes) {
        size_t off = (size_t)(w->sent % send_len);
        p = send_buf + off;
        n = send_len - off;
        if (n > full_bytes - w->sent)
            n = (size_t)(full_bytes - w->sent);
    } else {
        size_t off = (size_t)(w->sent - full_bytes);
        p = last_frame + off;
        n = last_len - off;
    }
    *len = n < max ? n : max;
    return p;
}

static void ws_sent(struct ws *w, size_t n)
{
    w->sent += n;
    w->send_left -= n;
}

static void ws_input(struct ws *w, const uint8_t *p, size_t n)
{
    if (!started)
        die("bytes from the peer before the WebSocket started");
    while (n) {
        if (!w->in_payload) {
            if (!fhdr_feed(&w->h, &p, &n))
                return;
            if ((w->h.b0 & 0x0f) == 0x8)
                die("the backend sent a close frame");
            if (w->h.masked)
                die("a masked frame from the server side");
            w->pay_left = w->h.len;
            w->in_payload = true;
        }
        size_t k = n < w->pay_left ? n : (size_t)w->pay_left;
        if (k > w->recv_left)
            die("%zu echoed bytes more than sent", k - (size_t)w->recv_left);
        w->pay_left -= k;
        w->recv_left -= k;
        p += k;
        n -= k;
        if (!w->pay_left)
            w->in_payload = false;
        if (!w->recv_left && !w->in_payload)
            ws_done(w);
    }
}

static void conn_update(struct conn *c);
static void h2_flush(struct conn *c);

static void start_all(void)
{
    started = true;
    t_start = now();
    for (size_t i = 0; i < num_conns; i++) {
        struct conn *c = &conns[i];
        if (c->h2) {
            for (size_t k = 0; k < c->num_ws; k++)
                nghttp2_session_resume_data(c->h2, c->wss[k]->sid);
            h2_flush(c);
        } else {
            conn_update(c);
        }
    }
}

static void ws_opened(struct ws *w)
{
    w->open = true;
    if (++num_open == num_ws)
        start_all();
}

/* h1: one WebSocket per connection. */
static void conn_update(struct conn *c)
{
    struct ws *w = c->wss[0];
    for (;;) {
        if (ob_pending(&c->out)) {
            if (ob_flush(&c->out, c->fd) < 0)
                die("write: %s", strerror(errno));
            if (ob_pending(&c->out))
                break;
            continue;
        }
        if (started && w->send_left) {
            size_t k;
            const unsigned char *p = ws_chunk(w, &k, IO_CHUNK);
            ssize_t n = write(c->fd, p, k);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                die("write: %s", strerror(errno));
            if (n <= 0)
                break;
            ws_sent(w, (size_t)n);
            continue;
        }
        break;
    }
    bool want = ob_pending(&c->out) || (started && w->send_left) || !c->connected;
    if (want != c->want_out) {
        c->want_out = want;
        ep_set(c->fd, c, EPOLLIN | (want ? EPOLLOUT : 0), false);
    }
}

static void h1_input(struct conn *c, const uint8_t *p, size_t n)
{
    struct ws *w = c->wss[0];
    if (!w->open) {
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
        if (strncmp(c->head, "HTTP/1.1 101", 12) != 0)
            die("Upgrade answered: %.*s", (int)strcspn(c->head, "\r\n"), c->head);
        *end = 0;
        if (!strcasestr(c->head, "\r\nSec-WebSocket-Accept: " CLIENT_ACCEPT))
            die("101 without the right Sec-WebSocket-Accept");
        size_t used = (size_t)(end + 4 - c->head) - (c->head_len - k);
        ws_opened(w);
        p += used;
        n -= used;
    }
    if (n)
        ws_input(w, p, n);
}

/* ---- HTTP/2 (RFC 8441) ---- */

static ssize_t on_h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *ud)
{
    (void)s;
    (void)flags;
    struct conn *c = ud;
    if (ob_pending(&c->out) >= OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    ob_append(&c->out, data, len);
    return (ssize_t)len;
}

static ssize_t on_read_data(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)sid;
    (void)ud;
    (void)flags; /* never END_STREAM: the WebSocket stays open */
    struct ws *w = src->ptr;
    if (!started || !w->send_left)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = 0;
    while (n < len && w->send_left) {
        size_t k;
        const unsigned char *p = ws_chunk(w, &k, len - n);
        memcpy(buf + n, p, k);
        ws_sent(w, k);
        n += k;
    }
    return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    (void)flags;
    (void)ud;
    (void)valuelen;
    struct ws *w = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (w && namelen == 7 && memcmp(name, ":status", 7) == 0)
        w->status = atoi((const char *)value);
    return 0;
}

static void h2_request_all(struct conn *c);

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct conn *c = ud;
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) && !c->requested) {
        if (nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1)
            die("the peer did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1");
        h2_request_all(c);
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct ws *w = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!w || w->open)
        return 0;
    if (w->status != 200)
        die("stream %d: extended CONNECT answered %d", f->hd.stream_id, w->status);
    ws_opened(w);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    struct ws *w = nghttp2_session_get_stream_user_data(s, sid);
    if (w)
        ws_input(w, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    (void)ud;
    struct ws *w = nghttp2_session_get_stream_user_data(s, sid);
    if (w)
        die("stream %d closed (%s)", sid, nghttp2_http2_strerror(code));
    return 0;
}

static nghttp2_session_callbacks *h2_cbs;

static void h2_flush(struct conn *c)
{
    for (;;) {
        if (ob_pending(&c->out) < OUT_HIGH && nghttp2_session_want_write(c->h2)) {
            int rv = nghttp2_session_send(c->h2);
            if (rv)
                die("nghttp2_session_send: %s", nghttp2_strerror(rv));
        }
        if (!ob_pending(&c->out))
            break;
        size_t before = ob_pending(&c->out);
        if (ob_flush(&c->out, c->fd) < 0)
            die("write: %s", strerror(errno));
        if (ob_pending(&c->out) == before)
            break;
    }
    bool want = ob_pending(&c->out) > 0;
    if (want != c->want_out) {
        c->want_out = want;
        ep_set(c->fd, c, EPOLLIN | (want ? EPOLLOUT : 0), false);
    }
}

static void h2_request_all(struct conn *c)
{
    c->requested = true;
    for (size_t i = 0; i < c->num_ws; i++) {
        struct ws *w = c->wss[i];
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }
        nghttp2_nv nv[] = {
            NV(":method", "CONNECT"), NV(":protocol", "websocket"), NV(":scheme", "http"),
            NV(":path", "/ws"), NV(":authority", "ws.test"), NV("sec-websocket-version", "13"),
        };
#undef NV
        nghttp2_data_provider dp = { .source.ptr = w, .read_callback = on_read_data };
        w->sid = nghttp2_submit_request(c->h2, NULL, nv, sizeof(nv) / sizeof(nv[0]), &dp, w);
        if (w->sid < 0)
            die("nghttp2_submit_request: %s", nghttp2_strerror(w->sid));
    }
}

static void h2_begin(struct conn *c)
{
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    /* RFC 8441 responses carry no content-length; keep nghttp2's checks. */
    nghttp2_session_client_new2(&c->h2, h2_cbs, c, opt);
    nghttp2_option_del(opt);
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 << 20 },
        { NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 1 << 14 },
    };
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 30);
    h2_flush(c);
}

static void conn_connected(struct conn *c)
{
    c->connected = true;
    if (mode == M_H1) {
        static const char req[] = "GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
                                  "Upgrade: websocket\r\nSec-WebSocket-Key: " CLIENT_KEY "\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
        ob_append(&c->out, req, sizeof(req) - 1);
        conn_update(c);
    } else {
        h2_begin(c);
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
        return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (int i = 0; i < 16; i++) {
            ssize_t n = read(c->fd, scratch, sizeof(scratch));
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n <= 0)
                die("connection closed by the peer (%s)", n < 0 ? strerror(errno) : "EOF");
            if (c->h2) {
                ssize_t rv = nghttp2_session_mem_recv(c->h2, scratch, (size_t)n);
                if (rv < 0)
                    die("nghttp2_session_mem_recv: %s", nghttp2_strerror((int)rv));
            } else {
                h1_input(c, scratch, (size_t)n);
            }
        }
    }
    if (c->h2)
        h2_flush(c);
    else
        conn_update(c);
}

static void build_stream(void)
{
    if (!msg_size || msg_size > (64 << 20))
        die("-M wants 1 byte to 64M");
    unsigned char hdr[14];
    size_t hl = frame_header(hdr, 0x82, msg_size, true);
    size_t one = hl + (size_t)msg_size;
    size_t k = one >= IO_CHUNK ? 1 : IO_CHUNK / one;
    send_len = k * one;
    send_buf = xcalloc(1, send_len);
    for (size_t i = 0; i < k; i++) {
        unsigned char *m = send_buf + i * one;
        memcpy(m, hdr, hl);
        for (size_t j = 0; j < msg_size; j++)
            m[hl + j] = (unsigned char)(j * 131 + 7);
    }
    uint64_t full = per_ws / msg_size, rest = per_ws % msg_size;
    full_bytes = full * one;
    if (rest) {
        if (rest > 65536)
            die("-s minus whole -M messages leaves more than 64K; pick -s a multiple of -M");
        last_len = frame_header(last_frame, 0x82, rest, true);
        memset(last_frame + last_len, 'x', (size_t)rest);
        last_len += (size_t)rest;
    }
    frame_total = full_bytes + last_len;
}

static int run(int argc, char **argv)
{
    const char *via = NULL;
    int opt;
    double limit = 600;
    num_ws = 1;
    num_conns = 1;
    mode = M_H1;
    while ((opt = getopt(argc, argv, "m:x:n:c:s:M:iT:")) != -1) {
        switch (opt) {
        case 'm':
            if (!strcmp(optarg, "h1")) mode = M_H1;
            else if (!strcmp(optarg, "h2c")) mode = M_H2C;
            else die("unknown mode %s", optarg);
            break;
        case 'x': via = optarg; break;
        case 'n': num_ws = (size_t)parse_size(optarg); break;
        case 'c': num_conns = (size_t)parse_size(optarg); break;
        case 's': per_ws = parse_size(optarg); break;
        case 'M': msg_size = parse_size(optarg); break;
        case 'i': idle = true; break;
        case 'T': limit = atof(optarg); break;
        default: die("bad option (see the comment at the top of bench/ws_bench.c)");
        }
    }
    if (!via || !num_ws || !per_ws)
        die("usage: ws_bench run -m h1|h2c -x HOST:PORT [-n N] [-c C] [-s BYTES] [-M SIZE] [-i]");
    if (mode == M_H1)
        num_conns = num_ws;
    if (num_conns > num_ws)
        num_conns = num_ws;
    alarm((unsigned)limit);
    build_stream();
    struct sockaddr_storage ss;
    socklen_t sslen;
    parse_hostport(via, &ss, &sslen);
    nghttp2_session_callbacks_new(&h2_cbs);
    nghttp2_session_callbacks_set_send_callback(h2_cbs, on_h2_send);
    nghttp2_session_callbacks_set_on_header_callback(h2_cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2_cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h2_cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2_cbs, on_stream_close);

    conns = xcalloc(num_conns, sizeof(*conns));
    wss = xcalloc(num_ws, sizeof(*wss));
    for (size_t i = 0; i < num_conns; i++)
        conns[i].wss = xcalloc(num_ws / num_conns + 1, sizeof(struct ws *));
    for (size_t i = 0; i < num_ws; i++) {
        struct ws *w = &wss[i];
        struct conn *c = &conns[i % num_conns];
        w->c = c;
        c->wss[c->num_ws++] = w;
        w->send_left = frame_total;
        w->recv_left = per_ws;
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
    if (idle)
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
    static const char msg[] = "ws_bench: time limit reached\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(2);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    raise_nofile();
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
                die("usage: ws_bench serve [-a ADDR] -p PORT");
        }
        if (!port)
            die("usage: ws_bench serve [-a ADDR] -p PORT");
        return serve(addr, port);
    }
    if (argc >= 2 && !strcmp(argv[1], "run")) {
        optind = 2;
        return run(argc, argv);
    }
    die("usage: ws_bench serve ... | ws_bench run ...");
}
