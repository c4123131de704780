#include "proxy/xlate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/base64.h>
#include <openssl/sha.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "proxy/hdrs.h"
#include "proxy/xlate-int.h"

/* Checks one field line (without its CRLF); updates the framing state. */
static int check_field(struct str line, bool request, struct str *cl, bool *have_te)
{
    size_t i = 0;
    while (i < line.len && str_is_tchar((unsigned char)line.p[i]))
        i++;
    if (i == 0 || i == line.len || line.p[i] != ':')
        return H2G_ERR_PROTO;
    struct str name = str_make(line.p, i);
    /* RFC 9110 §5.5: SP, HTAB, VCHAR and obs-text only. http-parser lets
     * a NUL through at the start of a value (and it would be forwarded). */
    if (!str_is_field_value(str_make(line.p + i + 1, line.len - i - 1)))
        return H2G_ERR_PROTO;
    struct str value = str_trim(str_make(line.p + i + 1, line.len - i - 1));
    if (str_ieq(name, STR_LIT("content-length"))) {
        if (value.len == 0)
            return H2G_ERR_PROTO;
        for (size_t k = 0; k < value.len; k++) {
            if (value.p[k] < '0' || value.p[k] > '9')
                return H2G_ERR_PROTO;
        }
        if (cl->p && !str_eq(*cl, value))
            return H2G_ERR_PROTO;
        *cl = value;
    } else if (str_ieq(name, STR_LIT("transfer-encoding"))) {
        if (request && (*have_te || !str_ieq(value, STR_LIT("chunked"))))
            return H2G_ERR_PROTO;
        *have_te = true;
    } else if (request && name.len > 17 &&
               str_ieq(str_make(name.p, 17), STR_LIT("transfer-encoding"))) {
        /* http-parser 2.9 takes any name that starts so for
         * Transfer-Encoding, and refuses the request only after its head
         * was taken: h1srv would have sent it to a backend by then. */
        return H2G_ERR_PROTO;
    }
    return 0;
}

int xlate_h1_head_scan(const char *p, size_t len, bool request, size_t *head_len)
{
    struct str cl = STR_NULL;
    bool have_te = false;
    size_t line_start = 0;
    bool first = true;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\r') {
            if (i + 1 == len)
                return 0;
            if (p[i + 1] != '\n')
                return H2G_ERR_PROTO;
            continue;
        }
        if (p[i] != '\n')
            continue;
        if (i == 0 || p[i - 1] != '\r')
            return H2G_ERR_PROTO;
        struct str line = str_make(p + line_start, i - 1 - line_start);
        if (line.len == 0) {
            if (first)
                return H2G_ERR_PROTO;
            if (cl.p && have_te)
                return H2G_ERR_PROTO;
            *head_len = i + 1;
            return 1;
        }
        if (!first) {
            if (line.p[0] == ' ' || line.p[0] == '\t')
                return H2G_ERR_PROTO;
            if (check_field(line, request, &cl, &have_te) < 0)
                return H2G_ERR_PROTO;
        }
        first = false;
        line_start = i + 1;
    }
    return 0;
}

bool xlate_is_hop_field(struct str n)
{
    switch (n.len) {
    case 2:
        return str_eq(n, STR_LIT("te"));
    case 7:
        return str_eq(n, STR_LIT("upgrade"));
    case 10:
        return str_eq(n, STR_LIT("connection")) || str_eq(n, STR_LIT("keep-alive"));
    case 14:
        return str_eq(n, STR_LIT("http2-settings"));
    case 16:
        return str_eq(n, STR_LIT("proxy-connection"));
    case 17:
        return str_eq(n, STR_LIT("transfer-encoding"));
    default:
        return false;
    }
}

/* Takes list's next comma-separated element, trimmed (maybe empty), into
 * *elem; false when the list is used up. */
