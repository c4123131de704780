/* The Link response field (RFC 8288) as server push reads it: which
 * targets a backend asks to preload, and the :path each one is pushed
 * as. Pure: no I/O, no nghttp2. */
#ifndef H2G_PROXY_LINKHDR_H
#define H2G_PROXY_LINKHDR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"

/* Reads one Link field value v (a comma-separated list of
 * `<URI-Reference> *( ";" param )`) from offset *pos on, up to the next
 * link whose rel parameter names "preload" (a space-separated list, any
 * case) and that carries neither a "nopush" nor an "anchor" parameter (an
 * anchor makes the link about another resource). Returns true with *uri
 * set to its target (a view into v, borrowed) and *pos past the link, or
 * false at the end of v or at a malformed link (the links before it have
 * been given). Start with *pos = 0. */
bool link_next_preload(struct str v, size_t *pos, struct str *uri);

/* The :path under which target uri (from link_next_preload) is pushed for a
 * request to scheme://authority with :path base: an absolute path as it
 * is; a relative reference resolved against base's directory (or base
 * itself for "?query"); "//authority/..." and "scheme://authority/..."
 * only when scheme (any case) and authority (any case) are the
 * request's. A fragment is dropped. Writes the path into buf (cap bytes,
 * no NUL) and returns its length, or 0 when uri is not pushed: another
 * origin or scheme, an empty reference, a path that starts with "//"
 * or has a "." or ".." segment, a byte other than visible ASCII (controls, space, DEL, bytes
 * over 0x7f), or longer than cap. */
size_t link_push_path(struct str uri, struct str scheme, struct str authority, struct str base,
                      char *buf, size_t cap);

#endif
