/* A test rig for the HTTP/2 glue, in the style of nghttp2's session tests:
 * one real worker (its loop run by the test, one iteration at a time), a
 * client connection on a socketpair whose other end is an nghttp2 client
 * session the test drives, and HTTP/2 backends played by nghttp2 server
 * sessions on sockets the test accepts from a loopback listener. Frames go
 * in through nghttp2_session_mem_recv on both sides; the test asserts on
 * the frames each peer receives and on the exchanges in between. Nothing
 * leaves the machine. Included by each test program (static functions). */
#ifndef H2G_TESTS_UNIT_PROXY_RIG_H
#define H2G_TESTS_UNIT_PROXY_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "proxy/cconn.h"
#include "proxy/gen.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"

#define RIG_MAX_STREAMS 32
#define RIG_MAX_BACKENDS 4
#define RIG_MAX_FRAMES 512
#define RIG_DATA_MAX (1024 * 1024)

/* What a peer saw of one stream. */
struct rig_stream {
    int32_t id;
    int status;                 /* :status of the final head (client side) */
    int num_blocks;             /* header blocks received (head, 1xx, trailers) */
    size_t block_fields[8];     /* fields per block, pseudo-headers included */
    char fields[8192];          /* "name: value\n" of every block */
    size_t fields_len;
    size_t data_len;
    char *data;                 /* the first RIG_DATA_MAX bytes */
    bool end_stream;            /* END_STREAM seen */
    bool closed;
    uint32_t rst_code;          /* from a received RST_STREAM */
    bool got_rst;
};

struct rig_frame {
    uint8_t type, flags;
    int32_t stream_id;
    uint32_t error_code;        /* RST_STREAM, GOAWAY */
    int32_t last_stream_id;     /* GOAWAY */
};

struct rig;

/* A body served from a static buffer (ptr: struct rig_body). */
struct rig_body {
    const char *p;
    size_t len, off;
    bool trailers;      /* end with trailers instead of END_STREAM */
    const nghttp2_nv *trailer_nv;
    size_t num_trailers;
};

/* One end the test plays. */
struct rig_peer {
    struct rig *rig;
    int index;                  /* backends: which one; the client: -1 */
    int fd;
    nghttp2_session *s;
    char *pending;              /* output the socket did not take yet */
    size_t pending_len;
    struct rig_stream streams[RIG_MAX_STREAMS];
    size_t num_streams;
    struct rig_frame frames[RIG_MAX_FRAMES];
    size_t num_frames;
    struct rig_body *bodies[RIG_MAX_STREAMS]; /* rig_respond_text()'s */
    size_t num_bodies;
};

struct rig {
    struct config cfg;      /* parsed here, then owned by gen */
    struct gen *gen;
    struct worker w;
    int listen_fd;              /* the frontend's socket (never accepted from) */
    int backend_listen_fd;
    uint16_t backend_port;
    struct cconn *cc;
    struct rig_peer client;
    struct rig_peer backends[RIG_MAX_BACKENDS];
    size_t num_backends;
    /* The backend script: called when a backend has a request's head
     * (end: the request is complete too) and when its body ends. */
    void (*on_request)(struct rig *r, struct rig_peer *b, int32_t sid, bool end);
    void (*on_request_end)(struct rig *r, struct rig_peer *b, int32_t sid);
    void *user;
};

static inline struct rig_stream *rig_stream(struct rig_peer *p, int32_t id)
{
    for (size_t i = 0; i < p->num_streams; i++) {
        if (p->streams[i].id == id)
            return &p->streams[i];
    }
    assert_true(p->num_streams < RIG_MAX_STREAMS);
    struct rig_stream *st = &p->streams[p->num_streams++];
    memset(st, 0, sizeof(*st));
    st->id = id;
    st->data = calloc(1, RIG_DATA_MAX);
    return st;
}

/* The frame of type after index from (or -1). */
static inline int rig_find_frame(const struct rig_peer *p, uint8_t type, size_t from)
{
    for (size_t i = from; i < p->num_frames; i++) {
        if (p->frames[i].type == type)
            return (int)i;
    }
    return -1;
}

/* True when field "name: value" is in the stream's header blocks. */
static inline bool rig_has_field(const struct rig_stream *st, const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof(line), "%s: %s\n", name, value);
    return memmem(st->fields, st->fields_len, line, strlen(line)) != NULL;
}

/* ---- nghttp2 callbacks of the test's peers ---- */

static inline int rig_on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    struct rig_peer *p = ud;
    struct rig_stream *st = rig_stream(p, f->hd.stream_id);
    if (st->num_blocks < 8)
        st->block_fields[st->num_blocks] = 0;
    return 0;
}

static inline int rig_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                         size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                         void *ud)
{
    (void)s;
    (void)flags;
    struct rig_peer *p = ud;
    struct rig_stream *st = rig_stream(p, f->hd.stream_id);
    if (st->num_blocks < 8)
        st->block_fields[st->num_blocks]++;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3 &&
        value[0] != '1')
        st->status = atoi((const char *)value);
    int n = snprintf(st->fields + st->fields_len, sizeof(st->fields) - st->fields_len,
                     "%.*s: %.*s\n", (int)namelen, name, (int)valuelen, value);
    if (n > 0 && st->fields_len + (size_t)n < sizeof(st->fields))
        st->fields_len += (size_t)n;
    return 0;
}

