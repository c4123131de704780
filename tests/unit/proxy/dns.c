/* Unit tests for proxy/dns.c on a real libev loop: IP literals, /etc/hosts
 * names, the cache, cancellation, deferred delivery, error statuses. No
 * test needs a reachable DNS server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "proxy/dns.h"

struct rec {
    int calls;
    int status;
    struct dns_result res;
    /* Optional actions from inside the callback. */
    struct dns_query *cancel_other;
    struct dns *resolve_again;
    struct rec *again_rec;
    struct dns_query *again_q;
};

static void on_done(void *arg, int status, const struct dns_result *res)
{
    struct rec *r = arg;
    r->calls++;
    r->status = status;
    if (status == 0) {
        assert_non_null(res);
        r->res = *res;
    } else {
        assert_null(res);
    }
    if (r->cancel_other) {
        dns_cancel(r->cancel_other);
        r->cancel_other = NULL;
    }
    if (r->resolve_again) {
        struct dns *d = r->resolve_again;
        r->resolve_again = NULL;
        r->again_q = dns_resolve(d, STR_LIT("192.0.2.7"), on_done, r->again_rec);
        /* Not delivered from inside this callback either. */
        assert_int_equal(r->again_rec->calls, 0);
    }
}

static void on_guard(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    *(bool *)t->data = true;
    ev_break(loop, EVBREAK_ONE);
}

/* Runs loop until *calls >= want or secs pass. */
static void run_until(struct ev_loop *loop, const int *calls, int want, double secs)
{
    bool expired = false;
    ev_timer guard;
    ev_timer_init(&guard, on_guard, secs, 0.);
    guard.data = &expired;
    ev_timer_start(loop, &guard);
    while (*calls < want && !expired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
}

/* A few loop iterations without blocking. */
static void spin(struct ev_loop *loop)
{
    for (int i = 0; i < 5; i++)
        ev_run(loop, EVRUN_NOWAIT);
}

static bool has_addr(const struct dns_result *res, int af, const char *ip)
{
    uint8_t want[16];
    assert_int_equal(inet_pton(af, ip, want), 1);
    for (size_t i = 0; i < res->num; i++) {
        const struct sockaddr_storage *ss = &res->addrs[i];
        if (ss->ss_family != af)
            continue;
        if (af == AF_INET &&
            memcmp(&((const struct sockaddr_in *)ss)->sin_addr, want, 4) == 0)
            return true;
        if (af == AF_INET6 &&
            memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, want, 16) == 0)
            return true;
    }
    return false;
}

struct fixture {
    struct ev_loop *loop;
    struct dns *dns;
};

static int setup(void **state)
{
    static struct fixture f;
    f.loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(f.loop);
    f.dns = dns_new(f.loop, 1.0, 10.0);
    assert_non_null(f.dns);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    dns_free(f->dns);
    ev_loop_destroy(f->loop);
    return 0;
}

static void test_ipv4_literal(void **state)
{
    struct fixture *f = *state;
    struct rec r = { 0 };
    struct dns_query *q = dns_resolve(f->dns, STR_LIT("127.0.0.1"), on_done, &r);
    assert_non_null(q);
    assert_int_equal(r.calls, 0);
    run_until(f->loop, &r.calls, 1, 2.);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.res.num, 1);
    assert_true(has_addr(&r.res, AF_INET, "127.0.0.1"));
    assert_int_equal(dns_num_lookups(f->dns), 0);
    spin(f->loop);
    assert_int_equal(r.calls, 1);
}

static void test_ipv6_literal(void **state)
{
    struct fixture *f = *state;
    struct rec a = { 0 }, b = { 0 };
    dns_resolve(f->dns, STR_LIT("::1"), on_done, &a);
    dns_resolve(f->dns, STR_LIT("[2001:db8::5]"), on_done, &b);
    assert_int_equal(a.calls + b.calls, 0);
    run_until(f->loop, &b.calls, 1, 2.);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.status, 0);
    assert_int_equal(a.res.num, 1);
    assert_true(has_addr(&a.res, AF_INET6, "::1"));
    assert_true(has_addr(&b.res, AF_INET6, "2001:db8::5"));
    assert_int_equal(dns_num_lookups(f->dns), 0);
}

