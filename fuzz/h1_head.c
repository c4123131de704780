/* libFuzzer target: xlate_h1_head_scan (proxy/xlate.h), then http-parser
 * over every head the scan accepts, collecting fields the way cconn.c and
 * bconn.c do (hdrs_add_name_part / hdrs_add_value_part); and for
 * responses, h1resp_simple (proxy/h1resp.h) against http-parser.
 *
 * Input: byte 0 = flags (bit 0: request, else response; bits 1-7: where to
 * split the bytes in two http_parser_execute calls), the rest = the bytes
 * received. http-parser gets all of them (head, then body or pipelined
 * requests), as cconn.c hands it its whole input buffer, then end of
 * input (a zero-length execute), as bconn.c does when a backend closes. Checks, beyond "no sanitizer report":
 *   - 1 means head_len <= size, the head ends in "\r\n\r\n", and scanning
 *     just the head or any shorter prefix agrees (1 with the same head_len,
 *     resp. 0): the proxy rescans as bytes arrive;
 *   - 0 and H2G_ERR_PROTO are the only other results.
 * Each piece handed to http-parser is its own exact-size heap copy, so a
 * callback pointer past the piece is an ASan report. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "common/err.h"
#include "proxy/h1resp.h"
#include "proxy/hdrs.h"
#include "proxy/xlate.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    struct hdrs h;
    bool last_was_name;
    bool path_added;
    bool head_done;
    const char *piece; /* the buffer being executed */
    size_t piece_len;
};

static void check_in_piece(const struct ctx *c, const char *at, size_t len)
{
    CHECK(at >= c->piece && len <= c->piece_len && (size_t)(at - c->piece) <= c->piece_len - len);
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct ctx *c = p->data;
    check_in_piece(c, at, len);
    if (!c->path_added) {
        if (hdrs_add(&c->h, STR_LIT(":path"), STR_NULL, false) < 0)
            return -1;
        c->path_added = true;
    }
    return hdrs_add_value_part(&c->h, str_make(at, len)) < 0 ? -1 : 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    check_in_piece(p->data, at, len);
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    struct ctx *c = p->data;
    check_in_piece(c, at, len);
    if (hdrs_add_name_part(&c->h, str_make(at, len), c->last_was_name) < 0)
        return -1;
    c->last_was_name = true;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    struct ctx *c = p->data;
    check_in_piece(c, at, len);
    if (hdrs_add_value_part(&c->h, str_make(at, len)) < 0)
        return -1;
    c->last_was_name = false;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct ctx *c = p->data;
    const struct hdrs *h = &c->h;
    CHECK(h->buf_len <= h->max_bytes && h->num <= h->max_fields);
    for (size_t i = 0; i < h->num; i++) {
        CHECK((size_t)h->f[i].name_off + h->f[i].name_len <= h->buf_len);
        CHECK((size_t)h->f[i].value_off + h->f[i].value_len <= h->buf_len);
    }
    (void)hdrs_find(h, STR_LIT("host"));
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    check_in_piece(p->data, at, len);
    return 0;
}

static void execute(http_parser *p, const http_parser_settings *s, struct ctx *c,
                    const char *src, size_t len)
{
    char *piece = malloc(len ? len : 1);
    CHECK(piece);
    if (len)
        memcpy(piece, src, len);
    c->piece = piece;
    c->piece_len = len;
    size_t n = http_parser_execute(p, s, piece, len);
    /* http-parser's one exception: len 0 (end of input) in a state where
     * the message cannot end returns 1 with HPE_INVALID_EOF_STATE. */
    CHECK(n <= len || (len == 0 && n == 1 && HTTP_PARSER_ERRNO(p) == HPE_INVALID_EOF_STATE));
    (void)http_errno_name(HTTP_PARSER_ERRNO(p));
    (void)http_should_keep_alive(p);
    free(piece);
}

