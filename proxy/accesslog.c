#include "proxy/accesslog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "proxy/alog_json.h"
#include "proxy/clientcert.h"
#include "proxy/hdrs.h"

#define DEFAULT_FORMAT                                                                  \
    "$remote_addr - - [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" " \
    "\"$http_user_agent\""

/* Variables: X(name, fragment type). Looked up case-insensitively. */
#define ALOG_VARS(X)                                         \
    X("remote_addr", REMOTE_ADDR)                            \
    X("remote_port", REMOTE_PORT)                            \
    X("server_port", SERVER_PORT)                            \
    X("time_local", TIME_LOCAL)                              \
    X("time_iso8601", TIME_ISO8601)                          \
    X("request", REQUEST)                                    \
    X("method", METHOD)                                      \
    X("path", PATH)                                          \
    X("path_without_query", PATH_WITHOUT_QUERY)              \
    X("protocol_version", PROTOCOL_VERSION)                  \
    X("status", STATUS)                                      \
    X("body_bytes_sent", BODY_BYTES_SENT)                    \
    X("request_time", REQUEST_TIME)                          \
    X("pid", PID)                                            \
    X("alpn", ALPN)                                          \
    X("tls_cipher", TLS_CIPHER)                              \
    X("ssl_cipher", TLS_CIPHER)                              \
    X("tls_protocol", TLS_PROTOCOL)                          \
    X("ssl_protocol", TLS_PROTOCOL)                          \
    X("tls_session_id", TLS_SESSION_ID)                      \
    X("ssl_session_id", TLS_SESSION_ID)                      \
    X("tls_session_reused", TLS_SESSION_REUSED)              \
    X("ssl_session_reused", TLS_SESSION_REUSED)              \
    X("tls_sni", TLS_SNI)                                    \
    X("tls_client_fingerprint_sha256", TLS_CLIENT_SHA256)    \
    X("tls_client_fingerprint_sha1", TLS_CLIENT_SHA1)        \
    X("tls_client_subject_name", TLS_CLIENT_SUBJECT)         \
    X("tls_client_issuer_name", TLS_CLIENT_ISSUER)           \
    X("tls_client_serial", TLS_CLIENT_SERIAL)                \
    X("backend_host", BACKEND_HOST)                          \
    X("backend_port", BACKEND_PORT)                          \
    X("scheme", SCHEME)                                      \
    X("tunnel_target", TUNNEL_TARGET)                        \
    X("tunnel_bytes_in", TUNNEL_BYTES_IN)                    \
    X("tunnel_bytes_out", TUNNEL_BYTES_OUT)                  \
    X("duration", DURATION)

/* Several names may map to one type (nghttpx's ssl_* aliases). */
enum frag_type {
    F_LITERAL,
    F_HTTP,      /* request header; value is its lower-case name */
    F_AUTHORITY, /* $http_host */
    F_REMOTE_ADDR,
    F_REMOTE_PORT,
    F_SERVER_PORT,
    F_TIME_LOCAL,
    F_TIME_ISO8601,
    F_REQUEST,
    F_METHOD,
    F_PATH,
    F_PATH_WITHOUT_QUERY,
    F_PROTOCOL_VERSION,
    F_STATUS,
    F_BODY_BYTES_SENT,
    F_REQUEST_TIME,
    F_PID,
    F_ALPN,
    F_TLS_CIPHER,
    F_TLS_PROTOCOL,
    F_TLS_SESSION_ID,
    F_TLS_SESSION_REUSED,
    F_TLS_SNI,
    F_TLS_CLIENT_SHA256,
    F_TLS_CLIENT_SHA1,
    F_TLS_CLIENT_SUBJECT,
    F_TLS_CLIENT_ISSUER,
    F_TLS_CLIENT_SERIAL,
    F_BACKEND_HOST,
    F_BACKEND_PORT,
    F_SCHEME,
    F_TUNNEL_TARGET,
    F_TUNNEL_BYTES_IN,
    F_TUNNEL_BYTES_OUT,
    F_DURATION,
};

