/* Unit tests for proxy/dashboard.c: the page built in is the file, byte
 * for byte; the version goes in; the policy hashes what is between the
 * style and script tags. The Makefile gives this test DASH_HTML_PATH too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>
#include <openssl/sha.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "proxy/dashboard.h"

/* The whole file at path (NUL-terminated, *len bytes before the NUL). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = 2 * cap + 4096 + 1;
            data = xrealloc(data, cap);
        }
        size_t n = fread(data + *len, 1, 4096, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    data[*len] = '\0';
    return data;
}

static void test_page_is_the_file(void **state)
{
    (void)state;
    size_t file_len, len;
    char *file = slurp(DASH_HTML_PATH, &file_len);
    const char *page = dash_page(&len);
    assert_true(len > 1000);
    assert_int_equal(len, file_len);
    assert_memory_equal(page, file, len);
    free(file);
}

static void test_render_puts_the_version_in(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 4);
    struct bufq q;
    bufq_init(&q, &pool);
    dash_render(&q);
    size_t len;
    dash_page(&len);
    size_t out_len = bufq_len(&q);
    assert_int_equal(out_len, len - strlen(DASH_VERSION_MARK) + strlen(H2G_VERSION));
    char *out = xmalloc(out_len + 1);
    bufq_read(&q, out, out_len);
    out[out_len] = '\0';
    assert_null(strstr(out, DASH_VERSION_MARK));
    assert_non_null(strstr(out, "content=\"" H2G_VERSION "\""));
    free(out);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* 'sha256-...' of what sits between open and close in the file. */
static void file_hash(const char *open, const char *close, char *out, size_t out_len)
{
    size_t len;
    char *file = slurp(DASH_HTML_PATH, &len);
    char *start = strstr(file, open);
    assert_non_null(start);
    start += strlen(open);
    char *end = strstr(start, close);
    assert_non_null(end);
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)start, (size_t)(end - start), md);
    char b64[64];
    EVP_EncodeBlock((uint8_t *)b64, md, sizeof(md));
    snprintf(out, out_len, "'sha256-%s'", b64);
    free(file);
}

static void test_csp_hashes_style_and_script(void **state)
{
    (void)state;
    char csp[DASH_CSP_MAX], style[80], script[80], want[200];
    assert_int_equal(dash_csp(csp, sizeof(csp)), 0);
    assert_int_equal(strncmp(csp, "default-src 'self'; ", 20), 0);
    file_hash("<style>", "</style>", style, sizeof(style));
    file_hash("<script>", "</script>", script, sizeof(script));
    snprintf(want, sizeof(want), "; script-src %s; style-src %s; ", script, style);
    assert_non_null(strstr(csp, want));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe"));
    assert_int_equal(dash_csp(csp, DASH_CSP_MAX - 1), H2G_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_is_the_file),
        cmocka_unit_test(test_render_puts_the_version_in),
        cmocka_unit_test(test_csp_hashes_style_and_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
