/* The address specs of -f and -b, read the way nghttpx reads them. */
#include "config/config.h"
#include "config/parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/xalloc.h"

/* Splits the next sep-separated field off *rest; false once none is left.
 * "a;" yields "a" and then "", so a trailing separator is seen. */
static bool next_field(struct str *rest, char sep, struct str *field)
{
    if (!rest->p)
        return false;
    const char *e = memchr(rest->p, sep, rest->len);
    if (!e) {
        *field = *rest;
        *rest = STR_NULL;
        return true;
    }
    *field = str_make(rest->p, (size_t)(e - rest->p));
    rest->len -= field->len + 1;
    rest->p = e + 1;
    return true;
}

/* "<what> '<s>'<tail>" in buf. */
static const char *fmt(char *buf, size_t buf_len, const char *what, struct str s,
                       const char *tail)
{
    snprintf(buf, buf_len, "%s '%.*s'%s", what, (int)s.len, s.p, tail);
    return buf;
}

/* "unix:PATH", nghttpx's UNIX domain socket address of -f and -b: PATH
 * absolute and short enough for sun_path with its NUL. Fills *sun and
 * *sun_len (the length of PATH's address with its NUL) on success. */
static const char *parse_unix_path(struct str addr, struct sockaddr_un *sun, socklen_t *sun_len,
                                   char *buf, size_t buf_len)
{
    *sun = (struct sockaddr_un){ .sun_family = AF_UNIX };
    struct str path = str_make(addr.p + 5, addr.len - 5);
    if (path.len == 0)
        return "unix: needs a socket path (unix:/PATH)";
    if (path.p[0] != '/')
        return fmt(buf, buf_len, "UNIX domain socket path", path, " is not absolute");
    if (path.len >= sizeof(sun->sun_path)) {
        snprintf(buf, buf_len,
                 "UNIX domain socket path '%.*s...' is too long: %zu bytes, at most %zu", 32,
                 path.p, path.len, sizeof(sun->sun_path) - 1);
        return buf;
    }
    memcpy(sun->sun_path, path.p, path.len);
    *sun_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path.len + 1);
    return NULL;
}

/* "HOST,PORT" (HOST may be a bracketed IPv6 literal). *host is a heap copy
 * on success only. "unix:PATH" is read by parse_unix_path before this. */
static const char *parse_host_port(struct str addr, char **host, uint16_t *port, char *buf,
                                   size_t buf_len)
{
    const char *comma = addr.len ? memrchr(addr.p, ',', addr.len) : NULL;
    if (!comma)
        return "expected HOST,PORT";
    struct str h = str_make(addr.p, (size_t)(comma - addr.p));
    struct str p = str_make(comma + 1, addr.len - h.len - 1);
    if (h.len >= 2 && h.p[0] == '[' && h.p[h.len - 1] == ']')
        h = str_make(h.p + 1, h.len - 2);
    if (h.len == 0)
        return "empty host";
    for (size_t i = 0; i < h.len; i++) {
        unsigned char c = (unsigned char)h.p[i];
        if (c <= ' ' || c == 0x7f || c == ',' || c == '/')
            return fmt(buf, buf_len, "invalid host", h, "");
    }
    uint64_t v;
    if (p.len == 0)
        return "missing port";
    if (cfg_parse_uint(p, &v) != NULL || v == 0 || v > 65535)
        return fmt(buf, buf_len, "invalid port", p, " (expected 1-65535)");
    *host = xstrndup(h.p, h.len);
    *port = (uint16_t)v;
    return NULL;
}