struct var {
    const char *name;
    enum frag_type type;
};

static const struct var vars[] = {
#define VAR_ENTRY(name, type) { name, F_##type },
    ALOG_VARS(VAR_ENTRY)
#undef VAR_ENTRY
};

struct frag {
    enum frag_type type;
    struct str value; /* literal text or header name, inside alog_format.text */
    bool quoted;      /* json: stands alone between '"' (they are its own now) */
    size_t keep;      /* json: room the fragments after this one need */
};

struct alog_format {
    char *text; /* the compiled copy of the format string */
    struct frag *frags;
    size_t num_frags;
    enum alog_escape escape;
    size_t json_need; /* json: room the whole template needs, values aside */
    char pid[24];
};

/* The ready JSON object of --accesslog-json, compiled with
 * ALOG_ESCAPE_JSON: text between quotes, numbers bare. */
#define JSON_FORMAT                                                                        \
    "{\"time\":\"$time_iso8601\",\"remote_addr\":\"$remote_addr\","                        \
    "\"remote_port\":$remote_port,\"server_port\":$server_port,\"method\":\"$method\","    \
    "\"path\":\"$path\",\"protocol\":\"$protocol_version\",\"status\":$status,"            \
    "\"body_bytes_sent\":$body_bytes_sent,\"request_time\":$request_time,"                 \
    "\"host\":\"$http_host\",\"user_agent\":\"$http_user_agent\","                         \
    "\"referer\":\"$http_referer\",\"scheme\":\"$scheme\",\"alpn\":\"$alpn\","             \
    "\"backend_host\":\"$backend_host\",\"backend_port\":$backend_port,"                   \
    "\"tls_protocol\":\"$tls_protocol\",\"tls_cipher\":\"$tls_cipher\","                   \
    "\"tls_sni\":\"$tls_sni\",\"tls_session_reused\":$tls_session_reused,"                 \
    "\"tls_client_subject_name\":\"$tls_client_subject_name\","                             \
    "\"tls_client_fingerprint_sha256\":\"$tls_client_fingerprint_sha256\","                 \
    "\"tunnel_target\":\"$tunnel_target\",\"tunnel_bytes_in\":$tunnel_bytes_in,"           \
    "\"tunnel_bytes_out\":$tunnel_bytes_out,\"pid\":$pid}"

const char *alog_default_format(void)
{
    return DEFAULT_FORMAT;
}

const char *alog_default_tunnel_format(void)
{
    return DEFAULT_FORMAT " $duration $tunnel_bytes_in $tunnel_bytes_out";
}

const char *alog_json_format(void)
{
    return JSON_FORMAT;
}

static bool is_var_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static void add_frag(struct alog_format *f, size_t *cap, enum frag_type type, struct str v)
{
    if (f->num_frags == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        f->frags = xrealloc(f->frags, *cap * sizeof(*f->frags));
    }
    f->frags[f->num_frags++] = (struct frag){ .type = type, .value = v };
}

static bool lookup_var(struct str name, enum frag_type *type)
{
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (str_ieq(name, str_cstr(vars[i].name))) {
            *type = vars[i].type;
            return true;
        }
    }
    return false;
}

/* The widest a value of this type is in json mode; 0 for text, which is
 * cut to fit (and needs at most 4 bytes: null, or its two quotes). A
 * number or a time is never cut: it has its whole width kept free. */
static size_t json_width(enum frag_type t)
{
    switch (t) {
    case F_REMOTE_PORT: case F_SERVER_PORT: case F_STATUS: case F_BODY_BYTES_SENT:
    case F_PID: case F_BACKEND_PORT: case F_TUNNEL_BYTES_IN: case F_TUNNEL_BYTES_OUT:
        return 20; /* UINT64_MAX */
    case F_REQUEST_TIME: case F_DURATION:
        return 21; /* UINT64_MAX ms as seconds */
    case F_TIME_LOCAL: case F_TIME_ISO8601:
        return 32;
    case F_TLS_SESSION_REUSED:
        return 5;  /* false */
    default:
        return 0;
    }
}

