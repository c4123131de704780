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
#include "config/config-t.h"
#include "proxy/cconn.h"
#include "proxy/worker-t.h"

/* A session's region: its header, h2gate's own bytes (h2mem_own), then
 * [.., BUMP_END) for the allocations of its creation one after the other
 * (the session, 2,928 bytes in nghttp2 1.52; the HPACK rings, 1,024
 * each; a buffer chain; the 16,394-byte frame buffer, whose first page
 * is then shared with the others, so a small frame touches no page of
 * its own), then page-aligned calloc'd tables of a page or more up to
 * REGION_SIZE (the stream map's 4 KiB buckets: zeros, not resident
 * until a stream is added). What does not fit goes to the heap as any
 * later allocation does. Blocks are never reused: a freed one is only
 * marked (nghttp2 frees its creation's allocations when the session goes,
 * or when it outgrows one: a ring or the map doubled). */
#define PAGE 4096
#define REGION_SIZE H2MEM_REGION_SIZE
#define BUMP_END (24 * 1024)
#define MAX_BLOCKS 14

/* The frame buffer: the creation's allocation of at least this (not
 * zeroed: nghttp2 1.52's NGHTTP2_FRAMEBUF_CHUNKLEN, 16 KiB + 10). */
#define FRAMEBUF_MIN (16 * 1024)

struct h2mem_region {
    uint32_t bump, large;   /* where the next block of each kind goes */
    uint32_t framebuf;      /* the frame buffer's offset; 0: none (freed) */
    uint32_t num_blocks;
    struct {
        uint32_t off, len;  /* len 0: freed */
    } blocks[MAX_BLOCKS];
};

#define HDR_SIZE ((sizeof(struct h2mem_region) + 15) & ~(size_t)15)

_Static_assert(HDR_SIZE % 8 == 0 && HDR_SIZE < BUMP_END, "region header");
_Static_assert(HDR_SIZE == H2MEM_OWN_OFFSET && H2MEM_OWN_SIZE % 16 == 0, "h2gate's own bytes");
_Static_assert(REGION_SIZE / 8 <= 65536, "a word's place in the walk fits 16 bits");

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Set only inside h2mem_session_new: its allocations go to the region
 * (and the frame buffer is known by when it is made: a large header
 * value later is not one). A worker's loop is one thread. */
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

/* ---- the region ---- */

static inline bool in_region(const struct h2mem_region *m, const void *p)
{
    return m && (uintptr_t)p - (uintptr_t)m < REGION_SIZE;
}

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* A block of the region for an allocation of the session's creation, or
 * NULL where it does not fit. The region is all zeros until handed out
 * (region_new), so a calloc's block needs nothing more. */
static void *region_alloc(struct h2mem_region *m, size_t size, bool zero)
{
    if (!m || m->num_blocks == MAX_BLOCKS || size == 0)
        return NULL;
    size_t len = align_up(size, 8); /* packed by whole words */
    size_t off;
    if (zero && size >= PAGE) {
        off = align_up(m->large, PAGE);
        if (off + len > REGION_SIZE)
            return NULL;
        m->large = (uint32_t)(off + len);
    } else {
        off = align_up(m->bump, 16);
        if (off + len > BUMP_END)
            return NULL;
        m->bump = (uint32_t)(off + len);
    }
    m->blocks[m->num_blocks].off = (uint32_t)off;
    m->blocks[m->num_blocks].len = (uint32_t)len;
    m->num_blocks++;
    char *p = (char *)m + off;
    UNPOISON(p, len);
    return p;
}

/* The live block at p, or -1. */
static int region_block(const struct h2mem_region *m, const void *p)
{
    uint32_t off = (uint32_t)((uintptr_t)p - (uintptr_t)m);
    for (uint32_t i = 0; i < m->num_blocks; i++)
        if (m->blocks[i].off == off && m->blocks[i].len)
            return (int)i;
    return -1;
}

static void region_free(struct h2mem_region *m, void *p)
{
    int i = region_block(m, p);
    if (i < 0)
        return;
    if (m->framebuf == m->blocks[i].off)
        m->framebuf = 0;
    POISON(p, m->blocks[i].len);
    m->blocks[i].len = 0;
}

static void *alloc_one(struct cconn *cc, size_t num, size_t size, bool zero)
{
    if (creating) {
        struct h2mem_region *m = cc->p.h2.mem;
        void *p = region_alloc(m, num * size, zero);
        if (p) {
            if (!zero && size >= FRAMEBUF_MIN && !m->framebuf)
                m->framebuf = (uint32_t)((char *)p - (char *)m);
            return p;
        }
    }
    return zero ? xcalloc(num, size) : xmalloc(size);
}

