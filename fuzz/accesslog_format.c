/* libFuzzer target: alog_format_compile + alog_render (proxy/accesslog.h).
 *
 * Input: the --accesslog-format text (any bytes; compiled from a
 * NUL-terminated copy, so it ends at the first NUL). A format that compiles
 * is rendered with four fixed entries: a TLS request with request headers
 * full of bytes that need escaping, a CONNECT tunnel, a request whose path
 * and headers are long enough to hit the ALOG_MAX_LINE cut, and a
 * cleartext OPTIONS * without request headers.
 * Checks beyond "no sanitizer report": a compile failure leaves a non-empty
 * NUL-terminated message (also in a 16-byte buffer); every rendered line is
 * 1..ALOG_MAX_LINE bytes and ends in '\n'. The same text is compiled as a
 * JSON template (ALOG_ESCAPE_JSON) and rendered with the same checks, and
 * the input bytes, escaped with alog_json_escape() into rooms of every
 * size up to a bound, must give valid UTF-8 with no raw control byte, '"'
 * or lone '\', each shorter cut a prefix of the longer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proxy/accesslog.h"
#include "proxy/alog_json.h"
#include "proxy/hdrs.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct buf_pool pool;
static struct hdrs hdrs_small, hdrs_long;
static char long_path[3000], long_value[2500];
static struct alog_entry entries[4];
static const uint8_t session_id[32] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x7f, 0x80 };

static void setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    buf_pool_init(&pool, 4);

    hdrs_init(&hdrs_small, 65536, 100);
    hdrs_add(&hdrs_small, STR_LIT("user-agent"), STR_LIT("curl/8.0 \"quoted\" \\ \x01\x7f\xff"), true);
    hdrs_add(&hdrs_small, STR_LIT("referer"), STR_LIT("https://example.com/?q=\xe2\x82\xac"), true);
    hdrs_add(&hdrs_small, STR_LIT("host"), STR_LIT("example.com"), true);
    hdrs_add(&hdrs_small, STR_LIT("x-empty"), STR_LIT(""), true);
    hdrs_add(&hdrs_small, STR_LIT("x-forwarded-for"), STR_LIT("192.0.2.1, 198.51.100.2"), true);

    memset(long_path, 'a', sizeof(long_path));
    long_path[0] = '/';
    long_path[1500] = '?';
    for (size_t i = 0; i < sizeof(long_value); i++)
        long_value[i] = (char)(i % 3 == 0 ? '"' : i % 3 == 1 ? '\x1b' : 'z');
    hdrs_init(&hdrs_long, 65536, 100);
    hdrs_add(&hdrs_long, STR_LIT("user-agent"), str_make(long_value, sizeof(long_value)), true);
    hdrs_add(&hdrs_long, STR_LIT("referer"), str_make(long_value, sizeof(long_value)), true);

    entries[0] = (struct alog_entry){
        .remote_addr = STR_LIT("2001:db8::1"),
        .remote_port = 51234,
        .server_port = 443,
        .start_time = 1706782830.123,
        .request_time_s = 0.042,
        .method = STR_LIT("GET"),
        .path = STR_LIT("/index.html?x=\"1\"&y=\\"),
        .authority = STR_LIT(""),
        .scheme = STR_LIT("https"),
        .protocol = "HTTP/2",
        .status = 200,
        .body_bytes_sent = UINT64_MAX,
        .alpn = "h2",
        .tls_protocol = "TLSv1.3",
        .tls_cipher = "TLS_AES_128_GCM_SHA256",
        .tls_sni = STR_LIT("example.com\n"),
        .tls_session_id = session_id,
        .tls_session_id_len = sizeof(session_id),
        .tls_session_reused = true,
        .backend_host = STR_LIT("10.0.0.1"),
        .backend_port = 8080,
        .req_headers = &hdrs_small,
    };
    entries[1] = (struct alog_entry){
        .remote_addr = STR_LIT("192.0.2.7"),
        .remote_port = 1,
        .server_port = 3000,
        .start_time = 0, /* now */
        .request_time_s = 12345.6789,
        .method = STR_LIT("CONNECT"),
        .authority = STR_LIT("target.example:443"),
        .protocol = "HTTP/1.1",
        .status = 200,
        .is_tunnel = true,
        .tunnel_target = STR_LIT("target.example:443"),
        .tunnel_bytes_up = 1,
        .tunnel_bytes_down = 0,
    };
    entries[2] = (struct alog_entry){
        .remote_addr = STR_LIT(""),
        .start_time = 1.5,
        .request_time_s = -1,
        .method = str_make(long_value, 100),
        .path = str_make(long_path, sizeof(long_path)),
        .authority = str_make(long_value, sizeof(long_value)),
        .protocol = NULL,
        .status = -1,
        .alpn = NULL,
        .tls_protocol = NULL,
        .tls_sni = str_make(long_value, sizeof(long_value)),
        .req_headers = &hdrs_long,
    };
    entries[3] = (struct alog_entry){
        .remote_addr = STR_LIT("127.0.0.1"),
        .start_time = 1e9,
        .method = STR_LIT("OPTIONS"),
        .path = STR_LIT(""),
        .authority = STR_LIT("h:80"),
        .protocol = "HTTP/1.0",
        .status = 204,
        .alpn = "http/1.1",
        .tls_cipher = "ignored without tls_protocol",
        .tls_session_id = session_id,
        .tls_session_id_len = 0,
        .backend_host = STR_LIT("b"),
        .is_tunnel = false,
        .tunnel_target = STR_LIT("not a tunnel:1"),
    };
}

