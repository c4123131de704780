/* JSON string escaping for the access log (--accesslog-json,
 * --accesslog-escape=json). Pure: no I/O, no allocation.
 *
 * What any sequence of bytes becomes inside a JSON string literal, so the
 * line is valid JSON and valid UTF-8 whatever a peer sent:
 *   - '"' and '\\' become \" and \\;
 *   - \b \f \n \r \t keep their short escapes; every other byte below
 *     0x20, and DEL (0x7f), becomes \u00XX (lower-case hex);
 *   - a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
 *     surrogates, nothing above U+10FFFF) is copied as it is;
 *   - every byte that is not part of one becomes \u00XX of the byte
 *     (0x80-0xff), so a JSON reader decodes it to U+0080-U+00FF (the
 *     byte read as Latin-1). Nothing is lost: in the raw line an
 *     escaped \u00e9 is always the lone byte 0xe9, since a character
 *     é sent as UTF-8 appears as itself. */
#ifndef H2G_PROXY_ALOG_JSON_H
#define H2G_PROXY_ALOG_JSON_H

#include <stddef.h>

#include "common/str.h"

/* Length of the well-formed UTF-8 sequence at the start of p[0..len),
 * 1 for an ASCII byte, or 0 when p does not start one. len > 0. */
size_t alog_utf8_seq_len(const unsigned char *p, size_t len);

/* Writes s escaped as above into out[0..room) (the inside of a string
 * literal, no quotes, no NUL). Stops before the first escape or UTF-8
 * sequence that would not fit whole, so a cut value is still a valid
 * JSON string. Returns the bytes written (<= room); *used, if not NULL,
 * gets how many bytes of s they stand for (s.len when all fitted). out
 * NULL: only counts (alog_json_escaped_len). */
size_t alog_json_escape(char *out, size_t room, struct str s, size_t *used);

/* The length alog_json_escape() gives s with room enough. */
size_t alog_json_escaped_len(struct str s);

#endif
