/* Unit tests for the TLS frontend options: --subcert, --ocsp-file, the
 * protocol versions, --ciphers, --tls13-ciphers, --client-ciphers,
 * --tls13-client-ciphers, the HTTP/2 cipher block list flags, --ecdh-curves,
 * --private-key-passwd-file, --tls-ticket-key-file/-cipher,
 * --verify-client, --verify-client-cacert, --forward-client-cert. */
#include "tests/unit/config/helpers.h"

BAD_ARGS(subcert_no_colon, "--subcert 'a.key': expected KEYPATH:CERTPATH[;ocsp=PATH]",
         "-f*,1;no-tls", "--subcert=a.key")
BAD_ARGS(subcert_no_key, "expected KEYPATH:CERTPATH", "-f*,1;no-tls", "--subcert=:a.crt")
BAD_ARGS(subcert_no_cert, "the certificate path is empty", "-f*,1;no-tls",
         "--subcert=a.key:;ocsp=x")
BAD_ARGS(subcert_param, "unknown parameter (the one known is ocsp=PATH)", "-f*,1;no-tls",
         "--subcert=a.key:a.crt;sct-dir=/d")
BAD_ARGS(min_old, "--tls-min-proto-version 'TLSv1.0': h2gate does not offer TLS 1.1 or "
         "older (expected TLSv1.2 or TLSv1.3)", "-f*,1;no-tls",
         "--tls-min-proto-version=TLSv1.0")
BAD_ARGS(max_unknown, "--tls-max-proto-version 'tls13': unknown version (expected TLSv1.2 "
         "or TLSv1.3)", "-f*,1;no-tls", "--tls-max-proto-version=tls13")
BAD_ARGS(min_above_max, "--tls-min-proto-version is above --tls-max-proto-version",
         "-f*,1;no-tls", "--tls-min-proto-version=TLSv1.3", "--tls-max-proto-version=TLSv1.2")
BAD_ARGS(tls13_ciphers, "--tls13-ciphers 'TLS_AES_128_GCM_SHA256': BoringSSL does not let "
         "TLS 1.3 cipher suites be chosen", "-f*,1;no-tls",
         "--tls13-ciphers=TLS_AES_128_GCM_SHA256")
BAD_ARGS(tls13_client_ciphers, "--tls13-client-ciphers 'TLS_AES_128_GCM_SHA256': BoringSSL does "
         "not let TLS 1.3 cipher suites be chosen", "-f*,1;no-tls",
         "--tls13-client-ciphers=TLS_AES_128_GCM_SHA256")
BAD_ARGS(ticket_cipher, "--tls-ticket-key-cipher 'aes-128-gcm': expected aes-128-cbc or "
         "aes-256-cbc", "-f*,1;no-tls", "--tls-ticket-key-cipher=aes-128-gcm")
BAD_ARGS(verify_no_ca, "--verify-client needs --verify-client-cacert=PATH", "-f*,1;no-tls",
         "--verify-client")
BAD_ARGS(forward_unverified, "--forward-client-cert forwards verified client certificates",
         "-f*,1;no-tls", "--forward-client-cert")
BAD_ARGS(empty_ticket_file, "--tls-ticket-key-file: missing value", "-f*,1;no-tls",
         "--tls-ticket-key-file=")

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls");
    assert_int_equal(cfg.subcerts.num, 0);
    assert_int_equal(cfg.tls_min_proto_version, CFG_TLS12);
    assert_int_equal(cfg.tls_max_proto_version, CFG_TLS13);
    assert_string_equal(cfg.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-"
                                     "SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-"
                                     "GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-"
                                     "CHACHA20-POLY1305");
    assert_string_equal(cfg.ecdh_curves, "X25519:P-256:P-384:P-521");
    assert_null(cfg.tls13_ciphers);
    assert_string_equal(cfg.client_ciphers, cfg.ciphers);
    assert_null(cfg.tls13_client_ciphers);
    assert_false(cfg.no_http2_cipher_block_list);
    assert_false(cfg.client_no_http2_cipher_block_list);
    assert_int_equal(cfg.tls_ticket_key_files.num, 0);
    assert_int_equal(cfg.tls_ticket_key_cipher, 16);
    assert_false(cfg.verify_client);
    assert_false(cfg.forward_client_cert);
    cfg_cleanup(&cfg);
}

