/* Unit tests for proxy/lbewma.c: lb=peak-ewma's latency estimates, on a
 * fake clock, and the two-choice pick over them in a simulated closed loop
 * (clients that send their next request when the last one is answered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "proxy/lbewma.h"

#define T0 1000.0  /* the fake clock's start (ev_now is never 0) */

static void test_no_estimate_probes_once(void **state)
{
    (void)state;
    struct lbewma e = { 0, 0 };
    assert_false(lbewma_known(&e, T0));
    assert_true(lbewma_cost(&e, 0, T0) == 0.0);
    /* The probe is out: nothing more until it answers. */
    assert_true(lbewma_cost(&e, 1, T0) == LBEWMA_PENALTY + 1);
    assert_true(lbewma_cost(&e, 5, T0) == LBEWMA_PENALTY + 5);
    lbewma_answer(&e, 0.010, T0 + 0.010);
    assert_true(lbewma_known(&e, T0 + 0.010));
    assert_true(e.est == 0.010);
    assert_true(lbewma_cost(&e, 0, T0 + 0.010) == 0.010);
    assert_true(fabs(lbewma_cost(&e, 3, T0 + 0.010) - 0.020) < 1e-15);
}

static void test_peak_replaces_and_faster_pulls_down_slowly(void **state)
{
    (void)state;
    struct lbewma e = { 0, 0 };
    lbewma_answer(&e, 0.001, T0);
    lbewma_answer(&e, 0.050, T0 + 0.001);
    assert_true(e.est == 0.050);  /* at once */
    lbewma_answer(&e, 0.001, T0 + 0.002);
    /* 1 ms later: decayed, and pulled LBEWMA_ANSWER_WEIGHT of the way. */
    double d = 0.050 * exp(-0.001 / LBEWMA_DECAY);
    assert_true(fabs(e.est - (d - (d - 0.001) * LBEWMA_ANSWER_WEIGHT)) < 1e-12);
    /* A hundred answers of 1 ms within 100 ms bring it down to them... */
    double t = T0 + 0.002;
    for (int i = 0; i < 100; i++) {
        t += 0.001;
        lbewma_answer(&e, 0.001, t);
    }
    assert_true(e.est >= 0.001 && e.est < 0.0011);
    /* ... and a second later an answer weighs 1 - e^(-1/LBEWMA_DECAY). */
    double before = e.est;
    lbewma_answer(&e, 0.0, t + 1);
    d = before * exp(-1 / LBEWMA_DECAY);
    double k = 1 - exp(-1 / LBEWMA_DECAY);
    assert_true(fabs(e.est - (d + (LBEWMA_MIN_LATENCY - d) * k)) < 1e-12);
}

static void test_decays_then_is_forgotten(void **state)
{
    (void)state;
    struct lbewma e = { 0, 0 };
    lbewma_answer(&e, 0.050, T0);
    double half = lbewma_cost(&e, 0, T0 + LBEWMA_DECAY / 2);
    assert_true(fabs(half - 0.050 * exp(-0.5)) < 1e-12);
    assert_true(fabs(lbewma_cost(&e, 3, T0 + LBEWMA_DECAY / 2) - 2 * half) < 1e-12);
    assert_true(lbewma_known(&e, T0 + LBEWMA_DECAY - 0.001));
    /* No answer for LBEWMA_DECAY: probed like a new member. */
    assert_false(lbewma_known(&e, T0 + LBEWMA_DECAY));
    assert_true(lbewma_cost(&e, 0, T0 + LBEWMA_DECAY) == 0.0);
    assert_true(lbewma_cost(&e, 1, T0 + LBEWMA_DECAY) == LBEWMA_PENALTY + 1);
    /* Its next answer is the estimate, whatever came before. */
    lbewma_answer(&e, 0.002, T0 + LBEWMA_DECAY + 1);
    assert_true(e.est == 0.002);
}