/* json mode: a variable alone between '"' takes the quotes over (so it can
 * write null instead), and each fragment learns how much room the ones
 * after it need. Fails when the template leaves values too little room. */
static bool json_prepare(struct alog_format *f, char *err, size_t err_len)
{
    for (size_t i = 0; i < f->num_frags; i++) {
        struct frag *fr = &f->frags[i];
        if (fr->type == F_LITERAL || i == 0 || i + 1 == f->num_frags)
            continue;
        struct frag *a = &f->frags[i - 1], *b = &f->frags[i + 1];
        if (a->type != F_LITERAL || b->type != F_LITERAL || !a->value.len || !b->value.len ||
            a->value.p[a->value.len - 1] != '"' || b->value.p[0] != '"')
            continue;
        a->value.len--;
        b->value.p++;
        b->value.len--;
        fr->quoted = true;
    }
    size_t need = 0;
    for (size_t i = f->num_frags; i-- > 0;) {
        struct frag *fr = &f->frags[i];
        fr->keep = need;
        size_t w = json_width(fr->type);
        need += fr->type == F_LITERAL ? fr->value.len : w ? w + 2 * fr->quoted : 4;
    }
    f->json_need = need;
    if (need > ALOG_MAX_LINE / 2) {
        snprintf(err, err_len,
                 "a json template may have at most %d bytes of text and numbers (this one "
                 "needs %zu): values need the rest of the %d-byte line",
                 ALOG_MAX_LINE / 2, need, ALOG_MAX_LINE);
        return false;
    }
    return true;
}

/* Reads "$name" or "${name}" at t[*i] (t[*i] == '$'); sets *type and, for
 * $http_*, *value (the header name, rewritten in place to lower case). */
static bool parse_var(char *t, size_t len, size_t *i, enum frag_type *type, struct str *value,
                      char *err, size_t err_len)
{
    size_t dollar = (*i)++;
    bool braced = *i < len && t[*i] == '{';
    if (braced)
        (*i)++;
    size_t name_at = *i;
    while (*i < len && is_var_char(t[*i]))
        (*i)++;
    struct str name = str_make(t + name_at, *i - name_at);
    if (braced) {
        if (*i == len || t[*i] != '}') {
            snprintf(err, err_len, "missing '}' after ${%.*s", (int)name.len, name.p);
            return false;
        }
        (*i)++;
    }
    if (name.len == 0) {
        snprintf(err, err_len, "'$' without a variable name at offset %zu", dollar);
        return false;
    }
    *value = STR_NULL;
    if (lookup_var(name, type))
        return true;
    if (name.len < 5 || strncasecmp(name.p, "http_", 5) != 0) {
        snprintf(err, err_len, "unknown variable $%.*s", (int)name.len, name.p);
        return false;
    }
    if (name.len == 5) {
        snprintf(err, err_len, "$http_ needs a header name");
        return false;
    }
    /* the name is not part of any literal, so it is rewritten in place
     * into the lower-case header field name */
    char *h = t + name_at + 5;
    size_t hlen = name.len - 5;
    for (size_t k = 0; k < hlen; k++)
        h[k] = h[k] == '_' ? '-' : (h[k] >= 'A' && h[k] <= 'Z') ? (char)(h[k] + 32) : h[k];
    *value = str_make(h, hlen);
    *type = str_eq(*value, STR_LIT("host")) ? F_AUTHORITY : F_HTTP;
    return true;
}

