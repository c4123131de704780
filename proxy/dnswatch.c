/* Re-resolution of ";dns" backend names: see dnswatch.h. Main thread
 * only. */
#include "proxy/dnswatch.h"

#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "config/config.h"
#include "config/resolve.h"
#include "proxy/dns.h"
#include "proxy/gen.h"

#define MIN_INTERVAL 1.0
#define RETRY_INTERVAL 5.0

struct name {
    char *host;
    struct cfg_lookup ans;   /* the addresses in force (ports ignored) */
    bool failing;            /* the last lookup failed (logged once) */
    ev_timer timer;
    struct dns_query *q;
};

static struct {
    struct ev_loop *loop;
    struct dns *dns;
    void (*changed)(void);
    double max_interval;
    char *servers;               /* W.dns's --dns-server, or NULL */
    double lookup_timeout;       /* and its --dns-lookup-timeout */
    struct name **names;
    size_t num;
    struct cfg_lookup *answers;  /* dnswatch_answers' */
} W;

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

static bool has_addr(const struct cfg_lookup *l, const struct sockaddr_storage *ss)
{
    for (size_t i = 0; i < l->num; i++) {
        if (same_addr(&l->addrs[i], ss))
            return true;
    }
    return false;
}

static void add_addr(struct cfg_lookup *l, const struct sockaddr_storage *ss)
{
    if (l->num < CFG_MAX_MEMBERS && !has_addr(l, ss)) {
        l->addrs[l->num] = *ss;
        l->addr_lens[l->num++] = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in);
    }
}

/* The addresses g's members of host have. */
static void members_of(const struct gen *g, const char *host, struct cfg_lookup *out)
{
    out->num = 0;
    out->host = host;
    for (size_t i = 0; i < g->cfg.num_backends; i++) {
        if (strcmp(g->cfg.backends[i].host, host) == 0)
            add_addr(out, &g->cfg.backends[i].addr);
    }
}

static void on_answer(void *arg, int status, const struct dns_result *res);

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct name *n = t->data;
    n->q = dns_resolve(W.dns, str_cstr(n->host), on_answer, n);
}

static void schedule(struct name *n, double after)
{
    ev_timer_stop(W.loop, &n->timer);
    ev_timer_set(&n->timer, after, 0.);
    ev_timer_start(W.loop, &n->timer);
}

static void on_answer(void *arg, int status, const struct dns_result *res)
{
    struct name *n = arg;
    n->q = NULL;
    if (status != 0) {
        if (!n->failing)
            log_warn("backend name %s: lookup failed (%s): keeping the %zu addresses of the "
                     "last answer",
                     n->host, h2g_strerror(status), n->ans.num);
        n->failing = true;
        schedule(n, fmin(RETRY_INTERVAL, W.max_interval));
        return;
    }
    if (n->failing)
        log_notice("backend name %s: resolves again", n->host);
    n->failing = false;
    bool differs = res->num != n->ans.num;
    for (size_t i = 0; i < res->num && !differs; i++)
        differs = !has_addr(&n->ans, &res->addrs[i]);
    schedule(n, fmax(MIN_INTERVAL, fmin((double)res->ttl, W.max_interval)));
    if (!differs)
        return;
    log_notice("backend name %s: %zu addresses now (were %zu)", n->host, res->num, n->ans.num);
    n->ans.num = 0;
    for (size_t i = 0; i < res->num; i++)
        add_addr(&n->ans, &res->addrs[i]);
    W.changed();
}

static void free_name(struct name *n)
{
    ev_timer_stop(W.loop, &n->timer);
    dns_cancel(n->q);
    free(n->host);
    free(n);
}

