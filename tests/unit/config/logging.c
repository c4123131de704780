/* Unit tests for the logging options of config/config.c (kept apart from
 * tests/unit/config/options.c for its length): --accesslog-json,
 * --accesslog-escape, --accesslog-syslog, --errorlog-syslog,
 * --syslog-facility, --syslog-socket. */
#include "tests/unit/config/helpers.h"

BAD_ARGS(syslog_facility, "--syslog-facility 'local9': unknown facility (expected auth, "
         "authpriv, cron, daemon, ftp, kern, local0-local7, lpr, mail, news, syslog, user or "
         "uucp)", "-f*,1;no-tls", "--syslog-facility=local9")
BAD_ARGS(syslog_facility_case, "--syslog-facility 'DAEMON': unknown facility",
         "-f*,1;no-tls", "--syslog-facility=DAEMON")
BAD_ARGS(syslog_flag_value, "--accesslog-syslog takes no value", "--accesslog-syslog=yes")
BAD_ARGS(accesslog_escape, "--accesslog-escape 'xml': expected default or json",
         "-f*,1;no-tls", "--accesslog-escape=xml")
BAD_ARGS(accesslog_json_and_format,
         "--accesslog-json and --accesslog-format exclude each other: for a JSON template of "
         "your own give --accesslog-format with --accesslog-escape=json",
         "-f*,1;no-tls", "--accesslog-json", "--accesslog-format=$status")
BAD_ARGS(accesslog_escape_json_alone,
         "--accesslog-escape=json applies to an --accesslog-format template: give one, or use "
         "--accesslog-json for the ready JSON format",
         "-f*,1;no-tls", "--accesslog-file=-", "--accesslog-escape=json")

/* ---- logging: JSON and syslog ---- */

static void test_syslog_and_json_defaults(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls");
    assert_false(cfg.accesslog_syslog);
    assert_false(cfg.errorlog_syslog);
    assert_false(cfg.accesslog_json);
    assert_int_equal(cfg.accesslog_escape, CFG_ALOG_ESCAPE_DEFAULT);
    assert_int_equal(cfg.syslog_facility, 3); /* daemon, as nghttpx */
    assert_null(cfg.syslog_socket);            /* /dev/log */
    cfg_cleanup(&cfg);
}

static void test_syslog_and_json_options(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--accesslog-syslog", "--errorlog-syslog",
            "--syslog-facility=local3", "--syslog-socket=/run/x/log", "--accesslog-json");
    assert_true(cfg.accesslog_syslog);
    assert_true(cfg.errorlog_syslog);
    assert_true(cfg.accesslog_json);
    assert_int_equal(cfg.syslog_facility, 19);
    assert_string_equal(cfg.syslog_socket, "/run/x/log");
    cfg_cleanup(&cfg);

    LOAD_OK(&cfg, "-f*,1;no-tls", "--accesslog-format={\"s\":$status}",
            "--accesslog-escape=json", "--syslog-facility=user");
    assert_int_equal(cfg.accesslog_escape, CFG_ALOG_ESCAPE_JSON);
    assert_int_equal(cfg.syslog_facility, 1);
    cfg_cleanup(&cfg);
    /* an explicit default escaping next to --accesslog-json is harmless */
    LOAD_OK(&cfg, "-f*,1;no-tls", "--accesslog-json", "--accesslog-escape=default");
    cfg_cleanup(&cfg);

    char path[64];
    write_temp_file(path, "accesslog-syslog = yes\nerrorlog-syslog = no\n"
                          "syslog-facility = local7\naccesslog-json = yes\n");
    char conf[128];
    snprintf(conf, sizeof(conf), "--conf=%s", path);
    LOAD_OK(&cfg, "-f*,1;no-tls", conf);
    assert_true(cfg.accesslog_syslog);
    assert_false(cfg.errorlog_syslog);
    assert_true(cfg.accesslog_json);
    assert_int_equal(cfg.syslog_facility, 23);
    cfg_cleanup(&cfg);
    unlink(path);
}

/* A reload cannot move the logs: the writers are made once. */
static void test_syslog_options_fixed_at_reload(void **state)
{
    (void)state;
    struct config cur, next;
    LOAD_OK(&cur, "-f*,1;no-tls", "--accesslog-syslog", "--syslog-facility=local1");
    LOAD_OK(&next, "-f*,1;no-tls", "--errorlog-syslog", "--syslog-socket=/tmp/s",
            "--accesslog-json");
    char names[512];
    assert_int_equal(cfg_keep_fixed(&next, &cur, names, sizeof(names)), 4);
    assert_string_equal(names, "--errorlog-syslog, --accesslog-syslog, --syslog-facility, "
                               "--syslog-socket");
    assert_true(next.accesslog_syslog);
    assert_false(next.errorlog_syslog);
    assert_int_equal(next.syslog_facility, 17);
    assert_null(next.syslog_socket);
    assert_true(next.accesslog_json); /* a format: the new generation's */
    cfg_cleanup(&cur);
    cfg_cleanup(&next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_syslog_facility),
        cmocka_unit_test(test_bad_syslog_facility_case),
        cmocka_unit_test(test_bad_syslog_flag_value),
        cmocka_unit_test(test_bad_accesslog_escape),
        cmocka_unit_test(test_bad_accesslog_json_and_format),
        cmocka_unit_test(test_bad_accesslog_escape_json_alone),
        cmocka_unit_test(test_syslog_and_json_defaults),
        cmocka_unit_test(test_syslog_and_json_options),
        cmocka_unit_test(test_syslog_options_fixed_at_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
