/* Abuse limits of client HTTP/2 connections, for the HTTP/2 server glue
 * (proxy/h2srv.c).
 *
 * Debian's libnghttp2 1.52 keeps no glitch count, so h2gate keeps its own:
 * every frame or event that costs the proxy work and gives the client
 * nothing (enum stats_glitch) takes one token from a per-connection bucket
 * of --frontend-http2-glitch-budget tokens, refilled at
 * --frontend-http2-glitch-refill per second. When the bucket is empty the
 * connection gets GOAWAY(ENHANCE_YOUR_CALM), reading stops and it closes
 * once the GOAWAY is written. Every glitch is counted in
 * h2gate_http2_glitches_total{kind}; every cut, with the kind that tipped
 * it, in h2gate_http2_abuse_closes_total{kind}, and logged at NOTICE.
 *
 * These functions run in h2_recv around mem_recv or inside nghttp2
 * callbacks: they only count, submit GOAWAY and set flags; the glue stops
 * reading and closes. */
#ifndef H2G_PROXY_H2ABUSE_H
#define H2G_PROXY_H2ABUSE_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>

#include "proxy/h2abuse-t.h"

struct cconn;

/* Frames nghttp2 may keep queued for one connection (control frames it
 * answers by itself, resets, response heads) before the connection counts
 * as one that never reads: 1000 PING/SETTINGS ACKs (nghttp2's own
 * max_outbound_ack) plus four per stream allowed. */
size_t h2abuse_max_queued_frames(const struct cconn *cc);

/* A full budget for cc's connection (cc->p.h2.abuse). */
void h2abuse_init(struct cconn *cc);

/* The frame scanner, run on the client's bytes before nghttp2 gets them.
 * Returns how many of the len bytes at p to give nghttp2_session_mem_recv
 * next (at least 1 when len > 0): the pieces end at frame header
 * boundaries, so each frame header is classified (and its glitch charged)
 * while nghttp2 has processed exactly the frames before it. Returns 0
 * when nothing more is to be given to nghttp2: the budget is spent
 * (cc->p.h2.abuse.tripped set, the GOAWAY queued), or a frame header is a
 * connection error nghttp2 does not see (cc->p.h2.abuse.conn_error set to
 * its code: a PRIORITY frame on stream 0, RFC 9113 §6.3, which nghttp2
 * skips unchecked once RFC 7540 priorities are off). */
size_t h2abuse_scan(struct cconn *cc, const uint8_t *p, size_t len);

/* nghttp2 found a frame invalid (on_invalid_frame_recv): a zero
 * WINDOW_UPDATE is a glitch; stream errors are charged when their
 * RST_STREAM goes out. */
void h2abuse_invalid_frame(struct cconn *cc, const nghttp2_frame *f, int lib_error);

/* An RST_STREAM went out on stream_id with code. Codes that only a
 * client's error causes (PROTOCOL_ERROR, FLOW_CONTROL_ERROR,
 * STREAM_CLOSED, FRAME_SIZE_ERROR, COMPRESSION_ERROR; REFUSED_STREAM when
 * no exchange was made) are a SERVER_RESET glitch (MadeYouReset,
 * CVE-2025-8671). has_xchg: the stream had an exchange. */
void h2abuse_rst_sent(struct cconn *cc, int32_t stream_id, uint32_t code, bool has_xchg);

/* A stream closed: frames racing its close are not charged. DATA that
 * comes on it after the client reset it or after both sides ended it is
 * answered RST_STREAM(STREAM_CLOSED) (RFC 9113 §6.1; nghttp2 keeps no
 * closed stream, so it would drop the frame), DATA after h2gate's own
 * RST_STREAM is dropped (RFC 9113 §5.1: it may have crossed the reset). */
void h2abuse_stream_closed(struct cconn *cc, int32_t stream_id);

/* Charges one glitch of kind. Returns true when this emptied the budget
 * (GOAWAY queued, cc->p.h2.abuse.tripped set). */
bool h2abuse_glitch(struct cconn *cc, enum stats_glitch kind);

/* Cuts the connection for abuse of kind now, whatever the budget:
 * GOAWAY(ENHANCE_YOUR_CALM) queued, counted and logged once. */
void h2abuse_trip(struct cconn *cc, enum stats_glitch kind);

/* A GOAWAY went out with code: ENHANCE_YOUR_CALM that h2abuse did not
 * send is nghttp2's own flood limit, counted as an abuse close (FLOOD). */
void h2abuse_goaway_sent(struct cconn *cc, uint32_t code);

/* nghttp2_session_mem_recv failed with lib_error: the kind of abuse it
 * reports (FLOOD, or HEADER_BLOCK / EMPTY_CONTINUATION for too many
 * CONTINUATION frames), or STATS_NUM_GLITCHES for errors that are not
 * abuse. */
enum stats_glitch h2abuse_recv_error_kind(const struct cconn *cc, int lib_error);

#endif
