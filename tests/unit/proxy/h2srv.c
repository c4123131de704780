/* Sans-network tests of proxy/h2srv.c, the HTTP/2 server glue: packed
 * frames from an nghttp2 client go in through nghttp2_session_mem_recv;
 * the test checks the frames that come out, the requests a backend gets,
 * and the exchanges in between (see rig.h). */
#include "rig.h"

#include <math.h>
#include <sys/mman.h>

#include "proxy/h2mem.h"

static const char *const no_args[] = { NULL };

/* ---- a request with a body ---- */

#define UP_LEN 100000
static char up_body[UP_LEN];

struct seen {
    enum xchg_req_state req_state;
    enum xchg_resp_state resp_state;
    enum xchg_out_state out_state;
    enum xchg_proto proto;
    uint64_t moved;
    bool linked;
    int calls;
};


/* The backend has the whole request: look at the exchange, then answer. */
static void answer_on_end(struct rig *r, struct rig_peer *b, int32_t sid)
{
    struct seen *s = r->user;
    struct xchg *x = rig_xchg(r, 1);
    assert_non_null(x);
    s->req_state = x->req_state;
    s->resp_state = x->resp_state;
    s->out_state = x->out_state;
    s->proto = x->proto;
    s->moved = x->req_body_moved;
    s->linked = x->up != NULL && x->up->x == x;
    s->calls++;
    rig_respond_text(b, sid, "200", "hello");
}

static void test_request_body(void **state)
{
    (void)state;
    for (size_t i = 0; i < UP_LEN; i++)
        up_body[i] = (char)('a' + i % 26);
    struct rig r;
    struct seen seen = { 0 };
    rig_start(&r, no_args);
    r.user = &seen;
    r.on_request_end = answer_on_end;
    struct rig_body body = { .p = up_body, .len = UP_LEN };
    int32_t sid = rig_request(&r, "POST", "/up", &body);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);

    /* The exchange, when the backend had the request: body all moved,
     * nothing answered yet, linked to its HTTP/2 stream. */
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.req_state, XREQ_END);
    assert_int_equal(seen.resp_state, XRESP_WAIT);
    assert_int_equal(seen.out_state, XOUT_NONE);
    assert_int_equal(seen.proto, XCHG_H2);
    assert_int_equal(seen.moved, UP_LEN);
    assert_true(seen.linked);

    assert_int_equal(r.num_backends, 1);
    struct rig_stream *bst = rig_stream(&r.backends[0], 1);
    assert_true(rig_has_field(bst, ":method", "POST"));
    assert_true(rig_has_field(bst, ":path", "/up"));
    assert_true(rig_has_field(bst, "via", "2 h2gate"));
    assert_int_equal(bst->data_len, UP_LEN);
    assert_memory_equal(bst->data, up_body, UP_LEN);
    assert_true(bst->end_stream);

    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_int_equal(cst->status, 200);
    assert_int_equal(cst->data_len, 5);
    assert_memory_equal(cst->data, "hello", 5);
    assert_true(cst->end_stream);
    assert_false(cst->got_rst);
    /* The flush pass freed the exchange of the closed stream. */
    rig_until(&r, rig_no_exchanges, NULL);
    rig_stop(&r);
}

/* ---- trailers both ways ---- */

static nghttp2_nv resp_trailers[300];
static char trailer_names[300][16], trailer_values[300][16];

static void answer_with_trailers(struct rig *r, struct rig_peer *b, int32_t sid)
{
    (void)r;
    static struct rig_body body = { .p = "0123456789", .len = 10, .trailers = true,
                                    .trailer_nv = resp_trailers, .num_trailers = 300 };
    body.off = 0;
    rig_respond(b, sid, "200", &body);
}

