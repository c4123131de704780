#include "proxy/h1resp.h"

#include <string.h>

#include "common/str.h"

/* http-parser's default HTTP_MAX_HEADER_SIZE: a longer head is its error. */
#define HEAD_MAX (80 * 1024)

#define V STR_VCHAR
#define T STR_TCHAR
#define cls str_http_class

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The index of the first byte from s[i] on that is not a field-value byte
 * (len when there is none), eight at a time while none of them is below
 * 0x20 (CR, HTAB, the other controls) or DEL. */
static size_t value_end(const unsigned char *s, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= len) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t del = x ^ (0x7f * ones);
        if (((x - 0x20 * ones) & ~x & highs) | ((del - ones) & ~del & highs))
            break;
        i += 8;
    }
    while (i < len && (cls[s[i]] & V))
        i++;
    return i;
}

/* p[0..n) equals want, case aside. */
static bool named(const unsigned char *p, size_t n, struct str want)
{
    return str_ieq(str_make((const char *)p, n), want);
}

enum conn { CONN_NONE, CONN_KEEP_ALIVE, CONN_CLOSE };

struct scan {
    bool have_cl;
    uint64_t cl;
    enum conn conn;
};

/* Up to 18 digits, then spaces only (http-parser refuses an HTAB there). */
static bool parse_cl(const unsigned char *v, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t cl = 0;
    while (i < n && is_digit(v[i]) && i < 18)
        cl = cl * 10 + (uint64_t)(v[i++] - '0');
    if (i == 0)
        return false;
    while (i < n && v[i] == ' ')
        i++;
    *out = cl;
    return i == n;
}

/* Takes note of the fields that decide framing and persistence; false for
 * one the fast path leaves to http-parser. */
static bool note_field(struct scan *sc, const unsigned char *name, size_t nlen,
                       const unsigned char *v, size_t vlen)
{
    switch (nlen) {
    case 7:
        return !named(name, 7, STR_LIT("upgrade"));
    case 10:
        if (!named(name, 10, STR_LIT("connection")))
            return true;
        if (sc->conn != CONN_NONE)
            return false;
        if (vlen == 10 && named(v, 10, STR_LIT("keep-alive")))
            sc->conn = CONN_KEEP_ALIVE;
        else if (vlen == 5 && named(v, 5, STR_LIT("close")))
            sc->conn = CONN_CLOSE;
        else
            return false;
        return true;
    case 14:
        if (!named(name, 14, STR_LIT("content-length")))
            return true;
        if (sc->have_cl || !parse_cl(v, vlen, &sc->cl))
            return false;
        sc->have_cl = true;
        return true;
    case 16:
        return !named(name, 16, STR_LIT("proxy-connection"));
    default:
        /* http-parser 2.9 marks Transfer-Encoding as soon as a name starts
         * with it ("Transfer-Encoding-X" too), then refuses a length. */
        return nlen < 17 || !named(name, 17, STR_LIT("transfer-encoding"));
    }
}

/* "HTTP/1.x DDD[ reason]\r\n": the status, and where the fields start;
 * 0 when it is not a simple one. */
static size_t status_line(const unsigned char *s, size_t len, int *status)
{
    if (len < 14 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != ' ' || !is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]))
        return 0;
    int st = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (st < 200 || st > 599 || st == 204 || st == 304)
        return 0;
    size_t i = 12;
    if (s[i] == ' ')
        i = value_end(s, i + 1, len);
    if (i + 1 >= len || s[i] != '\r' || s[i + 1] != '\n')
        return 0;
    *status = st;
    return i + 2;
}

bool h1resp_simple(const char *p, size_t len, struct h1resp_head *h)
{
    const unsigned char *s = (const unsigned char *)p;
    if (len > HEAD_MAX)
        len = HEAD_MAX;
    size_t i = status_line(s, len, &h->status);
    if (i == 0)
        return false;
    struct scan sc = { false, 0, CONN_NONE };
    size_t nf = 0;
    for (;;) {
        if (i + 1 >= len)
            return false;
        if (s[i] == '\r') {
            if (s[i + 1] != '\n')
                return false;
            i += 2;
            break;
        }
        size_t n0 = i;
        while (i < len && (cls[s[i]] & T))
            i++;
        if (i == n0 || i >= len || s[i] != ':')
            return false;
        size_t nlen = i - n0;
        i++;
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t v0 = i;
        i = value_end(s, i, len);
        if (i + 1 >= len || s[i] != '\r' || s[i + 1] != '\n')
            return false;
        size_t vlen = i - v0;
        i += 2;
        /* Framing fields are judged as http-parser reads them, blanks and
         * all (it refuses an HTAB after a length). */
        if (nf == H1RESP_FIELDS_MAX || nlen > UINT16_MAX || vlen > UINT16_MAX ||
            !note_field(&sc, s + n0, nlen, s + v0, vlen))
            return false;
        while (vlen && (s[v0 + vlen - 1] == ' ' || s[v0 + vlen - 1] == '\t'))
            vlen--; /* not part of the value (RFC 9112 §5) */
        h->f[nf++] = (struct h1resp_field){ (uint32_t)n0, (uint32_t)v0, (uint16_t)nlen,
                                            (uint16_t)vlen };
    }
    if (!sc.have_cl)
        return false;
    h->head_len = i;
    h->content_length = sc.cl;
    h->keep_alive = s[7] == '1' ? sc.conn != CONN_CLOSE : sc.conn == CONN_KEEP_ALIVE;
    h->num_fields = nf;
    return true;
}
