/* Unit tests for common/stats.c: per-worker blocks, sums, histograms and
 * the Prometheus / JSON renderers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/stats.h"
#include "common/version.h"
#include "common/xalloc.h"

/* Renders into a NUL-terminated heap string. */
static char *render(const struct stats_snapshot *snap, const char *const *names, bool json)
{
    struct buf_pool pool;
    buf_pool_init(&pool, 4);
    struct bufq q;
    bufq_init(&q, &pool);
    if (json)
        stats_render_json(snap, names, &q);
    else
        stats_render_prometheus(snap, names, &q);
    size_t len = bufq_len(&q);
    char *s = xmalloc(len + 1);
    bufq_read(&q, s, len);
    s[len] = '\0';
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
    return s;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    }
    return false;
}

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_block_is_cache_line_aligned(void **state)
{
    (void)state;
    assert_int_equal(_Alignof(struct stats), 64);
    assert_int_equal(sizeof(struct stats) % 64, 0);
    for (size_t nb = 0; nb < 5; nb++) {
        struct stats *s = stats_new(nb);
        assert_int_equal((uintptr_t)s % 64, 0);
        assert_int_equal(s->num_backends, nb ? STATS_CHUNK : 0);
        /* zeroed, including the "no backend" slot */
        assert_int_equal(atomic_load(&s->none.retries[0]), 0);
        if (nb)
            assert_int_equal(atomic_load(&stats_backend_cells(s, (long)nb - 1)->retries[0]), 0);
        assert_int_equal(atomic_load(&s->conn_accepted[0]), 0);
        stats_free(s);
    }
    stats_free(NULL);
}

/* A reload adds backends: new slots get cells, old cells keep their counts,
 * and past the cap the block refuses to grow. */
static void test_grow_keeps_cells(void **state)
{
    (void)state;
    struct stats *s = stats_new(2);
    stats_backend_retry(s, 1);
    assert_int_equal(stats_grow(s, STATS_CHUNK + 1), 0);
    assert_int_equal(s->num_backends, 2 * STATS_CHUNK);
    stats_backend_retry(s, STATS_CHUNK);
    assert_int_equal(atomic_load(&stats_backend_cells(s, 1)->retries[0]), 1);
    assert_int_equal(atomic_load(&stats_backend_cells(s, STATS_CHUNK)->retries[0]), 1);
    assert_int_equal(atomic_load(&s->none.retries[0]), 0);
    assert_int_equal(stats_grow(s, 1), 0);
    assert_int_equal(s->num_backends, 2 * STATS_CHUNK);
    assert_int_not_equal(stats_grow(s, (size_t)STATS_MAX_CHUNKS * STATS_CHUNK + 1), 0);
    stats_free(s);
}

static void test_null_block_is_ignored(void **state)
{
    (void)state;
    stats_conn_opened(NULL, STATS_PROTO_H2);
    stats_request_done(NULL, STATS_PROTO_H2, 200, 0, false, 0.1, 0.01);
    stats_tunnel_closed(NULL, 1, 2, 3);
    stats_bytes(NULL, STATS_SIDE_CLIENT, STATS_DIR_IN, 5);
}

