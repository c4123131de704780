/* Unit tests for proxy/admin.c: the admin HTTP/1.1 listener driven through
 * a real libev loop, stepped with EVRUN_NOWAIT while a client socket on
 * 127.0.0.1 sends requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "common/stats.h"
#include "common/xalloc.h"
#include "proxy/admin.h"

struct fixture {
    struct ev_loop *loop;
    struct admin *admin;
    struct stats *workers[2];
    _Atomic bool shutting_down;
    uint16_t port;
};

static const char *const backend_names[] = { "api:8080", "static:80" };

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    fx->loop = ev_loop_new(EVFLAG_AUTO);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t len = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    fx->port = ntohs(sa.sin_port);
    fx->workers[0] = stats_new(2);
    fx->workers[1] = stats_new(2);
    atomic_init(&fx->shutting_down, false);
    fx->admin = admin_new(fx->loop, fd, fx->workers, 2, backend_names, 2, &fx->shutting_down);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    admin_free(fx->admin);
    ev_loop_destroy(fx->loop);
    stats_free(fx->workers[0]);
    stats_free(fx->workers[1]);
    free(fx);
    return 0;
}

static int client(struct fixture *fx)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(fx->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void send_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        s += n;
        len -= (size_t)n;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct response {
    int status;
    char head[2048];
    char *body;
    size_t body_len;
    bool closed; /* the server closed the connection after it */
};

/* Pending bytes received per client fd (responses may arrive together). */
static char rx[8][262144];
static size_t rx_len[8];
static bool rx_eof[8];

/* Steps the loop until one whole response (by Content-Length; HEAD: no
 * body) is available on fd, and removes it from the pending bytes. */
static void read_response(struct fixture *fx, int fd, bool head, struct response *r)
{
    int slot = fd % 8;
    double deadline = now_s() + 5;
    memset(r, 0, sizeof(*r));
    for (;;) {
        char *end = memmem(rx[slot], rx_len[slot], "\r\n\r\n", 4);
        if (end) {
            size_t head_len = (size_t)(end - rx[slot]) + 4;
            char *cl = memmem(rx[slot], head_len, "Content-Length: ", 16);
            assert_non_null(cl);
            size_t body_len = head ? 0 : strtoul(cl + 16, NULL, 10);
            if (rx_len[slot] >= head_len + body_len) {
                assert_true(head_len < sizeof(r->head));
                memcpy(r->head, rx[slot], head_len);
                r->head[head_len] = '\0';
                r->body = xmalloc(body_len + 1);
                memcpy(r->body, rx[slot] + head_len, body_len);
                r->body[body_len] = '\0';
                r->body_len = body_len;
                memmove(rx[slot], rx[slot] + head_len + body_len,
                        rx_len[slot] - head_len - body_len);
                rx_len[slot] -= head_len + body_len;
                assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
                break;
            }
        }
        if (now_s() > deadline)
            fail_msg("no complete response (have %zu bytes)", rx_len[slot]);
        ev_run(fx->loop, EVRUN_NOWAIT);
        ssize_t n = recv(fd, rx[slot] + rx_len[slot], sizeof(rx[slot]) - rx_len[slot], 0);
        if (n > 0)
            rx_len[slot] += (size_t)n;
        else if (n == 0)
            rx_eof[slot] = true;
        else
            usleep(200);
        if (rx_eof[slot] && !memmem(rx[slot], rx_len[slot], "\r\n\r\n", 4))
            fail_msg("connection closed without a response");
    }
}

/* Steps the loop until the server closes fd (true) or 1 s passes. */
static bool wait_closed(struct fixture *fx, int fd)
{
    int slot = fd % 8;
    double deadline = now_s() + 1;
    while (!rx_eof[slot] && now_s() < deadline) {
        ev_run(fx->loop, EVRUN_NOWAIT);
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0)
            rx_eof[slot] = true;
        else if (n > 0)
            assert_true(rx_len[slot] + (size_t)n < sizeof(rx[slot]));
        else
            usleep(200);
    }
    return rx_eof[slot];
}

static void close_client(int fd)
{
    int slot = fd % 8;
    rx_len[slot] = 0;
    rx_eof[slot] = false;
    close(fd);
}

static void roundtrip(struct fixture *fx, int fd, const char *req, struct response *r)
{
    send_all(fd, req, strlen(req));
    read_response(fx, fd, strncmp(req, "HEAD ", 5) == 0, r);
}

static bool has_header(const struct response *r, const char *line)
{
    return strcasestr(r->head, line) != NULL;
}

