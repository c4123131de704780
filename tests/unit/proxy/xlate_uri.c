/* Unit tests for proxy/xlate_uri.c: the Location rewrite (xlate_location,
 * an absolute http(s) URI on the authority the backend was sent gets the
 * client's scheme and authority; any other is left alone) and
 * --host-rewrite's authority for a backend (xlate_hostport). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proxy/xlate.h"

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
        cmocka_unit_test(test_location_rewrite),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_location_rewrite_other_match),
    };
    return cmocka_run_group_tests_name("proxy/xlate_uri", tests, NULL, NULL);
}
