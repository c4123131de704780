#include "proxy/h2abuse.h"

#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "common/stats.h"
#include "config/config.h"
#include "proxy/h2mem.h"
#include "proxy/cconn.h"
#include "proxy/worker.h"

/* nghttp2's own limits, set in h2srv_option_new (kept equal here). */
#define MAX_SETTINGS_ENTRIES 32
#define MAX_OUTBOUND_ACK 1000

/* Frame types nghttp2 1.52 knows but names only as extensions. */
#define FRAME_PRIORITY_UPDATE 0x10

static struct h2abuse *abuse_of(struct cconn *cc)
{
    return &cc->p.h2.abuse;
}

static const struct h2abuse *abuse_of_c(const struct cconn *cc)
{
    return &cc->p.h2.abuse;
}

size_t h2abuse_max_queued_frames(const struct cconn *cc)
{
    return MAX_OUTBOUND_ACK + 4 * (size_t)cc->w->cfg->frontend_http2_max_concurrent_streams;
}

void h2abuse_init(struct cconn *cc)
{
    struct h2abuse *a = abuse_of(cc);
    *a = (struct h2abuse){ .tokens = (double)cc->w->cfg->frontend_http2_glitch_budget,
                           .refilled_at = ev_now(cc->w->loop),
                           .preface_left = NGHTTP2_CLIENT_MAGIC_LEN };
}

void h2abuse_trip(struct cconn *cc, enum stats_glitch kind)
{
    struct h2abuse *a = abuse_of(cc);
    if (a->tripped)
        return;
    a->tripped = true;
    stats_abuse_close(cc->w->stats, kind);
    log_notice("c%" PRIu64 " HTTP/2 abuse: %s past the limit; GOAWAY(ENHANCE_YOUR_CALM), closing",
               cc->xc.facts.conn_id, stats_glitch_name(kind));
    nghttp2_session_terminate_session(h2mem_session(cc), NGHTTP2_ENHANCE_YOUR_CALM);
}

bool h2abuse_glitch(struct cconn *cc, enum stats_glitch kind)
{
    struct h2abuse *a = abuse_of(cc);
    const struct config *cfg = cc->w->cfg;
    stats_glitch(cc->w->stats, kind);
    if (a->tripped || cfg->frontend_http2_glitch_budget == 0)
        return false;
    double now = ev_now(cc->w->loop);
    double budget = (double)cfg->frontend_http2_glitch_budget;
    a->tokens += (now - a->refilled_at) * (double)cfg->frontend_http2_glitch_refill;
    if (a->tokens > budget)
        a->tokens = budget;
    a->refilled_at = now;
    a->tokens -= 1;
    if (a->tokens >= 0)
        return false;
    h2abuse_trip(cc, kind);
    return true;
}

_Static_assert(H2ABUSE_RECENT * sizeof(uint16_t) <= H2MEM_OWN_SIZE, "the ring's room");

/* The ring of recently closed streams (h2abuse-t.h). */
static uint16_t *recent_ring(struct cconn *cc)
{
    return h2mem_own(cc);
}

void h2abuse_stream_closed(struct cconn *cc, int32_t stream_id)
{
    struct h2abuse *a = abuse_of(cc);
    uint16_t id = (uint16_t)stream_id;
    /* nghttp2 closes a stream right after its RST_STREAM went out. */
    recent_ring(cc)[a->recent_next] = a->reset_sent == id ? (uint16_t)(id & ~1u) : id;
    a->recent_next = (a->recent_next + 1) % H2ABUSE_RECENT;
    a->reset_sent = 0;
}

/* stream_id's entry in the ring of recently closed streams (the newest
 * if several), or -1. */
static int recent_entry(struct cconn *cc, int32_t stream_id)
{
    const struct h2abuse *a = abuse_of_c(cc);
    const uint16_t *ring = recent_ring(cc);
    for (unsigned k = 1; k <= H2ABUSE_RECENT; k++) {
        uint16_t e = ring[(a->recent_next + H2ABUSE_RECENT - k) % H2ABUSE_RECENT];
        if ((uint16_t)(e | 1u) == (uint16_t)stream_id)
            return e;
    }
    return -1;
}

static bool recently_closed(struct cconn *cc, int32_t stream_id)
{
    return recent_entry(cc, stream_id) >= 0;
}

/* A client stream nghttp2 has seen and no longer holds (it keeps no
 * closed streams: nghttp2_option_set_no_closed_streams). */
