#include "proxy/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ev.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/err.h"
#include "common/log.h"
#include "common/procstat.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "proxy/alog_json.h"
#include "proxy/dashboard.h"
#include "proxy/health.h"
#include "proxy/sock.h"

/* Read size; the parser consumes everything it is given unless a request
 * completes, so the buffer only ever holds the start of the next
 * pipelined request. */
#define ADMIN_IN_CAP 4096
#define ADMIN_ACCEPT_RETRY 1.0

#define APPEND_LIT(q, lit) bufq_append((q), (lit), sizeof(lit) - 1)

struct admin_conn {
    struct admin *admin;
    struct admin_conn *prev, *next;
    struct sock sock;
    ev_timer timer;
    ev_tstamp last_activity;
    http_parser parser;
    size_t head_bytes;       /* target and header bytes of the current request */
    size_t body_bytes;
    int error_status;        /* set by a parser callback: answer this, then close */
    size_t body_max;         /* an API body is kept (in body) up to this; 0: dropped */
    struct bufq body;
    bool want_close;         /* close once out has drained */
    bool eof;                /* the client shut down its side */
    bool closing;            /* free at the end of this callback */
    struct bufq out;
    size_t in_len;
    size_t url_len;
    char url[ADMIN_MAX_URL];
    char in[ADMIN_IN_CAP];
};

struct admin {
    struct ev_loop *loop;
    int listen_fd;
    ev_io accept_io;
    ev_timer accept_retry;   /* accepting paused after EMFILE and friends */
    bool accept_paused;
    struct stats *const *workers;
    size_t num_workers;
    const char *const *backend_names;
    const _Atomic bool *shutting_down;
    const struct admin_config_info *config_info;  /* or NULL */
    const struct admin_api *api;                   /* or NULL */
    bool (*ready)(void);                           /* or NULL */
    struct stats_snapshot snap;
    char dash_csp[DASH_CSP_MAX];  /* the dashboard's Content-Security-Policy */
    struct buf_pool pool;
    struct admin_conn *conns;
    size_t num_conns;
};

/* ---- http-parser callbacks: they only record ---- */

static int on_message_begin(http_parser *p)
{
    struct admin_conn *c = p->data;
    c->url_len = 0;
    c->head_bytes = 0;
    c->body_bytes = 0;
    c->body_max = 0;
    bufq_cleanup(&c->body);
    return 0;
}

