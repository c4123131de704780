/* Unit tests for proxy/xlate.c's checks of what arrives: the HTTP/1.1
 * head scan (a complete head, control characters in values and each
 * request smuggling shape refused on its own), and which fields
 * xlate_drop_field drops before the next hop: the hop-by-hop ones and
 * those a Connection field names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

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
        cmocka_unit_test(test_drop_field_hop_and_connection_named),
        cmocka_unit_test(test_drop_field_connection_lists),
    };
    return cmocka_run_group_tests_name("proxy/xlate_scan", tests, NULL, NULL);
}
