#include "proxy/bsess.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/hdrs.h"
#include "proxy/sock.h"
#include "proxy/tls.h"
#include "proxy/upool.h"
#include "proxy/worker.h"
#include "proxy/xchg.h"
#include "proxy/xlate.h"

/* Stop generating frames once this much output waits for the socket. */
#define OUT_HIGH (64 * 1024)
/* Bytes written per session per loop iteration before yielding. */
#define WRITE_BUDGET (512 * 1024)
#define READ_BATCH 8
/* A session silent for this long is checked with PING before new
 * streams go on it. */
#define CHECK_IDLE 5.0
/* How long the PING may take, at most (less with a shorter
 * --backend-connect-timeout). */
#define PING_TIMEOUT 5.0

static nghttp2_session_callbacks *callbacks;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void on_readable(struct sock *sk);
static void on_writable(struct sock *sk);
static void on_ready(struct sock *sk, int err, const char *why, int sys_errno);
static void on_timer(struct ev_loop *loop, ev_timer *t, int revents);

static const struct sock_handler sess_sock_handler = {
    .readable = on_readable,
    .writable = on_writable,
    .ready = on_ready,
};


static void mark_dirty(struct bsess *s)
{
    if (s->dirty || s->state == BS_DEAD)
        return;
    struct upool *p = &s->w->up;
    s->dirty = true;
    s->next_dirty = p->dirty;
    p->dirty = s;
}

static bool unlink_stream(struct bstream **head, struct bstream *bs)
{
    for (struct bstream **pp = head; *pp; pp = &(*pp)->next) {
        if (*pp == bs) {
            *pp = bs->next;
            bs->next = NULL;
            return true;
        }
    }
    return false;
}

static void push_done(struct bsess *s, struct bstream *bs)
{
    if (bs->in_done)
        return;
    bs->in_done = true;
    bs->next_done = s->done;
    s->done = bs;
}

/* ---- timers ---- */

static double ping_timeout(const struct config *cfg)
{
    return cfg->backend_connect_timeout < PING_TIMEOUT ? cfg->backend_connect_timeout
                                                       : PING_TIMEOUT;
}

/* The stream waits for its client, not for the backend (an open
 * WebSocket has its own idle timer). */
static bool blocked_on_client(const struct bstream *bs)
{
    return bs->up.x && (bs->unconsumed > 0 || bs->ws_open);
}

/* The next moment something about s must be checked. */
static double next_deadline(struct bsess *s)
{
    const struct config *cfg = s->w->cfg;
    if (s->state == BS_CONNECTING)
        return s->started + cfg->backend_connect_timeout;
    double d = INFINITY;
    if (!s->settings_acked)
        d = fmin(d, s->started + cfg->backend_http2_settings_timeout);
    if (s->checking)
        d = fmin(d, s->ping_sent + ping_timeout(cfg));
    if (s->num_streams == 0)
        d = fmin(d, s->idle_since + upool_keep_alive(s->w, s->be));
    else
        d = fmin(d, s->last_read + upool_read_timeout(s->w, s->be));
    if (bufq_len(&s->out))
        d = fmin(d, s->last_write + upool_write_timeout(s->w, s->be));
    return d;
}

/* Keeps the member's idle gauge in step: a ready session with no stream
 * is idle. Called wherever the timer is rearmed (every change of state or
 * of the stream count ends there) and when a stream is assigned. */
static void sync_idle(struct bsess *s)
{
    bool idle = s->state == BS_READY && s->num_streams == 0;
    if (idle != s->counted_idle) {
        s->counted_idle = idle;
        stats_backend_idle(s->w->stats, (long)s->be->index, idle);
    }
}

static void rearm(struct bsess *s)
{
    sync_idle(s);
    if (s->state == BS_DEAD)
        return;
    struct ev_loop *loop = s->w->loop;
    double after = next_deadline(s) - ev_now(loop);
    ev_timer_stop(loop, &s->timer);
    ev_timer_set(&s->timer, after > 0.001 ? after : 0.001, 0.);
    ev_timer_start(loop, &s->timer);
}

