#include "proxy/dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/container.h"
#include "common/err.h"
#include "common/log.h"
#include "common/stats.h"
#include "common/xalloc.h"

#define DNS_MAX_NAME 254 /* 253 plus an optional trailing dot */
#define NUM_BUCKETS 1024 /* power of two; for the cache and the lookups */
#define DEFAULT_LOOKUP_TIMEOUT 5.0

/* Circular doubly-linked list with a sentinel: a node unlinks itself
 * without knowing which list holds it. */
struct dlink {
    struct dlink *prev, *next;
};

static void dlink_init(struct dlink *l)
{
    l->prev = l->next = l;
}

static bool dlink_empty(const struct dlink *l)
{
    return l->next == l;
}

static void dlink_remove(struct dlink *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    dlink_init(n);
}

static void dlink_append(struct dlink *list, struct dlink *n)
{
    n->prev = list->prev;
    n->next = list;
    list->prev->next = n;
    list->prev = n;
}

/* Moves every node of from to the end of to. */
static void dlink_splice(struct dlink *to, struct dlink *from)
{
    if (dlink_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    dlink_init(from);
}

/* A lower-cased name, the key of the cache and of the lookup table. */
struct name_key {
    char name[DNS_MAX_NAME + 1];
    size_t len;
    uint32_t hash;
};

struct dns_query {
    struct dns *dns;
    dns_cb cb;
    void *arg;
    struct dlink link; /* in a lookup's waiters, dns->ready or drain's batch */
    int status;
    struct dns_result res;
};

/* One ares_getaddrinfo in flight. It lives until c-ares calls back, even
 * after it timed out for its waiters (detached). */
struct dns_lookup {
    struct dns *dns;
    struct name_key key;
    struct dns_lookup *hnext; /* chain in dns->lookups while attached */
    struct dlink all;         /* dns->all_lookups */
    struct dlink waiters;     /* dns_query.link */
    ev_timer timer;
    bool detached;
};

struct cache_entry {
    struct name_key key;
    struct cache_entry *hnext;
    struct dlink age; /* dns->cache_age, oldest first */
    double expires;
    int status;
    size_t num;
    struct sockaddr_storage addrs[]; /* num of them */
};

struct dns_sock {
    ev_io io;
    struct dns *dns;
    struct dns_sock *next;
};

struct dns {
    struct ev_loop *loop;
    ares_channel channel;
    double lookup_timeout;
    double cache_timeout;
    ev_timer ares_timer; /* c-ares' own retransmit and timeout schedule */
    ev_timer defer;      /* delivers dns->ready on the next iteration */
    struct dlink ready;  /* queries with their answer set */
    struct dns_query *delivering; /* the query whose callback runs */
    struct dns_sock *socks;
    struct dns_sock *dead_socks; /* stopped, freed outside their callbacks */
    struct dns_lookup *lookups[NUM_BUCKETS];
    struct dlink all_lookups;
    struct cache_entry *cache[NUM_BUCKETS];
    struct dlink cache_age;
    size_t num_cached;
    uint64_t num_lookups;
    struct stats *stats; /* the worker's (dns_set_stats), or NULL */
    /* Resolvers dns_renew replaced, newest first, each freed by
     * older_timer once no query or lookup of its own is left. */
    struct dns *older;
    ev_timer older_timer;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void init_ares(void)
{
    ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void on_defer(struct ev_loop *loop, ev_timer *t, int revents);

/* ---- keys ---- */

/* False when name cannot be a key (empty, too long, NUL byte). */
static bool make_key(struct name_key *k, struct str name)
{
    if (name.len == 0 || name.len > DNS_MAX_NAME)
        return false;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < name.len; i++) {
        char c = name.p[i];
        if (c == '\0')
            return false;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        k->name[i] = c;
        h = (h ^ (uint8_t)c) * 16777619u;
    }
    k->name[name.len] = '\0';
    k->len = name.len;
    k->hash = h;
    return true;
}

static bool key_eq(const struct name_key *a, const struct name_key *b)
{
    return a->hash == b->hash && a->len == b->len && memcmp(a->name, b->name, a->len) == 0;
}

static size_t bucket(const struct name_key *k)
{
    return k->hash & (NUM_BUCKETS - 1);
}

/* ---- delivery ---- */

static void make_ready(struct dns *dns, struct dns_query *q)
{
    dlink_remove(&q->link);
    dlink_append(&dns->ready, &q->link);
    if (!ev_is_active(&dns->defer))
        ev_timer_start(dns->loop, &dns->defer);
}

/* Calls back the queries ready now; those made ready by the callbacks wait
 * for the next iteration, so a callback that resolves again cannot keep
 * this loop spinning. */
static void drain(struct dns *dns)
{
    struct dlink batch;
    dlink_init(&batch);
    dlink_splice(&batch, &dns->ready);
    while (!dlink_empty(&batch)) {
        struct dns_query *q = container_of(batch.next, struct dns_query, link);
        dlink_remove(&q->link);
        dns->delivering = q;
        if (q->status != 0)
            stats_dns_failure(dns->stats);
        q->cb(q->arg, q->status, q->status == 0 ? &q->res : NULL);
        dns->delivering = NULL;
        free(q);
    }
    if (dlink_empty(&dns->ready) && ev_is_active(&dns->defer))
        ev_timer_stop(dns->loop, &dns->defer);
}

/* ---- cache ---- */

static void cache_remove(struct dns *dns, struct cache_entry *e)
{
    struct cache_entry **link = &dns->cache[bucket(&e->key)];
    while (*link != e)
        link = &(*link)->hnext;
    *link = e->hnext;
    dlink_remove(&e->age);
    dns->num_cached--;
    free(e);
}

static struct cache_entry *cache_find(struct dns *dns, const struct name_key *k)
{
    for (struct cache_entry *e = dns->cache[bucket(k)]; e; e = e->hnext)
        if (key_eq(&e->key, k))
            return e;
    return NULL;
}

static void cache_put(struct dns *dns, const struct name_key *k, int status,
                      const struct dns_result *res, double ttl)
{
    struct cache_entry *old = cache_find(dns, k);
    if (old)
        cache_remove(dns, old);
    if (dns->num_cached >= DNS_CACHE_MAX)
        cache_remove(dns, container_of(dns->cache_age.next, struct cache_entry, age));
    size_t num = status == 0 ? res->num : 0;
    struct cache_entry *e = xcalloc(1, sizeof(*e) + num * sizeof(e->addrs[0]));
    e->key = *k;
    e->expires = ev_now(dns->loop) + ttl;
    e->status = status;
    e->num = num;
    if (num)
        memcpy(e->addrs, res->addrs, num * sizeof(e->addrs[0]));
    size_t b = bucket(k);
    e->hnext = dns->cache[b];
    dns->cache[b] = e;
    dlink_append(&dns->cache_age, &e->age);
    dns->num_cached++;
}

/* ---- c-ares plumbing ---- */

static void on_sock_io(struct ev_loop *loop, ev_io *io, int revents);

static void reap_socks(struct dns *dns)
{
    while (dns->dead_socks) {
        struct dns_sock *s = dns->dead_socks;
        dns->dead_socks = s->next;
        free(s);
    }
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct dns *dns = data;
    struct dns_sock **link = &dns->socks;
    while (*link && (*link)->io.fd != fd)
        link = &(*link)->next;
    struct dns_sock *s = *link;
    if (!readable && !writable) {
        if (!s)
            return;
        ev_io_stop(dns->loop, &s->io);
        *link = s->next;
        /* This may run inside s's own callback (ares_process_fd closing
         * the socket): free it after that returns. */
        s->next = dns->dead_socks;
        dns->dead_socks = s;
        return;
    }
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->dns = dns;
        s->next = dns->socks;
        dns->socks = s;
        ev_init(&s->io, on_sock_io);
    } else {
        ev_io_stop(dns->loop, &s->io);
    }
    ev_io_set(&s->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
    ev_io_start(dns->loop, &s->io);
}

/* Follows c-ares' next deadline. */
static void arm_ares_timer(struct dns *dns)
{
    struct timeval tv;
    struct timeval *next = ares_timeout(dns->channel, NULL, &tv);
    ev_timer_stop(dns->loop, &dns->ares_timer);
    if (!next)
        return;
    ev_timer_set(&dns->ares_timer, (double)next->tv_sec + next->tv_usec / 1e6, 0.);
    ev_timer_start(dns->loop, &dns->ares_timer);
}

static void after_ares(struct dns *dns)
{
    arm_ares_timer(dns);
    reap_socks(dns);
    drain(dns);
}

static void on_sock_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    struct dns_sock *s = container_of(io, struct dns_sock, io);
    struct dns *dns = s->dns;
    ares_socket_t fd = io->fd;
    ares_process_fd(dns->channel, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
                    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
    after_ares(dns);
}

static void on_ares_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct dns *dns = container_of(t, struct dns, ares_timer);
    ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    after_ares(dns);
}

static void on_defer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    drain(container_of(t, struct dns, defer));
}

