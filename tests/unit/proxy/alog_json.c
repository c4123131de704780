/* Unit tests for proxy/alog_json.c (JSON string escaping) and the json
 * escaping of proxy/accesslog.c: --accesslog-json's object, JSON
 * templates (--accesslog-escape=json), and lines cut at ALOG_MAX_LINE
 * that must still parse. A small JSON checker below parses every line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "proxy/accesslog.h"
#include "proxy/alog_json.h"
#include "proxy/clientcert.h"
#include "proxy/hdrs.h"

/* 2024-02-01T10:20:30.123Z */
#define T0 1706782830.123

/* ---- a strict JSON checker (RFC 8259), independent of the escaper ---- */

struct jp {
    const unsigned char *p, *end;
};

static void ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool lit(struct jp *j, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
        return false;
    j->p += n;
    return true;
}

/* Strict UTF-8 by the table of RFC 3629, written out again here. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
             : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (size_t)(end - p) < n)
        return 0;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static bool jstring(struct jp *j)
{
    if (!lit(j, "\""))
        return false;
    while (j->p < j->end && *j->p != '"') {
        if (*j->p < 0x20)
            return false;
        if (*j->p == '\\') {
            j->p++;
            if (j->p >= j->end)
                return false;
            if (*j->p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (j->p + i >= j->end || !strchr("0123456789abcdefABCDEF", j->p[i]))
                        return false;
                }
                j->p += 5;
            } else if (strchr("\"\\/bfnrt", *j->p) && *j->p) {
                j->p++;
            } else {
                return false;
            }
            continue;
        }
        size_t n = utf8_len(j->p, j->end);
        if (!n)
            return false;
        j->p += n;
    }
    return lit(j, "\"");
}

static bool jnumber(struct jp *j)
{
    const unsigned char *s = j->p;
    lit(j, "-");
    if (lit(j, "0")) {
    } else if (j->p < j->end && *j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    } else {
        return false;
    }
    if (lit(j, ".")) {
        const unsigned char *d = j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
        if (j->p == d)
            return false;
    }
    return j->p > s;
}

static bool jvalue(struct jp *j);

static bool jobject(struct jp *j)
{
    if (!lit(j, "{"))
        return false;
    ws(j);
    if (lit(j, "}"))
        return true;
    do {
        ws(j);
        if (!jstring(j))
            return false;
        ws(j);
        if (!lit(j, ":") || !jvalue(j))
            return false;
        ws(j);
    } while (lit(j, ","));
    return lit(j, "}");
}

static bool jvalue(struct jp *j)
{
    ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': return jobject(j);
    case '"': return jstring(j);
    case 't': return lit(j, "true");
    case 'f': return lit(j, "false");
    case 'n': return lit(j, "null");
    default: return jnumber(j);
    }
}

/* A whole line: one JSON value, then '\n', nothing else. */
static bool json_line_ok(const char *s, size_t n)
{
    if (n == 0 || s[n - 1] != '\n')
        return false;
    struct jp j = { (const unsigned char *)s, (const unsigned char *)s + n - 1 };
    if (!jvalue(&j))
        return false;
    ws(&j);
    return j.p == j.end;
}

/* ---- the escaper ---- */

static char *esc(struct str s)
{
    char *out = xmalloc(s.len * 6 + 1);
    size_t used;
    size_t n = alog_json_escape(out, s.len * 6, s, &used);
    assert_int_equal(used, s.len);
    out[n] = '\0';
    return out;
}

#define assert_esc(in, expected)                              \
    do {                                                      \
        char *got_ = esc(STR_LIT(in));                        \
        assert_string_equal(got_, expected);                  \
        free(got_);                                           \
    } while (0)

