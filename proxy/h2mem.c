#include "proxy/h2mem.h"

#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/buf.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "proxy/cconn-t.h"
#include "proxy/worker-t.h"

/* nghttp2 1.52 allocates its outbound frame buffer (NGHTTP2_FRAMEBUF_CHUNKLEN,
 * 16 KiB + 10) in nghttp2_session_server_new3 and nothing else that
 * large there. */
#define FRAMEBUF_MIN (16 * 1024)

/* ... and its stream map's bucket table (NGHTTP2_INITIAL_TABLE_LENBITS:
 * 256 buckets of 16 bytes, calloc'd at creation, doubled by a new
 * calloc as streams are added). A removed stream's bucket is zeroed, so
 * with no stream in the map every byte of the table is zero. */
#define STREAMMAP_SIZE 4096
#define PAGE 4096

/* Set only inside h2mem_session_new: which allocation is the frame
 * buffer is known by when it is made (a large header value later is not
 * one). A worker's loop is one thread. */
static _Thread_local bool creating;

/* What the sessions cost in heap is counted as the allocator's sizes
 * (its size classes included), not the bytes asked for. On jemalloc
 * those come from its per-thread totals of bytes allocated and freed:
 * two loads a call, where malloc_usable_size is a lookup of a few
 * hundred instructions (three calls and more per request). mallctl is
 * weak: the sanitizer builds run without jemalloc and fall back. */
extern int mallctl(const char *, void *, size_t *, void *, size_t) __attribute__((weak));

static _Thread_local struct {
    uint64_t *alloc, *dalloc; /* jemalloc's thread.allocatedp and .deallocatedp */
    bool tried;
} meter;

static bool metered(void)
{
    if (!meter.tried) {
        meter.tried = true;
        size_t len = sizeof(meter.alloc);
        if (!mallctl || mallctl("thread.allocatedp", &meter.alloc, &len, NULL, 0) != 0 ||
            mallctl("thread.deallocatedp", &meter.dalloc, &len, NULL, 0) != 0)
            meter.alloc = meter.dalloc = NULL;
    }
    return meter.alloc != NULL;
}

/* This thread's totals are at hand (one thread-local load once they are
 * set). Per thread: the main one frees what the workers left at
 * shutdown. */
static inline bool meter_here(void)
{
    return __builtin_expect(meter.alloc != NULL, 1) || metered();
}

/* A read the compiler keeps where it is: it knows malloc and free touch
 * no memory of ours, and would otherwise move the read across them. */
static inline uint64_t meter_read(const uint64_t *p)
{
    __asm__ volatile("" ::: "memory");
    uint64_t v = *(const volatile uint64_t *)p;
    __asm__ volatile("" ::: "memory");
    return v;
}

static void charge(struct cconn *cc, size_t n, bool add)
{
    struct stats *s = cc->w->stats;
    if (!s || !n)
        return;
    if (add)
        stats_cell_add(&s->h2_session_mem[0], n);
    else
        stats_cell_sub(&s->h2_session_mem[0], n);
}

static size_t usable(void *p)
{
    return p ? malloc_usable_size(p) : 0;
}

static void forget(struct cconn *cc, void *p)
{
    if (p && p == cc->p.h2.framebuf)
        cc->p.h2.framebuf = NULL;
    if (p && p == cc->p.h2.streammap)
        cc->p.h2.streammap = NULL;
}

static void *alloc_one(struct cconn *cc, size_t num, size_t size, bool zero)
{
    if (creating && !zero && size >= FRAMEBUF_MIN && !cc->p.h2.framebuf)
        return cc->p.h2.framebuf = xmalloc_pages(size);
    if (creating && zero && num * size == STREAMMAP_SIZE && !cc->p.h2.streammap) {
        /* A page of its own, zeroed by the kernel: not even resident
         * until the first stream is added. */
        void *p = cc->p.h2.streammap = xmalloc_pages(STREAMMAP_SIZE);
        if (madvise(p, STREAMMAP_SIZE, MADV_DONTNEED) != 0)
            memset(p, 0, STREAMMAP_SIZE);
        return p;
    }
    return zero ? xcalloc(num, size) : xmalloc(size);
}