static void test_unanswered_raises_a_known_estimate_only(void **state)
{
    (void)state;
    struct lbewma e = { 0, 0 };
    lbewma_unanswered(&e, 0.5, T0);
    assert_false(lbewma_known(&e, T0));  /* a failure is no answer */
    lbewma_answer(&e, 0.001, T0);
    lbewma_unanswered(&e, 0.0005, T0 + 1);
    assert_true(e.est == 0.001);
    assert_true(e.at == T0);
    lbewma_unanswered(&e, 0.5, T0 + 1);
    assert_true(e.est == 0.5);
    assert_true(e.at == T0 + 1);
}

static void test_latency_floor(void **state)
{
    (void)state;
    struct lbewma e = { 0, 0 };
    lbewma_answer(&e, 0.0, T0);
    assert_true(lbewma_known(&e, T0));
    assert_true(e.est == LBEWMA_MIN_LATENCY);
    lbewma_answer(&e, -1.0, T0);  /* a clock that stepped back */
    assert_true(e.est == LBEWMA_MIN_LATENCY);
    lbewma_answer(&e, NAN, T0);
    assert_true(e.est == LBEWMA_MIN_LATENCY);
    /* Nor does a time earlier than the estimate's break it. */
    lbewma_answer(&e, 0.001, T0);
    assert_true(lbewma_cost(&e, 0, T0 - 1) == 0.001);
}

/* ---- the pick, simulated ---- */

#define NUM 3
#define MAX_INFLIGHT 128

enum policy { PEAK_EWMA, LEAST_OUTSTANDING };

struct sim {
    enum policy policy;
    double lat[NUM];          /* what each member takes to answer now */
    struct lbewma e[NUM];
    uint32_t out[NUM];
    uint64_t picks[NUM];
    uint64_t rng;
    double now;
    int inflight;
    double due[MAX_INFLIGHT], sent[MAX_INFLIGHT];
    int member[MAX_INFLIGHT];
};

