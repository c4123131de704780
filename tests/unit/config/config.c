/* Unit tests for config/config.c and config/spec.c: options, defaults,
 * --help, the --conf file, -f and -b specs, consistency checks. */
#include "tests/unit/config/helpers.h"

#include "config/resolve.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/un.h>

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

/* ---- bad command lines: one case each ---- */

#define BAD_ARGS(name, substr, ...)                                              \
    static void test_bad_##name(void **state)                                    \
    {                                                                            \
        (void)state;                                                             \
        assert_load_error(substr, __VA_ARGS__);                                  \
    }
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

/* ---- frontends ---- */

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

/* ---- backends ---- */

static void test_backend_params(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8443;/api/;proto=h2;tls;sni=api.example.com");
    const struct cfg_backend *be = &cfg.backends[0];
    assert_int_equal(be->proto, CFG_PROTO_H2);
    assert_true(be->tls);
    assert_string_equal(be->sni, "api.example.com");
    assert_string_equal(cfg.routes[0].path, "/api/");
    cfg_cleanup(&cfg);
}

static void test_backend_proto_http1_explicit(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,80;;proto=http/1.1");
    assert_int_equal(cfg.backends[0].proto, CFG_PROTO_HTTP1);
    cfg_cleanup(&cfg);
}

static void test_backend_empty_pattern_form(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8080;;proto=h2");
    assert_int_equal(cfg.backends[0].proto, CFG_PROTO_H2);
    assert_int_equal(cfg.num_routes, 1);
    assert_string_equal(cfg.routes[0].host, "");
    assert_string_equal(cfg.routes[0].path, "/");
    cfg_cleanup(&cfg);
}

static void test_backend_param_without_pattern_field(void **state)
{
    (void)state;
    struct config cfg;
    /* nghttpx would read "proto=h2" as a host pattern; no host has '='. */
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8080;proto=h2;tls");
    assert_int_equal(cfg.backends[0].proto, CFG_PROTO_H2);
    assert_true(cfg.backends[0].tls);
    assert_string_equal(cfg.routes[0].path, "/");
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8080;tls");
    assert_true(cfg.backends[0].tls);
    assert_string_equal(cfg.routes[0].path, "/");
    cfg_cleanup(&cfg);
}

static void test_backend_index_and_addresses(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8001", "-b::1,8002;/v6/",
            "-blocalhost,8003;/name/");
    assert_int_equal(cfg.num_backends, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(cfg.backends[i].index, i);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&cfg.backends[1].addr;
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(cfg.backends[1].addr_len, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(sin6->sin6_port), 8002);
    assert_true(cfg.backends[2].addr_len > 0);
    assert_string_equal(cfg.backends[2].host, "localhost");
    cfg_cleanup(&cfg);
}