static void test_sum_over_three_workers_is_exact(void **state)
{
    (void)state;
    struct stats *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = stats_new(2);

    for (int i = 0; i < 3; i++) {
        for (int k = 0; k <= i; k++) {
            stats_conn_opened(w[i], STATS_PROTO_H2);
            stats_conn_opened(w[i], STATS_PROTO_HTTP1);
        }
        stats_conn_closed(w[i], STATS_PROTO_HTTP1);
        stats_stream_opened(w[i]);
        stats_stream_opened(w[i]);
        stats_stream_closed(w[i]);
        stats_request_done(w[i], STATS_PROTO_H2C, 204, 1, false, 0.003, 0.001);
        stats_request_done(w[i], STATS_PROTO_H2, 503, -1, false, 0.5, -1);
        stats_request_done(w[i], STATS_PROTO_H2, 0, 7, false, 0.5, -1); /* out of range backend */
        stats_bytes(w[i], STATS_SIDE_BACKEND, STATS_DIR_OUT, 1000);
        stats_bytes(w[i], STATS_SIDE_TUNNEL, STATS_DIR_IN, 7);
        stats_rst(w[i], true, 8);
        stats_rst(w[i], false, 0x1234);
        stats_goaway(w[i], true, 0);
        stats_backend_connect(w[i], 0, 0.0007);
        stats_backend_connect_failure(w[i], 1);
        stats_backend_connect_failure(w[i], -1);
        stats_backend_timeout(w[i], 0);
        stats_backend_retry(w[i], 1);
        stats_backend_conn_opened(w[i], 1);
        stats_backend_idle(w[i], 1, true);
        stats_backend_queue(w[i], 0, true);
        stats_backend_queue(w[i], 0, true);
        stats_backend_queue(w[i], 0, false);
        stats_backend_queue_overflow(w[i], 0);
        stats_tunnel_opened(w[i]);
        stats_tunnel_opened(w[i]);
        stats_tunnel_refused(w[i], STATS_TUNFAIL_AUTH);
        stats_tunnel_refused(w[i], STATS_TUNFAIL_DNS);
        stats_tls_handshake(w[i], STATS_TLS_13, true);
        stats_tls_handshake(w[i], STATS_TLS_12, false);
        stats_tls_failed(w[i], STATS_TLSFAIL_NOT_TLS);
        stats_dns_lookup(w[i], true);
        stats_dns_lookup(w[i], false);
        stats_dns_failure(w[i]);
        stats_request_done(w[i], STATS_PROTO_HTTP1, 200, 0, true, 3600.0, 0.002); /* a tunnel */
        stats_tunnel_closed(w[i], 2.0, 100, 200);
    }

    struct stats_snapshot s;
    stats_snapshot_init(&s, 2);
    stats_sum(w, 3, &s);
    assert_int_equal(s.conn_accepted[STATS_PROTO_H2], 6);
    assert_int_equal(s.conn_accepted[STATS_PROTO_HTTP1], 6);
    assert_int_equal(s.conn_accepted[STATS_PROTO_H2C], 0);
    assert_int_equal(s.conn_active[STATS_PROTO_H2], 6);
    assert_int_equal(s.conn_active[STATS_PROTO_HTTP1], 3);
    assert_int_equal(s.streams_active[0], 3);
    assert_int_equal(s.requests[STATS_PROTO_H2C * STATS_NUM_CLASSES + STATS_CLASS_2XX], 3);
    assert_int_equal(s.requests[STATS_PROTO_H2 * STATS_NUM_CLASSES + STATS_CLASS_5XX], 3);
    assert_int_equal(s.requests[STATS_PROTO_H2 * STATS_NUM_CLASSES + STATS_CLASS_OTHER], 3);
    assert_int_equal(s.backends[1].requests[STATS_CLASS_2XX], 3);
    assert_int_equal(s.backends[2].requests[STATS_CLASS_5XX], 3);   /* no backend */
    assert_int_equal(s.backends[2].requests[STATS_CLASS_OTHER], 3); /* index 7 */
    assert_int_equal(s.backend_bytes[STATS_DIR_OUT], 3000);
    assert_int_equal(s.backend_bytes[STATS_DIR_IN], 0);
    assert_int_equal(s.tunnel_target_bytes[STATS_DIR_IN], 21);
    assert_int_equal(s.client_bytes[STATS_DIR_IN] + s.client_bytes[STATS_DIR_OUT], 0);
    assert_int_equal(s.rst_stream[STATS_FRAME_SENT * STATS_NUM_H2_CODES + 8], 3);
    assert_int_equal(s.rst_stream[STATS_FRAME_RECEIVED * STATS_NUM_H2_CODES + 14], 3);
    assert_int_equal(s.goaway[0], 3);
    assert_int_equal(s.backends[0].connects[0], 3);
    assert_int_equal(s.backends[1].connect_failures[0], 3);
    assert_int_equal(s.backends[2].connect_failures[0], 3);
    assert_int_equal(s.backends[0].timeouts[0], 3);
    assert_int_equal(s.backends[1].retries[0], 3);
    assert_int_equal(s.backends[1].conns_active[0], 3);
    assert_int_equal(s.backends[0].conns_active[0], 0);
    assert_int_equal(s.backends[1].conns_idle[0], 3);
    assert_int_equal(s.backends[0].queue_len[0], 3);
    assert_int_equal(s.backends[0].queue_overflows[0], 3);
    assert_int_equal(s.tunnels[STATS_TUNNEL_OPENED], 6);
    assert_int_equal(s.tunnels[STATS_TUNNEL_DENIED], 3);
    assert_int_equal(s.tunnels[STATS_TUNNEL_FAILED], 3);
    assert_int_equal(s.tunnel_failures[STATS_TUNFAIL_AUTH], 3);
    assert_int_equal(s.tunnel_failures[STATS_TUNFAIL_DNS], 3);
    assert_int_equal(s.tunnel_failures[STATS_TUNFAIL_DENIED], 0);
    assert_int_equal(s.tls_handshakes[STATS_TLS_13], 3);
    assert_int_equal(s.tls_handshakes[STATS_TLS_12], 3);
    assert_int_equal(s.tls_resumed[0], 3);
    assert_int_equal(s.tls_failures[STATS_TLSFAIL_NOT_TLS], 3);
    assert_int_equal(s.dns_lookups[0], 6);
    assert_int_equal(s.dns_cache_hits[0], 3);
    assert_int_equal(s.dns_failures[0], 3);
    /* the tunnel is a request, but not in the request latency */
    assert_int_equal(s.requests[STATS_PROTO_HTTP1 * STATS_NUM_CLASSES + STATS_CLASS_2XX], 3);
    assert_int_equal(stats_hist_count(&s.backends[0].duration), 0);
    assert_int_equal(stats_hist_count(&s.backends[1].duration), 3);
    assert_int_equal(s.tunnels_active[0], 3);
    assert_int_equal(s.tunnel_bytes[STATS_TUNNEL_TO_TARGET], 300);
    assert_int_equal(s.tunnel_bytes[STATS_TUNNEL_TO_CLIENT], 600);
    assert_int_equal(stats_hist_count(&s.request_duration), 9);
    assert_int_equal(s.request_duration.sum_us, 3 * (3000 + 500000 + 500000));
    assert_int_equal(stats_hist_count(&s.ttfb), 6); /* a tunnel's 200 counts */
    assert_int_equal(stats_hist_count(&s.backend_connect_time), 3);
    assert_int_equal(s.backend_connect_time.buckets[1], 3); /* 700 us <= 1000 us */
    assert_int_equal(stats_hist_count(&s.tunnel_duration), 3);
    assert_int_equal(s.tunnel_duration.buckets[3], 3); /* 2 s: in (1 s, 5 s] */

    /* summing twice gives the same answer (the snapshot is overwritten) */
    stats_sum(w, 3, &s);
    assert_int_equal(s.conn_accepted[STATS_PROTO_H2], 6);
    /* a subset */
    stats_sum(w, 1, &s);
    assert_int_equal(s.conn_accepted[STATS_PROTO_H2], 1);

    stats_snapshot_cleanup(&s);
    for (int i = 0; i < 3; i++)
        stats_free(w[i]);
}

