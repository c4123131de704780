/* Scalar value parsers: numbers, sizes, durations, flags. */
#include "config/config.h"
#include "config/parse.h"

#include <ctype.h>
#include <stdint.h>

/* Longer timeouts than ~31 years are typos; ev_timer would take them but
 * nobody means them. */
#define DURATION_MAX 1e9

enum digits { DIGITS_OK, DIGITS_NONE, DIGITS_OVERFLOW };

/* Reads the decimal digits at s.p[*pos]; *pos is advanced past them only on
 * success. */
static enum digits read_digits(struct str s, size_t *pos, uint64_t *out)
{
    size_t i = *pos;
    uint64_t v = 0;
    if (i >= s.len || !isdigit((unsigned char)s.p[i]))
        return DIGITS_NONE;
    for (; i < s.len && isdigit((unsigned char)s.p[i]); i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return DIGITS_OVERFLOW;
        v = v * 10 + d;
    }
    *pos = i;
    *out = v;
    return DIGITS_OK;
}

const char *cfg_parse_uint(struct str s, uint64_t *out)
{
    if (s.len && s.p[0] == '-')
        return "negative number";
    size_t pos = 0;
    uint64_t v;
    enum digits d = read_digits(s, &pos, &v);
    if (d != DIGITS_OK)
        return d == DIGITS_NONE ? "not a number" : "number too large";
    if (pos != s.len)
        return "not a number";
    *out = v;
    return NULL;
}

const char *cfg_parse_size(struct str s, size_t *out)
{
    if (s.len && s.p[0] == '-')
        return "negative size";
    size_t pos = 0;
    uint64_t v;
    enum digits d = read_digits(s, &pos, &v);
    if (d != DIGITS_OK)
        return d == DIGITS_NONE ? "invalid size" : "size too large";
    unsigned shift = 0;
    if (pos < s.len) {
        switch (s.p[pos]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return "invalid size (units are K, M, G)";
        }
        pos++;
    }
    if (pos != s.len)
        return "invalid size (units are K, M, G)";
    if (v > (uint64_t)SIZE_MAX >> shift)
        return "size too large";
    *out = (size_t)(v << shift);
    return NULL;
}

const char *cfg_parse_duration(struct str s, double *out)
{
    if (s.len && s.p[0] == '-')
        return "negative duration";
    size_t pos = 0;
    uint64_t whole;
    enum digits d = read_digits(s, &pos, &whole);
    if (d != DIGITS_OK)
        return d == DIGITS_NONE ? "invalid duration" : "duration too large";
    double frac = 0., scale = 1.;
    if (pos < s.len && s.p[pos] == '.') {
        pos++;
        if (pos >= s.len || !isdigit((unsigned char)s.p[pos]))
            return "invalid duration";
        for (; pos < s.len && isdigit((unsigned char)s.p[pos]); pos++) {
            scale /= 10.;
            frac += (s.p[pos] - '0') * scale;
        }
    }
    struct str unit = str_make(s.p + pos, s.len - pos);
    double mult;
    if (unit.len == 0 || str_ieq(unit, STR_LIT("s")))
        mult = 1.;
    else if (str_ieq(unit, STR_LIT("ms")))
        mult = 1e-3;
    else if (str_ieq(unit, STR_LIT("m")))
        mult = 60.;
    else if (str_ieq(unit, STR_LIT("h")))
        mult = 3600.;
    else
        return "invalid duration (units are h, m, s, ms)";
    double v = ((double)whole + frac) * mult;
    if (v > DURATION_MAX)
        return "duration too large";
    *out = v;
    return NULL;
}

const char *cfg_parse_flag(struct str s, bool *out)
{
    static const char *const yes[] = { "yes", "true", "1", "on" };
    static const char *const no[] = { "no", "false", "0", "off" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (str_ieq(s, str_cstr(yes[i]))) {
            *out = true;
            return NULL;
        }
        if (str_ieq(s, str_cstr(no[i]))) {
            *out = false;
            return NULL;
        }
    }
    return "expected yes or no";
}