static void parse_head(const char *head, size_t len, bool request, unsigned split_sel)
{
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = on_url;
    s.on_status = on_status;
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;

    struct ctx c = { 0 };
    hdrs_init(&c.h, 65536, 100);
    http_parser p;
    http_parser_init(&p, request ? HTTP_REQUEST : HTTP_RESPONSE);
    p.data = &c;
    size_t split = len * split_sel / 127;
    execute(&p, &s, &c, head, split);
    if (HTTP_PARSER_ERRNO(&p) == HPE_OK)
        execute(&p, &s, &c, head + split, len - split);
    if (HTTP_PARSER_ERRNO(&p) == HPE_OK)
        execute(&p, &s, &c, NULL, 0); /* the peer closed (bconn.c does this) */
    hdrs_cleanup(&c.h);
}

static int on_head_done(http_parser *p)
{
    ((struct ctx *)p->data)->head_done = true;
    return on_headers_complete(p);
}

/* A response head h1resp_simple takes is one http-parser reads the same
 * way: same end, status, length, persistence and fields. */
static void check_fast_path(const char *in, size_t len)
{
    struct h1resp_head h;
    if (!h1resp_simple(in, len, &h))
        return;
    CHECK(h.head_len >= 4 && h.head_len <= len && memcmp(in + h.head_len - 4, "\r\n\r\n", 4) == 0);
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_headers_complete = on_head_done;
    struct ctx c = { 0 };
    hdrs_init(&c.h, 65536, 100);
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &c;
    execute(&p, &s, &c, in, h.head_len - 1);
    CHECK(HTTP_PARSER_ERRNO(&p) == HPE_OK && !c.head_done);
    execute(&p, &s, &c, in + h.head_len - 1, 1);
    CHECK(HTTP_PARSER_ERRNO(&p) == HPE_OK && c.head_done);
    CHECK(p.status_code == h.status && p.content_length == h.content_length);
    CHECK((http_should_keep_alive(&p) != 0) == h.keep_alive);
    hdrs_trim_values(&c.h); /* as bconn.c's http-parser path does */
    struct hdrs mine;
    hdrs_init(&mine, 65536, 100);
    CHECK(c.h.num == h.num_fields);
    for (size_t i = 0; i < h.num_fields; i++) {
        const struct h1resp_field *f = &h.f[i];
        CHECK(hdrs_add_name_part(&mine, str_make(in + f->name_off, f->name_len), false) == 0);
        CHECK(hdrs_add_value_part(&mine, str_make(in + f->value_off, f->value_len)) == 0);
        CHECK(str_eq(hdrs_name(&mine, i), hdrs_name(&c.h, i)));
        CHECK(str_eq(hdrs_value(&mine, i), hdrs_value(&c.h, i)));
    }
    hdrs_cleanup(&mine);
    hdrs_cleanup(&c.h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool request = data[0] & 1;
    unsigned split_sel = data[0] >> 1;
    size_t len = size - 1;
    /* Exact-size copy: the scan must not read past len. */
    char *in = malloc(len ? len : 1);
    CHECK(in);
    if (len)
        memcpy(in, data + 1, len);

    if (!request)
        check_fast_path(in, len);
    size_t head_len = (size_t)-1;
    int r = xlate_h1_head_scan(in, len, request, &head_len);
    CHECK(r == 1 || r == 0 || r == H2G_ERR_PROTO);
    if (r == 1) {
        CHECK(head_len <= len);
        CHECK(head_len >= 4 && memcmp(in + head_len - 4, "\r\n\r\n", 4) == 0);
        size_t again = (size_t)-1;
        CHECK(xlate_h1_head_scan(in, head_len, request, &again) == 1 && again == head_len);
        size_t cuts[] = { head_len - 1, head_len - 2, head_len / 2, 1 };
        for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
            size_t unused;
            CHECK(xlate_h1_head_scan(in, cuts[i], request, &unused) == 0);
        }
        /* As cconn.c does: the whole buffer, head and whatever followed. */
        parse_head(in, len, request, split_sel);
    } else {
        CHECK(head_len == (size_t)-1);
    }
    free(in);
    return 0;
}
