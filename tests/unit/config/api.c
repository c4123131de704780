/* Unit tests for the backendconfig API's load (config/config.c's
 * api_backends, through cfg_load_again with cfg_reuse.backends_text):
 * the body's backend= lines replace the command line's and the file's,
 * other options are ignored, errors name the body's line. */
#include "tests/unit/config/helpers.h"

#include "config/resolve.h"

/* cfg_load_again of argv (NULL-terminated) with body as the API's text,
 * names looked up as the API does; returns the result, err filled. */
static enum cfg_load_result load_api(struct config *cfg, char **argv, const char *body,
                                     char *err, size_t err_len)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    struct cfg_reuse reuse = { .lookup = true, .backends_text = body,
                               .backends_len = strlen(body) };
    *cfg = (struct config){ 0 };
    return cfg_load_again(cfg, argc, argv, &reuse, err, err_len);
}

static void test_body_backends_replace_the_command_lines(void **state)
{
    (void)state;
    char err[1024];
    char *argv[] = { (char *)"h2gate", (char *)"-f127.0.0.1,8000;no-tls",
                     (char *)"-b127.0.0.1,8080", (char *)"-n2", NULL };
    struct config cfg;
    const char *body = "# a controller's\n\n  backend = 127.0.0.2,9000;/api/  \n"
                       "workers=5\nfrontend=127.0.0.1,1;no-tls\nbackend=127.0.0.3,9001\n";
    if (load_api(&cfg, argv, body, err, sizeof(err)) != CFG_RUN)
        fail_msg("load: %s", err);
    assert_int_equal(cfg.num_backends, 2);
    assert_string_equal(cfg.backends[0].host, "127.0.0.2");
    assert_int_equal(cfg.backends[0].port, 9000);
    assert_string_equal(cfg.backends[1].host, "127.0.0.3");
    assert_int_equal(cfg.workers, 2);             /* ignored in the body */
    assert_int_equal(cfg.num_frontends, 1);
    assert_int_equal(cfg.frontends[0].port, 8000);
    assert_int_equal(cfg.api_backends_len, strlen(body));
    assert_memory_equal(cfg.api_backends, body, strlen(body));
    cfg_cleanup(&cfg);
}

/* No backend= line: the default backend, as nghttpx. */
static void test_empty_body_is_the_default_backend(void **state)
{
    (void)state;
    char err[1024];
    char *argv[] = { (char *)"h2gate", (char *)"-f127.0.0.1,8000;no-tls",
                     (char *)"-b127.0.0.1,8080", NULL };
    struct config cfg;
    if (load_api(&cfg, argv, "workers=3\n", err, sizeof(err)) != CFG_RUN)
        fail_msg("load: %s", err);
    assert_int_equal(cfg.num_backends, 1);
    assert_string_equal(cfg.backends[0].host, "127.0.0.1");
    assert_int_equal(cfg.backends[0].port, 80);
    cfg_cleanup(&cfg);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t len;
        const char *want;
    } cases[] = {
        { "backend=127.0.0.1,8080\nnot an option\n", 0,
          "backendconfig:2: expected NAME=VALUE, got 'not an option'" },
        { "\nbackend=127.0.0.1,0\n", 0, "backendconfig:2: backend '127.0.0.1,0': invalid port" },
        { "backend=127.0.0.1,80\0\n", 23, "backendconfig: NUL byte in the body" },
    };
    char *argv[] = { (char *)"h2gate", (char *)"-f127.0.0.1,8000;no-tls", NULL };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[1024];
        struct config cfg = { 0 };
        struct cfg_reuse reuse = { .lookup = true, .backends_text = cases[i].body,
                                   .backends_len = cases[i].len ? cases[i].len
                                                                : strlen(cases[i].body) };
        assert_int_equal(cfg_load_again(&cfg, 2, argv, &reuse, err, sizeof(err)), CFG_ERROR);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, cases[i].want);
        assert_null(cfg.backends);
        assert_null(cfg.api_backends);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_backends_replace_the_command_lines),
        cmocka_unit_test(test_empty_body_is_the_default_backend),
        cmocka_unit_test(test_bad_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
