/* Routes: grouping -b patterns and matching requests against them. */
#include "config/config.h"
#include "config/parse.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 5.2.4 on an absolute path, in place. Every step writes at or
 * before where it reads, so one buffer is enough. */
static size_t remove_dot_segments(char *b, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        /* b[r] == '/'; the segment is b[s..e). */
        size_t s = r + 1, e = s;
        while (e < n && b[e] != '/')
            e++;
        size_t seg_len = e - s;
        if (seg_len == 1 && b[s] == '.') {
            r = e;
        } else if (seg_len == 2 && b[s] == '.' && b[s + 1] == '.') {
            while (w > 0 && b[w - 1] != '/')
                w--;
            if (w > 0)
                w--;
            r = e;
        } else {
            memmove(b + w, b + r, e - r);
            w += e - r;
            r = e;
            continue;
        }
        /* A trailing "/." or "/.." leaves a directory: "/a/b/.." is "/a/". */
        if (r == n)
            b[w++] = '/';
    }
    if (w == 0)
        b[w++] = '/';
    return w;
}

size_t cfg_path_normalize(const char *p, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < len && (hi = hex_value((unsigned char)p[i + 1])) >= 0 &&
            (lo = hex_value((unsigned char)p[i + 2])) >= 0) {
            unsigned char c = (unsigned char)(hi << 4 | lo);
            if (unreserved(c)) {
                out[n++] = (char)c;
            } else {
                out[n++] = '%';
                out[n++] = (char)toupper((unsigned char)p[i + 1]);
                out[n++] = (char)toupper((unsigned char)p[i + 2]);
            }
            i += 2;
        } else {
            out[n++] = p[i];
        }
    }
    return remove_dot_segments(out, n);
}

static bool needs_normalize(struct str path)
{
    for (size_t i = 0; i < path.len; i++) {
        if (path.p[i] == '%' || (path.p[i] == '.' && i > 0 && path.p[i - 1] == '/'))
            return true;
    }
    return false;
}

static void add_member(struct cfg_route *r, struct cfg_backend *be)
{
    for (size_t k = 0; k < r->num_backends; k++) {
        if (r->backends[k] == be)
            return;  /* "-b h,80;/a:/a" names the group once */
    }
    r->backends = xrealloc(r->backends, (r->num_backends + 1) * sizeof(be));
    r->weights = xrealloc(r->weights, (r->num_backends + 1) * sizeof(*r->weights));
    r->weights[r->num_backends] = be->weight;
    r->backends[r->num_backends++] = be;
    r->redirect_if_not_tls |= be->redirect_if_not_tls;
}

static bool same_opt_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_policy(const struct cfg_group_policy *a, const struct cfg_group_policy *b)
{
    return a->lb == b->lb && a->affinity == b->affinity && a->cookie_secure == b->cookie_secure &&
           same_opt_str(a->cookie_name, b->cookie_name) &&
           same_opt_str(a->cookie_path, b->cookie_path);
}

static struct cfg_route *find_or_add(struct config *cfg, const struct cfg_pattern *pat,
                                     const struct cfg_group_policy *pol)
{
    for (size_t k = 0; k < cfg->num_routes; k++) {
        if (strcmp(cfg->routes[k].host, pat->host) == 0 &&
            strcmp(cfg->routes[k].path, pat->path) == 0)
            return &cfg->routes[k];
    }
    cfg->routes = xrealloc(cfg->routes, (cfg->num_routes + 1) * sizeof(*cfg->routes));
    struct cfg_route *r = &cfg->routes[cfg->num_routes++];
    *r = (struct cfg_route){
        .host = xstrdup(pat->host),
        .host_len = strlen(pat->host),
        .path = xstrdup(pat->path),
        .path_len = strlen(pat->path),
        .policy = *pol,
    };
    r->wildcard = pat->host[0] == '*';
    cfg->num_wildcard_routes += r->wildcard;
    r->policy.cookie_name = pol->cookie_name ? xstrdup(pol->cookie_name) : NULL;
    r->policy.cookie_path = pol->cookie_path ? xstrdup(pol->cookie_path) : NULL;
    return r;
}

const char *cfg_routes_build(struct config *cfg, const struct cfg_backend_spec *specs,
                             size_t num_specs, const size_t *first, const size_t *count,
                             char *buf, size_t buf_len)
{
    for (size_t i = 0; i < num_specs; i++) {
        const struct cfg_group_policy *pol = &specs[i].be.group;
        for (size_t j = 0; j < specs[i].num_patterns; j++) {
            const struct cfg_pattern *pat = &specs[i].patterns[j];
            struct cfg_route *r = find_or_add(cfg, pat, pol);
            if (!same_policy(&r->policy, pol)) {
                snprintf(buf, buf_len,
                         "backend %s%s%.0u: pattern '%s%s' is shared with a backend of other "
                         "lb= or affinity= parameters: give every backend of a pattern the "
                         "same ones",
                         specs[i].be.host, specs[i].be.port ? "," : "",
                         (unsigned)specs[i].be.port, pat->host, pat->path);
                return buf;
            }
            for (size_t m = 0; m < count[i]; m++)
                add_member(r, &cfg->backends[first[i] + m]);
        }
    }
    return NULL;
}