static bool same_opt(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* g's --dns-server or --dns-lookup-timeout differ from the resolver's: a
 * new one, and the lookups in flight start again on it. */
static void use_servers(const struct gen *g)
{
    const struct config *cfg = &g->cfg;
    if (same_opt(W.servers, cfg->dns_server) && W.lookup_timeout == cfg->dns_lookup_timeout)
        return;
    W.dns = dns_renew(W.dns, cfg->dns_lookup_timeout, 0, cfg->dns_server);
    free(W.servers);
    W.servers = cfg->dns_server ? xstrdup(cfg->dns_server) : NULL;
    W.lookup_timeout = cfg->dns_lookup_timeout;
    for (size_t k = 0; k < W.num; k++) {
        struct name *n = W.names[k];
        if (n->q) {
            dns_cancel(n->q);
            n->q = NULL;
            schedule(n, 0.);
        }
    }
}

void dnswatch_use(const struct gen *g)
{
    if (!W.loop)
        return;
    use_servers(g);
    W.max_interval = fmax(MIN_INTERVAL, g->cfg.dns_cache_timeout);
    struct name **next = NULL;
    size_t num = 0;
    for (size_t i = 0; i < g->cfg.num_dns_hosts; i++) {
        const char *host = g->cfg.dns_hosts[i];
        struct name *n = NULL;
        for (size_t k = 0; k < W.num && !n; k++) {
            if (W.names[k] && strcmp(W.names[k]->host, host) == 0) {
                n = W.names[k];
                W.names[k] = NULL;
            }
        }
        if (!n) {
            n = xcalloc(1, sizeof(*n));
            n->host = xstrdup(host);
            ev_timer_init(&n->timer, on_timer, 0., 0.);
            n->timer.data = n;
            schedule(n, MIN_INTERVAL);
        }
        members_of(g, n->host, &n->ans);
        n->ans.host = n->host;
        next = xrealloc(next, (num + 1) * sizeof(*next));
        next[num++] = n;
    }
    for (size_t k = 0; k < W.num; k++) {
        if (W.names[k])
            free_name(W.names[k]);
    }
    free(W.names);
    W.names = next;
    W.num = num;
}

void dnswatch_start(struct ev_loop *loop, const struct gen *g, void (*changed)(void))
{
    W.loop = loop;
    W.changed = changed;
    W.dns = dns_new(loop, g->cfg.dns_lookup_timeout, 0);
    if (W.dns && g->cfg.dns_server)
        dns_set_servers(W.dns, g->cfg.dns_server);
    if (!W.dns) {
        W.loop = NULL;
        return;
    }
    W.servers = g->cfg.dns_server ? xstrdup(g->cfg.dns_server) : NULL;
    W.lookup_timeout = g->cfg.dns_lookup_timeout;
    dnswatch_use(g);
}

static void answer_for(const struct gen *g, const char *host, size_t *num)
{
    for (size_t k = 0; k < *num; k++) {
        if (strcmp(W.answers[k].host, host) == 0)
            return;
    }
    struct cfg_lookup *a = &W.answers[(*num)++];
    members_of(g, host, a);
    for (size_t k = 0; k < W.num; k++) {
        if (strcmp(W.names[k]->host, host) == 0)
            *a = W.names[k]->ans;
    }
}

void dnswatch_answers(const struct gen *g, struct cfg_reuse *out)
{
    const struct config *cfg = &g->cfg;
    size_t cap = cfg->num_backends + cfg->num_dns_hosts, num = 0;
    free(W.answers);
    W.answers = xcalloc(cap ? cap : 1, sizeof(*W.answers));
    for (size_t i = 0; i < cfg->num_backends; i++) {
        if (cfg->backends[i].addr.ss_family != AF_UNIX) /* no name: config.c's unix_answers */
            answer_for(g, cfg->backends[i].host, &num);
    }
    for (size_t i = 0; i < cfg->num_dns_hosts; i++)
        answer_for(g, cfg->dns_hosts[i], &num);
    out->answers = W.answers;
    out->num_answers = num;
}

void dnswatch_stop(void)
{
    for (size_t k = 0; k < W.num; k++)
        free_name(W.names[k]);
    free(W.names);
    free(W.answers);
    free(W.servers);
    dns_free(W.dns);
    memset(&W, 0, sizeof(W));
}
