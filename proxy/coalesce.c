/* Event coalescing for a busy worker: the rule (see coalesce.h). */
#include "proxy/coalesce.h"

/* A poll counts at most this many events: one burst of accepts does not
 * keep the average up for long after it. */
#define EVENTS_CAP 64u

bool coalesce_note(struct coalesce *c, unsigned events)
{
    if (events > EVENTS_CAP)
        events = EVENTS_CAP;
    /* avg += (events * 16 - avg) / 8, in integers */
    c->avg = c->avg - c->avg / 8 + events * 2;
    bool want = c->on ? c->avg >= COALESCE_OFF_AT : c->avg >= COALESCE_ON_AT;
    if (want == c->on)
        return false;
    c->on = want;
    return true;
}
