/* Unit tests for --help and --version (config/config.c): the usage text
 * names every option with its default, the backend HTTP/2 and TLS ones
 * included, and fits 80 columns; -h and -v are the short forms; each exits
 * without a config, having printed to stdout (captured through a
 * temporary file). */
#include "tests/unit/config/helpers.h"

#include <fcntl.h>

/* Runs cfg_load with one argument and returns what it printed to stdout
 * (heap string). */
static char *capture_stdout(const char *arg, enum cfg_load_result *result)
{
    char path[64];
    write_temp_file(path, "");
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    struct config cfg;
    char err[256];
    *result = LOAD(&cfg, err, arg);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *out = calloc(1, 65536);
    assert_non_null(out);
    size_t n = fread(out, 1, 65535, f);
    out[n] = '\0';
    fclose(f);
    unlink(path);
    assert_null(cfg.frontends);
    return out;
}

static void test_help_lists_every_option_with_default(void **state)
{
    (void)state;
    enum cfg_load_result r;
    char *out = capture_stdout("--help", &r);
    assert_int_equal(r, CFG_EXIT_OK);
    assert_non_null(strstr(out, "Usage: h2gate [OPTIONS]... [<PRIVATE_KEY> <CERT>]"));
    static const char *const with_default[][2] = {
        { "-f, --frontend=", "Default: *,3000" },
        { "-b, --backend=", "Default: 127.0.0.1,80" },
        { "-n, --workers=", "Default: usable CPUs" },
        { "--backend-connections-per-host=", "Default: 0" },
        { "--backend-http1-connections-per-host=", "Default: 0" },
        { "--rlimit-nofile=", "Default: 0" },
        { "--frontend-read-timeout=", "Default: 1m" },
        { "--frontend-write-timeout=", "Default: 30s" },
        { "--frontend-keep-alive-timeout=", "Default: 1m" },
        { "--backend-connect-timeout=", "Default: 30s" },
        { "--backend-read-timeout=", "Default: 1m" },
        { "--backend-write-timeout=", "Default: 30s" },
        { "--backend-keep-alive-timeout=", "Default: 2s" },
        { "--graceful-shutdown-timeout=", "Default: 30s" },
        { "-c, --frontend-http2-max-concurrent-streams=", "Default: 100" },
        { "--frontend-http2-window-size=", "Default: 65535" },
        { "--frontend-http2-connection-window-size=", "Default: 65535" },
        { "--frontend-http2-encoder-dynamic-table-size=", "Default: 4K" },
        { "--frontend-http2-decoder-dynamic-table-size=", "Default: 4K" },
        { "--backend-http2-encoder-dynamic-table-size=", "Default: 4K" },
        { "--backend-http2-decoder-dynamic-table-size=", "Default: 4K" },
        { "-L, --log-level=", "Default: NOTICE" },
        { "--errorlog-file=", "Default: stderr" },
        { "--request-header-field-buffer=", "Default: 64K" },
        { "--max-request-header-fields=", "Default: 100" },
        { "--response-header-field-buffer=", "Default: 64K" },
        { "--max-response-header-fields=", "Default: 500" },
    };
    for (size_t i = 0; i < sizeof(with_default) / sizeof(with_default[0]); i++) {
        const char *opt = strstr(out, with_default[i][0]);
        if (!opt)
            fail_msg("--help lacks %s", with_default[i][0]);
        /* The default is the first "Default:" after the option's line. */
        const char *d = strstr(opt, "Default: ");
        assert_non_null(d);
        if (strncmp(d, with_default[i][1], strlen(with_default[i][1])) != 0)
            fail_msg("%s: wrong default near \"%.30s\"", with_default[i][0], d);
    }
    static const char *const flags[] = {
        "--no-via", "--add-x-forwarded-for", "--strip-incoming-x-forwarded-for",
        "--conf=", "-v, --version", "-h, --help", "--private-key-file=", "--certificate-file=",
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (!strstr(out, flags[i]))
            fail_msg("--help lacks %s", flags[i]);
    }
    free(out);
}

static void test_help_fits_80_columns(void **state)
{
    (void)state;
    enum cfg_load_result r;
    char *out = capture_stdout("--help", &r);
    assert_int_equal(r, CFG_EXIT_OK);
    /* What is measured is the real option list, not an empty page. */
    static const char *const options[] = {
        "  -f, --frontend=", "  -b, --backend=", "  -n, --workers=", "  --connect-allow=",
    };
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (!strstr(out, options[i]))
            fail_msg("--help lacks %s", options[i]);
    }
    size_t lines = 0;
    /* The long -b synopsis is the one line allowed past 79 columns. */
    for (const char *line = out; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 79 && strncmp(line, "  -b, --backend=", 16) != 0)
            fail_msg("--help line too long (%zu): %.*s", len, (int)len, line);
        line += len + (nl != NULL);
        lines++;
    }
    if (lines < 100)
        fail_msg("--help printed %zu lines, expected the whole option list (100+)", lines);
    free(out);
}

static void test_help_short(void **state)
{
    (void)state;
    enum cfg_load_result r;
    char *out = capture_stdout("-h", &r);
    assert_int_equal(r, CFG_EXIT_OK);
    assert_non_null(strstr(out, "Usage: h2gate"));
    free(out);
}

static void test_version(void **state)
{
    (void)state;
    enum cfg_load_result r;
    char *out = capture_stdout("--version", &r);
    assert_int_equal(r, CFG_EXIT_OK);
    assert_string_equal(out, "h2gate 0.1.0\n");
    free(out);
    out = capture_stdout("-v", &r);
    assert_int_equal(r, CFG_EXIT_OK);
    assert_string_equal(out, "h2gate 0.1.0\n");
    free(out);
}

static void test_help_backend_h2_tls_options(void **state)
{
    (void)state;
    enum cfg_load_result r;
    char *out = capture_stdout("--help", &r);
    assert_int_equal(r, CFG_EXIT_OK);
    static const char *const with_default[][2] = {
        { "--backend-http2-window-size=", "Default: 65535" },
        { "--backend-http2-connection-window-size=", "Default: 2147483647" },
        { "--backend-http2-max-concurrent-streams=", "Default: 100" },
        { "--backend-http2-settings-timeout=", "Default: 10s" },
    };
    for (size_t i = 0; i < sizeof(with_default) / sizeof(with_default[0]); i++) {
        const char *opt = strstr(out, with_default[i][0]);
        if (!opt)
            fail_msg("--help lacks %s", with_default[i][0]);
        const char *d = strstr(opt, "Default: ");
        assert_non_null(d);
        if (strncmp(d, with_default[i][1], strlen(with_default[i][1])) != 0)
            fail_msg("%s: wrong default near \"%.30s\"", with_default[i][0], d);
    }
    static const char *const flags[] = { "--cacert=", "-k, --insecure",
                                         "--client-private-key-file=", "--client-cert-file=" };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (!strstr(out, flags[i]))
            fail_msg("--help lacks %s", flags[i]);
    }
    /* HTTP/1.1 connections have their own bound, named in the HTTP/2 one's text. */
    assert_non_null(strstr(out, "HTTP/1.1: see the next option"));
    assert_non_null(strstr(out, "Upper bound on the HTTP/1.1 connections each worker"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_backend_h2_tls_options),
        cmocka_unit_test(test_help_lists_every_option_with_default),
        cmocka_unit_test(test_help_fits_80_columns),
        cmocka_unit_test(test_help_short),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