const char *cfg_parse_frontend(const char *spec, struct cfg_frontend *out, char *buf,
                               size_t buf_len)
{
    struct str rest = str_cstr(spec), f;
    next_field(&rest, ';', &f);
    char *host = NULL;
    uint16_t port = 0;
    struct sockaddr_un sun;
    socklen_t sun_len;
    const char *msg = str_has_prefix(f, STR_LIT("unix:"))
                          ? parse_unix_path(f, &sun, &sun_len, buf, buf_len)
                          : parse_host_port(f, &host, &port, buf, buf_len);
    if (msg)
        return msg;
    if (!host)
        host = xstrndup(f.p, f.len);   /* "unix:PATH", port 0: see CFG_FE_UNIX_PATH */
    bool tls = true, proxyproto = false;
    while (next_field(&rest, ';', &f)) {
        if (f.len == 0)
            continue;
        if (str_eq(f, STR_LIT("no-tls"))) {
            tls = false;
        } else if (str_eq(f, STR_LIT("proxyproto"))) {
            proxyproto = true;
        } else if (str_eq(f, STR_LIT("api"))) {
            free(host);
            return fmt(buf, buf_len, "unknown parameter", f,
                       " (h2gate serves nghttpx's API on --admin: give --admin=HOST,PORT "
                       "--admin-api instead of this frontend)");
        } else {
            free(host);
            return fmt(buf, buf_len, "unknown parameter", f, " (expected no-tls or proxyproto)");
        }
    }
    *out = (struct cfg_frontend){ .host = host, .port = port, .tls = tls,
                                  .proxyproto = proxyproto };
    return NULL;
}

static bool host_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static const char *parse_pattern(struct str pat, struct cfg_pattern *out, char *buf,
                                 size_t buf_len)
{
    struct str orig = pat;
    if (pat.len == 0)
        pat = STR_LIT("/");
    const char *slash = memchr(pat.p, '/', pat.len);
    struct str host = slash ? str_make(pat.p, (size_t)(slash - pat.p)) : pat;
    struct str path = slash ? str_make(slash, pat.len - host.len) : STR_LIT("/");
    /* nghttpx: a '*' in the host's first place is a wildcard (suffix
     * match); anywhere else it is no host character. */
    for (size_t i = host.len && host.p[0] == '*' ? 1 : 0; i < host.len; i++) {
        if (!host_char((unsigned char)host.p[i]))
            return fmt(buf, buf_len, "invalid host in pattern", orig,
                       host.p[i] == '*' ? " ('*' is a wildcard only as the host's first "
                                          "character: '*.example.com')"
                                        : "");
    }
    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.p[i];
        if (c <= ' ' || c == 0x7f || c == '?' || c == '#')
            return fmt(buf, buf_len, "invalid path in pattern", orig, "");
    }
    out->host = xstrndup(host.p, host.len);
    for (size_t i = 0; i < host.len; i++)
        out->host[i] = (char)tolower((unsigned char)out->host[i]);
    out->path = xmalloc(path.len + 1);
    out->path[cfg_path_normalize(path.p, path.len, out->path)] = '\0';
    return NULL;
}

/* nghttpx always reads the field after HOST,PORT as the pattern list, so
 * "-b h,80;proto=h2" would be a host pattern "proto=h2". No host contains
 * '=', so we read such a field as parameters instead. */
static bool looks_like_param(struct str f)
{
    if (str_eq(f, STR_LIT("tls")) || str_eq(f, STR_LIT("dns")))
        return true;
    for (size_t i = 0; i < f.len && f.p[i] != '/'; i++) {
        if (f.p[i] == '=')
            return true;
    }
    return false;
}

/* "NAME=N" with lo <= N <= hi into *out. */
static const char *param_num(struct str v, const char *name, uint32_t lo, uint32_t hi,
                             uint32_t *out, char *buf, size_t buf_len)
{
    uint64_t n;
    if (cfg_parse_uint(v, &n) != NULL || n < lo || n > hi) {
        snprintf(buf, buf_len, "invalid %s '%.*s' (expected %u-%u)", name, (int)v.len, v.p,
                 lo, hi);
        return buf;
    }
    *out = (uint32_t)n;
    return NULL;
}

static void set_str(char **dst, struct str v)
{
    free(*dst);
    *dst = xstrndup(v.p, v.len);
}

