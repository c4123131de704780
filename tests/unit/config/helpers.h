/* Shared by the config unit tests: run cfg_load on an argument list, expect
 * an error (BAD_ARGS: one test per bad command line), write a temporary
 * config file. Included by each test program (static inline, so each
 * program compiles its own copy). */
#ifndef H2G_TESTS_UNIT_CONFIG_HELPERS_H
#define H2G_TESTS_UNIT_CONFIG_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

#define MAX_TEST_ARGS 64

/* cfg_load on "h2gate" followed by the NULL-terminated args; cfg is zeroed
 * first. */
static inline enum cfg_load_result load_args(struct config *cfg, char *err, size_t err_len,
                                             const char *const *args)
{
    char *argv[MAX_TEST_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"h2gate";
    for (; *args; args++) {
        assert_true(argc <= MAX_TEST_ARGS);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    *cfg = (struct config){ 0 };
    return cfg_load(cfg, argc, argv, err, err_len);
}

#define LOAD(cfg, err, ...) \
    load_args((cfg), (err), sizeof(err), (const char *const[]){ __VA_ARGS__, NULL })

/* Loads args (at least one) and expects CFG_RUN. */
#define LOAD_OK(cfg, ...)                                                       \
    do {                                                                        \
        char err_[1024];                                                        \
        enum cfg_load_result r_ = LOAD((cfg), err_, __VA_ARGS__);                \
        if (r_ != CFG_RUN)                                                      \
            fail_msg("cfg_load returned %d: %s", (int)r_, err_);                \
    } while (0)

/* Loads args and expects CFG_ERROR with substr in the message and cfg
 * cleaned up. */
#define assert_load_error(substr, ...)                                          \
    do {                                                                        \
        struct config c_;                                                       \
        char e_[1024];                                                          \
        assert_int_equal(LOAD(&c_, e_, __VA_ARGS__), CFG_ERROR);                \
        if (!strstr(e_, (substr)))                                              \
            fail_msg("error \"%s\" does not contain \"%s\"", e_, (substr));     \
        assert_null(c_.frontends);                                              \
        assert_null(c_.backends);                                               \
        assert_null(c_.routes);                                                 \
        assert_null(c_.conf_file);                                              \
    } while (0)

/* Defines the test test_bad_NAME: the args (at least one) fail to load
 * with substr in the message. */
#define BAD_ARGS(name, substr, ...)                                              \
    static void test_bad_##name(void **state)                                    \
    {                                                                            \
        (void)state;                                                             \
        assert_load_error(substr, __VA_ARGS__);                                  \
    }

/* Writes text to a new temporary file; its path goes to path (>= 32 bytes).
 * The caller unlinks it. */
static inline void write_temp_file(char *path, const char *text)
{
    strcpy(path, "/tmp/h2gate-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

#endif
