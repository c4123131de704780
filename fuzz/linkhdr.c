/* libFuzzer target: link_next_preload and link_push_path (proxy/linkhdr.h)
 * on arbitrary bytes, an exact-size heap copy (no NUL after it).
 * Checks the header's promises, beyond "no sanitizer report":
 *   - each target found lies inside the value, and the offset only moves
 *     forward, ending at the value's length once no target is left;
 *   - a pushed path starts with '/', fits its buffer, is visible ASCII
 *     and has no "." or ".." segment before its query;
 *   - resolving it again as an absolute path gives itself. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/linkhdr.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool dot_segment(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && p[i] != '?') {
        size_t start = ++i;
        while (i < len && p[i] != '/' && p[i] != '?')
            i++;
        if ((i - start == 1 && p[start] == '.') ||
            (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
            return true;
    }
    return false;
}

static void check_path(struct str uri)
{
    char buf[64], again[64];
    size_t n = link_push_path(uri, STR_LIT("http"), STR_LIT("h"), STR_LIT("/d/p?q"), buf,
                              sizeof(buf));
    if (n == 0)
        return;
    CHECK(n <= sizeof(buf) && buf[0] == '/');
    for (size_t i = 0; i < n; i++)
        CHECK(buf[i] > 0x20 && buf[i] < 0x7f);
    CHECK(!dot_segment(buf, n));
    size_t m = link_push_path(str_make(buf, n), STR_LIT("http"), STR_LIT("h"), STR_LIT("/"),
                              again, sizeof(again));
    CHECK(m == n && memcmp(again, buf, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct str v = str_make(copy, size), uri;
    size_t pos = 0, last = 0;
    while (link_next_preload(v, &pos, &uri)) {
        CHECK(pos > last && pos <= size);
        CHECK(uri.p >= copy + last && uri.p + uri.len <= copy + pos);
        last = pos;
        check_path(uri);
    }
    CHECK(pos == size);
    check_path(v);
    free(copy);
    return 0;
}
