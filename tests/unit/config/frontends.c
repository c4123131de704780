/* Unit tests for the -f (--frontend) spec of config/config.c and
 * config/spec.c: HOST,PORT and unix:/PATH frontends with their no-tls and
 * proxyproto parameters, the key and certificate a TLS frontend needs, and
 * the errors of a bad spec or of two frontends that share an address. */
#include "tests/unit/config/helpers.h"

static void test_frontend_no_tls_and_several(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,8443", "-f127.0.0.1,8000;no-tls", "-f[::1],8001;no-tls", "k", "c");
    assert_int_equal(cfg.num_frontends, 3);
    assert_string_equal(cfg.frontends[0].host, "*");
    assert_int_equal(cfg.frontends[0].port, 8443);
    assert_true(cfg.frontends[0].tls);
    assert_string_equal(cfg.frontends[1].host, "127.0.0.1");
    assert_int_equal(cfg.frontends[1].port, 8000);
    assert_false(cfg.frontends[1].tls);
    assert_string_equal(cfg.frontends[2].host, "::1");
    assert_false(cfg.frontends[2].tls);
    cfg_cleanup(&cfg);
}

static void test_frontend_max_port(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-flocalhost,65535;no-tls");
    assert_int_equal(cfg.frontends[0].port, 65535);
    cfg_cleanup(&cfg);
}

BAD_ARGS(frontend_port_zero, "--frontend '*,0;no-tls': invalid port '0' (expected 1-65535)", "-f*,0;no-tls")
BAD_ARGS(frontend_port_too_big, "invalid port '65536' (expected 1-65535)", "-f*,65536;no-tls")
BAD_ARGS(frontend_port_garbage, "invalid port 'http'", "-f*,http;no-tls")
BAD_ARGS(frontend_port_missing, "--frontend '*,': missing port", "-f*,")
BAD_ARGS(frontend_no_comma, "--frontend 'localhost': expected HOST,PORT", "-flocalhost")
BAD_ARGS(frontend_empty_host, "--frontend ',80': empty host", "-f,80")
BAD_ARGS(frontend_unknown_param, "unknown parameter 'tls-off' (expected no-tls or proxyproto)",
         "-f*,80;tls-off")
BAD_ARGS(frontend_unix_relative, "--frontend 'unix:run/h2gate.sock;no-tls': UNIX domain socket "
         "path 'run/h2gate.sock' is not absolute", "-funix:run/h2gate.sock;no-tls")
BAD_ARGS(frontend_unix_empty, "--frontend 'unix:': unix: needs a socket path (unix:/PATH)",
         "-funix:")
BAD_ARGS(frontend_unix_empty_with_params, "unix: needs a socket path", "-funix:;no-tls")
BAD_ARGS(frontend_unix_too_long, "is too long: 108 bytes, at most 107",
         "-funix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;no-tls")
BAD_ARGS(frontend_unix_comma_form, "UNIX domain socket path ',8080' is not absolute",
         "-funix:,8080;no-tls")
BAD_ARGS(frontend_unix_unknown_param, "unknown parameter 'mode=600' (expected no-tls or "
         "proxyproto)", "-funix:/tmp/a.sock;mode=600")
BAD_ARGS(frontend_unix_tls_without_key,
         "frontend unix:/tmp/a.sock needs a private key and certificate", "-funix:/tmp/a.sock")
BAD_ARGS(frontend_unix_twice, "frontends unix:/tmp/a.sock and unix:/tmp/a.sock share an "
         "address: give each its own path", "-funix:/tmp/a.sock;no-tls",
         "-funix:/tmp/a.sock;no-tls;proxyproto")
BAD_ARGS(tls_frontend_without_key,
         "frontend *,3000 needs a private key and certificate", "-n1")
BAD_ARGS(tls_frontend_among_cleartext_without_key,
         "frontend 127.0.0.1,8443 needs a private key and certificate",
         "-f*,8000;no-tls", "-f127.0.0.1,8443")

