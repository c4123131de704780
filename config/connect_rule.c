#include "config/connect_rule.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct crule_set {
    struct crule *allow;
    size_t num_allow;
    struct crule *deny;
    size_t num_deny;
};

/* An address in both the forms a rule may be written in. */
struct addr_forms {
    bool has_v4, has_v6;
    uint8_t v4[4];
    uint8_t v6[16];
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
           c == '.' || c == '_';
}

/* Digits only, at most 5 of them, value in [min, max]. */
static bool parse_num(struct str s, unsigned min, unsigned max, unsigned *out)
{
    if (s.len == 0 || s.len > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_digit(s.p[i]))
            return false;
        v = v * 10 + (unsigned)(s.p[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A literal of family af (no brackets, no prefix) into out. inet_pton
 * wants a NUL-terminated string, hence the copy. */
static bool parse_ip(struct str s, int af, uint8_t *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (s.len == 0 || s.len >= sizeof(buf))
        return false;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    return inet_pton(af, buf, out) == 1;
}

static void forms_from_v4(struct addr_forms *f, const uint8_t v4[4])
{
    f->has_v4 = f->has_v6 = true;
    memcpy(f->v4, v4, 4);
    memset(f->v6, 0, 10);
    f->v6[10] = f->v6[11] = 0xff;
    memcpy(f->v6 + 12, v4, 4);
}

static bool forms_from_sockaddr(struct addr_forms *f, const struct sockaddr *sa)
{
    memset(f, 0, sizeof(*f));
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        forms_from_v4(f, (const uint8_t *)&sin->sin_addr);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = sin6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            forms_from_v4(f, b + 12);
        } else {
            f->has_v6 = true;
            memcpy(f->v6, b, 16);
        }
        return true;
    }
    return false;
}

/* host as an IP literal (IPv6 with or without brackets). */
static bool forms_from_literal(struct addr_forms *f, struct str host)
{
    memset(f, 0, sizeof(*f));
    uint8_t b[16];
    if (parse_ip(host, AF_INET, b)) {
        forms_from_v4(f, b);
        return true;
    }
    if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']')
        host = str_make(host.p + 1, host.len - 2);
    if (!parse_ip(host, AF_INET6, b))
        return false;
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0 &&
        b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 && b[10] == 0xff && b[11] == 0xff) {
        forms_from_v4(f, b + 12);
    } else {
        f->has_v6 = true;
        memcpy(f->v6, b, 16);
    }
    return true;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
    size_t whole = prefix / 8;
    if (memcmp(a, net, whole) != 0)
        return false;
    unsigned rest = prefix % 8;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

/* Bits of addr past prefix are all zero. */
static bool host_bits_clear(const uint8_t *addr, size_t len, unsigned prefix)
{
    for (unsigned bit = prefix; bit < len * 8; bit++)
        if (addr[bit / 8] & (0x80 >> (bit % 8)))
            return false;
    return true;
}

static bool port_match(const struct crule *r, uint16_t port)
{
    for (size_t i = 0; i < r->num_ports; i++)
        if (port >= r->ports[i].lo && port <= r->ports[i].hi)
            return true;
    return false;
}

/* Name without one trailing dot, for comparisons. */
static struct str strip_dot(struct str s)
{
    if (s.len && s.p[s.len - 1] == '.')
        s.len--;
    return s;
}

/* is_lit: host is an IP literal, which only '*' matches by name. */
static bool name_match(const struct crule *r, struct str host, bool is_lit)
{
    if (is_lit)
        return r->kind == CRULE_ANY;
    switch (r->kind) {
    case CRULE_ANY:
        return true;
    case CRULE_NAME:
        return str_ieq(host, str_make(r->name, r->name_len));
    case CRULE_SUFFIX:
        /* ".example.com" needs at least one character before it. */
        return host.len > r->name_len &&
               strncasecmp(host.p + host.len - r->name_len, r->name, r->name_len) == 0;
    case CRULE_NET:
        return false;
    }
    return false;
}