static int count_head(struct admin_conn *c, size_t len)
{
    c->head_bytes += len;
    if (c->head_bytes > ADMIN_MAX_HEAD) {
        c->error_status = 431;
        return 1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct admin_conn *c = p->data;
    if (len > ADMIN_MAX_URL - c->url_len) {
        c->error_status = 414;
        return 1;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    return count_head(c, len);
}

static int on_header_part(http_parser *p, const char *at, size_t len)
{
    (void)at;
    return count_head(p->data, len);
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct admin_conn *c = p->data;
    c->body_bytes += len;
    if (c->body_bytes > (c->body_max ? c->body_max : ADMIN_MAX_BODY)) {
        c->error_status = 413;
        return 1;
    }
    if (c->body_max)
        bufq_append(&c->body, at, len);
    return 0;
}

static bool is_backendconfig(const struct admin_conn *c);

/* A backendconfig body is kept, up to the API's limit. */
static int on_headers_complete(http_parser *p)
{
    struct admin_conn *c = p->data;
    const struct admin_api *api = c->admin->api;
    if (api && (p->method == HTTP_PUT || p->method == HTTP_POST) && is_backendconfig(c))
        c->body_max = api->max_body();
    return 0;
}

/* One request at a time: the parser stops here so the answer is queued
 * before the next pipelined request is looked at. */
static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_part,
    .on_header_value = on_header_part,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- answers ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* The header lines of every answer but the dashboard page: numbers and
 * states must never come from a cache. */
#define PLAIN_HEADERS "Cache-Control: no-store\r\n"

/* Queues a response whose body is in body (moved into out, or dropped for
 * HEAD while keeping its Content-Length); headers: more header lines, each
 * ending in CRLF. */
static void queue_response(struct admin_conn *c, int status, const char *content_type,
                           const char *headers, struct bufq *body, bool head_only, bool allow)
{
    bufq_appendf(&c->out,
                 "HTTP/1.1 %d %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "%s%s%s\r\n",
                 status, reason(status), content_type, bufq_len(body), headers,
                 allow ? "Allow: GET, HEAD\r\n" : "",
                 c->want_close ? "Connection: close\r\n" : "");
    if (head_only)
        bufq_cleanup(body);
    else
        bufq_move(&c->out, body);
}

static void queue_text(struct admin_conn *c, int status, const char *text, bool head_only,
                       bool allow)
{
    struct bufq body;
    bufq_init(&body, &c->admin->pool);
    bufq_append(&body, text, strlen(text));
    queue_response(c, status, "text/plain; charset=utf-8", PLAIN_HEADERS, &body, head_only,
                   allow);
}

static void queue_error(struct admin_conn *c, int status)
{
    c->want_close = true;
    char text[64];
    snprintf(text, sizeof(text), "%s\n", reason(status));
    queue_text(c, status, text, false, false);
}

enum page { PAGE_NONE, PAGE_METRICS, PAGE_STATS, PAGE_HEALTHZ, PAGE_READYZ, PAGE_DASHBOARD };

static enum page find_page(const char *path, size_t len)
{
    static const struct {
        const char *path;
        enum page page;
    } pages[] = {
        { "/metrics", PAGE_METRICS },
        { "/stats", PAGE_STATS },
        { "/healthz", PAGE_HEALTHZ },
        { "/readyz", PAGE_READYZ },
        { "/", PAGE_DASHBOARD },
        { "/dashboard", PAGE_DASHBOARD },
    };
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        if (strlen(pages[i].path) == len && memcmp(pages[i].path, path, len) == 0)
            return pages[i].page;
    return PAGE_NONE;
}

/* Why /readyz says 503, or NULL when h2gate should get new traffic. The
 * admin only serves once the workers listen, and a graceful shutdown sets
 * shutting_down before any listener closes, so the flag covers "listening
 * and not draining"; with health checks, every backend group also needs a
 * member up. */
static const char *not_ready(const struct admin *a)
{
    if (atomic_load_explicit(a->shutting_down, memory_order_relaxed))
        return "draining\n";
    if (a->ready && !a->ready())
        return "every member of a backend group is down\n";
    return NULL;
}

/* The health cells (health.h), not in the worker blocks: read into v
 * (3 * num_backends entries) and named in the snapshot. */
static void add_health(struct admin *a, uint64_t *v)
{
    size_t n = a->snap.num_backends;
    for (size_t b = 0; b < n; b++) {
        struct health_view hv;
        health_view(b, &hv);
        v[b] = hv.up;
        v[n + b] = hv.checks;
        v[2 * n + b] = hv.check_failures;
    }
    a->snap.extra[0] = (struct stats_backend_extra){
        "h2gate_backend_up", "gauge",
        "1 while the member may get requests, 0 while health checks or failed requests mark it "
        "down.", v };
    a->snap.extra[1] = (struct stats_backend_extra){
        "h2gate_backend_health_checks_total", "counter",
        "Active health checks of the member (probes).", v + n };
    a->snap.extra[2] = (struct stats_backend_extra){
        "h2gate_backend_health_check_failures_total", "counter",
        "Health checks of the member that failed.", v + 2 * n };
    a->snap.num_extra = 3;
}

/* The dashboard page (dashboard.h). no-cache rather than no-store: a
 * browser may keep the page but asks again each time (a new binary brings
 * a new page). The policy allows nothing but this origin and the page's
 * own inline style and script. */
static void queue_dashboard(struct admin_conn *c, bool head_only)
{
    struct bufq body;
    bufq_init(&body, &c->admin->pool);
    dash_render(&body);
    char headers[DASH_CSP_MAX + 256];
    snprintf(headers, sizeof(headers),
             "Cache-Control: no-cache\r\n"
             "Content-Security-Policy: %s\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Referrer-Policy: no-referrer\r\n",
             c->admin->dash_csp);
    queue_response(c, 200, "text/html; charset=utf-8", headers, &body, head_only, false);
}

static uint64_t load(const _Atomic uint64_t *cell)
{
    return atomic_load_explicit(cell, memory_order_relaxed);
}

/* One worker's object in /stats "workers": what shows a worker carrying
 * more than its share. Relaxed loads of its block, as stats_sum() does. */
static void render_worker(const struct stats *w, struct bufq *out)
{
    uint64_t conns = 0, requests = 0;
    for (size_t p = 0; p < STATS_DIMLEN_PROTO; p++)
        conns += load(&w->conn_active[p]);
    for (size_t i = 0; i < STATS_DIMLEN_PROTO_CLASS; i++)
        requests += load(&w->requests[i]);
    const _Atomic uint64_t *client = w->client_bytes;
    bufq_appendf(out,
                 "{\"connections_active\": %" PRIu64 ", \"streams_active\": %" PRIu64
                 ", \"requests_total\": %" PRIu64 ", \"client_bytes_in\": %" PRIu64
                 ", \"client_bytes_out\": %" PRIu64 ", \"tunnels_active\": %" PRIu64
                 ", \"websockets_active\": %" PRIu64 "}",
                 conns, load(&w->streams_active[0]), requests, load(&client[STATS_DIR_IN]),
                 load(&client[STATS_DIR_OUT]), load(&w->tunnels_active[0]),
                 load(&w->websockets_active[0]));
}

/* /stats: stats_render_json()'s object with "workers" (an array, one
 * object per worker block, in worker order) added as its last member.
 * /metrics has no such series: its families stay sums over workers. The
 * renderer ends its object with "\n}\n"; should that ever change, the
 * object goes out whole, without "workers", rather than broken. */
static void render_stats_json(struct admin *a, struct bufq *body)
{
    struct bufq js;
    bufq_init(&js, &a->pool);
    stats_render_json(&a->snap, a->backend_names, &js);
    size_t len = bufq_len(&js);
    char tail[3] = { 0 };
    if (len >= sizeof(tail)) {
        bufq_copy(body, &js, len - sizeof(tail));
        bufq_drain(&js, len - sizeof(tail));
        bufq_peek(&js, tail, sizeof(tail));
    }
    if (memcmp(tail, "\n}\n", sizeof(tail)) != 0) {
        bufq_move(body, &js);
        return;
    }
    bufq_cleanup(&js);
    APPEND_LIT(body, ",\n  \"workers\": [");
    for (size_t i = 0; i < a->num_workers; i++) {
        if (i)
            APPEND_LIT(body, ",");
        APPEND_LIT(body, "\n    ");
        render_worker(a->workers[i], body);
    }
    APPEND_LIT(body, "\n  ]\n}\n");
}

/* /metrics (prometheus true) or /stats: the worker blocks summed now, the
 * configuration's history and the health cells. */
static void queue_numbers(struct admin_conn *c, bool prometheus, bool head_only)
{
    struct admin *a = c->admin;
    stats_sum(a->workers, a->num_workers, &a->snap);
    if (a->config_info) {
        a->snap.config.generation = a->config_info->generation;
        a->snap.config.reloads = a->config_info->reloads;
        a->snap.config.reload_failures = a->config_info->failures;
        a->snap.config.last_reload_s = (uint64_t)a->config_info->last_success;
        if (a->config_info->generations_alive)
            a->snap.config.generations_alive = a->config_info->generations_alive();
        if (a->config_info->certificates)
            a->snap.num_certs = a->config_info->certificates(&a->snap.certs);
    }
    procstat_read(&a->snap.process);
    uint64_t *hv = xcalloc(3 * (a->snap.num_backends + 1), sizeof(*hv));
    add_health(a, hv);
    struct bufq body;
    bufq_init(&body, &a->pool);
    if (prometheus) {
        stats_render_prometheus(&a->snap, a->backend_names, &body);
        queue_response(c, 200, "text/plain; version=0.0.4; charset=utf-8", PLAIN_HEADERS, &body,
                       head_only, false);
    } else {
        render_stats_json(a, &body);
        queue_response(c, 200, "application/json", PLAIN_HEADERS, &body, head_only, false);
    }
    a->snap.num_extra = 0;
    free(hv);
}

/* ---- nghttpx's API (admin_set_api) ---- */

#define API_BACKENDCONFIG "/api/v1beta1/backendconfig"
#define API_CONFIGREVISION "/api/v1beta1/configrevision"

/* The path of the request target in c->url (empty if it has none). */
static struct str url_path(const struct admin_conn *c)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
        return STR_NULL;
    return str_make(c->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
}

static bool is_backendconfig(const struct admin_conn *c)
{
    return str_eq(url_path(c), STR_LIT(API_BACKENDCONFIG));
}

static bool api_on(const struct admin *a)
{
    return a->api && a->api->max_body() > 0;
}

/* {"status":...,"code":status[,"message":msg][,"data":data]}; allow: the
 * methods a 405 names. */
static void queue_api(struct admin_conn *c, int status, const char *msg, const char *data,
                      const char *allow)
{
    struct bufq body;
    bufq_init(&body, &c->admin->pool);
    bufq_appendf(&body, "{\"status\":\"%s\",\"code\":%d", status == 200 ? "Success" : "Failure",
                 status);
    if (msg && *msg) {
        struct str m = str_cstr(msg);
        size_t used = 0, n = alog_json_escaped_len(m);
        char *esc = xmalloc(n + 1);
        n = alog_json_escape(esc, n + 1, m, &used);
        bufq_appendf(&body, ",\"message\":\"%.*s\"", (int)n, esc);
        free(esc);
    }
    if (data)
        bufq_appendf(&body, ",\"data\":%s", data);
    APPEND_LIT(&body, "}");
    char headers[64];
    snprintf(headers, sizeof(headers), PLAIN_HEADERS "%s%s%s", allow ? "Allow: " : "",
             allow ? allow : "", allow ? "\r\n" : "");
    if (status != 200)
        c->want_close = true;
    queue_response(c, status, "application/json", headers, &body, false, false);
}

static void answer_api(struct admin_conn *c, struct str path)
{
    const struct admin_api *api = c->admin->api;
    enum http_method m = (enum http_method)c->parser.method;
    if (str_eq(path, STR_LIT(API_BACKENDCONFIG))) {
        if (m != HTTP_PUT && m != HTTP_POST) {
            queue_api(c, 405, "use PUT or POST", NULL, "POST, PUT");
            return;
        }
        size_t len = bufq_len(&c->body);
        char *text = xmalloc(len + 1), msg[1024] = "";
        bufq_peek(&c->body, text, len);
        bufq_cleanup(&c->body);
        int status = api->backendconfig(text, len, msg, sizeof(msg));
        free(text);
        if (status != 200)
            log_warn("admin: backendconfig API refused (%d): %s", status, msg);
        queue_api(c, status, status == 200 ? NULL : msg, NULL, NULL);
    } else if (str_eq(path, STR_LIT(API_CONFIGREVISION))) {
        if (m != HTTP_GET) {
            queue_api(c, 405, "use GET", NULL, "GET");
            return;
        }
        char data[64];
        snprintf(data, sizeof(data), "{\"configRevision\":%" PRIu64 "}", api->revision());
        queue_api(c, 200, NULL, data, NULL);
    } else {
        queue_api(c, 404, "no such API", NULL, NULL);
    }
}

/* Answers the request the parser just completed. */
static void answer(struct admin_conn *c)
{
    struct admin *a = c->admin;
    http_parser *p = &c->parser;
    if (!http_should_keep_alive(p) || p->upgrade)
        c->want_close = true;

    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(c->url, c->url_len, p->method == HTTP_CONNECT, &u) != 0) {
        queue_error(c, 400);
        return;
    }
    enum page page = PAGE_NONE;
    struct str path = STR_NULL;
    if (u.field_set & (1 << UF_PATH))
        path = str_make(c->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    if (str_has_prefix(path, STR_LIT("/api/")) && api_on(a)) {
        answer_api(c, path);
        return;
    }
    if (path.len)
        page = find_page(path.p, path.len);
    if (page == PAGE_NONE) {
        queue_text(c, 404, "not found\n", p->method == HTTP_HEAD, false);
        return;
    }
    if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
        queue_text(c, 405, "method not allowed\n", false, true);
        return;
    }
    bool head_only = p->method == HTTP_HEAD;

    if (page == PAGE_READYZ) {
        const char *why = not_ready(a);
        queue_text(c, why ? 503 : 200, why ? why : "ready\n", head_only, false);
        return;
    }
    if (page == PAGE_HEALTHZ) {
        if (atomic_load_explicit(a->shutting_down, memory_order_relaxed))
            queue_text(c, 503, "shutting down\n", head_only, false);
        else
            queue_text(c, 200, "ok\n", head_only, false);
        return;
    }
    if (page == PAGE_DASHBOARD) {
        queue_dashboard(c, head_only);
        return;
    }
    queue_numbers(c, page == PAGE_METRICS, head_only);
}

/* Feeds the buffered input to the parser; queues at most one answer. */
static void parse_input(struct admin_conn *c)
{
    size_t n = http_parser_execute(&c->parser, &parser_settings, c->in, c->in_len);
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
        answer(c);
        if (c->want_close)
            c->in_len = 0;
        return;
    }
    c->in_len = 0;
    if (err != HPE_OK) {
        int status = c->error_status ? c->error_status
                     : err == HPE_HEADER_OVERFLOW ? 431 : 400;
        if (c->body_max && status == 413)
            queue_api(c, 413, "body over --api-max-request-body", NULL, NULL);
        else
            queue_error(c, status);
    }
}