static void test_histogram_bucket_placement(void **state)
{
    (void)state;
    /* le semantics: a value equal to a bound lands in that bound's bucket */
    assert_int_equal(stats_hist_bucket(0), 0);
    assert_int_equal(stats_hist_bucket(1), 0);
    assert_int_equal(stats_hist_bucket(500), 0);
    assert_int_equal(stats_hist_bucket(501), 1);
    assert_int_equal(stats_hist_bucket(1000), 1);
    assert_int_equal(stats_hist_bucket(1001), 2);
    assert_int_equal(stats_hist_bucket(2000), 2);
    assert_int_equal(stats_hist_bucket(2001), 3);
    assert_int_equal(stats_hist_bucket(65536000), STATS_HIST_NUM_FINITE - 1);
    assert_int_equal(stats_hist_bucket(65536001), STATS_HIST_NUM_FINITE);
    assert_int_equal(stats_hist_bucket(UINT64_MAX / 2), STATS_HIST_NUM_FINITE);
    for (unsigned i = 0; i < STATS_HIST_NUM_FINITE; i++) {
        assert_int_equal(stats_hist_bucket(stats_hist_bound_us(i)), i);
        assert_int_equal(stats_hist_bucket(stats_hist_bound_us(i) + 1), i + 1);
    }
    assert_int_equal(stats_seconds_to_us(-1), 0);
    assert_int_equal(stats_seconds_to_us(0.0 / 0.0), 0);
    assert_int_equal(stats_seconds_to_us(0.001), 1000);
    assert_int_equal(stats_seconds_to_us(1.5), 1500000);
}

