/* Unit tests for the -b (--backend) spec of config/config.c and
 * config/spec.c: HOST,PORT and unix:/PATH backends, their pattern and
 * parameters (proto=, tls, sni=, weight=, fall=, rise=, health=, lb=,
 * affinity=, dns), the groups that share a pattern, the errors of a bad
 * spec; and the options of the connections to backends: --backend-http2-*,
 * --cacert, --insecure, --client-private-key-file, --client-cert-file. */
#include "tests/unit/config/helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/un.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_h2_tls_defaults),
        cmocka_unit_test(test_backend_h2_tls_options),
        cmocka_unit_test(test_bad_backend_h2_tls_options),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
