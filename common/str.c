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

enum { V = STR_VCHAR, T = STR_VCHAR | STR_TCHAR };

const unsigned char str_http_class[256] = {
    ['\t'] = V, [' '] = V, ['!'] = T, ['"'] = V, ['#' ... '\''] = T, ['('] = V, [')'] = V,
    ['*'] = T, ['+'] = T, [','] = V, ['-'] = T, ['.'] = T, ['/'] = V, ['0' ... '9'] = T,
    [':' ... '@'] = V, ['A' ... 'Z'] = T, ['['] = V, ['\\'] = V, [']'] = V, ['^' ... 'z'] = T,
    ['{'] = V, ['|'] = T, ['}'] = V, ['~'] = T, [0x80 ... 0xff] = V,
};

static bool all_of(struct str s, unsigned char bit)
{
    for (size_t i = 0; i < s.len; i++) {
        if (!(str_http_class[(unsigned char)s.p[i]] & bit))
            return false;
    }
    return true;
}

bool str_is_token(struct str s)
{
    return all_of(s, STR_TCHAR);
}

bool str_is_field_value(struct str s)
{
    return all_of(s, STR_VCHAR);
}
