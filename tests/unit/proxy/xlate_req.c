/* Unit tests for proxy/xlate.c's requests, h2 <-> h1, driven with bytes:
 * xlate_req_h1 and xlate_req_h2 from the same struct xlate_req and
 * xlate_opts (Host and :authority, Cookie joined or in crumbs, TE,
 * X-Forwarded-For, X-Forwarded-Proto, Forwarded and Via, the added fields,
 * RFC 9440 client certificate fields) and the field caps of an HTTP/2
 * request. */
#include "tests/unit/proxy/xlate_render.h"

#include <string.h>

#include "common/err.h"

static void test_req_h2_to_h1(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT(":method"), STR_LIT("GET"), false);
    hdrs_add(&h, STR_LIT("cookie"), STR_LIT("a=1"), false);
    hdrs_add(&h, STR_LIT("user-agent"), STR_LIT("t"), false);
    hdrs_add(&h, STR_LIT("cookie"), STR_LIT("b=2"), false);
    hdrs_add(&h, STR_LIT("te"), STR_LIT("trailers"), false);
    hdrs_add(&h, STR_LIT("host"), STR_LIT("ignored"), false);
    hdrs_add(&h, STR_LIT("content-length"), STR_LIT("99"), false);
    hdrs_add(&h, STR_LIT("expect"), STR_LIT("100-continue"), false);
    struct xlate_req r = { .method = STR_LIT("POST"),
                           .authority = STR_LIT("example.com:8443"),
                           .path = STR_LIT("/p?q=1"),
                           .hdrs = &h,
                           .client_proto = "2",
                           .client_addr = STR_LIT("10.0.0.1"),
                           .tls = true,
                           .content_length = 5 };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = true };
    char out[2048];
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "POST /p?q=1 HTTP/1.1\r\n"
                             "host: example.com:8443\r\n"
                             "user-agent: t\r\n"
                             "te: trailers\r\n"
                             "cookie: a=1; b=2\r\n"
                             "x-forwarded-proto: https\r\n"
                             "via: 2 h2gate\r\n"
                             "content-length: 5\r\n"
                             "\r\n");
    hdrs_cleanup(&h);
}

static void test_req_te_not_trailers_dropped_and_xff_appended(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("te"), STR_LIT("gzip"), false);
    hdrs_add(&h, STR_LIT("x-forwarded-for"), STR_LIT("1.2.3.4"), false);
    hdrs_add(&h, STR_LIT("via"), STR_LIT("1.0 other"), false);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("x-secret"), false);
    hdrs_add(&h, STR_LIT("x-secret"), STR_LIT("s"), false);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .client_addr = STR_LIT("127.0.0.1"),
                           .content_length = -1,
                           .chunked = true };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = true, .xff = true };
    char out[2048];
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET / HTTP/1.1\r\n"
                             "host: a\r\n"
                             "x-forwarded-for: 1.2.3.4, 127.0.0.1\r\n"
                             "x-forwarded-proto: http\r\n"
                             "via: 1.0 other, 1.1 h2gate\r\n"
                             "transfer-encoding: chunked\r\n"
                             "\r\n");
    o = (struct xlate_opts){ .xfp = true, .strip_xfp = true, .via = false, .xff = true,
                             .strip_xff = true };
    render_req(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, "x-forwarded-for: 127.0.0.1\r\n"));
    assert_null(strstr(out, "1.2.3.4"));
    assert_null(strstr(out, "h2gate"));
    assert_non_null(strstr(out, "via: 1.0 other\r\n"));
    hdrs_cleanup(&h);
}

/* X-Forwarded-Proto and Forwarded: the client's kept in front or
 * stripped, h2gate's own added or not; --add-request-header fields last;
 * the same on both request paths. */
