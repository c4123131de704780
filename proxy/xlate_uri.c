/* nghttpx's rewrites of names in URIs: a backend's Location made the
 * client's (xlate_location) and a backend's own authority for
 * --host-rewrite (xlate_hostport). Pure; declared in xlate.h. */
#include "proxy/xlate.h"

#include <stdio.h>
#include <string.h>

/* The host of an authority: "[::1]:8443" -> "::1", "a.example:80" ->
 * "a.example". */
static struct str authority_host(struct str a)
{
    if (a.len && a.p[0] == '[') {
        const char *e = memchr(a.p, ']', a.len);
        return e ? str_make(a.p + 1, (size_t)(e - a.p) - 1) : STR_NULL;
    }
    const char *colon = memchr(a.p, ':', a.len);
    return colon ? str_make(a.p, (size_t)(colon - a.p)) : a;
}

static bool has_iprefix(struct str s, struct str prefix)
{
    return s.len >= prefix.len && str_ieq(str_make(s.p, prefix.len), prefix);
}

size_t xlate_location(struct str uri, struct str match, struct str authority, struct str scheme,
                      char *out)
{
    size_t skip = has_iprefix(uri, STR_LIT("http://"))    ? 7
                  : has_iprefix(uri, STR_LIT("https://")) ? 8
                                                          : 0;
    if (skip == 0 || authority.len == 0)
        return 0;
    size_t end = skip;
    while (end < uri.len && uri.p[end] != '/' && uri.p[end] != '?' && uri.p[end] != '#')
        end++;
    struct str from = str_make(uri.p + skip, end - skip);
    struct str host = authority_host(from);
    if (memchr(from.p, '@', from.len) || host.len == 0 || match.len == 0 ||
        !str_ieq(host, authority_host(match)))
        return 0;
    size_t n = 0;
    memcpy(out + n, scheme.p, scheme.len);
    n += scheme.len;
    memcpy(out + n, "://", 3);
    n += 3;
    memcpy(out + n, authority.p, authority.len);
    n += authority.len;
    memcpy(out + n, uri.p + end, uri.len - end);
    return n + uri.len - end;
}

size_t xlate_hostport(const char *host, uint16_t port, bool unix_socket, char *out)
{
    if (unix_socket)
        return (size_t)snprintf(out, XLATE_HOSTPORT_MAX, "localhost");
    bool v6 = strchr(host, ':') != NULL;
    int n = port == 80 || port == 443
                ? snprintf(out, XLATE_HOSTPORT_MAX, v6 ? "[%s]" : "%s", host)
                : snprintf(out, XLATE_HOSTPORT_MAX, v6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
    return n < 0 ? 0 : (size_t)n < XLATE_HOSTPORT_MAX ? (size_t)n : XLATE_HOSTPORT_MAX - 1;
}
