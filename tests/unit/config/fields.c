/* Unit tests for the options that shape forwarded header fields:
 * --add-forwarded, --strip-incoming-forwarded, --forwarded-by,
 * --forwarded-for, --no-add-x-forwarded-proto,
 * --no-strip-incoming-x-forwarded-proto, --add-request-header,
 * --error-page, --redirect-https-port, --altsvc, --http2-altsvc; the backend parameters
 * read-timeout=, write-timeout=, redirect-if-not-tls and the frontend's
 * proxyproto. */
#include "tests/unit/config/helpers.h"

BAD_ARGS(altsvc_no_port, "--altsvc 'h3': expected PROTOID,PORT[,HOST[,ORIGIN[,PARAMS]]]",
         "-f*,1;no-tls", "--altsvc=h3")
BAD_ARGS(altsvc_port_0, "--http2-altsvc 'h3,0': the port is not a number from 1 to 65535",
         "-f*,1;no-tls", "--http2-altsvc=h3,0")
BAD_ARGS(altsvc_port_big, "the port is not a number from 1 to 65535", "-f*,1;no-tls",
         "--altsvc=h3,65536")
BAD_ARGS(altsvc_port_word, "the port is not a number from 1 to 65535", "-f*,1;no-tls",
         "--altsvc=h3,https")
BAD_ARGS(altsvc_no_proto, "the protocol id is empty", "-f*,1;no-tls", "--altsvc=,443")
BAD_ARGS(altsvc_control, "control or non-ASCII bytes are not allowed", "-f*,1;no-tls",
         "--altsvc=h3,443,,,ma=1\r\nx-injected: 1")
BAD_ARGS(forwarded_param, "--add-forwarded 'for,by,port': expected a comma-separated list of "
         "by, for, host, proto", "-f*,1;no-tls", "--add-forwarded=for,by,port")
BAD_ARGS(forwarded_empty_item, "--add-forwarded 'for,,by': expected",
         "-f*,1;no-tls", "--add-forwarded=for,,by")
BAD_ARGS(forwarded_by_token, "--forwarded-by 'node1': expected obfuscated, ip, or a token of "
         "\"_\" then letters", "-f*,1;no-tls", "--forwarded-by=node1")
BAD_ARGS(forwarded_by_chars, "--forwarded-by '_a:b': expected", "-f*,1;no-tls",
         "--forwarded-by=_a:b")
BAD_ARGS(forwarded_by_long, "at most 64 bytes", "-f*,1;no-tls",
         "--forwarded-by=_" "0123456789012345678901234567890123456789012345678901234567890123")
BAD_ARGS(forwarded_for, "--forwarded-for '_x': expected obfuscated or ip", "-f*,1;no-tls",
         "--forwarded-for=_x")
BAD_ARGS(field_no_colon, "--add-request-header 'x-a 1': expected \"name: value\"",
         "-f*,1;no-tls", "--add-request-header=x-a 1")
BAD_ARGS(field_upper, "the field name must be lower case", "-f*,1;no-tls",
         "--add-request-header=X-A: 1")
BAD_ARGS(field_space, "the field name is not a token", "-f*,1;no-tls",
         "--add-request-header=x a: 1")
BAD_ARGS(field_empty_name, "the field name is empty", "-f*,1;no-tls",
         "--add-request-header=: 1")
BAD_ARGS(field_reserved, "h2gate writes that field itself", "-f*,1;no-tls",
         "--add-request-header=x-forwarded-for: 1.2.3.4")
BAD_ARGS(field_framing, "h2gate writes that field itself", "-f*,1;no-tls",
         "--add-request-header=transfer-encoding: chunked")
BAD_ARGS(field_control, "the value holds a control character", "-f*,1;no-tls",
         "--add-request-header=x-a: 1\x01")

BAD_ARGS(error_page_code, "--error-page '399=/x': the code must be 400 to 599, or *",
         "-f*,1;no-tls", "--error-page=399=/x")
