/* Unit tests for proxy/xlate.c's upgrades: which requests ask for a
 * WebSocket or another protocol (xlate_req_upgrade), the WebSocket
 * request to an HTTP/1.1 backend and as RFC 8441's extended CONNECT to an
 * HTTP/2 one, an --allow-upgrade token both ways, Sec-WebSocket-Accept
 * and the 101 a client is sent. */
#include "tests/unit/proxy/xlate_render.h"

#include <string.h>

static enum xlate_upgrade upgrade_of(const char *conn, const char *upg)
{
    struct hdrs h;
    hdrs_init(&h, 1024, 10);
    if (conn)
        hdrs_add(&h, STR_LIT("connection"), str_cstr(conn), true);
    if (upg)
        hdrs_add(&h, STR_LIT("upgrade"), str_cstr(upg), true);
    enum xlate_upgrade u = xlate_req_upgrade(&h);
    hdrs_cleanup(&h);
    return u;
}

static void test_req_upgrade_kinds(void **state)
{
    (void)state;
    assert_int_equal(upgrade_of("Upgrade", "websocket"), XLATE_UPGRADE_WEBSOCKET);
    assert_int_equal(upgrade_of("keep-alive, Upgrade", "WebSocket"), XLATE_UPGRADE_WEBSOCKET);
    assert_int_equal(upgrade_of("upgrade", "h2c"), XLATE_UPGRADE_OTHER);
    assert_int_equal(upgrade_of("upgrade", "foo/1, bar"), XLATE_UPGRADE_OTHER);
    /* Both fields are needed (RFC 9110 §7.8: Upgrade is listed in Connection). */
    assert_int_equal(upgrade_of(NULL, "websocket"), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("keep-alive", "websocket"), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("upgrade", NULL), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("upgrade", " "), XLATE_UPGRADE_NONE);
    assert_int_equal(upgrade_of("upgrades", "websocket"), XLATE_UPGRADE_NONE);
}

/* RFC 8441 towards an HTTP/2 backend: an HTTP/1.1 client's Upgrade GET
 * becomes CONNECT with :protocol; the key, Connection and Upgrade stay
 * behind, the other Sec-WebSocket-* fields travel. */
static void test_req_h2_extended_connect(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("Upgrade"), false);
    hdrs_add(&h, STR_LIT("upgrade"), STR_LIT("websocket"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-key"), STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), false);
    hdrs_add(&h, STR_LIT("sec-websocket-version"), STR_LIT("13"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-protocol"), STR_LIT("chat"), false);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/ws"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .content_length = -1,
                           .websocket = true };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = false };
    char out[1024];
    render_req_h2(&r, &o, out, sizeof(out));
    assert_string_equal(out, ":method: CONNECT\n"
                             ":scheme: http\n"
                             ":authority: a\n"
                             ":path: /ws\n"
                             ":protocol: websocket\n"
                             "sec-websocket-version: 13\n"
                             "sec-websocket-protocol: chat\n"
                             "x-forwarded-proto: http\n");
    hdrs_cleanup(&h);
}

/* An --allow-upgrade token in the request and in the 101. */
static void test_upgrade_token_h1(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 8);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .content_length = -1,
                           .websocket = true,
                           .protocol = STR_LIT("foo") };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = false };
    char out[1024];
    render_req(&r, &o, out, sizeof(out));
    assert_non_null(strstr(out, "connection: upgrade\r\nupgrade: foo\r\n"));
    struct bufq q;
    struct buf_pool pool;
    buf_pool_init(&pool, 4);
    bufq_init(&q, &pool);
    struct xlate_resp resp = { .status = 101, .hdrs = &h, .websocket = true,
                               .upgrade = STR_LIT("foo") };
    xlate_resp_h1(&q, &resp);
    char text[256];
    size_t n = bufq_read(&q, text, sizeof(text) - 1);
    text[n] = '\0';
    assert_string_equal(text, "HTTP/1.1 101 Switching Protocols\r\n"
                              "connection: upgrade\r\nupgrade: foo\r\n\r\n");
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
    hdrs_cleanup(&h);
}