static bool addr_match(const struct crule *r, const struct addr_forms *f)
{
    if (r->kind == CRULE_ANY)
        return true;
    if (r->kind != CRULE_NET)
        return false;
    if (r->family == AF_INET)
        return f->has_v4 && prefix_match(f->v4, r->addr, r->prefix);
    return f->has_v6 && prefix_match(f->v6, r->addr, r->prefix);
}

static const char *parse_ports(struct str s, struct crule *out)
{
    if (s.len == 0)
        return "missing port";
    if (s.len == 1 && s.p[0] == '*') {
        out->ports[0] = (struct crule_port_range){ 1, 65535 };
        out->num_ports = 1;
        return NULL;
    }
    out->num_ports = 0;
    while (s.len) {
        const char *comma = memchr(s.p, ',', s.len);
        struct str item = str_make(s.p, comma ? (size_t)(comma - s.p) : s.len);
        if (item.len == 0)
            return "empty item in port list";
        if (out->num_ports == CRULE_MAX_PORT_RANGES)
            return "too many items in port list";
        const char *dash = memchr(item.p, '-', item.len);
        unsigned lo, hi;
        if (dash) {
            struct str a = str_make(item.p, (size_t)(dash - item.p));
            struct str b = str_make(dash + 1, item.len - a.len - 1);
            if (!parse_num(a, 1, 65535, &lo) || !parse_num(b, 1, 65535, &hi))
                return "invalid port range (ports are 1-65535)";
            if (lo > hi)
                return "reversed port range";
        } else {
            if (!parse_num(item, 1, 65535, &lo))
                return "invalid port (ports are 1-65535)";
            hi = lo;
        }
        out->ports[out->num_ports++] = (struct crule_port_range){ (uint16_t)lo, (uint16_t)hi };
        if (!comma)
            break;
        s = str_make(comma + 1, s.len - item.len - 1);
        if (s.len == 0)
            return "empty item in port list";
    }
    return NULL;
}

/* A DNS name: labels of name characters separated by single dots, one
 * trailing dot allowed (and dropped). Lower-cased into dst. */
static const char *copy_name(struct str s, char *dst, size_t *dst_len)
{
    s = strip_dot(s);
    if (s.len == 0)
        return "empty host";
    if (s.len > CRULE_MAX_NAME)
        return "host name too long";
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '*')
            return "'*' is allowed only as \"*\" or a leading \"*.\"";
        if (!is_name_char(c))
            return "invalid character in host name";
        if (c == '.' && (i == 0 || s.p[i - 1] == '.'))
            return "empty label in host name";
        dst[i] = lower(c);
    }
    dst[s.len] = '\0';
    *dst_len = s.len;
    return NULL;
}

/* "1.2.3" or "999.1.1.1" would be names to us but addresses (or nonsense)
 * to a resolver, and IP literal requests never match name rules; an
 * all-numeric last label is never a valid TLD, so refuse the ambiguity. */
static bool numeric_tld(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *last = dot ? dot + 1 : name;
    for (; *last; last++)
        if (!is_digit(*last))
            return false;
    return true;
}

static const char *parse_net(struct str addr, struct str prefix, bool has_prefix, int af,
                             struct crule *out)
{
    unsigned max = af == AF_INET ? 32 : 128;
    out->kind = CRULE_NET;
    out->family = af;
    memset(out->addr, 0, sizeof(out->addr));
    if (!parse_ip(addr, af, out->addr))
        return af == AF_INET ? "invalid IPv4 address" : "invalid IPv6 address";
    out->prefix = max;
    if (has_prefix) {
        if (!parse_num(prefix, 0, max, &out->prefix) || (prefix.len > 1 && prefix.p[0] == '0'))
            return af == AF_INET ? "invalid CIDR prefix (0-32)" : "invalid CIDR prefix (0-128)";
        if (!host_bits_clear(out->addr, max / 8, out->prefix))
            return "address has bits set past the CIDR prefix";
    }
    return NULL;
}