static void test_req_forwarded_lists(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("x-forwarded-proto"), STR_LIT("https"), false);
    hdrs_add(&h, STR_LIT("forwarded"), STR_LIT("for=192.0.2.1"), false);
    hdrs_add(&h, STR_LIT("forwarded"), STR_LIT("for=192.0.2.2"), false);
    struct xlate_req r = { .method = STR_LIT("GET"), .authority = STR_LIT("a"),
                           .path = STR_LIT("/"), .hdrs = &h, .client_proto = "1.1",
                           .client_addr = STR_LIT("127.0.0.1"), .content_length = -1 };
    struct cfg_field f[] = { { "x-a", "1" }, { "x-b", "two words" } };
    struct cfg_fields add = { f, 2 };
    /* Defaults: the client's X-Forwarded-Proto replaced, its Forwarded
     * passed (joined into one field). */
    struct xlate_opts o = { .xfp = true, .strip_xfp = true };
    char out[2048], out2[2048];
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET / HTTP/1.1\r\nhost: a\r\n"
                             "x-forwarded-proto: http\r\n"
                             "forwarded: for=192.0.2.1, for=192.0.2.2\r\n\r\n");
    /* A trusted balancer's X-Forwarded-Proto kept, ours after it; our
     * Forwarded element after the client's; the added fields. */
    o = (struct xlate_opts){ .xfp = true, .fwd = STR_LIT("for=_x;proto=http"), .add = &add };
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET / HTTP/1.1\r\nhost: a\r\n"
                             "x-forwarded-proto: https, http\r\n"
                             "forwarded: for=192.0.2.1, for=192.0.2.2, for=_x;proto=http\r\n"
                             "x-a: 1\r\nx-b: two words\r\n\r\n");
    render_req_h2(&r, &o, out2, sizeof(out2));
    assert_non_null(strstr(out2, "x-forwarded-proto: https, http\n"));
    assert_non_null(strstr(out2, "forwarded: for=192.0.2.1, for=192.0.2.2, for=_x;proto=http\n"));
    assert_non_null(strstr(out2, "x-a: 1\nx-b: two words\n"));
    /* Kept but not added; stripped and not added: none at all. */
    o = (struct xlate_opts){ .strip_fwd = true };
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET / HTTP/1.1\r\nhost: a\r\n"
                             "x-forwarded-proto: https\r\n\r\n");
    o = (struct xlate_opts){ .strip_xfp = true, .strip_fwd = true, .fwd = STR_LIT("by=_y") };
    render_req_h2(&r, &o, out2, sizeof(out2));
    assert_null(strstr(out2, "x-forwarded-proto"));
    assert_non_null(strstr(out2, "\nforwarded: by=_y\n"));
    assert_null(strstr(out2, "192.0.2"));
    hdrs_cleanup(&h);
}

static void test_req_to_h2(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT(":method"), STR_LIT("POST"), false);
    hdrs_add(&h, STR_LIT("cookie"), STR_LIT("a=1"), false);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("x-secret"), false);
    hdrs_add(&h, STR_LIT("x-secret"), STR_LIT("s"), false);
    hdrs_add(&h, STR_LIT("cookie"), STR_LIT("b=2"), false);
    hdrs_add(&h, STR_LIT("te"), STR_LIT("gzip, trailers"), false);
    hdrs_add(&h, STR_LIT("host"), STR_LIT("ignored"), false);
    hdrs_add(&h, STR_LIT("transfer-encoding"), STR_LIT("chunked"), false);
    hdrs_add(&h, STR_LIT("content-type"), STR_LIT("application/grpc"), false);
    hdrs_add(&h, STR_LIT("x-forwarded-for"), STR_LIT("1.2.3.4"), false);
    hdrs_add(&h, STR_LIT("via"), STR_LIT("1.1 other"), false);
    hdrs_add(&h, STR_LIT("expect"), STR_LIT("100-continue"), false);
    struct xlate_req r = { .method = STR_LIT("POST"),
                           .authority = STR_LIT("example.com"),
                           .path = STR_LIT("/svc/M"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .client_addr = STR_LIT("10.0.0.1"),
                           .tls = true,
                           .content_length = 7,
                           .scheme = STR_LIT("https") };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = true, .xff = true };
    char out[2048];
    render_req_h2(&r, &o, out, sizeof(out));
    assert_string_equal(out, ":method: POST\n"
                             ":scheme: https\n"
                             ":authority: example.com\n"
                             ":path: /svc/M\n"
                             "cookie: a=1\n"
                             "cookie: b=2\n"
                             "content-type: application/grpc\n"
                             "te: trailers\n"
                             "content-length: 7\n"
                             "x-forwarded-for: 1.2.3.4, 10.0.0.1\n"
                             "x-forwarded-proto: https\n"
                             "via: 1.1 other, 1.1 h2gate\n");
    /* No authority, no length, nothing added; the scheme defaults. */
    r.authority = STR_NULL;
    r.content_length = -1;
    r.scheme = STR_NULL;
    r.tls = false;
    o = (struct xlate_opts){ .xfp = true, .strip_xfp = true, .strip_xff = true };
    render_req_h2(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, ":scheme: http\n"));
    assert_null(strstr(out, ":authority"));
    assert_null(strstr(out, "content-length"));
    assert_null(strstr(out, "x-forwarded-for"));
    assert_non_null(strstr(out, "via: 1.1 other\n"));
    hdrs_cleanup(&h);
}

