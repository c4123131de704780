/* Unit tests for proxy/xlate.c and proxy/hdrs.c: HTTP/1.1 head checks and
 * h2 <-> h1 translation, driven with bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "proxy/hdrs.h"
#include "proxy/xlate.h"

static int scan(const char *s, bool request, size_t *head_len)
{
    return xlate_h1_head_scan(s, strlen(s), request, head_len);
}

static void test_head_scan_complete(void **state)
{
    (void)state;
    size_t n = 0;
    const char *req = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    assert_int_equal(scan(req, true, &n), 1);
    assert_int_equal(n, strlen(req) - 4);
}

static void test_head_scan_incomplete(void **state)
{
    (void)state;
    size_t n = 0;
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r\n", true, &n), 0);
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r", true, &n), 0);
    assert_int_equal(scan("GET / HT", true, &n), 0);
}

/* Control characters in a field value (NUL, DEL, any but HTAB) are
 * refused wherever they stand; HTAB, obs-text and an empty value pass. */
static void test_head_scan_control_chars_in_values(void **state)
{
    (void)state;
    static const char *const bad[] = { "\x01z", "a\x1fz", "z\x7f", "\x0bz" };
    char buf[128];
    size_t n;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int len = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nUser-Agent: %s\r\n\r\n", bad[i]);
        assert_int_equal(xlate_h1_head_scan(buf, (size_t)len, true, &n), H2G_ERR_PROTO);
        assert_int_equal(xlate_h1_head_scan(buf, (size_t)len, false, &n), H2G_ERR_PROTO);
    }
    /* NUL, first and inside (snprintf cannot write it) */
    static const char nul_first[] = "GET / HTTP/1.1\r\nUser-Agent: \0z\r\n\r\n";
    static const char nul_mid[] = "GET / HTTP/1.1\r\nUser-Agent: a\0z\r\n\r\n";
    assert_int_equal(xlate_h1_head_scan(nul_first, sizeof(nul_first) - 1, true, &n),
                     H2G_ERR_PROTO);
    assert_int_equal(xlate_h1_head_scan(nul_mid, sizeof(nul_mid) - 1, true, &n), H2G_ERR_PROTO);
    assert_int_equal(scan("GET / HTTP/1.1\r\nUser-Agent: a\tb \xe9\xff\r\nX-E:\r\n\r\n",
                          true, &n), 1);
}

/* Each request smuggling shape is rejected on its own. */
static void test_head_scan_cl_and_te(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
}