/* Escaped text: UTF-8, no control byte, every '"' and '\\' escaped. */
static void check_escaped(const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        CHECK(c >= 0x20 && c != 0x7f && c != '"');
        if (c == '\\') {
            CHECK(i + 1 < n && strchr("\"\\bfnrtu", p[i + 1]) && p[i + 1]);
            i += p[i + 1] == 'u' ? 6 : 2;
            CHECK(i <= n);
            continue;
        }
        size_t k = alog_utf8_seq_len((const unsigned char *)p + i, n - i);
        CHECK(k > 0);
        i += k;
    }
}

static void fuzz_escape(const uint8_t *data, size_t size)
{
    static char whole[6 * 512], part[6 * 512];
    struct str s = str_make((const char *)data, size < 512 ? size : 512);
    size_t used;
    size_t n = alog_json_escape(whole, sizeof(whole), s, &used);
    CHECK(used == s.len);
    check_escaped(whole, n);
    for (size_t room = 0; room < n; room += 1 + room / 8) {
        size_t m = alog_json_escape(part, room, s, &used);
        CHECK(m <= room && used < s.len && memcmp(part, whole, m) == 0);
        check_escaped(part, m);
    }
}

static void render_all(const struct alog_format *f)
{
    static char line[ALOG_MAX_LINE + 1];
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        struct bufq out;
        bufq_init(&out, &pool);
        alog_render(f, &entries[i], &out);
        size_t n = bufq_len(&out);
        CHECK(n >= 1 && n <= ALOG_MAX_LINE);
        CHECK(bufq_peek(&out, line, sizeof(line)) == n);
        CHECK(line[n - 1] == '\n');
        bufq_cleanup(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    fuzz_escape(data, size);
    char *fmt = malloc(size + 1);
    CHECK(fmt);
    memcpy(fmt, data, size);
    fmt[size] = '\0';

    char err[256];
    err[0] = 'X';
    struct alog_format *f = alog_format_compile(fmt, err, sizeof(err));
    char small_err[16];
    struct alog_format *f2 = alog_format_compile(fmt, small_err, sizeof(small_err));
    CHECK((f == NULL) == (f2 == NULL));
    if (!f) {
        CHECK(strnlen(err, sizeof(err)) < sizeof(err) && err[0] != '\0');
        CHECK(strnlen(small_err, sizeof(small_err)) < sizeof(small_err));
        free(fmt);
        return 0;
    }
    struct alog_format *fj = alog_format_compile_escaped(fmt, ALOG_ESCAPE_JSON, err,
                                                         sizeof(err));
    free(fmt); /* the format keeps its own copy */
    render_all(f);
    if (fj)
        render_all(fj);
    alog_format_free(fj);
    alog_format_free(f);
    alog_format_free(f2);
    alog_format_free(NULL);
    return 0;
}
