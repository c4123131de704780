/* RFC 7239 Forwarded elements for backend requests (--add-forwarded,
 * --forwarded-by, --forwarded-for), nghttpx's semantics: parameters in the
 * order by, for, host, proto; obfuscated identifiers by default (one for
 * the process as "by", one per client connection as "for"); values quoted
 * where RFC 7239 wants a quoted-string (an IPv6 node, a port, a host with
 * a port). */
#ifndef H2G_PROXY_FORWARDED_H
#define H2G_PROXY_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"
#include "config/config-t.h"
#include "proxy/xchg-t.h"

/* Room for an element whose host fits; a longer host is left out. */
#define FWD_ELEMENT_MAX 640

/* True when accept must record the connection's local address
 * (client_facts.local): --forwarded-by=ip with "by" added. */
bool fwd_wants_local_addr(const struct config *cfg);

/* Writes the element for a request on the connection f, with authority
 * (the Host) and scheme, into buf (FWD_ELEMENT_MAX bytes). Returns its
 * length, 0 when cfg adds no Forwarded. */
size_t fwd_element(char *buf, const struct config *cfg, const struct client_facts *f,
                   struct str authority, bool https);

#endif
