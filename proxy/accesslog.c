#include "proxy/accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xalloc.h"
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
    X("tls_client_fingerprint_sha256", TLS_CLIENT_CERT)      \
    X("tls_client_fingerprint_sha1", TLS_CLIENT_CERT)        \
    X("tls_client_subject_name", TLS_CLIENT_CERT)            \
    X("tls_client_issuer_name", TLS_CLIENT_CERT)             \
    X("tls_client_serial", TLS_CLIENT_CERT)                  \
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
    F_TLS_CLIENT_CERT,
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
};

struct alog_format {
    char *text; /* the compiled copy of the format string */
    struct frag *frags;
    size_t num_frags;
    char pid[24];
};

const char *alog_default_format(void)
{
    return DEFAULT_FORMAT;
}

const char *alog_default_tunnel_format(void)
{
    return DEFAULT_FORMAT " $duration $tunnel_bytes_in $tunnel_bytes_out";
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
    f->frags[f->num_frags++] = (struct frag){ type, v };
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

struct alog_format *alog_format_compile(const char *fmt, char *err, size_t err_len)
{
    struct alog_format *f = xcalloc(1, sizeof(*f));
    size_t cap = 0;
    f->text = xstrdup(fmt);
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
        size_t dollar = i++;
        bool braced = i < len && t[i] == '{';
        if (braced)
            i++;
        size_t name_at = i;
        while (i < len && is_var_char(t[i]))
            i++;
        struct str name = str_make(t + name_at, i - name_at);
        if (braced) {
            if (i == len || t[i] != '}') {
                snprintf(err, err_len, "missing '}' after ${%.*s", (int)name.len, name.p);
                goto fail;
            }
            i++;
        }
        if (name.len == 0) {
            snprintf(err, err_len, "'$' without a variable name at offset %zu", dollar);
            goto fail;
        }

        enum frag_type type;
        struct str value = STR_NULL;
        if (!lookup_var(name, &type)) {
            if (name.len < 5 || strncasecmp(name.p, "http_", 5) != 0) {
                snprintf(err, err_len, "unknown variable $%.*s", (int)name.len, name.p);
                goto fail;
            }
            if (name.len == 5) {
                snprintf(err, err_len, "$http_ needs a header name");
                goto fail;
            }
            /* the name is not part of any literal, so it is rewritten in
             * place into the lower-case header field name */
            char *h = t + name_at + 5;
            size_t hlen = name.len - 5;
            for (size_t k = 0; k < hlen; k++)
                h[k] = h[k] == '_' ? '-' : (h[k] >= 'A' && h[k] <= 'Z') ? (char)(h[k] + 32) : h[k];
            value = str_make(h, hlen);
            type = str_eq(value, STR_LIT("host")) ? F_AUTHORITY : F_HTTP;
        }
        if (dollar > lit)
            add_frag(f, &cap, F_LITERAL, str_make(t + lit, dollar - lit));
        add_frag(f, &cap, type, value);
        lit = i;
    }
    if (len > lit)
        add_frag(f, &cap, F_LITERAL, str_make(t + lit, len - lit));
    return f;

fail:
    alog_format_free(f);
    return NULL;
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
    size_t cap; /* room for text; the '\n' always fits after it */
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

static void put_dash(struct line *l)
{
    put(l, "-", 1);
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

static void put_escaped_or_dash(struct line *l, struct str s)
{
    if (s.len)
        put_escaped(l, s);
    else
        put_dash(l);
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
 * CONNECT its :path); an empty path is "*" for OPTIONS and "-" otherwise. */
static struct str entry_path(const struct alog_entry *e)
{
    if (is_connect(e) && !e->ext_connect) {
        struct str a = e->authority.len ? e->authority : e->tunnel_target;
        return a.len ? a : STR_LIT("-");
    }
    if (e->path.len)
        return e->path;
    return str_eq(e->method, STR_LIT("OPTIONS")) ? STR_LIT("*") : STR_LIT("-");
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
    if (!is_connect(e) || e->ext_connect) {
        const char *q = memchr(p.p, '?', p.len);
        if (q)
            p.len = (size_t)(q - p.p);
    }
    return p;
}

static void put_session_id(struct line *l, const struct alog_entry *e)
{
    if (!e->tls_protocol || !e->tls_session_id || e->tls_session_id_len == 0) {
        put_dash(l);
        return;
    }
    for (size_t i = 0; i < e->tls_session_id_len; i++) {
        char hx[2] = { lower_hex[e->tls_session_id[i] >> 4], lower_hex[e->tls_session_id[i] & 0xf] };
        put(l, hx, 2);
    }
}

/* A request header's value, or "-" when the request had none. */
static void put_header(struct line *l, const struct alog_entry *e, struct str name)
{
    bool found;
    struct str v = header_value(e, name, &found);
    if (found)
        put_escaped(l, v);
    else
        put_dash(l);
}

static void put_u64_or_dash(struct line *l, bool known, uint64_t n)
{
    if (known)
        put_u64(l, n);
    else
        put_dash(l);
}

/* A TLS field that is a plain string; "-" on a cleartext connection. */
static const char *tls_field(enum frag_type type, const struct alog_entry *e)
{
    if (!e->tls_protocol)
        return "-";
    switch (type) {
    case F_TLS_CIPHER:
        return e->tls_cipher ? e->tls_cipher : "-";
    case F_TLS_PROTOCOL:
        return e->tls_protocol;
    case F_TLS_SESSION_REUSED:
        return e->tls_session_reused ? "r" : ".";
    default:
        return "-";  /* %{tls_client_cert}: no client certificates yet */
    }
}

static void put_frag(struct line *l, const struct alog_format *f, const struct frag *fr,
                     const struct alog_entry *e)
{
    switch (fr->type) {
    case F_LITERAL:
        put_str(l, fr->value);
        break;
    case F_HTTP:
        put_header(l, e, fr->value);
        break;
    case F_AUTHORITY:
        if (e->authority.len > 0)
            put_escaped(l, e->authority);
        else
            put_header(l, e, STR_LIT("host"));
        break;
    case F_REMOTE_ADDR:
        put_escaped_or_dash(l, e->remote_addr);
        break;
    case F_REMOTE_PORT:
        put_u64(l, e->remote_port);
        break;
    case F_SERVER_PORT:
        put_u64(l, e->server_port);
        break;
    case F_TIME_LOCAL:
    case F_TIME_ISO8601:
        put_time(l, fr->type == F_TIME_ISO8601, e);
        break;
    case F_REQUEST:
        put_escaped_or_dash(l, e->method);
        put(l, " ", 1);
        put_escaped(l, entry_path(e));
        put(l, " ", 1);
        /* fall through */
    case F_PROTOCOL_VERSION:
        put_cstr(l, e->protocol ? e->protocol : "-");
        break;
    case F_METHOD:
        put_escaped_or_dash(l, e->method);
        break;
    case F_PATH:
        put_escaped(l, entry_path(e));
        break;
    case F_PATH_WITHOUT_QUERY:
        put_escaped(l, entry_path_without_query(e));
        break;
    case F_STATUS:
        put_u64(l, (uint64_t)(e->status > 0 ? e->status : 0));
        break;
    case F_BODY_BYTES_SENT:
        put_u64(l, e->body_bytes_sent);
        break;
    case F_REQUEST_TIME:
    case F_DURATION:
        put_seconds_ms(l, e->request_time_s);
        break;
    case F_PID:
        put_cstr(l, f->pid);
        break;
    case F_ALPN:
        put_escaped_or_dash(l, str_cstr(e->alpn));
        break;
    case F_TLS_CIPHER:
    case F_TLS_PROTOCOL:
    case F_TLS_SESSION_REUSED:
    case F_TLS_CLIENT_CERT:
        put_cstr(l, tls_field(fr->type, e));
        break;
    case F_TLS_SESSION_ID:
        put_session_id(l, e);
        break;
    case F_TLS_SNI:
        put_escaped_or_dash(l, e->tls_sni);
        break;
    case F_BACKEND_HOST:
        put_escaped_or_dash(l, e->backend_host);
        break;
    case F_BACKEND_PORT:
        put_u64_or_dash(l, e->backend_host.len > 0, e->backend_port);
        break;
    case F_SCHEME:
        put_escaped_or_dash(l, e->scheme);
        break;
    case F_TUNNEL_TARGET:
        put_escaped_or_dash(l, e->is_tunnel ? e->tunnel_target : (struct str){ 0 });
        break;
    case F_TUNNEL_BYTES_IN:
        put_u64_or_dash(l, e->is_tunnel, e->tunnel_bytes_up);
        break;
    case F_TUNNEL_BYTES_OUT:
        put_u64_or_dash(l, e->is_tunnel, e->tunnel_bytes_down);
        break;
    }
}

/* Renders one line into buf (ALOG_MAX_LINE bytes); returns its length,
 * '\n' included. */
static size_t render_line(const struct alog_format *f, const struct alog_entry *e, char *buf)
{
    struct line l = { buf, 0, ALOG_MAX_LINE - 1 };
    for (size_t i = 0; i < f->num_frags && l.len < l.cap; i++)
        put_frag(&l, f, &f->frags[i], e);
    buf[l.len++] = '\n';
    return l.len;
}

void alog_render(const struct alog_format *f, const struct alog_entry *e, struct bufq *out)
{
    char buf[ALOG_MAX_LINE];
    size_t n = render_line(f, e, buf);
    bufq_append(out, buf, n);
}

/* ---- the per-worker writer ---- */

#define WRITER_BUF_CAP (ALOG_FLUSH_BYTES + ALOG_MAX_LINE)

struct alog_writer {
    char *path;     /* NULL for standard output or error */
    int fd;
    bool owns_fd;
    bool regular;   /* regular file: any batch size; else batches <= PIPE_BUF */
    size_t len;     /* buffered bytes, always whole lines */
    uint64_t num_dropped;
    char buf[WRITER_BUF_CAP];
};

static int std_fd_for(const char *path)
{
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0 ||
        strcmp(path, "/proc/self/fd/1") == 0)
        return STDOUT_FILENO;
    if (strcmp(path, "/dev/stderr") == 0 || strcmp(path, "/proc/self/fd/2") == 0)
        return STDERR_FILENO;
    return -1;
}

static bool fd_is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

struct alog_writer *alog_writer_new(const char *path)
{
    int fd = std_fd_for(path);
    bool owns = false;
    if (fd < 0) {
        fd = open_log(path);
        if (fd < 0)
            return NULL;
        owns = true;
    }
    struct alog_writer *w = xmalloc(sizeof(*w));
    w->path = owns ? xstrdup(path) : NULL;
    w->fd = fd;
    w->owns_fd = owns;
    w->regular = fd_is_regular(fd);
    w->len = 0;
    w->num_dropped = 0;
    return w;
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
        lines++;
    return lines;
}

/* Writes p[0..n) fully; n ends at a line end. Returns 0, 1 on EAGAIN (with
 * *done set to what was written), or -1. */
static int write_all(int fd, const char *p, size_t n, size_t *done)
{
    *done = 0;
    while (*done < n) {
        ssize_t r = write(fd, p + *done, n - *done);
        if (r >= 0) {
            *done += (size_t)r;
            continue;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    }
    return 0;
}

int alog_writer_flush(struct alog_writer *w)
{
    size_t off = 0;
    int rv = 0;
    while (off < w->len) {
        size_t n = w->len - off;
        if (!w->regular && n > PIPE_BUF) {
            /* the last whole line within PIPE_BUF; a line is never longer
             * than ALOG_MAX_LINE <= PIPE_BUF */
            const char *nl = memrchr(w->buf + off, '\n', PIPE_BUF);
            n = (size_t)(nl - (w->buf + off)) + 1;
        }
        size_t done;
        int r = write_all(w->fd, w->buf + off, n, &done);
        off += done;
        if (r == 1)
            break; /* keep the rest for the next flush */
        if (r < 0) {
            w->num_dropped += count_lines(w->buf + off, w->len - off);
            off = w->len;
            rv = H2G_ERR_IO;
        }
    }
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return rv;
}

_Static_assert(ALOG_MAX_LINE <= PIPE_BUF, "a line must fit one atomic pipe write");

void alog_write(struct alog_writer *w, const struct alog_format *f, const struct alog_entry *e)
{
    if (WRITER_BUF_CAP - w->len < ALOG_MAX_LINE)
        alog_writer_flush(w);
    if (WRITER_BUF_CAP - w->len < ALOG_MAX_LINE) {
        w->num_dropped++;
        return;
    }
    w->len += render_line(f, e, w->buf + w->len);
    if (w->len >= ALOG_FLUSH_BYTES)
        alog_writer_flush(w);
}

int alog_writer_reopen(struct alog_writer *w)
{
    alog_writer_flush(w);
    if (!w->owns_fd)
        return 0;
    int fd = open_log(w->path);
    if (fd < 0)
        return H2G_ERR_IO;
    close(w->fd);
    w->fd = fd;
    w->regular = fd_is_regular(fd);
    return 0;
}

uint64_t alog_writer_num_dropped(const struct alog_writer *w)
{
    return w->num_dropped;
}

void alog_writer_free(struct alog_writer *w)
{
    if (!w)
        return;
    alog_writer_flush(w);
    if (w->owns_fd)
        close(w->fd);
    free(w->path);
    free(w);
}