static void test_histogram_cumulative_output(void **state)
{
    (void)state;
    struct stats *w = stats_new(0);
    stats_request_done(w, STATS_PROTO_H2, 200, -1, false, 0.0001, -1); /* le 0.0005 */
    stats_request_done(w, STATS_PROTO_H2, 200, -1, false, 0.001, -1);  /* le 0.001 */
    stats_request_done(w, STATS_PROTO_H2, 200, -1, false, 0.0015, -1); /* le 0.002 */
    stats_request_done(w, STATS_PROTO_H2, 200, -1, false, 3.0, -1);    /* le 4.096 */
    stats_request_done(w, STATS_PROTO_H2, 200, -1, false, 100.0, -1);  /* +Inf */
    struct stats *const ws[] = { w };
    struct stats_snapshot s;
    stats_snapshot_init(&s, 0);
    stats_sum(ws, 1, &s);
    assert_int_equal(s.request_duration.buckets[0], 1);
    assert_int_equal(s.request_duration.buckets[1], 1);
    assert_int_equal(s.request_duration.buckets[2], 1);
    assert_int_equal(s.request_duration.buckets[13], 1);
    assert_int_equal(s.request_duration.buckets[STATS_HIST_NUM_FINITE], 1);
    assert_int_equal(s.request_duration.sum_us, 100 + 1000 + 1500 + 3000000 + 100000000);

    char *p = render(&s, NULL, false);
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"0.001\"} 2"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"0.002\"} 3"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"2.048\"} 3"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"4.096\"} 4"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"65.536\"} 4"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_bucket{le=\"+Inf\"} 5"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_count 5"));
    assert_true(has_line(p, "h2gate_request_duration_seconds_sum 103.002600"));
    assert_true(has_line(p, "h2gate_time_to_first_byte_seconds_count 0"));
    free(p);

    char *j = render(&s, NULL, true);
    assert_non_null(strstr(j, "\"h2gate_request_duration_seconds\": {\"buckets\": "
                              "{\"0.0005\": 1, \"0.001\": 2, \"0.002\": 3, "));
    assert_non_null(strstr(j, "\"65.536\": 4, \"+Inf\": 5}, \"sum\": 103.002600, "
                              "\"count\": 5}"));
    free(j);
    stats_snapshot_cleanup(&s);
    stats_free(w);
}

static const char *const contract_families[] = {
    "h2gate_workers",
    "h2gate_requests_total",
    "h2gate_connections_accepted_total",
    "h2gate_connections_active",
    "h2gate_streams_active",
    "h2gate_backend_connect_failures_total",
    "h2gate_tunnels_total",
    "h2gate_tunnels_active",
    "h2gate_client_bytes_total",
    "h2gate_backend_bytes_total",
    "h2gate_tunnel_target_bytes_total",
    "h2gate_backend_request_duration_seconds",
    "h2gate_tunnel_failures_total",
    "h2gate_tls_handshake_failures_total",
    "h2gate_build_info",
    "h2gate_request_duration_seconds",
};

static void test_prometheus_contract_names(void **state)
{
    (void)state;
    struct stats *w = stats_new(2);
    stats_conn_opened(w, STATS_PROTO_H2C);
    stats_request_done(w, STATS_PROTO_HTTP1, 404, 0, false, 0.01, 0.005);
    stats_bytes(w, STATS_SIDE_CLIENT, STATS_DIR_IN, 123);
    stats_tunnel_refused(w, STATS_TUNFAIL_DENIED);
    stats_backend_connect_failure(w, 1);
    stats_rst(w, false, 0xd);
    struct stats *const ws[] = { w };
    struct stats_snapshot s;
    stats_snapshot_init(&s, 2);
    stats_sum(ws, 1, &s);
    const char *const names[] = { "origin-a:8080", "weird\"name\\x" };
    char *p = render(&s, names, false);

    char buf[256];
    for (size_t i = 0; i < sizeof(contract_families) / sizeof(contract_families[0]); i++) {
        const char *fam = contract_families[i];
        snprintf(buf, sizeof(buf), "# HELP %s ", fam);
        assert_int_equal(count_occurrences(p, buf), 1);
        snprintf(buf, sizeof(buf), "# TYPE %s ", fam);
        assert_int_equal(count_occurrences(p, buf), 1);
    }
    assert_non_null(strstr(p, "# TYPE h2gate_requests_total counter\n"));
    assert_non_null(strstr(p, "# TYPE h2gate_connections_active gauge\n"));
    assert_non_null(strstr(p, "# TYPE h2gate_request_duration_seconds histogram\n"));
    assert_true(has_line(p, "h2gate_requests_total{protocol=\"http/1.1\",status_class=\"4xx\"} 1"));
    assert_true(has_line(p, "h2gate_requests_total{protocol=\"h2\",status_class=\"2xx\"} 0"));
    assert_true(has_line(p, "h2gate_connections_accepted_total{protocol=\"h2c\"} 1"));
    assert_true(has_line(p, "h2gate_connections_active{protocol=\"h2c\"} 1"));
    assert_true(has_line(p, "h2gate_streams_active 0"));
    assert_true(has_line(p, "h2gate_client_bytes_total{direction=\"in\"} 123"));
    assert_true(has_line(p, "h2gate_tunnel_failures_total{cause=\"denied\"} 1"));
    assert_true(has_line(p, "h2gate_build_info{version=\"" H2G_VERSION "\"} 1"));
    /* a backend histogram: one series set per backend, the backend label first */
    assert_true(has_line(p, "h2gate_backend_request_duration_seconds_bucket"
                            "{backend=\"origin-a:8080\",le=\"0.016\"} 1"));
    assert_true(has_line(p, "h2gate_backend_request_duration_seconds_count"
                            "{backend=\"origin-a:8080\"} 1"));
    assert_true(has_line(p, "h2gate_backend_request_duration_seconds_bucket"
                            "{backend=\"weird\\\"name\\\\x\",le=\"+Inf\"} 0"));
    /* long histograms: connection-scale bounds */
    assert_true(has_line(p, "h2gate_tunnel_duration_seconds_bucket{le=\"86400\"} 0"));
    assert_true(has_line(p, "h2gate_tunnel_duration_seconds_bucket{le=\"0.01\"} 0"));
    assert_true(has_line(p, "h2gate_tunnels_total{result=\"denied\"} 1"));
    assert_true(has_line(p, "h2gate_tunnels_total{result=\"opened\"} 0"));
    assert_true(has_line(p, "h2gate_tunnels_active 0"));
    assert_true(has_line(p, "h2gate_rst_stream_total{direction=\"received\","
                            "error_code=\"HTTP_1_1_REQUIRED\"} 1"));
    assert_true(has_line(p, "h2gate_backend_requests_total{backend=\"origin-a:8080\","
                            "status_class=\"4xx\"} 1"));
    /* label values are escaped */
    assert_true(has_line(p, "h2gate_backend_connect_failures_total"
                            "{backend=\"weird\\\"name\\\\x\"} 1"));
    assert_true(has_line(p, "h2gate_backend_connect_failures_total{backend=\"origin-a:8080\"} 0"));
    /* the "no backend" series appears only when non-zero */
    assert_null(strstr(p, "backend=\"-\""));
    free(p);

    stats_request_done(w, STATS_PROTO_H2, 404, -1, false, 0.01, -1);
    stats_sum(ws, 1, &s);
    p = render(&s, NULL, false);
    assert_true(has_line(p, "h2gate_backend_requests_total{backend=\"-\",status_class=\"4xx\"} 1"));
    assert_true(has_line(p, "h2gate_backend_requests_total{backend=\"0\",status_class=\"4xx\"} 1"));
    assert_null(strstr(p, "h2gate_backend_retries_total{backend=\"-\"}"));
    free(p);

    stats_snapshot_cleanup(&s);
    stats_free(w);
}

static void test_json_has_the_same_numbers(void **state)
{
    (void)state;
    struct stats *w[2] = { stats_new(1), stats_new(1) };
    stats_conn_opened(w[0], STATS_PROTO_H2);
    stats_conn_opened(w[1], STATS_PROTO_H2);
    stats_conn_opened(w[1], STATS_PROTO_HTTP1);
    stats_request_done(w[0], STATS_PROTO_H2, 200, 0, false, 0.25, 0.01);
    stats_request_done(w[1], STATS_PROTO_H2, 302, 0, false, 0.25, 0.01);
    stats_bytes(w[1], STATS_SIDE_TUNNEL, STATS_DIR_OUT, 4096);
    stats_backend_connect_failure(w[0], 0);
    stats_tunnel_opened(w[1]);
    stats_rst(w[0], true, 2);
    struct stats_snapshot s;
    stats_snapshot_init(&s, 1);
    stats_sum(w, 2, &s);
    const char *const names[] = { "be\n1" };
    char *j = render(&s, names, true);
    char *p = render(&s, names, false);

    assert_true(j[0] == '{');
    assert_non_null(strstr(j, "\"h2gate_connections_accepted_total\": "
                              "{\"h2\": 2, \"h2c\": 0, \"http/1.1\": 1}"));
    assert_non_null(strstr(p, "h2gate_connections_accepted_total{protocol=\"h2\"} 2\n"));
    assert_non_null(strstr(j, "\"h2gate_requests_total\": {\"h2\": {\"1xx\": 0, \"2xx\": 1, "
                              "\"3xx\": 1, \"4xx\": 0, \"5xx\": 0, \"other\": 0}"));
    assert_non_null(strstr(j, "\"h2gate_client_bytes_total\": {\"in\": 0, \"out\": 0}"));
    assert_non_null(strstr(j, "\"h2gate_tunnel_target_bytes_total\": {\"in\": 0, \"out\": 4096}"));
    assert_non_null(strstr(p, "h2gate_tunnel_target_bytes_total{direction=\"out\"} 4096\n"));
    assert_non_null(strstr(j, "\"h2gate_backend_request_duration_seconds\": {\"be\\u000a1\": "
                              "{\"buckets\": {\"0.0005\": 0"));
    assert_non_null(strstr(j, "\"h2gate_build_info\": {\"" H2G_VERSION "\": 1}"));
    assert_non_null(strstr(j, "\"h2gate_backend_connect_failures_total\": {\"be\\u000a1\": 1}"));
    assert_non_null(strstr(p, "h2gate_backend_connect_failures_total{backend=\"be\\n1\"} 1\n"));
    assert_non_null(strstr(j, "\"h2gate_tunnels_active\": 1"));
    assert_non_null(strstr(j, "\"h2gate_rst_stream_total\": {\"sent\": {\"NO_ERROR\": 0, "
                              "\"PROTOCOL_ERROR\": 0, \"INTERNAL_ERROR\": 1"));
    assert_non_null(strstr(j, "\"h2gate_request_duration_seconds\": {\"buckets\": "));
    assert_non_null(strstr(j, "\"+Inf\": 2}, \"sum\": 0.500000, \"count\": 2}"));
    assert_non_null(strstr(p, "h2gate_request_duration_seconds_sum 0.500000\n"));
    /* every family is a key */
    for (size_t i = 0; i < sizeof(contract_families) / sizeof(contract_families[0]); i++) {
        char key[128];
        snprintf(key, sizeof(key), "\"%s\": ", contract_families[i]);
        assert_int_equal(count_occurrences(j, key), 1);
    }
    assert_true(strcmp(j + strlen(j) - 3, "\n}\n") == 0);
    free(j);
    free(p);
    stats_snapshot_cleanup(&s);
    stats_free(w[0]);
    stats_free(w[1]);
}

/* ---- cross-thread: writers never wait, readers never see a counter go back ---- */

#define CROSS_ITERS 1000000

struct writer_arg {
    struct stats *s;
    atomic_bool *go;
};

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    while (!atomic_load(a->go))
        ;
    for (int i = 0; i < CROSS_ITERS; i++) {
        stats_conn_opened(a->s, STATS_PROTO_H2);
        stats_bytes(a->s, STATS_SIDE_CLIENT, STATS_DIR_IN, 3);
        stats_conn_closed(a->s, STATS_PROTO_H2);
    }
    return NULL;
}

