/* PLACEHOLDER written by the lead so the tree builds: helper-5 replaces
 * this whole file (and adds dns.c) with the real resolver. */
#ifndef H2G_PROXY_DNS_H
#define H2G_PROXY_DNS_H
#include <ev.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "common/str.h"
struct dns { int unused; };
struct dns_query;
struct dns_result { size_t num; struct sockaddr_storage addrs[16]; };
static inline struct dns *dns_new(struct ev_loop *l, double a, double b) { (void)l; (void)a; (void)b; return calloc(1, sizeof(struct dns)); }
static inline void dns_free(struct dns *d) { free(d); }
static inline struct dns_query *dns_resolve(struct dns *d, struct str h, void (*cb)(void *, int, const struct dns_result *), void *arg) { (void)d; (void)h; cb(arg, -1, NULL); return NULL; }
static inline void dns_cancel(struct dns_query *q) { (void)q; }
#endif
