/* String views: (pointer, length) pairs that never own their bytes. */
#ifndef H2G_COMMON_STR_H
#define H2G_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct str {
    const char *p;
    size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })

static inline struct str str_make(const char *p, size_t len)
{
    return (struct str){ p, len };
}

static inline struct str str_cstr(const char *s)
{
    return (struct str){ s, s ? strlen(s) : 0 };
}

static inline bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ASCII case-insensitive equality. */
static inline bool str_ieq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

static inline bool str_has_prefix(struct str s, struct str prefix)
{
    return s.len >= prefix.len && memcmp(s.p, prefix.p, prefix.len) == 0;
}

/* Copies n bytes from src to dst with ASCII A-Z lower-cased; every other
 * byte (non-ASCII included) is copied as it is. Eight bytes at a time. */
void str_lower_copy(char *dst, const char *src, size_t n);

/* HTTP field syntax, one table for all parsers: STR_TCHAR for RFC 9110
 * §5.6.2 tchars, STR_VCHAR for the bytes a field value may hold (§5.5:
 * HTAB, SP, VCHAR, obs-text; no other control character, no DEL). */
enum { STR_VCHAR = 1, STR_TCHAR = 2 };
extern const unsigned char str_http_class[256];

static inline bool str_is_tchar(unsigned char c)
{
    return str_http_class[c] & STR_TCHAR;
}

/* True when every byte of s is a tchar (an empty s too). */
bool str_is_token(struct str s);
/* True when every byte of s may stand in a field value. */
bool str_is_field_value(struct str s);

/* Trims spaces and horizontal tabs from both ends. */
static inline struct str str_trim(struct str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

#endif