static void test_head_scan_two_content_lengths(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                          "Content-Length: 4\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
    /* identical repeats are allowed (RFC 9110 §8.6) */
    assert_int_equal(scan("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                          "Content-Length: 3\r\n\r\n", true, &n),
                     1);
    assert_int_equal(scan("POST / HTTP/1.1\r\nContent-Length: 3,4\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
    assert_int_equal(scan("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
}

static void test_head_scan_bare_lf(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("GET / HTTP/1.1\nHost: a\r\n\r\n", true, &n), H2G_ERR_PROTO);
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\n\n", true, &n), H2G_ERR_PROTO);
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n", true, &n), H2G_ERR_PROTO);
}

static void test_head_scan_obs_fold(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", true, &n), H2G_ERR_PROTO);
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
}

static void test_head_scan_space_before_colon(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost : a\r\n\r\n", true, &n), H2G_ERR_PROTO);
}

static void test_head_scan_non_token_name(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("GET / HTTP/1.1\r\nBad@Name: x\r\n\r\n", true, &n), H2G_ERR_PROTO);
    assert_int_equal(scan("GET / HTTP/1.1\r\n: x\r\n\r\n", true, &n), H2G_ERR_PROTO);
    assert_int_equal(scan("GET / HTTP/1.1\r\nNoColon\r\n\r\n", true, &n), H2G_ERR_PROTO);
}

static void test_head_scan_te_not_chunked(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
    assert_int_equal(scan("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
    /* responses may use other codings */
    assert_int_equal(scan("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false,
                          &n),
                     1);
}

/* http-parser 2.9 takes a name that starts with "transfer-encoding" for
 * Transfer-Encoding and refuses the request after its head is taken. */
static void test_head_scan_te_prefixed_name(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("POST / HTTP/1.1\r\nTransfer-Encodingu: chunked\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
    assert_int_equal(scan("POST / HTTP/1.1\r\ntransfer-encoding-x: gzip\r\n\r\n", true, &n),
                     H2G_ERR_PROTO);
    /* a shorter name, or one that only contains it, is any field */
    assert_int_equal(scan("POST / HTTP/1.1\r\nTransfer-Encodin: x\r\n\r\n", true, &n), 1);
    assert_int_equal(scan("POST / HTTP/1.1\r\nX-Transfer-Encoding: x\r\n\r\n", true, &n), 1);
    assert_int_equal(scan("HTTP/1.1 200 OK\r\nTransfer-Encodingu: x\r\n\r\n", false, &n), 1);
}

static void test_head_scan_empty_first_line(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(scan("\r\n\r\n", true, &n), H2G_ERR_PROTO);
}

static void test_hdrs_caps(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 10, 2);
    assert_int_equal(hdrs_add(&h, STR_LIT("a"), STR_LIT("b"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("cc"), STR_LIT("0123456789"), false),
                     H2G_ERR_TOO_BIG);
    assert_int_equal(h.num, 1);
    assert_int_equal(hdrs_add(&h, STR_LIT("c"), STR_LIT("d"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("e"), STR_LIT("f"), false), H2G_ERR_TOO_BIG);
    hdrs_cleanup(&h);
}

/* hdrs_set_value keeps the field's place and name; past a cap the field
 * stays as it was. */
static void test_hdrs_set_value(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 24, 3);
    assert_int_equal(hdrs_add(&h, STR_LIT("a"), STR_LIT("1"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("loc"), STR_LIT("/x"), false), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT("z"), STR_LIT("9"), false), 0);
    assert_int_equal(hdrs_set_value(&h, 1, STR_LIT("/longer")), H2G_ERR_TOO_BIG); /* fields */
    hdrs_remove(&h, 2);
    assert_int_equal(hdrs_set_value(&h, 1, STR_LIT("/much-too-long-a-value")), H2G_ERR_TOO_BIG);
    assert_int_equal(h.num, 2);
    assert_true(str_eq(hdrs_value(&h, 1), STR_LIT("/x")));
    assert_int_equal(hdrs_set_value(&h, 1, STR_LIT("/longer")), 0);
    assert_int_equal(h.num, 2);
    assert_true(str_eq(hdrs_name(&h, 0), STR_LIT("a")) && str_eq(hdrs_value(&h, 0), STR_LIT("1")));
    assert_true(str_eq(hdrs_name(&h, 1), STR_LIT("loc")));
    assert_true(str_eq(hdrs_value(&h, 1), STR_LIT("/longer")));
    hdrs_cleanup(&h);
}

/* hdrs_reserve makes room for exactly what it was asked, within the caps,
 * and the adds after it neither move the storage nor fail; lower-cased
 * names on the inline path too. */
static void test_hdrs_reserve(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 2000, 40);
    assert_int_equal(hdrs_add(&h, STR_LIT("a"), STR_LIT("b"), false), 0);
    assert_int_equal(hdrs_reserve(&h, 1999, 1), H2G_ERR_TOO_BIG); /* bytes */
    assert_int_equal(hdrs_reserve(&h, 10, 40), H2G_ERR_TOO_BIG);  /* fields */
    assert_int_equal(h.num, 1);
    assert_int_equal(hdrs_reserve(&h, 1998, 39), 0);
    const char *buf = h.buf;
    const struct hdr_off *f = h.f;
    char name[64], value[2000];
    size_t bytes = 0;
    for (int i = 0; i < 39; i++) {
        int n = snprintf(name, sizeof(name), "X-Field-%02d", i);
        int v = i == 38 ? (int)(1998 - bytes - (size_t)n) : snprintf(value, sizeof(value), "V%d", i);
        if (i == 38)
            memset(value, 'v', (size_t)v);
        assert_int_equal(hdrs_add(&h, str_make(name, (size_t)n), str_make(value, (size_t)v), true),
                         0);
        bytes += (size_t)(n + v);
    }
    assert_ptr_equal(h.buf, buf);
    assert_ptr_equal(h.f, f);
    assert_int_equal(h.num, 40);
    assert_int_equal(h.buf_len, 2000);
    assert_true(str_eq(hdrs_name(&h, 1), STR_LIT("x-field-00")));
    assert_true(str_eq(hdrs_value(&h, 1), STR_LIT("V0")));
    assert_int_equal(hdrs_add(&h, STR_LIT("z"), STR_LIT(""), false), H2G_ERR_TOO_BIG);
    hdrs_cleanup(&h);
}

static void test_hdrs_streaming_parts_lowercase_names(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 1024, 10);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT("Con"), false), 0);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT("tent-Type"), true), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("text/")), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("Plain")), 0);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT("X"), false), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("1")), 0);
    assert_int_equal(h.num, 2);
    assert_true(str_eq(hdrs_name(&h, 0), STR_LIT("content-type")));
    assert_true(str_eq(hdrs_value(&h, 0), STR_LIT("text/Plain")));
    assert_int_equal(hdrs_find(&h, STR_LIT("x")), 1);
    assert_int_equal(hdrs_find(&h, STR_LIT("y")), -1);
    hdrs_cleanup(&h);
}

