/* A free list of objects kept for reuse, so that a busy worker allocates
 * none per request, trimmed by a low-water mark so that a quiet one gives
 * them back: spares_trim (from a timer) frees, beyond a floor, as many as
 * were never taken since its last call. Under AddressSanitizer nothing is
 * kept (spares_put refuses): a use after free must stay visible. One
 * thread; no lock. */
#ifndef H2G_COMMON_SPARES_H
#define H2G_COMMON_SPARES_H

#include <stdbool.h>
#include <stddef.h>

struct spares {
    void *head;
    size_t num;
    size_t low;                 /* the fewest num since the last trim */
    size_t floor;               /* kept however long they are unused */
    size_t max;                 /* spares_put refuses past it */
    size_t link;                /* offset of the objects' next pointer (a void *) */
    void (*destroy)(void *obj); /* frees one object and what it holds */
};

/* Objects of a type whose `void *` field at offset link chains them. */
void spares_init(struct spares *s, size_t link, size_t floor, size_t max,
                 void (*destroy)(void *obj));
/* A kept object (its contents as put), or NULL. */
void *spares_take(struct spares *s);
/* Keeps obj; false (obj untouched: the caller frees it) when full or
 * under AddressSanitizer. */
bool spares_put(struct spares *s, void *obj);
/* Frees those beyond the floor no spares_take needed since the last
 * call; true while more than the floor are left (call again later). */
bool spares_trim(struct spares *s);
/* Frees every kept object. */
void spares_free(struct spares *s);

static inline bool spares_over_floor(const struct spares *s)
{
    return s->num > s->floor;
}

#endif