struct alog_format *alog_format_compile_escaped(const char *fmt, enum alog_escape escape,
                                                char *err, size_t err_len)
{
    struct alog_format *f = xcalloc(1, sizeof(*f));
    size_t cap = 0;
    f->text = xstrdup(fmt);
    f->escape = escape;
    snprintf(f->pid, sizeof(f->pid), "%ld", (long)getpid());

    char *t = f->text;
    size_t len = strlen(t);
    size_t lit = 0; /* start of the pending literal */
    size_t i = 0;
    while (i < len) {
        if (t[i] != '$') {
            i++;
            continue;
        }
        size_t dollar = i;
        enum frag_type type;
        struct str value;
        if (!parse_var(t, len, &i, &type, &value, err, err_len)) {
            alog_format_free(f);
            return NULL;
        }
        if (dollar > lit)
            add_frag(f, &cap, F_LITERAL, str_make(t + lit, dollar - lit));
        add_frag(f, &cap, type, value);
        lit = i;
    }
    if (len > lit)
        add_frag(f, &cap, F_LITERAL, str_make(t + lit, len - lit));
    if (escape == ALOG_ESCAPE_JSON && !json_prepare(f, err, err_len)) {
        alog_format_free(f);
        return NULL;
    }
    return f;
}

struct alog_format *alog_format_compile(const char *fmt, char *err, size_t err_len)
{
    return alog_format_compile_escaped(fmt, ALOG_ESCAPE_DEFAULT, err, err_len);
}

void alog_format_free(struct alog_format *f)
{
    if (!f)
        return;
    free(f->frags);
    free(f->text);
    free(f);
}

/* ---- rendering into a bounded line ---- */

struct line {
    char *p;
    size_t len;
    size_t cap;   /* room for text; the '\n' always fits after it */
    size_t limit; /* json: escaped bytes the current value may still take */
    bool cut;     /* json: a value did not fit whole */
};

