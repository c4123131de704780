/* Unit tests for common/str.c: str_lower_copy against the byte-at-a-time
 * rule, for every byte value in every position of a word and the tail,
 * and at every length and misalignment; the HTTP field syntax classes for
 * every byte value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "common/str.h"

static char lower_one(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Each of the 256 byte values, at each of 19 positions (two words and a
 * tail of three), between bytes that sit next to the letters' bounds. */
static void test_every_byte_everywhere(void **state)
{
    (void)state;
    static const char fill[] = "@AZ[`az{\x7f\x80\xc1\xda\xff";
    char src[19], dst[19], want[19];
    for (int v = 0; v < 256; v++) {
        for (size_t pos = 0; pos < sizeof(src); pos++) {
            for (size_t k = 0; k < sizeof(src); k++)
                src[k] = fill[(k + (size_t)v) % (sizeof(fill) - 1)];
            src[pos] = (char)v;
            for (size_t k = 0; k < sizeof(src); k++)
                want[k] = lower_one(src[k]);
            str_lower_copy(dst, src, sizeof(src));
            assert_memory_equal(dst, want, sizeof(src));
        }
    }
}

/* Every length from 0 to 40 at every alignment of source and
 * destination: no byte past n is written. */
static void test_lengths_and_alignments(void **state)
{
    (void)state;
    static const char text[] = "Content-Type: X-Forwarded-For ACCEPT-encoding ZZ";
    char buf[64];
    for (size_t n = 0; n <= 40; n++) {
        for (size_t so = 0; so < 8; so++) {
            for (size_t d = 0; d < 8; d++) {
                memset(buf, '#', sizeof(buf));
                str_lower_copy(buf + d, text + so, n);
                for (size_t k = 0; k < n; k++)
                    assert_int_equal(buf[d + k], lower_one(text[so + k]));
                for (size_t k = 0; k < d; k++)
                    assert_int_equal(buf[k], '#');
                assert_int_equal(buf[d + n], '#');
            }
        }
    }
}

/* str_is_token: exactly RFC 9110's tchars, for every byte value. */
static void test_token(void **state)
{
    (void)state;
    const char *tchars = "!#$%&'*+-.^_`|~0123456789"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int c = 0; c < 256; c++) {
        char b = (char)c;
        bool want = c != 0 && strchr(tchars, c) != NULL;
        if (str_is_token(str_make(&b, 1)) != want || str_is_tchar((unsigned char)c) != want)
            fail_msg("byte 0x%02x", c);
    }
    assert_true(str_is_token(STR_LIT("Content-Type")));
    assert_false(str_is_token(STR_LIT("X Y")));
    assert_true(str_is_token(STR_NULL));
}

/* str_is_field_value: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5); no
 * other control character, no DEL. */
static void test_field_value(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char b = (char)c;
        bool want = c == '\t' || (c >= 0x20 && c != 0x7f);
        if (str_is_field_value(str_make(&b, 1)) != want)
            fail_msg("byte 0x%02x", c);
    }
    assert_true(str_is_field_value(STR_LIT("text/html; q=0.9 \t caf\xc3\xa9")));
    assert_false(str_is_field_value(str_make("a\0b", 3)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_everywhere),
        cmocka_unit_test(test_lengths_and_alignments),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_field_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