static void test_localhost_and_cache(void **state)
{
    struct fixture *f = *state;
    struct rec r = { 0 };
    dns_resolve(f->dns, STR_LIT("localhost"), on_done, &r);
    assert_int_equal(r.calls, 0); /* never from inside dns_resolve */
    run_until(f->loop, &r.calls, 1, 5.);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.res.num >= 1);
    assert_true(has_addr(&r.res, AF_INET, "127.0.0.1"));
    assert_int_equal(dns_num_lookups(f->dns), 1);
    assert_int_equal(dns_num_cached(f->dns), 1);

    /* A cache hit, whatever the case: no new lookup, same answer, still
     * delivered later. */
    struct rec r2 = { 0 };
    dns_resolve(f->dns, STR_LIT("LocalHost"), on_done, &r2);
    assert_int_equal(r2.calls, 0);
    run_until(f->loop, &r2.calls, 1, 2.);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.status, 0);
    assert_int_equal(r2.res.num, r.res.num);
    assert_memory_equal(r2.res.addrs, r.res.addrs, r.res.num * sizeof(r.res.addrs[0]));
    assert_int_equal(dns_num_lookups(f->dns), 1);
}

static void test_no_cache(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct dns *dns = dns_new(loop, 1.0, 0.);
    struct rec a = { 0 }, b = { 0 };
    dns_resolve(dns, STR_LIT("localhost"), on_done, &a);
    run_until(loop, &a.calls, 1, 5.);
    dns_resolve(dns, STR_LIT("localhost"), on_done, &b);
    run_until(loop, &b.calls, 1, 5.);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    assert_int_equal(dns_num_lookups(dns), 2);
    assert_int_equal(dns_num_cached(dns), 0);
    dns_free(dns);
    ev_loop_destroy(loop);
}

static void test_cache_expires(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct dns *dns = dns_new(loop, 1.0, 0.05);
    struct rec a = { 0 }, b = { 0 };
    dns_resolve(dns, STR_LIT("localhost"), on_done, &a);
    run_until(loop, &a.calls, 1, 5.);
    assert_int_equal(dns_num_lookups(dns), 1);
    int never = 0;
    run_until(loop, &never, 1, 0.1);
    ev_now_update(loop);
    dns_resolve(dns, STR_LIT("localhost"), on_done, &b);
    run_until(loop, &b.calls, 1, 5.);
    assert_int_equal(b.status, 0);
    assert_int_equal(dns_num_lookups(dns), 2);
    dns_free(dns);
    ev_loop_destroy(loop);
}

static void test_cancel_before_delivery(void **state)
{
    struct fixture *f = *state;
    struct rec a = { 0 }, b = { 0 }, c = { 0 };
    struct dns_query *qa = dns_resolve(f->dns, STR_LIT("127.0.0.1"), on_done, &a);
    struct dns_query *qb = dns_resolve(f->dns, STR_LIT("localhost"), on_done, &b);
    dns_resolve(f->dns, STR_LIT("::1"), on_done, &c);
    dns_cancel(qa);
    dns_cancel(qb);
    dns_cancel(NULL);
    run_until(f->loop, &c.calls, 1, 2.);
    spin(f->loop);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
    assert_int_equal(c.calls, 1);
}

static void test_cancel_from_sibling_callback(void **state)
{
    struct fixture *f = *state;
    struct rec a = { 0 }, b = { 0 };
    dns_resolve(f->dns, STR_LIT("127.0.0.1"), on_done, &a);
    struct dns_query *qb = dns_resolve(f->dns, STR_LIT("127.0.0.2"), on_done, &b);
    a.cancel_other = qb; /* a is answered first, in the same batch */
    run_until(f->loop, &a.calls, 1, 2.);
    spin(f->loop);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 0);
}

static void test_resolve_from_callback(void **state)
{
    struct fixture *f = *state;
    struct rec a = { 0 }, again = { 0 };
    a.resolve_again = f->dns;
    a.again_rec = &again;
    dns_resolve(f->dns, STR_LIT("127.0.0.1"), on_done, &a);
    run_until(f->loop, &again.calls, 1, 2.);
    assert_int_equal(a.calls, 1);
    assert_int_equal(again.calls, 1);
    assert_true(has_addr(&again.res, AF_INET, "192.0.2.7"));
}