/* "[ADDR](/PREFIX)?:PORTS", s starting at the '['. */
static const char *parse_bracketed(struct str s, struct crule *out)
{
    const char *close = memchr(s.p, ']', s.len);
    if (!close)
        return "missing ']' after IPv6 address";
    struct str addr = str_make(s.p + 1, (size_t)(close - s.p) - 1);
    struct str rest = str_make(close + 1, s.len - (size_t)(close + 1 - s.p));
    struct str prefix = STR_NULL;
    bool has_prefix = false;
    if (rest.len && rest.p[0] == '/') {
        const char *colon = memchr(rest.p, ':', rest.len);
        if (!colon)
            return "missing ':PORTS'";
        prefix = str_make(rest.p + 1, (size_t)(colon - rest.p) - 1);
        has_prefix = true;
        rest = str_make(colon, rest.len - (size_t)(colon - rest.p));
    }
    if (rest.len == 0 || rest.p[0] != ':')
        return "missing ':PORTS'";
    const char *msg = parse_net(addr, prefix, has_prefix, AF_INET6, out);
    if (msg)
        return msg;
    return parse_ports(str_make(rest.p + 1, rest.len - 1), out);
}

/* The HOST of a rule without brackets: an IPv4 address or CIDR, "*",
 * "*.suffix" or a name. */
static const char *parse_host(struct str host, struct crule *out)
{
    const char *msg;
    const char *slash = memchr(host.p, '/', host.len);
    uint8_t scratch[4];
    if (slash) {
        struct str addr = str_make(host.p, (size_t)(slash - host.p));
        struct str prefix = str_make(slash + 1, host.len - addr.len - 1);
        return parse_net(addr, prefix, true, AF_INET, out);
    }
    if (host.len == 1 && host.p[0] == '*') {
        out->kind = CRULE_ANY;
        return NULL;
    }
    if (parse_ip(host, AF_INET, scratch))
        return parse_net(host, STR_NULL, false, AF_INET, out);
    if (host.len >= 2 && host.p[0] == '*' && host.p[1] == '.') {
        out->kind = CRULE_SUFFIX;
        out->name[0] = '.';
        msg = copy_name(str_make(host.p + 2, host.len - 2), out->name + 1, &out->name_len);
        out->name_len++;
        if (msg && strcmp(msg, "empty host") == 0)
            return "empty suffix after \"*.\"";
        if (!msg && numeric_tld(out->name))
            return "a name rule cannot end in a numeric label (use an address or CIDR)";
        return msg;
    }
    out->kind = CRULE_NAME;
    msg = copy_name(host, out->name, &out->name_len);
    if (!msg && numeric_tld(out->name))
        return "invalid IPv4 address";
    return msg;
}

const char *crule_parse(struct str text, struct crule *out)
{
    struct str s = str_trim(text);
    memset(out, 0, sizeof(*out));
    if (s.len == 0)
        return "empty rule";
    if (s.p[0] == '[')
        return parse_bracketed(s, out);
    const char *colon = NULL;
    for (size_t i = s.len; i-- > 0;)
        if (s.p[i] == ':') {
            colon = s.p + i;
            break;
        }
    if (!colon)
        return "missing ':PORTS'";
    struct str host = str_make(s.p, (size_t)(colon - s.p));
    struct str ports = str_make(colon + 1, s.len - host.len - 1);
    if (host.len == 0)
        return "empty host";
    if (memchr(host.p, ':', host.len))
        return "IPv6 addresses must be in brackets: [::1]:443";
    const char *msg = parse_host(host, out);
    if (msg)
        return msg;
    return parse_ports(ports, out);
}

struct crule_set *crule_set_new(void)
{
    return xcalloc(1, sizeof(struct crule_set));
}

void crule_set_add(struct crule_set *set, const struct crule *rule, bool deny)
{
    struct crule **list = deny ? &set->deny : &set->allow;
    size_t *num = deny ? &set->num_deny : &set->num_allow;
    *list = xrealloc(*list, (*num + 1) * sizeof(**list));
    (*list)[(*num)++] = *rule;
}

size_t crule_set_num(const struct crule_set *set, bool deny)
{
    if (!set)
        return 0;
    return deny ? set->num_deny : set->num_allow;
}

void crule_set_free(struct crule_set *set)
{
    if (!set)
        return;
    free(set->allow);
    free(set->deny);
    free(set);
}

static bool is_authority_name(struct str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!is_name_char(s.p[i]))
            return false;
    return true;
}

