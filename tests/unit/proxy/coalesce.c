/* Unit tests for proxy/coalesce.c: when a worker waits between polls to
 * gather ready sockets (--io-collect-interval). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/coalesce.h"

/* Feeds n polls of `events` each; returns how many flipped the state. */
static int feed(struct coalesce *c, unsigned events, int n)
{
    int flips = 0;
    for (int i = 0; i < n; i++)
        flips += coalesce_note(c, events);
    return flips;
}

/* One client waiting on each answer: one socket ready a poll, with now
 * and then a timer or a second socket at the same time. It never waits:
 * waiting would only delay the answer it waits for. */
static void test_one_at_a_time_never_waits(void **state)
{
    (void)state;
    struct coalesce c = { 0 };
    for (int round = 0; round < 1000; round++) {
        assert_int_equal(feed(&c, 1, 3), 0);
        assert_int_equal(feed(&c, 2, round % 5 == 0 ? 3 : 1), 0);
        assert_int_equal(feed(&c, 0, 1), 0);  /* a poll that timed out */
    }
    assert_false(c.on);
}

/* Polls that keep finding 2 or more sockets ready turn the wait on within
 * a few polls; one at a time again turns it off. */
static void test_busy_turns_on_then_off(void **state)
{
    (void)state;
    struct coalesce c = { 0 };
    int n = 0;
    while (!coalesce_note(&c, 3))
        n++;
    assert_true(c.on);
    assert_true(n > 0 && n < 16);
    assert_int_equal(feed(&c, 3, 100), 0);          /* stays on */
    assert_int_equal(feed(&c, 2, 100), 0);          /* 2 a poll: still on */
    n = 0;
    while (!coalesce_note(&c, 1))
        n++;
    assert_false(c.on);
    assert_true(n < 16);                            /* off within 16 polls */
    assert_int_equal(feed(&c, 1, 100), 0);
}

/* Between the thresholds it keeps its state: no flapping at 1.5-2 events
 * a poll. */
static void test_hysteresis(void **state)
{
    (void)state;
    struct coalesce c = { 0 };
    for (int i = 0; i < 200; i++) /* alternating 1 and 2: 1.5 a poll */
        assert_false(coalesce_note(&c, 1 + (unsigned)(i & 1)));
    assert_false(c.on);
    feed(&c, 4, 20);
    assert_true(c.on);
    for (int i = 0; i < 200; i++) /* alternating 1 and 3: 2 a poll */
        assert_false(coalesce_note(&c, 1 + 2 * (unsigned)(i & 1)));
    assert_true(c.on);
}

/* One poll with a burst of ready sockets (a wave of accepts) counts as
 * at most 64: it alone turns the wait on, but a few one-socket polls
 * after it turn it off again. */
static void test_a_burst_is_capped(void **state)
{
    (void)state;
    struct coalesce c = { 0 };
    assert_true(coalesce_note(&c, 100000));
    assert_true(c.on);
    assert_int_equal(c.avg, 64 * 2);
    int n = 0;
    while (!coalesce_note(&c, 1))
        n++;
    assert_false(c.on);
    assert_true(n < 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_at_a_time_never_waits),
        cmocka_unit_test(test_busy_turns_on_then_off),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_a_burst_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