BAD_ARGS(error_page_word, "--error-page 'all=/x': the code must be 400 to 599, or *",
         "-f*,1;no-tls", "--error-page=all=/x")
BAD_ARGS(error_page_no_path, "--error-page '404=': expected CODE=PATH or *=PATH",
         "-f*,1;no-tls", "--error-page=404=")
BAD_ARGS(error_page_no_eq, "--error-page '/x': expected CODE=PATH or *=PATH",
         "-f*,1;no-tls", "--error-page=/x")

static void test_error_pages(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--error-page=*=/a.html", "--error-page=599=/b=c.html");
    assert_int_equal(cfg.num_error_pages, 2);
    assert_int_equal(cfg.error_pages[0].code, 0);
    assert_string_equal(cfg.error_pages[0].path, "/a.html");
    assert_int_equal(cfg.error_pages[1].code, 599);
    assert_string_equal(cfg.error_pages[1].path, "/b=c.html");
    cfg_cleanup(&cfg);
}

BAD_ARGS(backend_read_timeout, "invalid timeout '0' (expected a duration above 0: 90s, 1h)",
         "-f*,1;no-tls", "-b127.0.0.1,80;;read-timeout=0")
BAD_ARGS(backend_write_timeout, "invalid timeout 'soon'", "-f*,1;no-tls",
         "-b127.0.0.1,80;;write-timeout=soon")
BAD_ARGS(frontend_param, "unknown parameter 'proxy' (expected no-tls or proxyproto)",
         "-f*,1;no-tls;proxy")
BAD_ARGS(redirect_port, "--redirect-https-port '0'", "-f*,1;no-tls", "--redirect-https-port=0")

/* Per-member timeouts, redirect-if-not-tls on the route, ;proxyproto. */
static void test_backend_and_frontend_params(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls;proxyproto", "-f*,2", "/k", "/c",
            "-b127.0.0.1,8001;/grpc/;read-timeout=1h;write-timeout=90s;redirect-if-not-tls",
            "-b127.0.0.2,8001;/grpc/", "-b127.0.0.3,8001", "--redirect-https-port=8443");
    assert_true(cfg.frontends[0].proxyproto);
    assert_false(cfg.frontends[1].proxyproto);
    assert_true(cfg.backends[0].read_timeout == 3600.);
    assert_true(cfg.backends[0].write_timeout == 90.);
    assert_true(cfg.backends[1].read_timeout == 0.);   /* the global one */
    assert_int_equal(cfg.redirect_https_port, 8443);
    for (size_t i = 0; i < cfg.num_routes; i++)
        assert_int_equal(cfg.routes[i].redirect_if_not_tls,
                         strcmp(cfg.routes[i].path, "/grpc/") == 0);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls");
    assert_int_equal(cfg.redirect_https_port, 443);
    cfg_cleanup(&cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls");
    assert_int_equal(cfg.add_forwarded, 0);
    assert_false(cfg.strip_incoming_forwarded);
    assert_null(cfg.forwarded_by);   /* obfuscated */
    assert_false(cfg.forwarded_for_ip);
    assert_false(cfg.no_add_x_forwarded_proto);
    assert_false(cfg.no_strip_incoming_x_forwarded_proto);
    assert_int_equal(cfg.add_request_headers.num, 0);
    assert_null(cfg.altsvc);
    assert_null(cfg.http2_altsvc);
    cfg_cleanup(&cfg);
}

/* nghttpx's form, as nghttpx 1.52 prints it: repeated options joined by
 * ", ", the origin dropped, the protocol id percent-encoded where it is
 * not a token character, the host quoted. */
