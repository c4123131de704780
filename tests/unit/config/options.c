/* Unit tests for config/config.c's options on the command line: the
 * defaults, the long, short and separate-value forms, the values each kind
 * of option takes and their bounds, the lifecycle options, --probe,
 * --backend-address-family, and the message of each bad command line (one
 * case each). The -f and -b specs are in frontends.c and backends.c, the
 * --conf file in conf_file.c, --help and --version in help.c. */
#include "tests/unit/config/helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/cpus.h"
#include "common/log.h"

/* ---- defaults ---- */

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "key.pem", "cert.pem");
    assert_string_equal(cfg.private_key_file, "key.pem");
    assert_string_equal(cfg.cert_file, "cert.pem");

    assert_int_equal(cfg.num_frontends, 1);
    assert_string_equal(cfg.frontends[0].host, "*");
    assert_int_equal(cfg.frontends[0].port, 3000);
    assert_true(cfg.frontends[0].tls);

    assert_int_equal(cfg.num_backends, 1);
    const struct cfg_backend *be = &cfg.backends[0];
    assert_string_equal(be->host, "127.0.0.1");
    assert_int_equal(be->port, 80);
    assert_int_equal(be->proto, CFG_PROTO_HTTP1);
    assert_false(be->tls);
    assert_null(be->sni);
    assert_int_equal(be->index, 0);
    assert_int_equal(be->addr.ss_family, AF_INET);
    assert_int_equal(be->addr_len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&be->addr;
    assert_int_equal(ntohs(sin->sin_port), 80);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

    assert_int_equal(cfg.num_routes, 1);
    assert_string_equal(cfg.routes[0].path, "/");

    int cpus = cpus_usable();
    assert_int_equal(cfg.workers, cpus > 256 ? 256 : cpus);
    assert_int_equal(cfg.log_level, LOG_NOTICE);
    assert_null(cfg.errorlog_file);
    assert_null(cfg.conf_file);
    assert_int_equal(cfg.frontend_http2_max_concurrent_streams, 100);
    assert_int_equal(cfg.frontend_http2_window_size, 65535);
    assert_int_equal(cfg.frontend_http2_connection_window_size, 65535);
    assert_int_equal(cfg.frontend_http2_encoder_dynamic_table_size, 4096);
    assert_int_equal(cfg.frontend_http2_decoder_dynamic_table_size, 4096);
    assert_int_equal(cfg.backend_http2_encoder_dynamic_table_size, 4096);
    assert_int_equal(cfg.backend_http2_decoder_dynamic_table_size, 4096);
    assert_int_equal(cfg.tls_dyn_rec_warmup_threshold, 1 << 20);
    assert_true(cfg.tls_dyn_rec_idle_timeout == 1.);
    assert_true(cfg.frontend_read_timeout == 60.);
    assert_true(cfg.frontend_write_timeout == 30.);
    assert_true(cfg.frontend_keep_alive_timeout == 60.);
    assert_true(cfg.backend_connect_timeout == 30.);
    assert_true(cfg.backend_read_timeout == 60.);
    assert_true(cfg.backend_write_timeout == 30.);
    assert_true(cfg.backend_keep_alive_timeout == 2.);
    assert_int_equal(cfg.backend_connections_per_host, 0);
    assert_int_equal(cfg.backend_http1_connections_per_host, 0);
    assert_false(cfg.no_via);
    assert_false(cfg.no_http2_websocket);
    assert_int_equal(cfg.padding, 0);
    assert_false(cfg.add_x_forwarded_for);
    assert_false(cfg.strip_incoming_x_forwarded_for);
    assert_int_equal(cfg.request_header_field_buffer, 65536);
    assert_int_equal(cfg.max_request_header_fields, 100);
    assert_int_equal(cfg.response_header_field_buffer, 65536);
    assert_int_equal(cfg.max_response_header_fields, 500);
    assert_int_equal(cfg.rlimit_nofile, 0);
    assert_int_equal(cfg.backlog, 65536);
    assert_int_equal(cfg.backend_address_family, AF_UNSPEC);
    assert_true(cfg.graceful_shutdown_timeout == 30.);
    assert_int_equal(cfg.worker_frontend_connections, 0);
    assert_true(cfg.listener_disable_timeout == 30.);
    assert_int_equal(cfg.frontend_max_requests, 0);
    cfg_cleanup(&cfg);
}

