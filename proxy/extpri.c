#include "proxy/extpri.h"

#include <string.h>

#include "common/err.h"

/* A cursor over the field value: it advances only over what parsed. */
struct cur {
    const char *p, *end;
};

enum item_type { IT_INT, IT_BOOL, IT_OTHER };

struct item {
    enum item_type type;
    int64_t i;  /* IT_INT's value; IT_BOOL's 0 or 1 */
};

static bool more(const struct cur *c)
{
    return c->p < c->end;
}

static bool at(const struct cur *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_lcalpha(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

static bool is_alpha(char ch)
{
    return is_lcalpha(ch) || (ch >= 'A' && ch <= 'Z');
}

static void skip_sp(struct cur *c)
{
    while (at(c, ' '))
        c->p++;
}

static void skip_ows(struct cur *c)
{
    while (at(c, ' ') || at(c, '\t'))
        c->p++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static bool parse_key(struct cur *c, struct str *key)
{
    if (!more(c) || !(is_lcalpha(*c->p) || *c->p == '*'))
        return false;
    const char *start = c->p++;
    while (more(c) && (is_lcalpha(*c->p) || is_digit(*c->p) || *c->p == '_' || *c->p == '-' ||
                       *c->p == '.' || *c->p == '*'))
        c->p++;
    *key = str_make(start, (size_t)(c->p - start));
    return true;
}

/* An integer (at most 15 digits) or a decimal (12.3 digits at most). */
static bool parse_number(struct cur *c, struct item *it)
{
    bool neg = at(c, '-');
    if (neg)
        c->p++;
    int64_t v = 0;
    int digits = 0;
    while (more(c) && is_digit(*c->p)) {
        if (++digits > 15)
            return false;
        v = v * 10 + (*c->p++ - '0');
    }
    if (digits == 0)
        return false;
    if (!at(c, '.')) {
        *it = (struct item){ IT_INT, neg ? -v : v };
        return true;
    }
    c->p++;
    int frac = 0;
    while (more(c) && is_digit(*c->p)) {
        frac++;
        c->p++;
    }
    it->type = IT_OTHER;
    return frac >= 1 && frac <= 3 && digits <= 12;
}

static bool parse_string(struct cur *c)
{
    c->p++; /* the opening DQUOTE */
    while (more(c)) {
        char ch = *c->p++;
        if (ch == '"')
            return true;
        if (ch == '\\') {
            if (!at(c, '"') && !at(c, '\\'))
                return false;
            c->p++;
        } else if ((unsigned char)ch < 0x20 || (unsigned char)ch > 0x7e) {
            return false;
        }
    }
    return false;
}

static bool is_tchar_or_more(char ch)
{
    /* tchar (RFC 9110 §5.6.2), plus ":" and "/" that tokens allow */
    return is_alpha(ch) || is_digit(ch) || (ch && strchr("!#$%&'*+-.^_`|~:/", ch));
}

static bool parse_token(struct cur *c)
{
    c->p++; /* ALPHA or "*", checked by the caller */
    while (more(c) && is_tchar_or_more(*c->p))
        c->p++;
    return true;
}

static bool parse_bytes(struct cur *c)
{
    c->p++;
    while (more(c) && (is_alpha(*c->p) || is_digit(*c->p) || *c->p == '+' || *c->p == '/' ||
                       *c->p == '='))
        c->p++;
    if (!at(c, ':'))
        return false;
    c->p++;
    return true;
}

static bool parse_bare_item(struct cur *c, struct item *it)
{
    if (!more(c))
        return false;
    char ch = *c->p;
    it->type = IT_OTHER;
    if (ch == '-' || is_digit(ch))
        return parse_number(c, it);
    if (ch == '"')
        return parse_string(c);
    if (ch == '*' || is_alpha(ch))
        return parse_token(c);
    if (ch == ':')
        return parse_bytes(c);
    if (ch == '?') {
        c->p++;
        if (!at(c, '0') && !at(c, '1'))
            return false;
        *it = (struct item){ IT_BOOL, *c->p++ == '1' };
        return true;
    }
    return false;
}

/* Parameters are checked for syntax; Priority gives them no meaning. */
static bool parse_params(struct cur *c)
{
    while (at(c, ';')) {
        c->p++;
        skip_sp(c);
        struct str key;
        struct item it;
        if (!parse_key(c, &key))
            return false;
        if (at(c, '=')) {
            c->p++;
            if (!parse_bare_item(c, &it))
                return false;
        }
    }
    return true;
}

static bool parse_inner_list(struct cur *c)
{
    c->p++; /* "(" */
    for (;;) {
        skip_sp(c);
        if (at(c, ')')) {
            c->p++;
            return parse_params(c);
        }
        struct item it;
        if (!parse_bare_item(c, &it) || !parse_params(c))
            return false;
        if (!at(c, ' ') && !at(c, ')'))
            return false;
    }
}

/* One member: key, its value (a bare key is true), its parameters. */
static bool parse_member(struct cur *c, struct str *key, struct item *it)
{
    if (!parse_key(c, key))
        return false;
    *it = (struct item){ IT_BOOL, 1 };
    if (at(c, '=')) {
        c->p++;
        if (at(c, '(')) {
            it->type = IT_OTHER;
            if (!parse_inner_list(c))
                return false;
        } else if (!parse_bare_item(c, it)) {
            return false;
        }
    }
    return parse_params(c);
}

int extpri_parse(struct str v, struct extpri *p)
{
    /* An empty value may come as (NULL, 0): a PRIORITY_UPDATE frame with
     * no field value (nghttp2); NULL + 0 is undefined behaviour in C. */
    struct cur c = { v.p, v.len ? v.p + v.len : v.p };
    struct item u = { IT_OTHER, 0 }, inc = { IT_OTHER, 0 };
    skip_sp(&c);
    while (more(&c)) {
        struct str key;
        struct item it;
        if (!parse_member(&c, &key, &it))
            return H2G_ERR_PROTO;
        if (str_eq(key, STR_LIT("u")))
            u = it;
        else if (str_eq(key, STR_LIT("i")))
            inc = it;
        skip_ows(&c);
        if (!more(&c))
            break;
        if (!at(&c, ','))
            return H2G_ERR_PROTO;
        c.p++;
        skip_ows(&c);
        if (!more(&c))
            return H2G_ERR_PROTO; /* a trailing comma */
    }
    if (u.type == IT_INT && u.i >= 0 && u.i <= EXTPRI_URGENCY_MAX)
        p->urgency = (uint8_t)u.i;
    if (inc.type == IT_BOOL)
        p->incremental = inc.i != 0;
    return 0;
}
