/* origin: the demo, test and benchmark origin server behind h2gate.
 *
 * Usage: origin [-a ADDR] [-p PORT] [-t THREADS] [--h2c] [--h2c-port PORT]
 *               [--count-file PATH] [--down-file PATH] [--delay-all MS]
 *               [--unix PATH]
 *
 * Listens on ADDR:PORT (default 127.0.0.1:8080) and, with --h2c-port, on a
 * second port that behaves the same; with --unix, on the UNIX domain socket
 * PATH instead (one thread; PATH must not exist, and is removed at exit). Every port serves HTTP/1.1 (keep-alive,
 * pipelining, chunked request bodies) and HTTP/2 over cleartext with prior
 * knowledge: a connection whose first 24 bytes are the HTTP/2 client preface
 * is HTTP/2, anything else is HTTP/1.1. --h2c is accepted and does nothing.
 * With -t N, N threads each run their own libev loop on their own
 * SO_REUSEPORT listener.
 *
 * Endpoints (any method unless said; HEAD gets the headers without a body):
 *   GET /            200 "h2gate demo origin\n", text/plain
 *   GET /size/N      200, N bytes of a fixed 64 KiB pattern (16-byte lines
 *                    "%015x\n" of the offset), streamed, never allocated
 *   POST or PUT *    200 echoing the request body as it arrives; bounded
 *                    memory: HTTP/1.1 stops reading while the reply is
 *                    backed up, HTTP/2 returns flow-control credit only for
 *                    bytes sent. Content-Length when the request had one,
 *                    else chunked (HTTP/1.1) or none (HTTP/2).
 *   GET /delay/MS    200 "ok\n" after MS milliseconds
 *   GET /headers     200, body: one "name: value\n" line per request header
 *                    field as received (HTTP/2 includes pseudo-headers)
 *   GET /status/NNN  status NNN (200..599), body "NNN Reason\n", no body
 *                    and no Content-Length for 204 and 304
 *   GET /stall       200 headers with Content-Length: 100, then nothing
 *   GET /close       closes the connection without answering
 *   anything else    404
 *
 * Prints nothing per request. --count-file PATH: after every accept, PATH
 * holds the number of connections accepted so far (replaced atomically).
 * --delay-all MS: every answer but an echo (and /close) is held MS
 * milliseconds before it starts, with the timer /delay/MS uses (on top of
 * it for /delay/MS): a slow member of a backend group (bench/lb). An
 * HTTP/1.1 connection answers one request per MS then (no pipelining past
 * a held answer); HTTP/2 streams are held side by side.
 * SIGTERM or SIGINT: closes everything and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>
#include <http_parser.h>
#include <nghttp2/nghttp2.h>

#include "common/buf.h"
#include "common/str.h"
#include "common/xalloc.h"

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define NO_LEN UINT64_MAX

enum {
    READ_SIZE = 65536,          /* one read(2) into the worker's scratch block */
    PATTERN_SIZE = 65536,       /* period of the /size body */
    OUT_HWM = 256 * 1024,       /* above this many queued output bytes: stop
                                   reading and stop producing HTTP/2 frames */
    IN_MAX = 64 * 1024,         /* unparsed HTTP/1.1 input kept while a
                                   response is pending (pipelining) */
    HEAD_MAX = 64 * 1024,       /* request target plus recorded header lines */
    URL_MAX = 8192,
    SMALL_SIZE_MAX = 16384,     /* /size bodies up to this are copied into the
                                   output queue; larger ones go out by writev
                                   straight from the pattern (HTTP/1.1) */
    MAX_STREAMS = 1000,
    STREAM_WINDOW = 1 << 20,
    CONN_WINDOW = 16 << 20,
    POOL_MAX_FREE = 512,
    WRITE_IOV = 64,
    WRITE_MAX = 1 << 20,        /* bytes offered to one writev */
    ACCEPT_BATCH = 64,
    MAX_THREADS = 64,
    MAX_DELAY_MS = 3600 * 1000,
};

/* ---- process-wide, read-only after startup ----------------------------- */

static char pattern[PATTERN_SIZE];
static nghttp2_session_callbacks *h2_callbacks;
static nghttp2_option *h2_option;
static const char *count_path;
static atomic_ulong num_accepted;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- routing (pure) ------------------------------------------------------ */

enum action { ACT_TEXT, ACT_SIZE, ACT_ECHO, ACT_DELAY, ACT_HEADERS, ACT_STALL, ACT_CLOSE };

struct route {
    enum action act;
    int status;          /* ACT_TEXT */
    uint64_t num;        /* ACT_SIZE bytes, ACT_DELAY milliseconds */
    size_t text_len;
    char text[48];       /* ACT_TEXT body */
};

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static bool status_has_body(int status)
{
    return status != 204 && status != 304;
}

static struct route route_text(int status, const char *text)
{
    struct route r = { .act = ACT_TEXT, .status = status };
    if (text)
        r.text_len = (size_t)snprintf(r.text, sizeof(r.text), "%s", text);
    else
        r.text_len = (size_t)snprintf(r.text, sizeof(r.text), "%d %s\n", status, reason(status));
    return r;
}

/* Parses all of s as a decimal number no larger than max. */
static bool parse_u64(struct str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 20)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* "ADDR:PORT\n" of the listening socket, or "unix:PATH\n": /whoami tells
 * members apart. */
static char whoami[128];
static const char *unix_path; /* --unix */
/* --down-file: /health answers 503 while this file exists, else 200. */
static const char *down_path;
/* --delay-all: milliseconds every answer is held (0: none). */
static uint64_t delay_all_ms;

/* Whether --delay-all holds the answer to r: not an echo, which streams
 * as the body arrives, and not /close, which has no answer. */
static bool held_by_delay_all(const struct route *r)
{
    return delay_all_ms > 0 && r->act != ACT_ECHO && r->act != ACT_CLOSE;
}

/* Picks the answer for method and path (query already cut off). */
static struct route route_request(struct str method, struct str path)
{
    struct route r = { .act = ACT_TEXT };
    uint64_t n;