static void test_every_single_byte(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        char in = (char)b, out[8];
        size_t n = alog_json_escape(out, sizeof(out), str_make(&in, 1), NULL);
        out[n] = '\0';
        char want[8];
        if (b == '"' || b == '\\')
            snprintf(want, sizeof(want), "\\%c", b);
        else if (b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t')
            snprintf(want, sizeof(want), "\\%c", "bfnrt"[strchr("\b\f\n\r\t", (int)b) -
                                                        "\b\f\n\r\t"]);
        else if (b < 0x20 || b >= 0x7f) /* controls, DEL, lone non-ASCII bytes */
            snprintf(want, sizeof(want), "\\u00%02x", b);
        else
            snprintf(want, sizeof(want), "%c", b);
        if (strcmp(out, want) != 0)
            fail_msg("byte 0x%02x: got \"%s\", want \"%s\"", b, out, want);
        char line[16];
        int ll = snprintf(line, sizeof(line), "\"%s\"\n", out);
        assert_true(json_line_ok(line, (size_t)ll));
    }
}

static void test_utf8_kept_and_invalid_escaped(void **state)
{
    (void)state;
    /* well-formed: 2, 3 and 4 bytes, the edges of each range */
    assert_esc("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_esc("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf",
               "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf");
    /* overlong forms, surrogates, above U+10FFFF: byte by byte */
    assert_esc("\xc0\xaf", "\\u00c0\\u00af");
    assert_esc("\xc1\xbf", "\\u00c1\\u00bf");
    assert_esc("\xe0\x9f\xbf", "\\u00e0\\u009f\\u00bf");
    assert_esc("\xed\xa0\x80", "\\u00ed\\u00a0\\u0080");
    assert_esc("\xf0\x8f\xbf\xbf", "\\u00f0\\u008f\\u00bf\\u00bf");
    assert_esc("\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080");
    assert_esc("\xf5\x80\x80\x80", "\\u00f5\\u0080\\u0080\\u0080");
    /* truncated sequences: at the end, and followed by ASCII */
    assert_esc("a\xe2\x82", "a\\u00e2\\u0082");
    assert_esc("\xf0\x9f\x98(", "\\u00f0\\u009f\\u0098(");
    assert_esc("\xc3(", "\\u00c3(");
    /* a lone continuation byte, then a good sequence */
    assert_esc("\x80\xc3\xa9", "\\u0080\xc3\xa9");
    /* quotes, backslashes and what looks like an escape stay literal */
    assert_esc("a\"b\\c\\u0041", "a\\\"b\\\\c\\\\u0041");
    assert_int_equal(alog_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
    assert_int_equal(alog_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 2), 0);
    assert_int_equal(alog_utf8_seq_len((const unsigned char *)"A", 1), 1);
}

/* Every cut of a hostile value is a prefix of the whole escape that ends
 * at a character boundary, and reports what it consumed. */
static void test_cut_never_splits(void **state)
{
    (void)state;
    struct str s = STR_LIT("a\"\xc3\xa9\x01\xf0\x9f\x98\x80\xff\\z");
    char whole[128];
    size_t whole_len = alog_json_escape(whole, sizeof(whole), s, NULL);
    /* boundaries of the escaped text, with what they consume */
    static const size_t out_at[] = { 0, 1, 3, 5, 11, 15, 21, 23, 24 };
    static const size_t in_at[] = { 0, 1, 2, 4, 5, 9, 10, 11, 12 };
    assert_int_equal(whole_len, 24);
    for (size_t room = 0; room <= whole_len + 1; room++) {
        char out[128];
        size_t used;
        size_t n = alog_json_escape(out, room, s, &used);
        size_t k = 0;
        while (k + 1 < sizeof(out_at) / sizeof(out_at[0]) && out_at[k + 1] <= room)
            k++;
        assert_int_equal(n, out_at[k]);
        assert_int_equal(used, in_at[k]);
        assert_memory_equal(out, whole, n);
    }
}

/* ---- rendering ---- */

static struct hdrs req_hdrs;

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    hdrs_init(&req_hdrs, 65536, 100);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hdrs_cleanup(&req_hdrs);
    return 0;
}

