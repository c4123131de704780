/* libFuzzer target: the header list (proxy/hdrs.h) driven by a byte script,
 * and the request/response translations that read it (proxy/xlate.h).
 *
 * Input: byte 0 = max_fields - 1 (mod 64), byte 1 = max_bytes / 16 - 1,
 * then ops until the input runs out (at most 512). Each op is one byte,
 * op % 8 choosing, strings being a length byte and that many bytes:
 *   0  hdrs_add_name_part(STR), continuing the field when the previous op
 *      was a successful name part (as cconn.c and bconn.c call it)
 *   1  hdrs_add_value_part(STR)
 *   2  hdrs_add(STR, STR, lower = op & 8)
 *   3  xlate_drop_field(STR lower-cased), xlate_is_hop_field,
 *      xlate_trailer_ok
 *   4  hdrs_find(STR)
 *   5  hdrs_reset (op & 8: hdrs_cleanup and hdrs_init again)
 *   6  xlate_req_h1 and xlate_req_h2: method STR, path STR, authority STR,
 *      client address STR, then an options byte and a content-length byte
 *   7  xlate_resp_h1: status byte pair, options byte
 * Checks beyond "no sanitizer report": after every op the list is within
 * its caps and every field lies inside buf_len; a failed add leaves the
 * list unchanged; when every field name is a non-empty lower-case token
 * and no value, method, path, authority or client address holds CR, LF or
 * NUL, the HTTP/1.1 heads written by xlate_req_h1 / xlate_resp_h1 pass
 * xlate_h1_head_scan whole (what h2gate sends is never something it would
 * itself refuse as malformed or ambiguous framing). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "proxy/hdrs.h"
#include "proxy/xlate.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define MAX_OPS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct script {
    const uint8_t *p;
    size_t len;
    char *copies[MAX_OPS * 4]; /* exact-size heap copies handed out */
    size_t num_copies;
};

static uint8_t next_byte(struct script *s)
{
    if (s->len == 0)
        return 0;
    s->len--;
    return *s->p++;
}

/* A length byte and that many bytes, as an exact-size heap copy. */
static struct str next_str(struct script *s)
{
    size_t n = next_byte(s);
    if (n > s->len)
        n = s->len;
    char *c = malloc(n ? n : 1);
    CHECK(c && s->num_copies < sizeof(s->copies) / sizeof(s->copies[0]));
    if (n)
        memcpy(c, s->p, n);
    s->copies[s->num_copies++] = c;
    s->p += n;
    s->len -= n;
    return str_make(c, n);
}

