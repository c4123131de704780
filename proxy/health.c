/* Backend member health: the lock-free table and the probe thread. See
 * health.h. */
#include "proxy/health.h"

#include <ev.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/container.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "config/registry.h"
#include "proxy/gen.h"
#include "proxy/hprobe.h"

#define PROBE_TICK 0.1
#define FIRST_BACKOFF 1.0

struct health_cell {
    _Atomic bool down;
    _Atomic bool checked;        /* fall > 0 or an active probe */
    _Atomic uint32_t fall;       /* 0: requests never mark it down */
    _Atomic uint32_t fails;      /* consecutive failures, requests and checks */
    _Atomic double last_failure; /* CLOCK_MONOTONIC seconds */
    _Atomic uint64_t checks, check_failures;
} __attribute__((aligned(64)));

static struct health_cell cells[HEALTH_MAX_SLOTS];
_Static_assert(HEALTH_MAX_SLOTS == CFG_REGISTRY_MAX, "a health cell per registry slot");

/* One member as the probe thread sees it: its own copies, valid while the
 * thread holds the generation they came from. */
struct probe {
    size_t slot;
    const struct cfg_backend *be;  /* the generation's member */
    uint32_t rise;
    const char *label;             /* the thread's copy */
    double next_at;                /* next check; 0: none planned */
    double backoff;
    uint32_t oks;                  /* consecutive successes while down */
    struct hprobe io;              /* the check in progress, if any */
};

static struct {
    pthread_t thread;
    bool running;
    struct ev_loop *loop;
    ev_async wake;
    ev_timer tick;
    pthread_mutex_t lock;     /* next_gen, next_labels, stop: main <-> probe thread */
    struct gen *next_gen;
    char **next_labels;
    size_t next_num_labels;
    bool stop;
    /* probe thread only */
    struct gen *g;
    char **labels;
    size_t num_labels;
    struct probe *probes;
    size_t num_probes;
} H = { .lock = PTHREAD_MUTEX_INITIALIZER };

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the table ---- */

bool health_up(size_t slot)
{
    return slot >= HEALTH_MAX_SLOTS || !atomic_load_explicit(&cells[slot].down, memory_order_relaxed);
}

double health_last_failure(size_t slot)
{
    return slot < HEALTH_MAX_SLOTS ? atomic_load_explicit(&cells[slot].last_failure, memory_order_relaxed) : 0;
}

/* One more consecutive failure of slot; marks it down at fall. */
static void failed(size_t slot, const char *label, const char *what)
{
    struct health_cell *c = &cells[slot];
    uint32_t fall = atomic_load_explicit(&c->fall, memory_order_relaxed);
    atomic_store_explicit(&c->last_failure, mono_now(), memory_order_relaxed);
    if (fall == 0)
        return;
    uint32_t n = atomic_fetch_add_explicit(&c->fails, 1, memory_order_relaxed) + 1;
    if (n >= fall && !atomic_exchange_explicit(&c->down, true, memory_order_relaxed))
        log_warn("backend %s: down after %u failed %s in a row", label, n, what);
}

void health_report_failure(size_t slot, const char *label)
{
    if (slot < HEALTH_MAX_SLOTS)
        failed(slot, label, "requests or checks");
}

void health_report_success(size_t slot)
{
    if (slot < HEALTH_MAX_SLOTS && atomic_load_explicit(&cells[slot].fails, memory_order_relaxed))
        atomic_store_explicit(&cells[slot].fails, 0, memory_order_relaxed);
}

void health_forget(size_t slot)
{
    if (slot >= HEALTH_MAX_SLOTS)
        return;
    struct health_cell *c = &cells[slot];
    atomic_store_explicit(&c->down, false, memory_order_relaxed);
    atomic_store_explicit(&c->checked, false, memory_order_relaxed);
    atomic_store_explicit(&c->fall, 0, memory_order_relaxed);
    atomic_store_explicit(&c->fails, 0, memory_order_relaxed);
    atomic_store_explicit(&c->last_failure, 0., memory_order_relaxed);
    atomic_store_explicit(&c->checks, 0, memory_order_relaxed);
    atomic_store_explicit(&c->check_failures, 0, memory_order_relaxed);
}

void health_view(size_t slot, struct health_view *out)
{
    const struct health_cell *c = &cells[slot < HEALTH_MAX_SLOTS ? slot : 0];
    *out = (struct health_view){
        .checked = slot < HEALTH_MAX_SLOTS && atomic_load_explicit(&c->checked, memory_order_relaxed),
        .up = health_up(slot),
        .checks = atomic_load_explicit(&c->checks, memory_order_relaxed),
        .check_failures = atomic_load_explicit(&c->check_failures, memory_order_relaxed),
    };
}