static void test_cleanup_twice_and_on_zeroed(void **state)
{
    (void)state;
    struct config cfg = { 0 };
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "key.pem", "cert.pem");
    cfg_cleanup(&cfg);
    cfg_cleanup(&cfg);
    assert_null(cfg.frontends);
}

/* ---- every option ---- */

static void test_every_option_long_form(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "--frontend=127.0.0.1,8000;no-tls", "--backend=127.0.0.1,8080",
            "--workers=3", "--log-level=WARN", "--errorlog-file=/tmp/h2gate.log",
            "--frontend-http2-max-concurrent-streams=50", "--frontend-http2-window-size=1M",
            "--frontend-http2-connection-window-size=2147483647",
            "--frontend-read-timeout=5s", "--frontend-write-timeout=6s",
            "--frontend-keep-alive-timeout=7s", "--backend-connect-timeout=500ms",
            "--backend-read-timeout=2m", "--backend-write-timeout=1h",
            "--backend-keep-alive-timeout=1.5", "--backend-connections-per-host=16", "--no-via",
            "--backend-http1-connections-per-host=4",
            "--add-x-forwarded-for", "--strip-incoming-x-forwarded-for",
            "--request-header-field-buffer=32K", "--max-request-header-fields=50",
            "--response-header-field-buffer=128k", "--max-response-header-fields=60",
            "--rlimit-nofile=4096", "--backlog=511", "--graceful-shutdown-timeout=10s",
            "--worker-frontend-connections=1000", "--listener-disable-timeout=500ms",
            "--frontend-max-requests=7", "--no-http2-websocket");
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.log_level, LOG_WARN);
    assert_string_equal(cfg.errorlog_file, "/tmp/h2gate.log");
    assert_int_equal(cfg.frontend_http2_max_concurrent_streams, 50);
    assert_int_equal(cfg.frontend_http2_window_size, 1048576);
    assert_int_equal(cfg.frontend_http2_connection_window_size, 2147483647);
    assert_true(cfg.frontend_read_timeout == 5.);
    assert_true(cfg.frontend_write_timeout == 6.);
    assert_true(cfg.frontend_keep_alive_timeout == 7.);
    assert_true(cfg.backend_connect_timeout == 0.5);
    assert_true(cfg.backend_read_timeout == 120.);
    assert_true(cfg.backend_write_timeout == 3600.);
    assert_true(cfg.backend_keep_alive_timeout == 1.5);
    assert_int_equal(cfg.backend_connections_per_host, 16);
    assert_int_equal(cfg.backend_http1_connections_per_host, 4);
    assert_true(cfg.no_via);
    assert_true(cfg.no_http2_websocket);
    assert_true(cfg.add_x_forwarded_for);
    assert_true(cfg.strip_incoming_x_forwarded_for);
    assert_int_equal(cfg.request_header_field_buffer, 32768);
    assert_int_equal(cfg.max_request_header_fields, 50);
    assert_int_equal(cfg.response_header_field_buffer, 131072);
    assert_int_equal(cfg.max_response_header_fields, 60);
    assert_int_equal(cfg.rlimit_nofile, 4096);
    assert_int_equal(cfg.backlog, 511);
    assert_true(cfg.graceful_shutdown_timeout == 10.);
    assert_int_equal(cfg.worker_frontend_connections, 1000);
    assert_true(cfg.listener_disable_timeout == 0.5);
    assert_int_equal(cfg.frontend_max_requests, 7);
    assert_int_equal(cfg.num_frontends, 1);
    assert_false(cfg.frontends[0].tls);
    assert_null(cfg.private_key_file);
    cfg_cleanup(&cfg);
}

