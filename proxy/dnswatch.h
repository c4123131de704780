/* Re-resolution of ";dns" backend names, on the main thread's loop with
 * the asynchronous resolver (proxy/dns.h; no thread ever blocks on it).
 * Each name is looked up again when its answer's TTL runs out, at least
 * every second and at most every --dns-cache-timeout. When the set of
 * addresses changes, the watcher asks main for a rebuild: a generation
 * like the running one (same --conf text, every other name keeping its
 * addresses) whose group has one member per new address. Addresses that
 * vanished retire as a reload's removed backends do: no new requests,
 * connections closed once idle, their registry slots freed once unused
 * (config/registry.h). A failed lookup keeps the last good
 * answer and is logged once per streak of failures. */
#ifndef H2G_PROXY_DNSWATCH_H
#define H2G_PROXY_DNSWATCH_H

#include <ev.h>
#include <stddef.h>

struct gen;
struct cfg_reuse;

/* Starts watching the ;dns names of g on loop. changed() is called (on
 * loop's thread) when some answer differs from g's members. */
void dnswatch_start(struct ev_loop *loop, const struct gen *g, void (*changed)(void));
/* g is the running generation now (after a reload or a rebuild): watch
 * its names, with its members as the known answers, through g's
 * --dns-server and --dns-lookup-timeout (a changed one: a new resolver,
 * dns_renew, and the lookups in flight start again on it). */
void dnswatch_use(const struct gen *g);
/* The answers for a rebuild of g: every backend name of g, the watched
 * ones with their latest answer. Valid until the next dnswatch call. */
void dnswatch_answers(const struct gen *g, struct cfg_reuse *out);
void dnswatch_stop(void);

#endif
