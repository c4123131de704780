/* Unit tests for proxy/probe.c: the URL and the status line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proxy/probe.h"

struct url {
    char host[64], port[8], path[64];
};

static const char *parse(const char *s, struct url *u)
{
    return probe_parse_url(s, u->host, sizeof(u->host), u->port, sizeof(u->port), u->path,
                           sizeof(u->path));
}

static void test_good_urls(void **state)
{
    (void)state;
    static const char *const cases[][4] = {
        { "http://127.0.0.1:9090/healthz", "127.0.0.1", "9090", "/healthz" },
        { "http://localhost", "localhost", "80", "/" },
        { "http://[::1]:8080/readyz?x=1", "::1", "8080", "/readyz?x=1" },
        { "http://[::1]/", "::1", "80", "/" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct url u;
        assert_null(parse(cases[i][0], &u));
        assert_string_equal(u.host, cases[i][1]);
        assert_string_equal(u.port, cases[i][2]);
        assert_string_equal(u.path, cases[i][3]);
    }
}

static void test_bad_urls(void **state)
{
    (void)state;
    struct url u;
    assert_non_null(parse("https://127.0.0.1/", &u));
    assert_non_null(parse("127.0.0.1:80/", &u));
    assert_non_null(parse("http://", &u));
    assert_non_null(parse("http://:80/", &u));
    assert_non_null(parse("http://h:/", &u));
    assert_non_null(parse("http://h:0/", &u));
    assert_non_null(parse("http://h:65536/", &u));
    assert_non_null(parse("http://h:8x/", &u));
    assert_non_null(parse("http://[::1/", &u));
    assert_non_null(parse("http://[::1]x/", &u));
    assert_non_null(parse("http://h/a b", &u));
    assert_non_null(parse("http://h/a#frag", &u));
    char long_host[200];
    memset(long_host, 'a', sizeof(long_host));
    memcpy(long_host, "http://", 7);
    long_host[sizeof(long_host) - 1] = '\0';
    assert_non_null(parse(long_host, &u));
}

static void test_status_line(void **state)
{
    (void)state;
    const char *ok = "HTTP/1.1 200 OK\r\n";
    assert_int_equal(probe_parse_status(ok, strlen(ok)), 200);
    assert_int_equal(probe_parse_status("HTTP/1.0 503 x", 14), 503);
    assert_int_equal(probe_parse_status("HTTP/1.1 204", 12), 204);
    assert_int_equal(probe_parse_status("HTTP/1.1 204\r\n", 14), 204);
    assert_int_equal(probe_parse_status("HTTP/1.1 20", 11), -1);
    assert_int_equal(probe_parse_status("HTTP/2 200 OK\r\n", 15), -1);
    assert_int_equal(probe_parse_status("HTTP/1.1 2x0 OK", 15), -1);
    assert_int_equal(probe_parse_status("HTTP/1.1 2000 OK", 16), -1);
    assert_int_equal(probe_parse_status("SSH-2.0-OpenSSH", 15), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_status_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