static inline int rig_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    struct rig_peer *p = ud;
    if (p->num_frames < RIG_MAX_FRAMES) {
        struct rig_frame *fr = &p->frames[p->num_frames++];
        fr->type = f->hd.type;
        fr->flags = f->hd.flags;
        fr->stream_id = f->hd.stream_id;
        if (f->hd.type == NGHTTP2_RST_STREAM)
            fr->error_code = f->rst_stream.error_code;
        if (f->hd.type == NGHTTP2_GOAWAY) {
            fr->error_code = f->goaway.error_code;
            fr->last_stream_id = f->goaway.last_stream_id;
        }
    }
    if (f->hd.stream_id == 0)
        return 0;
    struct rig_stream *st = rig_stream(p, f->hd.stream_id);
    bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (f->hd.type == NGHTTP2_HEADERS)
        st->num_blocks++;
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        st->got_rst = true;
        st->rst_code = f->rst_stream.error_code;
    }
    if (end)
        st->end_stream = true;
    struct rig *r = p->rig;
    if (p->index < 0)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
        r->on_request)
        r->on_request(r, p, f->hd.stream_id, end);
    else if (end && r->on_request_end)
        r->on_request_end(r, p, f->hd.stream_id);
    return 0;
}

static inline int rig_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                       size_t len, void *ud)
{
    (void)s;
    (void)flags;
    struct rig_peer *p = ud;
    struct rig_stream *st = rig_stream(p, id);
    size_t room = st->data_len < RIG_DATA_MAX ? RIG_DATA_MAX - st->data_len : 0;
    memcpy(st->data + st->data_len, data, len < room ? len : room);
    st->data_len += len;
    return 0;
}

static inline int rig_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    (void)code;
    rig_stream(ud, id)->closed = true;
    return 0;
}

static inline void rig_peer_init(struct rig *r, struct rig_peer *p, int fd, int index)
{
    memset(p, 0, sizeof(*p));
    p->rig = r;
    p->fd = fd;
    p->index = index;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, rig_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, rig_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, rig_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, rig_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, rig_on_close);
    if (index < 0)
        assert_int_equal(nghttp2_session_client_new(&p->s, cb, p), 0);
    else
        assert_int_equal(nghttp2_session_server_new(&p->s, cb, p), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(p->s, NGHTTP2_FLAG_NONE, NULL, 0);
}

static inline void rig_peer_cleanup(struct rig_peer *p)
{
    if (!p->s)
        return;
    nghttp2_session_del(p->s);
    for (size_t i = 0; i < p->num_streams; i++)
        free(p->streams[i].data);
    free(p->pending);
    for (size_t i = 0; i < p->num_bodies; i++)
        free(p->bodies[i]);
    if (p->fd >= 0)
        close(p->fd);
    p->s = NULL;
}

/* Writes what the peer's session has to say; keeps what the socket does
 * not take. */
static inline void rig_peer_flush(struct rig_peer *p)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(p->s, &data);
        assert_true(n >= 0);
        if (n == 0)
            break;
        p->pending = realloc(p->pending, p->pending_len + (size_t)n);
        memcpy(p->pending + p->pending_len, data, (size_t)n);
        p->pending_len += (size_t)n;
    }
    while (p->pending_len) {
        ssize_t n = send(p->fd, p->pending, p->pending_len, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        memmove(p->pending, p->pending + n, p->pending_len - (size_t)n);
        p->pending_len -= (size_t)n;
    }
}

/* Feeds what the socket holds to the peer's session. */
static inline void rig_peer_read(struct rig_peer *p)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return;
        assert_int_equal(nghttp2_session_mem_recv(p->s, (const uint8_t *)buf, (size_t)n), n);
    }
}

static inline void rig_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static inline int rig_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    if (port)
        *port = ntohs(sa.sin_port);
    return fd;
}

/* Starts a worker with an HTTP/2 backend (extra options after the -b) and
 * a client connection. */
static inline void rig_start(struct rig *r, const char *const *extra)
{
    memset(r, 0, sizeof(*r));
    log_open(LOG_WARN, NULL);
    r->backend_listen_fd = rig_listen(&r->backend_port);
    uint16_t fport;
    r->listen_fd = rig_listen(&fport);
    char fe[64], be[96];
    snprintf(fe, sizeof(fe), "127.0.0.1,%u;no-tls", fport);
    snprintf(be, sizeof(be), "127.0.0.1,%u;;proto=h2", r->backend_port);
    char *argv[32] = { "h2gate", "-n", "1", "-f", fe, "-b", be };
    int argc = 7;
    for (; extra && *extra; extra++)
        argv[argc++] = (char *)*extra;
    char err[512];
    if (cfg_load(&r->cfg, argc, argv, err, sizeof(err)) != CFG_RUN)
        fail_msg("cfg_load: %s", err);
    r->gen = gen_build(&r->cfg, err, sizeof(err));
    if (!r->gen)
        fail_msg("gen_build: %s", err);
    cconn_global_init(&r->gen->cfg);
    wrk_init(&r->w, 0, r->gen, &r->listen_fd);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    rig_nonblock(sv[0]);
    rig_nonblock(sv[1]);
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    r->cc = cconn_new(&r->w, sv[0], &r->gen->cfg.frontends[0], (struct sockaddr *)&peer);
    rig_peer_init(r, &r->client, sv[1], -1);
}

