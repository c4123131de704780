/* A configuration's backend members: every address each -b name resolves
 * to (or a rebuild's answers give, or a unix:PATH is) becomes one, and
 * the routes list them. See cfg_members_build in config/parse.h. */
#include "config/parse.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "config/resolve.h"

/* The answers of a rebuild: a name with no answer given has none. */
static void reuse_answers(const struct cfg_reuse *r, struct cfg_lookup *ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].host)
            continue;
        ls[i].num = 0;
        snprintf(ls[i].err, sizeof(ls[i].err), "no address known");
        for (size_t k = 0; k < r->num_answers; k++) {
            const struct cfg_lookup *a = &r->answers[k];
            if (strcmp(a->host, ls[i].host) != 0)
                continue;
            for (size_t j = 0; j < a->num; j++) {
                ls[i].addrs[j] = a->addrs[j];
                ls[i].addr_lens[j] = a->addr_lens[j];
            }
            ls[i].num = a->num;
            break;
        }
    }
}

/* A UNIX domain socket backend (config/spec.c's parse_unix) is its own
 * one address: whatever the lookup or a rebuild's answers said of its
 * "unix:PATH" name is replaced by it. */
static void unix_answers(const struct cfg_backend_spec *bes, size_t n, struct cfg_lookup *ls)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfg_backend *be = &bes[i].be;
        if (be->addr.ss_family != AF_UNIX)
            continue;
        ls[i].num = 1;
        ls[i].num_dropped = 0;
        memcpy(&ls[i].addrs[0], &be->addr, be->addr_len);
        ls[i].addr_lens[0] = be->addr_len;
    }
}

/* --backend-address-family: the answers' addresses of family alone (all
 * for AF_UNSPEC); a name left with none fails as one that did not
 * resolve. */
static void keep_family(struct cfg_lookup *ls, size_t n, int family)
{
    if (family == AF_UNSPEC)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t kept = 0, had = ls[i].num;
        for (size_t j = 0; j < had; j++) {
            if (ls[i].addrs[j].ss_family != family)
                continue;
            ls[i].addrs[kept] = ls[i].addrs[j];
            ls[i].addr_lens[kept++] = ls[i].addr_lens[j];
        }
        ls[i].num = kept;
        if (had && !kept)
            snprintf(ls[i].err, sizeof(ls[i].err), "no %s address (--backend-address-family)",
                     family == AF_INET ? "IPv4" : "IPv6");
    }
}

/* The addresses of every spec's name into ls (n entries): looked up, or
 * a rebuild's answers, filtered by family; a unix:PATH's own. Returns
 * NULL, or the error in buf. */
static const char *lookups(const struct config *cfg, const struct cfg_backend_spec *bes,
                           size_t n, const struct cfg_reuse *reuse, struct cfg_lookup *ls,
                           char *buf, size_t buf_len)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfg_backend *be = &bes[i].be;
        /* No lookup for a UNIX domain socket: unix_answers. */
        ls[i] = (struct cfg_lookup){ .host = be->addr.ss_family == AF_UNIX ? NULL : be->host };
    }
    if (reuse && !reuse->lookup)
        reuse_answers(reuse, ls, n);
    else if (cfg_resolve(ls, n, cfg->dns_server, cfg->dns_lookup_timeout, buf, buf_len) != 0)
        return buf;
    keep_family(ls, n, cfg->backend_address_family);
    unix_answers(bes, n, ls);
    return NULL;
}

/* What the answers say of each spec: a name with none fails the load,
 * unless it is a ;dns one (its group waits for the re-resolution, 503
 * until then); ;dns names are listed in cfg->dns_hosts. Sets *total to
 * the members to make. Returns NULL, or the error in buf. */
static const char *check_answers(struct config *cfg, const struct cfg_backend_spec *bes,
                                 size_t n, const struct cfg_lookup *ls, size_t *total,
                                 char *buf, size_t buf_len)
{
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cfg_backend *be = &bes[i].be;
        if (ls[i].num == 0 && be->dns) {
            log_warn("backend %s,%u: cannot resolve %s: %s; no member until it resolves",
                     be->host, be->port, be->host, ls[i].err);
        } else if (ls[i].num == 0) {
            snprintf(buf, buf_len, "backend %s,%u: cannot resolve %s: %s", be->host, be->port,
                     be->host, ls[i].err);
            return buf;
        }
        bool listed = false;
        for (size_t k = 0; k < cfg->num_dns_hosts && !listed; k++)
            listed = strcmp(cfg->dns_hosts[k], be->host) == 0;
        if (be->dns && !listed) {
            cfg->dns_hosts = xrealloc(cfg->dns_hosts, (cfg->num_dns_hosts + 1) * sizeof(char *));
            cfg->dns_hosts[cfg->num_dns_hosts++] = xstrdup(be->host);
        }
        if (ls[i].num_dropped)
            log_warn("backend %s,%u: %zu more addresses than the %d kept", be->host, be->port,
                     ls[i].num_dropped, CFG_MAX_MEMBERS);
        *total += ls[i].num;
    }
    return NULL;
}

/* cfg->backends[cfg->num_backends++]: spec at addr (the -b's port, as the
 * answers carry none). */
static void add_member(struct config *cfg, const struct cfg_backend *spec,
                       const struct sockaddr_storage *addr, socklen_t addr_len)
{
    struct cfg_backend *be = &cfg->backends[cfg->num_backends];
    *be = *spec;
    be->host = xstrdup(spec->host);
    be->sni = spec->sni ? xstrdup(spec->sni) : NULL;
    be->health_path = spec->health_path ? xstrdup(spec->health_path) : NULL;
    be->group.cookie_name = be->group.cookie_path = NULL; /* the route's */
    memcpy(&be->addr, addr, addr_len);
    be->addr_len = addr_len;
    if (be->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&be->addr)->sin6_port = htons(be->port);
    else if (be->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&be->addr)->sin_port = htons(be->port);
    be->index = cfg->num_backends++;
}

const char *cfg_members_build(struct config *cfg, const struct cfg_backend_spec *bes, size_t n,
                              const struct cfg_reuse *reuse, char *buf, size_t buf_len)
{
    struct cfg_lookup *ls = xcalloc(n, sizeof(*ls));
    size_t total = 0;
    const char *msg = lookups(cfg, bes, n, reuse, ls, buf, buf_len);
    if (!msg)
        msg = check_answers(cfg, bes, n, ls, &total, buf, buf_len);
    if (msg) {
        free(ls);
        return msg;
    }
    size_t *first = xcalloc(n, sizeof(*first)), *count = xcalloc(n, sizeof(*count));
    cfg->backends = xcalloc(total, sizeof(*cfg->backends));
    for (size_t i = 0; i < n; i++) {
        first[i] = cfg->num_backends;
        count[i] = ls[i].num;
        for (size_t j = 0; j < ls[i].num; j++)
            add_member(cfg, &bes[i].be, &ls[i].addrs[j], ls[i].addr_lens[j]);
    }
    msg = cfg_routes_build(cfg, bes, n, first, count, buf, buf_len);
    free(first);
    free(count);
    free(ls);
    return msg;
}