static void test_cross_thread_sums_are_monotonic_and_exact(void **state)
{
    (void)state;
    struct stats *w[2] = { stats_new(1), stats_new(1) };
    atomic_bool go = false;
    struct writer_arg args[2] = { { w[0], &go }, { w[1], &go } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);

    struct stats_snapshot s;
    stats_snapshot_init(&s, 1);
    uint64_t last_acc = 0, last_bytes = 0;
    size_t reads = 0;
    atomic_store(&go, true);
    do {
        stats_sum(w, 2, &s);
        uint64_t acc = s.conn_accepted[STATS_PROTO_H2];
        uint64_t bytes = s.client_bytes[STATS_DIR_IN];
        assert_true(acc >= last_acc);
        assert_true(bytes >= last_bytes);
        assert_true(acc <= 2 * CROSS_ITERS);
        /* the gauge is 0 or 1 per worker at any instant */
        assert_true(s.conn_active[STATS_PROTO_H2] <= 2);
        last_acc = acc;
        last_bytes = bytes;
        reads++;
    } while (last_acc < 2 * CROSS_ITERS || last_bytes < 6ull * CROSS_ITERS);

    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    stats_sum(w, 2, &s);
    assert_int_equal(s.conn_accepted[STATS_PROTO_H2], 2 * CROSS_ITERS);
    assert_int_equal(s.client_bytes[STATS_DIR_IN], 6ull * CROSS_ITERS);
    assert_int_equal(s.conn_active[STATS_PROTO_H2], 0);
    assert_true(reads > 0);
    stats_snapshot_cleanup(&s);
    stats_free(w[0]);
    stats_free(w[1]);
}

