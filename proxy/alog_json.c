#include "proxy/alog_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static bool is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t alog_utf8_seq_len(const unsigned char *p, size_t len)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    /* RFC 3629 section 4: the second byte's range depends on the first. */
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlong forms */
        else if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (!is_cont(p[i]))
            return 0;
    }
    return n;
}

static const char hex[] = "0123456789abcdef";

/* The escape for the byte c, if it needs one; its length, 0 if not. */
static size_t escape_of(unsigned char c, char esc[6])
{
    const char *shorts = "\"\\\b\f\n\r\t";
    const char *letters = "\"\\bfnrt";
    const char *s = c ? strchr(shorts, c) : NULL;
    if (s) {
        esc[0] = '\\';
        esc[1] = letters[s - shorts];
        return 2;
    }
    if (c >= 0x20 && c < 0x7f)
        return 0;
    memcpy(esc, "\\u00", 4);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xf];
    return 6;
}

/* The unit at p[0..len): how many input bytes it takes (*k) and its
 * escape in esc (returns the escape's length, 0 if copied as is). */
static size_t next_unit(const unsigned char *p, size_t len, size_t *k, char esc[6])
{
    *k = p[0] >= 0x80 ? alog_utf8_seq_len(p, len) : 1;
    if (*k > 1)
        return 0;
    *k = 1; /* ASCII, or a byte that is not UTF-8: \u00XX of the byte */
    return escape_of(p[0], esc);
}

size_t alog_json_escape(char *out, size_t room, struct str s, size_t *used)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, n = 0;
    while (i < s.len) {
        char esc[6];
        size_t k;
        size_t e = next_unit(p + i, s.len - i, &k, esc);
        size_t w = e ? e : k;
        if (w > room - n)
            break;
        if (out)
            memcpy(out + n, e ? esc : (const char *)p + i, w);
        n += w;
        i += k;
    }
    if (used)
        *used = i;
    return n;
}

size_t alog_json_escaped_len(struct str s)
{
    return alog_json_escape(NULL, SIZE_MAX, s, NULL);
}