/* Empty names and values on a fresh list never offset a NULL buffer
 * (found by fuzz/hdrs.c; the UBSan build checks it). */
static void test_hdrs_empty_fields_on_fresh_list(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 64, 4);
    assert_int_equal(hdrs_add_name_part(&h, STR_LIT(""), false), 0);
    assert_int_equal(hdrs_add_value_part(&h, STR_LIT("")), 0);
    assert_int_equal(hdrs_add(&h, STR_LIT(""), STR_LIT(""), true), 0);
    assert_int_equal(h.num, 2);
    assert_int_equal(hdrs_name(&h, 1).len, 0);
    assert_int_equal(hdrs_value(&h, 0).len, 0);
    assert_int_equal(hdrs_find(&h, STR_LIT("")), 0);
    hdrs_cleanup(&h);
}

static void test_drop_field_hop_and_connection_named(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 1024, 10);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("close, X-Foo"), true);
    hdrs_add(&h, STR_LIT("x-foo"), STR_LIT("1"), true);
    assert_true(xlate_drop_field(&h, STR_LIT("x-foo")));
    assert_true(xlate_drop_field(&h, STR_LIT("keep-alive")));
    assert_true(xlate_drop_field(&h, STR_LIT("transfer-encoding")));
    assert_true(xlate_drop_field(&h, STR_LIT("upgrade")));
    assert_true(xlate_drop_field(&h, STR_LIT("proxy-connection")));
    assert_false(xlate_drop_field(&h, STR_LIT("x-bar")));
    assert_false(xlate_drop_field(&h, STR_LIT("x-fo")));
    hdrs_cleanup(&h);
}

/* Connection lists that name only hop-by-hop fields are not consulted
 * per field; any other element still drops the field it names, in any
 * Connection field and any case, "close" included. */
static void test_drop_field_connection_lists(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 1024, 10);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT(" Keep-Alive ,upgrade,, TE"), true);
    hdrs_add(&h, STR_LIT("x-foo"), STR_LIT("1"), true);
    hdrs_add(&h, STR_LIT("close"), STR_LIT("1"), true);
    assert_false(xlate_drop_field(&h, STR_LIT("x-foo")));
    assert_false(xlate_drop_field(&h, STR_LIT("close")));
    assert_true(xlate_drop_field(&h, STR_LIT("keep-alive")));
    assert_true(xlate_drop_field(&h, STR_LIT("te")));
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("keep-alive, X-FOO"), true);
    assert_true(xlate_drop_field(&h, STR_LIT("x-foo")));
    assert_false(xlate_drop_field(&h, STR_LIT("close")));
    hdrs_reset(&h);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("close"), true);
    assert_true(xlate_drop_field(&h, STR_LIT("close")));
    assert_false(xlate_drop_field(&h, STR_LIT("x-foo")));
    hdrs_reset(&h);
    hdrs_add(&h, STR_LIT("connection"),
             STR_LIT("keep-alive, x-a-very-long-field-name-past-32-bytes"), true);
    assert_true(xlate_drop_field(&h, STR_LIT("x-a-very-long-field-name-past-32-bytes")));
    assert_false(xlate_drop_field(&h, STR_LIT("x-foo")));
    hdrs_cleanup(&h);
}

