/* Unit tests for the --conf file of config/config.c: NAME=VALUE lines
 * with comments, blanks and CRLF, flags set and cleared, the command line
 * winning over the file, the key and certificate from it, --include
 * (nested, on the command line, not read again on a rebuild, loops and
 * depth), and the file and line each error names. */
#include "tests/unit/config/helpers.h"

#include "config/resolve.h"

#include "common/log.h"

static void test_conf_file(void **state)
{
    (void)state;
    char path[64], arg[96];
    write_temp_file(path,
                    "# h2gate test config\n"
                    "\n"
                    "frontend=127.0.0.1,8000;no-tls\n"
                    "  workers = 4  \n"
                    "\tbackend = 127.0.0.1,8080;/api/;proto=h2\n"
                    "backend=127.0.0.1,8081\n"
                    "no-via=yes\n"
                    "add-x-forwarded-for = true\n"
                    "strip-incoming-x-forwarded-for=0\n"
                    "log-level=info\n"
                    "frontend-read-timeout=90s\n"
                    "request-header-field-buffer=8K\n"
                    "errorlog-file = /tmp/x.log\n"
                    "   # indented comment\n"
                    "backend-keep-alive-timeout=5s");  /* no final newline */
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_string_equal(cfg.conf_file, path);
    assert_int_equal(cfg.num_frontends, 1);
    assert_int_equal(cfg.frontends[0].port, 8000);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.num_backends, 2);
    assert_int_equal(cfg.backends[0].proto, CFG_PROTO_H2);
    assert_int_equal(cfg.backends[1].port, 8081);
    assert_int_equal(cfg.num_routes, 2);
    assert_true(cfg.no_via);
    assert_true(cfg.add_x_forwarded_for);
    assert_false(cfg.strip_incoming_x_forwarded_for);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_true(cfg.frontend_read_timeout == 90.);
    assert_int_equal(cfg.request_header_field_buffer, 8192);
    assert_string_equal(cfg.errorlog_file, "/tmp/x.log");
    assert_true(cfg.backend_keep_alive_timeout == 5.);
    cfg_cleanup(&cfg);
    unlink(path);
}

static void test_conf_unix_frontend(void **state)
{
    (void)state;
    char path[64], arg[96];
    write_temp_file(path, "frontend=unix:/run/h2gate.sock;no-tls;proxyproto\n"
                          "frontend = *,8000;no-tls\n");
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_int_equal(cfg.num_frontends, 2);
    assert_string_equal(CFG_FE_UNIX_PATH(&cfg.frontends[0]), "/run/h2gate.sock");
    assert_true(cfg.frontends[0].proxyproto);
    assert_false(cfg.frontends[0].tls);
    assert_int_equal(cfg.frontends[1].port, 8000);
    cfg_cleanup(&cfg);
    unlink(path);
}

static void test_conf_crlf_lines(void **state)
{
    (void)state;
    char path[64], arg[96];
    write_temp_file(path, "frontend=*,8000;no-tls\r\nworkers=3\r\n");
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_int_equal(cfg.workers, 3);
    assert_false(cfg.frontends[0].tls);
    cfg_cleanup(&cfg);
    unlink(path);
}

static void test_conf_flag_no_clears(void **state)
{
    (void)state;
    char path[64], arg[96];
    write_temp_file(path, "frontend=*,8000;no-tls\nno-via=yes\nno-via=no\n");
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_false(cfg.no_via);
    cfg_cleanup(&cfg);
    unlink(path);
}

static void test_conf_command_line_wins(void **state)
{
    (void)state;
    char path[64], arg[96];
    write_temp_file(path,
                    "workers=4\n"
                    "frontend=*,8000;no-tls\n"
                    "frontend=*,8001;no-tls\n"
                    "backend=127.0.0.1,8080\n"
                    "log-level=ERROR\n"
                    "backend-read-timeout=5s\n");
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    struct config cfg;
    /* Options before and after --conf both win over the file. */
    LOAD_OK(&cfg, "-n2", arg, "-f*,9000;no-tls", "--backend-read-timeout=7s");
    assert_int_equal(cfg.workers, 2);
    assert_true(cfg.backend_read_timeout == 7.);
    assert_int_equal(cfg.log_level, LOG_ERROR);  /* not on the command line */
    /* A list given on the command line replaces the file's list. */
    assert_int_equal(cfg.num_frontends, 1);
    assert_int_equal(cfg.frontends[0].port, 9000);
    /* A list not given on the command line comes from the file. */
    assert_int_equal(cfg.num_backends, 1);
    assert_int_equal(cfg.backends[0].port, 8080);
    cfg_cleanup(&cfg);
    unlink(path);
}

