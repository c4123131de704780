/* RFC 9218 extensible priorities: the Priority field value (a structured
 * field dictionary, RFC 8941 §3.2) read into an urgency and an incremental
 * flag. Pure: no I/O, no nghttp2. */
#ifndef H2G_PROXY_EXTPRI_H
#define H2G_PROXY_EXTPRI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

#define EXTPRI_URGENCY_DEFAULT 3
#define EXTPRI_URGENCY_MAX 7

struct extpri {
    uint8_t urgency;  /* 0 (most urgent) .. 7 */
    bool incremental;
};

/* Reads the Priority field value v over *p: the u and i members v carries
 * replace p's, whatever v does not say stays (so several field lines read
 * in order combine, and a backend's answer amends the client's wish,
 * RFC 9218 §8). Unknown members, u outside 0..7 and values of the wrong
 * type are ignored (§4); a later duplicate member replaces an earlier one
 * (RFC 8941 §4.2.2). Returns 0, or H2G_ERR_PROTO when v is not a valid
 * dictionary: *p is then untouched. Borrows v. */
int extpri_parse(struct str v, struct extpri *p);

#endif