/* ---- lookups ---- */

static void detach(struct dns_lookup *l)
{
    struct dns *dns = l->dns;
    if (l->detached)
        return;
    struct dns_lookup **link = &dns->lookups[bucket(&l->key)];
    while (*link != l)
        link = &(*link)->hnext;
    *link = l->hnext;
    l->detached = true;
    ev_timer_stop(dns->loop, &l->timer);
}

static void answer_waiters(struct dns_lookup *l, int status, const struct dns_result *res)
{
    while (!dlink_empty(&l->waiters)) {
        struct dns_query *q = container_of(l->waiters.next, struct dns_query, link);
        q->status = status;
        if (status == 0)
            q->res = *res;
        make_ready(l->dns, q);
    }
}

static void on_lookup_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct dns_lookup *l = container_of(t, struct dns_lookup, timer);
    struct dns *dns = l->dns;
    detach(l);
    answer_waiters(l, H2G_ERR_TIMEOUT, NULL);
    drain(dns);
}

static int map_ares_status(int status)
{
    switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
        return H2G_ERR_NOROUTE;
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
    case ARES_EBADFLAGS:
        return H2G_ERR_INVAL;
    case ARES_ETIMEOUT:
        return H2G_ERR_TIMEOUT;
    case ARES_ENOMEM:
        return H2G_ERR_NOMEM;
    default:
        return H2G_ERR_IO;
    }
}

