/* The backend registry: one immortal struct cfg_backend per distinct backend
 * (host, port, proto, tls, sni, resolved address) ever configured in this
 * process, under a stable slot number. Reloads intern their backends here,
 * so a backend present before and after a reload is the same object with
 * the same slot: its pooled connections, TLS sessions and metrics carry
 * over, and a connection may outlive the configuration that opened it
 * without a dangling pointer. Main thread only; the objects themselves
 * are immutable once made and may be read by any thread that received
 * them through a published generation. */
#ifndef H2G_CONFIG_REGISTRY_H
#define H2G_CONFIG_REGISTRY_H

#include <stddef.h>

#include "config/config-t.h"

struct cfg_registry {
    struct cfg_backend **slots;  /* by slot; never freed before the registry */
    char **names;                /* metric label per slot: "host:port", unique */
    size_t num;
};

/* Points every route of cfg at the registry's objects (made on first
 * sight) and sets each cfg->backends[i].index to its slot. cfg's own
 * backend array stays as parsed (its index fields now hold slots). */
void cfg_registry_intern(struct cfg_registry *r, struct config *cfg);

void cfg_registry_free(struct cfg_registry *r);

/* A member's name for logs and metrics: "host:port" for an IP literal,
 * "name:port@address" for a name (each of its addresses is a member). */
void cfg_backend_label(const struct cfg_backend *be, char *out, size_t len);

#endif