static void test_values(void **state)
{
    (void)state;
    struct config cfg;
    LOAD_OK(&cfg, "-f*,1;no-tls", "--subcert=/k/a.key:/c/a.crt",
            "--subcert=b.key:b.crt;ocsp=/o/b.der", "--tls-min-proto-version=tlsv1.3",
            "--tls-max-proto-version=TLSV1.3", "--ciphers=ECDHE-RSA-AES128-GCM-SHA256",
            "--tls13-ciphers=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
            "TLS_CHACHA20_POLY1305_SHA256",
            "--ecdh-curves=P-256", "--tls-ticket-key-file=/t/1", "--tls-ticket-key-file=/t/2",
            "--tls-ticket-key-cipher=aes-256-cbc", "--verify-client",
            "--verify-client-cacert=/ca.pem", "--forward-client-cert",
            "--ocsp-file=/o/default.der", "--private-key-passwd-file=/pw",
            "--client-ciphers=ECDHE-ECDSA-AES128-SHA", "--no-http2-cipher-block-list",
            "--tls13-client-ciphers=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
            "TLS_CHACHA20_POLY1305_SHA256",
            "--client-no-http2-cipher-block-list");
    assert_int_equal(cfg.subcerts.num, 2);
    assert_string_equal(cfg.subcerts.v[0].key_file, "/k/a.key");
    assert_string_equal(cfg.subcerts.v[0].cert_file, "/c/a.crt");
    assert_null(cfg.subcerts.v[0].ocsp_file);
    assert_string_equal(cfg.subcerts.v[1].key_file, "b.key");
    assert_string_equal(cfg.subcerts.v[1].cert_file, "b.crt");
    assert_string_equal(cfg.subcerts.v[1].ocsp_file, "/o/b.der");
    assert_int_equal(cfg.tls_min_proto_version, CFG_TLS13);
    assert_int_equal(cfg.tls_max_proto_version, CFG_TLS13);
    assert_string_equal(cfg.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    assert_string_equal(cfg.ecdh_curves, "P-256");
    assert_int_equal(cfg.tls_ticket_key_files.num, 2);
    assert_string_equal(cfg.tls_ticket_key_files.v[1], "/t/2");
    assert_int_equal(cfg.tls_ticket_key_cipher, 32);
    assert_true(cfg.verify_client);
    assert_string_equal(cfg.verify_client_cacert, "/ca.pem");
    assert_true(cfg.forward_client_cert);
    assert_string_equal(cfg.ocsp_file, "/o/default.der");
    assert_string_equal(cfg.private_key_passwd_file, "/pw");
    assert_string_equal(cfg.client_ciphers, "ECDHE-ECDSA-AES128-SHA");
    assert_string_equal(cfg.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    assert_true(cfg.no_http2_cipher_block_list);
    assert_true(cfg.client_no_http2_cipher_block_list);
    cfg_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bad_subcert_no_colon),
        cmocka_unit_test(test_bad_subcert_no_key),
        cmocka_unit_test(test_bad_subcert_no_cert),
        cmocka_unit_test(test_bad_subcert_param),
        cmocka_unit_test(test_bad_min_old),
        cmocka_unit_test(test_bad_max_unknown),
        cmocka_unit_test(test_bad_min_above_max),
        cmocka_unit_test(test_bad_tls13_ciphers),
        cmocka_unit_test(test_bad_tls13_client_ciphers),
        cmocka_unit_test(test_bad_ticket_cipher),
        cmocka_unit_test(test_bad_verify_no_ca),
        cmocka_unit_test(test_bad_forward_unverified),
        cmocka_unit_test(test_bad_empty_ticket_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