static bool have_addr(const struct sockaddr_storage *list, size_t num,
                      const struct sockaddr *sa, size_t sa_len)
{
    for (size_t i = 0; i < num; i++)
        if (memcmp(&list[i], sa, sa_len) == 0)
            return true;
    return false;
}

void dns_collect(const struct ares_addrinfo *ai, struct dns_result *res)
{
    struct sockaddr_storage v6[DNS_MAX_ADDRS], v4[DNS_MAX_ADDRS];
    size_t n6 = 0, n4 = 0;
    res->ttl = UINT32_MAX;
    for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
        struct sockaddr_storage ss;
        if (n->ai_ttl >= 0 && (uint32_t)n->ai_ttl < res->ttl)
            res->ttl = (uint32_t)n->ai_ttl;
        size_t len;
        memset(&ss, 0, sizeof(ss));
        if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = ((const struct sockaddr_in6 *)n->ai_addr)->sin6_addr;
            sin6->sin6_scope_id = ((const struct sockaddr_in6 *)n->ai_addr)->sin6_scope_id;
            len = sizeof(*sin6);
            if (n6 < DNS_MAX_ADDRS && !have_addr(v6, n6, (struct sockaddr *)&ss, len))
                v6[n6++] = ss;
        } else if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in)) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            sin->sin_family = AF_INET;
            sin->sin_addr = ((const struct sockaddr_in *)n->ai_addr)->sin_addr;
            len = sizeof(*sin);
            if (n4 < DNS_MAX_ADDRS && !have_addr(v4, n4, (struct sockaddr *)&ss, len))
                v4[n4++] = ss;
        }
    }
    size_t half = DNS_MAX_ADDRS / 2;
    size_t take6 = n6;
    if (take6 + n4 > DNS_MAX_ADDRS)
        take6 = n4 >= half ? (n6 < half ? n6 : half) : DNS_MAX_ADDRS - n4;
    size_t take4 = n4 < DNS_MAX_ADDRS - take6 ? n4 : DNS_MAX_ADDRS - take6;
    res->num = 0;
    for (size_t i = 0; i < take6; i++)
        res->addrs[res->num++] = v6[i];
    for (size_t i = 0; i < take4; i++)
        res->addrs[res->num++] = v4[i];
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    (void)timeouts;
    struct dns_lookup *l = arg;
    struct dns *dns = l->dns;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        /* dns_free: the waiters are already gone. */
        detach(l);
    } else {
        struct dns_result *res = xmalloc(sizeof(*res));
        int st = 0;
        if (status == ARES_SUCCESS) {
            dns_collect(ai, res);
            if (res->num == 0)
                st = H2G_ERR_NOROUTE;
        } else {
            st = map_ares_status(status);
        }
        if (dns->cache_timeout > 0) {
            if (st == 0)
                cache_put(dns, &l->key, 0, res, dns->cache_timeout);
            else if (st == H2G_ERR_NOROUTE)
                cache_put(dns, &l->key, st, NULL,
                          dns->cache_timeout < DNS_NEGATIVE_TTL ? dns->cache_timeout
                                                                : DNS_NEGATIVE_TTL);
        }
        if (!l->detached) {
            detach(l);
            answer_waiters(l, st, res);
        }
        free(res);
    }
    if (ai)
        ares_freeaddrinfo(ai);
    dlink_remove(&l->all);
    free(l);
}