static void assert_unix_member(const struct cfg_backend *be, const char *path)
{
    char host[128];
    snprintf(host, sizeof(host), "unix:%s", path);
    assert_string_equal(be->host, host);
    assert_int_equal(be->port, 0);
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&be->addr;
    assert_int_equal(sun->sun_family, AF_UNIX);
    assert_string_equal(sun->sun_path, path);
    assert_int_equal(be->addr_len, offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static void test_backend_unix(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-bunix:/run/app.sock;/api/:example.com;proto=h2;weight=3");
    assert_int_equal(cfg.num_backends, 1);
    const struct cfg_backend *be = &cfg.backends[0];
    assert_unix_member(be, "/run/app.sock");
    assert_int_equal(be->proto, CFG_PROTO_H2);
    assert_int_equal(be->weight, 3);
    assert_false(be->dns);
    assert_int_equal(cfg.num_dns_hosts, 0);
    assert_int_equal(cfg.num_routes, 2);
    assert_string_equal(cfg.routes[0].path, "/api/");
    assert_string_equal(cfg.routes[1].host, "example.com");
    assert_ptr_equal(cfg.routes[0].backends[0], be);
    cfg_cleanup(&cfg);
    /* No pattern, and params right after the path. */
    LOAD_OK(&cfg, "-f*,1;no-tls", "-bunix:/tmp/b.sock;fall=2");
    assert_unix_member(&cfg.backends[0], "/tmp/b.sock");
    assert_int_equal(cfg.backends[0].fall, 2);
    assert_string_equal(cfg.routes[0].path, "/");
    cfg_cleanup(&cfg);
}

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

static void test_backend_unix_longest_path(void **state)
{
    (void)state;
    char path[108], arg[120];
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';  /* 107 bytes: the NUL fills sun_path */
    snprintf(arg, sizeof(arg), "-bunix:%s", path);
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", arg);
    assert_unix_member(&cfg.backends[0], path);
    assert_int_equal(cfg.backends[0].addr_len, sizeof(struct sockaddr_un));
    cfg_cleanup(&cfg);
}

/* A group of a TCP member and a socket; the socket is never looked up
 * (a lookup of "unix:/..." would fail the load). */
static void test_backend_unix_beside_tcp(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8001;/;lb=least-outstanding",
            "-bunix:/run/a.sock;/;lb=least-outstanding", "-blocalhost,8002;/x/;dns");
    assert_int_equal(cfg.num_routes, 2);
    assert_int_equal(cfg.routes[0].num_backends, 2);
    assert_int_equal(cfg.routes[0].backends[0]->addr.ss_family, AF_INET);
    assert_unix_member(cfg.routes[0].backends[1], "/run/a.sock");
    assert_int_equal(cfg.num_dns_hosts, 1);
    assert_string_equal(cfg.dns_hosts[0], "localhost");
    cfg_cleanup(&cfg);
}

static void test_backend_unix_tls(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-bunix:/run/a.sock;;tls;sni=app.internal;proto=h2");
    assert_true(cfg.backends[0].tls);
    assert_string_equal(cfg.backends[0].sni, "app.internal");
    cfg_cleanup(&cfg);
    /* No name to check a certificate against is fine when none is checked. */
    LOAD_OK(&cfg, "-f*,1;no-tls", "--insecure", "-bunix:/run/a.sock;;tls");
    assert_true(cfg.backends[0].tls);
    assert_null(cfg.backends[0].sni);
    cfg_cleanup(&cfg);
}

static void test_backend_group_params(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls",
            "-b127.0.0.1,8001;/a/;weight=3;fall=2;rise=4;health=/hz;lb=least-outstanding;dns",
            "-b127.0.0.2,8001;/a/;lb=least-outstanding",
            "-b127.0.0.3,8001;;affinity=cookie;affinity-cookie-name=lb;"
            "affinity-cookie-path=/x;affinity-cookie-secure=no");
    const struct cfg_backend *be = &cfg.backends[0];
    assert_int_equal(be->weight, 3);
    assert_int_equal(be->fall, 2);
    assert_int_equal(be->rise, 4);
    assert_string_equal(be->health_path, "/hz");
    assert_true(be->dns);
    assert_int_equal(cfg.backends[1].weight, 1);  /* the default */
    assert_false(cfg.backends[1].dns);
    assert_int_equal(cfg.num_dns_hosts, 1);
    assert_string_equal(cfg.dns_hosts[0], "127.0.0.1");
    assert_int_equal(cfg.num_routes, 2);
    const struct cfg_route *a = &cfg.routes[0];
    assert_int_equal(a->num_backends, 2);
    assert_int_equal(a->weights[0], 3);
    assert_int_equal(a->weights[1], 1);
    assert_int_equal(a->policy.lb, CFG_LB_LEAST_OUTSTANDING);
    assert_int_equal(a->policy.affinity, CFG_AFFINITY_NONE);
    const struct cfg_route *c = &cfg.routes[1];
    assert_int_equal(c->policy.affinity, CFG_AFFINITY_COOKIE);
    assert_string_equal(c->policy.cookie_name, "lb");
    assert_string_equal(c->policy.cookie_path, "/x");
    assert_int_equal(c->policy.cookie_secure, CFG_COOKIE_SECURE_NO);
    cfg_cleanup(&cfg);
}

static void test_backend_lb_peak_ewma(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8001;/a/;lb=peak-ewma;weight=2",
            "-b127.0.0.2,8001;/a/;lb=peak-ewma", "-b127.0.0.3,8001;/b/;lb=round-robin",
            "-b127.0.0.4,8001;;lb=least-outstanding");
    assert_int_equal(cfg.num_routes, 3);
    assert_int_equal(cfg.routes[0].num_backends, 2);
    assert_int_equal(cfg.routes[0].policy.lb, CFG_LB_PEAK_EWMA);
    assert_int_equal(cfg.routes[0].weights[0], 2);
    assert_int_equal(cfg.routes[1].policy.lb, CFG_LB_ROUND_ROBIN);
    assert_int_equal(cfg.routes[2].policy.lb, CFG_LB_LEAST_OUTSTANDING);
    cfg_cleanup(&cfg);
}

