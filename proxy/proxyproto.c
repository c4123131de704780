#include "proxy/proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

#define V1_MAX 107

static enum pp_result bad(const char **why, const char *msg)
{
    *why = msg;
    return PP_BAD;
}

/* The next space-delimited word of a v1 line into w (NUL-terminated). */
static bool v1_word(const char **p, const char *end, char *w, size_t cap)
{
    const char *s = *p;
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    const char *e = sp ? sp : end;
    if (e == s || (size_t)(e - s) >= cap)
        return false;
    memcpy(w, s, (size_t)(e - s));
    w[e - s] = '\0';
    *p = sp ? sp + 1 : end;
    return true;
}

/* "0" to "65535", no sign, no leading zero. */
static bool v1_port(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

static bool v1_addr(int family, const char *host, const char *port, struct sockaddr_storage *ss)
{
    uint16_t pn;
    if (!v1_port(port, &pn))
        return false;
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(pn);
        return inet_pton(AF_INET, host, &sin->sin_addr) == 1;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(pn);
    return inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n". */
static enum pp_result parse_v1(const uint8_t *p, size_t n, struct pp_header *out,
                               const char **why)
{
    const uint8_t *crlf = NULL;
    for (size_t i = 0; i + 1 < n && i + 1 < V1_MAX && !crlf; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            crlf = p + i;
    if (!crlf)
        return n >= V1_MAX ? bad(why, "PROXY v1 line without CRLF in 107 bytes")
                           : PP_NEED_MORE;
    out->version = 1;
    out->len = (size_t)(crlf - p) + 2;
    const char *s = (const char *)p + 6, *end = (const char *)crlf;
    char proto[8], src[48], dst[48], sport[8], dport[8];
    if (!v1_word(&s, end, proto, sizeof(proto)))
        return bad(why, "PROXY v1 without a protocol");
    if (strcmp(proto, "UNKNOWN") == 0) {
        out->local = true;
        return PP_DONE;
    }
    int fam = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
    if (!fam)
        return bad(why, "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
    if (!v1_word(&s, end, src, sizeof(src)) || !v1_word(&s, end, dst, sizeof(dst)) ||
        !v1_word(&s, end, sport, sizeof(sport)) || !v1_word(&s, end, dport, sizeof(dport)) ||
        s != end)
        return bad(why, "PROXY v1 line is not PROTO SRC DST SPORT DPORT");
    if (!v1_addr(fam, src, sport, &out->src) || !v1_addr(fam, dst, dport, &out->dst))
        return bad(why, "PROXY v1 address or port is malformed");
    out->local = false;
    return PP_DONE;
}

static enum pp_result parse_v2(const uint8_t *p, size_t n, struct pp_header *out,
                               const char **why)
{
    if (n < 16)
        return PP_NEED_MORE;
    if ((p[12] >> 4) != 2)
        return bad(why, "PROXY v2 with another version");
    unsigned cmd = p[12] & 0x0f, fam = p[13];
    size_t len = (size_t)p[14] << 8 | p[15];
    if (16 + len > PP_MAX_HEADER)
        return bad(why, "PROXY v2 header too long");
    if (cmd > 1)
        return bad(why, "PROXY v2 command is not LOCAL or PROXY");
    if (n < 16 + len)
        return PP_NEED_MORE;
    out->version = 2;
    out->len = 16 + len;
    const uint8_t *a = p + 16;
    memset(&out->src, 0, sizeof(out->src));
    memset(&out->dst, 0, sizeof(out->dst));
    out->local = cmd == 0 || fam == 0x00;   /* LOCAL, or AF_UNSPEC */
    if (out->local)
        return PP_DONE;
    if (fam == 0x11) {   /* TCP over IPv4 */
        if (len < 12)
            return bad(why, "PROXY v2 TCP4 addresses truncated");
        struct sockaddr_in *s4 = (struct sockaddr_in *)&out->src;
        struct sockaddr_in *d4 = (struct sockaddr_in *)&out->dst;
        s4->sin_family = d4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a, 4);
        memcpy(&d4->sin_addr, a + 4, 4);
        memcpy(&s4->sin_port, a + 8, 2);
        memcpy(&d4->sin_port, a + 10, 2);
        return PP_DONE;
    }
    if (fam == 0x21) {   /* TCP over IPv6 */
        if (len < 36)
            return bad(why, "PROXY v2 TCP6 addresses truncated");
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->src;
        struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&out->dst;
        s6->sin6_family = d6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a, 16);
        memcpy(&d6->sin6_addr, a + 16, 16);
        memcpy(&s6->sin6_port, a + 32, 2);
        memcpy(&d6->sin6_port, a + 34, 2);
        return PP_DONE;
    }
    return bad(why, "PROXY v2 family is not TCP over IPv4 or IPv6");
}

enum pp_result pp_parse(const uint8_t *p, size_t n, struct pp_header *out, const char **why)
{
    size_t m = n < sizeof(v2_sig) ? n : sizeof(v2_sig);
    if (memcmp(p, v2_sig, m) == 0)
        return n < sizeof(v2_sig) ? PP_NEED_MORE : parse_v2(p, n, out, why);
    m = n < 6 ? n : 6;
    if (memcmp(p, "PROXY ", m) == 0)
        return n < 6 ? PP_NEED_MORE : parse_v1(p, n, out, why);
    return bad(why, "no PROXY protocol header");
}