static uint64_t rnd(struct sim *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* balance.c's pick_two_choices over the simulated members. */
static int pick(struct sim *s)
{
    int i = (int)(rnd(s) % NUM), j = (int)(rnd(s) % (NUM - 1));
    if (j >= i)
        j++;
    double ci, cj;
    if (s->policy == PEAK_EWMA) {
        ci = lbewma_cost(&s->e[i], s->out[i], s->now);
        cj = lbewma_cost(&s->e[j], s->out[j], s->now);
    } else {
        ci = s->out[i];
        cj = s->out[j];
    }
    return cj < ci ? j : i;
}

static void send_one(struct sim *s, int k)
{
    int m = pick(s);
    s->picks[m]++;
    s->out[m]++;
    s->member[k] = m;
    s->sent[k] = s->now;
    s->due[k] = s->now + s->lat[m];
}

static void sim_start(struct sim *s, enum policy policy, int inflight, double slow)
{
    memset(s, 0, sizeof(*s));
    s->policy = policy;
    s->lat[0] = s->lat[2] = 0.001;
    s->lat[1] = slow;
    s->rng = 0x9e3779b97f4a7c15ull;
    s->now = T0;
    s->inflight = inflight;
    for (int k = 0; k < inflight; k++)
        send_one(s, k);
}

/* Runs until the clock reaches until: each answer is sampled and its
 * client sends again at once. */
static void sim_run(struct sim *s, double until)
{
    for (;;) {
        int k = 0;
        for (int i = 1; i < s->inflight; i++)
            if (s->due[i] < s->due[k])
                k = i;
        if (s->due[k] > until) {
            s->now = until;
            return;
        }
        s->now = s->due[k];
        int m = s->member[k];
        s->out[m]--;
        lbewma_answer(&s->e[m], s->now - s->sent[k], s->now);
        send_one(s, k);
    }
}

/* The slow member's share of the picks (and of all picks made) between
 * from and until, in percent. */
static double slow_share(struct sim *s, double from, double until)
{
    sim_run(s, from);
    uint64_t before[NUM];
    memcpy(before, s->picks, sizeof(before));
    sim_run(s, until);
    uint64_t total = 0;
    for (int m = 0; m < NUM; m++)
        total += s->picks[m] - before[m];
    return 100.0 * (double)(s->picks[1] - before[1]) / (double)total;
}

static struct sim S;  /* large: not on the stack */

static void test_slow_member_gets_well_under_one_percent(void **state)
{
    (void)state;
    /* 50x the latency of the others, at 128 and 8 requests in flight,
     * once every member has answered (after the first second). */
    sim_start(&S, PEAK_EWMA, 128, 0.050);
    double at128 = slow_share(&S, T0 + 1, T0 + 5);
    sim_start(&S, PEAK_EWMA, 8, 0.050);
    double at8 = slow_share(&S, T0 + 1, T0 + 5);
    print_message("peak-ewma: slow member %.3f%% at 128 in flight, %.3f%% at 8\n", at128, at8);
    assert_true(at128 < 0.2);
    assert_true(at8 < 0.2);
    /* The same loop with least-outstanding sends it a share that puts
     * p99 on its answers at 128 in flight (the issue this policy solves). */
    sim_start(&S, LEAST_OUTSTANDING, 128, 0.050);
    double lo128 = slow_share(&S, T0 + 1, T0 + 5);
    print_message("least-outstanding: slow member %.3f%% at 128 in flight\n", lo128);
    assert_true(lo128 > 1.0);
}

static void test_slow_member_is_probed_again(void **state)
{
    (void)state;
    /* At 8 in flight the slow member is never cheaper than a fast one:
     * only the forgetting brings it one probe per LBEWMA_DECAY. */
    sim_start(&S, PEAK_EWMA, 8, 0.050);
    sim_run(&S, T0 + 1);
    uint64_t before = S.picks[1];
    sim_run(&S, T0 + 1 + 5 * LBEWMA_DECAY);
    uint64_t probes = S.picks[1] - before;
    assert_true(probes >= 4 && probes <= 6);
}

static void test_recovered_member_gets_traffic_back(void **state)
{
    (void)state;
    for (int inflight = 8; inflight <= 128; inflight *= 16) {
        sim_start(&S, PEAK_EWMA, inflight, 0.050);
        assert_true(slow_share(&S, T0 + 1, T0 + 20) < 0.2);
        S.lat[1] = 0.001;  /* recovered */
        double share = slow_share(&S, T0 + 20 + 3 * LBEWMA_DECAY, T0 + 20 + 4 * LBEWMA_DECAY);
        print_message("recovered member, %d in flight: %.1f%%\n", inflight, share);
        assert_true(share > 30.0 && share < 36.7);
    }
}

static void test_member_that_never_answers_holds_one_request(void **state)
{
    (void)state;
    /* Started together, nobody known: the first requests are shared by
     * count (a third of 128 to it), then nothing more once the others
     * have answered (while one of them is still unknown with more
     * requests out, it may take one more). */
    sim_start(&S, PEAK_EWMA, 128, 1e6);
    sim_run(&S, T0 + 0.0015);
    uint64_t first = S.picks[1];
    assert_true(first >= 40 && first <= 44);
    sim_run(&S, T0 + 3 * LBEWMA_DECAY);
    assert_int_equal(S.picks[1], first);
    assert_int_equal(S.out[1], first);
    assert_true(S.picks[0] + S.picks[2] > 100000);
    /* 4 in flight: one or two of the first requests, then none. */
    sim_start(&S, PEAK_EWMA, 4, 1e6);
    sim_run(&S, T0 + 0.0015);
    first = S.picks[1];
    assert_true(first >= 1 && first <= 2);
    sim_run(&S, T0 + 30);
    assert_int_equal(S.picks[1], first);
    assert_true(S.picks[0] + S.picks[2] > 50000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_estimate_probes_once),
        cmocka_unit_test(test_peak_replaces_and_faster_pulls_down_slowly),
        cmocka_unit_test(test_decays_then_is_forgotten),
        cmocka_unit_test(test_unanswered_raises_a_known_estimate_only),
        cmocka_unit_test(test_latency_floor),
        cmocka_unit_test(test_slow_member_gets_well_under_one_percent),
        cmocka_unit_test(test_slow_member_is_probed_again),
        cmocka_unit_test(test_recovered_member_gets_traffic_back),
        cmocka_unit_test(test_member_that_never_answers_holds_one_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