/* A client certificate whose subject needs JSON escaping. */
static struct clientcert client_cert = {
    .sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    .subject = (char *)"CN=al\"ice\\,O=Ex",
};

static struct alog_entry sample(void)
{
    hdrs_reset(&req_hdrs);
    hdrs_add(&req_hdrs, STR_LIT("user-agent"), STR_LIT("curl/8.5.0"), false);
    hdrs_add(&req_hdrs, STR_LIT("referer"), STR_LIT("https://example.org/start"), false);
    return (struct alog_entry){
        .remote_addr = STR_LIT("192.0.2.7"),
        .remote_port = 51234,
        .server_port = 8443,
        .start_time = T0,
        .request_time_s = 0.0425,
        .method = STR_LIT("GET"),
        .path = STR_LIT("/a/b.html?x=1&y=2"),
        .authority = STR_LIT("www.example.com"),
        .scheme = STR_LIT("https"),
        .protocol = "HTTP/2",
        .status = 200,
        .body_bytes_sent = 1234,
        .alpn = "h2",
        .tls_protocol = "TLSv1.3",
        .tls_cipher = "TLS_AES_128_GCM_SHA256",
        .tls_sni = STR_LIT("www.example.com"),
        .tls_session_reused = true,
        .client_cert = &client_cert,
        .backend_host = STR_LIT("10.0.0.5"),
        .backend_port = 8080,
        .req_headers = &req_hdrs,
    };
}

static char *render_esc(const char *fmt, enum alog_escape escape, const struct alog_entry *e,
                        size_t *len)
{
    char err[256];
    struct alog_format *f = alog_format_compile_escaped(fmt, escape, err, sizeof(err));
    if (!f)
        fail_msg("compile \"%s\": %s", fmt, err);
    char *buf = xmalloc(ALOG_MAX_LINE + 1);
    size_t n = alog_render_line(f, e, buf);
    buf[n] = '\0';
    alog_format_free(f);
    if (len)
        *len = n;
    return buf;
}

#define assert_json(fmt, e, expected)                                     \
    do {                                                                  \
        size_t n_;                                                        \
        char *got_ = render_esc((fmt), ALOG_ESCAPE_JSON, (e), &n_);       \
        assert_string_equal(got_, expected "\n");                         \
        free(got_);                                                       \
    } while (0)

static void test_ready_json_request_byte_for_byte(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    char want[2048];
    snprintf(want, sizeof(want),
             "{\"time\":\"2024-02-01T10:20:30.123Z\",\"remote_addr\":\"192.0.2.7\","
             "\"remote_port\":51234,\"server_port\":8443,\"method\":\"GET\","
             "\"path\":\"/a/b.html?x=1&y=2\",\"protocol\":\"HTTP/2\",\"status\":200,"
             "\"body_bytes_sent\":1234,\"request_time\":0.042,\"host\":\"www.example.com\","
             "\"user_agent\":\"curl/8.5.0\",\"referer\":\"https://example.org/start\","
             "\"scheme\":\"https\",\"alpn\":\"h2\",\"backend_host\":\"10.0.0.5\","
             "\"backend_port\":8080,\"tls_protocol\":\"TLSv1.3\","
             "\"tls_cipher\":\"TLS_AES_128_GCM_SHA256\",\"tls_sni\":\"www.example.com\","
             "\"tls_session_reused\":true,\"tls_client_subject_name\":\"CN=al\\\"ice\\\\,O=Ex\","
             "\"tls_client_fingerprint_sha256\":"
             "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
             "\"tunnel_target\":null,\"tunnel_bytes_in\":null,"
             "\"tunnel_bytes_out\":null,\"pid\":%s}\n",
             pid);
    size_t n;
    char *got = render_esc(alog_json_format(), ALOG_ESCAPE_JSON, &e, &n);
    assert_string_equal(got, want);
    assert_true(json_line_ok(got, n));
    free(got);
}