BAD_ARGS(backend_group_mixed_lb,
         "pattern '/a/' is shared with a backend of other lb= or affinity=", "-f*,1;no-tls",
         "-b127.0.0.1,80;/a/;lb=peak-ewma", "-b127.0.0.2,80;/a/;lb=least-outstanding")
BAD_ARGS(backend_weight_zero, "invalid weight '0' (expected 1-256)", "-f*,1;no-tls",
         "-b127.0.0.1,80;;weight=0")
BAD_ARGS(backend_weight_big, "invalid weight '257' (expected 1-256)", "-f*,1;no-tls",
         "-b127.0.0.1,80;;weight=257")
BAD_ARGS(backend_bad_lb,
         "unknown lb 'random' (expected round-robin, least-outstanding or peak-ewma)",
         "-f*,1;no-tls", "-b127.0.0.1,80;;lb=random")
BAD_ARGS(backend_bad_lb_case,
         "unknown lb 'Peak-EWMA' (expected round-robin, least-outstanding or peak-ewma)",
         "-f*,1;no-tls", "-b127.0.0.1,80;;lb=Peak-EWMA")
BAD_ARGS(backend_empty_lb,
         "unknown lb '' (expected round-robin, least-outstanding or peak-ewma)",
         "-f*,1;no-tls", "-b127.0.0.1,80;;lb=")
BAD_ARGS(backend_lb_prefix,
         "unknown lb 'peak-ewma2' (expected round-robin, least-outstanding or peak-ewma)",
         "-f*,1;no-tls", "-b127.0.0.1,80;;lb=peak-ewma2")
BAD_ARGS(backend_bad_affinity, "unknown affinity 'x' (expected none, ip or cookie)",
         "-f*,1;no-tls", "-b127.0.0.1,80;;affinity=x")
BAD_ARGS(backend_cookie_without_name, "affinity=cookie needs affinity-cookie-name=NAME",
         "-f*,1;no-tls", "-b127.0.0.1,80;;affinity=cookie")
BAD_ARGS(backend_bad_cookie_name, "invalid affinity-cookie-name 'a b'", "-f*,1;no-tls",
         "-b127.0.0.1,80;;affinity=cookie;affinity-cookie-name=a b")
BAD_ARGS(backend_bad_health_path, "invalid health path 'hz' (expected /PATH)", "-f*,1;no-tls",
         "-b127.0.0.1,80;;health=hz")
BAD_ARGS(backend_group_disagrees, "pattern '/a/' is shared with a backend of other lb=",
         "-f*,1;no-tls", "-b127.0.0.1,80;/a/;affinity=ip", "-b127.0.0.2,80;/a/")

BAD_ARGS(backend_unknown_param, "--backend '127.0.0.1,80;/;foo': unknown parameter",
         "-f*,1;no-tls", "-b127.0.0.1,80;/;foo")
BAD_ARGS(backend_unknown_param_named, "'foo'", "-f*,1;no-tls", "-b127.0.0.1,80;/;foo")
BAD_ARGS(backend_unknown_param_in_pattern_position,
         "unknown parameter 'dnf' (expected proto=, tls, sni=, weight=", "-f*,1;no-tls",
         "-b127.0.0.1,80;dnf=3")
BAD_ARGS(backend_bad_proto, "unknown proto 'h3' (expected h2 or http/1.1)", "-f*,1;no-tls",
         "-b127.0.0.1,80;;proto=h3")
BAD_ARGS(backend_empty_sni, "sni needs a name", "-f*,1;no-tls", "-b127.0.0.1,80;;tls;sni=")
BAD_ARGS(backend_port_zero, "--backend '127.0.0.1,0': invalid port", "-f*,1;no-tls",
         "-b127.0.0.1,0")
BAD_ARGS(backend_no_port, "--backend '127.0.0.1': expected HOST,PORT", "-f*,1;no-tls",
         "-b127.0.0.1")
BAD_ARGS(backend_unresolvable, "backend nonexistent.invalid,80: cannot resolve nonexistent.invalid",
         "-f*,1;no-tls", "-bnonexistent.invalid,80")
BAD_ARGS(backend_wildcard_inside_host,
         "invalid host in pattern 'www.*.example.com' ('*' is a wildcard only as the host's "
         "first character: '*.example.com')",
         "-f*,1;no-tls", "-b127.0.0.1,80;www.*.example.com")
