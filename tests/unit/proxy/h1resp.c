/* Unit tests for proxy/h1resp.c, the fast path for simple HTTP/1.1
 * response heads: what it takes, what it leaves to http-parser, and, over
 * generated and mutated heads, that whatever it takes http-parser reads
 * the same way (status, fields as its callbacks give them, head length,
 * body length, keep-alive), so bconn.c forwards the same thing either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/h1resp.h"

/* "|" stands for CRLF in the heads below. */
static size_t crlf(const char *in, char *out)
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in == '|') {
            out[n++] = '\r';
            out[n++] = '\n';
        } else {
            out[n++] = *in;
        }
    }
    return n;
}

static bool simple(const char *head, struct h1resp_head *h)
{
    char buf[4096];
    size_t n = crlf(head, buf);
    return h1resp_simple(buf, n, h);
}

static void assert_field(const char *buf, const struct h1resp_field *f, const char *name,
                         const char *value)
{
    assert_int_equal(f->name_len, strlen(name));
    assert_memory_equal(buf + f->name_off, name, f->name_len);
    assert_int_equal(f->value_len, strlen(value));
    if (f->value_len)
        assert_memory_equal(buf + f->value_off, value, f->value_len);
}

static void test_typical_heads(void **state)
{
    (void)state;
    struct h1resp_head h;
    char buf[4096];
    size_t n = crlf("HTTP/1.1 200 OK|Server: h2gate-origin|Content-Type: application/octet-stream|"
                    "Content-Length: 13||0000000000000",
                    buf);
    assert_true(h1resp_simple(buf, n, &h));
    assert_int_equal(h.status, 200);
    assert_int_equal(h.content_length, 13);
    assert_int_equal(h.head_len, n - 13);
    assert_true(h.keep_alive);
    assert_int_equal(h.num_fields, 3);
    assert_field(buf, &h.f[0], "Server", "h2gate-origin");
    assert_field(buf, &h.f[1], "Content-Type", "application/octet-stream");
    assert_field(buf, &h.f[2], "Content-Length", "13");

    n = crlf("HTTP/1.1 404 Not Found|Server: nginx/1.22.1|Date: Mon, 07 Dec 2026 03:00:00 GMT|"
             "Content-Type: text/html|Content-Length: 153|Connection: keep-alive|"
             "ETag: \"5f-1a\"|X-Empty:|X-Blank:   |X-Trail: a b  \t||",
             buf);
    assert_true(h1resp_simple(buf, n, &h));
    assert_int_equal(h.status, 404);
    assert_int_equal(h.content_length, 153);
    assert_int_equal(h.head_len, n);
    assert_int_equal(h.num_fields, 9);
    assert_field(buf, &h.f[5], "ETag", "\"5f-1a\"");
    assert_field(buf, &h.f[6], "X-Empty", "");
    assert_field(buf, &h.f[7], "X-Blank", "");
    /* Trailing blanks are not part of the value (RFC 9112 §5); inner
     * ones are. */
    assert_field(buf, &h.f[8], "X-Trail", "a b");
    n = crlf("HTTP/1.1 500|content-length: 0||", buf);
    assert_true(h1resp_simple(buf, n, &h));
    assert_int_equal(h.status, 500);
    assert_int_equal(h.content_length, 0);
}

static void test_keep_alive(void **state)
{
    (void)state;
    struct h1resp_head h;
    assert_true(simple("HTTP/1.1 200 OK|Content-Length: 0|Connection: close||", &h));
    assert_false(h.keep_alive);
    assert_true(simple("HTTP/1.1 200 OK|Content-Length: 0|CONNECTION: Keep-Alive||", &h));
    assert_true(h.keep_alive);
    assert_true(simple("HTTP/1.0 200 OK|Content-Length: 0||", &h));
    assert_false(h.keep_alive);
    assert_true(simple("HTTP/1.0 200 OK|Content-Length: 0|Connection: keep-alive||", &h));
    assert_true(h.keep_alive);
}