static void test_conf_key_and_cert(void **state)
{
    (void)state;
    char path[64], arg[96];
    write_temp_file(path, "private-key-file=/k.pem\ncertificate-file=/c.pem\n");
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_string_equal(cfg.private_key_file, "/k.pem");
    assert_string_equal(cfg.cert_file, "/c.pem");
    assert_true(cfg.frontends[0].tls);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, arg, "key.pem", "cert.pem");
    assert_string_equal(cfg.private_key_file, "key.pem");
    assert_string_equal(cfg.cert_file, "cert.pem");
    cfg_cleanup(&cfg);
    unlink(path);
}

/* Writes text to a temporary file, loads it with --conf and expects an
 * error "PATH:" + substr. */
static void assert_conf_error(const char *text, const char *substr)
{
    char path[64], arg[96], want[256];
    write_temp_file(path, text);
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    snprintf(want, sizeof(want), "%s:%s", path, substr);
    assert_load_error(want, arg);
    unlink(path);
}

#define BAD_CONF(name, text, substr)                                             \
    static void test_bad_conf_##name(void **state)                               \
    {                                                                            \
        (void)state;                                                             \
        assert_conf_error(text, substr);                                         \
    }
BAD_CONF(unknown_option, "workers=2\n\n# c\nbogus=1\n", "4: unknown option 'bogus'")
BAD_CONF(dashed_name, "--workers=2\n", "1: unknown option '--workers'")
BAD_CONF(bad_value, "frontend=*,1;no-tls\nworkers=0\n", "2: workers '0': out of range (1-256)")
BAD_CONF(no_equals, "workers 4\n", "1: expected NAME=VALUE, got 'workers 4'")
BAD_CONF(missing_value, "workers=\n", "1: workers: missing value")
BAD_CONF(bad_flag, "no-via=maybe\n", "1: no-via 'maybe': expected yes or no")
BAD_CONF(empty_flag, "no-via=\n", "1: no-via '': expected yes or no")
BAD_CONF(bad_backend, "backend=127.0.0.1,80;;proto=spdy\n", "1: backend '127.0.0.1,80;;proto=spdy': unknown proto")
BAD_CONF(bad_frontend, "frontend=*,99999\n", "1: frontend '*,99999': invalid port")
BAD_CONF(bad_duration, "\n\nbackend-read-timeout=soon\n", "3: backend-read-timeout 'soon': invalid duration")
BAD_CONF(conf_in_conf, "conf=/etc/other.conf\n", "1: conf is not allowed in a config file")
BAD_CONF(help_in_conf, "help=yes\n", "1: help is not allowed in a config file")
BAD_CONF(probe_in_conf, "probe=http://127.0.0.1/\n", "1: probe is not allowed in a config file")

static void test_bad_conf_nul_byte_real(void **state)
{
    (void)state;
    /* write_temp_file stops at the NUL; write the bytes directly. */
    char path[64], arg[96], want[160];
    write_temp_file(path, "");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite("workers=2\nwor\0kers=3\n", 1, 21, f);
    fclose(f);
    snprintf(arg, sizeof(arg), "--conf=%s", path);
    snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
    assert_load_error(want, arg);
    unlink(path);
}

static void test_bad_conf_missing_file(void **state)
{
    (void)state;
    assert_load_error("cannot open config file /nonexistent/h2gate.conf",
                      "--conf=/nonexistent/h2gate.conf");
}

static void test_bad_conf_is_a_directory(void **state)
{
    (void)state;
    assert_load_error("config file /tmp", "--conf=/tmp");
}

/* --include (nghttpx's): a file's options where the line stands, nested,
 * and on the command line (applied in order with the others). */
