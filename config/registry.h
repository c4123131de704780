/* The backend registry: one struct cfg_backend per distinct backend (host,
 * port, proto, tls, sni, resolved address) in use, under a slot number
 * that stays its own while anything uses it. Reloads and ;dns rebuilds
 * intern their backends here, so a backend present before and after a
 * switch is the same object with the same slot: its pooled connections,
 * TLS sessions and metrics carry over, and a connection may outlive the
 * configuration that opened it without a dangling pointer.
 *
 * Slots are reclaimed (a Kubernetes autoscaler cycles pod addresses all
 * day; the registry must not fill up). The invariant:
 *
 *   A slot is free (object freed, label NULL) only when (1) no generation
 *   whose members may still be used names it: gen_refs[slot] == 0, each
 *   generation holding one count per cfg->backends[] entry on the slot
 *   from cfg_registry_intern until cfg_registry_release, which runs when
 *   its last member user goes (proxy/gen.h, gen_members_unref: main while
 *   it is the newest, a worker while it is current there or one of its
 *   exchanges lives, the probe thread while it probes it; any thread) or
 *   at the latest when it is freed; (2) no worker holds a backend
 *   connection to it (upool_slot_held: HTTP/1.1 connections, HTTP/2
 *   sessions and adopted WebSocket tunnels count from their connect until
 *   they are reaped); (3) (implied by 1) no exchange points at it, since
 *   an exchange's backend comes from its generation's routes, and no probe
 *   runs on it, since the probe thread cancels a generation's probes
 *   before it lets go of that generation. Both counts are decremented
 *   with release and read with acquire on the main thread, so whatever a
 *   worker or the probe thread wrote for the slot (stats cells, health
 *   cell, TLS session cell) happens before main clears the slot's cells
 *   and frees it. A client connection keeps its old generation alive for
 *   its frontend, never its members: its new requests use the worker's
 *   current generation.
 *
 * A freed slot is reused by the next new backend; what a worker keeps per
 * slot (pool entry, TLS session) is reset when it first applies a
 * generation naming the new object (cfg_backend.serial differs). A retired
 * slot not yet freed is revived, counters and all, if its backend comes
 * back.
 *
 * Main thread only, except cfg_registry_release. The objects are
 * immutable once made and may be read by any thread that received them
 * through a published generation. */
#ifndef H2G_CONFIG_REGISTRY_H
#define H2G_CONFIG_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config-t.h"

struct cfg_registry {
    struct cfg_backend **slots;  /* cap entries; NULL: free */
    char **names;                /* metric label per slot (cfg_backend_label), unique
                                  * among slots in use; NULL: free */
    _Atomic uint32_t *gen_refs;  /* cap entries: see above */
    size_t num;                  /* slots ever used: 0..num-1 (high-water mark) */
    size_t cap;                  /* slots at most; arrays never move */
    size_t num_live;             /* slots not free */
    uint64_t next_serial;
};

/* Sets up an empty registry of cap slots (1..CFG_REGISTRY_MAX). */
#define CFG_REGISTRY_MAX 16384
void cfg_registry_init(struct cfg_registry *r, size_t cap);

/* How many slots cfg_registry_intern(r, cfg) would take that are not in
 * use yet (identities new to r, each counted once). */
size_t cfg_registry_needed(const struct cfg_registry *r, const struct config *cfg);

/* Points every route of cfg at the registry's objects (made on first
 * sight, in the lowest free slot) and sets each cfg->backends[i].index to
 * its slot and .serial to its object's; counts one gen_refs per entry.
 * The caller made sure cfg_registry_needed() slots are free (abort
 * otherwise). cfg's own backend array stays as parsed. */
void cfg_registry_intern(struct cfg_registry *r, struct config *cfg);

/* Drops the counts cfg_registry_intern(r, cfg) took. Any thread. */
void cfg_registry_release(struct cfg_registry *r, const struct config *cfg);

/* Slot is in use and no generation names it any more (acquire). */
bool cfg_registry_retired(const struct cfg_registry *r, size_t slot);

/* Frees a retired slot's object and label; the caller checked the rest of
 * the invariant above. */
void cfg_registry_free_slot(struct cfg_registry *r, size_t slot);

void cfg_registry_free(struct cfg_registry *r);

/* A member's name for logs and metrics: "host:port" for an IP literal,
 * "name:port@address" for a name (each of its addresses is a member),
 * "unix:PATH" for a UNIX domain socket. */
void cfg_backend_label(const struct cfg_backend *be, char *out, size_t len);

#endif
