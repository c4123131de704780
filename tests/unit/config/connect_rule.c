/* Unit tests for config/connect_rule.c: rule and authority parsing, the
 * allow/deny decisions by name and by resolved address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/connect_rule.h"

static struct crule parse_ok(const char *text)
{
    struct crule r;
    const char *msg = crule_parse(str_cstr(text), &r);
    if (msg)
        fail_msg("'%s': %s", text, msg);
    return r;
}

static void parse_bad(const char *text, const char *substr)
{
    struct crule r;
    const char *msg = crule_parse(str_cstr(text), &r);
    if (!msg)
        fail_msg("'%s' parsed but should not", text);
    if (substr && !strstr(msg, substr))
        fail_msg("'%s': message \"%s\" lacks \"%s\"", text, msg, substr);
}

/* A set from two NULL-terminated rule lists. */
static struct crule_set *make_set(const char *const *allow, const char *const *deny)
{
    struct crule_set *set = crule_set_new();
    for (; allow && *allow; allow++) {
        struct crule r = parse_ok(*allow);
        crule_set_add(set, &r, false);
    }
    for (; deny && *deny; deny++) {
        struct crule r = parse_ok(*deny);
        crule_set_add(set, &r, true);
    }
    return set;
}

#define RULES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const *)NULL)

static struct sockaddr_storage sa(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        sin6->sin6_family = AF_INET6;
    }
    return ss;
}

static bool addr_ok(const struct crule_set *set, const char *host, const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = sa(ip);
    return crule_check_addr(set, str_cstr(host), (const struct sockaddr *)&ss, port);
}

static enum crule_verdict name(const struct crule_set *set, const char *host, uint16_t port)
{
    return crule_check_name(set, str_cstr(host), port);
}

/* ---- rule parsing ---- */

static void test_parse_exact_name(void **state)
{
    (void)state;
    struct crule r = parse_ok("Host.Example.COM:80");
    assert_int_equal(r.kind, CRULE_NAME);
    assert_string_equal(r.name, "host.example.com");
    assert_int_equal(r.name_len, 16);
    assert_int_equal(r.num_ports, 1);
    assert_int_equal(r.ports[0].lo, 80);
    assert_int_equal(r.ports[0].hi, 80);
    r = parse_ok("host:80");
    assert_string_equal(r.name, "host");
    r = parse_ok("  example.com.:443 ");
    assert_string_equal(r.name, "example.com");
    r = parse_ok("under_score-x.example:1");
    assert_string_equal(r.name, "under_score-x.example");
}

static void test_parse_suffix(void **state)
{
    (void)state;
    struct crule r = parse_ok("*.Example.com:443");
    assert_int_equal(r.kind, CRULE_SUFFIX);
    assert_string_equal(r.name, ".example.com");
    assert_int_equal(r.name_len, 12);
}

static void test_parse_any(void **state)
{
    (void)state;
    struct crule r = parse_ok("*:*");
    assert_int_equal(r.kind, CRULE_ANY);
    assert_int_equal(r.num_ports, 1);
    assert_int_equal(r.ports[0].lo, 1);
    assert_int_equal(r.ports[0].hi, 65535);
}

static void test_parse_v4(void **state)
{
    (void)state;
    struct crule r = parse_ok("127.0.0.1:8000-8999");
    assert_int_equal(r.kind, CRULE_NET);
    assert_int_equal(r.family, AF_INET);
    assert_int_equal(r.prefix, 32);
    assert_memory_equal(r.addr, "\x7f\x00\x00\x01", 4);
    assert_int_equal(r.ports[0].lo, 8000);
    assert_int_equal(r.ports[0].hi, 8999);
}

static void test_parse_v4_cidr_and_list(void **state)
{
    (void)state;
    struct crule r = parse_ok("10.0.0.0/8:80,443");
    assert_int_equal(r.kind, CRULE_NET);
    assert_int_equal(r.family, AF_INET);
    assert_int_equal(r.prefix, 8);
    assert_int_equal(r.num_ports, 2);
    assert_int_equal(r.ports[0].lo, 80);
    assert_int_equal(r.ports[1].lo, 443);
    assert_int_equal(r.ports[1].hi, 443);
    r = parse_ok("0.0.0.0/0:1-65535");
    assert_int_equal(r.prefix, 0);
    r = parse_ok("192.168.1.128/25:80,443,8000-8999,22");
    assert_int_equal(r.num_ports, 4);
    assert_int_equal(r.ports[2].lo, 8000);
    assert_int_equal(r.ports[2].hi, 8999);
}