static bool list_next(struct str *list, struct str *elem)
{
    if (!list->p || list->len == 0)
        return false;
    size_t i = 0;
    while (i < list->len && list->p[i] != ',')
        i++;
    *elem = str_trim(str_make(list->p, i));
    if (i == list->len) {
        list->len = 0;
    } else {
        list->p += i + 1;
        list->len -= i + 1;
    }
    return true;
}

/* True as soon as one of list's elements is want, case aside. */
static bool list_has(struct str list, struct str want)
{
    struct str elem;
    while (list_next(&list, &elem)) {
        if (elem.len && str_ieq(elem, want))
            return true;
    }
    return false;
}

/* True when every element of list names a hop-by-hop field: a field it
 * names is dropped for that alone ("Connection: keep-alive"). */
static bool lists_only_hop(struct str list)
{
    struct str elem;
    while (list_next(&list, &elem)) {
        char low[32];
        if (elem.len > sizeof(low))
            return false;
        str_lower_copy(low, elem.p, elem.len);
        if (elem.len && !xlate_is_hop_field(str_make(low, elem.len)))
            return false;
    }
    return true;
}

static bool is_connection(const struct hdrs *h, size_t i)
{
    return h->f[i].name_len == 10 && str_eq(hdrs_name(h, i), STR_LIT("connection"));
}

/* The index of h's first Connection field, or -1 when there is none or
 * none names anything but hop-by-hop fields: what a loop asking
 * drop_field about each of h's fields looks up once, not once a field. */
static long first_connection(const struct hdrs *h)
{
    long first = hdrs_find(h, STR_LIT("connection"));
    if (first < 0)
        return -1;
    for (size_t i = (size_t)first; i < h->num; i++) {
        if (is_connection(h, i) &&
            !lists_only_hop(hdrs_value(h, i)))
            return first;
    }
    return -1;
}

static bool drop_field(const struct hdrs *h, struct str name, long conn)
{
    if (xlate_is_hop_field(name))
        return true;
    for (size_t i = conn < 0 ? h->num : (size_t)conn; i < h->num; i++) {
        if (is_connection(h, i) &&
            list_has(hdrs_value(h, i), name))
            return true;
    }
    return false;
}

bool xlate_drop_field(const struct hdrs *h, struct str name)
{
    return drop_field(h, name, first_connection(h));
}

enum xlate_upgrade xlate_req_upgrade(const struct hdrs *h)
{
    bool conn_upgrade = false, any = false, websocket = false;
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (str_eq(n, STR_LIT("connection"))) {
            conn_upgrade = conn_upgrade || list_has(hdrs_value(h, i), STR_LIT("upgrade"));
        } else if (str_eq(n, STR_LIT("upgrade"))) {
            any = any || str_trim(hdrs_value(h, i)).len > 0;
            websocket = websocket || list_has(hdrs_value(h, i), STR_LIT("websocket"));
        }
    }
    if (!conn_upgrade || !any)
        return XLATE_UPGRADE_NONE;
    return websocket ? XLATE_UPGRADE_WEBSOCKET : XLATE_UPGRADE_OTHER;
}

static void put(struct bufq *out, struct str s)
{
    bufq_append(out, s.p, s.len);
}

static void put_field(struct bufq *out, struct str name, struct str value)
{
    put(out, name);
    put(out, STR_LIT(": "));
    put(out, value);
    put(out, STR_LIT("\r\n"));
}

/* Writes every field called name as one line, values joined by sep,
 * followed by extra (when non-empty). Returns whether anything was written. */
static bool put_joined(struct bufq *out, const struct hdrs *h, struct str name, struct str sep,
                       struct str extra)
{
    bool any = false;
    for (size_t i = 0; i < h->num; i++) {
        if (!str_eq(hdrs_name(h, i), name))
            continue;
        if (!any) {
            put(out, name);
            put(out, STR_LIT(": "));
        } else {
            put(out, sep);
        }
        put(out, hdrs_value(h, i));
        any = true;
    }
    if (extra.len) {
        if (!any) {
            put(out, name);
            put(out, STR_LIT(": "));
        } else {
            put(out, sep);
        }
        put(out, extra);
        any = true;
    }
    if (any)
        put(out, STR_LIT("\r\n"));
    return any;
}

