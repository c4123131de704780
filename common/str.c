#include "common/str.h"

#include <stdint.h>

#define BYTES(b) ((uint64_t)(b) * 0x0101010101010101ull)

void str_lower_copy(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, src + i, 8);
        /* Per byte, without carries between bytes (each sum stays under
         * 0x100): the high bit of ge_a is set when the low seven bits
         * are 'A' or above, that of gt_z when they are above 'Z'; a byte
         * whose own high bit is set is no letter. */
        uint64_t low7 = x & ~BYTES(0x80);
        uint64_t ge_a = low7 + BYTES(0x80 - 'A');
        uint64_t gt_z = low7 + BYTES(0x80 - 'Z' - 1);
        uint64_t upper = ge_a & ~gt_z & ~x & BYTES(0x80);
        x |= upper >> 2; /* 0x80 >> 2 is 0x20, the case bit */
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
}