/* ---- connection I/O ---- */

static void conn_free(struct admin_conn *c);

static void do_read(struct admin_conn *c)
{
    ssize_t n = sock_read(&c->sock, c->in, sizeof(c->in));
    if (n > 0) {
        c->in_len = (size_t)n;
        c->last_activity = ev_now(c->admin->loop);
    } else if (n == H2G_ERR_EOF) {
        c->eof = true;
    } else if (n < 0) {
        c->closing = true;
    }
}

static void do_write(struct admin_conn *c)
{
    ssize_t n = sock_write(&c->sock, &c->out, SIZE_MAX);
    if (n < 0)
        c->closing = true;
    else if (n > 0)
        c->last_activity = ev_now(c->admin->loop);
}

/* Writes what is queued, answers buffered requests while the output is
 * drained, then decides what to wait for. */
static void progress(struct admin_conn *c)
{
    while (!c->closing) {
        if (bufq_len(&c->out)) {
            do_write(c);
            if (bufq_len(&c->out))
                break;
        }
        if (c->want_close) {
            c->closing = true;
            break;
        }
        if (c->in_len == 0)
            break;
        parse_input(c);
    }
    if (!c->closing && c->eof && !bufq_len(&c->out) && c->in_len == 0)
        c->closing = true;
    if (c->closing)
        return;

    /* no reading while an answer waits: a client that pipelines without
     * reading stalls itself, not the admin loop (sock_write armed EV_WRITE) */
    if (bufq_len(&c->out) || c->eof)
        sock_read_stop(&c->sock);
    else
        sock_read_start(&c->sock);
}

