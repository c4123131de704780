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
    if (!addr[0] || strcmp(lit, be->host) == 0)
        snprintf(out, len, "%s:%u", be->host, be->port);
    else
        snprintf(out, len, "%s:%u@%s", be->host, be->port, addr);
}

/* cfg_backend_label, with "#slot" when another slot has that label (the
 * same backend on another protocol). */
static char *label(const struct cfg_registry *r, const struct cfg_backend *be, size_t slot)
{
    char name[320];
    cfg_backend_label(be, name, sizeof(name));
    for (size_t i = 0; i < r->num; i++) {
        if (strcmp(r->names[i], name) == 0) {
            snprintf(name + strlen(name), sizeof(name) - strlen(name), "#%zu", slot);
            break;
        }
    }
    return xstrdup(name);
}

static size_t intern_one(struct cfg_registry *r, const struct cfg_backend *be)
{
    for (size_t i = 0; i < r->num; i++) {
        if (same_backend(r->slots[i], be))
            return i;
    }
    size_t slot = r->num;
    struct cfg_backend *copy = xcalloc(1, sizeof(*copy));
    *copy = *be;
    copy->host = xstrdup(be->host);
    copy->sni = be->sni ? xstrdup(be->sni) : NULL;
    copy->health_path = NULL;  /* policy: read from the generation */
    copy->group = (struct cfg_group_policy){ 0 };
    copy->index = slot;
    r->slots = xrealloc(r->slots, (slot + 1) * sizeof(*r->slots));
    r->names = xrealloc(r->names, (slot + 1) * sizeof(*r->names));
    r->names[slot] = label(r, be, slot);
    r->slots[slot] = copy;
    r->num = slot + 1;
    return slot;
}

void cfg_registry_intern(struct cfg_registry *r, struct config *cfg)
{
    size_t *slot = xcalloc(cfg->num_backends ? cfg->num_backends : 1, sizeof(*slot));
    for (size_t i = 0; i < cfg->num_backends; i++)
        slot[i] = intern_one(r, &cfg->backends[i]);
    /* Routes point into cfg->backends by position until now. */
    for (size_t i = 0; i < cfg->num_routes; i++) {
        struct cfg_route *rt = &cfg->routes[i];
        for (size_t j = 0; j < rt->num_backends; j++)
            rt->backends[j] = r->slots[slot[rt->backends[j] - cfg->backends]];
    }
    for (size_t i = 0; i < cfg->num_backends; i++)
        cfg->backends[i].index = slot[i];
    free(slot);
}

void cfg_registry_free(struct cfg_registry *r)
{
    for (size_t i = 0; i < r->num; i++) {
        free(r->slots[i]->host);
        free(r->slots[i]->sni);
        free(r->slots[i]);
        free(r->names[i]);
    }
    free(r->slots);
    free(r->names);
    *r = (struct cfg_registry){ 0 };
}