/* ---- session teardown ---- */

static void kill_session(struct bsess *s, int status, const char *why, bool connect_failed)
{
    if (s->state == BS_DEAD)
        return;
    struct worker *w = s->w;
    const struct cfg_backend *be = s->be;
    bool was_ready = s->state == BS_READY;
    log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 " closed: %s", CFG_BE_ARGS(be), s->id,
             why);
    ev_timer_stop(w->loop, &s->timer);
    sock_close(&s->sock, false);
    s->state = BS_DEAD;
    sync_idle(s);
    stats_backend_conn_closed(w->stats, (long)be->index);
    upool_h2_remove(s);
    s->next_grave = w->up.grave;
    w->up.grave = s;

    struct bstream *held = s->held, *streams = s->streams;
    s->held = s->streams = s->done = NULL;
    s->num_streams = 0;
    while (held) {
        struct bstream *bs = held;
        held = bs->next;
        bstream_orphaned(bs, s, true, was_ready, status, why, connect_failed);
    }
    while (streams) {
        struct bstream *bs = streams;
        streams = bs->next;
        bstream_orphaned(bs, s, false, was_ready, status, why, connect_failed);
    }
    upool_h2_dispatch(w, be);
}

/* ---- sessions ---- */

/* Returns 0, or a negative h2g_err. */
static int write_out(struct bsess *s)
{
    ssize_t n = sock_write(&s->sock, &s->out, WRITE_BUDGET);
    if (n > 0) {
        stats_bytes(s->w->stats, STATS_SIDE_BACKEND, STATS_DIR_OUT, (uint64_t)n);
        s->last_write = ev_now(s->w->loop);
    }
    return n < 0 ? (int)n : 0;
}

static uint32_t capacity(const struct bsess *s)
{
    return nghttp2_session_get_remote_settings(s->h2, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

struct bsess *bsess_new(struct worker *w, const struct cfg_backend *be)
{
    const struct config *cfg = w->cfg;
    struct bsess *s = xcalloc(1, sizeof(*s));
    if (upool_connect(w, be, &s->sock, &sess_sock_handler) < 0) {
        free(s);
        return NULL;
    }
    s->w = w;
    s->be = be;
    s->id = ++w->up.next_sess_id;
    s->state = BS_CONNECTING;
    s->started = s->last_read = s->last_write = s->idle_since = ev_now(w->loop);
    bufq_init(&s->out, &w->pool);
    if (nghttp2_session_client_new2(&s->h2, callbacks, s, w->bsess_option) != 0) {
        log_error("out of memory for an HTTP/2 session");
        abort();
    }
    nghttp2_settings_entry iv[4] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->backend_http2_max_concurrent_streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)cfg->backend_http2_window_size },
    };
    size_t num_iv = 3;
    /* As h2srv_start's: nghttp2's decoder takes it once the backend
     * acknowledged the frame. */
    size_t table = cfg->backend_http2_decoder_dynamic_table_size;
    if (table != NGHTTP2_DEFAULT_HEADER_TABLE_SIZE)
        iv[num_iv++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE,
                                                 table > UINT32_MAX ? UINT32_MAX : (uint32_t)table };
    nghttp2_submit_settings(s->h2, NGHTTP2_FLAG_NONE, iv, num_iv);
    if (cfg->backend_http2_connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        nghttp2_session_set_local_window_size(s->h2, NGHTTP2_FLAG_NONE, 0,
                                              cfg->backend_http2_connection_window_size);
    ev_timer_init(&s->timer, on_timer, cfg->backend_connect_timeout, 0.);
    s->timer.data = s;
    ev_timer_start(w->loop, &s->timer);
    upool_h2_add(s);
    log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 " connecting", CFG_BE_ARGS(be), s->id);
    return s;
}

static void become_ready(struct bsess *s)
{
    struct ev_loop *loop = s->w->loop;
    s->state = BS_READY;
    s->started = s->last_read = s->last_write = ev_now(loop);
    if (s->num_streams == 0)
        s->idle_since = s->started;
    sock_read_start(&s->sock);
    mark_dirty(s);
    rearm(s);
}

