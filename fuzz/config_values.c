/* libFuzzer target: the option value parsers of config/config.h and
 * config/parse.h, and route matching on routes built from parsed -b specs.
 *
 * Input: byte 0 selects the mode, the rest is the text:
 *   mode % 3 == 0  scalars: cfg_parse_duration, cfg_parse_size,
 *                  cfg_parse_uint, cfg_parse_flag on the text;
 *                  cfg_parse_frontend on it as a NUL-terminated string;
 *                  cfg_path_normalize on it ('/' prepended when missing)
 *   mode % 3 == 1  backends: the text split on '\n'; every line but the
 *                  last two is a -b spec (cfg_parse_backend, at most 4),
 *                  the last two a request host and path for
 *                  cfg_route_match over cfg_routes_build of the specs
 *   mode % 3 == 2  the same text through cfg_parse_frontend and
 *                  cfg_parse_backend with a message buffer of (mode >> 2)
 *                  bytes, for the truncated-message paths
 * Checks beyond "no sanitizer report": results in range (durations finite,
 * 0..1e9), messages NUL-terminated, a parsed frontend or backend has a
 * port unless it is a "unix:/PATH" (then an AF_UNIX address), a parsed
 * backend has at least one pattern with a lower-case host and a path
 * starting with '/',
 * cfg_path_normalize returns 1..len bytes starting with '/' and is
 * idempotent on paths whose every '%' starts an escape, a matched route
 * is one of the built routes. */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "config/parse.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define MAX_SPECS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "unix:/PATH": a UNIX domain socket's frontend or backend, port 0. */
static bool is_unix(const char *host)
{
    return strncmp(host, "unix:", 5) == 0;
}

static char *dup_bytes(const char *p, size_t len, bool nul)
{
    char *d = malloc(len + (nul ? 1 : 0) + (len == 0 && !nul));
    CHECK(d);
    if (len)
        memcpy(d, p, len);
    if (nul)
        d[len] = '\0';
    return d;
}

static void check_msg(const char *msg)
{
    CHECK(msg);
    (void)strlen(msg);
}

static void check_normalize(const char *p, size_t len)
{
    /* Exactly the room the contract promises: len bytes. */
    char *out = malloc(len);
    CHECK(out);
    size_t n = cfg_path_normalize(p, len, out);
    CHECK(n >= 1 && n <= len && out[0] == '/');
    /* Idempotent when every '%' starts a valid escape. (A stray '%' can
     * combine with decoded characters into a new escape: "/%%62f" gives
     * "/%bf", then "/%BF"; the header promises nothing there.) */
    bool escapes_ok = true;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '%' && !(i + 2 < len && isxdigit((unsigned char)p[i + 1]) &&
                             isxdigit((unsigned char)p[i + 2])))
            escapes_ok = false;
    }
    if (escapes_ok) {
        char *again = malloc(n);
        CHECK(again);
        size_t n2 = cfg_path_normalize(out, n, again);
        CHECK(n2 == n && memcmp(out, again, n) == 0);
        free(again);
    }
    free(out);
}

static void scalars(const char *p, size_t len)
{
    char *t = dup_bytes(p, len, false);
    struct str s = str_make(t, len);
    double d;
    if (cfg_parse_duration(s, &d) == NULL)
        CHECK(isfinite(d) && d >= 0 && d <= 1e9);
    size_t sz;
    (void)cfg_parse_size(s, &sz);
    uint64_t u;
    (void)cfg_parse_uint(s, &u);
    bool b;
    (void)cfg_parse_flag(s, &b);
    free(t);

    char *spec = dup_bytes(p, len, true);
    char buf[256];
    struct cfg_frontend fe;
    const char *msg = cfg_parse_frontend(spec, &fe, buf, sizeof(buf));
    if (msg == NULL) {
        /* "[unix:x],80" is a HOST,PORT with an odd host, not a socket. */
        CHECK(fe.host && fe.host[0] && (fe.port >= 1 || is_unix(fe.host)));
        free(fe.host);
    } else {
        check_msg(msg);
    }
    free(spec);

    /* An absolute path of exactly len bytes. */
    if (len && p[0] == '/') {
        char *path = dup_bytes(p, len, false);
        check_normalize(path, len);
        free(path);
    } else {
        char *path = malloc(len + 1);
        CHECK(path);
        path[0] = '/';
        if (len)
            memcpy(path + 1, p, len);
        check_normalize(path, len + 1);
        free(path);
    }
}

static void check_spec(const struct cfg_backend_spec *sp)
{
    /* A unix:PATH has port 0 and its socket address made by the parser. */
    CHECK(sp->be.host && sp->be.host[0]);
    CHECK((sp->be.port == 0) == (sp->be.addr.ss_family == AF_UNIX));
    CHECK(sp->be.port >= 1 || (is_unix(sp->be.host) && sp->be.host[5] == '/'));
    CHECK(sp->num_patterns >= 1 && sp->patterns);
    for (size_t i = 0; i < sp->num_patterns; i++) {
        const struct cfg_pattern *pat = &sp->patterns[i];
        CHECK(pat->host && pat->path && pat->path[0] == '/');
        for (const char *c = pat->host; *c; c++)
            CHECK(!(*c >= 'A' && *c <= 'Z'));
    }
}

