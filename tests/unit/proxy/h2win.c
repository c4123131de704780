/* Tests of proxy/h2win.c, the receive windows of HTTP/2 pipe streams: the
 * bounds a tunnel's window grows within. Real CONNECT tunnels through the
 * rig (rig.h) to a loopback listener that never accepts (the kernel
 * completes the handshake); h2win_consumed is then called as the tunnel
 * code calls it when a target took bytes, all within one loop time, so
 * every half window is "taken at once" and each call may double the
 * window. The test asserts on h2gate's windows and on the credit its
 * WINDOW_UPDATEs gave the client. */
#include "rig.h"

#include "proxy/h2mem.h"

#include "proxy/h2win.h"

#define INITIAL 65535
#define TUNNELS 5

/* A request body that has nothing yet: the CONNECT stream stays open. */
static ssize_t deferred(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s, (void)id, (void)buf, (void)length, (void)flags, (void)src, (void)ud;
    return NGHTTP2_ERR_DEFERRED;
}

static int32_t open_tunnel(struct rig *r, const char *target)
{
    nghttp2_nv nv[] = {
        RIG_NV(":method", "CONNECT"),
        { (uint8_t *)":authority", (uint8_t *)target, 10, strlen(target), NGHTTP2_NV_FLAG_NONE },
    };
    nghttp2_data_provider prd = { .read_callback = deferred };
    int32_t id = nghttp2_submit_request(r->client.s, NULL, nv, 2, &prd, NULL);
    assert_true(id > 0);
    return id;
}

static int32_t sids[TUNNELS];

static bool all_open(struct rig *r, void *arg)
{
    (void)arg;
    for (int i = 0; i < TUNNELS; i++) {
        if (rig_stream(&r->client, sids[i])->status != 200)
            return false;
    }
    return true;
}

static int32_t window(struct rig *r, int32_t sid)
{
    return nghttp2_session_get_stream_effective_local_window_size(h2mem_session(r->cc), sid);
}

/* The target takes whole windows of stream sid, at once, until the
 * window stops growing. The stream's clock starts over first: the loop
 * ran since its last credit (rig_until), for as long as a loaded machine
 * made it, and that wait is not the client's pace. */
static void take_until_stuck(struct rig *r, int32_t sid)
{
    struct xchg *x = rig_xchg(r, sid);
    assert_non_null(x);
    x->h2_win_since = 0;
    for (int i = 0; i < 64; i++) {
        int32_t before = window(r, sid);
        h2win_consumed(r->cc, x, (size_t)before);
        if (window(r, sid) == before)
            return;
        assert_int_equal(window(r, sid), before * 2);
    }
    fail_msg("the window of stream %d never stopped growing", sid);
}

static size_t growth_of_open(struct rig *r)
{
    size_t sum = 0;
    for (int i = 0; i < TUNNELS; i++) {
        struct xchg *x = rig_xchg(r, sids[i]);
        if (x && !x->closed)
            sum += (size_t)window(r, sids[i]) - INITIAL;
    }
    return sum;
}

static bool client_has_credit(struct rig *r, void *want)
{
    return nghttp2_session_get_remote_window_size(r->client.s) >= *(int32_t *)want;
}

static bool stream_gone(struct rig *r, void *sid)
{
    return rig_xchg(r, (int32_t)(intptr_t)sid) == NULL;
}

/* Five tunnels whose targets keep up: each window doubles up to
 * H2WIN_STREAM_MAX, and their growth in all stops at
 * H2WIN_CONN_GROWTH_MAX: the fifth gets what is left under it. The
 * connection window follows the growth, the client is given exactly
 * that credit, and a tunnel that closes gives its share to the others. */
static void test_growth_is_bounded_per_stream_and_connection(void **state)
{
    (void)state;
    uint16_t tport;
    int tfd = rig_listen(&tport);
    char allow[64], target[32];
    snprintf(allow, sizeof(allow), "--connect-allow=127.0.0.1:%u", tport);
    snprintf(target, sizeof(target), "127.0.0.1:%u", tport);
    const char *const extra[] = { allow, NULL };
    struct rig r;
    rig_start(&r, extra);
    for (int i = 0; i < TUNNELS; i++)
        sids[i] = open_tunnel(&r, target);
    rig_until(&r, all_open, NULL);

    /* The largest window a doubling from 65535 reaches under the cap. */
    int32_t top = INITIAL;
    while ((int64_t)top * 2 <= H2WIN_STREAM_MAX)
        top *= 2;
    for (int i = 0; i < TUNNELS; i++)
        take_until_stuck(&r, sids[i]);
    /* Four reach the stream cap: 4 x (top - 65535) is 63.8 MiB. */
    for (int i = 0; i < TUNNELS - 1; i++)
        assert_int_equal(window(&r, sids[i]), top);
    /* The fifth doubled while the sum stayed under 64 MiB: 4 x 16,711,425
     * + 65,535 + 131,070 is 67,042,305; one more step would be 67.3M. */
    assert_int_equal(window(&r, sids[TUNNELS - 1]), 4 * INITIAL);
    size_t growth = growth_of_open(&r);
    assert_true(growth <= H2WIN_CONN_GROWTH_MAX);
    assert_int_equal(growth, 4 * ((size_t)top - INITIAL) + 3 * INITIAL);

    /* What went on the wire: the client holds that credit. */
    int32_t conn_want = INITIAL + (int32_t)growth;
    rig_until(&r, client_has_credit, &conn_want);
    assert_int_equal(nghttp2_session_get_remote_window_size(r.client.s), conn_want);
    assert_int_equal(nghttp2_session_get_local_window_size(h2mem_session(r.cc)), conn_want);
    for (int i = 0; i < TUNNELS; i++)
        assert_int_equal(nghttp2_session_get_stream_remote_window_size(r.client.s, sids[i]),
                         window(&r, sids[i]));

    /* The first tunnel closes: its growth no longer counts, and the fifth
     * grows to the stream cap. The connection window never shrinks. */
    nghttp2_submit_rst_stream(r.client.s, NGHTTP2_FLAG_NONE, sids[0], NGHTTP2_CANCEL);
    rig_until(&r, stream_gone, (void *)(intptr_t)sids[0]);
    take_until_stuck(&r, sids[TUNNELS - 1]);
    assert_int_equal(window(&r, sids[TUNNELS - 1]), top);
    assert_int_equal(growth_of_open(&r), 4 * ((size_t)top - INITIAL));
    assert_int_equal(nghttp2_session_get_local_window_size(h2mem_session(r.cc)), conn_want);

    rig_stop(&r);
    close(tfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_is_bounded_per_stream_and_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