static void test_include(void **state)
{
    (void)state;
    char inner[64], mid[64], top[64], text[256], arg[96], arg2[96];
    write_temp_file(inner, "workers=3\nbackend=127.0.0.1,8082;/c/\n");
    snprintf(text, sizeof(text), "backend=127.0.0.1,8081;/b/\ninclude = %s\nno-via=yes\n", inner);
    write_temp_file(mid, text);
    snprintf(text, sizeof(text),
             "frontend=127.0.0.1,8000;no-tls\nworkers=2\ninclude=%s\nbackend=127.0.0.1,8080\n", mid);
    write_temp_file(top, text);
    snprintf(arg, sizeof(arg), "--conf=%s", top);
    snprintf(arg2, sizeof(arg2), "--include=%s", inner);
    struct config cfg;
    LOAD_OK(&cfg, arg);
    assert_int_equal(cfg.workers, 3);
    assert_true(cfg.no_via);
    assert_int_equal(cfg.num_backends, 3);
    assert_int_equal(cfg.backends[0].port, 8081);
    assert_int_equal(cfg.backends[1].port, 8082);
    assert_int_equal(cfg.backends[2].port, 8080);
    assert_int_equal(cfg.num_included, 2);
    assert_string_equal(cfg.included[0].path, mid);
    assert_string_equal(cfg.included[1].path, inner);
    assert_int_equal(cfg.included[1].len, strlen("workers=3\nbackend=127.0.0.1,8082;/c/\n"));
    cfg_cleanup(&cfg);
    /* On the command line: after the file, so its workers=3 wins; the
     * file's backends are replaced by the command line's as for -b. */
    LOAD_OK(&cfg, "--workers=5", arg2, "-f127.0.0.1,8000;no-tls");
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.num_backends, 1);
    assert_int_equal(cfg.backends[0].port, 8082);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, arg2, "--workers=5", "-f127.0.0.1,8000;no-tls");
    assert_int_equal(cfg.workers, 5);
    cfg_cleanup(&cfg);
    unlink(top);
    unlink(mid);
    unlink(inner);
}

/* A rebuild (cfg_load_again with the running texts) reads neither the
 * --conf file nor the included ones again. */
static void test_include_reused_on_rebuild(void **state)
{
    (void)state;
    char inner[64], top[64], text[256], arg[96], err[1024];
    write_temp_file(inner, "workers=3\n");
    snprintf(text, sizeof(text), "frontend=127.0.0.1,8000;no-tls\ninclude=%s\n"
                                 "backend=127.0.0.1,8080\n", inner);
    write_temp_file(top, text);
    snprintf(arg, sizeof(arg), "--conf=%s", top);
    struct config cfg, again = { 0 };
    LOAD_OK(&cfg, arg);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fputs("workers=7\n", f);
    fclose(f);
    char *argv[] = { (char *)"h2gate", arg, NULL };
    struct cfg_lookup lo = { .host = "127.0.0.1", .num = 1 };
    memcpy(&lo.addrs[0], &cfg.backends[0].addr, sizeof(lo.addrs[0]));
    lo.addr_lens[0] = cfg.backends[0].addr_len;
    struct cfg_reuse reuse = { .conf_text = cfg.conf_text, .conf_len = cfg.conf_len,
                               .included = cfg.included, .num_included = cfg.num_included,
                               .answers = &lo, .num_answers = 1 };
    if (cfg_load_again(&again, 2, argv, &reuse, err, sizeof(err)) != CFG_RUN)
        fail_msg("cfg_load_again: %s", err);
    assert_int_equal(again.workers, 3);
    cfg_cleanup(&again);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, arg);                    /* a reload reads the files */
    assert_int_equal(cfg.workers, 7);
    cfg_cleanup(&cfg);
    unlink(top);
    unlink(inner);
}