/* A reclaimed backend slot (names[b] NULL) has no series in either
 * rendering, and stats_clear_backend zeroes its cells for the next
 * member while the other slots keep theirs. */
static void test_free_slot_not_rendered_and_cleared(void **state)
{
    (void)state;
    struct stats *w = stats_new(2);
    stats_request_done(w, STATS_PROTO_HTTP1, 200, 0, false, 0.01, 0.005);
    stats_request_done(w, STATS_PROTO_HTTP1, 200, 1, false, 0.01, 0.005);
    stats_backend_connect(w, 0, 0.001);
    struct stats *const ws[] = { w };
    struct stats_snapshot s;
    stats_snapshot_init(&s, 2);
    stats_sum(ws, 1, &s);
    const char *const names[] = { NULL, "kept:80" };
    char *p = render(&s, names, false);
    assert_null(strstr(p, "backend=\"0\""));
    assert_true(has_line(p, "h2gate_backend_requests_total{backend=\"kept:80\","
                            "status_class=\"2xx\"} 1"));
    free(p);
    p = render(&s, names, true);
    assert_null(strstr(p, "\"0\""));
    assert_non_null(strstr(p, "\"kept:80\""));
    free(p);
    stats_clear_backend(w, 0);
    stats_sum(ws, 1, &s);
    const char *const reused[] = { "new:80", "kept:80" };
    p = render(&s, reused, false);
    assert_true(has_line(p, "h2gate_backend_requests_total{backend=\"new:80\","
                            "status_class=\"2xx\"} 0"));
    assert_true(has_line(p, "h2gate_backend_connects_total{backend=\"new:80\"} 0"));
    assert_true(has_line(p, "h2gate_backend_request_duration_seconds_count"
                            "{backend=\"new:80\"} 0"));
    assert_true(has_line(p, "h2gate_backend_requests_total{backend=\"kept:80\","
                            "status_class=\"2xx\"} 1"));
    free(p);
    stats_snapshot_cleanup(&s);
    stats_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_slot_not_rendered_and_cleared),
        cmocka_unit_test(test_block_is_cache_line_aligned),
        cmocka_unit_test(test_grow_keeps_cells),
        cmocka_unit_test(test_null_block_is_ignored),
        cmocka_unit_test(test_sum_over_three_workers_is_exact),
        cmocka_unit_test(test_histogram_bucket_placement),
        cmocka_unit_test(test_histogram_cumulative_output),
        cmocka_unit_test(test_prometheus_contract_names),
        cmocka_unit_test(test_json_has_the_same_numbers),
        cmocka_unit_test(test_cross_thread_sums_are_monotonic_and_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
