/* Unit tests for proxy/proxyproto.c: PROXY protocol v1 and v2 headers,
 * whole, cut at every length, malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxyproto.h"

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

static enum pp_result parse(const void *p, size_t n, struct pp_header *h)
{
    const char *why = NULL;
    enum pp_result r = pp_parse(p, n, h, &why);
    if (r == PP_BAD)
        assert_non_null(why);
    return r;
}

/* Every proper prefix of a valid header needs more; the whole is done. */
static void assert_prefixes_need_more(const uint8_t *p, size_t n)
{
    struct pp_header h;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(parse(p, i, &h), PP_NEED_MORE);
}

static void check_v4(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    char buf[INET_ADDRSTRLEN];
    assert_int_equal(s->sin_family, AF_INET);
    assert_string_equal(inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf)), ip);
    assert_int_equal(ntohs(s->sin_port), port);
}

static void test_v1_tcp4_and_following_bytes(void **state)
{
    (void)state;
    const char *line = "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n";
    char buf[128];
    snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", line);
    struct pp_header h;
    assert_prefixes_need_more((const uint8_t *)line, strlen(line));
    assert_int_equal(parse(buf, strlen(buf), &h), PP_DONE);
    assert_int_equal(h.len, strlen(line));
    assert_int_equal(h.version, 1);
    assert_false(h.local);
    check_v4(&h.src, "203.0.113.7", 56324);
    check_v4(&h.dst, "192.0.2.1", 443);
}

static void test_v1_tcp6_and_unknown(void **state)
{
    (void)state;
    struct pp_header h;
    const char *l6 = "PROXY TCP6 2001:db8::7 2001:db8::1 65535 0\r\n";
    assert_int_equal(parse(l6, strlen(l6), &h), PP_DONE);
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&h.src;
    char buf[INET6_ADDRSTRLEN];
    assert_int_equal(s6->sin6_family, AF_INET6);
    assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf)), "2001:db8::7");
    assert_int_equal(ntohs(s6->sin6_port), 65535);
    const char *lu = "PROXY UNKNOWN whatever follows\r\n";
    assert_int_equal(parse(lu, strlen(lu), &h), PP_DONE);
    assert_true(h.local);
    assert_int_equal(h.len, strlen(lu));
}

static void test_v1_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n",
        "PROXY TCP4 1.2.3.400 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n",
        "PROXY TCP4 ::1 ::1 1 2\r\n",
        "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY \r\n",
        "GET / HTTP/1.1\r\n",
        "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
    };
    struct pp_header h;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], strlen(bad[i]), &h), PP_BAD);
    /* No CRLF within 107 bytes. */
    char longline[200] = "PROXY TCP4 ";
    memset(longline + 11, '1', 150);
    assert_int_equal(parse(longline, 161, &h), PP_BAD);
}

/* A v2 header: cmd (0 LOCAL, 1 PROXY), family, addresses and TLVs. */
static size_t v2(uint8_t *out, unsigned cmd, uint8_t fam, const uint8_t *body, size_t len)
{
    memcpy(out, sig, 12);
    out[12] = (uint8_t)(0x20 | cmd);
    out[13] = fam;
    out[14] = (uint8_t)(len >> 8);
    out[15] = (uint8_t)len;
    memcpy(out + 16, body, len);
    return 16 + len;
}

static void test_v2_tcp4_with_tlvs(void **state)
{
    (void)state;
    uint8_t body[12 + 9] = { 203, 0, 113, 9, 192, 0, 2, 1, 0xdc, 0x04, 0x01, 0xbb,
                             /* a TLV: type 0x04 (NOOP), length 6 */
                             0x04, 0x00, 0x06, 1, 2, 3, 4, 5, 6 };
    uint8_t buf[64];
    size_t n = v2(buf, 1, 0x11, body, sizeof(body));
    assert_prefixes_need_more(buf, n);
    struct pp_header h;
    assert_int_equal(parse(buf, n, &h), PP_DONE);
    assert_int_equal(h.len, n);
    assert_int_equal(h.version, 2);
    check_v4(&h.src, "203.0.113.9", 56324);
    check_v4(&h.dst, "192.0.2.1", 443);
}

static void test_v2_tcp6_local_unspec(void **state)
{
    (void)state;
    uint8_t body[36] = { 0x20, 0x01, 0x0d, 0xb8 };
    body[15] = 7;
    body[33] = 80;
    uint8_t buf[64];
    struct pp_header h;
    size_t n = v2(buf, 1, 0x21, body, sizeof(body));
    assert_int_equal(parse(buf, n, &h), PP_DONE);
    assert_false(h.local);
    assert_int_equal(((struct sockaddr_in6 *)&h.src)->sin6_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&h.src)->sin6_port), 80);
    n = v2(buf, 0, 0x11, body, 12);   /* LOCAL: addresses ignored */
    assert_int_equal(parse(buf, n, &h), PP_DONE);
    assert_true(h.local);
    assert_int_equal(h.len, 28);
    n = v2(buf, 1, 0x00, body, 0);    /* PROXY with AF_UNSPEC */
    assert_int_equal(parse(buf, n, &h), PP_DONE);
    assert_true(h.local);
}

static void test_v2_malformed(void **state)
{
    (void)state;
    uint8_t body[36] = { 0 };
    uint8_t buf[64];
    struct pp_header h;
    size_t n = v2(buf, 1, 0x11, body, 8);          /* TCP4 needs 12 */
    assert_int_equal(parse(buf, n, &h), PP_BAD);
    n = v2(buf, 1, 0x21, body, 20);                /* TCP6 needs 36 */
    assert_int_equal(parse(buf, n, &h), PP_BAD);
    n = v2(buf, 2, 0x11, body, 12);                /* command 2 */
    assert_int_equal(parse(buf, n, &h), PP_BAD);
    n = v2(buf, 1, 0x12, body, 12);                /* UDP over IPv4 */
    assert_int_equal(parse(buf, n, &h), PP_BAD);
    n = v2(buf, 1, 0x11, body, 12);
    buf[12] = 0x11;                                /* version 1 in a v2 header */
    assert_int_equal(parse(buf, n, &h), PP_BAD);
    n = v2(buf, 1, 0x11, body, 12);
    buf[14] = 0xff;                                /* longer than h2gate takes */
    assert_int_equal(parse(buf, 16, &h), PP_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp4_and_following_bytes),
        cmocka_unit_test(test_v1_tcp6_and_unknown),
        cmocka_unit_test(test_v1_malformed),
        cmocka_unit_test(test_v2_tcp4_with_tlvs),
        cmocka_unit_test(test_v2_tcp6_local_unspec),
        cmocka_unit_test(test_v2_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