static inline void rig_stop(struct rig *r)
{
    rig_peer_cleanup(&r->client);
    for (size_t i = 0; i < r->num_backends; i++)
        rig_peer_cleanup(&r->backends[i]);
    wrk_cleanup(&r->w);
    close(r->backend_listen_fd);
    cconn_global_cleanup();
}

/* One round: both peers write, the worker runs one loop iteration
 * (without blocking), new backend connections are taken, peers read. */
static inline void rig_step(struct rig *r)
{
    rig_peer_flush(&r->client);
    for (size_t i = 0; i < r->num_backends; i++)
        rig_peer_flush(&r->backends[i]);
    ev_run(r->w.loop, EVRUN_NOWAIT);
    int fd;
    while (r->num_backends < RIG_MAX_BACKENDS &&
           (fd = accept(r->backend_listen_fd, NULL, NULL)) >= 0) {
        rig_nonblock(fd);
        rig_peer_init(r, &r->backends[r->num_backends], fd, (int)r->num_backends);
        r->num_backends++;
    }
    rig_peer_read(&r->client);
    for (size_t i = 0; i < r->num_backends; i++)
        rig_peer_read(&r->backends[i]);
}

/* Steps until cond holds; fails the test after about two seconds. */
static inline void rig_until(struct rig *r, bool (*cond)(struct rig *r, void *arg), void *arg)
{
    for (int i = 0; i < 4000; i++) {
        rig_step(r);
        if (cond(r, arg))
            return;
        usleep(500);
    }
    fail_msg("condition never held");
}

/* A few more rounds, for checking that something does not happen. */
static inline void rig_settle(struct rig *r)
{
    for (int i = 0; i < 40; i++) {
        rig_step(r);
        usleep(500);
    }
}

/* ---- conditions ---- */

static inline bool rig_client_closed(struct rig *r, void *sid)
{
    return rig_stream(&r->client, (int32_t)(intptr_t)sid)->closed;
}

static inline bool rig_no_exchanges(struct rig *r, void *arg)
{
    (void)arg;
    return r->cc->num_xchgs == 0;
}

static inline bool rig_backends_at_least(struct rig *r, void *n)
{
    return r->num_backends >= (size_t)(intptr_t)n;
}

/* ---- building messages ---- */

#define RIG_NV(n, v) \
    { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }


static inline ssize_t rig_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ud;
    struct rig_body *b = src->ptr;
    size_t n = b->len - b->off < length ? b->len - b->off : length;
    memcpy(buf, b->p + b->off, n);
    b->off += n;
    if (b->off == b->len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (b->trailers) {
            nghttp2_submit_trailer(s, id, b->trailer_nv, b->num_trailers);
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

/* Submits a request from the test's client. body may be NULL. */
static inline int32_t rig_request(struct rig *r, const char *method, const char *path,
                           struct rig_body *body)
{
    nghttp2_nv nv[] = {
        { (uint8_t *)":method", (uint8_t *)method, 7, strlen(method), NGHTTP2_NV_FLAG_NONE },
        RIG_NV(":scheme", "http"),
        RIG_NV(":authority", "test"),
        { (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), NGHTTP2_NV_FLAG_NONE },
    };
    nghttp2_data_provider prd = { .source.ptr = body, .read_callback = rig_read_body };
    int32_t id = nghttp2_submit_request(r->client.s, NULL, nv, 4, body ? &prd : NULL, NULL);
    assert_true(id > 0);
    return id;
}

/* A backend answers stream sid with status and body (may be NULL). */
static inline void rig_respond(struct rig_peer *b, int32_t sid, const char *status,
                        struct rig_body *body)
{
    nghttp2_nv nv[] = { { (uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE } };
    nghttp2_data_provider prd = { .source.ptr = body, .read_callback = rig_read_body };
    assert_int_equal(nghttp2_submit_response(b->s, sid, nv, 1, body ? &prd : NULL), 0);
}

/* A backend answers stream sid with status and a copy of text. */
static inline void rig_respond_text(struct rig_peer *b, int32_t sid, const char *status,
                                    const char *text)
{
    assert_true(b->num_bodies < RIG_MAX_STREAMS);
    struct rig_body *body = calloc(1, sizeof(*body));
    body->p = text;
    body->len = strlen(text);
    b->bodies[b->num_bodies++] = body;
    rig_respond(b, sid, status, body);
}

/* The exchange of the client's stream sid, or NULL. */
static inline struct xchg *rig_xchg(struct rig *r, int32_t sid)
{
    for (struct xchg *x = r->cc->xchgs; x; x = x->next) {
        if (x->stream_id == sid)
            return x;
    }
    return NULL;
}

#endif