static void test_frontend_unix(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-funix:/run/h2gate.sock;no-tls", "-funix:/run/pp.sock;proxyproto;no-tls",
            "-f127.0.0.1,8000;no-tls", "-funix:/run/tls.sock", "key.pem", "cert.pem");
    assert_int_equal(cfg.num_frontends, 4);
    const struct cfg_frontend *fe = cfg.frontends;
    assert_string_equal(fe[0].host, "unix:/run/h2gate.sock");
    assert_int_equal(fe[0].port, 0);
    assert_string_equal(CFG_FE_UNIX_PATH(&fe[0]), "/run/h2gate.sock");
    assert_false(fe[0].tls);
    assert_false(fe[0].proxyproto);
    assert_string_equal(CFG_FE_UNIX_PATH(&fe[1]), "/run/pp.sock");
    assert_true(fe[1].proxyproto);
    assert_false(fe[1].tls);
    assert_null(CFG_FE_UNIX_PATH(&fe[2]));
    assert_string_equal(CFG_FE_UNIX_PATH(&fe[3]), "/run/tls.sock");
    assert_true(fe[3].tls);     /* TLS unless no-tls, as for HOST,PORT */
    char text[128];
    snprintf(text, sizeof(text), CFG_FE_FMT " " CFG_FE_FMT, CFG_FE_ARGS(&fe[0]),
             CFG_FE_ARGS(&fe[2]));
    assert_string_equal(text, "unix:/run/h2gate.sock 127.0.0.1,8000");
    cfg_cleanup(&cfg);
}

static void test_frontend_unix_longest_path(void **state)
{
    (void)state;
    char path[108], arg[130];
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    snprintf(arg, sizeof(arg), "-funix:%s;no-tls", path);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_string_equal(CFG_FE_UNIX_PATH(&cfg.frontends[0]), path);
    cfg_cleanup(&cfg);
}

static void test_duplicate_frontend_address(void **state)
{
    (void)state;
    assert_load_error("share an address", "-f127.0.0.1,8000;no-tls", "-f127.0.0.1,8000",
                      "key.pem", "cert.pem");
    assert_load_error("share an address", "-f*,8000;no-tls", "-f127.0.0.1,8000;no-tls");
    struct config cfg;
    LOAD_OK(&cfg, "-f127.0.0.1,8000;no-tls", "-f127.0.0.1,8001;no-tls");
    cfg_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frontend_no_tls_and_several),
        cmocka_unit_test(test_frontend_max_port),
        cmocka_unit_test(test_bad_frontend_port_zero),
        cmocka_unit_test(test_bad_frontend_port_too_big),
        cmocka_unit_test(test_bad_frontend_port_garbage),
        cmocka_unit_test(test_bad_frontend_port_missing),
        cmocka_unit_test(test_bad_frontend_no_comma),
        cmocka_unit_test(test_bad_frontend_empty_host),
        cmocka_unit_test(test_bad_frontend_unknown_param),
        cmocka_unit_test(test_bad_frontend_unix_relative),
        cmocka_unit_test(test_bad_frontend_unix_empty),
        cmocka_unit_test(test_bad_frontend_unix_empty_with_params),
        cmocka_unit_test(test_bad_frontend_unix_too_long),
        cmocka_unit_test(test_bad_frontend_unix_comma_form),
        cmocka_unit_test(test_bad_frontend_unix_unknown_param),
        cmocka_unit_test(test_bad_frontend_unix_tls_without_key),
        cmocka_unit_test(test_bad_frontend_unix_twice),
        cmocka_unit_test(test_frontend_unix),
        cmocka_unit_test(test_frontend_unix_longest_path),
        cmocka_unit_test(test_bad_tls_frontend_without_key),
        cmocka_unit_test(test_bad_tls_frontend_among_cleartext_without_key),
        cmocka_unit_test(test_duplicate_frontend_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
