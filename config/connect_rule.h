/* CONNECT allow/deny rules (--connect-allow, --connect-deny) and CONNECT
 * authority parsing. Pure: no sockets, no event loop, no resolver; the proxy
 * resolves names and asks again per address.
 *
 * RULE is HOST:PORTS.
 *   HOST   example.com        exact name (ASCII case-insensitive; one
 *                             trailing '.' is ignored on both sides)
 *          *.example.com      any name strictly below example.com:
 *                             a.example.com, a.b.example.com; not
 *                             example.com, not badexample.com
 *          *                  every target, name or address
 *          192.0.2.1          one IPv4 address
 *          10.0.0.0/8         an IPv4 CIDR block (no bits set past the prefix)
 *          [2001:db8::1]      one IPv6 address (brackets required)
 *          [fd00::]/8         an IPv6 CIDR block
 *   PORTS  443 | 8000-8999 | 80,443,8000-8999 | *     (ports 1..65535;
 *                             at most CRULE_MAX_PORT_RANGES items)
 *
 * Which rule matches what. A request is (H, P): the host and port of the
 * CONNECT authority. Resolving H gives addresses A1..An.
 *   - A name rule (exact, *.suffix) matches the request when H matches its
 *     name and P its ports. It never looks at addresses.
 *   - An address rule (address, CIDR) matches an address A when A lies in
 *     its block and P is in its ports. An IPv4 address and its IPv4-mapped
 *     IPv6 form (::ffff:a.b.c.d) are the same address: each matches the
 *     rules of either family.
 *   - '*' matches every request and every address (when P is in its ports).
 *   - When H is itself an IP literal, H is both the name and the only
 *     address: no exact or *.suffix rule can match it, address rules do.
 *
 * Decision for one resolved address A (crule_check_addr), in order:
 *   1. a deny rule matches H or A (or H's literal address)   -> refused
 *   2. an allow rule matches H or A                           -> allowed
 *   3. otherwise                                              -> refused
 * So deny always wins, and with no allow rule everything is refused. The
 * proxy connects only to addresses that passed: a name allowed by name
 * still cannot reach an address a deny rule covers (no DNS rebinding
 * around --connect-deny).
 *
 * Decision before resolving (crule_check_name), a shortcut that never
 * disagrees with crule_check_addr:
 *   deny name rule matches (H,P)                          -> CRULE_DENY
 *   H is an IP literal                                    -> CRULE_ALLOW or
 *                                                            CRULE_DENY, as
 *                                                            crule_check_addr
 *                                                            says for it
 *   no allow name rule matches and no allow address rule
 *     lists port P (nothing could ever allow it)          -> CRULE_DENY
 *   an allow name rule matches and no deny address rule
 *     lists port P (every address will pass)              -> CRULE_ALLOW
 *   otherwise (depends on the addresses)                  -> CRULE_NEED_ADDR
 * On CRULE_ALLOW and CRULE_NEED_ADDR the caller resolves H and keeps only
 * the addresses crule_check_addr accepts (on CRULE_ALLOW that is all of
 * them; calling it anyway costs little and keeps one code path); none
 * left means 403 destination_ip_prohibited. */
#ifndef H2G_CONFIG_CONNECT_RULE_H
#define H2G_CONFIG_CONNECT_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/str.h"

#define CRULE_MAX_PORT_RANGES 16
#define CRULE_MAX_NAME 253 /* RFC 1035 name length, without the trailing dot */

enum crule_kind {
    CRULE_NAME,   /* exact name */
    CRULE_SUFFIX, /* *.suffix */
    CRULE_ANY,    /* * */
    CRULE_NET,    /* address or CIDR block */
};

struct crule_port_range {
    uint16_t lo, hi; /* 1 <= lo <= hi <= 65535 */
};

/* One parsed rule; plain data, no pointers (copy it freely). */
struct crule {
    enum crule_kind kind;
    /* CRULE_NAME: the lower-cased name, no trailing dot. CRULE_SUFFIX: the
     * lower-cased suffix with its leading dot (".example.com"). NUL
     * terminated; name_len excludes the NUL. */
    char name[CRULE_MAX_NAME + 2];
    size_t name_len;
    /* CRULE_NET: AF_INET or AF_INET6, the network address in network byte
     * order (4 or 16 bytes used) and the prefix length (32 or 128 for a
     * single address). */
    int family;
    uint8_t addr[16];
    unsigned prefix;
    struct crule_port_range ports[CRULE_MAX_PORT_RANGES];
    size_t num_ports; /* >= 1; "*" is the single range 1-65535 */
};

/* Parses text (one --connect-allow/--connect-deny value; surrounding
 * spaces ignored) into *out. Returns NULL on success, or a static message
 * ("invalid port range") for the caller to prefix with the option name and
 * FILE:LINE; *out is then unspecified. */
const char *crule_parse(struct str text, struct crule *out);

enum crule_verdict { CRULE_DENY, CRULE_ALLOW, CRULE_NEED_ADDR };

/* The allow and deny lists of one configuration. Immutable once the
 * configuration is built, so workers read it without locks. */
struct crule_set;

/* Returns an empty set (never NULL: allocation failure aborts). An empty
 * set denies everything. */
struct crule_set *crule_set_new(void);

/* Appends a copy of *rule to the deny list (deny) or the allow list. Order
 * does not matter to any decision. */
void crule_set_add(struct crule_set *set, const struct crule *rule, bool deny);

/* Number of allow rules (deny false) or deny rules (deny true); 0 for NULL. */
size_t crule_set_num(const struct crule_set *set, bool deny);

/* Frees set; NULL is a no-op. */
void crule_set_free(struct crule_set *set);

/* Splits a CONNECT authority ("host:port", "[v6]:port") into *host and
 * *port. *host borrows from authority: a name as given (not lower-cased),
 * or an IPv6 literal without its brackets. Requires a port (1..65535,
 * digits only) and a non-empty host of at most 253 characters made of
 * letters, digits, '-', '.' and '_' (or a valid bracketed IPv6 literal);
 * rejects userinfo, a path, a query and anything else. Returns NULL on
 * success, or a static message (the proxy answers 400, or RST_STREAM
 * PROTOCOL_ERROR on HTTP/2); *host and *port are untouched on failure. */
const char *crule_parse_authority(struct str authority, struct str *host, uint16_t *port);

/* The pre-resolution decision for (host, port); see the table above. host
 * is as crule_parse_authority returned it (IPv6 literal without brackets;
 * any case). set NULL means no rules: CRULE_DENY. */
enum crule_verdict crule_check_name(const struct crule_set *set, struct str host, uint16_t port);

/* True when the proxy may connect to addr (AF_INET or AF_INET6; its port
 * field is ignored, port is the requested one) for a CONNECT to
 * host:port; see the table above. set NULL or another family: false. */
bool crule_check_addr(const struct crule_set *set, struct str host, const struct sockaddr *addr,
                      uint16_t port);

#endif
