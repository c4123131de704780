/* Unit tests for proxy/xlate.c's and proxy/xlate_h2.c's responses and
 * trailers: the HTTP/1.1 head with its Connection by the client's
 * version, which trailer fields pass, the reset code sent on for one
 * received, bodyless statuses and reasons; and the HTTP/2 header blocks
 * h2gate builds (struct xlate_nv: the backend's fields filtered and
 * borrowed, its own answers, interim responses and trailers never cut),
 * with the HTTP/1.1 interim head and last chunk beside them. */
#include "tests/unit/proxy/xlate_render.h"

#include <string.h>

static void test_trailer_ok(void **state)
{
    (void)state;
    assert_true(xlate_trailer_ok(STR_LIT("grpc-status")));
    assert_true(xlate_trailer_ok(STR_LIT("x-checksum")));
    assert_false(xlate_trailer_ok(STR_LIT(":status")));
    assert_false(xlate_trailer_ok(STR_LIT("content-length")));
    assert_false(xlate_trailer_ok(STR_LIT("transfer-encoding")));
    assert_false(xlate_trailer_ok(STR_LIT("connection")));
    assert_false(xlate_trailer_ok(STR_LIT("te")));
    assert_false(xlate_trailer_ok(STR_LIT("host")));
    assert_false(xlate_trailer_ok(STR_LIT("trailer")));
    assert_false(xlate_trailer_ok(STR_LIT("")));
}

static void test_rst_code_map(void **state)
{
    (void)state;
    static const uint32_t pass[] = { 0x2, 0x7, 0x8, 0xa, 0xb, 0xc, 0xd };
    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
        assert_int_equal(xlate_rst_code(pass[i]), pass[i]);
    static const uint32_t hop[] = { 0x0, 0x1, 0x3, 0x4, 0x5, 0x6, 0x9, 0xe, 0xffffffff };
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        assert_int_equal(xlate_rst_code(hop[i]), 0x2);
}

static void test_resp_h1(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("content-type"), STR_LIT("text/plain"), false);
    hdrs_add(&h, STR_LIT("keep-alive"), STR_LIT("timeout=5"), false);
    hdrs_add(&h, STR_LIT("content-length"), STR_LIT("12"), false);
    struct xlate_resp r = { .status = 200,
                            .hdrs = &h,
                            .backend_proto = "1.1",
                            .content_length = -1,
                            .chunked = true,
                            .keep_alive = false };
    char out[1024];
    render_resp(&r, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
                             "content-type: text/plain\r\n"
                             "via: 1.1 h2gate\r\n"
                             "transfer-encoding: chunked\r\n"
                             "connection: close\r\n"
                             "\r\n");
    hdrs_cleanup(&h);
}

/* Connection field of a 200 head with keep_alive and http10 as given. */
static void resp_h1_connection(bool keep_alive, bool http10, const char *want)
{
    struct xlate_resp r = { .status = 200, .content_length = 2, .keep_alive = keep_alive,
                            .http10 = http10, .hdrs = NULL, .content_type = "text/plain" };
    char out[512];
    render_resp(&r, out, sizeof(out));
    char expect[512];
    snprintf(expect, sizeof(expect),
             "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n%s\r\n", want);
    assert_string_equal(out, expect);
}

/* An HTTP/1.0 client keeps its connection only when the answer says
 * keep-alive (RFC 9112 §9.3); an HTTP/1.1 one unless it says close. */
static void test_resp_h1_connection(void **state)
{
    (void)state;
    resp_h1_connection(true, false, "");
    resp_h1_connection(false, false, "connection: close\r\n");
    resp_h1_connection(true, true, "connection: keep-alive\r\n");
    resp_h1_connection(false, true, "connection: close\r\n");
}

static void test_bodyless(void **state)
{
    (void)state;
    assert_true(xlate_resp_bodyless(204, false));
    assert_true(xlate_resp_bodyless(304, false));
    assert_true(xlate_resp_bodyless(100, false));
    assert_true(xlate_resp_bodyless(200, true));
    assert_false(xlate_resp_bodyless(200, false));
    assert_string_equal(xlate_reason(502), "Bad Gateway");
    assert_string_equal(xlate_reason(299), "");
}

/* ---- header blocks h2gate builds ---- */