bool health_routes_ready(const struct gen *g)
{
    const struct config *cfg = &g->cfg;
    for (size_t i = 0; i < cfg->num_routes; i++) {
        const struct cfg_route *r = &cfg->routes[i];
        bool any = false;
        for (size_t j = 0; j < r->num_backends && !any; j++)
            any = health_up(r->backends[j]->index);
        if (!any)
            return false;
    }
    return true;
}

/* ---- probes (the probe thread) ---- */

/* Lets go of a generation the thread held or was handed: its members
 * (gen_members_ref, taken with the reference) and the reference. */
static void drop_gen(struct gen *g)
{
    gen_members_unref(g);
    gen_unref(g);
}

static const struct config *hcfg(void)
{
    return &H.g->cfg;
}

static void probe_done(struct hprobe *io, bool ok, const char *why)
{
    struct probe *p = container_of(io, struct probe, io);
    struct health_cell *c = &cells[p->slot];
    double now = ev_now(H.loop);
    atomic_fetch_add_explicit(&c->checks, 1, memory_order_relaxed);
    bool down = atomic_load_explicit(&c->down, memory_order_relaxed);
    if (ok) {
        health_report_success(p->slot);
        if (down && ++p->oks >= p->rise) {
            atomic_store_explicit(&c->down, false, memory_order_relaxed);
            log_notice("backend %s: up after %u successful checks", p->label, p->oks);
            down = false;
        }
        if (!down)
            p->backoff = 0;
    } else {
        atomic_fetch_add_explicit(&c->check_failures, 1, memory_order_relaxed);
        log_info("backend %s: check failed: %s", p->label, why);
        p->oks = 0;
        if (!down)
            failed(p->slot, p->label, "requests or checks");
        down = atomic_load_explicit(&c->down, memory_order_relaxed);
        if (down)
            p->backoff = p->backoff > 0 ? fmin(p->backoff * 2, hcfg()->backend_max_backoff)
                                        : fmin(FIRST_BACKOFF, hcfg()->backend_max_backoff);
    }
    if (down)
        p->next_at = now + (p->backoff > 0 ? p->backoff : FIRST_BACKOFF);
    else
        p->next_at = p->be->health_path ? now + hcfg()->backend_health_interval : 0;
}

static void probe_start(struct probe *p)
{
    const struct cfg_backend *be = p->be;
    SSL_CTX *ctx = be->proto == CFG_PROTO_H2 ? H.g->up_ctx_h2 : H.g->up_ctx_h1;
    p->next_at = 0;
    hprobe_start(&p->io, H.loop, be, ctx, hcfg()->backend_health_timeout, probe_done);
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    double now = ev_now(loop);
    for (size_t i = 0; i < H.num_probes; i++) {
        struct probe *p = &H.probes[i];
        if (hprobe_busy(&p->io))
            continue;
        if (p->next_at == 0 && !health_up(p->slot)) {
            /* Marked down by requests: probe it back. */
            p->backoff = fmin(FIRST_BACKOFF, hcfg()->backend_max_backoff);
            p->next_at = now + p->backoff;
        }
        if (p->next_at > 0 && p->next_at <= now)
            probe_start(p);
    }
}

/* ---- switching generations ---- */

static void free_probes(void)
{
    for (size_t i = 0; i < H.num_probes; i++)
        hprobe_cancel(&H.probes[i].io);
    free(H.probes);
    H.probes = NULL;
    H.num_probes = 0;
    for (size_t i = 0; i < H.num_labels; i++)
        free(H.labels[i]);
    free(H.labels);
    H.labels = NULL;
    H.num_labels = 0;
}

/* The probes of g: one per slot its members use, in member order. The
 * state of a slot probed before (backoff, successes) carries over. */
