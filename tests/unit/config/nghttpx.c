/* Unit tests for config/nghttpx.c: nghttpx's options that h2gate does not
 * take are refused with the reason and what to use instead, on the command
 * line and in a config file; any other unknown name keeps the plain
 * message. */
#include "tests/unit/config/helpers.h"

#include "config/parse.h"

static void test_reasons_by_name_and_family(void **state)
{
    (void)state;
    assert_non_null(strstr(cfg_nghttpx_only(STR_LIT("mruby-file")), "runs no scripts"));
    /* A family: any name with the prefix. */
    assert_non_null(strstr(cfg_nghttpx_only(STR_LIT("frontend-http3-window-size")), "HTTP/3"));
    assert_non_null(strstr(cfg_nghttpx_only(STR_LIT("tls-ticket-key-memcached-interval")),
                           "--tls-ticket-key-file"));
    assert_null(cfg_nghttpx_only(STR_LIT("bogus")));
    assert_null(cfg_nghttpx_only(STR_LIT("mruby")));     /* a prefix of a name is not it */
    assert_null(cfg_nghttpx_only(STR_LIT("")));
}

static void test_command_line(void **state)
{
    (void)state;
    assert_load_error("--mruby-file is nghttpx's, not h2gate's: h2gate runs no scripts",
                      "--mruby-file=/etc/x.rb");
    /* The value as the next argument: the name alone decides. */
    assert_load_error("--worker-read-rate is nghttpx's, not h2gate's: nghttpx does not "
                      "implement it either", "--worker-read-rate", "1M");
    assert_load_error("--single-thread is nghttpx's, not h2gate's: h2gate's workers are "
                      "threads beside the main one: use -n 1", "--single-thread");
    assert_load_error("unknown option '--bogus'", "--bogus");
}

static void test_config_file(void **state)
{
    (void)state;
    char path[64], arg[96], want[256];
    write_temp_file(path, "workers=2\nfrontend=*,1;no-tls\ntls-ticket-key-memcached=127.0.0.1,"
                          "11211\n");
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    snprintf(want, sizeof(want), "%s:3: tls-ticket-key-memcached is nghttpx's, not h2gate's: "
             "h2gate has no memcached client", path);
    assert_load_error(want, arg);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reasons_by_name_and_family),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