    if (str_eq(method, STR_LIT("POST")) || str_eq(method, STR_LIT("PUT"))) {
        r.act = ACT_ECHO;
        return r;
    }
    if (str_eq(method, STR_LIT("CONNECT")))
        return route_text(405, NULL);
    if (str_eq(path, STR_LIT("/")))
        return route_text(200, "h2gate demo origin\n");
    if (str_has_prefix(path, STR_LIT("/size/")) &&
        parse_u64(str_make(path.p + 6, path.len - 6), UINT64_MAX / 2, &n)) {
        r.act = ACT_SIZE;
        r.num = n;
        return r;
    }
    if (str_has_prefix(path, STR_LIT("/delay/")) &&
        parse_u64(str_make(path.p + 7, path.len - 7), MAX_DELAY_MS, &n)) {
        r.act = ACT_DELAY;
        r.num = n;
        return r;
    }
    if (str_eq(path, STR_LIT("/whoami")))
        return route_text(200, whoami);
    if (str_eq(path, STR_LIT("/health")))
        return route_text(down_path && access(down_path, F_OK) == 0 ? 503 : 200, NULL);
    if (str_eq(path, STR_LIT("/headers"))) {
        r.act = ACT_HEADERS;
        return r;
    }
    if (str_has_prefix(path, STR_LIT("/status/"))) {
        if (parse_u64(str_make(path.p + 8, path.len - 8), 599, &n) && n >= 200)
            return route_text((int)n, NULL);
        return route_text(400, NULL);
    }
    if (str_eq(path, STR_LIT("/stall"))) {
        r.act = ACT_STALL;
        return r;
    }
    if (str_eq(path, STR_LIT("/close"))) {
        r.act = ACT_CLOSE;
        return r;
    }
    return route_text(404, NULL);
}

static struct str cut_query(struct str path)
{
    const char *q = memchr(path.p, '?', path.len);
    if (q)
        path.len = (size_t)(q - path.p);
    return path;
}

/* ---- objects --------------------------------------------------------------- */

struct worker {
    struct ev_loop *loop;
    pthread_t thread;
    int num_lfds;
    int lfds[2];
    ev_io accept_io[2];
    ev_timer accept_pause;   /* out of descriptors: retry accepting later */
    ev_async stop_async;
    ev_signal sig_term, sig_int;   /* worker 0 only */
    struct buf_pool pool;
    struct conn *conns;
    char scratch[READ_SIZE];
};

enum proto { PROTO_UNKNOWN, PROTO_H1, PROTO_H2 };

enum h1_state { H1_URL, H1_FIELD, H1_VALUE };

struct h1 {
    http_parser parser;
    struct bufq head;        /* request target, then "name: value\n" lines */
    size_t url_len;
    enum h1_state state;
    bool head_over;          /* target + headers over HEAD_MAX */
    char field[8];           /* first bytes of the current field name */
    size_t field_len;
    char value[16];          /* first bytes of an Expect value */
    size_t value_len;
    bool field_expect, expect_continue;
    struct route route;
    bool head_req, keep_alive;
    bool echo, echo_chunked; /* this request's body is being echoed */
    bool waiting;            /* parser paused until the response is queued */
    bool active;             /* the response is not completely queued yet */
    bool held;               /* --delay-all: the delay timer runs, then dispatch */
    bool close_after;        /* close once everything queued is written */
    uint64_t size_left;      /* pattern bytes that follow the output queue */
    size_t size_off;
    ev_timer delay;
};

enum src { SRC_NONE, SRC_PATTERN, SRC_QUEUE, SRC_STALL };

struct stream {
    struct conn *c;
    struct stream *prev, *next;
    int32_t id;
    char method[16];
    size_t method_len;       /* > sizeof(method): a long method we ignore */
    char *path;              /* NUL-terminated copy of :path, or NULL */
    struct bufq hdrs;        /* "name: value\n" lines, for /headers */
    struct bufq body;        /* echo or text bytes not yet framed */
    uint64_t clen;           /* request content-length, or NO_LEN */
    uint64_t left;           /* SRC_PATTERN bytes not yet framed */
    size_t off;
    enum src src;
    bool echo;               /* body bytes get flow-control credit once sent */
    bool req_ended;
    bool head_req;
    bool held;               /* --delay-all: the delay timer runs, then dispatch */
    struct route route;
    ev_timer delay;
};

struct conn {
    struct worker *w;
    struct conn *prev, *next;
    int fd;
    ev_io io;
    int io_events;
    enum proto proto;
    bool closing;            /* torn down by conn_settle, nowhere else */
    bool read_eof;
    struct bufq in;          /* undecided preface bytes, or unparsed HTTP/1.1 */
    struct bufq out;
    struct h1 h1;
    nghttp2_session *session;
    struct stream *streams;
};

static void conn_settle(struct conn *c);

/* ---- HTTP/1.1 ------------------------------------------------------------ */

static struct conn *parser_conn(http_parser *p)
{
    return container_of(p, struct conn, h1.parser);
}

static void h1_pause(struct conn *c)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&c->h1.parser);
    c->h1.waiting = true;
    /* http_parser asserts when paused in an error state. */
    if (e == HPE_OK || e == HPE_PAUSED)
        http_parser_pause(&c->h1.parser, 1);
}

/* Queues a status line and headers. clen NO_LEN: no Content-Length. */
static void h1_queue_head(struct conn *c, int status, const char *ctype, uint64_t clen,
                          bool chunked)
{
    struct h1 *h = &c->h1;
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nServer: h2gate-origin\r\n", status,
                     reason(status));
    if (ctype)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (clen != NO_LEN)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Content-Length: %" PRIu64 "\r\n", clen);
    if (chunked)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Transfer-Encoding: chunked\r\n");
    if (!h->keep_alive || h->close_after)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Connection: close\r\n");
    else if (h->parser.http_major == 1 && h->parser.http_minor == 0)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Connection: keep-alive\r\n");
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
    bufq_append(&c->out, buf, (size_t)n);
}