/* The client's Connection and Upgrade never travel; with websocket set,
 * h2gate writes its own, and Sec-WebSocket-* fields pass. */
static void test_req_h1_websocket(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("keep-alive, Upgrade"), false);
    hdrs_add(&h, STR_LIT("upgrade"), STR_LIT("websocket"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-key"), STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), false);
    hdrs_add(&h, STR_LIT("sec-websocket-version"), STR_LIT("13"), false);
    struct xlate_req r = { .method = STR_LIT("GET"),
                           .authority = STR_LIT("a"),
                           .path = STR_LIT("/ws"),
                           .hdrs = &h,
                           .client_proto = "1.1",
                           .content_length = -1 };
    struct xlate_opts o = { .xfp = true, .strip_xfp = true, .via = false };
    char out[2048];
    render_req(&r, &o, out, sizeof(out));
    const char *plain = "GET /ws HTTP/1.1\r\n"
                        "host: a\r\n"
                        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "sec-websocket-version: 13\r\n"
                        "x-forwarded-proto: http\r\n"
                        "\r\n";
    assert_string_equal(out, plain);
    r.websocket = true;
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET /ws HTTP/1.1\r\n"
                             "host: a\r\n"
                             "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "sec-websocket-version: 13\r\n"
                             "x-forwarded-proto: http\r\n"
                             "connection: upgrade\r\n"
                             "upgrade: websocket\r\n"
                             "\r\n");
    /* An HTTP/2 client's extended CONNECT: h2gate's own key replaces any
     * the client sent. */
    r.ws_key = STR_LIT("AQIDBAUGBwgJCgsMDQ4PEC==");
    render_req(&r, &o, out, sizeof(out));
    assert_string_equal(out, "GET /ws HTTP/1.1\r\n"
                             "host: a\r\n"
                             "sec-websocket-version: 13\r\n"
                             "x-forwarded-proto: http\r\n"
                             "connection: upgrade\r\n"
                             "upgrade: websocket\r\n"
                             "sec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEC==\r\n"
                             "\r\n");
    hdrs_cleanup(&h);
}

/* RFC 6455 §1.3's own example. */
static void test_ws_accept(void **state)
{
    (void)state;
    char out[XLATE_WS_ACCEPT_LEN + 1];
    size_t n = xlate_ws_accept(STR_LIT("dGhlIHNhbXBsZSBub25jZQ=="), out);
    assert_int_equal(n, XLATE_WS_ACCEPT_LEN);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_resp_h1_switch(void **state)
{
    (void)state;
    struct hdrs h;
    hdrs_init(&h, 4096, 32);
    hdrs_add(&h, STR_LIT("upgrade"), STR_LIT("websocket"), false);
    hdrs_add(&h, STR_LIT("connection"), STR_LIT("Upgrade"), false);
    hdrs_add(&h, STR_LIT("sec-websocket-accept"), STR_LIT("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), false);
    struct xlate_resp r = { .status = 101, .hdrs = &h, .content_length = -1,
                            .keep_alive = false, .websocket = true };
    char out[1024];
    render_resp(&r, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 101 Switching Protocols\r\n"
                             "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                             "connection: upgrade\r\n"
                             "upgrade: websocket\r\n"
                             "\r\n");
    hdrs_cleanup(&h);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_upgrade_kinds),
        cmocka_unit_test(test_req_h1_websocket),
        cmocka_unit_test(test_req_h2_extended_connect),
        cmocka_unit_test(test_upgrade_token_h1),
        cmocka_unit_test(test_ws_accept),
        cmocka_unit_test(test_resp_h1_switch),
    };
    return cmocka_run_group_tests_name("proxy/xlate_upgrade", tests, NULL, NULL);
}
