/* The per-worker asynchronous resolver for CONNECT targets: one c-ares
 * channel whose sockets and timeouts are watched by the worker's libev
 * loop, a bounded per-worker cache, and one lookup per name at a time
 * (concurrent queries for a name share it).
 *
 * Everything here belongs to one thread: the worker that made the dns. */
#ifndef H2G_PROXY_DNS_H
#define H2G_PROXY_DNS_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/str.h"

/* The addresses of one answer h2gate keeps: as many as a backend name
 * may have members at start (config/resolve.c), so a ";dns" name's
 * members follow answers as large (a headless Service with many pods).
 * A CONNECT tries at most TUN_MAX_ADDRS of them. */
#define DNS_MAX_ADDRS 64
/* Names cached per worker; the oldest goes first when full. */
#define DNS_CACHE_MAX 1024
/* How long NXDOMAIN (and "no address") answers are cached, at most. */
#define DNS_NEGATIVE_TTL 5.0

/* The addresses of one name: IPv6 ones first, then IPv4 ones, each family
 * in the order the resolver gave (RFC 6724 sorted by c-ares), duplicates
 * removed. Each entry is a sockaddr_in or sockaddr_in6 (see ss_family)
 * with port 0. When a name has more than DNS_MAX_ADDRS addresses, each
 * family keeps at least DNS_MAX_ADDRS / 2 when it has them. */
struct dns_result {
    size_t num; /* 1..DNS_MAX_ADDRS on success */
    uint32_t ttl; /* the smallest TTL of the answer's records, seconds */
    struct sockaddr_storage addrs[DNS_MAX_ADDRS];
};

struct dns;
struct dns_query;

/* status is 0 with res holding at least one address, or a negative
 * h2g_err with res NULL:
 *   H2G_ERR_NOROUTE  the name does not exist or has no A/AAAA address
 *   H2G_ERR_TIMEOUT  no answer within the lookup timeout
 *   H2G_ERR_INVAL    the name is not one a resolver can look up
 *   H2G_ERR_IO       the DNS servers failed (SERVFAIL, refused, ...)
 * res is valid only during the call. The query is freed when the callback
 * returns: do not dns_cancel it (from inside the callback that is a
 * no-op). The callback may start and cancel other queries. */
typedef void (*dns_cb)(void *arg, int status, const struct dns_result *res);

/* A resolver on loop (borrowed; it must outlive the dns). lookup_timeout_s
 * bounds each lookup (<= 0: 5 s). Positive answers are cached for
 * cache_timeout_s (<= 0: no cache, negative answers neither), NXDOMAIN for
 * min(cache_timeout_s, DNS_NEGATIVE_TTL); timeouts and server failures are
 * not cached. /etc/resolv.conf and /etc/hosts are read as c-ares does.
 * Returns NULL (after logging why) when c-ares cannot start. */
struct dns *dns_new(struct ev_loop *loop, double lookup_timeout_s, double cache_timeout_s);

/* Frees dns, its watchers and its cache; NULL is a no-op. Outstanding
 * queries are freed without calling back (their handles become invalid).
 * Not from inside a dns callback. */
void dns_free(struct dns *dns);

/* Resolves host (borrowed; a name in any case, an IPv4 literal, or an IPv6
 * literal with or without brackets) and calls cb(arg, ...) exactly once,
 * unless the query is cancelled first. cb is never called from inside
 * dns_resolve: answers known at once (IP literals, cache hits, invalid
 * names) are delivered from the loop's next iteration, the others when
 * the lookup ends. Returns the query handle (never NULL), valid until the
 * callback returns or dns_cancel. */
struct dns_query *dns_resolve(struct dns *dns, struct str host, dns_cb cb, void *arg);

/* Forgets q: its callback will not be called, and the caller may free what
 * arg points to. The lookup itself may go on to fill the cache. NULL is a
 * no-op. */
void dns_cancel(struct dns_query *q);

/* Replaces the DNS servers of /etc/resolv.conf with csv
 * ("192.0.2.53,[2001:db8::53]:5353"); call it before the first lookup
 * (c-ares refuses while queries are pending: a running resolver changes
 * servers with dns_renew). Returns 0, or H2G_ERR_INVAL. */
int dns_set_servers(struct dns *dns, const char *csv);

/* The configuration changed (--dns-server, the timeouts: a new
 * generation): returns a new resolver with servers (NULL: resolv.conf's)
 * and an empty cache, for every lookup from now on, and the stats of old.
 * Queries already made on old still get their answer from it (and
 * dns_cancel works on them); old is freed by the new one once nothing
 * waits on it, or with it by dns_free. Callable from a dns callback (of
 * old too). When the new resolver cannot start (logged), returns old. */
struct dns *dns_renew(struct dns *old, double lookup_timeout_s, double cache_timeout_s,
                      const char *servers);

/* Counts names looked up, cache hits and failures in stats (a worker's
 * block, borrowed; NULL: not counted). IP literals are not lookups. */
struct stats;
void dns_set_stats(struct dns *dns, struct stats *stats);

/* Lookups handed to c-ares so far (cache hits, literals and joined
 * lookups do not count). For tests and stats. */
uint64_t dns_num_lookups(const struct dns *dns);

/* Fills res from a c-ares answer (NULL: no address) as struct dns_result
 * describes: IPv6 first, order kept, duplicates dropped, capped. Exposed
 * for tests. */
struct ares_addrinfo;
void dns_collect(const struct ares_addrinfo *ai, struct dns_result *res);

/* Names in the cache now, expired ones not yet dropped included. */
size_t dns_num_cached(const struct dns *dns);

#endif