const char *crule_parse_authority(struct str authority, struct str *host, uint16_t *port)
{
    struct str a = authority;
    if (a.len == 0 || !a.p)
        return "empty CONNECT authority";
    struct str h, p;
    if (a.p[0] == '[') {
        const char *close = memchr(a.p, ']', a.len);
        if (!close)
            return "missing ']' in CONNECT authority";
        h = str_make(a.p + 1, (size_t)(close - a.p) - 1);
        struct str rest = str_make(close + 1, a.len - h.len - 2);
        if (rest.len == 0 || rest.p[0] != ':')
            return "CONNECT authority needs a port";
        p = str_make(rest.p + 1, rest.len - 1);
        uint8_t b[16];
        if (!parse_ip(h, AF_INET6, b))
            return "invalid IPv6 address in CONNECT authority";
    } else {
        const char *colon = memchr(a.p, ':', a.len);
        if (!colon)
            return "CONNECT authority needs a port";
        h = str_make(a.p, (size_t)(colon - a.p));
        p = str_make(colon + 1, a.len - h.len - 1);
        if (h.len == 0)
            return "empty host in CONNECT authority";
        if (h.len > CRULE_MAX_NAME + 1)
            return "host too long in CONNECT authority";
        if (!is_authority_name(h) || memchr(p.p, ':', p.len))
            return "invalid host in CONNECT authority";
    }
    unsigned v;
    if (!parse_num(p, 1, 65535, &v))
        return "invalid port in CONNECT authority";
    *host = h;
    *port = (uint16_t)v;
    return NULL;
}

static bool any_name_match(const struct crule *rules, size_t num, struct str host, bool is_lit,
                           uint16_t port)
{
    for (size_t i = 0; i < num; i++)
        if (name_match(&rules[i], host, is_lit) && port_match(&rules[i], port))
            return true;
    return false;
}

static bool any_addr_match(const struct crule *rules, size_t num, const struct addr_forms *f,
                           uint16_t port)
{
    for (size_t i = 0; i < num; i++)
        if (addr_match(&rules[i], f) && port_match(&rules[i], port))
            return true;
    return false;
}

static bool any_net_lists_port(const struct crule *rules, size_t num, uint16_t port)
{
    for (size_t i = 0; i < num; i++)
        if (rules[i].kind == CRULE_NET && port_match(&rules[i], port))
            return true;
    return false;
}

/* The shared core of both checks. lit is host's literal address, or NULL
 * when host is a name. */
static bool addr_allowed(const struct crule_set *set, struct str host,
                         const struct addr_forms *lit, const struct addr_forms *f, uint16_t port)
{
    if (any_name_match(set->deny, set->num_deny, host, lit != NULL, port) ||
        any_addr_match(set->deny, set->num_deny, f, port) ||
        (lit && any_addr_match(set->deny, set->num_deny, lit, port)))
        return false;
    return any_name_match(set->allow, set->num_allow, host, lit != NULL, port) ||
           any_addr_match(set->allow, set->num_allow, f, port);
}

enum crule_verdict crule_check_name(const struct crule_set *set, struct str host, uint16_t port)
{
    if (!set)
        return CRULE_DENY;
    host = strip_dot(host);
    struct addr_forms lit;
    if (forms_from_literal(&lit, host))
        return addr_allowed(set, host, &lit, &lit, port) ? CRULE_ALLOW : CRULE_DENY;
    if (any_name_match(set->deny, set->num_deny, host, false, port))
        return CRULE_DENY;
    bool by_name = any_name_match(set->allow, set->num_allow, host, false, port);
    if (!by_name && !any_net_lists_port(set->allow, set->num_allow, port))
        return CRULE_DENY;
    if (by_name && !any_net_lists_port(set->deny, set->num_deny, port))
        return CRULE_ALLOW;
    return CRULE_NEED_ADDR;
}

bool crule_check_addr(const struct crule_set *set, struct str host, const struct sockaddr *addr,
                      uint16_t port)
{
    struct addr_forms f, lit;
    if (!set || !forms_from_sockaddr(&f, addr))
        return false;
    host = strip_dot(host);
    bool is_lit = forms_from_literal(&lit, host);
    return addr_allowed(set, host, is_lit ? &lit : NULL, &f, port);
}