static void fill_numbered(struct hdrs *h, const char *prefix, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[32], value[32];
        int nl = snprintf(name, sizeof(name), "%s-%03zu", prefix, i);
        int vl = snprintf(value, sizeof(value), "v%zu", i);
        assert_int_equal(hdrs_add(h, str_make(name, (size_t)nl), str_make(value, (size_t)vl),
                                  false),
                         0);
    }
}

static bool nv_is(const nghttp2_nv *nv, const char *name, const char *value)
{
    return nv->namelen == strlen(name) && memcmp(nv->name, name, nv->namelen) == 0 &&
           nv->valuelen == strlen(value) && memcmp(nv->value, value, nv->valuelen) == 0;
}

/* 300 trailer fields, far past the stack array, keep every field in
 * order (the old copies cut them at 64). */
static void test_nv_trailers_not_cut(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 65536, 500);
    fill_numbered(&h, "x-t", 300);
    hdrs_add(&h, STR_LIT("content-length"), STR_LIT("5"), false);
    hdrs_add(&h, STR_LIT("te"), STR_LIT("trailers"), false);
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_nv_add_hdrs(&nv, &h, XLATE_TRAILER, NGHTTP2_NV_FLAG_NONE);
    assert_int_equal(nv.num, 300);
    for (size_t i = 0; i < 300; i++) {
        char name[32], value[32];
        snprintf(name, sizeof(name), "x-t-%03zu", i);
        snprintf(value, sizeof(value), "v%zu", i);
        assert_true(nv_is(&nv.v[i], name, value));
        assert_int_equal(nv.v[i].flags, NGHTTP2_NV_FLAG_NONE);
    }
    xlate_nv_cleanup(&nv);
    assert_int_equal(nv.num, 0);
    hdrs_cleanup(&h);
}

static void test_nv_filters(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("x-hop"), false);
    hdrs_add(&h, STR_LIT("x-hop"), STR_LIT("1"), false);
    hdrs_add(&h, STR_LIT("host"), STR_LIT("a"), false);
    hdrs_add(&h, STR_LIT("x-ok"), STR_LIT("2"), false);
    hdrs_add(&h, STR_LIT("keep-alive"), STR_LIT("3"), false);
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_nv_add_hdrs(&nv, &h, XLATE_ALL, NGHTTP2_NV_FLAG_NONE);
    assert_int_equal(nv.num, 5);
    xlate_nv_cleanup(&nv);
    xlate_nv_add_hdrs(&nv, &h, XLATE_END_TO_END, NGHTTP2_NV_FLAG_NONE);
    assert_int_equal(nv.num, 2);
    assert_true(nv_is(&nv.v[0], "host", "a"));
    assert_true(nv_is(&nv.v[1], "x-ok", "2"));
    xlate_nv_cleanup(&nv);
    xlate_nv_add_hdrs(&nv, &h, XLATE_TRAILER, NGHTTP2_NV_FLAG_NONE);
    assert_int_equal(nv.num, 2); /* x-hop is not a hop field by name */
    assert_true(nv_is(&nv.v[0], "x-hop", "1"));
    assert_true(nv_is(&nv.v[1], "x-ok", "2"));
    xlate_nv_cleanup(&nv);
    hdrs_cleanup(&h);
}

static void test_resp_h2_backend(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("content-type"), STR_LIT("text/html"), false);
    hdrs_add(&h, STR_LIT("transfer-encoding"), STR_LIT("chunked"), false);
    hdrs_add(&h, STR_LIT("via"), STR_LIT("1.0 cache"), false);
    struct xlate_resp r = { .status = 404, .hdrs = &h, .backend_proto = "2",
                            .content_length = -1 };
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_resp_h2(&nv, &r);
    assert_int_equal(nv.num, 4);
    assert_true(nv_is(&nv.v[0], ":status", "404"));
    assert_true(nv_is(&nv.v[1], "content-type", "text/html"));
    assert_true(nv_is(&nv.v[2], "via", "1.0 cache"));
    assert_true(nv_is(&nv.v[3], "via", "2 h2gate"));
    /* the backend's fields are borrowed, values formatted here copied */
    assert_int_equal(nv.v[1].flags,
                     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
    assert_int_equal(nv.v[0].flags, NGHTTP2_NV_FLAG_NO_COPY_NAME);
    assert_int_equal(nv.v[3].flags, NGHTTP2_NV_FLAG_NO_COPY_NAME);
    xlate_nv_cleanup(&nv);
    r.backend_proto = NULL; /* --no-via */
    xlate_resp_h2(&nv, &r);
    assert_int_equal(nv.num, 3);
    xlate_nv_cleanup(&nv);
    hdrs_cleanup(&h);
}