/* The counting around each call: jemalloc's totals where this thread has
 * them, the pointers' usable sizes otherwise. The region's blocks count
 * nothing: the region counted once, whole. */
#define COUNTED static inline __attribute__((always_inline))

COUNTED void *alloc_counted(struct cconn *cc, size_t num, size_t size, bool zero, bool jem)
{
    uint64_t before = jem ? meter_read(meter.alloc) : 0;
    void *p = alloc_one(cc, num, size, zero);
    charge(cc, jem ? meter_read(meter.alloc) - before : in_region(cc->p.h2.mem, p) ? 0 : usable(p), true);
    return p;
}

COUNTED void free_counted(void *p, struct cconn *cc, bool jem)
{
    if (!p)
        return;
    if (__builtin_expect(in_region(cc->p.h2.mem, p), 0)) {
        region_free(cc->p.h2.mem, p);
        return;
    }
    uint64_t before = jem ? meter_read(meter.dalloc) : 0;
    size_t n = jem ? 0 : usable(p);
    free(p);
    charge(cc, jem ? meter_read(meter.dalloc) - before : n, false);
}

COUNTED void *realloc_counted(void *p, size_t size, struct cconn *cc, bool jem)
{
    if (!p)
        return alloc_counted(cc, 1, size, false, jem);
    struct h2mem_region *m = cc->p.h2.mem;
    if (__builtin_expect(in_region(m, p), 0)) {
        /* Out of the region: a block does not grow in place. */
        int i = region_block(m, p);
        size_t old = i < 0 ? 0 : m->blocks[i].len;
        void *q = alloc_counted(cc, 1, size, false, jem);
        memcpy(q, p, old < size ? old : size);
        region_free(m, p);
        return q;
    }
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

/* A region of zeros with its header set, not resident until written
 * (given back to the kernel at once: pages it may have held before read
 * as zeros now). */
static struct h2mem_region *region_new(struct cconn *cc)
{
    struct h2mem_region *m = xmalloc_pages(REGION_SIZE);
    if (madvise(m, REGION_SIZE, MADV_DONTNEED) != 0)
        memset(m, 0, REGION_SIZE);
    m->bump = HDR_SIZE;
    m->large = BUMP_END;
    POISON((char *)m + HDR_SIZE, REGION_SIZE - HDR_SIZE);
    region_alloc(m, H2MEM_OWN_SIZE, true); /* the first block: h2mem_own() */
    charge(cc, usable(m), true);
    return m;
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
    struct h2srv *h = &cc->p.h2;
    h->blob = NULL;
    h->mem = region_new(cc);
    creating = true;
    int rv = nghttp2_session_server_new3(&h->session_raw, cbs, cc, opt, &mem);
    creating = false;
    if (rv != 0) {
        h->session_raw = NULL;
        h2mem_session_del(cc);
    }
    return rv;
}

static void restore(struct cconn *cc);

void h2mem_session_del(struct cconn *cc)
{
    struct h2srv *h = &cc->p.h2;
    if (h->blob)
        restore(cc); /* not h2mem_wake: no sleep to arm for a session going */
    if (h->session_raw)
        nghttp2_session_del(h->session_raw);
    h->session_raw = NULL;
    if (h->mem) {
        UNPOISON(h->mem, REGION_SIZE);
        charge(cc, usable(h->mem), false);
        free(h->mem);
        h->mem = NULL;
    }
}

/* ---- sleep ----
 *
 * The blob holds how the region's packed words (the header's, then each
 * live block's but the frame buffer's, dead while idle) differ from the
 * worker's template: the region of the first session that slept there,
 * copied then and never changed. Where the template holds a pointer into
 * its own region, the word expected is the same offset into this one.
 * Idle sessions differ from each other in a few words (the HPACK
 * entries' addresses, stream ids, windows): after one GET, 16 of some
 * 1,160, most of them zeros (bench/RESULTS.md, cut 5). */

struct h2mem_template {
    uintptr_t base;                 /* the region it was copied from */
    uint64_t w[REGION_SIZE / 8];    /* its packed words; zeros elsewhere */
    /* All ones where w[] points into the template's own region: the word
     * expected is then w[] moved by the distance between the regions. */
    uint64_t rel[REGION_SIZE / 8];
    /* pack_region's output, before the blob is cut to its size. */
    uint16_t pos[REGION_SIZE / 8];
    uint64_t diff[REGION_SIZE / 8];
};

/* The region's bytes as words. They are also the fields of nghttp2's
 * structs and of our header: may_alias keeps the compiler from reading
 * the header's block list before unpack_region() has written it back. */
typedef uint64_t __attribute__((may_alias)) word;

static bool packed(const struct h2mem_region *m, uint32_t i)
{
    return m->blocks[i].len && m->blocks[i].off != m->framebuf;
}

/* The packed words are the header's, [0, HDR_SIZE / 8), then each
 * packed block's, in the header's order: "the walk". A word's place in
 * the walk is what the blob records. */

/* The next packed block from *i on: its words [*lo, *hi); false past
 * the last. Reads the block list as it goes, so that unpack_region can
 * write the header back first. */
static bool next_packed(const struct h2mem_region *m, uint32_t *i, size_t *lo, size_t *hi)
{
    for (; *i < m->num_blocks; ++*i) {
        if (packed(m, *i)) {
            *lo = m->blocks[*i].off / 8;
            *hi = *lo + m->blocks[*i].len / 8;
            ++*i;
            return true;
        }
    }
    return false;
}

static struct h2mem_template *template_of(const struct h2mem_region *m)
{
    struct h2mem_template *t = xcalloc(1, sizeof(*t));
    t->base = (uintptr_t)m;
    const word *w = (const word *)m;
    for (size_t k = 0; k < HDR_SIZE / 8; k++)
        t->w[k] = w[k];
    uint32_t i = 0;
    for (size_t lo, hi; next_packed(m, &i, &lo, &hi);)
        for (size_t k = lo; k < hi; k++)
            t->w[k] = w[k];
    for (size_t k = 0; k < REGION_SIZE / 8; k++)
        t->rel[k] = t->w[k] - t->base < REGION_SIZE ? ~(uint64_t)0 : 0;
    return t;
}

/* A blob: the count of differing words, the time the session went to
 * sleep, their places in the walk (16 bits each), their XOR with what
 * the template expected. */
#define BLOB_HEAD 2

static size_t blob_words(size_t count)
{
    return BLOB_HEAD + (count + 3) / 4 + count;
}

/* Words [lo, hi) of the region at w, the first at place seq of the
 * walk: those that differ from t's go to t->pos and t->diff from the
 * n-th entry on. Returns the new n. */
static size_t pack_range(const word *w, struct h2mem_template *t, uint64_t shift, size_t lo,
                         size_t hi, size_t seq, size_t n)
{
    for (size_t k = lo; k < hi; k++) {
        uint64_t d = w[k] ^ (t->w[k] + (t->rel[k] & shift));
        if (d) {
            t->pos[n] = (uint16_t)(seq + k - lo);
            t->diff[n++] = d;
        }
    }
    return n;
}

struct unpacking {
    const uint16_t *pos;
    const word *diff;
    size_t i, count;    /* the next entry; how many */
};

/* pack_range's reverse into the zeros of w. */
static void unpack_range(word *w, const struct h2mem_template *t, uint64_t shift, size_t lo,
                         size_t hi, size_t seq, struct unpacking *u)
{
    for (size_t k = lo; k < hi; k++) {
        uint64_t v = t->w[k] + (t->rel[k] & shift);
        if (u->i < u->count && u->pos[u->i] == seq + k - lo)
            v ^= u->diff[u->i++];
        if (v)
            w[k] = v;
    }
}

/* m's blob, packed against t (whose scratch arrays it uses), with the
 * time the session goes to sleep. */
static word *pack_region(const struct h2mem_region *m, struct h2mem_template *t, double now)
{
    const word *w = (const word *)m;
    uint64_t shift = (uintptr_t)m - t->base;
    size_t n = pack_range(w, t, shift, 0, HDR_SIZE / 8, 0, 0), seq = HDR_SIZE / 8;
    uint32_t i = 0;
    for (size_t lo, hi; next_packed(m, &i, &lo, &hi); seq += hi - lo)
        n = pack_range(w, t, shift, lo, hi, seq, n);
    word *blob = xmalloc(blob_words(n) * sizeof(word));
    blob[0] = n;
    memcpy(&blob[1], &now, sizeof(now));
    memcpy(blob + BLOB_HEAD, t->pos, n * sizeof(*t->pos));
    memcpy(blob + BLOB_HEAD + (n + 3) / 4, t->diff, n * sizeof(*t->diff));
    return blob;
}

/* Writes m's words back from its blob (m reads all zeros before): the
 * header's first, which say where the blocks are. */
static void unpack_region(struct h2mem_region *m, const word *in, const struct h2mem_template *t)
{
    size_t count = (size_t)in[0];
    struct unpacking u = { (const uint16_t *)(in + BLOB_HEAD), in + BLOB_HEAD + (count + 3) / 4,
                           0, count };
    word *w = (word *)m;
    uint64_t shift = (uintptr_t)m - t->base;
    unpack_range(w, t, shift, 0, HDR_SIZE / 8, 0, &u);
    size_t seq = HDR_SIZE / 8;
    uint32_t i = 0;
    for (size_t lo, hi; next_packed(m, &i, &lo, &hi); seq += hi - lo)
        unpack_range(w, t, shift, lo, hi, seq, &u);
}

void h2mem_idle(struct cconn *cc)
{
    struct h2srv *h = &cc->p.h2;
    struct h2mem_region *m = h->mem;
    if (!m || h->blob)
        return;
    if (!cc->w->h2mem_template)
        cc->w->h2mem_template = template_of(m);
    word *blob = pack_region(m, cc->w->h2mem_template, ev_now(cc->w->loop));
    /* The gauge follows what is held: the blob, not the region. */
    charge(cc, usable(blob), true);
    charge(cc, usable(m), false);
    madvise(m, REGION_SIZE, MADV_DONTNEED);
    h->blob = blob;
}

static void restore(struct cconn *cc)
{
    struct h2srv *h = &cc->p.h2;
    struct h2mem_region *m = h->mem;
    unpack_region(m, h->blob, cc->w->h2mem_template);
    charge(cc, usable(h->blob), false);
    charge(cc, usable(m), true);
    free(h->blob);
    h->blob = NULL;
}

void h2mem_worker_cleanup(struct worker *w)
{
    free(w->h2mem_template);
    w->h2mem_template = NULL;
}

/* The option's delay; 0: sessions do not sleep. */
static double sleep_option(const struct cconn *cc)
{
#ifdef H2MEM_TEST_DELAY
    (void)cc;
    return H2MEM_TEST_DELAY;
#else
    return cc->w->cfg->frontend_http2_session_sleep;
#endif
}

double h2mem_delay(const struct cconn *cc)
{
    double d = sleep_option(cc);
    return d > 0 ? d * (double)(1u << cc->p.h2.sleep_shift) : H2MEM_RELEASE_DELAY;
}

/* With the sleep off, an idle session still gives back what holds no
 * state then, as before sessions slept: the frame buffer's pages that it
 * shares with no other block (its bytes are dead once every frame is
 * handed out), and the stream map's page when it is all zeros (no stream
 * in the map: nghttp2 zeroes a removed stream's bucket, so it reads the
 * same afterwards). */
static void release_pages(struct h2mem_region *m)
{
    for (uint32_t i = 0; i < m->num_blocks; i++) {
        size_t off = m->blocks[i].off, len = m->blocks[i].len;
        char *p = (char *)m + off;
        if (len && off == m->framebuf) {
            size_t lo = align_up(off, PAGE), hi = (off + len) & ~(size_t)(PAGE - 1);
            if (hi > lo)
                madvise((char *)m + lo, hi - lo, MADV_DONTNEED);
        } else if (len >= PAGE && off % PAGE == 0) {
            const uint64_t *w = (const uint64_t *)p;
            uint64_t any = 0;
            for (size_t k = 0; k < PAGE / 8; k++)
                any |= w[k];
            if (!any)
                madvise(p, PAGE, MADV_DONTNEED);
        }
    }
}

void h2mem_wake(struct cconn *cc)
{
    struct h2srv *h = &cc->p.h2;
    double slept_at;
    memcpy(&slept_at, (const word *)h->blob + 1, sizeof(slept_at));
    restore(cc);
    if (ev_now(cc->w->loop) - slept_at >= 4 * h2mem_delay(cc))
        h->sleep_shift = 0;
    else if (h->sleep_shift < H2MEM_MAX_SHIFT)
        h->sleep_shift++;
    cconn_deadline(cc, h2mem_delay(cc));
}

double h2mem_deadline(struct cconn *cc, double now)
{
    struct h2srv *h = &cc->p.h2;
    double delay = h2mem_delay(cc);
    bool sleeps = sleep_option(cc) > 0;
    if (h->blob || h->num_open > 0 || h->idle_since <= 0 || (!sleeps && !h->mem_used))
        return INFINITY;
    double since = cc->last_read > h->idle_since ? cc->last_read : h->idle_since;
    double at = since + delay;
    if (at > now)
        return at;
    nghttp2_session *s = h->session_raw; /* awake */
    if (nghttp2_session_want_write(s) || bufq_len(&cc->out))
        return now + delay;
    if (!sleeps) {
        release_pages(h->mem);
        h->mem_used = false;
        return INFINITY;
    }
    if (!nghttp2_session_want_read(s))
        return INFINITY; /* ending: h2_drained closes it */
    h2mem_idle(cc);
    return INFINITY;
}