static void test_invalid_names(void **state)
{
    struct fixture *f = *state;
    struct rec a = { 0 }, b = { 0 }, c = { 0 };
    char big[300];
    memset(big, 'a', sizeof(big));
    dns_resolve(f->dns, STR_LIT(""), on_done, &a);
    dns_resolve(f->dns, str_make("a\0b", 3), on_done, &b);
    dns_resolve(f->dns, str_make(big, sizeof(big)), on_done, &c);
    assert_int_equal(a.calls + b.calls + c.calls, 0);
    run_until(f->loop, &c.calls, 1, 2.);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.status, H2G_ERR_INVAL);
    assert_int_equal(b.status, H2G_ERR_INVAL);
    assert_int_equal(c.status, H2G_ERR_INVAL);
    assert_int_equal(dns_num_lookups(f->dns), 0);
}

/* The .invalid TLD never resolves (RFC 6761). Without a reachable DNS
 * server the answer is a timeout or a server failure instead of
 * NXDOMAIN; every one of those is an error, which is what matters. */
static void test_unknown_name(void **state)
{
    struct fixture *f = *state;
    struct rec a = { 0 }, b = { 0 };
    dns_resolve(f->dns, STR_LIT("no-such-host.h2gate.invalid"), on_done, &a);
    dns_resolve(f->dns, STR_LIT("No-Such-Host.h2gate.invalid"), on_done, &b);
    assert_int_equal(dns_num_lookups(f->dns), 1); /* joined */
    run_until(f->loop, &b.calls, 1, 5.);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_true(a.status == H2G_ERR_NOROUTE || a.status == H2G_ERR_TIMEOUT ||
                a.status == H2G_ERR_IO);
    assert_int_equal(b.status, a.status);
    print_message("unknown name: %s\n", h2g_strerror(a.status));
    /* NXDOMAIN is cached briefly; timeouts are not. */
    struct rec c = { 0 };
    uint64_t before = dns_num_lookups(f->dns);
    dns_resolve(f->dns, STR_LIT("no-such-host.h2gate.invalid"), on_done, &c);
    run_until(f->loop, &c.calls, 1, 5.);
    assert_true(c.status < 0);
    if (a.status == H2G_ERR_NOROUTE)
        assert_int_equal(dns_num_lookups(f->dns), before);
    else
        assert_int_equal(dns_num_lookups(f->dns), before + 1);
}

static void test_cancel_pending_lookup(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct dns *dns = dns_new(loop, 0.3, 10.);
    struct rec a = { 0 }, b = { 0 };
    struct dns_query *qa = dns_resolve(dns, STR_LIT("cancelled.h2gate.invalid"), on_done, &a);
    dns_resolve(dns, STR_LIT("other.h2gate.invalid"), on_done, &b);
    dns_cancel(qa);
    run_until(loop, &b.calls, 1, 3.);
    int never = 0;
    run_until(loop, &never, 1, 0.2);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    /* Free with a lookup possibly still in c-ares and a query waiting on
     * it: no callback, no leak (ASan). */
    struct rec c = { 0 };
    dns_resolve(dns, STR_LIT("pending.h2gate.invalid"), on_done, &c);
    dns_resolve(dns, STR_LIT("192.0.2.1"), on_done, &c);
    dns_free(dns);
    assert_int_equal(c.calls, 0);
    ev_loop_destroy(loop);
}


/* ---- a fake DNS server on loopback ---- */

/* Answers by the first label of the name: "both" A 192.0.2.10 and AAAA
 * 2001:db8::10 and 2001:db8::11; "v4" only A; "nx" NXDOMAIN; "fail"
 * SERVFAIL; "silent" never. */