static void test_trailers(void **state)
{
    (void)state;
    for (int i = 0; i < 300; i++) {
        int nl = snprintf(trailer_names[i], 16, "x-t-%03d", i);
        int vl = snprintf(trailer_values[i], 16, "v%d", i);
        resp_trailers[i] = (nghttp2_nv){ (uint8_t *)trailer_names[i],
                                         (uint8_t *)trailer_values[i], (size_t)nl, (size_t)vl,
                                         NGHTTP2_NV_FLAG_NONE };
    }
    struct rig r;
    rig_start(&r, no_args);
    r.on_request_end = answer_with_trailers;
    static const nghttp2_nv req_trailers[] = { RIG_NV("x-client-sum", "abc"),
                                               RIG_NV("trailer", "x-client-sum") };
    struct rig_body body = { .p = "xyz", .len = 3, .trailers = true,
                             .trailer_nv = req_trailers, .num_trailers = 2 };
    int32_t sid = rig_request(&r, "POST", "/t", &body);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);

    /* The backend got the client's trailer, less the framing field. */
    struct rig_stream *bst = rig_stream(&r.backends[0], 1);
    assert_int_equal(bst->num_blocks, 2);
    assert_int_equal(bst->block_fields[1], 1);
    assert_true(rig_has_field(bst, "x-client-sum", "abc"));
    assert_false(rig_has_field(bst, "trailer", "x-client-sum"));

    /* The client got every one of the backend's 300 trailer fields. */
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_int_equal(cst->status, 200);
    assert_int_equal(cst->num_blocks, 2);
    assert_int_equal(cst->block_fields[1], 300);
    assert_true(rig_has_field(cst, "x-t-000", "v0"));
    assert_true(rig_has_field(cst, "x-t-299", "v299"));
    assert_int_equal(cst->data_len, 10);
    assert_true(cst->end_stream);
    rig_stop(&r);
}

/* ---- RST_STREAM from the client ---- */

static void hold(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    (void)r;
    (void)end;
    if (rig_stream(b, sid)->fields_len && strstr(rig_stream(b, sid)->fields, ":path: /ok")) {
        rig_respond_text(b, sid, "200", "hello");
    }
}

static bool backend_has_request(struct rig *r, void *sid)
{
    return r->num_backends && rig_stream(&r->backends[0], (int32_t)(intptr_t)sid)->num_blocks;
}

static bool backend_got_rst(struct rig *r, void *sid)
{
    return r->num_backends && rig_stream(&r->backends[0], (int32_t)(intptr_t)sid)->got_rst;
}

/* ---- idle memory (proxy/h2mem.c) ---- */

static void answer_hello(struct rig *r, struct rig_peer *b, int32_t sid)
{
    (void)r;
    rig_respond_text(b, sid, "200", "hello");
}

static void get_hello(struct rig *r, const char *path)
{
    int32_t sid = rig_request(r, "GET", path, NULL);
    rig_until(r, rig_client_closed, (void *)(intptr_t)sid);
    rig_until(r, rig_no_exchanges, NULL);
    struct rig_stream *st = rig_stream(&r->client, sid);
    assert_int_equal(st->status, 200);
    assert_int_equal(st->data_len, 5);
    assert_memory_equal(st->data, "hello", 5);
}

/* How many of the session region's pages are in memory. */
static int region_resident(const struct h2srv *h)
{
    unsigned char v[H2MEM_REGION_SIZE / 4096];
    assert_int_equal(mincore(h->mem, H2MEM_REGION_SIZE, v), 0);
    int n = 0;
    for (size_t i = 0; i < sizeof(v); i++)
        n += v[i] & 1;
    return n;
}

/* Once no stream is open and nothing is in flight, the session sleeps:
 * none of its region's pages stays in memory. Woken by the next request,
 * it has its state back: the HPACK tables both ways hold what they held
 * (the client's next request and h2gate's next response refer to their
 * entries), and the request is served as before. A session closed while
 * it sleeps frees everything (the sanitizer build checks for leaks). */