static bool stream_closed(nghttp2_session *s, int32_t stream_id)
{
    return stream_id > 0 && (stream_id & 1) &&
           stream_id <= nghttp2_session_get_last_proc_stream_id(s) &&
           !nghttp2_session_find_stream(s, stream_id);
}

/* A DATA frame header: its glitch, or STATS_NUM_GLITCHES. On a stream
 * closed recently by the client's reset or by both ends it is answered
 * RST_STREAM(STREAM_CLOSED) (RFC 9113 §6.1), which is charged as a
 * SERVER_RESET when it goes out; after h2gate's own reset it may have
 * crossed it, and is dropped (§5.1); on one closed long ago it is a
 * glitch. */
static enum stats_glitch check_data(struct cconn *cc, nghttp2_session *s,
                                    const nghttp2_frame_hd *hd)
{
    if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM))
        return STATS_GLITCH_EMPTY_DATA;
    if (!stream_closed(s, hd->stream_id))
        return STATS_NUM_GLITCHES;
    int e = recent_entry(cc, hd->stream_id);
    if (e < 0)
        return STATS_GLITCH_CLOSED_STREAM;
    if (e & 1)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, hd->stream_id, NGHTTP2_STREAM_CLOSED);
    return STATS_NUM_GLITCHES;
}

/* The glitch a frame header other than DATA shows, or STATS_NUM_GLITCHES
 * for none. */
static enum stats_glitch classify(struct cconn *cc, nghttp2_session *s,
                                  const nghttp2_frame_hd *hd)
{
    switch (hd->type) {
    case NGHTTP2_HEADERS:
        /* nghttp2 ignores these silently, but decodes their block. */
        return stream_closed(s, hd->stream_id) ? STATS_GLITCH_CLOSED_STREAM : STATS_NUM_GLITCHES;
    case NGHTTP2_PRIORITY:
    case FRAME_PRIORITY_UPDATE:
        return STATS_GLITCH_PRIORITY;
    case NGHTTP2_RST_STREAM:
        /* Refusing a push (an even, server-opened stream) is the client's
         * right; h2push.h bounds how many it is offered. */
        return hd->stream_id && !(hd->stream_id & 1) ? STATS_NUM_GLITCHES
                                                     : STATS_GLITCH_CLIENT_RESET;
    case NGHTTP2_SETTINGS:
        return hd->flags & NGHTTP2_FLAG_ACK ? STATS_NUM_GLITCHES : STATS_GLITCH_SETTINGS;
    case NGHTTP2_PING:
        return STATS_GLITCH_PING;
    case NGHTTP2_GOAWAY:
        return STATS_NUM_GLITCHES;
    case NGHTTP2_WINDOW_UPDATE:
        if (hd->stream_id && stream_closed(s, hd->stream_id) &&
            !recently_closed(cc, hd->stream_id))
            return STATS_GLITCH_WINDOW_UPDATE;
        return STATS_NUM_GLITCHES;
    case NGHTTP2_CONTINUATION:
        return hd->length == 0 ? STATS_GLITCH_EMPTY_CONTINUATION : STATS_NUM_GLITCHES;
    case NGHTTP2_PUSH_PROMISE:
        return STATS_NUM_GLITCHES; /* a connection error nghttp2 reports */
    default:
        return STATS_GLITCH_UNKNOWN_FRAME;
    }
}

/* A complete frame header: check, classify and charge. Returns false when
 * nothing more is to go to nghttp2 (tripped, or conn_error set). Forced
 * inline: gcc made it a call once it returned a value, 15 instructions a
 * request more (bench/callgrind_load c16 m10). */
static inline __attribute__((always_inline)) bool on_frame_header(struct cconn *cc,
                                                                  const nghttp2_frame_hd *hd)
{
    struct h2abuse *a = abuse_of(cc);
    nghttp2_session *s = h2mem_session(cc);
    a->last_type = hd->type;
    a->last_length = (uint32_t)hd->length;
    enum stats_glitch kind;
    if (hd->type == NGHTTP2_DATA) {
        kind = check_data(cc, s, hd);
    } else if (hd->type == NGHTTP2_PRIORITY && hd->stream_id == 0) {
        a->conn_error = NGHTTP2_PROTOCOL_ERROR;
        return false;
    } else if (hd->type == NGHTTP2_SETTINGS && !(hd->flags & NGHTTP2_FLAG_ACK) &&
               hd->length / 6 > MAX_SETTINGS_ENTRIES) {
        /* nghttp2 would answer with a GOAWAY too, uncounted. */
        stats_glitch(cc->w->stats, STATS_GLITCH_SETTINGS);
        h2abuse_trip(cc, STATS_GLITCH_SETTINGS);
        return false;
    } else {
        kind = classify(cc, s, hd);
    }
    if (kind != STATS_NUM_GLITCHES)
        h2abuse_glitch(cc, kind);
    return !a->tripped;
}