static void test_resp_h2_own_answer(void **state)
{
    (void)state;
    char body[64];
    size_t bl = xlate_error_body(body, sizeof(body), 407);
    assert_int_equal(bl, strlen("407 Proxy Authentication Required\n"));
    assert_memory_equal(body, "407 Proxy Authentication Required\n", bl);
    struct xlate_resp r = { .status = 407,
                            .content_length = (int64_t)bl,
                            .proxy_status = "http_request_denied",
                            .auth_challenge = "Basic realm=\"h2gate\"" };
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_resp_h2(&nv, &r);
    assert_int_equal(nv.num, 5);
    assert_true(nv_is(&nv.v[0], ":status", "407"));
    assert_true(nv_is(&nv.v[1], "content-type", "text/plain; charset=utf-8"));
    assert_true(nv_is(&nv.v[2], "content-length", "34"));
    assert_true(nv_is(&nv.v[3], "proxy-status", "h2gate; error=http_request_denied"));
    assert_true(nv_is(&nv.v[4], "proxy-authenticate", "Basic realm=\"h2gate\""));
    xlate_nv_cleanup(&nv);
}

/* Interim responses carry every end-to-end field (the old copy cut them at
 * 32), in both protocols. */
static void test_interim_not_cut(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 65536, 500);
    fill_numbered(&h, "link", 60);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("close"), false);
    struct xlate_nv nv;
    xlate_nv_init(&nv);
    xlate_interim_h2(&nv, 103, &h);
    assert_int_equal(nv.num, 61);
    assert_true(nv_is(&nv.v[0], ":status", "103"));
    assert_true(nv_is(&nv.v[60], "link-059", "v59"));
    for (size_t i = 0; i < nv.num; i++)
        assert_int_equal(nv.v[i].flags & NGHTTP2_NV_FLAG_NO_COPY_VALUE, 0);
    xlate_nv_cleanup(&nv);

    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    xlate_interim_h1(&q, 103, &h);
    static char out[4096];
    size_t n = bufq_read(&q, out, sizeof(out) - 1);
    out[n] = '\0';
    assert_true(strncmp(out, "HTTP/1.1 103 Early Hints\r\nlink-000: v0\r\n", 40) == 0);
    assert_non_null(strstr(out, "link-059: v59\r\n\r\n"));
    assert_null(strstr(out, "connection"));
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
    hdrs_cleanup(&h);
}

static void test_last_chunk_h1(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 65536, 500);
    hdrs_add(&h, STR_LIT("x-sum"), STR_LIT("abc"), false);
    hdrs_add(&h, STR_LIT("content-length"), STR_LIT("3"), false);
    hdrs_add(&h, STR_LIT("x-n"), STR_LIT("1"), false);
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    xlate_last_chunk_h1(&q, &h);
    char out[256];
    size_t n = bufq_read(&q, out, sizeof(out) - 1);
    out[n] = '\0';
    assert_string_equal(out, "0\r\nx-sum: abc\r\nx-n: 1\r\n\r\n");
    hdrs_reset(&h);
    xlate_last_chunk_h1(&q, &h);
    n = bufq_read(&q, out, sizeof(out) - 1);
    out[n] = '\0';
    assert_string_equal(out, "0\r\n\r\n");
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
    hdrs_cleanup(&h);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trailer_ok),
        cmocka_unit_test(test_rst_code_map),
        cmocka_unit_test(test_resp_h1),
        cmocka_unit_test(test_resp_h1_connection),
        cmocka_unit_test(test_bodyless),
        cmocka_unit_test(test_nv_trailers_not_cut),
        cmocka_unit_test(test_nv_filters),
        cmocka_unit_test(test_resp_h2_backend),
        cmocka_unit_test(test_resp_h2_own_answer),
        cmocka_unit_test(test_interim_not_cut),
        cmocka_unit_test(test_last_chunk_h1),
    };
    return cmocka_run_group_tests_name("proxy/xlate_resp", tests, NULL, NULL);
}
