/* The backend registry: see registry.h. */
#include "config/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_backend(const struct cfg_backend *a, const struct cfg_backend *b)
{
    return a->port == b->port && a->proto == b->proto && a->tls == b->tls &&
           same_str(a->host, b->host) && same_str(a->sni, b->sni) &&
           a->addr_len == b->addr_len && memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

void cfg_backend_label(const struct cfg_backend *be, char *out, size_t len)
{
    char addr[INET6_ADDRSTRLEN + 2] = "", lit[INET6_ADDRSTRLEN] = "";
    const struct sockaddr_in *sin = (const void *)&be->addr;
    const struct sockaddr_in6 *sin6 = (const void *)&be->addr;
    if (be->addr.ss_family == AF_INET6 && inet_ntop(AF_INET6, &sin6->sin6_addr, lit, sizeof(lit)))
        snprintf(addr, sizeof(addr), "[%s]", lit);
    else if (be->addr.ss_family == AF_INET && inet_ntop(AF_INET, &sin->sin_addr, lit, sizeof(lit)))
        snprintf(addr, sizeof(addr), "%s", lit);
    if (be->addr.ss_family == AF_UNIX)
        snprintf(out, len, "%s", be->host);
    else if (!addr[0] || strcmp(lit, be->host) == 0)
        snprintf(out, len, "%s:%u", be->host, be->port);
    else
        snprintf(out, len, "%s:%u@%s", be->host, be->port, addr);
}

/* cfg_backend_label, with "#slot" when a slot in use has that label (the
 * same backend on another protocol). */
static char *label(const struct cfg_registry *r, const struct cfg_backend *be, size_t slot)
{
    char name[320];
    cfg_backend_label(be, name, sizeof(name));
    for (size_t i = 0; i < r->num; i++) {
        if (r->names[i] && strcmp(r->names[i], name) == 0) {
            snprintf(name + strlen(name), sizeof(name) - strlen(name), "#%zu", slot);
            break;
        }
    }
    return xstrdup(name);
}

void cfg_registry_init(struct cfg_registry *r, size_t cap)
{
    if (cap < 1 || cap > CFG_REGISTRY_MAX)
        cap = CFG_REGISTRY_MAX;
    *r = (struct cfg_registry){ .cap = cap, .next_serial = 1 };
    r->slots = xcalloc(cap, sizeof(*r->slots));
    r->names = xcalloc(cap, sizeof(*r->names));
    r->gen_refs = xcalloc(cap, sizeof(*r->gen_refs));
}

/* The slot in use with be's identity, or -1. */
static long find(const struct cfg_registry *r, const struct cfg_backend *be)
{
    for (size_t i = 0; i < r->num; i++) {
        if (r->slots[i] && same_backend(r->slots[i], be))
            return (long)i;
    }
    return -1;
}

size_t cfg_registry_needed(const struct cfg_registry *r, const struct config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->num_backends; i++) {
        const struct cfg_backend *be = &cfg->backends[i];
        bool seen = find(r, be) >= 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = same_backend(&cfg->backends[k], be);
        n += !seen;
    }
    return n;
}

static size_t intern_one(struct cfg_registry *r, const struct cfg_backend *be)
{
    long found = find(r, be);
    if (found >= 0)
        return (size_t)found;
    size_t slot = 0;
    while (slot < r->cap && r->slots[slot])
        slot++;
    if (slot == r->cap)
        abort(); /* the caller checked cfg_registry_needed() */
    struct cfg_backend *copy = xcalloc(1, sizeof(*copy));
    *copy = *be;
    copy->host = xstrdup(be->host);
    copy->sni = be->sni ? xstrdup(be->sni) : NULL;
    copy->health_path = NULL;  /* policy: read from the generation */
    copy->group = (struct cfg_group_policy){ 0 };
    copy->index = slot;
    copy->serial = r->next_serial++;
    r->names[slot] = label(r, be, slot);
    r->slots[slot] = copy;
    if (slot == r->num)
        r->num = slot + 1;
    r->num_live++;
    return slot;
}

void cfg_registry_intern(struct cfg_registry *r, struct config *cfg)
{
    size_t *slot = xcalloc(cfg->num_backends ? cfg->num_backends : 1, sizeof(*slot));
    for (size_t i = 0; i < cfg->num_backends; i++) {
        slot[i] = intern_one(r, &cfg->backends[i]);
        atomic_fetch_add_explicit(&r->gen_refs[slot[i]], 1, memory_order_relaxed);
    }
    /* Routes point into cfg->backends by position until now. */
    for (size_t i = 0; i < cfg->num_routes; i++) {
        struct cfg_route *rt = &cfg->routes[i];
        for (size_t j = 0; j < rt->num_backends; j++)
            rt->backends[j] = r->slots[slot[rt->backends[j] - cfg->backends]];
    }
    for (size_t i = 0; i < cfg->num_backends; i++) {
        cfg->backends[i].index = slot[i];
        cfg->backends[i].serial = r->slots[slot[i]]->serial;
    }
    free(slot);
}

void cfg_registry_release(struct cfg_registry *r, const struct config *cfg)
{
    /* Release: what this generation's users did with the slot happens
     * before main, seeing 0 with acquire, frees it. */
    for (size_t i = 0; i < cfg->num_backends; i++)
        atomic_fetch_sub_explicit(&r->gen_refs[cfg->backends[i].index], 1,
                                  memory_order_release);
}

bool cfg_registry_retired(const struct cfg_registry *r, size_t slot)
{
    return slot < r->num && r->slots[slot] &&
           atomic_load_explicit(&r->gen_refs[slot], memory_order_acquire) == 0;
}

static void free_object(struct cfg_backend *be)
{
    free(be->host);
    free(be->sni);
    free(be);
}

void cfg_registry_free_slot(struct cfg_registry *r, size_t slot)
{
    if (!cfg_registry_retired(r, slot))
        return;
    free_object(r->slots[slot]);
    free(r->names[slot]);
    r->slots[slot] = NULL;
    r->names[slot] = NULL;
    r->num_live--;
}

void cfg_registry_free(struct cfg_registry *r)
{
    for (size_t i = 0; i < r->num; i++) {
        if (r->slots[i])
            free_object(r->slots[i]);
        free(r->names[i]);
    }
    free(r->slots);
    free(r->names);
    free(r->gen_refs);
    *r = (struct cfg_registry){ 0 };
}