static void test_value_forms(void **state)
{
    (void)state;
    static const char *const forms[][2] = {
        { "--workers=5", NULL }, { "--workers", "5" }, { "-n5", NULL }, { "-n", "5" },
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct config cfg;
        if (forms[i][1])
            LOAD_OK(&cfg, "-f*,1;no-tls", forms[i][0], forms[i][1]);
        else
            LOAD_OK(&cfg, "-f*,1;no-tls", forms[i][0]);
        assert_int_equal(cfg.workers, 5);
        cfg_cleanup(&cfg);
    }
}

static void test_short_options(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f", "*,8000;no-tls", "-b127.0.0.1,9000", "-Lerror", "-c", "7");
    assert_int_equal(cfg.frontends[0].port, 8000);
    assert_int_equal(cfg.backends[0].port, 9000);
    assert_int_equal(cfg.log_level, LOG_ERROR);
    assert_int_equal(cfg.frontend_http2_max_concurrent_streams, 7);
    cfg_cleanup(&cfg);
}

static void test_last_value_wins_on_command_line(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-n2", "--workers=4", "--errorlog-file=a", "--errorlog-file=b");
    assert_int_equal(cfg.workers, 4);
    assert_string_equal(cfg.errorlog_file, "b");
    cfg_cleanup(&cfg);
}

static void test_options_after_positionals(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "key.pem", "cert.pem", "-n2");
    assert_int_equal(cfg.workers, 2);
    assert_string_equal(cfg.private_key_file, "key.pem");
    cfg_cleanup(&cfg);
}

static void test_log_level_any_case(void **state)
{
    (void)state;
    static const struct { const char *name; int level; } levels[] = {
        { "info", LOG_INFO }, { "Notice", LOG_NOTICE }, { "WARN", LOG_WARN },
        { "error", LOG_ERROR }, { "FATAL", LOG_FATAL },
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        struct config cfg;
        LOAD_OK(&cfg, "-f*,1;no-tls", "-L", levels[i].name);
        assert_int_equal(cfg.log_level, levels[i].level);
        cfg_cleanup(&cfg);
    }
}

static void test_workers_bounds_accepted(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-n1");
    assert_int_equal(cfg.workers, 1);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "-n256");
    assert_int_equal(cfg.workers, 256);
    cfg_cleanup(&cfg);
}

static void test_padding_values(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--padding=32");
    assert_int_equal(cfg.padding, 32);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "--padding=0");
    assert_int_equal(cfg.padding, 0);
    cfg_cleanup(&cfg);
    /* Accepted as nghttpx does; a frame still carries at most 256. */
    LOAD_OK(&cfg, "-f*,1;no-tls", "--padding=2147483647");
    assert_int_equal(cfg.padding, 2147483647);
    cfg_cleanup(&cfg);
}

static void test_window_size_max_accepted(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--frontend-http2-window-size=2147483647");
    assert_int_equal(cfg.frontend_http2_window_size, 2147483647);
    cfg_cleanup(&cfg);
}

/* nghttpx's range: 0 up to the largest signed 64-bit number, any unit. */
static void test_dynamic_table_sizes(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--frontend-http2-encoder-dynamic-table-size=0",
            "--frontend-http2-decoder-dynamic-table-size=512",
            "--backend-http2-encoder-dynamic-table-size=64k",
            "--backend-http2-decoder-dynamic-table-size=9223372036854775807");
    assert_int_equal(cfg.frontend_http2_encoder_dynamic_table_size, 0);
    assert_int_equal(cfg.frontend_http2_decoder_dynamic_table_size, 512);
    assert_int_equal(cfg.backend_http2_encoder_dynamic_table_size, 65536);
    assert_true(cfg.backend_http2_decoder_dynamic_table_size == 9223372036854775807u);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "--frontend-http2-encoder-dynamic-table-size=8388607G");
    assert_true(cfg.frontend_http2_encoder_dynamic_table_size == 8388607ull << 30);
    cfg_cleanup(&cfg);
}