BAD_ARGS(backend_two_wildcards, "invalid host in pattern '**.example.com/'", "-f*,1;no-tls",
         "-b127.0.0.1,80;**.example.com/")
BAD_ARGS(backend_bad_pattern_host, "invalid host in pattern 'ex!ample.com/'", "-f*,1;no-tls",
         "-b127.0.0.1,80;ex!ample.com/")
BAD_ARGS(backend_pattern_with_query, "invalid path in pattern '/a?b'", "-f*,1;no-tls",
         "-b127.0.0.1,80;/a?b")
BAD_ARGS(backend_unix_policy_clash,
         "backend unix:/run/a.sock: pattern '/x/' is shared with a backend of other lb=",
         "-f*,1;no-tls", "-b127.0.0.1,80;/x/", "-bunix:/run/a.sock;/x/;lb=least-outstanding")
BAD_ARGS(backend_unix_relative, "--backend 'unix:run/app.sock': UNIX domain socket path "
         "'run/app.sock' is not absolute", "-f*,1;no-tls", "-bunix:run/app.sock")
BAD_ARGS(backend_unix_empty, "unix: needs a socket path (unix:/PATH)", "-f*,1;no-tls",
         "-bunix:")
BAD_ARGS(backend_unix_empty_with_params, "unix: needs a socket path", "-f*,1;no-tls",
         "-bunix:;/;proto=h2")
/* sun_path holds 108 bytes with the NUL: a 108-byte path does not fit. */
BAD_ARGS(backend_unix_too_long, "is too long: 108 bytes, at most 107", "-f*,1;no-tls",
         "-bunix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x")
BAD_ARGS(backend_unix_dns, "dns cannot be used with a UNIX domain socket backend", "-f*,1;no-tls",
         "-bunix:/run/app.sock;;dns")
BAD_ARGS(backend_unix_tls_without_sni, "backend unix:/run/app.sock: tls over a UNIX domain "
         "socket needs sni=NAME", "-f*,1;no-tls", "-bunix:/run/app.sock;;tls")
BAD_ARGS(backend_unix_comma_form, "UNIX domain socket path ',8080' is not absolute",
         "-f*,1;no-tls", "-bunix:,8080")

/* ---- --help and --version ---- */

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

/* ---- --conf ---- */

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

/* ---- HTTP/2 and TLS backend options ---- */

static void test_backend_h2_tls_defaults(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls");
    assert_int_equal(cfg.backend_http2_window_size, 65535);
    assert_int_equal(cfg.backend_http2_connection_window_size, 2147483647);
    assert_int_equal(cfg.backend_http2_max_concurrent_streams, 100);
    assert_true(cfg.backend_http2_settings_timeout == 10.);
    assert_null(cfg.cacert);
    assert_false(cfg.insecure);
    assert_null(cfg.client_private_key_file);
    assert_null(cfg.client_cert_file);
    cfg_cleanup(&cfg);
}

static void test_backend_h2_tls_options(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "-b127.0.0.1,8443;;proto=h2;tls;sni=example.org",
            "--backend-http2-window-size=1M", "--backend-http2-connection-window-size=64K",
            "--backend-http2-max-concurrent-streams=7", "--backend-http2-settings-timeout=3s",
            "--cacert=/tmp/ca.pem", "-k", "--client-private-key-file=/tmp/c.key",
            "--client-cert-file=/tmp/c.crt");
    assert_int_equal(cfg.backends[0].proto, CFG_PROTO_H2);
    assert_true(cfg.backends[0].tls);
    assert_string_equal(cfg.backends[0].sni, "example.org");
    assert_int_equal(cfg.backend_http2_window_size, 1048576);
    assert_int_equal(cfg.backend_http2_connection_window_size, 65536);
    assert_int_equal(cfg.backend_http2_max_concurrent_streams, 7);
    assert_true(cfg.backend_http2_settings_timeout == 3.);
    assert_string_equal(cfg.cacert, "/tmp/ca.pem");
    assert_true(cfg.insecure);
    assert_string_equal(cfg.client_private_key_file, "/tmp/c.key");
    assert_string_equal(cfg.client_cert_file, "/tmp/c.crt");
    cfg_cleanup(&cfg);
    LOAD_OK(&cfg, "-f*,1;no-tls", "--insecure");
    assert_true(cfg.insecure);
    cfg_cleanup(&cfg);
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