static void test_idle_session_sleeps(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    r.on_request_end = answer_hello;
    get_hello(&r, "/one");
    struct h2srv *h = &r.cc->p.h2;
    assert_non_null(h->mem);
    assert_true(region_resident(h) > 0);
    assert_false(h2mem_asleep(r.cc));
    size_t inflate = nghttp2_session_get_hd_inflate_dynamic_table_size(h->session_raw);
    size_t deflate = nghttp2_session_get_hd_deflate_dynamic_table_size(h->session_raw);
    assert_true(inflate > 0 && deflate > 0);
    assert_int_equal(nghttp2_session_want_write(h->session_raw), 0);
    h2mem_idle(r.cc);
    assert_true(h2mem_asleep(r.cc));
    assert_int_equal(region_resident(h), 0);

    /* Looking at it wakes it, state and all. */
    assert_int_equal(nghttp2_session_get_hd_inflate_dynamic_table_size(h2mem_session(r.cc)), inflate);
    assert_false(h2mem_asleep(r.cc));
    assert_int_equal(nghttp2_session_get_hd_deflate_dynamic_table_size(h->session_raw), deflate);
    h2mem_idle(r.cc);
    get_hello(&r, "/one");
    assert_false(h2mem_asleep(r.cc));
    /* The same request's fields came as indexes: nothing new in the table. */
    assert_int_equal(nghttp2_session_get_hd_inflate_dynamic_table_size(h->session_raw), inflate);
    get_hello(&r, "/two");
    h2mem_idle(r.cc);
    assert_true(h2mem_asleep(r.cc));
    rig_stop(&r);
}

/* Steps until the session sleeps; fails after about ten seconds (it
 * sleeps h2mem_delay() after the last stream and the last read). */
static void until_asleep(struct rig *r)
{
    for (int i = 0; i < 5000 && !h2mem_asleep(r->cc); i++) {
        rig_step(r);
        usleep(2000);
    }
    assert_true(h2mem_asleep(r->cc));
    assert_int_equal(region_resident(&r->cc->p.h2), 0);
}

static bool client_got_ping_ack(struct rig *r, void *from)
{
    int i = rig_find_frame(&r->client, NGHTTP2_PING, (size_t)(intptr_t)from);
    return i >= 0 && (r->client.frames[i].flags & NGHTTP2_FLAG_ACK);
}

/* A session sleeps on its own after a request; a PING wakes it and is
 * answered; woken so soon, it waits twice as long before it sleeps
 * again, on its own, not at the connection's keep-alive deadline (a
 * minute away by default); and then serves the next request. */
static void test_a_ping_wakes_a_sleeping_session(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    r.on_request_end = answer_hello;
    get_hello(&r, "/one");
    until_asleep(&r);
    size_t mark = r.client.num_frames;
    assert_int_equal(nghttp2_submit_ping(r.client.s, NGHTTP2_FLAG_NONE, NULL), 0);
    rig_until(&r, client_got_ping_ack, (void *)(intptr_t)mark);
    assert_false(h2mem_asleep(r.cc));
    assert_int_equal(r.cc->p.h2.sleep_shift, 1);
    until_asleep(&r);
    get_hello(&r, "/two");
    until_asleep(&r);
    rig_stop(&r);
}

/* --frontend-http2-session-sleep=0: a session never sleeps. Its deadline
 * asked an hour after the request leaves it awake (with the default it
 * would put it to sleep there and then), but gives back the pages that
 * hold nothing then: the frame buffer's own and the empty stream map's,
 * not the session's. The next request is served as before. */
static void test_session_sleep_off(void **state)
{
    (void)state;
    struct rig r;
    static const char *const args[] = { "--frontend-http2-session-sleep=0", NULL };
    rig_start(&r, args);
    r.on_request_end = answer_hello;
    get_hello(&r, "/one");
    struct h2srv *h = &r.cc->p.h2;
    int before = region_resident(h);
    assert_true(isinf(h2mem_deadline(r.cc, ev_now(r.w.loop) + 3600)));
    assert_false(h2mem_asleep(r.cc));
    assert_null(h->blob);
    int after = region_resident(h);
    assert_true(after > 0 && after < before);
    get_hello(&r, "/two");
    rig_stop(&r);
}