static void h1_queue_text(struct conn *c, const struct route *r)
{
    bool body = status_has_body(r->status);
    h1_queue_head(c, r->status, body ? "text/plain" : NULL, body ? r->text_len : NO_LEN, false);
    if (body && !c->h1.head_req)
        bufq_append(&c->out, r->text, r->text_len);
}

/* The request cannot be answered normally: answer status (when nothing is
 * being sent yet) and close. */
static void h1_fail(struct conn *c, int status)
{
    struct h1 *h = &c->h1;
    if (h->echo || h->active || h->close_after) {
        c->closing = true;
        return;
    }
    h->keep_alive = false;
    h->close_after = true;
    h->head_req = false;
    struct route r = route_text(status, NULL);
    h1_queue_text(c, &r);
    h1_pause(c);
}

static int h1_on_message_begin(http_parser *p)
{
    struct h1 *h = &parser_conn(p)->h1;
    bufq_cleanup(&h->head);
    h->url_len = 0;
    h->state = H1_URL;
    h->head_over = false;
    h->field_len = 0;
    h->expect_continue = false;
    h->field_expect = false;
    h->echo = false;
    h->echo_chunked = false;
    return 0;
}

static void h1_record(struct h1 *h, const char *at, size_t len)
{
    if (h->head_over || bufq_len(&h->head) + len > HEAD_MAX) {
        h->head_over = true;
        return;
    }
    bufq_append(&h->head, at, len);
}

static int h1_on_url(http_parser *p, const char *at, size_t len)
{
    struct h1 *h = &parser_conn(p)->h1;
    if (!h->head_over)
        h->url_len += len;
    h1_record(h, at, len);
    return 0;
}

/* A header line (field and value) just ended. */
static void h1_end_line(struct h1 *h)
{
    h1_record(h, "\n", 1);
    if (h->field_expect && h->value_len == 12 && strncasecmp(h->value, "100-continue", 12) == 0)
        h->expect_continue = true;
    h->field_expect = false;
}

static int h1_on_header_field(http_parser *p, const char *at, size_t len)
{
    struct h1 *h = &parser_conn(p)->h1;
    if (h->state != H1_FIELD) {
        if (h->state == H1_VALUE)
            h1_end_line(h);
        h->field_len = 0;
        h->state = H1_FIELD;
    }
    for (size_t i = 0; i < len && h->field_len + i < sizeof(h->field); i++)
        h->field[h->field_len + i] = at[i];
    h->field_len += len;
    h1_record(h, at, len);
    return 0;
}

static int h1_on_header_value(http_parser *p, const char *at, size_t len)
{
    struct h1 *h = &parser_conn(p)->h1;
    if (h->state != H1_VALUE) {
        h1_record(h, ": ", 2);
        h->field_expect = h->field_len == 6 && strncasecmp(h->field, "expect", 6) == 0;
        h->value_len = 0;
        h->state = H1_VALUE;
    }
    if (h->field_expect) {
        for (size_t i = 0; i < len && h->value_len + i < sizeof(h->value); i++)
            h->value[h->value_len + i] = at[i];
        h->value_len += len;
    }
    h1_record(h, at, len);
    return 0;
}

static int h1_on_headers_complete(http_parser *p)
{
    struct conn *c = parser_conn(p);
    struct h1 *h = &c->h1;
    if (h->state == H1_VALUE)
        h1_end_line(h);
    h->state = H1_URL;
    /* After CONNECT http_parser treats the rest as tunnel bytes: close. */
    h->keep_alive = http_should_keep_alive(p) != 0 && p->method != HTTP_CONNECT;
    h->head_req = p->method == HTTP_HEAD;
    if (h->url_len > URL_MAX) {
        h1_fail(c, 414);
        return 0;
    }
    if (h->head_over) {
        h1_fail(c, 431);
        return 0;
    }

    char url[URL_MAX];
    size_t url_len = bufq_read(&h->head, url, h->url_len);
    struct str path = str_make(url, url_len);
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, url_len, p->method == HTTP_CONNECT, &u) == 0) {
        if (u.field_set & (1 << UF_PATH))
            path = str_make(url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
        else
            path = STR_LIT("/");
    }
    h->route = route_request(str_cstr(http_method_str((enum http_method)p->method)),
                             cut_query(path));

    if (h->route.act == ACT_ECHO) {
        h->echo = true;
        h->echo_chunked = (p->flags & F_CHUNKED) != 0;
        if (h->expect_continue && p->http_major == 1 && p->http_minor >= 1)
            bufq_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        uint64_t clen = 0;
        if (!h->echo_chunked && p->content_length != ULLONG_MAX)
            clen = p->content_length;
        h1_queue_head(c, 200, "application/octet-stream", h->echo_chunked ? NO_LEN : clen,
                      h->echo_chunked);
    }
    if (h->route.act != ACT_HEADERS)
        bufq_cleanup(&h->head);
    return 0;
}

static int h1_on_body(http_parser *p, const char *at, size_t len)
{
    struct conn *c = parser_conn(p);
    if (!c->h1.echo || len == 0)
        return 0;
    if (c->h1.echo_chunked) {
        char hdr[24];
        int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
        bufq_append(&c->out, hdr, (size_t)n);
        bufq_append(&c->out, at, len);
        bufq_append(&c->out, "\r\n", 2);
    } else {
        bufq_append(&c->out, at, len);
    }
    return 0;
}

/* Queues the answer to a complete non-echo request (after --delay-all). */
static void h1_answer(struct conn *c)
{
    struct h1 *h = &c->h1;
    struct route *r = &h->route;
    switch (r->act) {
    case ACT_TEXT:
        h1_queue_text(c, r);
        break;
    case ACT_SIZE:
        h1_queue_head(c, 200, "application/octet-stream", r->num, false);
        if (h->head_req || r->num == 0)
            break;
        if (r->num <= SMALL_SIZE_MAX) {
            bufq_append(&c->out, pattern, (size_t)r->num);
        } else {
            h->size_left = r->num;
            h->size_off = 0;
            h->active = true;
        }
        break;
    case ACT_DELAY:
        ev_timer_set(&h->delay, (double)r->num / 1000.0, 0.0);
        ev_timer_start(c->w->loop, &h->delay);
        h->active = true;
        break;
    case ACT_HEADERS:
        h1_queue_head(c, 200, "text/plain", bufq_len(&h->head), false);
        if (!h->head_req)
            bufq_move(&c->out, &h->head);
        break;
    case ACT_STALL:
        h1_queue_head(c, 200, "application/octet-stream", 100, false);
        h->active = true; /* for good: only the peer's close ends it */
        break;
    case ACT_CLOSE:
        h->close_after = true;
        break;
    case ACT_ECHO:
        break;
    }
}