static void test_parse_v6(void **state)
{
    (void)state;
    struct crule r = parse_ok("[::1]:22");
    assert_int_equal(r.kind, CRULE_NET);
    assert_int_equal(r.family, AF_INET6);
    assert_int_equal(r.prefix, 128);
    assert_memory_equal(r.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    r = parse_ok("[2001:db8::1]:443");
    assert_int_equal(r.prefix, 128);
    assert_int_equal(r.addr[0], 0x20);
    r = parse_ok("[fd00::]/8:*");
    assert_int_equal(r.family, AF_INET6);
    assert_int_equal(r.prefix, 8);
    assert_int_equal(r.addr[0], 0xfd);
    assert_int_equal(r.ports[0].hi, 65535);
    r = parse_ok("[::]/0:443");
    assert_int_equal(r.prefix, 0);
}

static void test_parse_bad_host(void **state)
{
    (void)state;
    parse_bad("", "empty rule");
    parse_bad("   ", "empty rule");
    parse_bad(":80", "empty host");
    parse_bad("example.com", "PORTS");
    parse_bad("a..b:80", "empty label");
    parse_bad(".example.com:80", "empty label");
    parse_bad("ex ample.com:80", "invalid character");
    parse_bad("exa$mple.com:80", "invalid character");
    parse_bad("a*.example.com:80", "'*'");
    parse_bad("*example.com:80", "'*'");
    parse_bad("*.:80", "empty suffix");
    parse_bad("*.*.example.com:80", "'*'");
    parse_bad("::1:22", "brackets");
    parse_bad("1.2.3:80", "IPv4");
    parse_bad("999.1.1.1:80", "IPv4");
    parse_bad("*.0.1:80", "numeric");
}

static void test_parse_bad_port(void **state)
{
    (void)state;
    parse_bad("host:", "missing port");
    parse_bad("host:0", "1-65535");
    parse_bad("host:65536", "1-65535");
    parse_bad("host:123456", "1-65535");
    parse_bad("host:-1", "1-65535");
    parse_bad("host:+80", "1-65535");
    parse_bad("host:80x", "1-65535");
    parse_bad("host:9000-8000", "reversed");
    parse_bad("host:0-80", "1-65535");
    parse_bad("host:80-", "1-65535");
    parse_bad("host:80,", "empty item");
    parse_bad("host:,80", "empty item");
    parse_bad("host:80,,443", "empty item");
    parse_bad("host:**", "1-65535");
    parse_bad("host:80,*", "1-65535");
    parse_bad("host:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "too many");
    parse_ok("host:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16");
    parse_ok("host:65535");
    parse_ok("host:1");
}

static void test_parse_bad_cidr(void **state)
{
    (void)state;
    parse_bad("10.0.0.0/33:80", "prefix");
    parse_bad("10.0.0.0/:80", "prefix");
    parse_bad("10.0.0.0/x:80", "prefix");
    parse_bad("10.0.0.0/-1:80", "prefix");
    parse_bad("10.0.0.0/08:80", "prefix");
    parse_bad("10.0.0.1/8:80", "bits set");
    parse_bad("10.0.0/8:80", "IPv4");
    parse_bad("[fd00::]/129:80", "prefix");
    parse_bad("[fd00::1]/8:80", "bits set");
    parse_bad("[fd00::]/:80", "prefix");
    parse_bad("[fd00::]/8", "PORTS");
    parse_bad("[::1]", "PORTS");
    parse_bad("[::1]22", "PORTS");
    parse_bad("[::1:22", "']'");
    parse_bad("[zz::1]:22", "IPv6");
    parse_bad("[10.0.0.1]:22", "IPv6");
    parse_bad("[]:22", "IPv6");
}

/* ---- set handling ---- */

static void test_set_counts_and_null(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("a:1", "b:2"), RULES("c:3"));
    assert_int_equal(crule_set_num(set, false), 2);
    assert_int_equal(crule_set_num(set, true), 1);
    assert_int_equal(crule_set_num(NULL, false), 0);
    crule_set_free(set);
    crule_set_free(NULL);
}

static void test_no_rules_deny(void **state)
{
    (void)state;
    assert_int_equal(name(NULL, "example.com", 443), CRULE_DENY);
    assert_false(addr_ok(NULL, "example.com", "192.0.2.1", 443));
    struct crule_set *set = crule_set_new();
    assert_int_equal(name(set, "example.com", 443), CRULE_DENY);
    assert_int_equal(name(set, "192.0.2.1", 443), CRULE_DENY);
    assert_false(addr_ok(set, "example.com", "192.0.2.1", 443));
    crule_set_free(set);
    /* Deny rules alone allow nothing. */
    set = make_set(NONE, RULES("evil.example:*"));
    assert_int_equal(name(set, "good.example", 443), CRULE_DENY);
    assert_false(addr_ok(set, "good.example", "192.0.2.1", 443));
    crule_set_free(set);
}

/* ---- name decisions ---- */

static void test_exact_name(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("example.com:443"), NONE);
    assert_int_equal(name(set, "example.com", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "EXAMPLE.com", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "example.com.", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "example.com", 80), CRULE_DENY);
    assert_int_equal(name(set, "www.example.com", 443), CRULE_DENY);
    assert_int_equal(name(set, "example.co", 443), CRULE_DENY);
    assert_int_equal(name(set, "xexample.com", 443), CRULE_DENY);
    assert_true(addr_ok(set, "example.com", "192.0.2.1", 443));
    assert_true(addr_ok(set, "example.com", "2001:db8::1", 443));
    assert_false(addr_ok(set, "example.com", "192.0.2.1", 80));
    assert_false(addr_ok(set, "other.com", "192.0.2.1", 443));
    crule_set_free(set);
}