/* ---- streams ---- */

/* bs left s without a stream: s may be idle now. */
static void drop_stream(struct bsess *s)
{
    if (--s->num_streams == 0) {
        s->idle_since = ev_now(s->w->loop);
        rearm(s);
    }
}

/* Submits bs's request on s (s has the backend's SETTINGS). */
static void submit(struct bsess *s, struct bstream *bs)
{
    struct xchg *x = bs->up.x;
    if (bs->ws && !nghttp2_session_get_remote_settings(s->h2,
                                                       NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL)) {
        drop_stream(s);
        bs->s = NULL;
        bstream_no_ext_connect(bs);
        return;
    }
    /* req_hdrs lives with bs, until nghttp2 is done with the stream. */
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_nv_add_hdrs(&nv, &bs->req_hdrs, XLATE_ALL,
                      NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
    bool body = !(xchg_req_ended(x) && bufq_len(&x->req_body) == 0 && x->req_trailers.num == 0);
    nghttp2_data_provider prd = { .source.ptr = bs, .read_callback = bstream_read_body };
    int32_t id = nghttp2_submit_request(s->h2, NULL, nv.v, nv.num, body ? &prd : NULL, bs);
    xlate_nv_cleanup(&nv);
    if (id < 0) {
        /* Out of stream ids (or memory): this session takes no more. */
        log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 ": cannot submit: %s",
                 CFG_BE_ARGS(s->be), s->id, nghttp2_strerror(id));
        s->goaway = true;
        s->num_streams--;
        bs->s = NULL;
        int rc = upool_h2_place(s->w, bs, s);
        if (rc != 0)
            bstream_fail(bs, rc == H2G_ERR_BUSY ? 503 : 502, "no backend session", false);
        return;
    }
    bs->stream_id = id;
    bs->prev = NULL;
    bs->next = s->streams;
    if (s->streams)
        s->streams->prev = bs;
    s->streams = bs;
    mark_dirty(s);
}

/* Starts a PING: new streams wait for its ACK. */
static void start_check(struct bsess *s)
{
    s->checking = true;
    s->ping_sent = ev_now(s->w->loop);
    nghttp2_submit_ping(s->h2, NGHTTP2_FLAG_NONE, NULL);
    log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 ": idle, checking with PING",
             CFG_BE_ARGS(s->be), s->id);
    rearm(s);
}

void bsess_assign(struct bsess *s, struct bstream *bs)
{
    bs->s = s;
    s->num_streams++;
    if (!bsess_has_room(s))
        upool_h2_room(s);
    sync_idle(s);
    if (s->state == BS_READY && !s->checking &&
        ev_now(s->w->loop) - s->last_read > CHECK_IDLE)
        start_check(s);
    /* Until the backend's SETTINGS arrive its stream limit is unknown:
     * requests sent before could exceed it. */
    if (s->checking || !s->got_settings) {
        bs->next = s->held;
        s->held = bs;
        mark_dirty(s);
        return;
    }
    submit(s, bs);
}

bool bsess_has_room(const struct bsess *s)
{
    return s->state != BS_DEAD && !s->goaway && s->num_streams < capacity(s);
}

bool bsess_refuses(const struct bsess *s)
{
    return s->state != BS_DEAD && !s->goaway && s->got_settings && capacity(s) == 0;
}

bool bsess_learning(const struct bsess *s)
{
    return s->state != BS_DEAD && !s->goaway && !s->got_settings;
}

/* ---- nghttp2 callbacks: record, never free ---- */