/* The counting around each call: jemalloc's totals where this thread has
 * them, the pointers' usable sizes otherwise. */
#define COUNTED static inline __attribute__((always_inline))

COUNTED void *alloc_counted(struct cconn *cc, size_t num, size_t size, bool zero, bool jem)
{
    uint64_t before = jem ? meter_read(meter.alloc) : 0;
    void *p = alloc_one(cc, num, size, zero);
    charge(cc, jem ? meter_read(meter.alloc) - before : usable(p), true);
    return p;
}

COUNTED void free_counted(void *p, struct cconn *cc, bool jem)
{
    if (!p)
        return;
    forget(cc, p);
    uint64_t before = jem ? meter_read(meter.dalloc) : 0;
    size_t n = jem ? 0 : usable(p);
    free(p);
    charge(cc, jem ? meter_read(meter.dalloc) - before : n, false);
}

COUNTED void *realloc_counted(void *p, size_t size, struct cconn *cc, bool jem)
{
    if (!p)
        return alloc_counted(cc, 1, size, false, jem);
    forget(cc, p);
    uint64_t a = jem ? meter_read(meter.alloc) : 0, d = jem ? meter_read(meter.dalloc) : 0;
    size_t old = jem ? 0 : usable(p);
    p = xrealloc(p, size);
    charge(cc, jem ? meter_read(meter.dalloc) - d : old, false);
    charge(cc, jem ? meter_read(meter.alloc) - a : usable(p), true);
    return p;
}

static void *on_malloc(size_t size, void *u)
{
    return alloc_counted(u, 1, size, false, meter_here());
}

static void *on_calloc(size_t n, size_t size, void *u)
{
    return alloc_counted(u, n, size, true, meter_here());
}

static void on_free(void *p, void *u)
{
    free_counted(p, u, meter_here());
}

static void *on_realloc(void *p, size_t size, void *u)
{
    return realloc_counted(p, size, u, meter_here());
}

int h2mem_session_new(struct cconn *cc, const nghttp2_session_callbacks *cbs,
                      const nghttp2_option *opt)
{
    nghttp2_mem mem = {
        .mem_user_data = cc,
        .malloc = on_malloc,
        .free = on_free,
        .calloc = on_calloc,
        .realloc = on_realloc,
    };
    cc->p.h2.framebuf = cc->p.h2.streammap = NULL;
    creating = true;
    int rv = nghttp2_session_server_new3(&cc->p.h2.session, cbs, cc, opt, &mem);
    creating = false;
    return rv;
}

/* Whether the page at p holds only zeros. */
static bool page_is_zero(const void *p)
{
    const uint64_t *w = p;
    uint64_t any = 0;
    for (size_t i = 0; i < PAGE / sizeof(*w); i++)
        any |= w[i];
    return any == 0;
}

void h2mem_idle(struct cconn *cc)
{
    void *p = cc->p.h2.framebuf;
    /* Whole pages only: the block starts on one (xmalloc_pages). */
    size_t len = p ? malloc_usable_size(p) & ~(size_t)(PAGE - 1) : 0;
    if (len)
        madvise(p, len, MADV_DONTNEED);
    /* An empty map's zeros, given back, read as the same zeros. */
    p = cc->p.h2.streammap;
    if (p && page_is_zero(p))
        madvise(p, PAGE, MADV_DONTNEED);
}

double h2mem_deadline(struct cconn *cc, double now)
{
    struct h2srv *h = &cc->p.h2;
    if (!h->framebuf_used || h->num_open > 0 || h->idle_since <= 0)
        return INFINITY;
    double at = h->idle_since + H2MEM_IDLE_DELAY;
    if (at > now)
        return at;
    if (nghttp2_session_want_write(h->session) || bufq_len(&cc->out))
        return now + H2MEM_IDLE_DELAY;
    h->framebuf_used = false;
    h2mem_idle(cc);
    return INFINITY;
}
