/* Sans-network tests of proxy/bsess.c and proxy/bstream.c, the HTTP/2
 * backend session: backends played by nghttp2 server sessions answer,
 * reset, refuse and GOAWAY; the test checks what the client sees and what
 * each backend was sent (see rig.h). */
#include "rig.h"

static const char *const no_args[] = { NULL };


/* ---- a response with a body and trailers ---- */

static void answer(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    (void)r;
    (void)end;
    static const nghttp2_nv trailers[] = { RIG_NV("grpc-status", "0"),
                                           RIG_NV("grpc-message", "ok") };
    static char big[20000];
    static struct rig_body body = { .p = big, .len = sizeof(big), .trailers = true,
                                    .trailer_nv = trailers, .num_trailers = 2 };
    memset(big, 'z', sizeof(big));
    body.off = 0;
    rig_respond(b, sid, "200", &body);
}

static void test_response_body_and_trailers(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    r.on_request = answer;
    int32_t sid = rig_request(&r, "GET", "/grpc", NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_int_equal(cst->status, 200);
    assert_int_equal(cst->data_len, 20000);
    assert_int_equal(cst->num_blocks, 2);
    assert_true(rig_has_field(cst, "grpc-status", "0"));
    assert_true(rig_has_field(cst, "grpc-message", "ok"));
    assert_true(rig_has_field(cst, "via", "2 h2gate"));
    assert_true(cst->end_stream);
    assert_false(cst->got_rst);
    /* The backend stream ended cleanly: no reset from h2gate. */
    assert_int_equal(rig_find_frame(&r.backends[0], NGHTTP2_RST_STREAM, 0), -1);
    rig_until(&r, rig_no_exchanges, NULL);
    rig_stop(&r);
}

/* ---- a backend reset is passed on (RFC 9113 §8.7) ---- */

static void reset_calm(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    (void)r;
    (void)end;
    nghttp2_submit_rst_stream(b->s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_ENHANCE_YOUR_CALM);
}

static void reset_protocol(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    (void)r;
    (void)end;
    nghttp2_submit_rst_stream(b->s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_PROTOCOL_ERROR);
}

static void test_backend_rst_stream(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    /* A code about the request's meaning passes... */
    r.on_request = reset_calm;
    int32_t sid = rig_request(&r, "GET", "/calm", NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_true(cst->got_rst);
    assert_int_equal(cst->rst_code, NGHTTP2_ENHANCE_YOUR_CALM);
    assert_int_equal(cst->num_blocks, 0);
    /* ...one about the backend hop's framing becomes INTERNAL_ERROR. */
    r.on_request = reset_protocol;
    sid = rig_request(&r, "GET", "/proto", NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    cst = rig_stream(&r.client, sid);
    assert_true(cst->got_rst);
    assert_int_equal(cst->rst_code, NGHTTP2_INTERNAL_ERROR);
    /* Neither was retried, and the session lives on. */
    assert_int_equal(r.num_backends, 1);
    assert_int_equal(r.backends[0].num_streams, 2);
    rig_stop(&r);
}

/* ---- GOAWAY with streams above its last-stream-id ---- */

struct goaway_script {
    int held;
    int32_t held_ids[4];
};

/* Backend 0 takes three requests, then says GOAWAY(last = the first),
 * answers the first and closes; backend 1 answers at once. */
static void goaway_after_three(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    (void)end;
    struct goaway_script *g = r->user;
    if (b->index > 0) {
        rig_respond_text(b, sid, "200", "hello");
        return;
    }
    g->held_ids[g->held++] = sid;
    if (g->held < 3)
        return;
    nghttp2_submit_goaway(b->s, NGHTTP2_FLAG_NONE, g->held_ids[0], NGHTTP2_NO_ERROR, NULL, 0);
    rig_respond_text(b, g->held_ids[0], "200", "hello");
}

static bool all_closed(struct rig *r, void *n)
{
    for (int32_t i = 0; i < (int32_t)(intptr_t)n; i++) {
        if (!rig_stream(&r->client, 1 + 2 * i)->closed)
            return false;
    }
    return true;
}

static void test_goaway_streams_above_last_id_retried(void **state)
{
    (void)state;
    struct rig r;
    struct goaway_script g = { 0 };
    rig_start(&r, no_args);
    r.user = &g;
    r.on_request = goaway_after_three;
    for (int i = 0; i < 3; i++)
        rig_request(&r, "GET", "/x", NULL);
    rig_until(&r, all_closed, (void *)3);
    for (int32_t sid = 1; sid <= 5; sid += 2) {
        struct rig_stream *cst = rig_stream(&r.client, sid);
        assert_int_equal(cst->status, 200);
        assert_int_equal(cst->data_len, 5);
        assert_false(cst->got_rst);
    }
    /* The two the first backend never processed went to a new session,
     * as new streams there. */
    assert_int_equal(r.num_backends, 2);
    assert_int_equal(r.backends[1].num_streams, 2);
    assert_int_equal(rig_stream(&r.backends[1], 1)->num_blocks, 1);
    assert_int_equal(rig_stream(&r.backends[1], 3)->num_blocks, 1);
    rig_stop(&r);
}

/* ---- REFUSED_STREAM: retried once, with the request body ---- */

#define POST_LEN 3000
static char post_body[POST_LEN];

/* The first backend refuses (with *refuse_all, every backend does); the
 * others answer once the request is complete. */
static void refuse_first(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    int *refuse_all = r->user;
    if (b->index == 0 || *refuse_all) {
        nghttp2_submit_rst_stream(b->s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_REFUSED_STREAM);
        return;
    }
    if (end) {
        rig_respond_text(b, sid, "200", "hello");
    }
}

static void answer_when_complete(struct rig *r, struct rig_peer *b, int32_t sid)
{
    int *refuse_all = r->user;
    if (b->index == 0 || *refuse_all)
        return;
    rig_respond_text(b, sid, "200", "hello");
}

static void test_refused_stream_retried_with_body(void **state)
{
    (void)state;
    for (int i = 0; i < POST_LEN; i++)
        post_body[i] = (char)('0' + i % 10);
    struct rig r;
    int refuse_all = 0;
    rig_start(&r, no_args);
    r.user = &refuse_all;
    r.on_request = refuse_first;
    r.on_request_end = answer_when_complete;
    struct rig_body body = { .p = post_body, .len = POST_LEN };
    int32_t sid = rig_request(&r, "POST", "/p", &body);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_int_equal(cst->status, 200);
    assert_false(cst->got_rst);
    /* The retry went to another session and carried the whole body. */
    assert_int_equal(r.num_backends, 2);
    struct rig_stream *retry = rig_stream(&r.backends[1], 1);
    assert_int_equal(retry->data_len, POST_LEN);
    assert_memory_equal(retry->data, post_body, POST_LEN);
    assert_true(retry->end_stream);
    rig_stop(&r);
}

static void test_refused_twice_is_passed_on(void **state)
{
    (void)state;
    struct rig r;
    int refuse_all = 1;
    rig_start(&r, no_args);
    r.user = &refuse_all;
    r.on_request = refuse_first;
    int32_t sid = rig_request(&r, "GET", "/no", NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    /* One retry only; then the refusal reaches the client as the
     * backend said it. */
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_true(cst->got_rst);
    assert_int_equal(cst->rst_code, NGHTTP2_REFUSED_STREAM);
    assert_int_equal(cst->num_blocks, 0);
    assert_int_equal(r.num_backends, 2);
    assert_int_equal(r.backends[0].num_streams, 1);
    assert_int_equal(r.backends[1].num_streams, 1);
    rig_stop(&r);
}

/* ---- HPACK dynamic table sizes towards the backend ---- */

/* A field the backend's encoder indexes (":status 200" alone is in the
 * static table). */
static void answer_with_field(struct rig *r, struct rig_peer *b, int32_t sid)
{
    (void)r;
    static const nghttp2_nv nv[] = { RIG_NV(":status", "200"),
                                     RIG_NV("x-hpack", "from the backend") };
    assert_int_equal(nghttp2_submit_response(b->s, sid, nv, 2, NULL), 0);
}

/* Two GETs, one after the other, over the one backend session. */
static void two_gets(struct rig *r)
{
    r->on_request_end = answer_with_field;
    for (int i = 0; i < 2; i++) {
        int32_t sid = rig_request(r, "GET", "/hpack", NULL);
        rig_until(r, rig_client_closed, (void *)(intptr_t)sid);
        struct rig_stream *cst = rig_stream(&r->client, sid);
        assert_int_equal(cst->status, 200);
        assert_true(rig_has_field(cst, "x-hpack", "from the backend"));
        assert_true(cst->end_stream);
        assert_false(cst->got_rst);
    }
    assert_int_equal(r->num_backends, 1);
    assert_int_equal(rig_find_frame(&r->backends[0], NGHTTP2_GOAWAY, 0), -1);
}

static void test_hpack_tables_by_default(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    two_gets(&r);
    nghttp2_session *be = r.backends[0].s;
    assert_int_equal(nghttp2_session_get_remote_settings(be, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
                     4096);
    /* h2gate's request fields sit in the backend's decoder table. */
    assert_true(nghttp2_session_get_hd_inflate_dynamic_table_size(be) > 0);
    assert_true(nghttp2_session_get_hd_deflate_dynamic_table_size(be) > 0);
    rig_stop(&r);
}

static void test_hpack_encoder_table_zero(void **state)
{
    (void)state;
    struct rig r;
    static const char *const args[] = { "--backend-http2-encoder-dynamic-table-size=0", NULL };
    rig_start(&r, args);
    two_gets(&r);
    nghttp2_session *be = r.backends[0].s;
    assert_int_equal(nghttp2_session_get_hd_inflate_dynamic_table_size(be), 0);
    assert_true(nghttp2_session_get_hd_deflate_dynamic_table_size(be) > 0);
    rig_stop(&r);
}

/* The backend's nghttp2 applies HEADER_TABLE_SIZE=0 to its encoder and
 * opens its next block with the update; h2gate decodes on. */
static void test_hpack_decoder_table_zero(void **state)
{
    (void)state;
    struct rig r;
    static const char *const args[] = { "--backend-http2-decoder-dynamic-table-size=0", NULL };
    rig_start(&r, args);
    two_gets(&r);
    nghttp2_session *be = r.backends[0].s;
    assert_int_equal(nghttp2_session_get_remote_settings(be, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
                     0);
    assert_int_equal(nghttp2_session_get_hd_deflate_dynamic_table_size(be), 0);
    assert_true(nghttp2_session_get_hd_inflate_dynamic_table_size(be) > 0);
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_body_and_trailers),
        cmocka_unit_test(test_backend_rst_stream),
        cmocka_unit_test(test_goaway_streams_above_last_id_retried),
        cmocka_unit_test(test_refused_stream_retried_with_body),
        cmocka_unit_test(test_refused_twice_is_passed_on),
        cmocka_unit_test(test_hpack_tables_by_default),
        cmocka_unit_test(test_hpack_encoder_table_zero),
        cmocka_unit_test(test_hpack_decoder_table_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