static struct bstream *stream_of(nghttp2_session *h2, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h2, id);
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    struct bstream *bs = stream_of(h2, f->hd.stream_id);
    if (bs)
        bs->status = 0;
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    (void)flags;
    (void)ud;
    struct bstream *bs = stream_of(h2, f->hd.stream_id);
    if (!bs || !bs->up.x)
        return 0;
    return bstream_header(bs, str_make((const char *)name, namelen),
                          str_make((const char *)value, valuelen));
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    struct bsess *s = ud;
    struct bstream *bs = f->hd.stream_id ? stream_of(h2, f->hd.stream_id) : NULL;
    bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (f->hd.type) {
    case NGHTTP2_DATA:
        if (bs && bs->up.x && end) {
            bs->up.x->resp_state = XRESP_END;
            xchg_notify(bs->up.x);
        }
        break;
    case NGHTTP2_HEADERS:
        if (!bs || !bs->up.x)
            break;
        if (!bs->got_head) {
            if (bs->status / 100 == 1) {
                if (bs->status != 100 && !xchg_head_sent(bs->up.x)) {
                    bs->up.x->interim_status = bs->status;
                    xchg_notify(bs->up.x);
                }
                break;
            }
            bstream_head_done(bs);
        }
        if (end)
            bs->up.x->resp_state = XRESP_END;
        xchg_notify(bs->up.x);
        break;
    case NGHTTP2_RST_STREAM:
        stats_rst(s->w->stats, false, f->rst_stream.error_code);
        if (bs) {
            bs->got_rst = true;
            bs->rst_code = f->rst_stream.error_code;
        }
        break;
    case NGHTTP2_GOAWAY:
        stats_goaway(s->w->stats, false, f->goaway.error_code);
        log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 ": GOAWAY (last stream %d, %s)",
                 CFG_BE_ARGS(s->be), s->id, f->goaway.last_stream_id,
                 nghttp2_http2_strerror(f->goaway.error_code));
        s->goaway = true;
        break;
    case NGHTTP2_SETTINGS:
        if (f->hd.flags & NGHTTP2_FLAG_ACK) {
            s->settings_acked = true;
        } else {
            s->got_settings = true;
            s->settings_news = true;
        }
        break;
    case NGHTTP2_PING:
        if ((f->hd.flags & NGHTTP2_FLAG_ACK) && s->checking)
            s->checking = false;
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    struct bstream *bs = stream_of(h2, stream_id);
    struct xchg *x = bs ? bs->up.x : NULL;
    if (!x || x->error_status) {
        /* Nobody will take these bytes: the credit goes back at once. */
        nghttp2_session_consume(h2, stream_id, len);
        return 0;
    }
    bufq_append(&x->resp_body, data, len);
    bs->unconsumed += len;
    xchg_notify(x);
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code,
                           void *ud)
{
    struct bsess *s = ud;
    struct bstream *bs = stream_of(h2, stream_id);
    if (!bs)
        return 0;
    bs->closed = true;
    bs->close_code = error_code;
    push_done(s, bs);
    return 0;
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    struct bsess *s = ud;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        struct bstream *bs = stream_of(h2, f->hd.stream_id);
        if (bs)
            bs->headers_sent = true;
    } else if (f->hd.type == NGHTTP2_RST_STREAM) {
        stats_rst(s->w->stats, true, f->rst_stream.error_code);
    } else if (f->hd.type == NGHTTP2_GOAWAY) {
        stats_goaway(s->w->stats, true, f->goaway.error_code);
    }
    return 0;
}

static int on_frame_not_send(nghttp2_session *h2, const nghttp2_frame *f, int lib_error,
                             void *ud)
{
    (void)h2;
    struct bsess *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    /* The stream was never opened: find it by id. */
    for (struct bstream *bs = s->streams; bs; bs = bs->next) {
        if (bs->stream_id == f->hd.stream_id) {
            log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 " s%d not sent: %s",
                     CFG_BE_ARGS(s->be), s->id, bs->stream_id, nghttp2_strerror(lib_error));
            bs->not_sent = bs->closed = true;
            push_done(s, bs);
            break;
        }
    }
    return 0;
}

