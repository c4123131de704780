/* The nghttp2_mem allocator of client HTTP/2 sessions: every byte
 * libnghttp2 holds for a session (the session, its HPACK tables, its
 * frame buffers, its streams) is counted in the worker's
 * h2gate_http2_session_bytes gauge, as the allocator's usable size; and
 * the session's outbound frame buffer (16 KiB, allocated at creation and
 * never shrunk by nghttp2) and its stream map's bucket table (4 KiB) have
 * their pages given back while idle. */
#ifndef H2G_PROXY_H2MEM_H
#define H2G_PROXY_H2MEM_H

#include <nghttp2/nghttp2.h>

struct cconn;

/* Seconds with no open stream before the frame buffer's pages go back:
 * at once cost a madvise and a page fault per request on a
 * one-request-at-a-time client (bench/idle_mem, RESULTS.md). */
#define H2MEM_IDLE_DELAY 1.

/* Makes cc's session with nghttp2_session_server_new3 and the counting
 * allocator (nghttp2 copies the allocator; cc must outlive the session).
 * Returns nghttp2's result: 0 or a negative nghttp2 error. The first
 * allocation of at least 16 KiB made while the session is created (its
 * outbound frame buffer) is page aligned and recorded in
 * cc->p.h2.framebuf; the stream map's first bucket table (a calloc of
 * 4 KiB) gets a page of its own, left to the kernel to zero (not
 * resident until a stream is added), recorded in cc->p.h2.streammap.
 * Allocation failure aborts (xmalloc). */
int h2mem_session_new(struct cconn *cc, const nghttp2_session_callbacks *cbs,
                      const nghttp2_option *opt);

/* The session is idle: no open stream, and nghttp2 has no frame in
 * progress (nghttp2_session_want_write() is 0: every frame packed was
 * handed out and processed, so the frame buffer's bytes are dead). Gives the frame
 * buffer's pages back to the kernel (MADV_DONTNEED: they read as zeros
 * when nghttp2 next writes a frame); and the stream map's page when
 * every byte of it is zero (no stream in the map: nghttp2 zeroes a
 * removed stream's bucket), so it reads the same afterwards. Does nothing
 * for what is not recorded. */
void h2mem_idle(struct cconn *cc);

/* For the connection's timer (h2srv.c h2_timeout): H2MEM_IDLE_DELAY after
 * the last stream closed (cc->p.h2.idle_since), if frames were sent since
 * the last release (framebuf_used) and nothing is in progress (no
 * want_write: no frame half handed out; cc->out empty), runs h2mem_idle.
 * Returns when to look again, or INFINITY. */
double h2mem_deadline(struct cconn *cc, double now);

#endif