/* Fields h2gate never forwards as they came: it writes them itself
 * (host from :authority, framing, Via, X-Forwarded-*, and RFC 9440's
 * Client-Cert and Client-Cert-Chain, which only h2gate may vouch for), joins them
 * (cookie, HTTP/1.1 only) or answers them (expect). */
/* Request fields the translation writes itself (or leaves out) rather
 * than copies, by length first: asked once for every request field. */
static bool rewritten_name(struct str n)
{
    switch (n.len) {
    case 3:
        return str_eq(n, STR_LIT("via"));
    case 4:
        return str_eq(n, STR_LIT("host"));
    case 6:
        return str_eq(n, STR_LIT("expect"));
    case 9:
        return str_eq(n, STR_LIT("forwarded"));
    case 11:
        return str_eq(n, STR_LIT("client-cert"));
    case 14:
        return str_eq(n, STR_LIT("content-length"));
    case 15:
        return str_eq(n, STR_LIT("x-forwarded-for"));
    case 17:
        return str_eq(n, STR_LIT("x-forwarded-proto")) || str_eq(n, STR_LIT("client-cert-chain"));
    default:
        return false;
    }
}

/* conn: first_connection(h). */
static bool rewritten_req_field(const struct hdrs *h, struct str n, long conn)
{
    return rewritten_name(n) || drop_field(h, n, conn);
}

/* The list fields h2gate extends (X-Forwarded-For, X-Forwarded-Proto,
 * Forwarded, Via): name, whether the client's own values stay (in front),
 * and h2gate's value (empty: none added). */
struct fwd_list {
    struct str name;
    bool keep;
    struct str ours;
};

/* Which of the four list fields h has (bit i for fwd_lists' entry i): one
 * pass, so the joins below scan h only for fields that are there. */
static unsigned lists_present(const struct hdrs *h)
{
    unsigned bits = 0;
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (n.len < 3 || (n.p[0] != 'x' && n.p[0] != 'f' && n.p[0] != 'v'))
            continue;
        bits |= str_eq(n, STR_LIT("x-forwarded-for"))     ? 1u
                : str_eq(n, STR_LIT("x-forwarded-proto")) ? 2u
                : str_eq(n, STR_LIT("forwarded"))         ? 4u
                : str_eq(n, STR_LIT("via"))               ? 8u
                                                          : 0u;
    }
    return bits;
}

/* Fills lists (4 entries) for r and o; via holds the Via value's text.
 * keep is set only where the client sent such a field. */
static void fwd_lists(struct fwd_list *lists, const struct xlate_req *r,
                      const struct xlate_opts *o, char via[32])
{
    size_t vn = 0;
    if (o->via) {   /* "2 h2gate", "1.1 h2gate": no printf on every request */
        size_t pl = strlen(r->client_proto);
        memcpy(via, r->client_proto, pl);
        memcpy(via + pl, " h2gate", 7);
        vn = pl + 7;
    }
    unsigned present = lists_present(r->hdrs);
    struct str proto = r->tls ? STR_LIT("https") : STR_LIT("http");
    lists[0] = (struct fwd_list){ STR_LIT("x-forwarded-for"), !o->strip_xff && (present & 1),
                                  o->xff ? r->client_addr : STR_NULL };
    lists[1] = (struct fwd_list){ STR_LIT("x-forwarded-proto"), !o->strip_xfp && (present & 2),
                                  o->xfp ? proto : STR_NULL };
    lists[2] = (struct fwd_list){ STR_LIT("forwarded"), !o->strip_fwd && (present & 4), o->fwd };
    lists[3] = (struct fwd_list){ STR_LIT("via"), (present & 8) != 0, str_make(via, vn) };
}