static void test_tls_dyn_rec(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--tls-dyn-rec-warmup-threshold=0",
            "--tls-dyn-rec-idle-timeout=250ms");
    assert_int_equal(cfg.tls_dyn_rec_warmup_threshold, 0);
    assert_true(cfg.tls_dyn_rec_idle_timeout == 0.25);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "--tls-dyn-rec-warmup-threshold=8G");
    assert_true(cfg.tls_dyn_rec_warmup_threshold == 8ull << 30);
    cfg_cleanup(&cfg);
}

/* ---- bad command lines: one case each ---- */

BAD_ARGS(unknown_long_option, "unknown option '--bogus'", "--bogus")
BAD_ARGS(unknown_long_option_with_value, "unknown option '--bogus'", "--bogus=1")
BAD_ARGS(unknown_short_option, "unknown option '-x'", "-x")
BAD_ARGS(ambiguous_option, "ambiguous option '--backend-'", "--backend-=1")
BAD_ARGS(missing_value_long, "--workers needs a value", "-f*,1;no-tls", "--workers")
BAD_ARGS(missing_value_short, "--workers needs a value", "-f*,1;no-tls", "-n")
BAD_ARGS(missing_value_backend, "--backend needs a value", "-b")
BAD_ARGS(empty_value, "--workers: missing value", "--workers=")
BAD_ARGS(flag_with_value, "--no-via takes no value", "--no-via=yes")
BAD_ARGS(workers_zero, "--workers '0': out of range (1-256)", "-n0")
BAD_ARGS(workers_too_many, "--workers '257': out of range (1-256)", "-n257")
BAD_ARGS(address_family_bad, "--backend-address-family 'ipv5': expected auto, IPv4 or IPv6",
         "--backend-address-family=ipv5")
BAD_ARGS(address_family_v4_only_v6,
         "backend ::1,80: cannot resolve ::1: no IPv4 address (--backend-address-family)",
         "-f*,1;no-tls", "-b[::1],80", "--backend-address-family=IPv4")
BAD_ARGS(address_family_v6_only_v4,
         "backend 127.0.0.1,80: cannot resolve 127.0.0.1: no IPv6 address",
         "-f*,1;no-tls", "-b127.0.0.1,80", "--backend-address-family=ipv6")
BAD_ARGS(backlog_zero, "--backlog '0': out of range (1-2147483647)", "--backlog=0")
BAD_ARGS(workers_not_a_number, "--workers 'two': not a number", "--workers=two")
BAD_ARGS(workers_negative, "--workers '-1': negative number", "--workers=-1")
BAD_ARGS(workers_trailing_junk, "--workers '4x': not a number", "-n4x")
BAD_ARGS(window_size_over_2_31, "--frontend-http2-window-size '2147483648': out of range",
         "--frontend-http2-window-size=2147483648")
BAD_ARGS(window_size_2g, "--frontend-http2-window-size '2G': out of range",
         "--frontend-http2-window-size=2G")
BAD_ARGS(window_size_garbage, "--frontend-http2-window-size 'big': invalid size",
         "--frontend-http2-window-size=big")
BAD_ARGS(table_size_negative,
         "--frontend-http2-encoder-dynamic-table-size '-1': negative size",
         "--frontend-http2-encoder-dynamic-table-size=-1")
BAD_ARGS(table_size_garbage,
         "--frontend-http2-decoder-dynamic-table-size '4KB': invalid size",
         "--frontend-http2-decoder-dynamic-table-size=4KB")
BAD_ARGS(table_size_over_2_63,
         "--backend-http2-encoder-dynamic-table-size '9223372036854775808': out of range "
         "(0-9223372036854775807)",
         "--backend-http2-encoder-dynamic-table-size=9223372036854775808")