static int on_invalid_frame(nghttp2_session *h2, const nghttp2_frame *f, int lib_error,
                            void *ud)
{
    struct bsess *s = ud;
    log_info("backend " CFG_BE_FMT " h2 session %" PRIu64 " s%d: invalid frame type %d: %s",
             CFG_BE_ARGS(s->be), s->id, f->hd.stream_id, f->hd.type,
             nghttp2_strerror(lib_error));
    struct bstream *bs = f->hd.stream_id ? stream_of(h2, f->hd.stream_id) : NULL;
    if (bs && !bs->why)
        bs->why = "malformed response";
    return 0;
}

/* ---- after nghttp2 returns: act on what the callbacks recorded ---- */

static void process_done(struct bsess *s)
{
    struct worker *w = s->w;
    bool freed = false;
    while (s->done) {
        struct bstream *bs = s->done;
        s->done = bs->next_done;
        bs->in_done = false;
        /* O(1): a session may carry hundreds of streams. */
        if (bs->prev)
            bs->prev->next = bs->next;
        else
            s->streams = bs->next;
        if (bs->next)
            bs->next->prev = bs->prev;
        bs->next = bs->prev = NULL;
        s->num_streams--;
        freed = true;
        if (bs->unconsumed) {
            nghttp2_session_consume_connection(s->h2, bs->unconsumed);
            bs->unconsumed = 0;
        }
        bstream_done(s, bs);
    }
    if (freed) {
        if (s->num_streams == 0) {
            s->idle_since = ev_now(w->loop);
            rearm(s);
        }
        upool_h2_room(s);
        upool_h2_dispatch(w, s->be);
    }
}

static void after_nghttp2(struct bsess *s)
{
    if (s->state == BS_DEAD)
        return;
    if (s->fatal) {
        kill_session(s, 502, s->fatal, false);
        return;
    }
    if (!s->checking && s->got_settings && s->held) {
        struct bstream *held = s->held;
        s->held = NULL;
        /* Oldest first. */
        struct bstream *rev = NULL;
        while (held) {
            struct bstream *n = held->next;
            held->next = rev;
            rev = held;
            held = n;
        }
        /* Past the backend's limit they wait in the queue, where
         * --backend-connect-timeout applies, not inside nghttp2. */
        size_t room = capacity(s);
        size_t open = s->num_streams;
        for (struct bstream *b = rev; b; b = b->next)
            open--;
        while (rev) {
            struct bstream *bs = rev;
            rev = bs->next;
            bs->next = NULL;
            if (!bs->up.x) {
                s->num_streams--;
                bstream_free(bs);
                continue;
            }
            if (open >= room) {
                s->num_streams--;
                upool_h2_enqueue(s->w, bs);
                continue;
            }
            open++;
            submit(s, bs);
        }
        upool_h2_room(s);
        rearm(s);
    }
    process_done(s);
    if (s->settings_news && s->state == BS_READY) {
        s->settings_news = false;
        upool_h2_room(s);
        upool_h2_dispatch(s->w, s->be);
    }
    mark_dirty(s);
}

/* The connect and the TLS handshake (ALPN h2) are over. */
static void on_ready(struct sock *sk, int err, const char *why, int sys_errno)
{
    struct bsess *s = container_of(sk, struct bsess, sock);
    char detail[192];
    const char *bad = NULL;
    if (!err && sk->ssl &&
        (bad = tls_h2_backend_refusal(sk->ssl, s->w->cfg->client_no_http2_cipher_block_list,
                                      detail, sizeof(detail)))) {
        log_warn("backend " CFG_BE_FMT ": %s", CFG_BE_ARGS(s->be), detail);
        err = H2G_ERR_PROTO;
        why = bad;
    }
    upool_connect_done(s->w, s->be, err, why, s->started);
    if (err == 0)
        become_ready(s);
    else
        kill_session(s, 502, why, sys_errno != 0);
}