static void test_suffix_name(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("*.example.com:443"), NONE);
    assert_int_equal(name(set, "a.example.com", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "a.b.example.com", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "A.Example.COM", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "a.example.com.", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "example.com", 443), CRULE_DENY);
    assert_int_equal(name(set, "example.com.", 443), CRULE_DENY);
    assert_int_equal(name(set, "badexample.com", 443), CRULE_DENY);
    assert_int_equal(name(set, "a.example.com.evil", 443), CRULE_DENY);
    assert_int_equal(name(set, "a.example.com", 444), CRULE_DENY);
    crule_set_free(set);
}

static void test_ports(void **state)
{
    (void)state;
    struct crule_set *set =
        make_set(RULES("a.test:80,443", "b.test:8000-8999", "c.test:*", "d.test:1,3-4"), NONE);
    assert_int_equal(name(set, "a.test", 80), CRULE_ALLOW);
    assert_int_equal(name(set, "a.test", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "a.test", 81), CRULE_DENY);
    assert_int_equal(name(set, "b.test", 8000), CRULE_ALLOW);
    assert_int_equal(name(set, "b.test", 8500), CRULE_ALLOW);
    assert_int_equal(name(set, "b.test", 8999), CRULE_ALLOW);
    assert_int_equal(name(set, "b.test", 7999), CRULE_DENY);
    assert_int_equal(name(set, "b.test", 9000), CRULE_DENY);
    assert_int_equal(name(set, "c.test", 1), CRULE_ALLOW);
    assert_int_equal(name(set, "c.test", 65535), CRULE_ALLOW);
    assert_int_equal(name(set, "d.test", 1), CRULE_ALLOW);
    assert_int_equal(name(set, "d.test", 2), CRULE_DENY);
    assert_int_equal(name(set, "d.test", 3), CRULE_ALLOW);
    assert_int_equal(name(set, "d.test", 4), CRULE_ALLOW);
    assert_int_equal(name(set, "d.test", 5), CRULE_DENY);
    crule_set_free(set);
}