/* Renders a request through xlate_req_h1 into a NUL-terminated string. */
static void render_req(const struct xlate_req *r, const struct xlate_opts *o, char *out,
                       size_t out_len)
{
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    xlate_req_h1(&q, r, o);
    size_t n = bufq_read(&q, out, out_len - 1);
    out[n] = '\0';
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* xlate_resp_h1's head for r, as a string in out. */
static void render_resp(const struct xlate_resp *r, char *out, size_t out_len)
{
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    xlate_resp_h1(&q, r);
    size_t n = bufq_read(&q, out, out_len - 1);
    out[n] = '\0';
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

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

/* xlate_req_h2's fields as "name: value\n" lines. */
static void render_req_h2(const struct xlate_req *r, const struct xlate_opts *o, char *out,
                          size_t len)
{
    struct hdrs h2;
    hdrs_init(&h2, 4096, 64);
    assert_int_equal(xlate_req_h2(&h2, r, o), 0);
    size_t n = 0;
    for (size_t i = 0; i < h2.num; i++) {
        struct str a = hdrs_name(&h2, i), b = hdrs_value(&h2, i);
        n += (size_t)snprintf(out + n, len - n, "%.*s: %.*s\n", (int)a.len, a.p, (int)b.len,
                              b.p);
    }
    hdrs_cleanup(&h2);
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

static enum xlate_upgrade upgrade_of(const char *conn, const char *upg)
{
    struct hdrs h;
    hdrs_init(&h, 1024, 10);
    if (conn)
        hdrs_add(&h, STR_LIT("connection"), str_cstr(conn), true);
    if (upg)
        hdrs_add(&h, STR_LIT("upgrade"), str_cstr(upg), true);
    enum xlate_upgrade u = xlate_req_upgrade(&h);
    hdrs_cleanup(&h);
    return u;
}

static void test_req_upgrade_kinds(void **state)
{
    (void)state;
    assert_int_equal(upgrade_of("Upgrade", "websocket"), XLATE_UPGRADE_WEBSOCKET);
    assert_int_equal(upgrade_of("keep-alive, Upgrade", "WebSocket"), XLATE_UPGRADE_WEBSOCKET);
    assert_int_equal(upgrade_of("upgrade", "h2c"), XLATE_UPGRADE_OTHER);
    assert_int_equal(upgrade_of("upgrade", "foo/1, bar"), XLATE_UPGRADE_OTHER);
    /* Both fields are needed (RFC 9110 §7.8: Upgrade is listed in Connection). */
    assert_int_equal(upgrade_of(NULL, "websocket"), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("keep-alive", "websocket"), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("upgrade", NULL), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("upgrade", " "), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("upgrades", "websocket"), XLATE_UPGRADE_NONE);
}

/* RFC 8441 towards an HTTP/2 backend: an HTTP/1.1 client's Upgrade GET
 * becomes CONNECT with :protocol; the key, Connection and Upgrade stay
 * behind, the other Sec-WebSocket-* fields travel. */
static void test_req_h2_extended_connect(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("Upgrade"), false);
    hdrs_add(&h, STR_LIT("upgrade"), STR_LIT("websocket"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-key"), STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), false);
    hdrs_add(&h, STR_LIT("sec-websocket-version"), STR_LIT("13"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-protocol"), STR_LIT("chat"), false);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/ws"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .content_length = -1,
                           .websocket = true };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = false };
    char out[1024];
    render_req_h2(&r, &o, out, sizeof(out));
    assert_string_equal(out, ":method: CONNECT\n"
                             ":scheme: http\n"
                             ":authority: a\n"
                             ":path: /ws\n"
                             ":protocol: websocket\n"
                             "sec-websocket-version: 13\n"
                             "sec-websocket-protocol: chat\n"
                             "x-forwarded-proto: http\n");
    hdrs_cleanup(&h);
}

/* An --allow-upgrade token in the request and in the 101. */
static void test_upgrade_token_h1(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 8);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .content_length = -1,
                           .websocket = true,
                           .protocol = STR_LIT("foo") };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = false };
    char out[1024];
    render_req(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, "connection: upgrade\r\nupgrade: foo\r\n"));
    struct bufq q;
    struct buf_pool pool;
    buf_pool_init(&pool, 4);
    bufq_init(&q, &pool);
    struct xlate_resp resp = { .status = 101, .hdrs = &h, .websocket = true,
                               .upgrade = STR_LIT("foo") };
    xlate_resp_h1(&q, &resp);
    char text[256];
    size_t n = bufq_read(&q, text, sizeof(text) - 1);
    text[n] = '\0';
    assert_string_equal(text, "HTTP/1.1 101 Switching Protocols\r\n"
                              "connection: upgrade\r\nupgrade: foo\r\n\r\n");
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
    hdrs_cleanup(&h);
}

/* The client's Connection and Upgrade never travel; with websocket set,
 * h2gate writes its own, and Sec-WebSocket-* fields pass. */
