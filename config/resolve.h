/* Backend name resolution at load time: every -b name is looked up at
 * once with c-ares (which reads /etc/hosts and /etc/resolv.conf, or the
 * servers of --dns-server), blocking the calling thread (main, at start
 * and at a reload; never a worker) until every answer is in or the
 * lookup timeout passed. */
#ifndef H2G_CONFIG_RESOLVE_H
#define H2G_CONFIG_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Addresses kept per backend name; more are dropped with a warning. */
#define CFG_MAX_MEMBERS 64

struct cfg_lookup {
    const char *host;                    /* in: a name or an IP literal; NULL:
                                          * none (left as it is) */
    struct sockaddr_storage addrs[CFG_MAX_MEMBERS]; /* out, in resolver order; port 0 */
    socklen_t addr_lens[CFG_MAX_MEMBERS];
    size_t num;                          /* out: 0 on failure */
    size_t num_dropped;                  /* out: addresses past CFG_MAX_MEMBERS */
    uint32_t ttl;                        /* out: the smallest TTL of the answer */
    char err[128];                       /* out: why num is 0 */
};

/* Resolves every lookup in ls[0..n) concurrently. servers is NULL or a
 * c-ares server list ("127.0.0.1:5353,[::1]:53"). Returns 0 when c-ares
 * ran (each lookup then says how it went), or -1 with err filled when it
 * could not start (a bad server list, say). */
int cfg_resolve(struct cfg_lookup *ls, size_t n, const char *servers, double timeout_s,
                char *err, size_t err_len);

#endif
