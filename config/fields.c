/* Parsers of the options that shape forwarded header fields:
 * --add-forwarded, --forwarded-by, --forwarded-for, the "name: value" of
 * --add-request-header and the Alt-Svc alternatives of --altsvc. */
#include "config/parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

const char *cfg_parse_forwarded_params(struct str s, uint32_t *out)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } params[] = {
        { "by", CFG_FWD_BY }, { "for", CFG_FWD_FOR },
        { "host", CFG_FWD_HOST }, { "proto", CFG_FWD_PROTO },
    };
    uint32_t bits = 0;
    while (s.len) {
        const char *comma = memchr(s.p, ',', s.len);
        size_t n = comma ? (size_t)(comma - s.p) : s.len;
        struct str item = str_trim(str_make(s.p, n));
        size_t i = 0;
        while (i < sizeof(params) / sizeof(params[0]) &&
               !str_eq(item, str_cstr(params[i].name)))
            i++;
        if (i == sizeof(params) / sizeof(params[0]))
            return "expected a comma-separated list of by, for, host, proto";
        bits |= params[i].bit;
        s = comma ? str_make(comma + 1, s.len - n - 1) : str_make(s.p + n, 0);
    }
    if (!bits)
        return "expected a comma-separated list of by, for, host, proto";
    *out = bits;
    return NULL;
}

const char *cfg_parse_forwarded_by(struct str s)
{
    if (str_eq(s, STR_LIT("obfuscated")) || str_eq(s, STR_LIT("ip")))
        return NULL;
    /* RFC 7239 §6.3 obfnode: "_" 1*( ALPHA / DIGIT / "." / "_" / "-") */
    if (s.len < 2 || s.len > 64 || s.p[0] != '_')
        return "expected obfuscated, ip, or a token of \"_\" then letters, digits, \".\", "
               "\"_\" or \"-\" (at most 64 bytes)";
    for (size_t i = 1; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return "expected obfuscated, ip, or a token of \"_\" then letters, digits, \".\", "
                   "\"_\" or \"-\"";
    }
    return NULL;
}

const char *cfg_parse_forwarded_for(struct str s, bool *is_ip)
{
    if (str_eq(s, STR_LIT("obfuscated")) || str_eq(s, STR_LIT("ip"))) {
        *is_ip = str_eq(s, STR_LIT("ip"));
        return NULL;
    }
    return "expected obfuscated or ip";
}

/* Fields h2gate writes itself or that frame the message: adding one would
 * contradict it. */
static bool reserved_field(struct str n)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
        "te", "host", "content-length", "via", "x-forwarded-for", "x-forwarded-proto",
        "forwarded",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (str_eq(n, str_cstr(names[i])))
            return true;
    return false;
}

const char *cfg_parse_field(struct str s, struct cfg_field *out)
{
    const char *colon = memchr(s.p, ':', s.len);
    if (!colon)
        return "expected \"name: value\"";
    struct str name = str_make(s.p, (size_t)(colon - s.p));
    struct str value = str_trim(str_make(colon + 1, s.len - name.len - 1));
    if (name.len == 0)
        return "the field name is empty";
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.p[i];
        if (!str_is_tchar(c))
            return "the field name is not a token (letters, digits, !#$%&'*+-.^_`|~)";
        if (isupper(c))
            return "the field name must be lower case";
    }
    if (reserved_field(name))
        return "h2gate writes that field itself (or it frames the message)";
    if (!str_is_field_value(value))
        return "the value holds a control character";
    out->name = xstrndup(name.p, name.len);
    out->value = xstrndup(value.p, value.len);
    return NULL;
}

const char *cfg_parse_error_page(struct str s, struct cfg_error_page *out)
{
    const char *eq = memchr(s.p, '=', s.len);
    if (!eq || eq == s.p || (size_t)(eq - s.p) + 1 == s.len)
        return "expected CODE=PATH or *=PATH";
    struct str code = str_make(s.p, (size_t)(eq - s.p));
    uint64_t v = 0;
    if (str_eq(code, STR_LIT("*")))
        v = 0;
    else if (cfg_parse_uint(code, &v) != NULL || v < 400 || v > 599)
        return "the code must be 400 to 599, or *";
    out->code = (int)v;
    out->path = xstrndup(eq + 1, s.len - (size_t)(eq - s.p) - 1);
    return NULL;
}

void cfg_fields_add(struct cfg_fields *f, struct cfg_field field)
{
    f->v = xrealloc(f->v, (f->num + 1) * sizeof(*f->v));
    f->v[f->num++] = field;
}

void cfg_fields_cleanup(struct cfg_fields *f)
{
    for (size_t i = 0; i < f->num; i++) {
        free(f->v[i].name);
        free(f->v[i].value);
    }
    free(f->v);
    f->v = NULL;
    f->num = 0;
}

/* Bytes an Alt-Svc value may carry as they are: visible ASCII and space
 * (no control character: they would split the field). */
static bool altsvc_text(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

static void put(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

const char *cfg_parse_altsvc(struct str s, char **out)
{
    /* PROTOID, PORT, HOST, ORIGIN, PARAMS: the last takes the rest. */
    struct str t[5] = { 0 };
    size_t n = 0;
    while (n < 5) {
        const char *comma = n < 4 ? memchr(s.p, ',', s.len) : NULL;
        size_t len = comma ? (size_t)(comma - s.p) : s.len;
        t[n++] = str_make(s.p, len);
        if (!comma)
            break;
        s = str_make(comma + 1, s.len - len - 1);
    }
    if (n < 2)
        return "expected PROTOID,PORT[,HOST[,ORIGIN[,PARAMS]]]";
    if (t[0].len == 0)
        return "the protocol id is empty";
    unsigned long port = 0;
    for (size_t i = 0; i < t[1].len && port <= 65535; i++) {
        if (!isdigit((unsigned char)t[1].p[i]))
            return "the port is not a number from 1 to 65535";
        port = port * 10 + (unsigned long)(t[1].p[i] - '0');
    }
    if (port < 1 || port > 65535)
        return "the port is not a number from 1 to 65535";
    for (size_t i = 0; i < n; i++) {
        if (!altsvc_text(t[i]))
            return "control or non-ASCII bytes are not allowed";
    }
    /* RFC 7838 §3: protocol-id = token, the ALPN name percent-encoded
     * where it is not a tchar (and '%' itself); the authority quoted. */
    char *v = xmalloc(3 * t[0].len + 2 * t[2].len + t[1].len + t[4].len + 8);
    char *p = v;
    for (size_t i = 0; i < t[0].len; i++) {
        unsigned char c = (unsigned char)t[0].p[i];
        if (str_is_tchar(c) && c != '%') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = "0123456789ABCDEF"[c >> 4];
            *p++ = "0123456789ABCDEF"[c & 15];
        }
    }
    put(&p, "=\"", 2);
    for (size_t i = 0; i < t[2].len; i++) {
        if (t[2].p[i] == '"' || t[2].p[i] == '\\')
            *p++ = '\\';
        *p++ = t[2].p[i];
    }
    *p++ = ':';
    put(&p, t[1].p, t[1].len);
    *p++ = '"';
    if (t[4].len) {
        put(&p, "; ", 2);
        put(&p, t[4].p, t[4].len);
    }
    *p = '\0';
    *out = v;
    return NULL;
}