/* Everything http-parser has more to say about goes to it. */
static void test_left_to_http_parser(void **state)
{
    (void)state;
    struct h1resp_head h;
    static const char *const heads[] = {
        "HTTP/1.1 200 OK|Transfer-Encoding: chunked||",
        "HTTP/1.1 200 OK|Content-Length: 1|Transfer-Encoding: chunked||",
        "HTTP/1.1 200 OK|Content-Length: 1|Transfer-Encoding-X: y||", /* http-parser: TE */
        "HTTP/1.1 200 OK||",                                   /* close-delimited */
        "HTTP/1.1 100 Continue||",
        "HTTP/1.1 101 Switching Protocols|Upgrade: websocket|Content-Length: 0||",
        "HTTP/1.1 204 No Content|Content-Length: 0||",
        "HTTP/1.1 304 Not Modified|Content-Length: 10||",
        "HTTP/1.1 199 X|Content-Length: 0||",
        "HTTP/1.1 600 X|Content-Length: 0||",
        "HTTP/1.1 200 OK|Content-Length: 1|Content-Length: 1||",
        "HTTP/1.1 200 OK|Content-Length: 1x||",
        "HTTP/1.1 200 OK|Content-Length: -1||",
        "HTTP/1.1 200 OK|Content-Length: ||",
        "HTTP/1.1 200 OK|Content-Length: 1 2||",
        "HTTP/1.1 200 OK|Content-Length: 1234567890123456789||", /* 19 digits */
        "HTTP/1.1 200 OK|Content-Length: 0|Connection: close, x||",
        "HTTP/1.1 200 OK|Content-Length: 0|Connection: close |",
        "HTTP/1.1 200 OK|Content-Length: 0|Connection: close|Connection: close||",
        "HTTP/1.1 200 OK|Content-Length: 0|Upgrade: h2c||",
        "HTTP/1.1 200 OK|Content-Length: 0|Proxy-Connection: close||",
        "HTTP/1.1 200 OK|Content-Length: 0|X: a| folded||",     /* obs-fold */
        "HTTP/1.1 200 OK|Content-Length: 0|X : a||",
        "HTTP/1.1 200 OK|Content-Length: 0|: a||",
        "HTTP/1.1 200 OK|Content-Length: 0|X(: a||",
        "HTTP/1.1 200 OK|Content-Length: 0|X||",
        "HTTP/1.2 200 OK|Content-Length: 0||",
        "HTTP/2.0 200 OK|Content-Length: 0||",
        "HTTP/1.1  200 OK|Content-Length: 0||",
        "HTTP/1.1 2000 OK|Content-Length: 0||",
        "HTTP/1.1 20 OK|Content-Length: 0||",
        "http/1.1 200 OK|Content-Length: 0||",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        if (simple(heads[i], &h))
            fail_msg("took: %s", heads[i]);
    }
    /* Bytes no field may hold, in a value and in the reason phrase. */
    static const char bad[] = { '\0', '\n', 0x01, 0x1f, 0x7f, '\r' };
    for (size_t i = 0; i < sizeof(bad); i++) {
        char buf[128];
        size_t n = crlf("HTTP/1.1 200 OK|X: a?b|Content-Length: 0||", buf);
        *(char *)memchr(buf, '?', n) = bad[i];
        assert_false(h1resp_simple(buf, n, &h));
        n = crlf("HTTP/1.1 200 O?|Content-Length: 0||", buf);
        *(char *)memchr(buf, '?', n) = bad[i];
        assert_false(h1resp_simple(buf, n, &h));
    }
    /* More fields than it keeps. */
    char big[8192];
    size_t n = crlf("HTTP/1.1 200 OK|Content-Length: 0|", big);
    for (int i = 0; i < H1RESP_FIELDS_MAX; i++)
        n += (size_t)sprintf(big + n, "X-%d: %d\r\n", i, i);
    memcpy(big + n, "\r\n", 2);
    assert_false(h1resp_simple(big, n + 2, &h));
}

/* A head is taken only whole: no prefix of one is. */
static void test_prefixes(void **state)
{
    (void)state;
    struct h1resp_head h;
    char buf[256];
    size_t n = crlf("HTTP/1.1 200 OK|A: b|Content-Length: 2||xy", buf);
    for (size_t k = 0; k < n - 2; k++)
        assert_false(h1resp_simple(buf, k, &h));
    assert_true(h1resp_simple(buf, n - 2, &h));
    assert_int_equal(h.head_len, n - 2);
}

/* ---- against http-parser ---- */

struct seen {
    char names[64][256], values[64][256];
    size_t nlen[64], vlen[64];
    size_t num;
    bool last_was_value;
    bool overflow;
    bool headers_done;
    bool complete;
    int keep_alive;
};