/* The group's parameters: lb=, affinity= and the affinity cookie's. */
static const char *parse_group_param(struct str name, struct str v, struct cfg_group_policy *g,
                                     char *buf, size_t buf_len)
{
    if (str_eq(name, STR_LIT("lb"))) {
        if (str_eq(v, STR_LIT("round-robin")))
            g->lb = CFG_LB_ROUND_ROBIN;
        else if (str_eq(v, STR_LIT("least-outstanding")))
            g->lb = CFG_LB_LEAST_OUTSTANDING;
        else if (str_eq(v, STR_LIT("peak-ewma")))
            g->lb = CFG_LB_PEAK_EWMA;
        else
            return fmt(buf, buf_len, "unknown lb", v,
                       " (expected round-robin, least-outstanding or peak-ewma)");
    } else if (str_eq(name, STR_LIT("affinity"))) {
        if (str_eq(v, STR_LIT("none")))
            g->affinity = CFG_AFFINITY_NONE;
        else if (str_eq(v, STR_LIT("ip")))
            g->affinity = CFG_AFFINITY_IP;
        else if (str_eq(v, STR_LIT("cookie")))
            g->affinity = CFG_AFFINITY_COOKIE;
        else
            return fmt(buf, buf_len, "unknown affinity", v, " (expected none, ip or cookie)");
    } else if (str_eq(name, STR_LIT("affinity-cookie-name"))) {
        for (size_t i = 0; i < v.len; i++) {
            unsigned char c = (unsigned char)v.p[i];
            if (c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
                return fmt(buf, buf_len, "invalid affinity-cookie-name", v, "");
        }
        if (v.len == 0)
            return "affinity-cookie-name needs a name";
        set_str(&g->cookie_name, v);
    } else if (str_eq(name, STR_LIT("affinity-cookie-path"))) {
        for (size_t i = 0; i < v.len; i++) {
            if ((unsigned char)v.p[i] < ' ' || v.p[i] == ';' || v.p[i] == 0x7f)
                return fmt(buf, buf_len, "invalid affinity-cookie-path", v, "");
        }
        set_str(&g->cookie_path, v);
    } else if (str_eq(name, STR_LIT("affinity-cookie-secure"))) {
        if (str_eq(v, STR_LIT("auto")))
            g->cookie_secure = CFG_COOKIE_SECURE_AUTO;
        else if (str_eq(v, STR_LIT("yes")))
            g->cookie_secure = CFG_COOKIE_SECURE_YES;
        else if (str_eq(v, STR_LIT("no")))
            g->cookie_secure = CFG_COOKIE_SECURE_NO;
        else
            return fmt(buf, buf_len, "unknown affinity-cookie-secure", v,
                       " (expected auto, yes or no)");
    } else {
        return fmt(buf, buf_len, "unknown parameter", name,
                   " (expected proto=, tls, sni=, weight=, fall=, rise=, health=, lb=, "
                   "affinity=, affinity-cookie-name=, affinity-cookie-path=, "
                   "affinity-cookie-secure=, read-timeout= or write-timeout=)");
    }
    return NULL;
}

static const char *parse_param(struct str f, struct cfg_backend *be, char *buf,
                               size_t buf_len)
{
    if (f.len == 0)
        return NULL;
    if (str_eq(f, STR_LIT("tls"))) {
        be->tls = true;
        return NULL;
    }
    if (str_eq(f, STR_LIT("dns"))) {
        be->dns = true;
        return NULL;
    }
    if (str_eq(f, STR_LIT("redirect-if-not-tls"))) {
        be->redirect_if_not_tls = true;
        return NULL;
    }
    const char *eq = memchr(f.p, '=', f.len);
    struct str name = eq ? str_make(f.p, (size_t)(eq - f.p)) : f;
    struct str v = eq ? str_make(eq + 1, f.len - name.len - 1) : STR_LIT("");
    if (!eq)
        return fmt(buf, buf_len, "unknown parameter", f,
                   " (expected NAME=VALUE, tls, dns or redirect-if-not-tls)");
    if (str_eq(name, STR_LIT("proto"))) {
        if (str_eq(v, STR_LIT("h2")))
            be->proto = CFG_PROTO_H2;
        else if (str_eq(v, STR_LIT("http/1.1")))
            be->proto = CFG_PROTO_HTTP1;
        else
            return fmt(buf, buf_len, "unknown proto", v, " (expected h2 or http/1.1)");
        return NULL;
    }
    if (str_eq(name, STR_LIT("sni"))) {
        if (v.len == 0)
            return "sni needs a name";
        set_str(&be->sni, v);
        return NULL;
    }
    if (str_eq(name, STR_LIT("weight")))
        return param_num(v, "weight", 1, 256, &be->weight, buf, buf_len);
    if (str_eq(name, STR_LIT("read-timeout")) || str_eq(name, STR_LIT("write-timeout"))) {
        double d;
        if (cfg_parse_duration(v, &d) != NULL || d <= 0)
            return fmt(buf, buf_len, "invalid timeout", v, " (expected a duration above 0: 90s, 1h)");
        *(str_eq(name, STR_LIT("read-timeout")) ? &be->read_timeout : &be->write_timeout) = d;
        return NULL;
    }
    if (str_eq(name, STR_LIT("fall")))
        return param_num(v, "fall", 0, 1000, &be->fall, buf, buf_len);
    if (str_eq(name, STR_LIT("rise")))
        return param_num(v, "rise", 0, 1000, &be->rise, buf, buf_len);
    if (str_eq(name, STR_LIT("health"))) {
        if (v.len == 0 || v.p[0] != '/')
            return fmt(buf, buf_len, "invalid health path", v, " (expected /PATH)");
        for (size_t i = 0; i < v.len; i++) {
            if ((unsigned char)v.p[i] <= ' ' || v.p[i] == 0x7f)
                return fmt(buf, buf_len, "invalid health path", v, "");
        }
        set_str(&be->health_path, v);
        return NULL;
    }
    return parse_group_param(name, v, &be->group, buf, buf_len);
}

/* A "unix:PATH" backend (parse_unix_path): its one member's host is the
 * whole "unix:PATH" and its port 0 (so CFG_BE_FMT prints "unix:PATH"); its
 * address is made here, since nothing resolves it. be->host is a heap
 * copy on success only. */
static const char *parse_unix(struct str addr, struct cfg_backend *be, char *buf, size_t buf_len)
{
    struct sockaddr_un sun;
    socklen_t sun_len;
    const char *msg = parse_unix_path(addr, &sun, &sun_len, buf, buf_len);
    if (msg)
        return msg;
    memcpy(&be->addr, &sun, sizeof(sun));
    be->addr_len = sun_len;
    be->host = xstrndup(addr.p, addr.len);
    be->port = 0;
    return NULL;
}

/* What a UNIX domain socket backend cannot have. */
static const char *check_unix(const struct cfg_backend *be)
{
    if (be->addr.ss_family != AF_UNIX)
        return NULL;
    if (be->dns)
        return "dns cannot be used with a UNIX domain socket backend (it has no name to resolve)";
    return NULL;
}

const char *cfg_parse_backend(const char *spec, struct cfg_backend_spec *out, char *buf,
                              size_t buf_len)
{
    *out = (struct cfg_backend_spec){ .be.weight = 1 };
    struct str rest = str_cstr(spec), f;
    next_field(&rest, ';', &f);
    const char *msg = str_has_prefix(f, STR_LIT("unix:"))
                          ? parse_unix(f, &out->be, buf, buf_len)
                          : parse_host_port(f, &out->be.host, &out->be.port, buf, buf_len);
    if (msg)
        return msg;

    /* No pattern and the empty pattern both mean the catch-all "/". */
    struct str patterns = STR_LIT("");
    if (next_field(&rest, ';', &f)) {
        if (looks_like_param(f)) {
            msg = parse_param(f, &out->be, buf, buf_len);
        } else {
            patterns = f;
        }
    }
    while (!msg && next_field(&rest, ';', &f))
        msg = parse_param(f, &out->be, buf, buf_len);
    if (!msg && out->be.group.affinity == CFG_AFFINITY_COOKIE && !out->be.group.cookie_name)
        msg = "affinity=cookie needs affinity-cookie-name=NAME";
    if (!msg)
        msg = check_unix(&out->be);
    if (msg)
        goto fail;

    struct str prest = patterns, pat;
    while (next_field(&prest, ':', &pat)) {
        struct cfg_pattern p;
        msg = parse_pattern(pat, &p, buf, buf_len);
        if (msg)
            goto fail;
        out->patterns = xrealloc(out->patterns, (out->num_patterns + 1) * sizeof(p));
        out->patterns[out->num_patterns++] = p;
    }
    return NULL;

fail:
    cfg_backend_spec_cleanup(out);
    return msg;
}

void cfg_backend_spec_cleanup(struct cfg_backend_spec *spec)
{
    free(spec->be.host);
    free(spec->be.sni);
    free(spec->be.health_path);
    free(spec->be.group.cookie_name);
    free(spec->be.group.cookie_path);
    for (size_t i = 0; i < spec->num_patterns; i++) {
        free(spec->patterns[i].host);
        free(spec->patterns[i].path);
    }
    free(spec->patterns);
    *spec = (struct cfg_backend_spec){ 0 };
}
