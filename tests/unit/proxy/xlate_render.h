/* Shared by the unit tests of proxy/xlate.c: a request or response head
 * as proxy/xlate.c writes it, rendered into a string the test compares
 * (the HTTP/1.1 bytes, or an HTTP/2 request's fields as "name: value"
 * lines). Included by each test program (static inline, so each program
 * compiles its own copy). */
#ifndef H2G_TESTS_UNIT_PROXY_XLATE_RENDER_H
#define H2G_TESTS_UNIT_PROXY_XLATE_RENDER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "common/buf.h"
#include "proxy/hdrs.h"
#include "proxy/xlate.h"

/* Renders a request through xlate_req_h1 into a NUL-terminated string. */
static inline void render_req(const struct xlate_req *r, const struct xlate_opts *o,
                              char *out, size_t out_len)
{
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    xlate_req_h1(&q, r, o);
    size_t n = bufq_read(&q, out, out_len - 1);
    out[n] = '\0';
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* xlate_resp_h1's head for r, as a string in out. */
static inline void render_resp(const struct xlate_resp *r, char *out, size_t out_len)
{
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    xlate_resp_h1(&q, r);
    size_t n = bufq_read(&q, out, out_len - 1);
    out[n] = '\0';
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* xlate_req_h2's fields as "name: value\n" lines. */
static inline void render_req_h2(const struct xlate_req *r, const struct xlate_opts *o,
                                 char *out, size_t len)
{
    struct hdrs h2;
    hdrs_init(&h2, 4096, 64);
    assert_int_equal(xlate_req_h2(&h2, r, o), 0);
    size_t n = 0;
    for (size_t i = 0; i < h2.num; i++) {
        struct str a = hdrs_name(&h2, i), b = hdrs_value(&h2, i);
        n += (size_t)snprintf(out + n, len - n, "%.*s: %.*s\n", (int)a.len, a.p, (int)b.len,
                              b.p);
    }
    hdrs_cleanup(&h2);
}

#endif