/* "connection: upgrade" and "upgrade: <token>" (websocket when empty). */
static void put_upgrade(struct bufq *out, struct str token)
{
    put(out, STR_LIT("connection: upgrade\r\n"));
    put_field(out, STR_LIT("upgrade"), token.len ? token : STR_LIT("websocket"));
}

void xlate_req_h1(struct bufq *out, const struct xlate_req *r, const struct xlate_opts *o)
{
    const struct hdrs *h = r->hdrs;
    put(out, r->method);
    put(out, STR_LIT(" "));
    put(out, r->path);
    put(out, STR_LIT(" HTTP/1.1\r\n"));
    if (r->authority.len)
        put_field(out, STR_LIT("host"), r->authority);
    bool te_trailers = false;
    long conn = first_connection(h);
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (n.len && n.p[0] == ':')
            continue;
        if (str_eq(n, STR_LIT("te"))) {
            te_trailers = te_trailers || list_has(hdrs_value(h, i), STR_LIT("trailers"));
            continue;
        }
        if (rewritten_req_field(h, n, conn) || str_eq(n, STR_LIT("cookie")))
            continue;
        if (r->ws_key.len && str_eq(n, STR_LIT("sec-websocket-key")))
            continue;
        put_field(out, n, hdrs_value(h, i));
    }
    if (te_trailers)
        put(out, STR_LIT("te: trailers\r\n"));
    put_joined(out, h, STR_LIT("cookie"), STR_LIT("; "), STR_NULL);
    struct fwd_list lists[4];
    char via[32];
    fwd_lists(lists, r, o, via);
    for (size_t i = 0; i < 4; i++) {
        if (lists[i].keep)
            put_joined(out, h, lists[i].name, STR_LIT(", "), lists[i].ours);
        else if (lists[i].ours.len)
            put_field(out, lists[i].name, lists[i].ours);
    }
    if (o->client_cert.len)
        put_field(out, STR_LIT("client-cert"), o->client_cert);
    if (o->client_cert_chain.len)
        put_field(out, STR_LIT("client-cert-chain"), o->client_cert_chain);
    for (size_t i = 0; o->add && i < o->add->num; i++)
        put_field(out, str_cstr(o->add->v[i].name), str_cstr(o->add->v[i].value));
    if (r->websocket)
        put_upgrade(out, r->protocol);
    if (r->websocket && r->ws_key.len)
        put_field(out, STR_LIT("sec-websocket-key"), r->ws_key);
    if (r->content_length >= 0)
        bufq_appendf(out, "content-length: %lld\r\n", (long long)r->content_length);
    else if (r->chunked)
        put(out, STR_LIT("transfer-encoding: chunked\r\n"));
    put(out, STR_LIT("\r\n"));
}

/* Adds every field of h called name as one field of out, values joined by
 * ", ", followed by extra (when non-empty). */
static int add_joined(struct hdrs *out, const struct hdrs *h, struct str name, struct str extra)
{
    bool any = false;
    for (size_t i = 0; i < h->num; i++) {
        if (!str_eq(hdrs_name(h, i), name))
            continue;
        int rc = any ? hdrs_add_value_part(out, STR_LIT(", "))
                     : hdrs_add(out, name, STR_LIT(""), false);
        if (rc < 0 || hdrs_add_value_part(out, hdrs_value(h, i)) < 0)
            return H2G_ERR_TOO_BIG;
        any = true;
    }
    if (extra.len) {
        int rc = any ? hdrs_add_value_part(out, STR_LIT(", "))
                     : hdrs_add(out, name, STR_LIT(""), false);
        if (rc < 0 || hdrs_add_value_part(out, extra) < 0)
            return H2G_ERR_TOO_BIG;
    }
    return 0;
}

/* RFC 9113 §8.2.3: a Cookie may go as one field per cookie-pair, which
 * HPACK then indexes one by one, so a change in one cookie costs only its
 * own bytes. Split only while the request stays within the limits out
 * was made with less its slack for h2gate's own fields (h's number of
 * fields and bytes with the crumbs made so far, *extra, a crumb costing
 * the name's 6 bytes less "; "); past them the value goes whole. */