/* GET and HEAD of path on one keep-alive connection: 200 up_body, then
 * with the shutdown flag set, 503 down_body. */
static void check_flag_page(struct fixture *fx, const char *path, const char *up_body,
                            const char *down_body)
{
    int fd = client(fx);
    struct response r;
    char req[128], len_line[64];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    roundtrip(fx, fd, req, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, up_body);
    assert_false(has_header(&r, "Connection: close"));
    free(r.body);

    atomic_store(&fx->shutting_down, true);
    /* the same keep-alive connection, with a query that is ignored */
    snprintf(req, sizeof(req), "GET %s?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", path);
    roundtrip(fx, fd, req, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, down_body);
    free(r.body);

    snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\n\r\n", path);
    roundtrip(fx, fd, req, &r);
    assert_int_equal(r.status, 503);
    snprintf(len_line, sizeof(len_line), "Content-Length: %zu\r\n", strlen(down_body));
    assert_true(has_header(&r, len_line));
    assert_int_equal(r.body_len, 0);
    free(r.body);
    close_client(fd);
}

static void test_healthz_follows_the_shutdown_flag(void **state)
{
    check_flag_page(*state, "/healthz", "ok\n", "shutting down\n");
}

static void test_readyz_follows_the_shutdown_flag(void **state)
{
    check_flag_page(*state, "/readyz", "ready\n", "draining\n");
}

static void test_metrics_in_prometheus_format(void **state)
{
    struct fixture *fx = *state;
    stats_conn_opened(fx->workers[0], STATS_PROTO_H2);
    stats_conn_opened(fx->workers[1], STATS_PROTO_H2);
    stats_request_done(fx->workers[0], STATS_PROTO_H2, 200, 0, false, 0.01, 0.002);
    stats_request_done(fx->workers[1], STATS_PROTO_H2, 204, 1, false, 0.02, 0.003);
    stats_backend_connect_failure(fx->workers[1], 1);

    int fd = client(fx);
    struct response r;
    roundtrip(fx, fd, "GET /metrics HTTP/1.1\r\nHost: admin\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# HELP h2gate_requests_total "));
    assert_non_null(strstr(r.body, "# TYPE h2gate_requests_total counter\n"));
    assert_non_null(strstr(r.body, "\nh2gate_requests_total{protocol=\"h2\",status_class=\"2xx\"} 2\n"));
    assert_non_null(strstr(r.body, "\nh2gate_connections_active{protocol=\"h2\"} 2\n"));
    assert_non_null(strstr(r.body, "\nh2gate_backend_connect_failures_total{backend=\"static:80\"} 1\n"));
    assert_non_null(strstr(r.body, "\nh2gate_request_duration_seconds_count 2\n"));
    assert_int_equal(strlen(r.body), r.body_len);
    size_t get_len = r.body_len;
    free(r.body);

    /* a query string is ignored; HEAD has the same length and no body */
    roundtrip(fx, fd, "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    roundtrip(fx, fd, "HEAD /metrics HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    char want[64];
    snprintf(want, sizeof(want), "Content-Length: %zu\r\n", get_len);
    assert_true(has_header(&r, want));
    free(r.body);

    /* admin requests are not proxied requests */
    struct stats_snapshot s;
    stats_snapshot_init(&s, 2);
    stats_sum(fx->workers, 2, &s);
    uint64_t total = 0;
    for (size_t i = 0; i < STATS_DIMLEN_PROTO_CLASS; i++)
        total += s.requests[i];
    assert_int_equal(total, 2);
    stats_snapshot_cleanup(&s);
    close_client(fd);
}

static void test_stats_in_json(void **state)
{
    struct fixture *fx = *state;
    stats_tunnel_opened(fx->workers[0]);
    stats_tunnel_refused(fx->workers[1], STATS_TUNFAIL_DENIED);
    int fd = client(fx);
    struct response r;
    roundtrip(fx, fd, "GET /stats HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: application/json\r\n"));
    assert_int_equal(r.body[0], '{');
    assert_non_null(strstr(r.body, "\"h2gate_tunnels_total\": {\"opened\": 1, \"denied\": 1, "
                                   "\"failed\": 0}"));
    assert_non_null(strstr(r.body, "\"h2gate_tunnels_active\": 1"));
    assert_non_null(strstr(r.body, "\"h2gate_backend_connects_total\": {\"api:8080\": 0, "
                                   "\"static:80\": 0}"));
    free(r.body);
    close_client(fd);
}

/* "workers" closes the object: one entry per block, in order, each with
 * that worker's own numbers. */
