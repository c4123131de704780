/* libFuzzer target: extpri_parse (proxy/extpri.h) on arbitrary bytes, an
 * exact-size heap copy (no NUL after it).
 * Checks the header's promises, beyond "no sanitizer report":
 *   - on success the urgency is 0..7; on failure *p is untouched;
 *   - what the value does not say stays: from two different starting
 *     points, a success gives the same urgency when either result moved
 *     off its start, likewise the incremental flag, or keeps each start;
 *   - reading the same value again over the result changes nothing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proxy/extpri.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct str v = str_make(copy, size);
    struct extpri a = { 0, false }, b = { 7, true };
    int ra = extpri_parse(v, &a);
    int rb = extpri_parse(v, &b);
    CHECK(ra == rb);
    if (ra != 0) {
        CHECK(ra == H2G_ERR_PROTO);
        CHECK(a.urgency == 0 && !a.incremental && b.urgency == 7 && b.incremental);
    } else {
        CHECK(a.urgency <= EXTPRI_URGENCY_MAX && b.urgency <= EXTPRI_URGENCY_MAX);
        /* Either both took the value's u, or both kept their own. */
        CHECK((a.urgency == b.urgency) || (a.urgency == 0 && b.urgency == 7));
        CHECK((a.incremental == b.incremental) || (!a.incremental && b.incremental));
        struct extpri again = a;
        CHECK(extpri_parse(v, &again) == 0);
        CHECK(again.urgency == a.urgency && again.incremental == a.incremental);
    }
    free(copy);
    return 0;
}