static int add_cookie(struct hdrs *out, const struct hdrs *h, struct str v, size_t *extra)
{
    size_t pieces = 1;
    for (const char *p = v.p, *end = v.p + v.len; (p = memchr(p, ';', (size_t)(end - p))); p++)
        pieces++;
    if (pieces == 1 || h->num + *extra + pieces + XLATE_H2_FIELDS_SLACK > out->max_fields + 1 ||
        h->buf_len + 4 * (*extra + pieces) + XLATE_H2_BYTES_SLACK > out->max_bytes)
        return hdrs_add(out, STR_LIT("cookie"), v, false);
    *extra += pieces - 1;
    while (v.len) {
        const char *semi = memchr(v.p, ';', v.len);
        size_t n = semi ? (size_t)(semi - v.p) : v.len;
        struct str c = str_trim(str_make(v.p, n));
        if (c.len && hdrs_add(out, STR_LIT("cookie"), c, false) < 0)
            return -1;
        v = semi ? str_make(semi + 1, v.len - n - 1) : str_make(v.p + n, 0);
    }
    return 0;
}

int xlate_req_h2(struct hdrs *out, const struct xlate_req *r, const struct xlate_opts *o)
{
    const struct hdrs *h = r->hdrs;
    int rc = hdrs_add(out, STR_LIT(":method"), r->websocket ? STR_LIT("CONNECT") : r->method,
                      false);
    rc |= hdrs_add(out, STR_LIT(":scheme"), r->scheme.len ? r->scheme : STR_LIT("http"), false);
    if (r->authority.len)
        rc |= hdrs_add(out, STR_LIT(":authority"), r->authority, false);
    rc |= hdrs_add(out, STR_LIT(":path"), r->path, false);
    if (r->websocket)
        rc |= hdrs_add(out, STR_LIT(":protocol"),
                       r->protocol.len ? r->protocol : STR_LIT("websocket"), false);
    if (rc)
        return H2G_ERR_TOO_BIG;
    bool te_trailers = false;
    size_t crumbs = 0;
    long conn = first_connection(h);
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (n.len && n.p[0] == ':')
            continue;
        if (r->websocket && str_eq(n, STR_LIT("sec-websocket-key")))
            continue;
        if (str_eq(n, STR_LIT("te"))) {
            te_trailers = te_trailers || list_has(hdrs_value(h, i), STR_LIT("trailers"));
            continue;
        }
        if (rewritten_req_field(h, n, conn))
            continue;
        if (o->crumble_cookies && str_eq(n, STR_LIT("cookie"))) {
            if (add_cookie(out, h, hdrs_value(h, i), &crumbs) < 0)
                return H2G_ERR_TOO_BIG;
            continue;
        }
        if (hdrs_add(out, n, hdrs_value(h, i), false) < 0)
            return H2G_ERR_TOO_BIG;
    }
    if (te_trailers && hdrs_add(out, STR_LIT("te"), STR_LIT("trailers"), false) < 0)
        return H2G_ERR_TOO_BIG;
    if (r->content_length >= 0) {
        char cl[24];
        int n = snprintf(cl, sizeof(cl), "%lld", (long long)r->content_length);
        if (hdrs_add(out, STR_LIT("content-length"), str_make(cl, (size_t)n), false) < 0)
            return H2G_ERR_TOO_BIG;
    }
    struct fwd_list lists[4];
    char via[32];
    fwd_lists(lists, r, o, via);
    for (size_t i = 0; i < 4; i++) {
        if (lists[i].keep)
            rc = add_joined(out, h, lists[i].name, lists[i].ours);
        else if (lists[i].ours.len)
            rc = hdrs_add(out, lists[i].name, lists[i].ours, false);
        if (rc < 0)
            return H2G_ERR_TOO_BIG;
    }
    if ((o->client_cert.len &&
         hdrs_add(out, STR_LIT("client-cert"), o->client_cert, false) < 0) ||
        (o->client_cert_chain.len &&
         hdrs_add(out, STR_LIT("client-cert-chain"), o->client_cert_chain, false) < 0))
        return H2G_ERR_TOO_BIG;
    for (size_t i = 0; o->add && i < o->add->num; i++)
        if (hdrs_add(out, str_cstr(o->add->v[i].name), str_cstr(o->add->v[i].value), false) < 0)
            return H2G_ERR_TOO_BIG;
    return 0;
}