static void test_stats_workers_per_block(void **state)
{
    struct fixture *fx = *state;
    stats_tunnel_opened(fx->workers[0]);
    stats_conn_opened(fx->workers[1], STATS_PROTO_H2C);
    stats_conn_opened(fx->workers[1], STATS_PROTO_HTTP1);
    stats_stream_opened(fx->workers[1]);
    stats_request_done(fx->workers[1], STATS_PROTO_H2C, 200, 0, false, 0.01, 0.01);
    stats_request_done(fx->workers[1], STATS_PROTO_HTTP1, 503, -1, false, 0.01, -1);
    stats_bytes(fx->workers[1], STATS_SIDE_CLIENT, STATS_DIR_IN, 100);
    stats_bytes(fx->workers[1], STATS_SIDE_CLIENT, STATS_DIR_OUT, 250);
    stats_bytes(fx->workers[1], STATS_SIDE_BACKEND, STATS_DIR_OUT, 7);
    stats_ws_opened(fx->workers[0]);
    int fd = client(fx);
    struct response r;
    roundtrip(fx, fd, "GET /stats HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    const char *want =
        ",\n  \"workers\": [\n"
        "    {\"connections_active\": 0, \"streams_active\": 0, \"requests_total\": 0, "
        "\"client_bytes_in\": 0, \"client_bytes_out\": 0, \"tunnels_active\": 1, "
        "\"websockets_active\": 1},\n"
        "    {\"connections_active\": 2, \"streams_active\": 1, \"requests_total\": 2, "
        "\"client_bytes_in\": 100, \"client_bytes_out\": 250, \"tunnels_active\": 0, "
        "\"websockets_active\": 0}\n"
        "  ]\n}\n";
    assert_true(r.body_len > strlen(want));
    assert_string_equal(r.body + r.body_len - strlen(want), want);
    /* /metrics keeps its sums only */
    free(r.body);
    roundtrip(fx, fd, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    assert_null(strstr(r.body, "workers\""));
    assert_null(strstr(r.body, "worker="));
    free(r.body);
    close_client(fd);
}

/* / and /dashboard: the page, with its headers; HEAD: the same head. */
static void test_dashboard_page(void **state)
{
    struct fixture *fx = *state;
    int fd = client(fx);
    struct response r, d, h;
    roundtrip(fx, fd, "GET / HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_true(has_header(&r, "Cache-Control: no-cache\r\n"));
    assert_true(has_header(&r, "X-Content-Type-Options: nosniff\r\n"));
    const char *csp = strcasestr(r.head, "Content-Security-Policy: default-src 'self'; ");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "script-src 'sha256-"));
    assert_non_null(strstr(csp, "style-src 'sha256-"));
    assert_int_equal(strncmp(r.body, "<!doctype html>", 15), 0);
    assert_non_null(strstr(r.body, "<meta name=\"h2gate-version\" content=\"0.1.0\">"));
    roundtrip(fx, fd, "GET /dashboard?x=1 HTTP/1.1\r\n\r\n", &d);
    assert_int_equal(d.status, 200);
    assert_int_equal(d.body_len, r.body_len);
    assert_memory_equal(d.body, r.body, r.body_len);
    roundtrip(fx, fd, "HEAD / HTTP/1.1\r\n\r\n", &h);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.body_len, 0);
    char len_line[64];
    snprintf(len_line, sizeof(len_line), "Content-Length: %zu\r\n", r.body_len);
    assert_true(has_header(&h, len_line));
    free(r.body);
    free(d.body);
    free(h.body);
    close_client(fd);
}