struct fake_dns {
    int fd;
    ev_io io;
    int num_queries;
    char csv[64];
};

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void on_fake_query(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct fake_dns *fd = io->data;
    uint8_t q[512], r[1024];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof(from);
    ssize_t n = recvfrom(fd->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &from_len);
    if (n < 12)
        return;
    fd->num_queries++;
    size_t off = 12;
    while (off < (size_t)n && q[off])
        off += (size_t)q[off] + 1;
    off += 5; /* root label, QTYPE, QCLASS */
    if (off > (size_t)n)
        return;
    unsigned qtype = (unsigned)(q[off - 4] << 8 | q[off - 3]);
    char first[64] = "";
    memcpy(first, q + 13, q[12] < 63 ? q[12] : 63);
    first[q[12] < 63 ? q[12] : 63] = '\0';
    if (strcmp(first, "silent") == 0)
        return;
    memcpy(r, q, off);
    r[2] = 0x81; /* QR, RD */
    r[3] = 0x80; /* RA, NOERROR */
    put16(r + 6, 0);
    put16(r + 8, 0);
    put16(r + 10, 0);
    size_t len = off;
    unsigned ancount = 0;
    if (strcmp(first, "nx") == 0) {
        r[3] = 0x83;
    } else if (strcmp(first, "fail") == 0) {
        r[3] = 0x82;
    } else if (qtype == 1) { /* A */
        const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 10 };
        memcpy(r + len, rr, sizeof(rr));
        len += sizeof(rr);
        ancount = 1;
    } else if (qtype == 28 && strcmp(first, "both") == 0) { /* AAAA */
        for (int i = 0; i < 2; i++) {
            uint8_t rr[28] = { 0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,
                               0x20, 0x01, 0x0d, 0xb8 };
            rr[27] = (uint8_t)(0x10 + i);
            memcpy(r + len, rr, sizeof(rr));
            len += sizeof(rr);
            ancount++;
        }
    }
    put16(r + 6, ancount);
    sendto(fd->fd, r, len, 0, (struct sockaddr *)&from, from_len);
}

