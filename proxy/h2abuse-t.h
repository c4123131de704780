#ifndef H2G_PROXY_H2ABUSE_T_H
#define H2G_PROXY_H2ABUSE_T_H

#include <stdbool.h>
#include <stdint.h>

#include "common/stats-t.h"

/* Streams recently closed: frames racing their close are not glitches.
 * The ring keeps the low 16 bits of their ids (128 bytes, in the
 * session's region: h2mem_own): a frame on a stream closed 32,768
 * client streams or more before one of these counts as racing too (no
 * more than the client gets by sending on the recent one itself). Client
 * ids are odd, so bit 0 is free: it is cleared for a stream h2gate's own
 * RST_STREAM closed. Looked up newest first, so the ring's initial zeros
 * (which read as stream 1, reset) never hide a real entry. */
#define H2ABUSE_RECENT 64

/* Abuse accounting of one client HTTP/2 connection (proxy/h2abuse.c),
 * embedded in struct h2srv. */
struct h2abuse {
    double tokens;          /* glitches left in the budget */
    double refilled_at;     /* ev_now() of the last refill */
    /* The ring of the last closed stream ids' low bits is in the
     * session's region (h2mem_own), so that it sleeps with the session. */
    unsigned recent_next;
    uint32_t last_length;
    /* The frame scanner (h2abuse_scan): where the client's byte stream
     * is. nghttp2 hides frames it ignores (DATA on closed streams) from
     * its callbacks, so h2gate reads the frame headers itself. */
    uint32_t preface_left;  /* client magic bytes still to pass */
    uint32_t payload_left;  /* of the current frame */
    uint8_t hd[9];          /* a frame header being gathered */
    uint8_t hd_have;
    uint16_t reset_sent;    /* low bits of the stream of the last RST_STREAM sent */
    /* Byte-sized fields last, beside hd: struct cconn stays within
     * jemalloc's 768-byte size class (bench/idle_mem). */
    uint8_t last_type;      /* type of the frame header seen last */
    uint8_t conn_error;     /* an error code the scanner found (a frame
                               nghttp2 would pass unchecked), or 0 */
    bool tripped;           /* GOAWAY(ENHANCE_YOUR_CALM) queued: stop reading */
};

#endif