static int on_field(http_parser *p, const char *at, size_t len)
{
    struct seen *s = p->data;
    if (s->last_was_value || s->num == 0) {
        if (s->num == 64) {
            s->overflow = true;
            return 0;
        }
        s->nlen[s->num] = s->vlen[s->num] = 0;
        s->num++;
    }
    size_t i = s->num - 1;
    if (s->nlen[i] + len > 255) {
        s->overflow = true;
        return 0;
    }
    memcpy(s->names[i] + s->nlen[i], at, len);
    s->nlen[i] += len;
    s->last_was_value = false;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    struct seen *s = p->data;
    size_t i = s->num - 1;
    if (s->num == 0 || s->vlen[i] + len > 255) {
        s->overflow = true;
        return 0;
    }
    memcpy(s->values[i] + s->vlen[i], at, len);
    s->vlen[i] += len;
    s->last_was_value = true;
    return 0;
}

static int on_headers_done(http_parser *p)
{
    ((struct seen *)p->data)->headers_done = true;
    return 0;
}

static int on_complete(http_parser *p)
{
    struct seen *s = p->data;
    s->complete = true;
    s->keep_alive = http_should_keep_alive(p);
    return 0;
}

/* buf[0..n) was taken as h: http-parser must read the same. */
static void same_as_http_parser(const char *buf, size_t n, const struct h1resp_head *h)
{
    static struct seen s;
    memset(&s, 0, sizeof(s));
    assert_true(h->head_len > 0 && h->head_len <= n);
    http_parser_settings set = { 0 };
    set.on_header_field = on_field;
    set.on_header_value = on_value;
    set.on_headers_complete = on_headers_done;
    set.on_message_complete = on_complete;
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &s;
    /* The head but its last byte: not done yet. */
    size_t got = http_parser_execute(&p, &set, buf, h->head_len - 1);
    if (HTTP_PARSER_ERRNO(&p) != HPE_OK) {
        fprintf(stderr, "http-parser: %s on:\n", http_errno_name(HTTP_PARSER_ERRNO(&p)));
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, isprint((unsigned char)buf[i]) ? "%c" : "\\x%02x", (unsigned char)buf[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(HTTP_PARSER_ERRNO(&p), HPE_OK);
    assert_int_equal(got, h->head_len - 1);
    assert_false(s.headers_done);
    got = http_parser_execute(&p, &set, buf + h->head_len - 1, 1);
    assert_int_equal(HTTP_PARSER_ERRNO(&p), HPE_OK);
    assert_true(s.headers_done);
    assert_int_equal(p.status_code, h->status);
    assert_int_equal(p.content_length, h->content_length);
    assert_false(s.overflow);
    assert_int_equal(s.num, h->num_fields);
    for (size_t i = 0; i < s.num; i++) {
        const struct h1resp_field *f = &h->f[i];
        assert_int_equal(s.nlen[i], f->name_len);
        assert_memory_equal(s.names[i], buf + f->name_off, f->name_len);
        /* Less the whitespace that ends it, which bconn.c's http-parser
         * path drops too (hdrs_trim_values). */
        while (s.vlen[i] && (s.values[i][s.vlen[i] - 1] == ' ' || s.values[i][s.vlen[i] - 1] == '\t'))
            s.vlen[i]--;
        assert_int_equal(s.vlen[i], f->value_len);
        if (f->value_len)
            assert_memory_equal(s.values[i], buf + f->value_off, f->value_len);
    }
    /* The body: complete after exactly Content-Length bytes. */
    static char body[512];
    size_t cl = (size_t)h->content_length;
    if (cl > sizeof(body))
        return;
    memset(body, 'b', cl);
    if (cl > 0) {
        if (cl > 1) /* a zero-length execute would be the end of input */
            http_parser_execute(&p, &set, body, cl - 1);
        assert_false(s.complete);
        http_parser_execute(&p, &set, body + cl - 1, 1);
    } else {
        assert_true(s.complete);
    }
    assert_int_equal(HTTP_PARSER_ERRNO(&p), HPE_OK);
    assert_true(s.complete);
    assert_int_equal(s.keep_alive != 0, h->keep_alive);
}

/* xorshift64*: the same inputs every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static const char *const status_lines[] = {
    "HTTP/1.1 200 OK|", "HTTP/1.0 200 OK|", "HTTP/1.1 404 Not Found|", "HTTP/1.1 599|",
    "HTTP/1.1 200 |", "HTTP/1.1 302 Found\t!|", "HTTP/1.1 200 \xc3\xa9t\xc3\xa9|",
    "HTTP/1.1 100 Continue|", "HTTP/1.1 204 No Content|", "HTTP/1.1 101 S|",
};
static const char *const fields[] = {
    "Content-Length: 5|", "content-length: 0|", "CONTENT-LENGTH:   12  |",
    "Content-Length: 007\t|", "Content-Length: 3|", "Content-Length:9|",
    "Connection: close|", "Connection: keep-alive|", "connection: KEEP-ALIVE|",
    "Connection: upgrade|", "Connection: close, keep-alive|", "Proxy-Connection: close|",
    "Transfer-Encoding: chunked|", "Upgrade: websocket|", "Server: nginx/1.22.1|",
    "Date: Mon, 07 Dec 2026 03:00:00 GMT|", "X-Empty:|", "X-Blank: \t |", "X-T: a b  |",
    "Set-Cookie: a=b; Path=/; HttpOnly|", "X-Obs: caf\xc3\xa9|", "Content-Lengthy: 4|",
    "Keep-Alive: timeout=5|", "Contentlength: 1|", "content-length : 1|", " X: folded|",
    "X-~!#$%&'*+-.^_`|: v|", "Content-Type: text/html; charset=utf-8|",
    "Transfer-Encodingx: y|", "Connectionx: close|", "Upgrade-X: y|",
};

/* A head of random pieces, maybe mutated. */
static size_t gen(char *out, size_t cap)
{
    char text[2048];
    size_t t = 0;
    /* Half of them from the kinds the fast path takes, with one length. */
    bool plain = rnd(2) == 0;
    uint32_t nsl = sizeof(status_lines) / sizeof(status_lines[0]);
    const char *sl = status_lines[rnd(plain ? nsl - 3 : nsl)];
    t += (size_t)snprintf(text + t, sizeof(text) - t, "%s", sl);
    int nf = (int)rnd(8), cl_at = plain ? (int)rnd((uint32_t)nf + 1) : -1;
    for (int i = 0; i <= nf; i++) {
        const char *f = fields[rnd(sizeof(fields) / sizeof(fields[0]))];
        if (i == cl_at)
            f = fields[rnd(6)];
        else if (plain && rnd(3) != 0)
            f = fields[14 + rnd(9)];
        else if (i == nf)
            continue;
        t += (size_t)snprintf(text + t, sizeof(text) - t, "%s", f);
    }
    t += (size_t)snprintf(text + t, sizeof(text) - t, "|");
    size_t n = crlf(text, out);
    /* Random case flips, byte changes, insertions and deletions. */
    int muts = rnd(2) == 0 ? 0 : 1 + (int)rnd(3);
    static const char pool[] = { '\r', '\n', ' ', '\t', ':', '\0', 'A', 'a', '0', '9', '-',
                                 (char)0x7f, (char)0x80, (char)0xff, ',', '"' };
    for (int m = 0; m < muts && n > 0 && n + 1 < cap; m++) {
        size_t at = rnd((uint32_t)n);
        switch (rnd(4)) {
        case 0:
            out[at] ^= 0x20;
            break;
        case 1:
            out[at] = pool[rnd(sizeof(pool))];
            break;
        case 2:
            memmove(out + at + 1, out + at, n - at);
            out[at] = pool[rnd(sizeof(pool))];
            n++;
            break;
        default:
            memmove(out + at, out + at + 1, n - at - 1);
            n--;
            break;
        }
    }
    return n;
}

static void test_same_as_http_parser(void **state)
{
    (void)state;
    char buf[4096];
    struct h1resp_head h;
    size_t taken = 0, total = 300000;
    for (size_t i = 0; i < total; i++) {
        size_t n = gen(buf, sizeof(buf) - 8);
        if (!h1resp_simple(buf, n, &h))
            continue;
        taken++;
        same_as_http_parser(buf, n, &h);
    }
    /* The generator reaches both sides. */
    print_message("taken %zu of %zu\n", taken, total);
    assert_true(taken > total / 20);
    assert_true(taken < total - total / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typical_heads),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_left_to_http_parser),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_same_as_http_parser),
    };
    return cmocka_run_group_tests_name("proxy/h1resp", tests, NULL, NULL);
}
