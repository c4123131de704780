/* Unit tests for proxy/auth.c: htpasswd loading, Basic credentials
 * against real bcrypt and SHA-512-crypt hashes, the per-worker cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/base64.h>

#include "proxy/auth.h"

/* Made with `htpasswd -B -b -n alice 'wonder land'`,
 * `htpasswd -B -C 4 -b -n carol 'p@ss:word'`, `openssl passwd -6 -salt abc
 * secret` and `openssl passwd -6 -salt 'rounds=5000$xyz' hunter2`; eve is
 * alice's hash with the $2b$ tag. */
#define ALICE "alice:$2y$05$hkviW8Db5Io5puU2Pb4WBOCs9h6xc062vXfo9O3oUj64VB7MC/ya."
#define CAROL "carol:$2y$04$aaVngth99herCdoVcArO3e1IQOijfnDHxIfpGKdsvuBBSdYFL69Fi"
#define BOB                                                                           \
    "bob:$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRL" \
    "r/TsVArtr91iR1"
#define DAVE                                                                          \
    "dave:$6$rounds=5000$xyz$VEcTWOE0Sikj7ufGajWDuXTX8TJzUCvEZNOGgj5XNRDB.AFXyqnMqd/sNf" \
    "JH5QIzwc2JgdfXrEg23hmReBQLP/"
#define EVE "eve:$2b$05$hkviW8Db5Io5puU2Pb4WBOCs9h6xc062vXfo9O3oUj64VB7MC/ya."

static char tmp_path[64];