/* Answers a complete non-echo request now, or starts the --delay-all
 * timer (on_h1_delay answers then). */
static void h1_dispatch(struct conn *c)
{
    struct h1 *h = &c->h1;
    if (held_by_delay_all(&h->route)) {
        h->held = true;
        ev_timer_set(&h->delay, (double)delay_all_ms / 1000.0, 0.0);
        ev_timer_start(c->w->loop, &h->delay);
        h->active = true;
        return;
    }
    h1_answer(c);
}

static int h1_on_message_complete(http_parser *p)
{
    struct conn *c = parser_conn(p);
    struct h1 *h = &c->h1;
    if (h->echo) {
        if (h->echo_chunked)
            bufq_append(&c->out, "0\r\n\r\n", 5);
        h->echo = false;
    } else if (!h->close_after) {
        h1_dispatch(c);
    }
    if (!h->held) /* a held /headers answers from it later */
        bufq_cleanup(&h->head);
    if (!h->keep_alive)
        h->close_after = true;
    if (h->active || h->close_after)
        h1_pause(c);
    return 0;
}

static const http_parser_settings h1_settings = {
    .on_message_begin = h1_on_message_begin,
    .on_url = h1_on_url,
    .on_header_field = h1_on_header_field,
    .on_header_value = h1_on_header_value,
    .on_headers_complete = h1_on_headers_complete,
    .on_body = h1_on_body,
    .on_message_complete = h1_on_message_complete,
};

/* Parses len bytes; returns how many were used. Stops early when a
 * callback paused the parser; input after a parse error is dropped. */
static size_t h1_execute(struct conn *c, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len && !c->closing && !c->h1.waiting) {
        size_t n = http_parser_execute(&c->h1.parser, &h1_settings, data + off, len - off);
        off += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->h1.parser);
        if (e == HPE_PAUSED)
            break;
        if (e != HPE_OK) {
            h1_fail(c, 400);
            return len;
        }
        /* n < len without an error: an Upgrade or CONNECT request ended;
         * we never switch protocols, so go on parsing. */
        if (n == 0)
            return len;
    }
    return off;
}

/* Unpauses the parser once the pending response is queued, and parses
 * what input was kept meanwhile. */
static void h1_resume(struct conn *c)
{
    struct h1 *h = &c->h1;
    if (h->waiting) {
        if (h->active || h->close_after)
            return;
        h->waiting = false;
        http_parser_pause(&h->parser, 0);
    }
    while (!h->waiting && !c->closing && bufq_len(&c->in)) {
        struct buf_block *b = c->in.head;
        size_t used = h1_execute(c, b->data + b->start, b->end - b->start);
        bufq_drain(&c->in, used);
    }
}

static void on_h1_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct conn *c = container_of(w, struct conn, h1.delay);
    c->h1.active = false;
    if (c->h1.held) {
        c->h1.held = false;
        h1_answer(c); /* may start /delay/MS's timer in turn */
    } else {
        struct route r = route_text(200, "ok\n");
        h1_queue_text(c, &r);
    }
    conn_settle(c);
}

/* ---- HTTP/2 ---------------------------------------------------------------- */

static void stream_free(struct conn *c, struct stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ev_timer_stop(c->w->loop, &s->delay);
    bufq_cleanup(&s->hdrs);
    bufq_cleanup(&s->body);
    free(s->path);
    free(s);
}

static ssize_t h2_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)buf;
    (void)user_data;
    struct stream *s = source->ptr;
    size_t n = 0;
    /* Only decide here; h2_send_data, called next for this same frame,
     * moves the bytes and advances the source. */
    switch (s->src) {
    case SRC_PATTERN:
        n = s->left < length ? (size_t)s->left : length;
        if (n == s->left)
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        break;
    case SRC_QUEUE: {
        size_t avail = bufq_len(&s->body);
        bool done = !s->echo || s->req_ended;
        n = avail < length ? avail : length;
        if (n == 0 && !done)
            return NGHTTP2_ERR_DEFERRED;
        if (done && n == avail)
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        break;
    }
    case SRC_STALL:
        return NGHTTP2_ERR_DEFERRED;
    case SRC_NONE:
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        break;
    }
    if (n)
        *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    return (ssize_t)n;
}

static int h2_send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *source, void *user_data)
{
    struct conn *c = user_data;
    struct stream *s = source->ptr;
    size_t padlen = frame->data.padlen;
    bufq_append(&c->out, framehd, 9);
    if (padlen > 0) {
        uint8_t b = (uint8_t)(padlen - 1);
        bufq_append(&c->out, &b, 1);
    }
    if (s->src == SRC_PATTERN) {
        size_t todo = length;
        while (todo) {
            size_t n = PATTERN_SIZE - s->off;
            if (n > todo)
                n = todo;
            bufq_append(&c->out, pattern + s->off, n);
            s->off = (s->off + n) % PATTERN_SIZE;
            todo -= n;
        }
        s->left -= length;
    } else if (s->src == SRC_QUEUE) {
        size_t todo = length;
        while (todo) {
            struct buf_block *b = s->body.head;
            size_t n = b->end - b->start;
            if (n > todo)
                n = todo;
            bufq_append(&c->out, b->data + b->start, n);
            bufq_drain(&s->body, n);
            todo -= n;
        }
        if (s->echo)
            nghttp2_session_consume(session, s->id, length);
    }
    if (padlen > 1) {
        static const uint8_t zeros[256];
        bufq_append(&c->out, zeros, padlen - 1);
    }
    return 0;
}

