#include "proxy/linkhdr.h"

#include <stdbool.h>
#include <string.h>

/* A cursor over a field value: advances only past what it accepted. */
struct cur {
    const char *p;
    size_t len, i;
};

static void skip_ows(struct cur *c)
{
    while (c->i < c->len && (c->p[c->i] == ' ' || c->p[c->i] == '\t'))
        c->i++;
}

static bool at(const struct cur *c, char ch)
{
    return c->i < c->len && c->p[c->i] == ch;
}

static struct str token(struct cur *c)
{
    size_t start = c->i;
    while (c->i < c->len && str_is_tchar((unsigned char)c->p[c->i]))
        c->i++;
    return str_make(c->p + start, c->i - start);
}

/* A quoted-string's content, escapes left in; false when unterminated. */
static bool quoted(struct cur *c, struct str *out)
{
    size_t start = ++c->i;
    while (c->i < c->len && c->p[c->i] != '"')
        c->i += c->p[c->i] == '\\' ? 2 : 1;
    if (c->i >= c->len)
        return false;
    *out = str_make(c->p + start, c->i - start);
    c->i++;
    return true;
}

/* True when the space-separated list names contains want (any case). */
static bool list_names(struct str names, struct str want)
{
    size_t i = 0;
    while (i < names.len) {
        while (i < names.len && names.p[i] == ' ')
            i++;
        size_t start = i;
        while (i < names.len && names.p[i] != ' ')
            i++;
        if (str_ieq(str_make(names.p + start, i - start), want))
            return true;
    }
    return false;
}

struct link_params {
    bool preload, nopush, anchor;
};

/* The parameters after a link's target, up to the next ',' or the end.
 * Returns false when they are malformed. */
static bool params(struct cur *c, struct link_params *lp)
{
    for (;;) {
        skip_ows(c);
        if (c->i >= c->len || at(c, ','))
            return true;
        if (!at(c, ';'))
            return false;
        c->i++;
        skip_ows(c);
        struct str name = token(c), value = STR_NULL;
        if (name.len == 0)
            return false;
        skip_ows(c);
        if (at(c, '=')) {
            c->i++;
            skip_ows(c);
            if (at(c, '"')) {
                if (!quoted(c, &value))
                    return false;
            } else {
                value = token(c);
            }
        }
        if (str_ieq(name, STR_LIT("rel")))
            lp->preload |= list_names(value, STR_LIT("preload"));
        else if (str_ieq(name, STR_LIT("nopush")))
            lp->nopush = true;
        else if (str_ieq(name, STR_LIT("anchor")))
            lp->anchor = true;
    }
}

bool link_next_preload(struct str v, size_t *pos, struct str *uri)
{
    struct cur c = { v.p, v.len, *pos };
    for (;;) {
        while (c.i < c.len && (c.p[c.i] == ' ' || c.p[c.i] == '\t' || c.p[c.i] == ','))
            c.i++;
        if (c.i >= c.len || !at(&c, '<'))
            break;
        const char *end = memchr(c.p + c.i, '>', c.len - c.i);
        if (!end)
            break;
        struct str target = str_make(c.p + c.i + 1, (size_t)(end - c.p) - c.i - 1);
        c.i = (size_t)(end - c.p) + 1;
        struct link_params lp = { false, false, false };
        if (!params(&c, &lp))
            break;
        if (lp.preload && !lp.nopush && !lp.anchor) {
            *uri = target;
            *pos = c.i;
            return true;
        }
    }
    *pos = v.len;
    return false;
}

/* ---- the pushed :path ---- */

/* Visible ASCII only (a URI is; a raw UTF-8 byte is a backend's slip
 * that clients may refuse in a :path), not starting with "//", and no
 * "." or ".." segment (h2gate does not normalise what a backend names). */
static bool path_ok(const char *p, size_t len)
{
    if (len >= 2 && p[1] == '/')
        return false; /* "//x" reads as an authority to many a backend */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch >= 0x7f)
            return false;
    }
    size_t i = 0;
    while (i < len && p[i] != '?') {
        size_t start = ++i; /* p[i - 1] is '/' */
        while (i < len && p[i] != '/' && p[i] != '?')
            i++;
        size_t seg = i - start;
        if ((seg == 1 && p[start] == '.') || (seg == 2 && p[start] == '.' && p[start + 1] == '.'))
            return false;
    }
    return true;
}

/* "//authority/path...": the rest when authority is the request's. */
static bool same_authority(struct str *uri, struct str authority)
{
    size_t i = 2;
    while (i < uri->len && uri->p[i] != '/' && uri->p[i] != '?')
        i++;
    if (!str_ieq(str_make(uri->p + 2, i - 2), authority))
        return false;
    *uri = str_make(uri->p + i, uri->len - i);
    return true;
}

/* The scheme of an absolute URI ("http:..."), or an empty view. */
static struct str scheme_of(struct str uri)
{
    for (size_t i = 0; i < uri.len; i++) {
        char ch = uri.p[i];
        if (ch == ':')
            return i ? str_make(uri.p, i) : STR_NULL;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'));
        if (!ok)
            return STR_NULL;
    }
    return STR_NULL;
}

static size_t put(char *buf, size_t cap, size_t at_, struct str s)
{
    if (at_ + s.len > cap)
        return cap + 1;
    memcpy(buf + at_, s.p, s.len);
    return at_ + s.len;
}

size_t link_push_path(struct str uri, struct str scheme, struct str authority, struct str base,
                      char *buf, size_t cap)
{
    const char *hash = memchr(uri.p, '#', uri.len);
    if (hash)
        uri.len = (size_t)(hash - uri.p);
    if (uri.len == 0 || authority.len == 0)
        return 0;
    struct str s = scheme_of(uri);
    if (s.len) {
        if (!str_ieq(s, scheme) || uri.len < s.len + 3 || memcmp(uri.p + s.len, "://", 3) != 0)
            return 0;
        uri = str_make(uri.p + s.len + 1, uri.len - s.len - 1);
    }
    bool net = uri.len >= 2 && uri.p[0] == '/' && uri.p[1] == '/';
    if (net && !same_authority(&uri, authority))
        return 0;
    if (s.len && !net)
        return 0; /* "http:path" */
    size_t n = 0;
    if (net && (uri.len == 0 || uri.p[0] == '?'))
        n = put(buf, cap, n, STR_LIT("/"));
    else if (!net && uri.p[0] != '/') {
        /* Relative: against base's directory, or base for "?query". */
        const char *q = memchr(base.p, '?', base.len);
        size_t blen = q ? (size_t)(q - base.p) : base.len;
        if (uri.p[0] != '?') {
            while (blen > 0 && base.p[blen - 1] != '/')
                blen--;
        }
        if (blen == 0 || base.p[0] != '/')
            return 0;
        n = put(buf, cap, n, str_make(base.p, blen));
    }
    n = put(buf, cap, n, uri);
    if (n > cap || n == 0 || !path_ok(buf, n))
        return 0;
    return n;
}
