/* Unit tests for proxy/ratelimit.c: the token buckets of --read-rate and
 * --write-rate, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "config/config-t.h"
#include "proxy/ratelimit.h"

#define T0 1000.0  /* the fake clock's start (ev_now is never 0) */

static struct ratelimit *limits(size_t read_rate, size_t read_burst, size_t write_rate,
                                size_t write_burst)
{
    struct config cfg = { .read_rate = read_rate, .read_burst = read_burst,
                          .write_rate = write_rate, .write_burst = write_burst };
    return ratelimit_new(&cfg, T0);
}

static void test_none_without_a_rate(void **state)
{
    (void)state;
    assert_null(limits(0, 0, 0, 0));
    assert_null(limits(0, 4096, 0, 4096));  /* a burst alone limits nothing */
}

/* Full at the start; what was taken comes back at the rate, never past
 * the burst. */
static void test_burst_then_rate(void **state)
{
    (void)state;
    struct ratelimit *r = limits(1000, 4000, 0, 0);
    assert_int_equal(ratelimit_allow(r, RL_READ, 10000, T0), 4000);
    ratelimit_took(r, RL_READ, 4000);
    assert_int_equal(ratelimit_allow(r, RL_READ, 10000, T0), 0);
    assert_int_equal(ratelimit_allow(r, RL_READ, 10000, T0 + 0.5), 500);
    assert_int_equal(ratelimit_allow(r, RL_READ, 100, T0 + 0.5), 100);
    assert_int_equal(ratelimit_allow(r, RL_READ, 10000, T0 + 100), 4000);
    /* The other direction has no rate: anything goes, and taking does
     * not count. */
    assert_int_equal(ratelimit_allow(r, RL_WRITE, 1 << 30, T0), 1 << 30);
    ratelimit_took(r, RL_WRITE, 1 << 30);
    assert_int_equal(ratelimit_allow(r, RL_WRITE, 7, T0), 7);
    ratelimit_free(r);
}

/* A burst of 0 is one second's worth; an overshoot (a TLS record past
 * the allowance) is a debt later time repays. */
static void test_default_burst_and_debt(void **state)
{
    (void)state;
    struct ratelimit *r = limits(0, 0, 2000, 0);
    assert_int_equal(ratelimit_allow(r, RL_WRITE, 1 << 20, T0), 2000);
    ratelimit_took(r, RL_WRITE, 6000);              /* 4000 over */
    assert_int_equal(ratelimit_allow(r, RL_WRITE, 1, T0 + 1.9), 0);
    assert_int_equal(ratelimit_allow(r, RL_WRITE, 1 << 20, T0 + 2.5), 1000);
    ratelimit_free(r);
}

/* An empty bucket's wait ends when it holds one record (16 KiB), or its
 * burst or one second's worth if smaller; the earliest wait is kept as
 * wake_at. */
static void test_wait(void **state)
{
    (void)state;
    struct ratelimit *r = limits(1000, 500, 16384, 0);
    ratelimit_took(r, RL_READ, 500);
    assert_true(fabs(ratelimit_wait(r, RL_READ, T0) - (T0 + 0.5)) < 1e-9);
    assert_true(fabs(r->wake_at - (T0 + 0.5)) < 1e-9);
    ratelimit_took(r, RL_WRITE, 16384 + 8192);      /* 8192 in debt */
    assert_true(fabs(ratelimit_wait(r, RL_WRITE, T0) - (T0 + 1.5)) < 1e-9);
    assert_true(fabs(r->wake_at - (T0 + 0.5)) < 1e-9); /* the earlier stays */
    ratelimit_free(r);
    /* A slow rate with a large burst: a second's worth, not a record's. */
    r = limits(100, 1 << 20, 0, 0);
    ratelimit_took(r, RL_READ, 1 << 20);
    assert_true(fabs(ratelimit_wait(r, RL_READ, T0) - (T0 + 1.0)) < 1e-9);
    ratelimit_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_without_a_rate),
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_default_burst_and_debt),
        cmocka_unit_test(test_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