bool xlate_trailer_ok(struct str n)
{
    return n.len && n.p[0] != ':' && !xlate_is_hop_field(n) &&
           !str_eq(n, STR_LIT("content-length")) && !str_eq(n, STR_LIT("host")) &&
           !str_eq(n, STR_LIT("trailer"));
}

uint32_t xlate_rst_code(uint32_t code)
{
    switch (code) {
    case 0x2: /* INTERNAL_ERROR */
    case 0x7: /* REFUSED_STREAM */
    case 0x8: /* CANCEL */
    case 0xa: /* CONNECT_ERROR */
    case 0xb: /* ENHANCE_YOUR_CALM */
    case 0xc: /* INADEQUATE_SECURITY */
    case 0xd: /* HTTP_1_1_REQUIRED */
        return code;
    default:
        return 0x2;
    }
}

const char *xlate_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

bool xlate_resp_bodyless(int status, bool head_request)
{
    return head_request || status / 100 == 1 || status == 204 || status == 304;
}

const char *xlate_http_date(void)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    static _Thread_local struct {
        time_t sec;
        char s[32];
    } c;
    time_t now = time(NULL);
    if (now != c.sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(c.s, sizeof(c.s), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        c.sec = now;
    }
    return c.s;
}

bool xlate_wants_date(const struct xlate_resp *r)
{
    if (!r->date || (r->hdrs && hdrs_find(r->hdrs, STR_LIT("date")) >= 0))
        return false;
    for (size_t i = 0; r->add && i < r->add->num; i++) {
        if (strcmp(r->add->v[i].name, "date") == 0)
            return false;
    }
    return true;
}

void xlate_resp_h1(struct bufq *out, const struct xlate_resp *r)
{
    bufq_appendf(out, "HTTP/1.1 %d %s\r\n", r->status, xlate_reason(r->status));
    const struct hdrs *h = r->hdrs;
    if (h) {
        long conn = first_connection(h);
        for (size_t i = 0; i < h->num; i++) {
            struct str n = hdrs_name(h, i);
            if (drop_field(h, n, conn) || str_eq(n, STR_LIT("content-length")) ||
                str_eq(n, STR_LIT("via")) || (r->server && str_eq(n, STR_LIT("server"))))
                continue;
            put_field(out, n, hdrs_value(h, i));
        }
    }
    if (r->backend_proto) {
        char via[32];
        int n = snprintf(via, sizeof(via), "%s h2gate", r->backend_proto);
        struct str v = str_make(via, (size_t)n);
        if (h)
            put_joined(out, h, STR_LIT("via"), STR_LIT(", "), v);
        else
            put_field(out, STR_LIT("via"), v);
    } else if (h) {
        put_joined(out, h, STR_LIT("via"), STR_LIT(", "), STR_NULL);
    }
    if (!h && !r->websocket)
        put_field(out, STR_LIT("content-type"),
                  str_cstr(r->content_type ? r->content_type : "text/plain; charset=utf-8"));
    if (r->websocket)
        put_upgrade(out, r->upgrade);
    else if (r->content_length >= 0)
        bufq_appendf(out, "content-length: %lld\r\n", (long long)r->content_length);
    else if (r->chunked)
        put(out, STR_LIT("transfer-encoding: chunked\r\n"));
    if (r->proxy_status)
        bufq_appendf(out, "proxy-status: h2gate; error=%s\r\n", r->proxy_status);
    if (r->auth_challenge)
        bufq_appendf(out, "proxy-authenticate: %s\r\n", r->auth_challenge);
    if (r->location)
        put_field(out, STR_LIT("location"), str_cstr(r->location));
    if (xlate_wants_date(r))
        put_field(out, STR_LIT("date"), str_cstr(r->date));
    if (r->server)
        put_field(out, STR_LIT("server"), str_cstr(r->server));
    for (size_t i = 0; r->add && i < r->add->num; i++)
        put_field(out, str_cstr(r->add->v[i].name), str_cstr(r->add->v[i].value));
    if (r->altsvc && !r->websocket)
        put_field(out, STR_LIT("alt-svc"), str_cstr(r->altsvc));
    if (!r->keep_alive && !r->websocket)
        put(out, STR_LIT("connection: close\r\n"));
    else if (r->keep_alive && r->http10)
        put(out, STR_LIT("connection: keep-alive\r\n"));
    put(out, STR_LIT("\r\n"));
}