/* Tear-down happens here at the end of the socket callbacks, never in a
 * parser callback (plain sockets: the transport does not touch the socket
 * after these return). */
static void on_conn_readable(struct sock *s)
{
    struct admin_conn *c = container_of(s, struct admin_conn, sock);
    if (c->in_len == 0)
        do_read(c);
    progress(c);
    if (c->closing)
        conn_free(c);
}

static void on_conn_writable(struct sock *s)
{
    struct admin_conn *c = container_of(s, struct admin_conn, sock);
    progress(c);
    if (c->closing)
        conn_free(c);
}

static const struct sock_handler conn_handler = {
    .readable = on_conn_readable,
    .writable = on_conn_writable,
};

static void on_conn_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct admin_conn *c = t->data;
    ev_tstamp left = c->last_activity + ADMIN_IDLE_TIMEOUT - ev_now(loop);
    if (left > 0) {
        ev_timer_set(t, left, 0.);
        ev_timer_start(loop, t);
        return;
    }
    conn_free(c);
}

static void conn_new(struct admin *a, int fd)
{
    struct admin_conn *c = xcalloc(1, sizeof(*c));
    c->admin = a;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    bufq_init(&c->out, &a->pool);
    bufq_init(&c->body, &a->pool);
    c->last_activity = ev_now(a->loop);
    sock_init(&c->sock, a->loop, fd, &conn_handler);
    sock_read_start(&c->sock);
    ev_timer_init(&c->timer, on_conn_timer, ADMIN_IDLE_TIMEOUT, 0.);
    c->timer.data = c;
    ev_timer_start(a->loop, &c->timer);
    c->next = a->conns;
    if (a->conns)
        a->conns->prev = c;
    a->conns = c;
    a->num_conns++;
}

