/* A fast path for the common HTTP/1.1 response head: a complete head in
 * one read, a final status with a body of known length, and nothing that
 * needs http-parser's state machine (no chunked framing, no interim or
 * switching status, no obs-fold, no unusual Connection field). On it,
 * bconn.c reads the head and counts the body itself; on anything else
 * h1resp_simple says no, with no effect, and http-parser takes the same
 * bytes, so what is accepted, refused and forwarded is decided as before.
 * What the fast path reports for a head it accepts is what http-parser's
 * callbacks would give for it: tests/unit/proxy/h1resp.c compares the two
 * over generated heads. Pure: no I/O, no allocation. */
#ifndef H2G_PROXY_H1RESP_H
#define H2G_PROXY_H1RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Heads with more fields go to http-parser. */
#define H1RESP_FIELDS_MAX 40

/* Offsets into the head. A value runs from its first byte after the
 * colon that is not SP or HTAB to its last that is not one, before its CR
 * (as http-parser's on_header_value gives it, less the trailing blanks
 * hdrs_trim_values drops). */
struct h1resp_field {
    uint32_t name_off, value_off;
    uint16_t name_len, value_len;
};

struct h1resp_head {
    size_t head_len;            /* through the blank line's LF */
    uint64_t content_length;
    int status;                 /* 200-599 but 204 and 304 */
    bool keep_alive;            /* http_should_keep_alive's answer */
    size_t num_fields;
    struct h1resp_field f[H1RESP_FIELDS_MAX];
};

/* True when p[0..len) starts with a whole head of the simple kind (the
 * file's comment), described in *h; false otherwise, *h then undefined. */
bool h1resp_simple(const char *p, size_t len, struct h1resp_head *h);

#endif