static void test_deny_name_beats_allow(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("*:*", "*.example.com:443"),
                                     RULES("secret.example.com:*", "*.corp.example.com:443"));
    assert_int_equal(name(set, "www.example.com", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "secret.example.com", 443), CRULE_DENY);
    assert_int_equal(name(set, "SECRET.example.com.", 443), CRULE_DENY);
    assert_int_equal(name(set, "x.corp.example.com", 443), CRULE_DENY);
    assert_int_equal(name(set, "x.corp.example.com", 80), CRULE_ALLOW);
    assert_false(addr_ok(set, "secret.example.com", "192.0.2.1", 443));
    assert_true(addr_ok(set, "www.example.com", "192.0.2.1", 443));
    crule_set_free(set);
}

/* ---- address decisions ---- */

static void test_deny_addr_beats_allowed_name(void **state)
{
    (void)state;
    /* The DNS rebinding case: an allowed name that resolves into a denied
     * block must not reach it. */
    struct crule_set *set =
        make_set(RULES("*.example.com:443"), RULES("10.0.0.0/8:*", "[fd00::]/8:*"));
    assert_int_equal(name(set, "a.example.com", 443), CRULE_NEED_ADDR);
    assert_true(addr_ok(set, "a.example.com", "192.0.2.1", 443));
    assert_false(addr_ok(set, "a.example.com", "10.1.2.3", 443));
    assert_true(addr_ok(set, "a.example.com", "2001:db8::1", 443));
    assert_false(addr_ok(set, "a.example.com", "fd12::1", 443));
    assert_false(addr_ok(set, "a.example.com", "::ffff:10.1.2.3", 443));
    assert_int_equal(name(set, "other.com", 443), CRULE_DENY);
    crule_set_free(set);

    /* A deny address rule on other ports does not get in the way. */
    set = make_set(RULES("*.example.com:443"), RULES("10.0.0.0/8:22"));
    assert_int_equal(name(set, "a.example.com", 443), CRULE_ALLOW);
    assert_true(addr_ok(set, "a.example.com", "10.1.2.3", 443));
    crule_set_free(set);
}

static void test_allow_by_addr(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("10.0.0.0/8:80,443", "[2001:db8::]/32:443"), NONE);
    assert_int_equal(name(set, "internal.corp", 443), CRULE_NEED_ADDR);
    assert_int_equal(name(set, "internal.corp", 22), CRULE_DENY);
    assert_true(addr_ok(set, "internal.corp", "10.200.0.1", 443));
    assert_true(addr_ok(set, "internal.corp", "10.0.0.0", 80));
    assert_true(addr_ok(set, "internal.corp", "10.255.255.255", 80));
    assert_false(addr_ok(set, "internal.corp", "11.0.0.0", 80));
    assert_false(addr_ok(set, "internal.corp", "9.255.255.255", 80));
    assert_false(addr_ok(set, "internal.corp", "10.0.0.1", 22));
    assert_true(addr_ok(set, "internal.corp", "2001:db8:ffff::1", 443));
    assert_false(addr_ok(set, "internal.corp", "2001:db9::1", 443));
    assert_false(addr_ok(set, "internal.corp", "2001:db8::1", 80));
    crule_set_free(set);
}

static void test_cidr_odd_prefixes(void **state)
{
    (void)state;
    struct crule_set *set =
        make_set(RULES("192.168.1.128/25:*", "[fd00:0:0:8000::]/49:*", "0.0.0.0/0:7"), NONE);
    assert_true(addr_ok(set, "h", "192.168.1.128", 80));
    assert_true(addr_ok(set, "h", "192.168.1.255", 80));
    assert_false(addr_ok(set, "h", "192.168.1.127", 80));
    assert_true(addr_ok(set, "h", "fd00:0:0:8000::1", 80));
    assert_true(addr_ok(set, "h", "fd00:0:0:ffff::1", 80));
    assert_false(addr_ok(set, "h", "fd00:0:0:7fff::1", 80));
    assert_true(addr_ok(set, "h", "8.8.8.8", 7));
    assert_true(addr_ok(set, "h", "::ffff:8.8.8.8", 7));
    assert_false(addr_ok(set, "h", "2001:db8::1", 7));
    crule_set_free(set);
}