static void take_gen(struct gen *g, char **labels, size_t num_labels)
{
    struct probe *old = H.probes;
    size_t num_old = H.num_probes;
    H.probes = NULL;
    H.num_probes = 0;
    const struct config *cfg = &g->cfg;
    H.probes = xcalloc(cfg->num_backends ? cfg->num_backends : 1, sizeof(*H.probes));
    for (size_t i = 0; i < cfg->num_backends; i++) {
        const struct cfg_backend *be = &cfg->backends[i];
        bool dup = false;
        for (size_t k = 0; k < H.num_probes && !dup; k++)
            dup = H.probes[k].slot == be->index;
        if (dup || be->index >= HEALTH_MAX_SLOTS || (!be->fall && !be->health_path))
            continue;
        struct probe *p = &H.probes[H.num_probes++];
        *p = (struct probe){ .slot = be->index, .be = be, .io.fd = -1,
                             .rise = be->rise ? be->rise : 1,
                             .label = be->index < num_labels ? labels[be->index] : be->host };
        for (size_t k = 0; k < num_old; k++) {
            if (old[k].slot == p->slot) {
                p->backoff = old[k].backoff;
                p->oks = old[k].oks;
            }
        }
        if (be->health_path)
            p->next_at = ev_now(H.loop);  /* check at once */
    }
    for (size_t k = 0; k < num_old; k++)
        hprobe_cancel(&old[k].io);
    free(old);
    for (size_t i = 0; i < H.num_labels; i++)
        free(H.labels[i]);
    free(H.labels);
    H.labels = labels;
    H.num_labels = num_labels;
    if (H.g)
        drop_gen(H.g);
    H.g = g;
    if (H.num_probes && !ev_is_active(&H.tick))
        ev_timer_start(H.loop, &H.tick);
    else if (!H.num_probes)
        ev_timer_stop(H.loop, &H.tick);  /* nothing to check: the thread sleeps */
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)a;
    (void)revents;
    pthread_mutex_lock(&H.lock);
    struct gen *g = H.next_gen;
    char **labels = H.next_labels;
    size_t num = H.next_num_labels;
    bool stop = H.stop;
    H.next_gen = NULL;
    H.next_labels = NULL;
    pthread_mutex_unlock(&H.lock);
    if (g)
        take_gen(g, labels, num);
    if (stop)
        ev_break(loop, EVBREAK_ALL);
}

static void *run(void *arg)
{
    (void)arg;
    log_set_thread_tag("health");
    ev_run(H.loop, 0);
    free_probes();
    if (H.g)
        drop_gen(H.g);
    H.g = NULL;
    return NULL;
}

/* Sets the cells of g's members (main thread, before any worker or the
 * probe thread sees g) and hands g to the probe thread. */
static void publish(struct gen *g, const struct cfg_registry *reg)
{
    const struct config *cfg = &g->cfg;
    for (size_t i = 0; i < cfg->num_backends; i++) {
        const struct cfg_backend *be = &cfg->backends[i];
        if (be->index >= HEALTH_MAX_SLOTS)
            continue;
        struct health_cell *c = &cells[be->index];
        uint32_t fall = be->fall ? be->fall : be->health_path ? 3 : 0;
        atomic_store_explicit(&c->fall, fall, memory_order_relaxed);
        atomic_store_explicit(&c->checked, fall > 0, memory_order_relaxed);
        if (fall == 0)
            atomic_store_explicit(&c->down, false, memory_order_relaxed);
    }
    char **labels = xcalloc(reg->num ? reg->num : 1, sizeof(*labels));
    for (size_t i = 0; i < reg->num; i++)
        labels[i] = reg->names[i] ? xstrdup(reg->names[i]) : NULL; /* NULL: free slot */
    gen_ref(g);
    gen_members_ref(g);  /* its probes use the members */
    pthread_mutex_lock(&H.lock);
    if (H.next_gen) {  /* not taken yet: the newer one replaces it */
        drop_gen(H.next_gen);
        for (size_t i = 0; i < H.next_num_labels; i++)
            free(H.next_labels[i]);
        free(H.next_labels);
    }
    H.next_gen = g;
    H.next_labels = labels;
    H.next_num_labels = reg->num;
    pthread_mutex_unlock(&H.lock);
    ev_async_send(H.loop, &H.wake);
}

int health_start(struct gen *g, const struct cfg_registry *reg)
{
    H.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!H.loop)
        return -1;
    ev_async_init(&H.wake, on_wake);
    ev_async_start(H.loop, &H.wake);
    ev_timer_init(&H.tick, on_tick, PROBE_TICK, PROBE_TICK);
    publish(g, reg);
    if (pthread_create(&H.thread, NULL, run, NULL) != 0) {
        ev_loop_destroy(H.loop);
        H.loop = NULL;
        return -1;
    }
    H.running = true;
    return 0;
}

void health_use(struct gen *g, const struct cfg_registry *reg)
{
    if (H.running)
        publish(g, reg);
}

void health_stop(void)
{
    if (!H.running)
        return;
    pthread_mutex_lock(&H.lock);
    H.stop = true;
    pthread_mutex_unlock(&H.lock);
    ev_async_send(H.loop, &H.wake);
    pthread_join(H.thread, NULL);
    H.running = false;
    pthread_mutex_lock(&H.lock);
    if (H.next_gen) {
        drop_gen(H.next_gen);
        for (size_t i = 0; i < H.next_num_labels; i++)
            free(H.next_labels[i]);
        free(H.next_labels);
        H.next_gen = NULL;
    }
    pthread_mutex_unlock(&H.lock);
    ev_loop_destroy(H.loop);
    H.loop = NULL;
}