/* clen NO_LEN: no content-length; body false: HEADERS ends the stream. */
static void h2_respond(struct conn *c, struct stream *s, int status, const char *ctype,
                       uint64_t clen, bool body)
{
    char sbuf[8], lbuf[24];
    nghttp2_nv nv[4];
    size_t n = 0;
    int slen = snprintf(sbuf, sizeof(sbuf), "%d", status);
    nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)sbuf, 7, (size_t)slen,
                            NGHTTP2_NV_FLAG_NO_COPY_NAME };
    nv[n++] = (nghttp2_nv){ (uint8_t *)"server", (uint8_t *)"h2gate-origin", 6, 13,
                            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE };
    if (ctype)
        nv[n++] = (nghttp2_nv){ (uint8_t *)"content-type", (uint8_t *)ctype, 12, strlen(ctype),
                                NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE };
    if (clen != NO_LEN) {
        int llen = snprintf(lbuf, sizeof(lbuf), "%" PRIu64, clen);
        nv[n++] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)lbuf, 14, (size_t)llen,
                                NGHTTP2_NV_FLAG_NO_COPY_NAME };
    }
    nghttp2_data_provider prd = { .source.ptr = s, .read_callback = h2_read_body };
    if (nghttp2_submit_response(c->session, s->id, nv, n, body ? &prd : NULL) != 0)
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
}

static void h2_respond_text(struct conn *c, struct stream *s, const struct route *r)
{
    bool body = status_has_body(r->status);
    if (body && !s->head_req) {
        s->src = SRC_QUEUE;
        bufq_append(&s->body, r->text, r->text_len);
    }
    h2_respond(c, s, r->status, body ? "text/plain" : NULL, body ? r->text_len : NO_LEN,
               body && !s->head_req);
}

static void h2_answer(struct conn *c, struct stream *s);

static void on_h2_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct stream *s = container_of(w, struct stream, delay);
    struct conn *c = s->c;
    if (s->held) {
        s->held = false;
        h2_answer(c, s); /* may start /delay/MS's timer in turn */
    } else {
        struct route r = route_text(200, "ok\n");
        h2_respond_text(c, s, &r);
    }
    conn_settle(c);
}

/* Routes a request whose headers are in, then answers it now or starts
 * the --delay-all timer (on_h2_delay answers then). */
static void h2_dispatch(struct conn *c, struct stream *s)
{
    struct str method = s->method_len <= sizeof(s->method)
                            ? str_make(s->method, s->method_len) : STR_LIT("-");
    struct str path = s->path ? cut_query(str_cstr(s->path)) : STR_LIT("");
    struct route *r = &s->route;
    *r = route_request(method, path);
    s->head_req = str_eq(method, STR_LIT("HEAD"));
    if (r->act != ACT_HEADERS && r->act != ACT_ECHO)
        bufq_cleanup(&s->hdrs);
    if (held_by_delay_all(r)) {
        s->held = true;
        ev_timer_set(&s->delay, (double)delay_all_ms / 1000.0, 0.0);
        ev_timer_start(c->w->loop, &s->delay);
        return;
    }
    h2_answer(c, s);
}

static void h2_answer(struct conn *c, struct stream *s)
{
    struct route *r = &s->route;
    switch (r->act) {
    case ACT_ECHO:
        s->echo = true;
        s->src = SRC_QUEUE;
        bufq_cleanup(&s->hdrs);
        h2_respond(c, s, 200, "application/octet-stream", s->clen, true);
        break;
    case ACT_TEXT:
        h2_respond_text(c, s, r);
        break;
    case ACT_SIZE:
        s->src = SRC_PATTERN;
        s->left = r->num;
        h2_respond(c, s, 200, "application/octet-stream", r->num, !s->head_req && r->num > 0);
        break;
    case ACT_DELAY:
        ev_timer_init(&s->delay, on_h2_delay, (double)r->num / 1000.0, 0.0);
        ev_timer_start(c->w->loop, &s->delay);
        break;
    case ACT_HEADERS: {
        size_t len = bufq_len(&s->hdrs);
        if (!s->head_req) {
            bufq_move(&s->body, &s->hdrs);
            s->src = SRC_QUEUE;
        }
        bufq_cleanup(&s->hdrs);
        h2_respond(c, s, 200, "text/plain", len, !s->head_req && len > 0);
        break;
    }
    case ACT_STALL:
        s->src = SRC_STALL;
        h2_respond(c, s, 200, "application/octet-stream", 100, true);
        break;
    case ACT_CLOSE:
        c->closing = true;
        break;
    }
}

static int h2_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                               void *user_data)
{
    struct conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct stream *s = xcalloc(1, sizeof(*s));
    s->c = c;
    s->id = frame->hd.stream_id;
    s->clen = NO_LEN;
    bufq_init(&s->hdrs, &c->w->pool);
    bufq_init(&s->body, &c->w->pool);
    ev_timer_init(&s->delay, on_h2_delay, 0.0, 0.0);
    s->next = c->streams;
    if (c->streams)
        c->streams->prev = s;
    c->streams = s;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    struct str n = str_make((const char *)name, namelen);
    struct str v = str_make((const char *)value, valuelen);
    if (str_eq(n, STR_LIT(":method"))) {
        s->method_len = v.len;
        if (v.len <= sizeof(s->method))
            memcpy(s->method, v.p, v.len);
    } else if (str_eq(n, STR_LIT(":path"))) {
        free(s->path);
        s->path = xstrndup(v.p, v.len);
    } else if (str_eq(n, STR_LIT("content-length"))) {
        if (!parse_u64(v, UINT64_MAX - 1, &s->clen))
            s->clen = NO_LEN;
    }
    if (bufq_len(&s->hdrs) + namelen + valuelen + 3 <= HEAD_MAX) {
        bufq_append(&s->hdrs, name, namelen);
        bufq_append(&s->hdrs, ": ", 2);
        bufq_append(&s->hdrs, value, valuelen);
        bufq_append(&s->hdrs, "\n", 1);
    }
    return 0;
}

static int h2_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
                            void *user_data)
{
    struct conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    bool ended = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (ended)
        s->req_ended = true;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        h2_dispatch(c, s);
    else if (ended && s->echo)
        nghttp2_session_resume_data(session, s->id);
    return 0;
}