static void resume_accept(struct admin *a)
{
    if (!a->accept_paused || a->num_conns >= ADMIN_MAX_CONNS)
        return;
    a->accept_paused = false;
    ev_io_start(a->loop, &a->accept_io);
}

static void conn_free(struct admin_conn *c)
{
    struct admin *a = c->admin;
    sock_close(&c->sock, false);
    ev_timer_stop(a->loop, &c->timer);
    bufq_cleanup(&c->out);
    bufq_cleanup(&c->body);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->num_conns--;
    free(c);
    if (!ev_is_active(&a->accept_retry))
        resume_accept(a);
}

static void pause_accept(struct admin *a)
{
    if (a->accept_paused)
        return;
    ev_io_stop(a->loop, &a->accept_io);
    a->accept_paused = true;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct admin *a = w->data;
    while (a->num_conns < ADMIN_MAX_CONNS) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(a, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        /* out of fds or memory: a level-triggered watcher would spin, so
         * wait a moment before trying again */
        log_warn("admin: accept: %s", strerror(errno));
        pause_accept(a);
        ev_timer_set(&a->accept_retry, ADMIN_ACCEPT_RETRY, 0.);
        ev_timer_start(loop, &a->accept_retry);
        return;
    }
    pause_accept(a);
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    resume_accept(t->data);
}

