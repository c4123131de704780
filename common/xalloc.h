/* Allocation that never returns NULL: on exhaustion it logs and aborts.
 * Nothing else in h2gate calls malloc directly. Memory a peer can grow is
 * bounded by caps at the call sites, not by NULL checks. */
#ifndef H2G_COMMON_XALLOC_H
#define H2G_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t num, size_t size);
void *xrealloc(void *p, size_t size);
/* Returns size bytes starting on a page boundary (free() them). */
void *xmalloc_pages(size_t size);
/* Returns a NUL-terminated heap copy of the len bytes at p. */
char *xstrndup(const char *p, size_t len);
char *xstrdup(const char *s);

#endif