static void test_req_h1_websocket(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("keep-alive, Upgrade"), false);
    hdrs_add(&h, STR_LIT("upgrade"), STR_LIT("websocket"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-key"), STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), false);
    hdrs_add(&h, STR_LIT("sec-websocket-version"), STR_LIT("13"), false);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/ws"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .content_length = -1 };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = false };
    char out[2048];
    render_req(&r, &o, out, sizeof(out));
    const char *plain = "GET /ws HTTP/1.1\r\n"
                        "host: a\r\n"
                        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "sec-websocket-version: 13\r\n"
                        "x-forwarded-proto: http\r\n"
                        "\r\n";
    assert_string_equal(out, plain);
    r.websocket = true;
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET /ws HTTP/1.1\r\n"
                             "host: a\r\n"
                             "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "sec-websocket-version: 13\r\n"
                             "x-forwarded-proto: http\r\n"
                             "connection: upgrade\r\n"
                             "upgrade: websocket\r\n"
                             "\r\n");
    /* An HTTP/2 client's extended CONNECT: h2gate's own key replaces any
     * the client sent. */
    r.ws_key = STR_LIT("AQIDBAUGBwgJCgsMDQ4PEC==");
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET /ws HTTP/1.1\r\n"
                             "host: a\r\n"
                             "sec-websocket-version: 13\r\n"
                             "x-forwarded-proto: http\r\n"
                             "connection: upgrade\r\n"
                             "upgrade: websocket\r\n"
                             "sec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEC==\r\n"
                             "\r\n");
    hdrs_cleanup(&h);
}

/* RFC 6455 §1.3's own example. */
static void test_ws_accept(void **state)
{
    (void)state;
    char out[XLATE_WS_ACCEPT_LEN + 1];
    size_t n = xlate_ws_accept(STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), out);
    assert_int_equal(n, XLATE_WS_ACCEPT_LEN);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_resp_h1_switch(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("upgrade"), STR_LIT("websocket"), false);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("Upgrade"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-accept"), STR_LIT("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), false);
    struct xlate_resp r = { .status = 101, .hdrs = &h, .content_length = -1,
                            .keep_alive = false, .websocket = true };
    char out[1024];
    render_resp(&r, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 101 Switching Protocols\r\n"
                             "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                             "connection: upgrade\r\n"
                             "upgrade: websocket\r\n"
                             "\r\n");
    hdrs_cleanup(&h);
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

/* xlate_location on uri for authority and scheme: the rewrite, or "" when
 * none. */
static const char *loc(const char *uri, const char *authority, const char *scheme)
{
    static char out[512];
    size_t n = xlate_location(str_cstr(uri), str_cstr(authority), str_cstr(authority),
                              str_cstr(scheme), out);
    out[n] = '\0';
    return out;
}

static void test_location_rewrite(void **state)
{
    (void)state;
    assert_string_equal(loc("http://a.example:8080/x?y=1#f", "a.example", "https"),
                        "https://a.example/x?y=1#f");
    assert_string_equal(loc("https://A.Example/x", "a.example:8443", "http"),
                        "http://a.example:8443/x");
    assert_string_equal(loc("Http://a.example", "a.example:1", "https"), "https://a.example:1");
    assert_string_equal(loc("http://a.example?q", "a.example", "https"), "https://a.example?q");
    assert_string_equal(loc("http://[::1]:80/p", "[::1]:8443", "https"), "https://[::1]:8443/p");
    /* Not the request's host, no host, or not http(s): none. */
    assert_string_equal(loc("http://b.example/x", "a.example", "https"), "");
    assert_string_equal(loc("http://a.example.evil/x", "a.example", "https"), "");
    assert_string_equal(loc("http://a.exampl/x", "a.example", "https"), "");
    assert_string_equal(loc("http://u:p@a.example/x", "a.example", "https"), "");
    assert_string_equal(loc("/x", "a.example", "https"), "");
    assert_string_equal(loc("//a.example/x", "a.example", "https"), "");
    assert_string_equal(loc("ftp://a.example/x", "a.example", "https"), "");
    assert_string_equal(loc("http://", "a.example", "https"), "");
    assert_string_equal(loc("http:///x", "a.example", "https"), "");
    assert_string_equal(loc("http://[::1/x", "[::1]", "https"), "");
    assert_string_equal(loc("http://a.example/x", "", "https"), "");
}