/* RFC 9440: a client's Client-Cert and Client-Cert-Chain never pass;
 * h2gate's own (xlate_opts) go after the forwarded lists, both ways. */
static void test_req_client_cert_fields(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("client-cert"), STR_LIT(":Zm9yZ2Vk:"), false);
    hdrs_add(&h, STR_LIT("x-a"), STR_LIT("1"), false);
    hdrs_add(&h, STR_LIT("client-cert-chain"), STR_LIT(":Zm9yZ2Vk:"), false);
    struct xlate_req r = { .method = STR_LIT("GET"), .authority = STR_LIT("a"),
                           .path = STR_LIT("/"), .hdrs = &h, .client_proto = "1.1",
                           .client_addr = STR_LIT("10.0.0.1"), .content_length = -1 };
    struct xlate_opts o = { 0 };
    char out[2048];
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET / HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n\r\n");
    render_req_h2(&r, &o, out, sizeof(out));
    assert_null(strstr(out, "client-cert"));
    o.client_cert = STR_LIT(":AQID:");
    o.client_cert_chain = STR_LIT(":BAU=:, :Bg==:");
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET / HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n"
                             "client-cert: :AQID:\r\n"
                             "client-cert-chain: :BAU=:, :Bg==:\r\n\r\n");
    render_req_h2(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, "x-a: 1\nclient-cert: :AQID:\n"
                                "client-cert-chain: :BAU=:, :Bg==:\n"));
    assert_null(strstr(out, "Zm9yZ2Vk"));
    hdrs_cleanup(&h);
}

static void test_req_to_h2_caps(void **state)
{
    (void)state;
    struct hdrs h, out;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("x-big"), STR_LIT("0123456789012345678901234567890123456789"), false);
    struct xlate_req r = { .method = STR_LIT("GET"), .path = STR_LIT("/"), .hdrs = &h,
                           .client_proto = "2", .content_length = -1 };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true };
    hdrs_init(&out, 48, 8);
    assert_int_equal(xlate_req_h2(&out, &r, &o), H2G_ERR_TOO_BIG);
    hdrs_cleanup(&out);
    hdrs_cleanup(&h);
}

/* --http2-no-cookie-crumbling off: one cookie field per cookie-pair,
 * empty pieces dropped, spaces trimmed; a Cookie whose crumbs would leave
 * less than the slack of the request's field caps goes whole. */
static void test_req_to_h2_cookie_crumbs(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("cookie"), STR_LIT("a=1; b=2;c=3; ;"), false);
    hdrs_add(&h, STR_LIT("cookie"), STR_LIT("d=4"), false);
    struct xlate_req r = { .method = STR_LIT("GET"), .path = STR_LIT("/"), .hdrs = &h,
                           .client_proto = "2", .content_length = -1 };
    struct xlate_opts o = { .crumble_cookies = true };
    char out[512];
    render_req_h2(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, "cookie: a=1\ncookie: b=2\ncookie: c=3\ncookie: d=4\n"));
    o.crumble_cookies = false;
    render_req_h2(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, "cookie: a=1; b=2;c=3; ;\ncookie: d=4\n"));
    /* Caps that leave no room for four more fields past the slack. */
    struct hdrs tight;
    hdrs_init(&tight, 4096, 2 + XLATE_H2_FIELDS_SLACK + 2);
    o.crumble_cookies = true;
    assert_int_equal(xlate_req_h2(&tight, &r, &o), 0);
    size_t cookies = 0;
    for (size_t i = 0; i < tight.num; i++)
        cookies += str_eq(hdrs_name(&tight, i), STR_LIT("cookie"));
    assert_int_equal(cookies, 2);
    hdrs_cleanup(&tight);
    hdrs_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_h2_to_h1),
        cmocka_unit_test(test_req_te_not_trailers_dropped_and_xff_appended),
        cmocka_unit_test(test_req_to_h2),
        cmocka_unit_test(test_req_client_cert_fields),
        cmocka_unit_test(test_req_to_h2_caps),
        cmocka_unit_test(test_req_to_h2_cookie_crumbs),
        cmocka_unit_test(test_req_forwarded_lists),
    };
    return cmocka_run_group_tests_name("proxy/xlate_req", tests, NULL, NULL);
}