static int h2_on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                                 const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    struct stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s || !s->echo) {
        /* Nobody reads these: give the credit back at once. */
        nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    bufq_append(&s->body, data, len);
    nghttp2_session_resume_data(session, stream_id);
    return 0;
}

static int h2_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                              void *user_data)
{
    (void)error_code;
    struct conn *c = user_data;
    struct stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s)
        return 0;
    if (s->echo && bufq_len(&s->body))
        nghttp2_session_consume_connection(session, bufq_len(&s->body));
    /* nghttp2 never looks at the stream's user data after this call. */
    stream_free(c, s);
    return 0;
}

static void h2_start(struct conn *c)
{
    c->proto = PROTO_H2;
    if (nghttp2_session_server_new2(&c->session, h2_callbacks, c, h2_option) != 0) {
        c->session = NULL;
        c->closing = true;
        return;
    }
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2) != 0 ||
        nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) != 0)
        c->closing = true;
}

static void h2_recv(struct conn *c, const char *data, size_t len)
{
    ssize_t rv = nghttp2_session_mem_recv(c->session, (const uint8_t *)data, len);
    if (rv < 0)
        c->closing = true;
}

/* Serializes frames into the output queue until it passes OUT_HWM. */
static void h2_produce(struct conn *c)
{
    while (bufq_len(&c->out) < OUT_HWM) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) {
            c->closing = true;
            return;
        }
        if (n == 0)
            return;
        bufq_append(&c->out, data, (size_t)n);
    }
}

static nghttp2_session_callbacks *h2_callbacks_new(void)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        abort();
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
    nghttp2_session_callbacks_set_send_data_callback(cbs, h2_send_data);
    return cbs;
}

/* ---- connections ----------------------------------------------------------- */

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents);

static void conn_new(struct worker *w, int fd)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->w = w;
    c->fd = fd;
    bufq_init(&c->in, &w->pool);
    bufq_init(&c->out, &w->pool);
    bufq_init(&c->h1.head, &w->pool);
    http_parser_init(&c->h1.parser, HTTP_REQUEST);
    ev_timer_init(&c->h1.delay, on_h1_delay, 0.0, 0.0);
    ev_io_init(&c->io, on_conn_io, fd, EV_READ);
    c->io_events = EV_READ;
    ev_io_start(w->loop, &c->io);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ev_io_stop(w->loop, &c->io);
    ev_timer_stop(w->loop, &c->h1.delay);
    /* nghttp2_session_del calls no callback, so streams go afterwards. */
    nghttp2_session_del(c->session);
    while (c->streams)
        stream_free(c, c->streams);
    bufq_cleanup(&c->in);
    bufq_cleanup(&c->out);
    bufq_cleanup(&c->h1.head);
    close(c->fd);
    free(c);
}

/* Writes queued output (and, for HTTP/1.1, the pattern tail). Returns -1 on
 * error, 0 when the socket is full, 1 when nothing is left to write. */
static int conn_write(struct conn *c)
{
    struct h1 *h = &c->h1;
    for (;;) {
        if (c->proto == PROTO_H2 && !c->closing)
            h2_produce(c);
        struct iovec iov[WRITE_IOV];
        int n = bufq_peek_iov(&c->out, iov, WRITE_IOV);
        size_t from_out = 0, total;
        for (int i = 0; i < n; i++)
            from_out += iov[i].iov_len;
        total = from_out;
        if (c->proto == PROTO_H1 && h->size_left && from_out == bufq_len(&c->out)) {
            size_t off = h->size_off;
            uint64_t left = h->size_left;
            while (n < WRITE_IOV && left && total < WRITE_MAX) {
                size_t len = PATTERN_SIZE - off;
                if (len > left)
                    len = (size_t)left;
                iov[n].iov_base = pattern + off;
                iov[n].iov_len = len;
                n++;
                total += len;
                left -= len;
                off = 0;
            }
        }
        if (n == 0)
            return 1;
        ssize_t wr = writev(c->fd, iov, n);
        if (wr < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        size_t done = (size_t)wr;
        size_t drained = done < from_out ? done : from_out;
        bufq_drain(&c->out, drained);
        if (done > drained) {
            size_t pat = done - drained;
            h->size_left -= pat;
            h->size_off = (h->size_off + pat) % PATTERN_SIZE;
            if (h->size_left == 0)
                h->active = false;
        }
        if (done < total)
            return 0;
    }
}

static void conn_update_io(struct conn *c, bool want_write)
{
    int events = want_write ? EV_WRITE : 0;
    bool rd = !c->read_eof && bufq_len(&c->out) < OUT_HWM;
    if (c->proto == PROTO_H1)
        rd = rd && bufq_len(&c->in) < IN_MAX;
    else if (c->proto == PROTO_H2)
        rd = rd && nghttp2_session_want_read(c->session);
    if (rd)
        events |= EV_READ;
    if (events == c->io_events)
        return;
    ev_io_stop(c->w->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    if (events)
        ev_io_start(c->w->loop, &c->io);
    c->io_events = events;
}

/* The one place after every event: parse what waits, write, decide whether
 * the connection is done, free it or re-arm its watcher. */
static void conn_settle(struct conn *c)
{
    int r = 1;
    /* Each pass either writes until the socket is full or unpauses the
     * parser, which then consumes input: the loop ends when input does. */
    while (!c->closing) {
        if (c->proto == PROTO_H1)
            h1_resume(c);
        if (c->closing)
            break;
        r = conn_write(c);
        if (r < 0) {
            c->closing = true;
            break;
        }
        /* A finished response may unblock pipelined requests. */
        if (r == 0 || c->proto != PROTO_H1 || !c->h1.waiting || c->h1.active ||
            c->h1.close_after)
            break;
    }
    if (!c->closing && r == 1) {
        if (c->proto == PROTO_H1) {
            struct h1 *h = &c->h1;
            if (!h->active && h->size_left == 0 &&
                (h->close_after || (c->read_eof && !h->waiting && bufq_len(&c->in) == 0)))
                c->closing = true;
        } else if (c->proto == PROTO_H2) {
            if (!nghttp2_session_want_read(c->session) &&
                !nghttp2_session_want_write(c->session))
                c->closing = true;
        } else if (c->read_eof) {
            c->closing = true;
        }
    }
    if (c->closing) {
        conn_free(c);
        return;
    }
    conn_update_io(c, r == 0);
}

/* Feeds freshly read bytes to whatever protocol the connection speaks. */
static void conn_input(struct conn *c, const char *data, size_t len)
{
    if (c->proto == PROTO_UNKNOWN) {
        char pre[H2_PREFACE_LEN];
        bufq_append(&c->in, data, len);
        size_t k = bufq_peek(&c->in, pre, sizeof(pre));
        if (memcmp(pre, H2_PREFACE, k) != 0) {
            c->proto = PROTO_H1; /* conn_settle parses c->in */
        } else if (k == H2_PREFACE_LEN) {
            h2_start(c);
            while (!c->closing && c->in.head) {
                struct buf_block *b = c->in.head;
                h2_recv(c, b->data + b->start, b->end - b->start);
                bufq_drain(&c->in, b->end - b->start);
            }
            bufq_cleanup(&c->in);
        }
        return;
    }
    if (c->proto == PROTO_H2) {
        h2_recv(c, data, len);
        return;
    }
    if (bufq_len(&c->in) || c->h1.waiting) {
        bufq_append(&c->in, data, len);
        return;
    }
    size_t used = h1_execute(c, data, len);
    if (used < len)
        bufq_append(&c->in, data + used, len - used);
}

static void conn_read(struct conn *c)
{
    ssize_t n = read(c->fd, c->w->scratch, READ_SIZE);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            c->closing = true;
        return;
    }
    if (n == 0) {
        c->read_eof = true;
        /* An HTTP/2 peer that stops sending is gone; so is a stalled
         * HTTP/1.1 one. Other HTTP/1.1 answers still go out. */
        if (c->proto == PROTO_H2 || (c->proto == PROTO_H1 && c->h1.route.act == ACT_STALL &&
                                     c->h1.active))
            c->closing = true;
        return;
    }
    conn_input(c, c->w->scratch, (size_t)n);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct conn *c = container_of(w, struct conn, io);
    if (revents & EV_READ)
        conn_read(c);
    conn_settle(c);
}

/* ---- accepting ------------------------------------------------------------- */

static void count_accept(void)
{
    unsigned long n = atomic_fetch_add_explicit(&num_accepted, 1, memory_order_relaxed) + 1;
    if (!count_path)
        return;
    pthread_mutex_lock(&count_lock);
    /* Write the newest count, renamed into place so readers never see a
     * half-written file. */
    n = atomic_load_explicit(&num_accepted, memory_order_relaxed);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", count_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%lu\n", n);
        ssize_t wr = write(fd, buf, (size_t)len);
        close(fd);
        if (wr == len)
            rename(tmp, count_path);
    }
    pthread_mutex_unlock(&count_lock);
}

