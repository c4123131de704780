#include "common/spares.h"

#ifdef __SANITIZE_ADDRESS__
#define KEEP false
#else
#define KEEP true
#endif

static void **link_of(const struct spares *s, void *obj)
{
    return (void **)((char *)obj + s->link);
}

void spares_init(struct spares *s, size_t link, size_t floor, size_t max,
                 void (*destroy)(void *obj))
{
    *s = (struct spares){ .link = link, .floor = floor, .max = max, .destroy = destroy };
}

void *spares_take(struct spares *s)
{
    void *obj = s->head;
    if (!obj)
        return NULL;
    s->head = *link_of(s, obj);
    if (--s->num < s->low)
        s->low = s->num;
    return obj;
}

bool spares_put(struct spares *s, void *obj)
{
    if (!KEEP || s->num >= s->max)
        return false;
    *link_of(s, obj) = s->head;
    s->head = obj;
    s->num++;
    return true;
}

bool spares_trim(struct spares *s)
{
    size_t idle = s->low < s->num ? s->low : s->num;
    for (; idle > s->floor; idle--)
        s->destroy(spares_take(s));
    s->low = s->num;
    return s->num > s->floor;
}

void spares_free(struct spares *s)
{
    while (s->head)
        s->destroy(spares_take(s));
    s->num = s->low = 0;
}