static void put(struct line *l, const char *s, size_t n)
{
    if (n > l->cap - l->len)
        n = l->cap - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void put_str(struct line *l, struct str s)
{
    put(l, s.p, s.len);
}

static void put_cstr(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_u64(struct line *l, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    put(l, tmp, (size_t)n);
}

static const char lower_hex[] = "0123456789abcdef";

/* nghttpx's escaping: control bytes, '"', '\\', DEL and non-ASCII bytes
 * become \xNN. An escape that does not fit whole is left out. */
static void put_escaped(struct line *l, struct str s)
{
    size_t run = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            continue;
        put(l, s.p + run, i - run);
        run = i + 1;
        if (l->cap - l->len < 4) {
            l->cap = l->len; /* full: nothing after a dropped escape */
            return;
        }
        char esc[4] = { '\\', 'x', lower_hex[c >> 4], lower_hex[c & 0xf] };
        put(l, esc, 4);
    }
    put(l, s.p + run, s.len - run);
}

/* JSON-escaped (proxy/alog_json.h), cut at a character boundary so that
 * `keep` bytes stay free (a closing quote) and the value's limit holds. */
static void put_json(struct line *l, struct str s, size_t keep)
{
    size_t room = l->cap - l->len;
    room = room > keep ? room - keep : 0;
    if (room > l->limit)
        room = l->limit;
    size_t used;
    size_t n = alog_json_escape(l->p + l->len, room, s, &used);
    l->len += n;
    l->limit -= n;
    l->cut |= used < s.len;
}

/* Seconds with millisecond resolution, truncated like nghttpx: "1.005". */
static void put_seconds_ms(struct line *l, double s)
{
    uint64_t ms = s > 0 ? (uint64_t)(s * 1000.0) : 0;
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
    put(l, tmp, (size_t)n);
}

/* Both time strings change once a second; each thread keeps its last
 * second formatted, which also keeps localtime_r (it takes glibc's
 * timezone lock) off most lines. */
struct time_cache {
    time_t sec;
    bool valid;
    char local[96];    /* 01/Feb/2024:10:20:30 +0900 */
    char iso_head[96]; /* 2024-02-01T10:20:30 */
    char iso_tz[32];   /* Z or +09:00 */
};

static _Thread_local struct time_cache tcache;

static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void fill_time_cache(time_t sec)
{
    if (tcache.valid && tcache.sec == sec)
        return;
    struct tm tm;
    localtime_r(&sec, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    long aoff = off < 0 ? -off : off;
    int oh = (int)(aoff / 3600), om = (int)(aoff % 3600 / 60);
    snprintf(tcache.local, sizeof(tcache.local), "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d",
             tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec, sign, oh, om);
    snprintf(tcache.iso_head, sizeof(tcache.iso_head), "%04d-%02d-%02dT%02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (off == 0)
        snprintf(tcache.iso_tz, sizeof(tcache.iso_tz), "Z");
    else
        snprintf(tcache.iso_tz, sizeof(tcache.iso_tz), "%c%02d:%02d", sign, oh, om);
    tcache.sec = sec;
    tcache.valid = true;
}

static double entry_time(const struct alog_entry *e)
{
    if (e->start_time > 0)
        return e->start_time;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_connect(const struct alog_entry *e)
{
    return str_eq(e->method, STR_LIT("CONNECT"));
}

/* $path as nghttpx logs it: CONNECT logs the authority (but an extended
 * CONNECT its :path); an empty path is "*" for OPTIONS and absent ("-")
 * otherwise. */
static struct str entry_path(const struct alog_entry *e)
{
    if (is_connect(e) && !e->ext_connect)
        return e->authority.len ? e->authority : e->tunnel_target;
    if (e->path.len)
        return e->path;
    return str_eq(e->method, STR_LIT("OPTIONS")) ? STR_LIT("*") : STR_NULL;
}

static struct str header_value(const struct alog_entry *e, struct str name, bool *found)
{
    *found = false;
    if (!e->req_headers)
        return STR_NULL;
    long i = hdrs_find(e->req_headers, name);
    if (i < 0)
        return STR_NULL;
    *found = true;
    return hdrs_value(e->req_headers, (size_t)i);
}

/* %{time_local} / %{time_iso8601}; whole milliseconds first, so 0.123
 * stored as 0.12299... stays .123 */
static void put_time(struct line *l, bool iso8601, const struct alog_entry *e)
{
    int64_t ms = (int64_t)(entry_time(e) * 1000.0 + 0.5);
    fill_time_cache((time_t)(ms / 1000));
    if (!iso8601) {
        put_cstr(l, tcache.local);
        return;
    }
    char tmp[8];
    snprintf(tmp, sizeof(tmp), ".%03u", (unsigned)(ms % 1000));
    put_cstr(l, tcache.iso_head);
    put_cstr(l, tmp);
    put_cstr(l, tcache.iso_tz);
}


/* The path up to '?'; a plain CONNECT's authority-form target is kept whole. */
static struct str entry_path_without_query(const struct alog_entry *e)
{
    struct str p = entry_path(e);
    if (p.len && (!is_connect(e) || e->ext_connect)) {
        const char *q = memchr(p.p, '?', p.len);
        if (q)
            p.len = (size_t)(q - p.p);
    }
    return p;
}

/* ---- a variable's value, then written in the format's escaping ---- */

enum val_kind {
    V_ABSENT,     /* "-" (json: null) */
    V_TEXT,       /* s: peer-supplied, escaped */
    V_NUM,        /* n */
    V_SECONDS,    /* d, with milliseconds */
    V_TIME_LOCAL,
    V_TIME_ISO,
    V_SESSION_ID, /* the entry's, in hex */
    V_BOOL,       /* n: "r"/"." (json: true/false) */
    V_REQUEST,    /* METHOD PATH PROTOCOL */
};

struct val {
    enum val_kind kind;
    struct str s;
    uint64_t n;
    double d;
};

static struct val text_or_absent(struct str s)
{
    return s.len ? (struct val){ .kind = V_TEXT, .s = s } : (struct val){ .kind = V_ABSENT };
}

static struct val num_or_absent(bool known, uint64_t n)
{
    return known ? (struct val){ .kind = V_NUM, .n = n } : (struct val){ .kind = V_ABSENT };
}

/* A request header's value (maybe empty), or absent. */
static struct val header_val(const struct alog_entry *e, struct str name)
{
    bool found;
    struct str v = header_value(e, name, &found);
    return found ? (struct val){ .kind = V_TEXT, .s = v } : (struct val){ .kind = V_ABSENT };
}

/* The TLS fields; absent on a cleartext connection. */
static struct val tls_val(enum frag_type type, const struct alog_entry *e)
{
    if (!e->tls_protocol)
        return (struct val){ .kind = V_ABSENT };
    switch (type) {
    case F_TLS_CIPHER:
        return text_or_absent(str_cstr(e->tls_cipher));
    case F_TLS_PROTOCOL:
        return text_or_absent(str_cstr(e->tls_protocol));
    case F_TLS_SESSION_REUSED:
        return (struct val){ .kind = V_BOOL, .n = e->tls_session_reused };
    case F_TLS_SESSION_ID:
        return e->tls_session_id && e->tls_session_id_len ? (struct val){ .kind = V_SESSION_ID }
                                                          : (struct val){ .kind = V_ABSENT };
    case F_TLS_SNI:
        return text_or_absent(e->tls_sni);
    default:
        break;
    }
    const struct clientcert *c = e->client_cert;
    if (!c)
        return (struct val){ .kind = V_ABSENT };
    switch (type) {
    case F_TLS_CLIENT_SHA256:
        return text_or_absent(str_cstr(c->sha256));
    case F_TLS_CLIENT_SHA1:
        return text_or_absent(str_cstr(c->sha1));
    case F_TLS_CLIENT_SUBJECT:
        return text_or_absent(str_cstr(c->subject));
    case F_TLS_CLIENT_ISSUER:
        return text_or_absent(str_cstr(c->issuer));
    case F_TLS_CLIENT_SERIAL:
        return text_or_absent(str_cstr(c->serial));
    default:
        return (struct val){ .kind = V_ABSENT };
    }
}

static struct val frag_val(const struct alog_format *f, const struct frag *fr,
                           const struct alog_entry *e)
{
    switch (fr->type) {
    case F_LITERAL:
        return (struct val){ .kind = V_ABSENT }; /* written by the caller */
    case F_HTTP:
        return header_val(e, fr->value);
    case F_AUTHORITY:
        return e->authority.len ? text_or_absent(e->authority) : header_val(e, STR_LIT("host"));
    case F_REMOTE_ADDR:
        return text_or_absent(e->remote_addr);
    case F_REMOTE_PORT:     /* 0: a unix: frontend's client, which has none */
        return num_or_absent(e->remote_port > 0, e->remote_port);
    case F_SERVER_PORT:
        return num_or_absent(e->server_port > 0, e->server_port);
    case F_TIME_LOCAL:
        return (struct val){ .kind = V_TIME_LOCAL };
    case F_TIME_ISO8601:
        return (struct val){ .kind = V_TIME_ISO };
    case F_REQUEST:
        return (struct val){ .kind = V_REQUEST };
    case F_METHOD:
        return text_or_absent(e->method);
    case F_PATH:
        return text_or_absent(entry_path(e));
    case F_PATH_WITHOUT_QUERY:
        return text_or_absent(entry_path_without_query(e));
    case F_PROTOCOL_VERSION:
        return text_or_absent(str_cstr(e->protocol));
    case F_STATUS:
        return num_or_absent(true, (uint64_t)(e->status > 0 ? e->status : 0));
    case F_BODY_BYTES_SENT:
        return num_or_absent(true, e->body_bytes_sent);
    case F_REQUEST_TIME:
    case F_DURATION:
        return (struct val){ .kind = V_SECONDS, .d = e->request_time_s };
    case F_PID:
        return (struct val){ .kind = V_TEXT, .s = str_cstr(f->pid) };
    case F_ALPN:
        return text_or_absent(str_cstr(e->alpn));
    case F_TLS_CIPHER: case F_TLS_PROTOCOL: case F_TLS_SESSION_REUSED: case F_TLS_SESSION_ID:
    case F_TLS_SNI: case F_TLS_CLIENT_SHA256: case F_TLS_CLIENT_SHA1:
    case F_TLS_CLIENT_SUBJECT: case F_TLS_CLIENT_ISSUER: case F_TLS_CLIENT_SERIAL:
        return tls_val(fr->type, e);
    case F_BACKEND_HOST:
        return text_or_absent(e->backend_host);
    case F_BACKEND_PORT:
        return num_or_absent(e->backend_host.len > 0 && e->backend_port > 0, e->backend_port);
    case F_SCHEME:
        return text_or_absent(e->scheme);
    case F_TUNNEL_TARGET:
        return text_or_absent(e->is_tunnel ? e->tunnel_target : STR_NULL);
    case F_TUNNEL_BYTES_IN:
        return num_or_absent(e->is_tunnel, e->tunnel_bytes_up);
    case F_TUNNEL_BYTES_OUT:
        return num_or_absent(e->is_tunnel, e->tunnel_bytes_down);
    }
    return (struct val){ .kind = V_ABSENT };
}

/* A value both escapings write the same way (digits, times, hex). */
static void put_plain(struct line *l, const struct val *v, const struct alog_entry *e)
{
    switch (v->kind) {
    case V_NUM:
        put_u64(l, v->n);
        break;
    case V_SECONDS:
        put_seconds_ms(l, v->d);
        break;
    case V_TIME_LOCAL:
    case V_TIME_ISO:
        put_time(l, v->kind == V_TIME_ISO, e);
        break;
    case V_SESSION_ID:
        for (size_t i = 0; i < e->tls_session_id_len; i++) {
            uint8_t b = e->tls_session_id[i];
            char hx[2] = { lower_hex[b >> 4], lower_hex[b & 0xf] };
            put(l, hx, 2);
        }
        break;
    default:
        break;
    }
}

/* nghttpx's way: "-" for what is absent, \xNN escapes. */
static void put_val_default(struct line *l, const struct val *v, const struct alog_entry *e)
{
    switch (v->kind) {
    case V_ABSENT:
        put(l, "-", 1);
        break;
    case V_TEXT:
        put_escaped(l, v->s);
        break;
    case V_BOOL:
        put(l, v->n ? "r" : ".", 1);
        break;
    case V_REQUEST: {
        struct str path = entry_path(e);
        if (e->method.len)
            put_escaped(l, e->method);
        else
            put(l, "-", 1);
        put(l, " ", 1);
        put_escaped(l, path.len ? path : STR_LIT("-"));
        put(l, " ", 1);
        put_cstr(l, e->protocol ? e->protocol : "-");
        break;
    }
    default:
        put_plain(l, v, e);
        break;
    }
}

/* json: null for what is absent; text JSON-escaped and cut to leave
 * room for the closing quote (the quotes are the fragment's if it stands
 * alone between them, else the template's). */
static void put_val_json(struct line *l, const struct val *v, bool quoted,
                         const struct alog_entry *e)
{
    if (v->kind == V_ABSENT) {
        put(l, "null", 4);
        return;
    }
    size_t keep = quoted;
    if (quoted)
        put(l, "\"", 1);
    switch (v->kind) {
    case V_TEXT:
        put_json(l, v->s, keep);
        break;
    case V_BOOL:
        put_cstr(l, v->n ? "true" : "false");
        break;
    case V_REQUEST: {
        struct str path = entry_path(e);
        put_json(l, e->method.len ? e->method : STR_LIT("-"), keep);
        put_json(l, STR_LIT(" "), keep);
        put_json(l, path.len ? path : STR_LIT("-"), keep);
        put_json(l, STR_LIT(" "), keep);
        put_json(l, str_cstr(e->protocol ? e->protocol : "-"), keep);
        break;
    }
    default:
        put_plain(l, v, e);
        break;
    }
    if (quoted)
        put(l, "\"", 1);
}

/* Renders one line into buf (ALOG_MAX_LINE bytes); returns its length,
 * '\n' included. In json mode every fragment leaves the room the ones
 * after it need (frag.keep), so the template's text and the numbers are
 * always written whole, and no text value takes more than `share`
 * escaped bytes. */
static size_t render_pass(const struct alog_format *f, const struct alog_entry *e, char *buf,
                          size_t share, bool *cut)
{
    const size_t cap = ALOG_MAX_LINE - 1;
    struct line l = { .p = buf, .cap = cap };
    bool json = f->escape == ALOG_ESCAPE_JSON;
    for (size_t i = 0; i < f->num_frags && (json || l.len < l.cap); i++) {
        const struct frag *fr = &f->frags[i];
        if (json)
            l.cap = cap - fr->keep;
        if (fr->type == F_LITERAL) {
            put_str(&l, fr->value);
            continue;
        }
        struct val v = frag_val(f, fr, e);
        l.limit = share;
        if (json)
            put_val_json(&l, &v, fr->quoted, e);
        else
            put_val_default(&l, &v, e);
    }
    buf[l.len++] = '\n';
    *cut = l.cut;
    return l.len;
}

/* The escaped length of a text value in json mode (0 for the others). */
static size_t json_text_len(const struct alog_format *f, const struct frag *fr,
                            const struct alog_entry *e)
{
    struct val v = frag_val(f, fr, e);
    if (v.kind == V_TEXT)
        return alog_json_escaped_len(v.s);
    if (v.kind != V_REQUEST)
        return 0;
    struct str path = entry_path(e);
    return alog_json_escaped_len(e->method.len ? e->method : STR_LIT("-")) + 2 +
           alog_json_escaped_len(path.len ? path : STR_LIT("-")) +
           strlen(e->protocol ? e->protocol : "-");
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The largest share such that the text values, each cut to it, fit the
 * room the template leaves them: short values stay whole, the long ones
 * split the rest evenly (max-min fair). */
static size_t fair_share(const struct alog_format *f, const struct alog_entry *e)
{
    size_t *lens = xmalloc(f->num_frags * sizeof(*lens)), n = 0;
    for (size_t i = 0; i < f->num_frags; i++) {
        if (f->frags[i].type != F_LITERAL)
            lens[n++] = json_text_len(f, &f->frags[i], e);
    }
    qsort(lens, n, sizeof(*lens), cmp_size);
    size_t left = ALOG_MAX_LINE - 1 - f->json_need, share = left;
    for (size_t i = 0; i < n; i++) {
        share = left / (n - i);
        if (lens[i] > share)
            break;
        left -= lens[i];
        share = left;
    }
    free(lens);
    return share;
}

static size_t render_line(const struct alog_format *f, const struct alog_entry *e, char *buf)
{
    bool cut;
    size_t n = render_pass(f, e, buf, SIZE_MAX, &cut);
    if (cut && f->escape == ALOG_ESCAPE_JSON)
        n = render_pass(f, e, buf, fair_share(f, e), &cut);
    return n;
}

size_t alog_render_line(const struct alog_format *f, const struct alog_entry *e,
                        char buf[ALOG_MAX_LINE])
{
    return render_line(f, e, buf);
}

void alog_render(const struct alog_format *f, const struct alog_entry *e, struct bufq *out)
{
    char buf[ALOG_MAX_LINE];
    size_t n = render_line(f, e, buf);
    bufq_append(out, buf, n);
}