BAD_ARGS(table_size_8g_g, "--backend-http2-decoder-dynamic-table-size '8589934592G': out of range",
         "--backend-http2-decoder-dynamic-table-size=8589934592G")
BAD_ARGS(padding_negative, "--padding '-1': negative number", "--padding=-1")
BAD_ARGS(padding_garbage, "--padding '16x': not a number", "--padding=16x")
BAD_ARGS(padding_over_2_31, "--padding '2147483648': out of range", "--padding=2147483648")
BAD_ARGS(padding_empty, "--padding: missing value", "--padding=")
BAD_ARGS(connection_window_too_small,
         "--frontend-http2-connection-window-size '1000': out of range (65535-2147483647)",
         "--frontend-http2-connection-window-size=1000")
BAD_ARGS(max_concurrent_streams_zero, "--frontend-http2-max-concurrent-streams '0': out of range",
         "-c0")
BAD_ARGS(bad_duration, "--frontend-read-timeout '10x': invalid duration",
         "--frontend-read-timeout=10x")
BAD_ARGS(negative_duration, "--backend-read-timeout '-5s': negative duration",
         "--backend-read-timeout=-5s")
BAD_ARGS(bad_size, "--request-header-field-buffer '10Q': invalid size",
         "--request-header-field-buffer=10Q")
BAD_ARGS(zero_size, "--response-header-field-buffer '0': out of range",
         "--response-header-field-buffer=0")
BAD_ARGS(zero_header_fields, "--max-request-header-fields '0': out of range",
         "--max-request-header-fields=0")
BAD_ARGS(connections_per_host_big, "--backend-connections-per-host '65536': out of range",
         "--backend-connections-per-host=65536")
BAD_ARGS(rlimit_garbage, "--rlimit-nofile 'lots': not a number", "--rlimit-nofile=lots")
BAD_ARGS(log_level, "--log-level 'LOUD': expected INFO, NOTICE, WARN, ERROR or FATAL",
         "-LLOUD")
BAD_ARGS(one_positional, "missing CERT", "key.pem")
BAD_ARGS(three_positionals, "unexpected argument 'extra'", "key.pem", "cert.pem", "extra")
BAD_ARGS(empty_conf, "--conf: missing value", "--conf=")

/* ---- lifecycle, --probe, repeated loads, address family ---- */

static void test_lifecycle_options(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls");
    assert_true(cfg.graceful_shutdown_accept_period == 0.);
    assert_null(cfg.user);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "--graceful-shutdown-accept-period=5s", "--user=nobody");
    assert_true(cfg.graceful_shutdown_accept_period == 5.);
    assert_string_equal(cfg.user, "nobody");
    cfg_cleanup(&cfg);
    assert_load_error("--graceful-shutdown-accept-period 'x': invalid duration", "-f*,1;no-tls",
                      "--graceful-shutdown-accept-period=x");
}

/* --probe needs no key, frontend or backend: it only probes. */
static void test_probe_mode(void **state)
{
    (void)state;
    struct config cfg;
    char err[256];
    assert_int_equal(LOAD(&cfg, err, "--probe=http://127.0.0.1:9090/healthz"), CFG_PROBE);
    assert_string_equal(cfg.probe, "http://127.0.0.1:9090/healthz");
    assert_null(cfg.frontends);
    cfg_cleanup(&cfg);
    assert_load_error("--probe needs a value", "--probe");
}

static void test_reload_is_reentrant(void **state)
{
    (void)state;
    /* getopt state must not leak from one cfg_load to the next. */
    for (int i = 0; i < 3; i++) {
        struct config cfg;
        LOAD_OK(&cfg, "-n2", "-f*,1;no-tls");
        assert_int_equal(cfg.workers, 2);
        cfg_cleanup(&cfg);
        assert_load_error("unknown option '-x'", "-n2", "-x");
    }
}