static void test_altsvc(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--altsvc=h2,443,,,ma=3600; persist=1",
            "--altsvc=h3,8443,alt.example,https://o.example", "--http2-altsvc=h3,443,,,ma=60",
            "--http2-altsvc=w=x%y,1,a\"b,,p=1,q=2");
    assert_string_equal(cfg.altsvc, "h2=\":443\"; ma=3600; persist=1, h3=\"alt.example:8443\"");
    assert_string_equal(cfg.http2_altsvc, "h3=\":443\"; ma=60, w%3Dx%25y=\"a\\\"b:1\"; p=1,q=2");
    cfg_cleanup(&cfg);
}

static void test_values(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--add-forwarded=proto, host,for,by",
            "--strip-incoming-forwarded", "--forwarded-by=_edge-1.a_b",
            "--forwarded-for=ip", "--no-add-x-forwarded-proto",
            "--no-strip-incoming-x-forwarded-proto", "--add-request-header=x-a:  one  ",
            "--add-request-header=x-b:", "--add-request-header=x-a: two");
    assert_int_equal(cfg.add_forwarded, CFG_FWD_BY | CFG_FWD_FOR | CFG_FWD_HOST | CFG_FWD_PROTO);
    assert_true(cfg.strip_incoming_forwarded);
    assert_string_equal(cfg.forwarded_by, "_edge-1.a_b");
    assert_true(cfg.forwarded_for_ip);
    assert_true(cfg.no_add_x_forwarded_proto);
    assert_true(cfg.no_strip_incoming_x_forwarded_proto);
    assert_int_equal(cfg.add_request_headers.num, 3);
    assert_string_equal(cfg.add_request_headers.v[0].name, "x-a");
    assert_string_equal(cfg.add_request_headers.v[0].value, "one");
    assert_string_equal(cfg.add_request_headers.v[1].name, "x-b");
    assert_string_equal(cfg.add_request_headers.v[1].value, "");
    assert_string_equal(cfg.add_request_headers.v[2].value, "two");
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "--add-forwarded=for", "--forwarded-by=ip",
            "--forwarded-for=obfuscated");
    assert_int_equal(cfg.add_forwarded, CFG_FWD_FOR);
    assert_string_equal(cfg.forwarded_by, "ip");
    assert_false(cfg.forwarded_for_ip);
    cfg_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_altsvc),
        cmocka_unit_test(test_bad_altsvc_no_port),
        cmocka_unit_test(test_bad_altsvc_port_0),
        cmocka_unit_test(test_bad_altsvc_port_big),
        cmocka_unit_test(test_bad_altsvc_port_word),
        cmocka_unit_test(test_bad_altsvc_no_proto),
        cmocka_unit_test(test_bad_altsvc_control),
        cmocka_unit_test(test_bad_forwarded_param),
        cmocka_unit_test(test_bad_forwarded_empty_item),
        cmocka_unit_test(test_bad_forwarded_by_token),
        cmocka_unit_test(test_bad_forwarded_by_chars),
        cmocka_unit_test(test_bad_forwarded_by_long),
        cmocka_unit_test(test_bad_forwarded_for),
        cmocka_unit_test(test_bad_field_no_colon),
        cmocka_unit_test(test_bad_field_upper),
        cmocka_unit_test(test_bad_field_space),
        cmocka_unit_test(test_bad_field_empty_name),
        cmocka_unit_test(test_bad_field_reserved),
        cmocka_unit_test(test_bad_field_framing),
        cmocka_unit_test(test_bad_field_control),
        cmocka_unit_test(test_bad_error_page_code),
        cmocka_unit_test(test_bad_error_page_word),
        cmocka_unit_test(test_bad_error_page_no_path),
        cmocka_unit_test(test_bad_error_page_no_eq),
        cmocka_unit_test(test_error_pages),
        cmocka_unit_test(test_bad_backend_read_timeout),
        cmocka_unit_test(test_bad_backend_write_timeout),
        cmocka_unit_test(test_bad_frontend_param),
        cmocka_unit_test(test_bad_redirect_port),
        cmocka_unit_test(test_backend_and_frontend_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