static void test_bad_backend_h2_tls_options(void **state)
{
    (void)state;
    assert_load_error("go together", "-f*,1;no-tls", "--client-cert-file=/tmp/c.crt");
    assert_load_error("go together", "-f*,1;no-tls", "--client-private-key-file=/tmp/c.key");
    assert_load_error("out of range", "-f*,1;no-tls",
                      "--backend-http2-connection-window-size=1000");
    assert_load_error("out of range", "-f*,1;no-tls", "--backend-http2-window-size=2G");
    assert_load_error("out of range", "-f*,1;no-tls",
                      "--backend-http2-max-concurrent-streams=0");
    assert_load_error("invalid duration", "-f*,1;no-tls",
                      "--backend-http2-settings-timeout=soon");
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
        cmocka_unit_test(test_backend_h2_tls_defaults),
        cmocka_unit_test(test_backend_h2_tls_options),
        cmocka_unit_test(test_help_backend_h2_tls_options),
        cmocka_unit_test(test_bad_backend_h2_tls_options),
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
        cmocka_unit_test(test_backend_params),
        cmocka_unit_test(test_backend_proto_http1_explicit),
        cmocka_unit_test(test_backend_empty_pattern_form),
        cmocka_unit_test(test_backend_param_without_pattern_field),
        cmocka_unit_test(test_backend_index_and_addresses),
        cmocka_unit_test(test_bad_backend_unknown_param),
        cmocka_unit_test(test_bad_backend_unknown_param_named),
        cmocka_unit_test(test_bad_backend_unknown_param_in_pattern_position),
        cmocka_unit_test(test_backend_group_params),
        cmocka_unit_test(test_bad_backend_weight_zero),
        cmocka_unit_test(test_bad_backend_weight_big),
        cmocka_unit_test(test_bad_backend_bad_lb),
        cmocka_unit_test(test_bad_backend_bad_lb_case),
        cmocka_unit_test(test_bad_backend_empty_lb),
        cmocka_unit_test(test_bad_backend_lb_prefix),
        cmocka_unit_test(test_backend_lb_peak_ewma),
        cmocka_unit_test(test_bad_backend_group_mixed_lb),
        cmocka_unit_test(test_bad_backend_bad_affinity),
        cmocka_unit_test(test_bad_backend_cookie_without_name),
        cmocka_unit_test(test_bad_backend_bad_cookie_name),
        cmocka_unit_test(test_bad_backend_bad_health_path),
        cmocka_unit_test(test_bad_backend_group_disagrees),
        cmocka_unit_test(test_bad_backend_bad_proto),
        cmocka_unit_test(test_bad_backend_empty_sni),
        cmocka_unit_test(test_bad_backend_port_zero),
        cmocka_unit_test(test_bad_backend_no_port),
        cmocka_unit_test(test_bad_backend_unresolvable),
        cmocka_unit_test(test_bad_backend_wildcard_inside_host),
        cmocka_unit_test(test_bad_backend_two_wildcards),
        cmocka_unit_test(test_bad_backend_bad_pattern_host),
        cmocka_unit_test(test_bad_backend_pattern_with_query),
        cmocka_unit_test(test_bad_backend_unix_policy_clash),
        cmocka_unit_test(test_bad_backend_unix_relative),
        cmocka_unit_test(test_bad_backend_unix_empty),
        cmocka_unit_test(test_bad_backend_unix_empty_with_params),
        cmocka_unit_test(test_bad_backend_unix_too_long),
        cmocka_unit_test(test_bad_backend_unix_dns),
        cmocka_unit_test(test_bad_backend_unix_tls_without_sni),
        cmocka_unit_test(test_bad_backend_unix_comma_form),
        cmocka_unit_test(test_backend_unix),
        cmocka_unit_test(test_backend_unix_longest_path),
        cmocka_unit_test(test_backend_unix_beside_tcp),
        cmocka_unit_test(test_backend_unix_tls),
        cmocka_unit_test(test_help_lists_every_option_with_default),
        cmocka_unit_test(test_help_fits_80_columns),
        cmocka_unit_test(test_help_short),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_lifecycle_options),
        cmocka_unit_test(test_probe_mode),
        cmocka_unit_test(test_conf_file),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_address_family),
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
        cmocka_unit_test(test_duplicate_frontend_address),
        cmocka_unit_test(test_bad_conf_missing_file),
        cmocka_unit_test(test_bad_conf_is_a_directory),
        cmocka_unit_test(test_reload_is_reentrant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