static void on_readable(struct sock *sk)
{
    struct bsess *s = container_of(sk, struct bsess, sock);
    struct worker *w = s->w;
    struct ev_loop *loop = w->loop;
    for (int i = 0; i < READ_BATCH && s->state == BS_READY; i++) {
        ssize_t n = sock_read(sk, w->scratch, BUF_RECORD_SIZE);
        if (n == 0)
            break;
        if (n < 0) {
            s->lost = true;
            kill_session(s, 502,
                         s->goaway ? "backend closed the session after GOAWAY"
                                   : "backend closed the connection",
                         false);
            return;
        }
        s->last_read = ev_now(loop);
        stats_bytes(w->stats, STATS_SIDE_BACKEND, STATS_DIR_IN, (uint64_t)n);
        ssize_t rv = nghttp2_session_mem_recv(s->h2, (const uint8_t *)w->scratch, (size_t)n);
        if (rv < 0) {
            kill_session(s, 502, nghttp2_strerror((int)rv), false);
            return;
        }
        after_nghttp2(s);
        if (s->state != BS_READY)
            return;
        if ((size_t)n < BUF_RECORD_SIZE && !sk->ssl)
            break;
    }
    if (s->state == BS_READY && sock_read_pending(sk))
        ev_feed_event(loop, &sk->rev, EV_READ);
    mark_dirty(s);
}

static void on_writable(struct sock *sk)
{
    mark_dirty(container_of(sk, struct bsess, sock));
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct bsess *s = t->data;
    const struct config *cfg = s->w->cfg;
    double now = ev_now(loop);
    if (s->state == BS_DEAD)
        return;
    if (s->state != BS_READY) {
        if (now >= s->started + cfg->backend_connect_timeout) {
            stats_backend_timeout(s->w->stats, (long)s->be->index);
            kill_session(s, 504, "connect timed out", false);
            return;
        }
        rearm(s);
        return;
    }
    if (!s->settings_acked && now >= s->started + cfg->backend_http2_settings_timeout) {
        kill_session(s, 502, "no SETTINGS acknowledgement in time", false);
        return;
    }
    if (s->checking && now >= s->ping_sent + ping_timeout(cfg)) {
        kill_session(s, 502, "no PING acknowledgement: session dead", false);
        return;
    }
    /* A backend that stops reading would pin the session and its streams:
     * output pending with no write progress is a timeout, as for HTTP/1.1
     * backends (bconn.c), 504. */
    if (bufq_len(&s->out) && now >= s->last_write + upool_write_timeout(s->w, s->be)) {
        stats_backend_timeout(s->w->stats, (long)s->be->index);
        kill_session(s, 504, "write timed out", false);
        return;
    }
    if (s->num_streams == 0) {
        if (now >= s->idle_since + upool_keep_alive(s->w, s->be)) {
            kill_session(s, 502, "idle", false);
            return;
        }
    } else if (now >= s->last_read + upool_read_timeout(s->w, s->be)) {
        /* Streams paused for slow clients do not count against the
         * backend. */
        for (struct bstream *bs = s->streams; bs; bs = bs->next) {
            if (blocked_on_client(bs)) {
                s->last_read = now;
                break;
            }
        }
        if (now >= s->last_read + upool_read_timeout(s->w, s->be)) {
            stats_backend_timeout(s->w->stats, (long)s->be->index);
            kill_session(s, 504, "read timed out", false);
            return;
        }
    }
    rearm(s);
}

