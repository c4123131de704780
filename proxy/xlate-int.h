/* What xlate.c and xlate_h2.c share beyond xlate.h: the Date rule both
 * kinds of response head apply. */
#ifndef H2G_PROXY_XLATE_INT_H
#define H2G_PROXY_XLATE_INT_H

#include <stdbool.h>

#include "proxy/xlate.h"

/* Whether a response head needs r->date: it has none of its own, and
 * --add-response-header adds none. */
bool xlate_wants_date(const struct xlate_resp *r);

#endif