static void test_ready_json_absent_values_are_null(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    /* cleartext HTTP/1.1, no headers, no backend (a 404 h2gate made) */
    e.tls_protocol = e.tls_cipher = NULL;
    e.tls_sni = STR_NULL;
    e.client_cert = NULL;
    e.alpn = NULL;
    e.backend_host = STR_NULL;
    e.authority = STR_NULL;
    e.req_headers = NULL;
    e.status = 404;
    e.path = STR_NULL;
    size_t n;
    char *got = render_esc(alog_json_format(), ALOG_ESCAPE_JSON, &e, &n);
    assert_true(json_line_ok(got, n));
    static const char *const nulls[] = {
        "\"host\":null", "\"user_agent\":null", "\"referer\":null", "\"alpn\":null",
        "\"backend_host\":null", "\"backend_port\":null", "\"tls_protocol\":null",
        "\"tls_cipher\":null", "\"tls_sni\":null", "\"tls_session_reused\":null",
        "\"tls_client_subject_name\":null", "\"tls_client_fingerprint_sha256\":null",
        "\"path\":null", "\"status\":404,",
    };
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (!strstr(got, nulls[i]))
            fail_msg("%s not in %s", nulls[i], got);
    }
    free(got);
}

static void test_ready_json_tunnel(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    e.method = STR_LIT("CONNECT");
    e.path = STR_NULL;
    e.authority = STR_LIT("db.internal:5432");
    e.is_tunnel = true;
    e.tunnel_target = STR_LIT("db.internal:5432");
    e.tunnel_bytes_up = 512;
    e.tunnel_bytes_down = 70000;
    e.request_time_s = 61.5;
    e.backend_host = STR_NULL;
    size_t n;
    char *got = render_esc(alog_json_format(), ALOG_ESCAPE_JSON, &e, &n);
    assert_true(json_line_ok(got, n));
    assert_non_null(strstr(got, "\"method\":\"CONNECT\",\"path\":\"db.internal:5432\""));
    assert_non_null(strstr(got, "\"request_time\":61.500,"));
    assert_non_null(strstr(got, "\"tunnel_target\":\"db.internal:5432\",\"tunnel_bytes_in\":512,"
                                "\"tunnel_bytes_out\":70000,"));
    free(got);
}

static void test_template_quotes_nulls_and_numbers(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    hdrs_add(&req_hdrs, STR_LIT("x-empty"), STR_LIT(""), false);
    /* alone between quotes: "text" or null; bare: digits or null */
    assert_json("{\"ua\":\"$http_user_agent\",\"s\":$status,\"m\":\"$http_x_missing\","
                "\"e\":\"$http_x_empty\",\"p\":$backend_port,\"q\":\"$status\"}",
                &e,
                "{\"ua\":\"curl/8.5.0\",\"s\":200,\"m\":null,\"e\":\"\",\"p\":8080,"
                "\"q\":\"200\"}");
    e.backend_host = STR_NULL;
    assert_json("[$backend_port,\"$backend_host\"]", &e, "[null,null]");
    /* not alone between quotes: the template's quotes stay */
    assert_json("\"$method $http_x_missing\"", &e, "\"GET null\"");
    assert_json("\"ua=$http_user_agent\"", &e, "\"ua=curl/8.5.0\"");
    /* a variable at the edges is never quoted */
    assert_json("$status", &e, "200");
    /* $request and times are text */
    assert_json("{\"r\":\"$request\",\"t\":\"$time_local\",\"i\":\"$time_iso8601\"}", &e,
                "{\"r\":\"GET /a/b.html?x=1&y=2 HTTP/2\",\"t\":\"01/Feb/2024:10:20:30 +0000\","
                "\"i\":\"2024-02-01T10:20:30.123Z\"}");
    /* the template's literal text is the operator's */
    assert_json("{\"a\\\"b\":1}", &e, "{\"a\\\"b\":1}");
}