static void fake_start(struct fake_dns *f, struct ev_loop *loop)
{
    memset(f, 0, sizeof(*f));
    f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(f->fd >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(f->csv, sizeof(f->csv), "127.0.0.1:%u", ntohs(sin.sin_port));
    ev_io_init(&f->io, on_fake_query, f->fd, EV_READ);
    f->io.data = f;
    ev_io_start(loop, &f->io);
}

static void fake_stop(struct fake_dns *f, struct ev_loop *loop)
{
    ev_io_stop(loop, &f->io);
    close(f->fd);
}

static void test_fake_both_families(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct fake_dns fake;
    fake_start(&fake, loop);
    struct dns *dns = dns_new(loop, 2.0, 10.);
    assert_int_equal(dns_set_servers(dns, fake.csv), 0);
    struct rec a = { 0 }, b = { 0 };
    dns_resolve(dns, STR_LIT("both.h2gate.test"), on_done, &a);
    dns_resolve(dns, STR_LIT("v4.h2gate.test"), on_done, &b);
    assert_int_equal(a.calls + b.calls, 0);
    run_until(loop, &a.calls, 1, 3.);
    run_until(loop, &b.calls, 1, 3.);
    assert_int_equal(a.status, 0);
    assert_int_equal(a.res.num, 3);
    assert_int_equal(a.res.addrs[0].ss_family, AF_INET6);
    assert_int_equal(a.res.addrs[1].ss_family, AF_INET6);
    assert_int_equal(a.res.addrs[2].ss_family, AF_INET);
    assert_true(has_addr(&a.res, AF_INET6, "2001:db8::10"));
    assert_true(has_addr(&a.res, AF_INET6, "2001:db8::11"));
    assert_true(has_addr(&a.res, AF_INET, "192.0.2.10"));
    assert_int_equal(b.status, 0);
    assert_int_equal(b.res.num, 1);
    assert_true(has_addr(&b.res, AF_INET, "192.0.2.10"));
    int queries = fake.num_queries;
    /* Served from the cache: the server hears nothing. */
    struct rec c = { 0 };
    dns_resolve(dns, STR_LIT("both.h2gate.test"), on_done, &c);
    run_until(loop, &c.calls, 1, 3.);
    assert_int_equal(c.res.num, 3);
    assert_int_equal(fake.num_queries, queries);
    assert_int_equal(dns_num_lookups(dns), 2);
    dns_free(dns);
    fake_stop(&fake, loop);
    ev_loop_destroy(loop);
}

static void test_fake_errors(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct fake_dns fake;
    fake_start(&fake, loop);
    struct dns *dns = dns_new(loop, 2.0, 10.);
    assert_int_equal(dns_set_servers(dns, fake.csv), 0);
    assert_int_equal(dns_set_servers(dns, "not an address"), H2G_ERR_INVAL);
    struct rec nx = { 0 }, fail = { 0 };
    dns_resolve(dns, STR_LIT("nx.h2gate.test"), on_done, &nx);
    dns_resolve(dns, STR_LIT("fail.h2gate.test"), on_done, &fail);
    run_until(loop, &nx.calls, 1, 3.);
    run_until(loop, &fail.calls, 1, 3.);
    assert_int_equal(nx.status, H2G_ERR_NOROUTE);
    assert_int_equal(fail.status, H2G_ERR_IO);
    /* NXDOMAIN is cached, SERVFAIL is not. */
    uint64_t before = dns_num_lookups(dns);
    struct rec nx2 = { 0 }, fail2 = { 0 };
    dns_resolve(dns, STR_LIT("nx.h2gate.test"), on_done, &nx2);
    dns_resolve(dns, STR_LIT("fail.h2gate.test"), on_done, &fail2);
    run_until(loop, &nx2.calls, 1, 3.);
    run_until(loop, &fail2.calls, 1, 3.);
    assert_int_equal(nx2.status, H2G_ERR_NOROUTE);
    assert_int_equal(fail2.status, H2G_ERR_IO);
    assert_int_equal(dns_num_lookups(dns), before + 1);
    dns_free(dns);
    fake_stop(&fake, loop);
    ev_loop_destroy(loop);
}

static void test_fake_timeout(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct fake_dns fake;
    fake_start(&fake, loop);
    struct dns *dns = dns_new(loop, 0.3, 10.);
    assert_int_equal(dns_set_servers(dns, fake.csv), 0);
    struct rec a = { 0 }, b = { 0 };
    ev_now_update(loop);
    double start = ev_now(loop);
    dns_resolve(dns, STR_LIT("silent.h2gate.test"), on_done, &a);
    run_until(loop, &a.calls, 1, 3.);
    double took = ev_now(loop) - start;
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, H2G_ERR_TIMEOUT);
    assert_true(took >= 0.25 && took < 1.0);
    /* Not cached: asking again makes a new lookup, which also times out. */
    dns_resolve(dns, STR_LIT("silent.h2gate.test"), on_done, &b);
    assert_int_equal(dns_num_lookups(dns), 2);
    run_until(loop, &b.calls, 1, 3.);
    assert_int_equal(b.status, H2G_ERR_TIMEOUT);
    /* Let c-ares give up on the abandoned lookups too. */
    int never = 0;
    run_until(loop, &never, 1, 0.8);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    dns_free(dns);
    fake_stop(&fake, loop);
    ev_loop_destroy(loop);
}

/* ---- dns_collect on hand-made c-ares answers ---- */

#define MAX_NODES (2 * DNS_MAX_ADDRS + 8)
static struct ares_addrinfo_node nodes[MAX_NODES];
static struct sockaddr_in6 sin6s[MAX_NODES];
static struct sockaddr_in sins[MAX_NODES];

/* spec: "6:2001:db8::1 4:192.0.2.1 ..." */
static struct ares_addrinfo make_ai(const char *const *addrs)
{
    struct ares_addrinfo ai;
    memset(&ai, 0, sizeof(ai));
    memset(nodes, 0, sizeof(nodes));
    struct ares_addrinfo_node **link = &ai.nodes;
    for (size_t i = 0; addrs[i]; i++) {
        struct ares_addrinfo_node *n = &nodes[i];
        if (strchr(addrs[i], ':')) {
            memset(&sin6s[i], 0, sizeof(sin6s[i]));
            sin6s[i].sin6_family = AF_INET6;
            sin6s[i].sin6_port = htons(53);
            assert_int_equal(inet_pton(AF_INET6, addrs[i], &sin6s[i].sin6_addr), 1);
            n->ai_family = AF_INET6;
            n->ai_addr = (struct sockaddr *)&sin6s[i];
            n->ai_addrlen = sizeof(sin6s[i]);
        } else {
            memset(&sins[i], 0, sizeof(sins[i]));
            sins[i].sin_family = AF_INET;
            sins[i].sin_port = htons(53);
            assert_int_equal(inet_pton(AF_INET, addrs[i], &sins[i].sin_addr), 1);
            n->ai_family = AF_INET;
            n->ai_addr = (struct sockaddr *)&sins[i];
            n->ai_addrlen = sizeof(sins[i]);
        }
        *link = n;
        link = &n->ai_next;
    }
    return ai;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf)
{
    if (ss->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, 64);
    return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, 64);
}