static void test_bad_include(void **state)
{
    (void)state;
    char self[64], text[256], arg[96], want[256];
    /* A file that includes itself. */
    strcpy(self, "/tmp/h2gate-test-XXXXXX");
    int fd = mkstemp(self);
    assert_true(fd >= 0);
    snprintf(text, sizeof(text), "workers=2\ninclude=%s\n", self);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(arg, sizeof(arg), "--conf=%s", self);
    snprintf(want, sizeof(want), "%s:2: include: %s includes itself", self, self);
    assert_load_error(want, arg);
    snprintf(arg, sizeof(arg), "--include=%s", self);
    assert_load_error("includes itself", arg);
    unlink(self);
    /* A loop through the --conf file itself. */
    char top[64], mid[64];
    strcpy(top, "/tmp/h2gate-test-XXXXXX");
    fd = mkstemp(top);
    assert_true(fd >= 0);
    close(fd);
    snprintf(text, sizeof(text), "include=%s\n", top);
    write_temp_file(mid, text);
    FILE *f = fopen(top, "w");
    assert_non_null(f);
    fprintf(f, "workers=2\ninclude=%s\n", mid);
    fclose(f);
    snprintf(arg, sizeof(arg), "--conf=%s", top);
    snprintf(want, sizeof(want), "%s:1: include: %s includes itself", mid, top);
    assert_load_error(want, arg);
    unlink(mid);
    unlink(top);
    /* Eight levels of includes below the --conf file load; nine do not. */
    char chain[10][64];
    write_temp_file(chain[9], "workers=3\nfrontend=127.0.0.1,8000;no-tls\n");
    for (int k = 8; k >= 0; k--) {
        snprintf(text, sizeof(text), "include=%s\n", chain[k + 1]);
        write_temp_file(chain[k], text);
    }
    struct config cfg;
    snprintf(arg, sizeof(arg), "--conf=%s", chain[1]);
    LOAD_OK(&cfg, arg);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.num_included, 8);
    cfg_cleanup(&cfg);
    snprintf(arg, sizeof(arg), "--conf=%s", chain[0]);
    assert_load_error("include: files included more than 8 deep", arg);
    for (int k = 0; k < 10; k++)
        unlink(chain[k]);
    /* A file that is not there: the line that names it, and why. */
    assert_conf_error("include=/nonexistent/h2gate.conf\n",
                      "1: include: cannot open config file /nonexistent/h2gate.conf: No such "
                      "file or directory");
    assert_load_error("--include: cannot open config file /nonexistent/x.conf",
                      "--include=/nonexistent/x.conf");
    /* An error inside an included file names that file and line. */
    char inner[64];
    write_temp_file(inner, "workers=2\nworkers=0\n");
    snprintf(text, sizeof(text), "include=%s\n", inner);
    snprintf(want, sizeof(want), "%s:2: workers '0': out of range", inner);
    write_temp_file(top, text);
    snprintf(arg, sizeof(arg), "--conf=%s", top);
    assert_load_error(want, arg);
    unlink(top);
    unlink(inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_file),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_include_reused_on_rebuild),
        cmocka_unit_test(test_bad_include),
        cmocka_unit_test(test_conf_unix_frontend),
        cmocka_unit_test(test_conf_crlf_lines),
        cmocka_unit_test(test_conf_flag_no_clears),
        cmocka_unit_test(test_conf_command_line_wins),
        cmocka_unit_test(test_conf_key_and_cert),
        cmocka_unit_test(test_bad_conf_unknown_option),
        cmocka_unit_test(test_bad_conf_dashed_name),
        cmocka_unit_test(test_bad_conf_bad_value),
        cmocka_unit_test(test_bad_conf_no_equals),
        cmocka_unit_test(test_bad_conf_missing_value),
        cmocka_unit_test(test_bad_conf_bad_flag),
        cmocka_unit_test(test_bad_conf_empty_flag),
        cmocka_unit_test(test_bad_conf_bad_backend),
        cmocka_unit_test(test_bad_conf_bad_frontend),
        cmocka_unit_test(test_bad_conf_bad_duration),
        cmocka_unit_test(test_bad_conf_conf_in_conf),
        cmocka_unit_test(test_bad_conf_help_in_conf),
        cmocka_unit_test(test_bad_conf_probe_in_conf),
        cmocka_unit_test(test_bad_conf_nul_byte_real),
        cmocka_unit_test(test_bad_conf_missing_file),
        cmocka_unit_test(test_bad_conf_is_a_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