struct admin *admin_new(struct ev_loop *loop, int listen_fd, struct stats *const *workers,
                        size_t num_workers, const char *const *backend_names,
                        size_t num_backends, const _Atomic bool *shutting_down)
{
    struct admin *a = xcalloc(1, sizeof(*a));
    a->loop = loop;
    a->listen_fd = listen_fd;
    a->workers = workers;
    a->num_workers = num_workers;
    a->backend_names = backend_names;
    a->shutting_down = shutting_down;
    stats_snapshot_init(&a->snap, num_backends);
    if (dash_csp(a->dash_csp, sizeof(a->dash_csp)) < 0) {
        /* a page edited against dashboard.h's contract: served, but its
         * script and style blocked, rather than allowed wholesale */
        log_error("admin: the dashboard page has no <style> or <script> element");
        snprintf(a->dash_csp, sizeof(a->dash_csp), "default-src 'self'");
    }
    buf_pool_init(&a->pool, 8);
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl >= 0)
        fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);
    ev_io_init(&a->accept_io, on_accept, listen_fd, EV_READ);
    a->accept_io.data = a;
    ev_io_start(loop, &a->accept_io);
    ev_timer_init(&a->accept_retry, on_accept_retry, ADMIN_ACCEPT_RETRY, 0.);
    a->accept_retry.data = a;
    return a;
}

void admin_set_config_info(struct admin *a, const struct admin_config_info *info)
{
    a->config_info = info;
}

void admin_set_ready_check(struct admin *a, bool (*ready)(void))
{
    a->ready = ready;
}

void admin_set_api(struct admin *a, const struct admin_api *api)
{
    a->api = api;
}

void admin_set_backends(struct admin *a, const char *const *names, size_t num)
{
    a->backend_names = names;
    if (num != a->snap.num_backends) {
        stats_snapshot_cleanup(&a->snap);
        stats_snapshot_init(&a->snap, num);
    }
}

void admin_free(struct admin *a)
{
    if (!a)
        return;
    ev_timer_stop(a->loop, &a->accept_retry);
    ev_io_stop(a->loop, &a->accept_io);
    a->accept_paused = false; /* keep conn_free from restarting it */
    while (a->conns)
        conn_free(a->conns);
    close(a->listen_fd);
    stats_snapshot_cleanup(&a->snap);
    buf_pool_cleanup(&a->pool);
    free(a);
}