static void test_unknown_paths_and_methods(void **state)
{
    struct fixture *fx = *state;
    int fd = client(fx);
    struct response r;
    roundtrip(fx, fd, "GET /nope HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    roundtrip(fx, fd, "GET /metricsx HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    roundtrip(fx, fd, "GET http://proxied.example/x HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    /* never proxied: an absolute-form "/" is the dashboard */
    roundtrip(fx, fd, "GET http://proxied.example/ HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/html; charset=utf-8\r\n"));
    free(r.body);
    roundtrip(fx, fd, "GET /dashboard/ HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    roundtrip(fx, fd, "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &r);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET, HEAD\r\n"));
    free(r.body);
    roundtrip(fx, fd, "DELETE /healthz HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    free(r.body);
    /* absolute-form targets name the same pages */
    roundtrip(fx, fd, "GET http://admin:9000/healthz HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* still alive after all that */
    roundtrip(fx, fd, "GET /healthz HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    close_client(fd);
}

static void test_garbage_is_400_and_closes(void **state)
{
    struct fixture *fx = *state;
    int fd = client(fx);
    struct response r;
    roundtrip(fx, fd, "GARBAGE\x01\x02 nonsense\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_true(has_header(&r, "Connection: close"));
    free(r.body);
    assert_true(wait_closed(fx, fd));
    close_client(fd);

    fd = client(fx);
    roundtrip(fx, fd, "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    free(r.body);
    assert_true(wait_closed(fx, fd));
    close_client(fd);
}

static void test_oversized_requests(void **state)
{
    struct fixture *fx = *state;
    static char req[20000];
    struct response r;

    int fd = client(fx);
    int n = snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nX-Big: ");
    memset(req + n, 'a', 9000);
    memcpy(req + n + 9000, "\r\n\r\n", 5);
    roundtrip(fx, fd, req, &r);
    assert_int_equal(r.status, 431);
    free(r.body);
    assert_true(wait_closed(fx, fd));
    close_client(fd);

    fd = client(fx);
    n = snprintf(req, sizeof(req), "GET /");
    memset(req + n, 'u', 3000);
    memcpy(req + n + 3000, " HTTP/1.1\r\n\r\n", 14);
    roundtrip(fx, fd, req, &r);
    assert_int_equal(r.status, 414);
    free(r.body);
    close_client(fd);
}

static void test_body_over_cap_is_413(void **state)
{
    struct fixture *fx = *state;
    int fd = client(fx);
    const char *head = "POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
    send_all(fd, head, strlen(head));
    static char body[ADMIN_MAX_BODY + 10];
    memset(body, 'b', sizeof(body));
    /* the server may close before taking it all: ignore send errors */
    size_t off = 0;
    double deadline = now_s() + 5;
    struct response r;
    while (off < sizeof(body) && now_s() < deadline) {
        ssize_t k = send(fd, body + off, sizeof(body) - off, MSG_NOSIGNAL);
        if (k > 0)
            off += (size_t)k;
        else if (errno != EAGAIN)
            break;
        ev_run(fx->loop, EVRUN_NOWAIT);
    }
    read_response(fx, fd, false, &r);
    assert_int_equal(r.status, 413);
    free(r.body);
    close_client(fd);
}

static void test_pipelined_requests_answer_in_order(void **state)
{
    struct fixture *fx = *state;
    int fd = client(fx);
    const char *reqs = "GET /healthz HTTP/1.1\r\n\r\n"
                       "GET /nope HTTP/1.1\r\n\r\n"
                       "HEAD /stats HTTP/1.1\r\n\r\n"
                       "GET /stats HTTP/1.1\r\n\r\n";
    send_all(fd, reqs, strlen(reqs));
    struct response r;
    read_response(fx, fd, false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    free(r.body);
    read_response(fx, fd, false, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    read_response(fx, fd, true, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "application/json"));
    free(r.body);
    read_response(fx, fd, false, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body[0], '{');
    free(r.body);

    /* a request split across reads */
    send_all(fd, "GET /heal", 9);
    for (int i = 0; i < 20; i++)
        ev_run(fx->loop, EVRUN_NOWAIT);
    roundtrip(fx, fd, "thz HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    close_client(fd);
}

static void test_http10_and_connection_close(void **state)
{
    struct fixture *fx = *state;
    int fd = client(fx);
    struct response r;
    roundtrip(fx, fd, "GET /healthz HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Connection: close"));
    free(r.body);
    assert_true(wait_closed(fx, fd));
    close_client(fd);

    fd = client(fx);
    roundtrip(fx, fd, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(wait_closed(fx, fd));
    close_client(fd);
}

static void test_concurrent_connections(void **state)
{
    struct fixture *fx = *state;
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = client(fx);
    /* the first three send part of a request; the last completes first */
    for (int i = 0; i < 3; i++)
        send_all(fds[i], "GET /health", 11);
    struct response r;
    roundtrip(fx, fds[3], "GET /metrics HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    for (int i = 2; i >= 0; i--) {
        roundtrip(fx, fds[i], "z HTTP/1.1\r\n\r\n", &r);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    for (int i = 0; i < 4; i++)
        close_client(fds[i]);
    /* the server notices the closes; admin_free() in teardown frees the rest */
    for (int i = 0; i < 20; i++)
        ev_run(fx->loop, EVRUN_NOWAIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz_follows_the_shutdown_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_follows_the_shutdown_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_in_prometheus_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_in_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_workers_per_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_paths_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_400_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_cap_is_413, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_requests_answer_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_and_connection_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