static void write_file(const char *text)
{
    strcpy(tmp_path, "/tmp/h2gate-auth-XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static struct auth_db *load_ok(const char *text)
{
    char err[256] = "";
    write_file(text);
    struct auth_db *db = auth_db_load(tmp_path, err, sizeof(err));
    unlink(tmp_path);
    if (!db)
        fail_msg("load failed: %s", err);
    return db;
}

/* Expects a load error mentioning "PATH:LINE" (line > 0) or "PATH:", and substr. */
static void load_bad(const char *text, unsigned line, const char *substr)
{
    char err[256] = "";
    write_file(text);
    struct auth_db *db = auth_db_load(tmp_path, err, sizeof(err));
    unlink(tmp_path);
    assert_null(db);
    char where[128];
    if (line)
        snprintf(where, sizeof(where), "%s:%u: ", tmp_path, line);
    else
        snprintf(where, sizeof(where), "%s: ", tmp_path);
    if (strncmp(err, where, strlen(where)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, where);
    if (!strstr(err, substr))
        fail_msg("error \"%s\" lacks \"%s\"", err, substr);
}

static struct auth_db *full_db(void)
{
    return load_ok("# users\n" ALICE "\n\n" BOB "\r\n" CAROL "\n" DAVE "\n" EVE);
}

/* "Basic base64(user:pass)" in a static buffer. */
static struct str basic(const char *scheme, const char *creds)
{
    static char out[2048];
    size_t n = (size_t)snprintf(out, sizeof(out), "%s ", scheme);
    n += EVP_EncodeBlock((uint8_t *)out + n, (const uint8_t *)creds, strlen(creds));
    return str_make(out, n);
}

static enum auth_result check(const struct auth_db *db, struct auth_cache *c, const char *creds)
{
    return auth_check(db, c, basic("Basic", creds));
}

static void test_load_good(void **state)
{
    (void)state;
    struct auth_db *db = full_db();
    assert_int_equal(auth_db_num_users(db), 5);
    auth_db_free(db);
    auth_db_free(NULL);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(auth_db_load("/nonexistent/h2gate/htpasswd", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/h2gate/htpasswd: "));
    assert_non_null(strstr(err, "No such file"));
}

static void test_load_errors(void **state)
{
    (void)state;
    load_bad("", 0, "no users");
    load_bad("# only a comment\n\n", 0, "no users");
    load_bad(ALICE "\nfrank:$apr1$abcdefgh$0123456789012345678901\n", 2, "unsupported hash");
    load_bad(ALICE "\nfrank:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 2, "unsupported hash");
    load_bad("frank:plaintext\n", 1, "unsupported hash");
    load_bad("frank\n", 1, "USER:HASH");
    load_bad(":$2y$05$hkviW8Db5Io5puU2Pb4WBOCs9h6xc062vXfo9O3oUj64VB7MC/ya.\n", 1, "empty user");
    load_bad("frank:$2y$05$tooshort\n", 1, "malformed bcrypt");
    load_bad("frank:$2y$03$hkviW8Db5Io5puU2Pb4WBOCs9h6xc062vXfo9O3oUj64VB7MC/ya.\n", 1,
             "malformed bcrypt");
    load_bad("frank:$2y$05$hkviW8Db5Io5puU2Pb4WBOCs9h6xc062vXfo9O3oUj64VB7MC/ya!\n", 1,
             "malformed bcrypt");
    load_bad("frank:$6$abc$short\n", 1, "malformed SHA-512");
    load_bad("frank:$6$rounds=$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8"
             "RadRt2qvUHYRLr/TsVArtr91iR1\n",
             1, "malformed SHA-512");
    load_bad(BOB "\n" ALICE "\n" BOB "\n", 3, "duplicate user \"bob\" (first on line 1)");
}

static void test_good_credentials(void **state)
{
    (void)state;
    struct auth_db *db = full_db();
    struct auth_cache *c = auth_cache_new(16);
    assert_int_equal(check(db, c, "alice:wonder land"), AUTH_OK);
    assert_int_equal(check(db, c, "bob:secret"), AUTH_OK);
    assert_int_equal(check(db, c, "carol:p@ss:word"), AUTH_OK);
    assert_int_equal(check(db, c, "dave:hunter2"), AUTH_OK);
    assert_int_equal(check(db, c, "eve:wonder land"), AUTH_OK);
    /* Without a cache as well. */
    assert_int_equal(check(db, NULL, "bob:secret"), AUTH_OK);
    assert_int_equal(check(db, NULL, "bob:Secret"), AUTH_BAD);
    auth_cache_free(c);
    auth_db_free(db);
}

static void test_bad_credentials(void **state)
{
    (void)state;
    struct auth_db *db = full_db();
    struct auth_cache *c = auth_cache_new(16);
    assert_int_equal(check(db, c, "alice:wonder lan"), AUTH_BAD);
    assert_int_equal(check(db, c, "alice:"), AUTH_BAD);
    assert_int_equal(check(db, c, "bob:secret "), AUTH_BAD);
    assert_int_equal(check(db, c, "carol:p@ss"), AUTH_BAD);
    assert_int_equal(check(db, c, "dave:hunter3"), AUTH_BAD);
    assert_int_equal(check(db, c, "Alice:wonder land"), AUTH_BAD);
    assert_int_equal(check(db, c, "mallory:secret"), AUTH_BAD);
    assert_int_equal(check(db, c, ":secret"), AUTH_BAD);
    /* Unknown users never cost a crypt_r. */
    uint64_t before = auth_cache_num_crypts(c);
    assert_int_equal(check(db, c, "nobody:x"), AUTH_BAD);
    assert_int_equal(auth_cache_num_crypts(c), before);
    assert_int_equal(auth_cache_num_entries(c), 0);
    auth_cache_free(c);
    auth_db_free(db);
}

static void test_missing_and_malformed(void **state)
{
    (void)state;
    struct auth_db *db = full_db();
    struct auth_cache *c = auth_cache_new(16);
    assert_int_equal(auth_check(db, c, STR_NULL), AUTH_MISSING);
    assert_int_equal(auth_check(db, c, STR_LIT("")), AUTH_MISSING);
    assert_int_equal(auth_check(db, c, STR_LIT("   ")), AUTH_MISSING);
    assert_int_equal(auth_check(db, c, STR_LIT("Bearer abc")), AUTH_MISSING);
    assert_int_equal(auth_check(db, c, STR_LIT("Digest username=\"bob\"")), AUTH_MISSING);
    assert_int_equal(auth_check(db, c, STR_LIT("Basicx Ym9iOnNlY3JldA==")), AUTH_MISSING);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic   ")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic !!!!")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNlY3Jld")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNlY3JldA=x")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNlY3JldA")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNl Y3JldA==")), AUTH_BAD);
    assert_int_equal(auth_check(db, c, basic("Basic", "bobsecret")), AUTH_BAD);
    /* "bob:secret\0x": a NUL would cut the password short in crypt_r. */
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNlY3JldAB4")), AUTH_BAD);
    char big[1100 + 7];
    memcpy(big, "Basic ", 6);
    memset(big + 6, 'A', 1100);
    assert_int_equal(auth_check(db, c, str_make(big, sizeof(big) - 1)), AUTH_BAD);
    /* The scheme is case-insensitive; spaces around the token are fine. */
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNlY3JldA==")), AUTH_OK);
    assert_int_equal(auth_check(db, c, STR_LIT("basic Ym9iOnNlY3JldA==")), AUTH_OK);
    assert_int_equal(auth_check(db, c, STR_LIT("BASIC   Ym9iOnNlY3JldA== ")), AUTH_OK);
    assert_int_equal(auth_check(db, c, STR_LIT(" Basic\tYm9iOnNlY3JldA==")), AUTH_OK);
    assert_int_equal(auth_check(db, c, STR_LIT("Basic Ym9iOnNlY3JldA")), AUTH_BAD);
    assert_int_equal(auth_check(NULL, c, STR_LIT("Basic Ym9iOnNlY3JldA==")), AUTH_BAD);
    auth_cache_free(c);
    auth_db_free(db);
}

static void test_cache_skips_crypt(void **state)
{
    (void)state;
    struct auth_db *db = full_db();
    struct auth_cache *c = auth_cache_new(16);
    assert_int_equal(auth_cache_num_crypts(c), 0);
    assert_int_equal(check(db, c, "alice:wonder land"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 1);
    assert_int_equal(auth_cache_num_entries(c), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(check(db, c, "alice:wonder land"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 1);
    /* A wrong password for a cached user is still refused... */
    assert_int_equal(check(db, c, "alice:wonder"), AUTH_BAD);
    assert_int_equal(auth_cache_num_crypts(c), 2);
    /* ...and does not spoil the cached right one. */
    assert_int_equal(check(db, c, "alice:wonder land"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 2);
    /* Failures are not cached: each costs a crypt_r. */
    assert_int_equal(check(db, c, "bob:nope"), AUTH_BAD);
    assert_int_equal(check(db, c, "bob:nope"), AUTH_BAD);
    assert_int_equal(auth_cache_num_crypts(c), 4);
    assert_int_equal(auth_cache_num_entries(c), 1);
    auth_cache_free(c);
    auth_cache_free(NULL);
    auth_db_free(db);
}

static void test_cache_evicts_oldest(void **state)
{
    (void)state;
    struct auth_db *db = full_db();
    struct auth_cache *c = auth_cache_new(2);
    assert_int_equal(check(db, c, "bob:secret"), AUTH_OK);
    assert_int_equal(check(db, c, "dave:hunter2"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 2);
    assert_int_equal(auth_cache_num_entries(c), 2);
    assert_int_equal(check(db, c, "carol:p@ss:word"), AUTH_OK); /* evicts bob */
    assert_int_equal(auth_cache_num_crypts(c), 3);
    assert_int_equal(auth_cache_num_entries(c), 2);
    assert_int_equal(check(db, c, "dave:hunter2"), AUTH_OK);
    assert_int_equal(check(db, c, "carol:p@ss:word"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 3);
    assert_int_equal(check(db, c, "bob:secret"), AUTH_OK); /* evicts dave */
    assert_int_equal(auth_cache_num_crypts(c), 4);
    assert_int_equal(check(db, c, "carol:p@ss:word"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 4);
    assert_int_equal(check(db, c, "dave:hunter2"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 5);
    auth_cache_free(c);

    /* A one-entry cache (0 is taken as 1). */
    c = auth_cache_new(0);
    assert_int_equal(check(db, c, "bob:secret"), AUTH_OK);
    assert_int_equal(check(db, c, "bob:secret"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 1);
    assert_int_equal(check(db, c, "dave:hunter2"), AUTH_OK);
    assert_int_equal(check(db, c, "bob:secret"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 3);
    assert_int_equal(auth_cache_num_entries(c), 1);
    auth_cache_free(c);
    auth_db_free(db);
}

static void test_cache_follows_db(void **state)
{
    (void)state;
    struct auth_db *a = load_ok(BOB "\n");
    struct auth_db *b = load_ok(DAVE "\n" BOB "\n");
    struct auth_cache *c = auth_cache_new(4);
    assert_int_equal(check(a, c, "bob:secret"), AUTH_OK);
    /* bob has another index in b: the cache starts over, no false hit. */
    assert_int_equal(check(b, c, "bob:secret"), AUTH_OK);
    assert_int_equal(check(b, c, "dave:hunter2"), AUTH_OK);
    assert_int_equal(auth_cache_num_crypts(c), 3);
    assert_int_equal(auth_cache_num_entries(c), 2);
    auth_cache_free(c);
    auth_db_free(a);
    auth_db_free(b);
}

static void test_challenge(void **state)
{
    (void)state;
    assert_string_equal(auth_challenge(), "Basic realm=\"h2gate\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_good_credentials),
        cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_missing_and_malformed),
        cmocka_unit_test(test_cache_skips_crypt),
        cmocka_unit_test(test_cache_evicts_oldest),
        cmocka_unit_test(test_cache_follows_db),
        cmocka_unit_test(test_challenge),
    };
    return cmocka_run_group_tests_name("proxy/auth", tests, NULL, NULL);
}
