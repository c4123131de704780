#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page on every platform h2gate builds for; larger pages only make the
 * alignment coarser than needed. */
#define PAGE_ALIGN 4096

static void die(size_t size)
{
    fprintf(stderr, "h2gate: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        die(size);
    return p;
}

void *xcalloc(size_t num, size_t size)
{
    void *p = calloc(num ? num : 1, size ? size : 1);
    if (!p)
        die(num * size);
    return p;
}

void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p)
        die(size);
    return p;
}

void *xmalloc_pages(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, PAGE_ALIGN, size ? size : 1) != 0)
        die(size);
    return p;
}

char *xstrndup(const char *p, size_t len)
{
    char *s = xmalloc(len + 1);
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}