/* An IP literal (IPv6 with or without brackets) into res. */
static bool literal(struct str host, struct dns_result *res)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']')
        host = str_make(host.p + 1, host.len - 2);
    if (host.len == 0 || host.len >= sizeof(buf))
        return false;
    memcpy(buf, host.p, host.len);
    buf[host.len] = '\0';
    memset(&res->addrs[0], 0, sizeof(res->addrs[0]));
    struct sockaddr_in *sin = (struct sockaddr_in *)&res->addrs[0];
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&res->addrs[0];
    if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
    } else {
        return false;
    }
    res->num = 1;
    res->ttl = UINT32_MAX;
    return true;
}

struct dns_query *dns_resolve(struct dns *dns, struct str host, dns_cb cb, void *arg)
{
    struct dns_query *q = xmalloc(sizeof(*q));
    q->dns = dns;
    q->cb = cb;
    q->arg = arg;
    q->status = 0;
    q->res.num = 0;
    dlink_init(&q->link);
    if (literal(host, &q->res)) {
        make_ready(dns, q);
        return q;
    }
    struct name_key k;
    if (!make_key(&k, host)) {
        q->status = H2G_ERR_INVAL;
        make_ready(dns, q);
        return q;
    }
    struct cache_entry *e = cache_find(dns, &k);
    if (e && e->expires <= ev_now(dns->loop)) {
        cache_remove(dns, e);
        e = NULL;
    }
    stats_dns_lookup(dns->stats, e != NULL);
    if (e) {
        q->status = e->status;
        q->res.num = e->num;
        memcpy(q->res.addrs, e->addrs, e->num * sizeof(e->addrs[0]));
        make_ready(dns, q);
        return q;
    }
    for (struct dns_lookup *l = dns->lookups[bucket(&k)]; l; l = l->hnext) {
        if (key_eq(&l->key, &k)) {
            dlink_append(&l->waiters, &q->link);
            return q;
        }
    }
    struct dns_lookup *l = xcalloc(1, sizeof(*l));
    l->dns = dns;
    l->key = k;
    dlink_init(&l->waiters);
    dlink_append(&l->waiters, &q->link);
    dlink_append(&dns->all_lookups, &l->all);
    size_t b = bucket(&k);
    l->hnext = dns->lookups[b];
    dns->lookups[b] = l;
    ev_timer_init(&l->timer, on_lookup_timeout, dns->lookup_timeout, 0.);
    ev_timer_start(dns->loop, &l->timer);
    dns->num_lookups++;
    struct ares_addrinfo_hints hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
    };
    /* May call on_addrinfo (and free l) before it returns, e.g. for a name
     * in /etc/hosts; on_addrinfo only queues the answer, so cb still runs
     * later. */
    ares_getaddrinfo(dns->channel, k.name, NULL, &hints, on_addrinfo, l);
    arm_ares_timer(dns);
    return q;
}

void dns_cancel(struct dns_query *q)
{
    if (!q || q->dns->delivering == q)
        return;
    dlink_remove(&q->link);
    free(q);
}

/* Nothing waits on dns: no query to deliver, no lookup in flight. */
static bool idle(const struct dns *dns)
{
    return dlink_empty(&dns->ready) && dlink_empty(&dns->all_lookups) && !dns->delivering;
}

/* A timer of the newest resolver, so no callback of an older one is on
 * the stack when it is freed. */
static void on_older_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct dns *dns = container_of(t, struct dns, older_timer);
    for (struct dns **pp = &dns->older; *pp;) {
        struct dns *o = *pp;
        if (!idle(o)) {
            pp = &o->older;
            continue;
        }
        *pp = o->older;
        o->older = NULL;
        dns_free(o);
    }
    if (!dns->older)
        ev_timer_stop(loop, t);
}

