#include "proxy/h2mem.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* Counted as malloc_usable_size: the bytes the allocator gave, not the
 * bytes asked for, so the gauge is what the sessions really cost in
 * heap (jemalloc's size classes included). */
static void count(struct cconn *cc, void *p, bool add)
{
    struct stats *s = cc->w->stats;
    if (!p || !s)
        return;
    size_t n = malloc_usable_size(p);
    if (add)
        stats_cell_add(&s->h2_session_mem[0], n);
    else
        stats_cell_sub(&s->h2_session_mem[0], n);
}

static void forget(struct cconn *cc, void *p)
{
    if (p && p == cc->p.h2.framebuf)
        cc->p.h2.framebuf = NULL;
    if (p && p == cc->p.h2.streammap)
        cc->p.h2.streammap = NULL;
}

static void *on_malloc(size_t size, void *user)
{
    struct cconn *cc = user;
    void *p;
    if (creating && size >= FRAMEBUF_MIN && !cc->p.h2.framebuf)
        p = cc->p.h2.framebuf = xmalloc_pages(size);
    else
        p = xmalloc(size);
    count(cc, p, true);
    return p;
}

static void on_free(void *p, void *user)
{
    forget(user, p);
    count(user, p, false);
    free(p);
}

static void *on_calloc(size_t num, size_t size, void *user)
{
    struct cconn *cc = user;
    void *p;
    if (creating && num * size == STREAMMAP_SIZE && !cc->p.h2.streammap) {
        /* A page of its own, zeroed by the kernel: not even resident
         * until the first stream is added. */
        p = cc->p.h2.streammap = xmalloc_pages(STREAMMAP_SIZE);
        if (madvise(p, STREAMMAP_SIZE, MADV_DONTNEED) != 0)
            memset(p, 0, STREAMMAP_SIZE);
    } else {
        p = xcalloc(num, size);
    }
    count(cc, p, true);
    return p;
}

static void *on_realloc(void *p, size_t size, void *user)
{
    if (!p)
        return on_malloc(size, user);
    forget(user, p);
    count(user, p, false);
    p = xrealloc(p, size);
    count(user, p, true);
    return p;
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