static void test_client_rst_stream(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    r.on_request = hold;
    int32_t sid = rig_request(&r, "GET", "/hold", NULL);
    rig_until(&r, backend_has_request, (void *)1);
    assert_non_null(rig_xchg(&r, sid));
    nghttp2_submit_rst_stream(r.client.s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
    /* The backend stream is cancelled and the exchange freed. */
    rig_until(&r, backend_got_rst, (void *)1);
    assert_int_equal(rig_stream(&r.backends[0], 1)->rst_code, NGHTTP2_CANCEL);
    rig_until(&r, rig_no_exchanges, NULL);
    /* No other stream is harmed: the connection goes on. */
    int32_t sid2 = rig_request(&r, "GET", "/ok", NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid2);
    struct rig_stream *cst = rig_stream(&r.client, sid2);
    assert_int_equal(cst->status, 200);
    assert_false(cst->got_rst);
    assert_int_equal(r.num_backends, 1); /* the session is reused */
    rig_stop(&r);
}

/* ---- graceful shutdown: two GOAWAYs, the stream in flight finishes ---- */

static void answer_late(struct rig *r, struct rig_peer *b, int32_t sid, bool end)
{
    (void)end;
    *(int32_t *)r->user = sid; /* answered by the test */
    (void)b;
}

static bool client_goaways(struct rig *r, void *n)
{
    size_t count = 0;
    for (size_t i = 0; i < r->client.num_frames; i++)
        count += r->client.frames[i].type == NGHTTP2_GOAWAY;
    return count >= (size_t)(intptr_t)n;
}

static void test_graceful_goaway(void **state)
{
    (void)state;
    struct rig r;
    int32_t backend_sid = 0;
    rig_start(&r, no_args);
    r.user = &backend_sid;
    r.on_request = answer_late;
    int32_t sid = rig_request(&r, "GET", "/slow", NULL);
    rig_until(&r, backend_has_request, (void *)1);
    cconn_shutdown(r.cc);
    rig_until(&r, client_goaways, (void *)1);
    int g1 = rig_find_frame(&r.client, NGHTTP2_GOAWAY, 0);
    assert_int_equal(r.client.frames[g1].last_stream_id, (1u << 31) - 1);
    assert_int_equal(r.client.frames[g1].error_code, NGHTTP2_NO_ERROR);
    cconn_shutdown_final(r.cc);
    rig_until(&r, client_goaways, (void *)2);
    int g2 = rig_find_frame(&r.client, NGHTTP2_GOAWAY, (size_t)g1 + 1);
    assert_int_equal(r.client.frames[g2].last_stream_id, sid);
    assert_int_equal(r.client.frames[g2].error_code, NGHTTP2_NO_ERROR);
    /* The stream in flight is still answered. */
    rig_respond_text(&r.backends[0], backend_sid, "200", "hello");
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    assert_int_equal(rig_stream(&r.client, sid)->status, 200);
    assert_int_equal(rig_stream(&r.client, sid)->data_len, 5);
    rig_stop(&r);
}

/* ---- bad requests: a stream error, or h2gate's own answer ---- */

static void test_malformed_request_is_reset(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    /* A connection-specific field makes an HTTP/2 request malformed
     * (RFC 9113 §8.2.2): nghttp2 resets the stream, nothing goes on. */
    nghttp2_nv nv[] = { RIG_NV(":method", "GET"), RIG_NV(":scheme", "http"),
                        RIG_NV(":authority", "test"), RIG_NV(":path", "/"),
                        RIG_NV("connection", "close") };
    int32_t sid = nghttp2_submit_request(r.client.s, NULL, nv, 5, NULL, NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_true(cst->got_rst);
    assert_int_equal(cst->rst_code, NGHTTP2_PROTOCOL_ERROR);
    assert_int_equal(cst->num_blocks, 0);
    rig_settle(&r);
    assert_int_equal(r.num_backends, 0);
    assert_int_equal(r.cc->num_xchgs, 0);
    rig_stop(&r);
}

static void test_too_many_fields_is_431(void **state)
{
    (void)state;
    struct rig r;
    static const char *const args[] = { "--max-request-header-fields=4", NULL };
    rig_start(&r, args);
    nghttp2_nv nv[] = { RIG_NV(":method", "GET"), RIG_NV(":scheme", "http"),
                        RIG_NV(":authority", "test"), RIG_NV(":path", "/"),
                        RIG_NV("a", "1"), RIG_NV("b", "2"), RIG_NV("c", "3"),
                        RIG_NV("d", "4"), RIG_NV("e", "5"), RIG_NV("f", "6"),
                        RIG_NV("g", "7"), RIG_NV("h", "8"), RIG_NV("i", "9"),
                        RIG_NV("j", "10"), RIG_NV("k", "11") };
    int32_t sid = nghttp2_submit_request(r.client.s, NULL, nv, 15, NULL, NULL);
    rig_until(&r, rig_client_closed, (void *)(intptr_t)sid);
    struct rig_stream *cst = rig_stream(&r.client, sid);
    assert_int_equal(cst->status, 431);
    assert_true(cst->end_stream);
    assert_false(cst->got_rst);
    assert_int_equal(r.num_backends, 0);
    rig_stop(&r);
}

/* ---- a fatal session error ends the connection with GOAWAY ---- */

static bool got_goaway(struct rig *r, void *arg)
{
    (void)arg;
    return rig_find_frame(&r->client, NGHTTP2_GOAWAY, 0) >= 0;
}

static bool no_conns(struct rig *r, void *arg)
{
    (void)arg;
    return r->w.num_conns == 0;
}

/* Found by fuzz/h2srv.c: past nghttp2's CONTINUATION limit (8) mem_recv
 * fails with NGHTTP2_ERR_TOO_MANY_CONTINUATIONS and queues nothing; the
 * connection stopped reading and stayed open, with no GOAWAY, until its
 * read timeout. */
static void test_too_many_continuations_goaway(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    rig_peer_flush(&r.client); /* the preface and SETTINGS go first */
    /* One header block in 2-byte pieces: HEADERS + 10 CONTINUATION.
     * Static-table fields and literals without indexing, so it needs no
     * encoder state. */
    static const uint8_t block[] = { 0x82, 0x86, 0x84, 0x01, 0x04, 't', 'e', 's', 't',
                                     0x00, 0x03, 'x', '-', 'a', 0x08, 'b', 'b', 'b', 'b',
                                     'b', 'b', 'b', 'b' };
    uint8_t wire[512];
    size_t n = 0;
    for (size_t off = 0; off < sizeof(block); off += 2) {
        size_t len = sizeof(block) - off < 2 ? sizeof(block) - off : 2;
        uint8_t type = off == 0 ? NGHTTP2_HEADERS : NGHTTP2_CONTINUATION;
        uint8_t flags = off == 0 ? NGHTTP2_FLAG_END_STREAM : 0;
        if (off + len == sizeof(block))
            flags |= NGHTTP2_FLAG_END_HEADERS;
        uint8_t hd[9] = { 0, 0, (uint8_t)len, type, flags, 0, 0, 0, 1 };
        memcpy(wire + n, hd, 9);
        memcpy(wire + n + 9, block + off, len);
        n += 9 + len;
    }
    assert_int_equal(send(r.client.fd, wire, n, MSG_NOSIGNAL), (ssize_t)n);
    rig_until(&r, got_goaway, NULL);
    int i = rig_find_frame(&r.client, NGHTTP2_GOAWAY, 0);
    assert_int_equal(r.client.frames[i].error_code, NGHTTP2_ENHANCE_YOUR_CALM);
    rig_until(&r, no_conns, NULL);
    assert_int_equal(r.num_backends, 0);
    rig_stop(&r);
}

/* ---- HPACK dynamic table sizes ---- */

/* Two GETs, one after the other: the second header block of each side
 * can read what the first put in the tables. */
static void two_gets(struct rig *r)
{
    r->on_request_end = answer_hello;
    for (int i = 0; i < 2; i++) {
        int32_t sid = rig_request(r, "GET", "/hpack", NULL);
        rig_until(r, rig_client_closed, (void *)(intptr_t)sid);
        struct rig_stream *cst = rig_stream(&r->client, sid);
        assert_int_equal(cst->status, 200);
        assert_int_equal(cst->data_len, 5);
        assert_memory_equal(cst->data, "hello", 5);
        assert_false(cst->got_rst);
    }
    assert_int_equal(rig_find_frame(&r->client, NGHTTP2_GOAWAY, 0), -1);
}

static void test_hpack_tables_by_default(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, no_args);
    two_gets(&r);
    nghttp2_session *h2gate = h2mem_session(r.cc);
    /* No SETTINGS_HEADER_TABLE_SIZE: the client sees the default. */
    assert_int_equal(nghttp2_session_get_remote_settings(r.client.s,
                                                         NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
                     4096);
    /* Each side's fields sit in the other's decoder table. */
    assert_true(nghttp2_session_get_hd_inflate_dynamic_table_size(r.client.s) > 0);
    assert_true(nghttp2_session_get_hd_inflate_dynamic_table_size(h2gate) > 0);
    rig_stop(&r);
}

static void test_hpack_encoder_table_zero(void **state)
{
    (void)state;
    struct rig r;
    static const char *const args[] = { "--frontend-http2-encoder-dynamic-table-size=0", NULL };
    rig_start(&r, args);
    two_gets(&r);
    nghttp2_session *h2gate = h2mem_session(r.cc);
    assert_int_equal(nghttp2_session_get_remote_settings(r.client.s,
                                                         NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
                     4096);
    assert_int_equal(nghttp2_session_get_hd_deflate_dynamic_table_size(h2gate), 0);
    assert_int_equal(nghttp2_session_get_hd_inflate_dynamic_table_size(r.client.s), 0);
    /* The decoder's side is another option's. */
    assert_true(nghttp2_session_get_hd_inflate_dynamic_table_size(h2gate) > 0);
    rig_stop(&r);
}

/* The client's first request goes out before h2gate's SETTINGS arrive
 * (its fields indexed in a 4096-byte table); once the client acknowledged
 * HEADER_TABLE_SIZE=0, nghttp2 empties h2gate's decoder table and the
 * client's next block opens with the update to 0. */
static void test_hpack_decoder_table_zero(void **state)
{
    (void)state;
    struct rig r;
    static const char *const args[] = { "--frontend-http2-decoder-dynamic-table-size=0", NULL };
    rig_start(&r, args);
    two_gets(&r);
    nghttp2_session *h2gate = h2mem_session(r.cc);
    assert_int_equal(nghttp2_session_get_remote_settings(r.client.s,
                                                         NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
                     0);
    assert_int_equal(nghttp2_session_get_local_settings(h2gate,
                                                        NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
                     0);
    assert_int_equal(nghttp2_session_get_hd_inflate_dynamic_table_size(h2gate), 0);
    assert_int_equal(nghttp2_session_get_hd_deflate_dynamic_table_size(r.client.s), 0);
    assert_true(nghttp2_session_get_hd_inflate_dynamic_table_size(r.client.s) > 0);
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_trailers),
        cmocka_unit_test(test_idle_session_sleeps),
        cmocka_unit_test(test_a_ping_wakes_a_sleeping_session),
        cmocka_unit_test(test_session_sleep_off),
        cmocka_unit_test(test_client_rst_stream),
        cmocka_unit_test(test_graceful_goaway),
        cmocka_unit_test(test_malformed_request_is_reset),
        cmocka_unit_test(test_too_many_fields_is_431),
        cmocka_unit_test(test_too_many_continuations_goaway),
        cmocka_unit_test(test_hpack_tables_by_default),
        cmocka_unit_test(test_hpack_encoder_table_zero),
        cmocka_unit_test(test_hpack_decoder_table_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
