#include "proxy/h2mem.h"

#include <malloc.h>
#include <stdlib.h>

#include "common/stats.h"
#include "common/xalloc.h"

/* Counted as malloc_usable_size: the bytes the allocator gave, not the
 * bytes asked for, so the gauge is what the session really costs in
 * heap (jemalloc's size classes included). */
static void count_add(void *user, void *p)
{
    struct stats *s = user;
    if (s && p)
        stats_cell_add(&s->h2_session_mem[0], malloc_usable_size(p));
}

static void count_sub(void *user, void *p)
{
    struct stats *s = user;
    if (s && p)
        stats_cell_sub(&s->h2_session_mem[0], malloc_usable_size(p));
}

static void *on_malloc(size_t size, void *user)
{
    void *p = xmalloc(size ? size : 1);
    count_add(user, p);
    return p;
}

static void on_free(void *p, void *user)
{
    count_sub(user, p);
    free(p);
}

static void *on_calloc(size_t num, size_t size, void *user)
{
    void *p = xcalloc(num ? num : 1, size ? size : 1);
    count_add(user, p);
    return p;
}

static void *on_realloc(void *p, size_t size, void *user)
{
    count_sub(user, p);
    p = xrealloc(p, size ? size : 1);
    count_add(user, p);
    return p;
}

void h2mem_init(nghttp2_mem *mem, struct stats *s)
{
    mem->mem_user_data = s;
    mem->malloc = on_malloc;
    mem->free = on_free;
    mem->calloc = on_calloc;
    mem->realloc = on_realloc;
}