static void test_hostport(void **state)
{
    (void)state;
    char out[XLATE_HOSTPORT_MAX];
    assert_int_equal(xlate_hostport("api.example", 80, false, out), 11);
    assert_string_equal(out, "api.example");
    xlate_hostport("api.example", 443, false, out);
    assert_string_equal(out, "api.example");
    xlate_hostport("api.example", 8080, false, out);
    assert_string_equal(out, "api.example:8080");
    xlate_hostport("10.0.0.1", 9000, false, out);
    assert_string_equal(out, "10.0.0.1:9000");
    xlate_hostport("::1", 9000, false, out);
    assert_string_equal(out, "[::1]:9000");
    xlate_hostport("2001:db8::1", 443, false, out);
    assert_string_equal(out, "[2001:db8::1]");
    xlate_hostport("unix:/run/app.sock", 0, true, out);
    assert_string_equal(out, "localhost");
    char name[300];
    memset(name, 'a', 253);
    name[253] = '\0';
    assert_int_equal(xlate_hostport(name, 65535, false, out), 259);
}

/* With --host-rewrite the backend was sent its own name: a Location on it
 * is rewritten to the client's authority, one on the client's is not. */
static void test_location_rewrite_other_match(void **state)
{
    (void)state;
    char out[256];
    size_t n = xlate_location(STR_LIT("http://api.internal:8080/x"), STR_LIT("api.internal:8080"),
                              STR_LIT("www.example"), STR_LIT("https"), out);
    assert_true(str_eq(str_make(out, n), STR_LIT("https://www.example/x")));
    assert_int_equal(xlate_location(STR_LIT("http://www.example/x"), STR_LIT("api.internal:8080"),
                                    STR_LIT("www.example"), STR_LIT("https"), out),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_scan_complete),
        cmocka_unit_test(test_head_scan_incomplete),
        cmocka_unit_test(test_head_scan_cl_and_te),
        cmocka_unit_test(test_head_scan_control_chars_in_values),
        cmocka_unit_test(test_head_scan_two_content_lengths),
        cmocka_unit_test(test_head_scan_bare_lf),
        cmocka_unit_test(test_head_scan_obs_fold),
        cmocka_unit_test(test_head_scan_space_before_colon),
        cmocka_unit_test(test_head_scan_non_token_name),
        cmocka_unit_test(test_head_scan_te_not_chunked),
        cmocka_unit_test(test_head_scan_te_prefixed_name),
        cmocka_unit_test(test_head_scan_empty_first_line),
        cmocka_unit_test(test_hdrs_caps),
        cmocka_unit_test(test_hdrs_reserve),
        cmocka_unit_test(test_hdrs_streaming_parts_lowercase_names),
        cmocka_unit_test(test_hdrs_empty_fields_on_fresh_list),
        cmocka_unit_test(test_drop_field_hop_and_connection_named),
        cmocka_unit_test(test_drop_field_connection_lists),
        cmocka_unit_test(test_req_h2_to_h1),
        cmocka_unit_test(test_req_te_not_trailers_dropped_and_xff_appended),
        cmocka_unit_test(test_req_to_h2),
        cmocka_unit_test(test_req_client_cert_fields),
        cmocka_unit_test(test_req_to_h2_caps),
        cmocka_unit_test(test_req_to_h2_cookie_crumbs),
        cmocka_unit_test(test_trailer_ok),
        cmocka_unit_test(test_rst_code_map),
        cmocka_unit_test(test_resp_h1),
        cmocka_unit_test(test_resp_h1_connection),
        cmocka_unit_test(test_req_upgrade_kinds),
        cmocka_unit_test(test_req_h1_websocket),
        cmocka_unit_test(test_req_forwarded_lists),
        cmocka_unit_test(test_req_h2_extended_connect),
        cmocka_unit_test(test_upgrade_token_h1),
        cmocka_unit_test(test_ws_accept),
        cmocka_unit_test(test_resp_h1_switch),
        cmocka_unit_test(test_bodyless),
        cmocka_unit_test(test_nv_trailers_not_cut),
        cmocka_unit_test(test_nv_filters),
        cmocka_unit_test(test_resp_h2_backend),
        cmocka_unit_test(test_resp_h2_own_answer),
        cmocka_unit_test(test_interim_not_cut),
        cmocka_unit_test(test_last_chunk_h1),
        cmocka_unit_test(test_location_rewrite),
        cmocka_unit_test(test_hdrs_set_value),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_location_rewrite_other_match),
    };
    return cmocka_run_group_tests_name("proxy/xlate", tests, NULL, NULL);
}
