/* Unit tests for proxy/tls_tickets.c: the process key ring's rotation
 * (driven by the time given) and --tls-ticket-key-file's layouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/tls_tickets.h"

static void test_ring_rotates_and_keeps(void **state)
{
    (void)state;
    struct tls_ticket_key a, b, k;
    bool cur;
    tls_ticket_ring_current(1000, 16, &a);
    assert_int_equal(a.aes_len, 16);
    tls_ticket_ring_current(1000 + TLS_TICKET_ROTATE - 1, 16, &k);
    assert_memory_equal(k.name, a.name, 16);
    assert_true(tls_ticket_ring_find(a.name, &k, &cur));
    assert_true(cur);
    tls_ticket_ring_current(1000 + TLS_TICKET_ROTATE, 16, &b);
    assert_memory_not_equal(b.name, a.name, 16);
    assert_true(tls_ticket_ring_find(a.name, &k, &cur));
    assert_false(cur);
    assert_memory_equal(k.aes, a.aes, 16);
    /* a was made TLS_TICKET_KEEP - 1 rotations ago: still there ... */
    time_t t = 1000 + TLS_TICKET_ROTATE;
    for (int i = 0; i < TLS_TICKET_KEEP - 2; i++)
        tls_ticket_ring_current(t += TLS_TICKET_ROTATE, 16, &k);
    assert_true(tls_ticket_ring_find(a.name, &k, &cur));
    /* ... one more and it is gone; b is kept. */
    tls_ticket_ring_current(t += TLS_TICKET_ROTATE, 16, &k);
    assert_false(tls_ticket_ring_find(a.name, &k, &cur));
    assert_true(tls_ticket_ring_find(b.name, &k, &cur));
    /* A change of cipher makes a key of the new size at once. */
    tls_ticket_ring_current(t, 32, &k);
    assert_int_equal(k.aes_len, 32);
}

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

static void test_key_files(void **state)
{
    (void)state;
    uint8_t buf[80];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    char p1[] = "/tmp/h2gate-tk1-XXXXXX", p2[] = "/tmp/h2gate-tk2-XXXXXX";
    close(mkstemp(p1));
    close(mkstemp(p2));
    write_file(p1, buf, 48);
    write_file(p2, buf, 80);
    char err[256];
    char *one[] = { p1 };
    struct tls_ticket_keys *k = tls_ticket_keys_load(one, 1, 16, err, sizeof(err));
    assert_non_null(k);
    assert_int_equal(k->num, 1);
    assert_memory_equal(k->v[0].name, buf, 16);
    assert_memory_equal(k->v[0].aes, buf + 16, 16);
    assert_memory_equal(k->v[0].hmac, buf + 32, 16);
    tls_ticket_keys_free(k);
    char *two[] = { p2 };
    k = tls_ticket_keys_load(two, 1, 32, err, sizeof(err));
    assert_non_null(k);
    assert_memory_equal(k->v[0].aes, buf + 16, 32);
    assert_memory_equal(k->v[0].hmac, buf + 48, 32);
    tls_ticket_keys_free(k);
    char *both[] = { p2, p1 };
    assert_null(tls_ticket_keys_load(both, 2, 32, err, sizeof(err)));
    assert_non_null(strstr(err, "48 bytes, but aes-256-cbc needs exactly 80"));
    k = tls_ticket_keys_load(NULL, 0, 16, err, sizeof(err));
    assert_int_equal(k->num, 0);
    tls_ticket_keys_free(k);
    tls_ticket_keys_free(NULL);
    unlink(p1);
    unlink(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_rotates_and_keeps),
        cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