static void accept_set(struct worker *w, bool on)
{
    for (int i = 0; i < w->num_lfds; i++) {
        if (on)
            ev_io_start(w->loop, &w->accept_io[i]);
        else
            ev_io_stop(w->loop, &w->accept_io[i]);
    }
}

static void on_accept_pause(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    accept_set(container_of(t, struct worker, accept_pause), true);
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = io->data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "origin: accept: %s; pausing accepts\n", strerror(errno));
                accept_set(w, false);
                ev_timer_set(&w->accept_pause, 0.1, 0.0);
                ev_timer_start(w->loop, &w->accept_pause);
            }
            return;
        }
        int one = 1;
        if (!unix_path)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        count_accept();
        conn_new(w, fd);
    }
}

/* ---- workers and main ------------------------------------------------------- */

/* Returns a listening socket on addr:port with SO_REUSEPORT (every worker
 * has its own), or -1 after printing why. With probe, binds once without
 * SO_REUSEPORT and closes, so a port some other process already listens on
 * is reported instead of silently shared. */
static int listen_on(const char *addr, const char *port, bool probe)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res;
    int rv = getaddrinfo(addr, port, &hints, &res);
    if (rv != 0) {
        fprintf(stderr, "origin: %s:%s: %s\n", addr, port, gai_strerror(rv));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (!probe && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || (!probe && listen(fd, 4096) != 0)) {
        fprintf(stderr, "origin: cannot listen on %s:%s: %s\n", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (probe && fd >= 0) {
        close(fd);
        return 0;
    }
    return fd;
}

/* A listening socket on the UNIX domain socket path, or -1 after printing
 * why. */
static int listen_unix(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(sun.sun_path)) {
        fprintf(stderr, "origin: --unix wants a path of 1..%zu bytes\n", sizeof(sun.sun_path) - 1);
        return -1;
    }
    memcpy(sun.sun_path, path, len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, 4096) != 0) {
        fprintf(stderr, "origin: cannot listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* The worker's listening sockets: --unix's, or one per port on addr. */
static bool worker_listen(struct worker *w, const char *addr, const char *port,
                          const char *port2)
{
    const char *ports[2] = { port, port2 };
    for (int k = 0; k < 2 && ports[k] && (k == 0 || !unix_path); k++) {
        int fd = unix_path ? listen_unix(unix_path) : listen_on(addr, ports[k], false);
        if (fd < 0)
            return false;
        w->lfds[w->num_lfds] = fd;
        ev_io_init(&w->accept_io[w->num_lfds], on_accept, fd, EV_READ);
        w->accept_io[w->num_lfds].data = w;
        w->num_lfds++;
    }
    return true;
}

static void worker_shutdown(struct worker *w)
{
    accept_set(w, false);
    ev_timer_stop(w->loop, &w->accept_pause);
    for (int i = 0; i < w->num_lfds; i++)
        close(w->lfds[i]);
    w->num_lfds = 0;
    while (w->conns)
        conn_free(w->conns);
    ev_async_stop(w->loop, &w->stop_async);
    ev_break(w->loop, EVBREAK_ALL);
}

static void on_stop_async(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    worker_shutdown(container_of(a, struct worker, stop_async));
}

static struct worker *workers;
static int num_workers;

static void on_signal(struct ev_loop *loop, ev_signal *sig, int revents)
{
    (void)loop;
    (void)sig;
    (void)revents;
    for (int i = 1; i < num_workers; i++)
        ev_async_send(workers[i].loop, &workers[i].stop_async);
    ev_signal_stop(workers[0].loop, &workers[0].sig_term);
    ev_signal_stop(workers[0].loop, &workers[0].sig_int);
    worker_shutdown(&workers[0]);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    ev_run(w->loop, 0);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: origin [-a ADDR] [-p PORT] [-t THREADS] [--h2c] [--h2c-port PORT]\n"
            "              [--count-file PATH] [--down-file PATH] [--delay-all MS]\n"
            "              [--unix PATH]\n"
            "HTTP/1.1 and HTTP/2 cleartext (prior knowledge) test origin; default\n"
            "127.0.0.1:8080. Endpoints: /, /size/N, POST|PUT echo, /delay/MS,\n"
            "/headers, /status/NNN, /stall, /close, /whoami (ADDR:PORT),\n"
            "/health (503 while the --down-file exists).\n"
            "--delay-all MS: hold every answer but an echo MS milliseconds (a slow\n"
            "member; on top of /delay/MS).\n"
            "--unix PATH: listen on that UNIX domain socket instead (one thread;\n"
            "/whoami answers unix:PATH).\n");
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port = "8080", *port2 = NULL;
    long threads = 1;
    static const struct option longopts[] = {
        { "h2c", no_argument, NULL, 'H' },
        { "h2c-port", required_argument, NULL, 'P' },
        { "count-file", required_argument, NULL, 'C' },
        { "down-file", required_argument, NULL, 'D' },
        { "delay-all", required_argument, NULL, 'S' },
        { "unix", required_argument, NULL, 'U' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "a:p:t:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': port = optarg; break;
        case 't':
            threads = strtol(optarg, NULL, 10);
            if (threads < 1 || threads > MAX_THREADS) {
                fprintf(stderr, "origin: -t wants 1..%d\n", MAX_THREADS);
                return 1;
            }
            break;
        case 'H': break;
        case 'P': port2 = optarg; break;
        case 'C': count_path = optarg; break;
        case 'D': down_path = optarg; break;
        case 'S':
            if (!parse_u64(str_cstr(optarg), MAX_DELAY_MS, &delay_all_ms)) {
                fprintf(stderr, "origin: --delay-all wants 0..%d milliseconds\n", MAX_DELAY_MS);
                return 1;
            }
            break;
        case 'U': unix_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc || (unix_path && (threads != 1 || port2))) {
        usage(stderr);
        return 1;
    }

    if (unix_path)
        snprintf(whoami, sizeof(whoami), "unix:%s\n", unix_path);
    else
        snprintf(whoami, sizeof(whoami), strchr(addr, ':') ? "[%s]:%s\n" : "%s:%s\n", addr,
                 port);
    for (size_t i = 0; i < PATTERN_SIZE; i += 16) {
        char line[17];
        snprintf(line, sizeof(line), "%015zx\n", i);
        memcpy(pattern + i, line, 16);
    }
    signal(SIGPIPE, SIG_IGN);
    if (count_path) {
        atomic_store(&num_accepted, 0);
        pthread_mutex_lock(&count_lock);
        FILE *f = fopen(count_path, "w");
        if (f) {
            fputs("0\n", f);
            fclose(f);
        }
        pthread_mutex_unlock(&count_lock);
    }

    h2_callbacks = h2_callbacks_new();
    if (nghttp2_option_new(&h2_option) != 0)
        abort();
    nghttp2_option_set_no_auto_window_update(h2_option, 1);

    if (!unix_path &&
        (listen_on(addr, port, true) < 0 || (port2 && listen_on(addr, port2, true) < 0)))
        return 1;
    num_workers = (int)threads;
    workers = xcalloc((size_t)num_workers, sizeof(*workers));
    for (int i = 0; i < num_workers; i++) {
        struct worker *w = &workers[i];
        w->loop = i == 0 ? ev_default_loop(EVFLAG_AUTO) : ev_loop_new(EVFLAG_AUTO);
        if (!w->loop) {
            fprintf(stderr, "origin: cannot create an event loop\n");
            return 1;
        }
        buf_pool_init(&w->pool, POOL_MAX_FREE);
        if (!worker_listen(w, addr, port, port2))
            return 1;
        accept_set(w, true);
        ev_timer_init(&w->accept_pause, on_accept_pause, 0.0, 0.0);
        ev_async_init(&w->stop_async, on_stop_async);
        ev_async_start(w->loop, &w->stop_async);
    }
    ev_signal_init(&workers[0].sig_term, on_signal, SIGTERM);
    ev_signal_init(&workers[0].sig_int, on_signal, SIGINT);
    ev_signal_start(workers[0].loop, &workers[0].sig_term);
    ev_signal_start(workers[0].loop, &workers[0].sig_int);

    /* Signals go to the main thread, whose default loop watches them. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    for (int i = 1; i < num_workers; i++) {
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "origin: cannot start thread %d\n", i);
            return 1;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (unix_path)
        fprintf(stderr, "origin: listening on unix:%s\n", unix_path);
    else
        fprintf(stderr, "origin: listening on %s:%s%s%s (%d thread%s)\n", addr, port,
                port2 ? " and port " : "", port2 ? port2 : "", num_workers,
                num_workers == 1 ? "" : "s");

    ev_run(workers[0].loop, 0);
    for (int i = 1; i < num_workers; i++)
        pthread_join(workers[i].thread, NULL);
    for (int i = 0; i < num_workers; i++) {
        buf_pool_cleanup(&workers[i].pool);
        ev_loop_destroy(workers[i].loop);
    }
    free(workers);
    if (unix_path)
        unlink(unix_path);
    nghttp2_option_del(h2_option);
    nghttp2_session_callbacks_del(h2_callbacks);
    return 0;
}