static void test_address_family(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,80", "-b[::1],81;/v6/",
            "--backend-address-family=auto");
    assert_int_equal(cfg.num_backends, 2);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,80", "--backend-address-family=IPv4");
    assert_int_equal(cfg.backend_address_family, AF_INET);
    assert_int_equal(cfg.num_backends, 1);
    assert_int_equal(cfg.backends[0].addr.ss_family, AF_INET);
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b[::1],80", "--backend-address-family=IPv6");
    assert_int_equal(cfg.backend_address_family, AF_INET6);
    assert_int_equal(cfg.backends[0].addr.ss_family, AF_INET6);
    cfg_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_cleanup_twice_and_on_zeroed),
        cmocka_unit_test(test_every_option_long_form),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_short_options),
        cmocka_unit_test(test_last_value_wins_on_command_line),
        cmocka_unit_test(test_options_after_positionals),
        cmocka_unit_test(test_log_level_any_case),
        cmocka_unit_test(test_workers_bounds_accepted),
        cmocka_unit_test(test_window_size_max_accepted),
        cmocka_unit_test(test_dynamic_table_sizes),
        cmocka_unit_test(test_tls_dyn_rec),
        cmocka_unit_test(test_padding_values),
        cmocka_unit_test(test_bad_unknown_long_option),
        cmocka_unit_test(test_bad_unknown_long_option_with_value),
        cmocka_unit_test(test_bad_unknown_short_option),
        cmocka_unit_test(test_bad_ambiguous_option),
        cmocka_unit_test(test_bad_missing_value_long),
        cmocka_unit_test(test_bad_missing_value_short),
        cmocka_unit_test(test_bad_missing_value_backend),
        cmocka_unit_test(test_bad_empty_value),
        cmocka_unit_test(test_bad_flag_with_value),
        cmocka_unit_test(test_bad_workers_zero),
        cmocka_unit_test(test_bad_workers_too_many),
        cmocka_unit_test(test_bad_backlog_zero),
        cmocka_unit_test(test_bad_address_family_bad),
        cmocka_unit_test(test_bad_address_family_v4_only_v6),
        cmocka_unit_test(test_bad_address_family_v6_only_v4),
        cmocka_unit_test(test_bad_workers_not_a_number),
        cmocka_unit_test(test_bad_workers_negative),
        cmocka_unit_test(test_bad_workers_trailing_junk),
        cmocka_unit_test(test_bad_window_size_over_2_31),
        cmocka_unit_test(test_bad_window_size_2g),
        cmocka_unit_test(test_bad_window_size_garbage),
        cmocka_unit_test(test_bad_table_size_negative),
        cmocka_unit_test(test_bad_table_size_garbage),
        cmocka_unit_test(test_bad_table_size_over_2_63),
        cmocka_unit_test(test_bad_table_size_8g_g),
        cmocka_unit_test(test_bad_padding_negative),
        cmocka_unit_test(test_bad_padding_garbage),
        cmocka_unit_test(test_bad_padding_over_2_31),
        cmocka_unit_test(test_bad_padding_empty),
        cmocka_unit_test(test_bad_connection_window_too_small),
        cmocka_unit_test(test_bad_max_concurrent_streams_zero),
        cmocka_unit_test(test_bad_bad_duration),
        cmocka_unit_test(test_bad_negative_duration),
        cmocka_unit_test(test_bad_bad_size),
        cmocka_unit_test(test_bad_zero_size),
        cmocka_unit_test(test_bad_zero_header_fields),
        cmocka_unit_test(test_bad_connections_per_host_big),
        cmocka_unit_test(test_bad_rlimit_garbage),
        cmocka_unit_test(test_bad_log_level),
        cmocka_unit_test(test_bad_one_positional),
        cmocka_unit_test(test_bad_three_positionals),
        cmocka_unit_test(test_bad_empty_conf),
        cmocka_unit_test(test_lifecycle_options),
        cmocka_unit_test(test_probe_mode),
        cmocka_unit_test(test_address_family),
        cmocka_unit_test(test_reload_is_reentrant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