size_t h2abuse_scan(struct cconn *cc, const uint8_t *p, size_t len)
{
    struct h2abuse *a = abuse_of(cc);
    if (len == 0)
        return 0;
    if (a->preface_left) {
        size_t n = len < a->preface_left ? len : a->preface_left;
        a->preface_left -= (uint32_t)n;
        return n;
    }
    if (a->payload_left) {
        size_t n = len < a->payload_left ? len : a->payload_left;
        a->payload_left -= (uint32_t)n;
        return n;
    }
    size_t n = sizeof(a->hd) - a->hd_have;
    if (n > len)
        n = len;
    memcpy(a->hd + a->hd_have, p, n);
    a->hd_have = (uint8_t)(a->hd_have + n);
    if (a->hd_have < sizeof(a->hd))
        return n;
    a->hd_have = 0;
    nghttp2_frame_hd hd = {
        .length = ((size_t)a->hd[0] << 16) | ((size_t)a->hd[1] << 8) | a->hd[2],
        .type = a->hd[3],
        .flags = a->hd[4],
        .stream_id = (int32_t)((((uint32_t)a->hd[5] << 24) | ((uint32_t)a->hd[6] << 16) |
                                ((uint32_t)a->hd[7] << 8) | a->hd[8]) & 0x7fffffffu),
    };
    a->payload_left = (uint32_t)hd.length;
    return on_frame_header(cc, &hd) ? n : 0;
}

void h2abuse_invalid_frame(struct cconn *cc, const nghttp2_frame *f, int lib_error)
{
    (void)lib_error;
    if (f->hd.type == NGHTTP2_WINDOW_UPDATE && f->window_update.window_size_increment == 0)
        h2abuse_glitch(cc, STATS_GLITCH_WINDOW_UPDATE);
}

void h2abuse_rst_sent(struct cconn *cc, int32_t stream_id, uint32_t code, bool has_xchg)
{
    abuse_of(cc)->reset_sent = (uint16_t)stream_id;
    switch (code) {
    case NGHTTP2_PROTOCOL_ERROR:
    case NGHTTP2_FLOW_CONTROL_ERROR:
    case NGHTTP2_STREAM_CLOSED:
    case NGHTTP2_FRAME_SIZE_ERROR:
    case NGHTTP2_COMPRESSION_ERROR:
        break;
    case NGHTTP2_REFUSED_STREAM:
        /* Our own REFUSED_STREAM passes a backend's on; nghttp2's says
         * the client opened more streams than allowed. */
        if (has_xchg)
            return;
        break;
    default:
        return;
    }
    h2abuse_glitch(cc, STATS_GLITCH_SERVER_RESET);
}

void h2abuse_goaway_sent(struct cconn *cc, uint32_t code)
{
    struct h2abuse *a = abuse_of(cc);
    if (code != NGHTTP2_ENHANCE_YOUR_CALM || a->tripped)
        return;
    /* nghttp2's own limits (too many SETTINGS entries, its reset rate
     * limit) end the connection without asking us. */
    a->tripped = true;
    stats_abuse_close(cc->w->stats, STATS_GLITCH_FLOOD);
    log_notice("c%" PRIu64 " HTTP/2 abuse: nghttp2 sent GOAWAY(ENHANCE_YOUR_CALM), closing",
               cc->xc.facts.conn_id);
}

enum stats_glitch h2abuse_recv_error_kind(const struct cconn *cc, int lib_error)
{
    const struct h2abuse *a = &cc->p.h2.abuse;
    switch (lib_error) {
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        if (a->last_type == NGHTTP2_CONTINUATION && a->last_length == 0)
            return STATS_GLITCH_EMPTY_CONTINUATION;
        return STATS_GLITCH_HEADER_BLOCK;
    case NGHTTP2_ERR_FLOODED:
        return STATS_GLITCH_FLOOD;
    default:
        return STATS_NUM_GLITCHES;
    }
}