static void check_list(const struct hdrs *h)
{
    CHECK(h->num <= h->max_fields && h->num <= h->cap);
    CHECK(h->buf_len <= h->max_bytes && h->buf_len <= h->buf_cap);
    for (size_t i = 0; i < h->num; i++) {
        const struct hdr_off *f = &h->f[i];
        CHECK((size_t)f->name_off + f->name_len <= h->buf_len);
        CHECK((size_t)f->value_off + f->value_len <= h->buf_len);
        CHECK(f->name_off + f->name_len <= f->value_off);
    }
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool line_safe(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* The fields are what the proxy ever hands xlate: lower-case token names,
 * values without control characters but HTAB, or DEL (nghttp2, http-parser
 * with xlate_h1_head_scan for requests, and bconn.c's value_clean for
 * responses refuse those);
 * request lists also hold pseudo-header fields (":path"), which
 * xlate_req_h1 skips. */
static bool list_clean(const struct hdrs *h, bool pseudo_ok)
{
    for (size_t i = 0; i < h->num; i++) {
        struct str n = hdrs_name(h, i);
        if (n.len == 0)
            return false;
        if (pseudo_ok && n.p[0] == ':')
            continue;
        for (size_t k = 0; k < n.len; k++)
            if (!is_tchar(n.p[k]))
                return false;
        if (!line_safe(hdrs_value(h, i)))
            return false;
    }
    return true;
}

static char *flatten(const struct bufq *q, size_t *len)
{
    *len = bufq_len(q);
    char *b = malloc(*len ? *len : 1);
    CHECK(b);
    CHECK(bufq_peek(q, b, *len) == *len);
    return b;
}

static void check_head(const struct bufq *q, bool request)
{
    size_t len, head_len = 0;
    char *b = flatten(q, &len);
    int r = xlate_h1_head_scan(b, len, request, &head_len);
    if (r != 1 || head_len != len) {
        fprintf(stderr, "xlate wrote a head xlate_h1_head_scan refuses (%d, %zu of %zu):\n", r,
                head_len, len);
        fwrite(b, 1, len, stderr);
        CHECK(!"generated head fails the scan");
    }
    free(b);
}

static void do_req(struct script *s, const struct hdrs *h, struct buf_pool *pool)
{
    static const char *const protos[] = { "2", "1.1", "1.0" };
    struct xlate_req r = { 0 };
    r.method = next_str(s);
    r.path = next_str(s);
    r.authority = next_str(s);
    r.client_addr = next_str(s);
    uint8_t o = next_byte(s);
    uint8_t cl = next_byte(s);
    r.hdrs = h;
    r.client_proto = protos[(o >> 5) % 3];
    r.tls = o & 8;
    r.chunked = o & 16;
    r.content_length = cl == 255 ? -1 : (int64_t)cl * 1000003;
    r.scheme = (o & 128) ? STR_LIT("https") : STR_NULL;
    struct xlate_opts opts = { .via = o & 1, .xff = o & 2, .strip_xff = o & 4 };

    struct bufq out;
    bufq_init(&out, pool);
    xlate_req_h1(&out, &r, &opts);
    if (r.method.len && line_safe(r.method) && line_safe(r.path) && line_safe(r.authority) &&
        line_safe(r.client_addr) && list_clean(h, true))
        check_head(&out, true);
    bufq_cleanup(&out);

    struct hdrs h2;
    hdrs_init(&h2, 1 + (size_t)cl * 32, 1 + cl % 64);
    int rc = xlate_req_h2(&h2, &r, &opts);
    CHECK(rc == 0 || rc == H2G_ERR_TOO_BIG);
    check_list(&h2);
    if (rc == 0)
        CHECK(h2.num >= 3 && str_eq(hdrs_name(&h2, 0), STR_LIT(":method")));
    hdrs_cleanup(&h2);
}

static void do_resp(struct script *s, const struct hdrs *h, struct buf_pool *pool)
{
    uint8_t a = next_byte(s), b = next_byte(s), o = next_byte(s);
    struct xlate_resp r = { 0 };
    r.status = 100 + (a << 8 | b) % 500;
    r.hdrs = (o & 1) ? NULL : h;
    r.backend_proto = (o & 2) ? ((o & 4) ? "2" : "1.1") : NULL;
    r.content_length = (o & 8) ? -1 : (int64_t)b * 7;
    r.chunked = o & 16;
    r.keep_alive = o & 32;
    r.proxy_status = (o & 64) ? "destination_ip_prohibited" : NULL;
    r.auth_challenge = (o & 128) ? "Basic realm=\"h2gate\"" : NULL;
    struct bufq out;
    bufq_init(&out, pool);
    xlate_resp_h1(&out, &r);
    if (!r.hdrs || list_clean(h, false))
        check_head(&out, false);
    bufq_cleanup(&out);
    (void)xlate_reason(r.status);
    (void)xlate_resp_bodyless(r.status, o & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_fields = 1 + data[0] % 64;
    size_t max_bytes = 16 * (1 + (size_t)data[1]);
    struct script s = { .p = data + 2, .len = size - 2 };
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct hdrs h;
    hdrs_init(&h, max_bytes, max_fields);
    bool last_was_name = false;

    for (int ops = 0; ops < MAX_OPS && s.len; ops++) {
        uint8_t op = next_byte(&s);
        size_t num_before = h.num, len_before = h.buf_len;
        bool was_name = last_was_name;
        last_was_name = false;
        switch (op % 8) {
        case 0: {
            struct str part = next_str(&s);
            int rc = hdrs_add_name_part(&h, part, was_name);
            CHECK(rc == 0 || rc == H2G_ERR_TOO_BIG);
            if (rc < 0)
                CHECK(h.num == num_before && h.buf_len == len_before);
            last_was_name = rc == 0;
            break;
        }
        case 1: {
            struct str part = next_str(&s);
            int rc = hdrs_add_value_part(&h, part);
            CHECK(rc == 0 || rc == H2G_ERR_TOO_BIG || (rc == H2G_ERR_PROTO && num_before == 0));
            if (rc < 0)
                CHECK(h.num == num_before && h.buf_len == len_before);
            break;
        }
        case 2: {
            struct str n = next_str(&s), v = next_str(&s);
            int rc = hdrs_add(&h, n, v, op & 8);
            CHECK(rc == 0 || rc == H2G_ERR_TOO_BIG);
            if (rc < 0) {
                CHECK(h.num == num_before && h.buf_len == len_before);
            } else {
                CHECK(h.num == num_before + 1);
                CHECK(hdrs_name(&h, h.num - 1).len == n.len);
                CHECK(str_eq(hdrs_value(&h, h.num - 1), v));
            }
            break;
        }
        case 3: {
            struct str n = next_str(&s);
            for (size_t i = 0; i < n.len; i++) {
                char *c = (char *)&n.p[i];
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c + 32);
            }
            bool drop = xlate_drop_field(&h, n);
            if (xlate_is_hop_field(n))
                CHECK(drop && !xlate_trailer_ok(n));
            break;
        }
        case 4: {
            struct str n = next_str(&s);
            long i = hdrs_find(&h, n);
            CHECK(i >= -1 && i < (long)h.num);
            if (i >= 0)
                CHECK(str_eq(hdrs_name(&h, (size_t)i), n));
            break;
        }
        case 5:
            if (op & 8) {
                hdrs_cleanup(&h);
                hdrs_init(&h, max_bytes, max_fields);
            } else {
                hdrs_reset(&h);
            }
            CHECK(h.num == 0 && h.buf_len == 0);
            break;
        case 6:
            do_req(&s, &h, &pool);
            break;
        case 7:
            do_resp(&s, &h, &pool);
            break;
        }
        check_list(&h);
    }

    hdrs_cleanup(&h);
    buf_pool_cleanup(&pool);
    for (size_t i = 0; i < s.num_copies; i++)
        free(s.copies[i]);
    return 0;
}