static void test_v4_mapped_is_v4(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("10.0.0.0/8:443"), RULES("10.9.0.0/16:*"));
    assert_true(addr_ok(set, "n.test", "::ffff:10.1.2.3", 443));
    assert_false(addr_ok(set, "n.test", "::ffff:10.9.2.3", 443));
    assert_false(addr_ok(set, "n.test", "::ffff:11.1.2.3", 443));
    crule_set_free(set);

    /* A rule written in the mapped form covers plain IPv4 as well. */
    set = make_set(RULES("*:443"), RULES("[::ffff:127.0.0.0]/104:*"));
    assert_false(addr_ok(set, "n.test", "127.0.0.1", 443));
    assert_false(addr_ok(set, "n.test", "::ffff:127.0.0.1", 443));
    assert_true(addr_ok(set, "n.test", "128.0.0.1", 443));
    crule_set_free(set);
}

static void test_ip_literal_host(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("127.0.0.1:8000-8999", "[::1]:22", "*.0.0.1.test:*"),
                                     RULES("[::1]:23"));
    assert_int_equal(name(set, "127.0.0.1", 8080), CRULE_ALLOW);
    assert_int_equal(name(set, "127.0.0.1", 80), CRULE_DENY);
    assert_int_equal(name(set, "127.0.0.2", 8080), CRULE_DENY);
    assert_int_equal(name(set, "::1", 22), CRULE_ALLOW);
    assert_int_equal(name(set, "[::1]", 22), CRULE_ALLOW);
    assert_int_equal(name(set, "::1", 23), CRULE_DENY);
    assert_int_equal(name(set, "::ffff:127.0.0.1", 8080), CRULE_ALLOW);
    assert_true(addr_ok(set, "127.0.0.1", "127.0.0.1", 8080));
    assert_false(addr_ok(set, "127.0.0.1", "127.0.0.1", 80));
    assert_true(addr_ok(set, "::1", "::1", 22));
    assert_false(addr_ok(set, "::1", "::1", 23));
    crule_set_free(set);

    /* A deny on the literal wins even when '*' allows by name. */
    set = make_set(RULES("*:*"), RULES("169.254.0.0/16:*"));
    assert_int_equal(name(set, "169.254.169.254", 80), CRULE_DENY);
    assert_int_equal(name(set, "192.0.2.1", 80), CRULE_ALLOW);
    assert_false(addr_ok(set, "169.254.169.254", "169.254.169.254", 80));
    assert_int_equal(name(set, "metadata.test", 80), CRULE_NEED_ADDR);
    assert_false(addr_ok(set, "metadata.test", "169.254.169.254", 80));
    assert_true(addr_ok(set, "metadata.test", "192.0.2.1", 80));
    crule_set_free(set);

    /* A name rule never matches a literal, whatever its digits. */
    set = make_set(RULES("*.1.test:*"), NONE);
    assert_int_equal(name(set, "10.0.0.1", 80), CRULE_DENY);
    crule_set_free(set);
}

static void test_any_with_ports(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("*:443"), RULES("*:25"));
    assert_int_equal(name(set, "x.test", 443), CRULE_ALLOW);
    assert_int_equal(name(set, "x.test", 25), CRULE_DENY);
    assert_int_equal(name(set, "x.test", 80), CRULE_DENY);
    assert_int_equal(name(set, "192.0.2.1", 443), CRULE_ALLOW);
    assert_true(addr_ok(set, "x.test", "192.0.2.1", 443));
    assert_false(addr_ok(set, "x.test", "192.0.2.1", 25));
    crule_set_free(set);
}

static void test_addr_other_family(void **state)
{
    (void)state;
    struct crule_set *set = make_set(RULES("*:*"), NONE);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    assert_false(crule_check_addr(set, STR_LIT("x.test"), (const struct sockaddr *)&ss, 80));
    assert_false(crule_check_addr(set, STR_LIT("x.test"), NULL, 80));
    crule_set_free(set);
}

/* ---- authority parsing ---- */