/* 0: no match. An exact match beats everything; otherwise the longer
 * pattern wins, and "/a/" matching "/a" counts as its own length, so it
 * beats the shorter prefix "/" (nghttpx: "/alpha/bravo/" wins "/alpha/bravo"
 * over "/alpha/", but "/alpha" wins "/alpha" over "/alpha/"). A pattern
 * "/a*" (nghttpx's wildcard path) matches every path that starts with "/a"
 * and is longer, across '/' boundaries, and counts as "/a". */
static inline __attribute__((always_inline)) size_t path_score(const struct cfg_route *r,
                                                              struct str path)
{
    struct str pat = str_make(r->path, r->path_len);
    if (str_eq(pat, path))
        return SIZE_MAX;
    char last = pat.p[pat.len - 1];
    if (last == '/') {
        if (str_has_prefix(path, pat))
            return pat.len;
        if (path.len + 1 == pat.len && memcmp(path.p, pat.p, path.len) == 0)
            return pat.len;
        return 0;
    }
    if (last == '*') {
        pat.len--;
        return path.len > pat.len && str_has_prefix(path, pat) ? pat.len : 0;
    }
    return 0;
}

/* The route for host and path among the exact host patterns (host ""
 * for the path-only ones). */
static const struct cfg_route *best(const struct config *cfg, struct str host,
                                    struct str path)
{
    const struct cfg_route *found = NULL;
    size_t found_score = 0;
    for (size_t i = 0; i < cfg->num_routes; i++) {
        const struct cfg_route *r = &cfg->routes[i];
        if (r->wildcard || !str_ieq(str_make(r->host, r->host_len), host))
            continue;
        size_t score = path_score(r, path);
        if (score > found_score) {
            found = r;
            found_score = score;
        }
    }
    return found;
}

/* The same among the wildcard host patterns ("*.example.com": host must
 * end with the suffix after at least one character of its own), where,
 * as in nghttpx, the longest suffix that has a path match wins. */
static const struct cfg_route *best_wildcard(const struct config *cfg, struct str host,
                                             struct str path)
{
    const struct cfg_route *found = NULL;
    size_t found_len = 0, found_score = 0;
    for (size_t i = 0; i < cfg->num_routes; i++) {
        const struct cfg_route *r = &cfg->routes[i];
        if (!r->wildcard)
            continue;
        struct str suffix = str_make(r->host + 1, r->host_len - 1);
        if (host.len <= suffix.len || suffix.len < found_len ||
            !str_ieq(str_make(host.p + host.len - suffix.len, suffix.len), suffix))
            continue;
        size_t score = path_score(r, path);
        if (score > 0 && (suffix.len > found_len || score > found_score)) {
            found = r;
            found_len = suffix.len;
            found_score = score;
        }
    }
    return found;
}

/* "example.com:8443" -> "example.com", "[::1]:8443" -> "[::1]". */
static struct str strip_port(struct str host)
{
    if (host.len && host.p[0] == '[') {
        const char *e = memchr(host.p, ']', host.len);
        return e ? str_make(host.p, (size_t)(e - host.p) + 1) : host;
    }
    const char *colon = host.len ? memchr(host.p, ':', host.len) : NULL;
    return colon ? str_make(host.p, (size_t)(colon - host.p)) : host;
}

const struct cfg_route *cfg_route_match(const struct config *cfg, struct str host,
                                        struct str path)
{
    for (size_t i = 0; i < path.len; i++) {
        if (path.p[i] == '?' || path.p[i] == '#') {
            path.len = i;
            break;
        }
    }
    /* nghttpx matches "*" (OPTIONS) and CONNECT, which have no path, as "/". */
    if (path.len == 0 || path.p[0] != '/')
        path = STR_LIT("/");

    char stack_buf[1024];
    char *heap_buf = NULL;
    if (needs_normalize(path)) {
        char *out = path.len <= sizeof(stack_buf) ? stack_buf : (heap_buf = xmalloc(path.len));
        path.len = cfg_path_normalize(path.p, path.len, out);
        path.p = out;
    }

    host = strip_port(host);
    const struct cfg_route *r = NULL;
    if (host.len)
        r = best(cfg, host, path);
    if (!r && host.len && cfg->num_wildcard_routes)
        r = best_wildcard(cfg, host, path);
    if (!r)
        r = best(cfg, STR_LIT(""), path);
    if (heap_buf)
        free(heap_buf);
    return r;
}