struct dns *dns_new(struct ev_loop *loop, double lookup_timeout_s, double cache_timeout_s)
{
    pthread_once(&ares_once, init_ares);
    if (ares_init_status != ARES_SUCCESS) {
        log_error("c-ares: %s", ares_strerror(ares_init_status));
        return NULL;
    }
    struct dns *dns = xcalloc(1, sizeof(*dns));
    dns->loop = loop;
    dns->lookup_timeout = lookup_timeout_s > 0 ? lookup_timeout_s : DEFAULT_LOOKUP_TIMEOUT;
    dns->cache_timeout = cache_timeout_s;
    dlink_init(&dns->ready);
    dlink_init(&dns->all_lookups);
    dlink_init(&dns->cache_age);
    ev_timer_init(&dns->ares_timer, on_ares_timer, 0., 0.);
    ev_timer_init(&dns->defer, on_defer, 0., 0.);
    ev_timer_init(&dns->older_timer, on_older_timer, 1., 1.);
    /* Two tries that together take about the lookup timeout (c-ares
     * doubles the wait on each round); our own timer has the last word. */
    double per_try = dns->lookup_timeout / 3;
    int ms = per_try < 0.1 ? 100 : per_try > 10. ? 10000 : (int)(per_try * 1000);
    struct ares_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = on_sock_state;
    opts.sock_state_cb_data = dns;
    opts.timeout = ms;
    opts.tries = 2;
    int rc = ares_init_options(&dns->channel, &opts,
                               ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        log_error("c-ares: cannot create a channel: %s", ares_strerror(rc));
        free(dns);
        return NULL;
    }
    return dns;
}

void dns_free(struct dns *dns)
{
    if (!dns)
        return;
    ev_timer_stop(dns->loop, &dns->older_timer);
    while (dns->older) {
        struct dns *o = dns->older;
        dns->older = o->older;
        o->older = NULL;
        dns_free(o);
    }
    while (!dlink_empty(&dns->ready))
        dns_cancel(container_of(dns->ready.next, struct dns_query, link));
    for (struct dlink *n = dns->all_lookups.next; n != &dns->all_lookups; n = n->next) {
        struct dns_lookup *l = container_of(n, struct dns_lookup, all);
        while (!dlink_empty(&l->waiters))
            dns_cancel(container_of(l->waiters.next, struct dns_query, link));
    }
    /* Calls on_addrinfo with ARES_EDESTRUCTION for every lookup still in
     * flight, which frees it, and closes the sockets through
     * on_sock_state. */
    ares_destroy(dns->channel);
    while (dns->socks) {
        struct dns_sock *s = dns->socks;
        ev_io_stop(dns->loop, &s->io);
        dns->socks = s->next;
        free(s);
    }
    reap_socks(dns);
    while (!dlink_empty(&dns->all_lookups)) {
        struct dns_lookup *l = container_of(dns->all_lookups.next, struct dns_lookup, all);
        ev_timer_stop(dns->loop, &l->timer);
        dlink_remove(&l->all);
        free(l);
    }
    while (!dlink_empty(&dns->cache_age))
        cache_remove(dns, container_of(dns->cache_age.next, struct cache_entry, age));
    ev_timer_stop(dns->loop, &dns->ares_timer);
    ev_timer_stop(dns->loop, &dns->defer);
    free(dns);
}

int dns_set_servers(struct dns *dns, const char *csv)
{
    int rc = ares_set_servers_ports_csv(dns->channel, csv);
    if (rc != ARES_SUCCESS)
        return H2G_ERR_INVAL;
    return 0;
}

struct dns *dns_renew(struct dns *old, double lookup_timeout_s, double cache_timeout_s,
                      const char *servers)
{
    struct dns *dns = dns_new(old->loop, lookup_timeout_s, cache_timeout_s);
    if (dns && servers && dns_set_servers(dns, servers) != 0) {
        log_error("c-ares: cannot use the DNS servers %s", servers);
        dns_free(dns);
        dns = NULL;
    }
    if (!dns)
        return old;
    dns->stats = old->stats;
    /* old's own older ones stay chained behind it; one timer minds them. */
    ev_timer_stop(old->loop, &old->older_timer);
    dns->older = old;
    ev_timer_start(dns->loop, &dns->older_timer);
    return dns;
}

void dns_set_stats(struct dns *dns, struct stats *stats)
{
    dns->stats = stats;
}

uint64_t dns_num_lookups(const struct dns *dns)
{
    return dns ? dns->num_lookups : 0;
}

size_t dns_num_cached(const struct dns *dns)
{
    return dns ? dns->num_cached : 0;
}