static void authority_ok(const char *a, const char *host, uint16_t port)
{
    struct str h = STR_NULL;
    uint16_t p = 0;
    const char *msg = crule_parse_authority(str_cstr(a), &h, &p);
    if (msg)
        fail_msg("'%s': %s", a, msg);
    if (!str_eq(h, str_cstr(host)))
        fail_msg("'%s': host '%.*s', want '%s'", a, (int)h.len, h.p, host);
    assert_int_equal(p, port);
}

static void authority_bad(const char *a)
{
    struct str h = STR_LIT("untouched");
    uint16_t p = 7;
    const char *msg = crule_parse_authority(str_cstr(a), &h, &p);
    if (!msg)
        fail_msg("'%s' accepted", a);
    assert_true(str_eq(h, STR_LIT("untouched")));
    assert_int_equal(p, 7);
}

static void test_authority_good(void **state)
{
    (void)state;
    authority_ok("example.com:443", "example.com", 443);
    authority_ok("Example.COM:1", "Example.COM", 1);
    authority_ok("example.com.:65535", "example.com.", 65535);
    authority_ok("127.0.0.1:8080", "127.0.0.1", 8080);
    authority_ok("[::1]:443", "::1", 443);
    authority_ok("[2001:db8::1]:22", "2001:db8::1", 22);
    authority_ok("a_b-c:0443", "a_b-c", 443);
}

static void test_authority_bad(void **state)
{
    (void)state;
    authority_bad("");
    authority_bad("example.com");
    authority_bad("example.com:");
    authority_bad("example.com:0");
    authority_bad("example.com:65536");
    authority_bad("example.com:99999");
    authority_bad("example.com:-1");
    authority_bad("example.com:+443");
    authority_bad("example.com:443x");
    authority_bad("example.com:443/path");
    authority_bad("example.com/path:443");
    authority_bad("example.com:443?q");
    authority_bad("user@example.com:443");
    authority_bad("user:pw@example.com:443");
    authority_bad(":443");
    authority_bad("::1:443");
    authority_bad("[::1]");
    authority_bad("[::1]443");
    authority_bad("[::1:443");
    authority_bad("[]:443");
    authority_bad("[example.com]:443");
    authority_bad("[::1]:443/x");
    authority_bad("exa mple.com:443");
    authority_bad("example.com :443");
    authority_bad("example.com: 443");
    authority_bad("http://example.com:443");
    authority_bad("example.com:443:443");
    char big[300];
    memset(big, 'a', 260);
    strcpy(big + 260, ":443");
    authority_bad(big);
    struct str h;
    uint16_t p;
    assert_non_null(crule_parse_authority(STR_NULL, &h, &p));
    /* An embedded NUL is not a name character. */
    assert_non_null(crule_parse_authority(str_make("a\0b:443", 7), &h, &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_exact_name),
        cmocka_unit_test(test_parse_suffix),
        cmocka_unit_test(test_parse_any),
        cmocka_unit_test(test_parse_v4),
        cmocka_unit_test(test_parse_v4_cidr_and_list),
        cmocka_unit_test(test_parse_v6),
        cmocka_unit_test(test_parse_bad_host),
        cmocka_unit_test(test_parse_bad_port),
        cmocka_unit_test(test_parse_bad_cidr),
        cmocka_unit_test(test_set_counts_and_null),
        cmocka_unit_test(test_no_rules_deny),
        cmocka_unit_test(test_exact_name),
        cmocka_unit_test(test_suffix_name),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_deny_name_beats_allow),
        cmocka_unit_test(test_deny_addr_beats_allowed_name),
        cmocka_unit_test(test_allow_by_addr),
        cmocka_unit_test(test_cidr_odd_prefixes),
        cmocka_unit_test(test_v4_mapped_is_v4),
        cmocka_unit_test(test_ip_literal_host),
        cmocka_unit_test(test_any_with_ports),
        cmocka_unit_test(test_addr_other_family),
        cmocka_unit_test(test_authority_good),
        cmocka_unit_test(test_authority_bad),
    };
    return cmocka_run_group_tests_name("config/connect_rule", tests, NULL, NULL);
}