static void test_template_hostile_values(void **state)
{
    (void)state;
    struct alog_entry e = sample();
    hdrs_reset(&req_hdrs);
    hdrs_add(&req_hdrs, STR_LIT("user-agent"), STR_LIT("u\"\\\t\x01\x7f\xfe\xc3(\xc3\xa9"), false);
    e.path = STR_LIT("/p\"q\n\xff?x=\\");
    size_t n;
    char *got = render_esc("{\"ua\":\"$http_user_agent\",\"path\":\"$path\","
                           "\"pq\":\"$path_without_query\",\"r\":\"$request\"}",
                           ALOG_ESCAPE_JSON, &e, &n);
    assert_string_equal(got, "{\"ua\":\"u\\\"\\\\\\t\\u0001\\u007f\\u00fe\\u00c3(\xc3\xa9\","
                             "\"path\":\"/p\\\"q\\n\\u00ff?x=\\\\\","
                             "\"pq\":\"/p\\\"q\\n\\u00ff\","
                             "\"r\":\"GET /p\\\"q\\n\\u00ff?x=\\\\ HTTP/2\"}\n");
    assert_true(json_line_ok(got, n));
    free(got);
    /* the default escaping is still nghttpx's */
    got = render_esc("\"$http_user_agent\" $http_x_missing", ALOG_ESCAPE_DEFAULT, &e, &n);
    assert_string_equal(got, "\"u\\x22\\x5c\\x09\\x01\\x7f\\xfe\\xc3(\\xc3\\xa9\" -\n");
    free(got);
}

/* Long values of every kind, at every length around the line limit: the
 * line is at most ALOG_MAX_LINE bytes, parses, and keeps every key and
 * number after the long value whole. */
static void test_cut_lines_still_parse(void **state)
{
    (void)state;
    static const char *const fills[] = { "a", "\xc3\xa9", "\x01", "\xff", "\"", "\xf0\x9f\x98\x80" };
    char *big = xmalloc(ALOG_MAX_LINE * 2);
    for (size_t k = 0; k < sizeof(fills) / sizeof(fills[0]); k++) {
        size_t fl = strlen(fills[k]);
        for (size_t len = ALOG_MAX_LINE - 1100; len < ALOG_MAX_LINE + 40; len += 7) {
            size_t n = 0;
            while (n + fl <= len) {
                memcpy(big + n, fills[k], fl);
                n += fl;
            }
            struct alog_entry e = sample();
            hdrs_reset(&req_hdrs);
            hdrs_add(&req_hdrs, STR_LIT("user-agent"), str_make(big, n), false);
            e.path = str_make(big, n);
            size_t out;
            char *got = render_esc(alog_json_format(), ALOG_ESCAPE_JSON, &e, &out);
            assert_true(out <= ALOG_MAX_LINE);
            if (!json_line_ok(got, out))
                fail_msg("fill %zu len %zu: not JSON: %s", k, len, got);
            assert_non_null(strstr(got, "\"tunnel_bytes_out\":null,\"pid\":"));
            assert_non_null(strstr(got, "\"status\":200,\"body_bytes_sent\":1234,"));
            free(got);
        }
    }
    free(big);
}

/* Two values far too long for a line and a short one: the short one is
 * whole, the long ones get equal shares of what is left (not the first
 * one all of it and the second nothing). */