static void sess_flush(struct bsess *s)
{
    if (s->state != BS_READY)
        return;
    for (int round = 0; round < 4; round++) {
        while (bufq_len(&s->out) < OUT_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(s->h2, &data);
            if (n < 0) {
                kill_session(s, 502, nghttp2_strerror((int)n), false);
                return;
            }
            if (n == 0)
                break;
            /* The write clock starts when output becomes pending. */
            if (bufq_len(&s->out) == 0)
                s->last_write = ev_now(s->w->loop);
            bufq_append(&s->out, data, (size_t)n);
        }
        s->dirty = true; /* keep after_nghttp2 from listing us again */
        after_nghttp2(s);
        s->dirty = false;
        if (s->state != BS_READY)
            return;
        if (!nghttp2_session_want_write(s->h2) || bufq_len(&s->out) >= OUT_HIGH)
            break;
    }
    if (write_out(s) < 0) {
        /* A backend that sent GOAWAY and closed said which streams it
         * took: read that first, so the others are retried. */
        on_readable(&s->sock);
        s->lost = true;
        kill_session(s, 502, "write error", false);
        return;
    }
    if (!sock_write_blocked(&s->sock) &&
        (bufq_len(&s->out) || nghttp2_session_want_write(s->h2))) {
        mark_dirty(s);
        return;
    }
    if (bufq_len(&s->out)) {
        /* The socket blocked: the timer may be set for a later read or
         * idle deadline. Re-armed once per blocking, not per write. */
        if (!s->write_wait) {
            s->write_wait = true;
            rearm(s);
        }
        return;
    }
    s->write_wait = false;
    if (!nghttp2_session_want_read(s->h2) && !nghttp2_session_want_write(s->h2))
        kill_session(s, 502, "session finished", false);
    else if (s->goaway && s->num_streams == 0)
        kill_session(s, 502, "GOAWAY and no streams left", false);
}

void bsess_cancel(struct bsess *s, struct bstream *bs)
{
    if (unlink_stream(&s->held, bs)) {
        bstream_free(bs);
        drop_stream(s);
        return;
    }
    /* Submitted: the stream is freed once nghttp2 has closed it. */
    if (bs->unconsumed) {
        nghttp2_session_consume(s->h2, bs->stream_id, bs->unconsumed);
        bs->unconsumed = 0;
    }
    if (!bs->closed)
        nghttp2_submit_rst_stream(s->h2, NGHTTP2_FLAG_NONE, bs->stream_id, NGHTTP2_CANCEL);
    mark_dirty(s);
}

void bsess_mark(struct bsess *s)
{
    mark_dirty(s);
}

/* ---- the module's interface ---- */

static void init_callbacks(void)
{
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, on_frame_not_send);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, on_invalid_frame);
    nghttp2_session_callbacks_set_send_data_callback(callbacks, bstream_send_data);
}

void bsess_global_init(void)
{
    pthread_once(&init_once, init_callbacks);
}

nghttp2_option *bsess_option_new(const struct config *cfg)
{
    nghttp2_option *option;
    if (nghttp2_option_new(&option) != 0) {
        log_error("out of memory for HTTP/2 session options");
        abort();
    }
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_option_set_no_closed_streams(option, 1);
    /* Before the backend's SETTINGS arrive, assume the RFC's recommended
     * minimum rather than "unlimited". */
    nghttp2_option_set_peer_max_concurrent_streams(option, 100);
    nghttp2_option_set_max_continuations(option, 8);
    nghttp2_option_set_max_settings(option, 32);
    nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
    /* The smaller of this and the backend's SETTINGS_HEADER_TABLE_SIZE. */
    nghttp2_option_set_max_deflate_dynamic_table_size(
        option, cfg->backend_http2_encoder_dynamic_table_size);
    return option;
}

void bsess_close(struct bsess *s, const char *why)
{
    kill_session(s, 502, why, false);
}

bool bsess_flush_all(struct worker *w)
{
    struct upool *p = &w->up;
    struct bsess *list = p->dirty;
    p->dirty = NULL;
    while (list) {
        struct bsess *s = list;
        list = s->next_dirty;
        s->dirty = false;
        s->next_dirty = NULL;
        sess_flush(s);
    }
    return p->dirty != NULL;
}

void bsess_reap(struct worker *w)
{
    struct upool *p = &w->up;
    while (p->grave) {
        struct bsess *s = p->grave;
        p->grave = s->next_grave;
        if (s->dirty) {
            for (struct bsess **pp = &p->dirty; *pp; pp = &(*pp)->next_dirty) {
                if (*pp == s) {
                    *pp = s->next_dirty;
                    break;
                }
            }
        }
        /* Streams nghttp2 still knows point at nothing we will touch. */
        nghttp2_session_del(s->h2);
        bufq_cleanup(&s->out);
        size_t slot = s->be->index;
        free(s);
        upool_unhold(w, slot); /* held since upool_connect */
    }
}