static void backends(const char *p, size_t len)
{
    /* Lines; the last two are the request's host and path. */
    const char *line[MAX_SPECS + 2];
    size_t line_len[MAX_SPECS + 2];
    size_t num_lines = 0;
    while (num_lines < MAX_SPECS + 2) {
        const char *nl = num_lines < MAX_SPECS + 1 ? memchr(p, '\n', len) : NULL;
        line[num_lines] = p;
        line_len[num_lines] = nl ? (size_t)(nl - p) : len;
        num_lines++;
        if (!nl)
            break;
        len -= (size_t)(nl - p) + 1;
        p = nl + 1;
    }
    size_t num_specs = num_lines > 2 ? num_lines - 2 : num_lines;

    struct cfg_backend_spec specs[MAX_SPECS];
    size_t num_ok = 0;
    char buf[256];
    for (size_t i = 0; i < num_specs && i < MAX_SPECS; i++) {
        char *spec = dup_bytes(line[i], line_len[i], true);
        const char *msg = cfg_parse_backend(spec, &specs[num_ok], buf, sizeof(buf));
        if (msg == NULL) {
            check_spec(&specs[num_ok]);
            num_ok++;
        } else {
            check_msg(msg);
        }
        free(spec);
    }

    struct cfg_backend be[MAX_SPECS];
    size_t first[MAX_SPECS], count[MAX_SPECS];
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    for (size_t i = 0; i < num_ok; i++) {
        be[i] = specs[i].be;
        be[i].index = i;
        first[i] = i;
        count[i] = 1;  /* one address each */
    }
    cfg.backends = be;
    cfg.num_backends = num_ok;
    char rbuf[256];
    const char *rmsg = cfg_routes_build(&cfg, specs, num_ok, first, count, rbuf, sizeof(rbuf));
    if (rmsg)
        check_msg(rmsg);
    for (size_t i = 0; i < cfg.num_routes; i++) {
        const struct cfg_route *r = &cfg.routes[i];
        CHECK(r->num_backends >= 1 && r->path_len >= 1 && r->path[0] == '/');
        CHECK(strlen(r->host) == r->host_len && strlen(r->path) == r->path_len);
    }

    struct str host = STR_LIT("example.com");
    struct str path = STR_LIT("/a/b");
    char *hcopy = NULL, *pcopy = NULL;
    if (num_lines > 2) {
        hcopy = dup_bytes(line[num_lines - 2], line_len[num_lines - 2], false);
        pcopy = dup_bytes(line[num_lines - 1], line_len[num_lines - 1], false);
        host = str_make(hcopy, line_len[num_lines - 2]);
        path = str_make(pcopy, line_len[num_lines - 1]);
    }
    const struct cfg_route *m = cfg_route_match(&cfg, host, path);
    if (m)
        CHECK(m >= cfg.routes && m < cfg.routes + cfg.num_routes);
    if (cfg.num_routes == 0)
        CHECK(m == NULL);
    free(hcopy);
    free(pcopy);

    for (size_t i = 0; i < cfg.num_routes; i++) {
        free(cfg.routes[i].host);
        free(cfg.routes[i].path);
        free(cfg.routes[i].backends);
        free(cfg.routes[i].weights);
        free(cfg.routes[i].policy.cookie_name);
        free(cfg.routes[i].policy.cookie_path);
    }
    free(cfg.routes);
    for (size_t i = 0; i < num_ok; i++) {
        cfg_backend_spec_cleanup(&specs[i]);
        cfg_backend_spec_cleanup(&specs[i]); /* safe on a zeroed spec */
    }
}

static void small_buffers(const char *p, size_t len, size_t buf_len)
{
    char *spec = dup_bytes(p, len, true);
    char *buf = malloc(buf_len ? buf_len : 1);
    CHECK(buf);
    struct cfg_frontend fe;
    const char *msg = cfg_parse_frontend(spec, &fe, buf, buf_len);
    if (msg == NULL)
        free(fe.host);
    else if (buf_len || msg != buf)
        check_msg(msg);
    struct cfg_backend_spec sp;
    msg = cfg_parse_backend(spec, &sp, buf, buf_len);
    if (msg == NULL)
        cfg_backend_spec_cleanup(&sp);
    else if (buf_len || msg != buf)
        check_msg(msg);
    free(buf);
    free(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        scalars(p, len);
        break;
    case 1:
        backends(p, len);
        break;
    default:
        small_buffers(p, len, data[0] >> 2);
        break;
    }
    return 0;
}