static void test_cut_shares_room_fairly(void **state)
{
    (void)state;
    char *big = xmalloc(6000);
    memset(big, 'p', 6000);
    struct alog_entry e = sample();
    e.path = str_make(big, 6000);
    char *ua = xmalloc(5000);
    memset(ua, 'u', 5000);
    hdrs_reset(&req_hdrs);
    hdrs_add(&req_hdrs, STR_LIT("user-agent"), str_make(ua, 5000), false);
    hdrs_add(&req_hdrs, STR_LIT("referer"), STR_LIT("short-\x01-referer"), false);
    size_t n;
    char *got = render_esc("{\"p\":\"$path\",\"u\":\"$http_user_agent\","
                           "\"r\":\"$http_referer\",\"s\":$status}",
                           ALOG_ESCAPE_JSON, &e, &n);
    assert_true(json_line_ok(got, n));
    const char *p = strstr(got, "\"p\":\"") + 5, *pe = strchr(p, '"');
    const char *u = strstr(got, "\"u\":\"") + 5, *ue = strchr(u, '"');
    assert_non_null(strstr(got, "\"r\":\"short-\\u0001-referer\",\"s\":200}\n"));
    size_t plen = (size_t)(pe - p), ulen = (size_t)(ue - u);
    assert_int_equal(plen, ulen);
    /* the line is full but for what rounding leaves */
    assert_true(n > ALOG_MAX_LINE - 64 && n <= ALOG_MAX_LINE);
    assert_true(plen + ulen > ALOG_MAX_LINE - 128);
    assert_true(plen > 1500);
    free(got);
    /* one long value and short ones: the long one takes all the rest */
    e.path = STR_LIT("/short");
    got = render_esc(alog_json_format(), ALOG_ESCAPE_JSON, &e, &n);
    assert_true(json_line_ok(got, n));
    assert_non_null(strstr(got, "\"path\":\"/short\""));
    /* numbers keep room for 20 digits each: those unused are the slack */
    assert_true(n > ALOG_MAX_LINE - 400 && n <= ALOG_MAX_LINE);
    const char *ua_at = strstr(got, "\"user_agent\":\"") + 14;
    assert_true(strchr(ua_at, '"') - ua_at > 3000);
    free(got);
    free(ua);
    free(big);
}

static void test_json_template_limits(void **state)
{
    (void)state;
    char err[256];
    char *fmt = xmalloc(ALOG_MAX_LINE);
    memset(fmt, 'x', ALOG_MAX_LINE / 2 + 1);
    fmt[ALOG_MAX_LINE / 2 + 1] = '\0';
    assert_null(alog_format_compile_escaped(fmt, ALOG_ESCAPE_JSON, err, sizeof(err)));
    assert_non_null(strstr(err, "at most 2048 bytes"));
    /* the same text is fine with the default escaping */
    struct alog_format *f = alog_format_compile(fmt, err, sizeof(err));
    assert_non_null(f);
    alog_format_free(f);
    /* numbers count with their whole width: 103 of them is too many */
    fmt[0] = '\0';
    for (int i = 0; i < 103; i++)
        strcat(fmt, "$status");
    assert_null(alog_format_compile_escaped(fmt, ALOG_ESCAPE_JSON, err, sizeof(err)));
    fmt[strlen(fmt) - 7 * 2] = '\0';
    f = alog_format_compile_escaped(fmt, ALOG_ESCAPE_JSON, err, sizeof(err));
    assert_non_null(f);
    alog_format_free(f);
    /* unknown variables are still reported */
    assert_null(alog_format_compile_escaped("{\"a\":\"$nope\"}", ALOG_ESCAPE_JSON, err,
                                            sizeof(err)));
    assert_non_null(strstr(err, "$nope"));
    free(fmt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_single_byte),
        cmocka_unit_test(test_utf8_kept_and_invalid_escaped),
        cmocka_unit_test(test_cut_never_splits),
        cmocka_unit_test(test_ready_json_request_byte_for_byte),
        cmocka_unit_test(test_ready_json_absent_values_are_null),
        cmocka_unit_test(test_ready_json_tunnel),
        cmocka_unit_test(test_template_quotes_nulls_and_numbers),
        cmocka_unit_test(test_template_hostile_values),
        cmocka_unit_test(test_cut_lines_still_parse),
        cmocka_unit_test(test_cut_shares_room_fairly),
        cmocka_unit_test(test_json_template_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