void xlate_resp_config(struct xlate_resp *r, const struct config *cfg, bool h2)
{
    r->server = cfg->no_server_rewrite ? NULL : cfg->server_name ? cfg->server_name : "h2gate";
    r->add = &cfg->add_response_headers;
    r->altsvc = h2 ? cfg->http2_altsvc : cfg->altsvc;
    r->date = xlate_http_date();
}

size_t xlate_error_body(char *buf, size_t len, int status)
{
    int n = snprintf(buf, len, "%d %s\n", status, xlate_reason(status));
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* conn: first_connection(h). */
static bool passes(const struct hdrs *h, struct str name, enum xlate_filter filter, long conn)
{
    switch (filter) {
    case XLATE_END_TO_END:
        return !drop_field(h, name, conn);
    case XLATE_RESPONSE:
        return !drop_field(h, name, conn) && !str_eq(name, STR_LIT("server"));
    case XLATE_TRAILER:
        return xlate_trailer_ok(name);
    case XLATE_INTERIM:
        return !drop_field(h, name, conn) && !str_eq(name, STR_LIT("content-length"));
    case XLATE_ALL:
        break;
    }
    return true;
}

/* first_connection(h), when filter needs it. */
static long filter_connection(const struct hdrs *h, enum xlate_filter filter)
{
    return filter == XLATE_END_TO_END || filter == XLATE_RESPONSE || filter == XLATE_INTERIM
               ? first_connection(h)
               : -1;
}

static void put_fields(struct bufq *out, const struct hdrs *h, enum xlate_filter filter)
{
    long conn = filter_connection(h, filter);
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (passes(h, n, filter, conn))
            put_field(out, n, hdrs_value(h, i));
    }
}

/* The filtered fields of h into an HTTP/2 header block (xlate_h2.c
 * builds the rest): put_fields' twin, here so passes stays inline in both. */
void xlate_nv_add_hdrs(struct xlate_nv *nv, const struct hdrs *h, enum xlate_filter filter,
                       uint8_t flags)
{
    long conn = filter_connection(h, filter);
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (passes(h, n, filter, conn))
            xlate_nv_add(nv, n, hdrs_value(h, i), flags);
    }
}

void xlate_interim_h1(struct bufq *out, int status, const struct hdrs *h)
{
    bufq_appendf(out, "HTTP/1.1 %d %s\r\n", status, xlate_reason(status));
    put_fields(out, h, XLATE_INTERIM);
    put(out, STR_LIT("\r\n"));
}

void xlate_last_chunk_h1(struct bufq *out, const struct hdrs *trailers)
{
    put(out, STR_LIT("0\r\n"));
    put_fields(out, trailers, XLATE_TRAILER);
    put(out, STR_LIT("\r\n"));
}

size_t xlate_ws_accept(struct str key, char out[XLATE_WS_ACCEPT_LEN + 1])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, key.p, key.len);
    SHA1_Update(&c, guid, sizeof(guid) - 1);
    SHA1_Final(md, &c);
    return EVP_EncodeBlock((uint8_t *)out, md, sizeof(md));
}