static void test_collect_order_and_dedup(void **state)
{
    (void)state;
    struct ares_addrinfo ai = make_ai((const char *const[]){
        "192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2", "192.0.2.1", "2001:db8::1",
        NULL });
    struct dns_result res;
    dns_collect(&ai, &res);
    assert_int_equal(res.num, 4);
    const char *want[] = { "2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2" };
    for (size_t i = 0; i < 4; i++) {
        char buf[64];
        assert_string_equal(addr_str(&res.addrs[i], buf), want[i]);
        /* The port is zero: the caller sets the CONNECT port. */
        if (res.addrs[i].ss_family == AF_INET)
            assert_int_equal(((struct sockaddr_in *)&res.addrs[i])->sin_port, 0);
        else
            assert_int_equal(((struct sockaddr_in6 *)&res.addrs[i])->sin6_port, 0);
    }
    dns_collect(NULL, &res);
    assert_int_equal(res.num, 0);
}

/* More addresses than DNS_MAX_ADDRS: few IPv4 ones are all kept beside
 * the IPv6 ones; many of each are kept half and half. */
static void test_collect_cap_keeps_both_families(void **state)
{
    (void)state;
    enum { MANY = DNS_MAX_ADDRS + 4, HALF = DNS_MAX_ADDRS / 2 };
    static char v6[MANY][64], v4[MANY][64];
    const char *list[2 * MANY + 1];
    for (int i = 0; i < MANY; i++) {
        snprintf(v6[i], sizeof(v6[i]), "2001:db8::%x", i + 1);
        snprintf(v4[i], sizeof(v4[i]), "192.0.2.%d", i + 1);
    }
    size_t n = 0;
    for (int i = 0; i < MANY; i++)
        list[n++] = v6[i];
    for (int i = 0; i < 3; i++)
        list[n++] = v4[i];
    list[n] = NULL;
    struct ares_addrinfo ai = make_ai(list);
    static struct dns_result res;
    dns_collect(&ai, &res);
    assert_int_equal(res.num, DNS_MAX_ADDRS);
    assert_int_equal(res.addrs[DNS_MAX_ADDRS - 4].ss_family, AF_INET6);
    assert_int_equal(res.addrs[DNS_MAX_ADDRS - 3].ss_family, AF_INET);
    assert_int_equal(res.addrs[DNS_MAX_ADDRS - 1].ss_family, AF_INET);

    n = 0;
    for (int i = 0; i < MANY; i++)
        list[n++] = v6[i];
    for (int i = 0; i < MANY; i++)
        list[n++] = v4[i];
    list[n] = NULL;
    ai = make_ai(list);
    dns_collect(&ai, &res);
    assert_int_equal(res.num, DNS_MAX_ADDRS);
    assert_int_equal(res.addrs[HALF - 1].ss_family, AF_INET6);
    assert_int_equal(res.addrs[HALF].ss_family, AF_INET);
    char buf[64];
    assert_string_equal(addr_str(&res.addrs[HALF], buf), "192.0.2.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ipv4_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_and_cache, setup, teardown),
        cmocka_unit_test(test_no_cache),
        cmocka_unit_test(test_cache_expires),
        cmocka_unit_test_setup_teardown(test_cancel_before_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_from_sibling_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_name, setup, teardown),
        cmocka_unit_test(test_cancel_pending_lookup),
        cmocka_unit_test(test_fake_both_families),
        cmocka_unit_test(test_fake_errors),
        cmocka_unit_test(test_fake_timeout),
        cmocka_unit_test(test_collect_order_and_dedup),
        cmocka_unit_test(test_collect_cap_keeps_both_families),
    };
    return cmocka_run_group_tests_name("proxy/dns", tests, NULL, NULL);
}
