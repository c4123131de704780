/* The nghttp2_mem allocator of client HTTP/2 sessions, and their sleep.
 *
 * Every byte libnghttp2 holds for a session is counted in the worker's
 * h2gate_http2_session_bytes gauge, at the allocator's size. What the
 * library allocates while the session is created (the session itself,
 * the two HPACK ring buffers, the stream map's bucket table, the 16 KiB
 * outbound frame buffer: about 25 KiB that nghttp2 1.52 sizes by
 * constants) is carved from one page-aligned region of its own.
 *
 * An idle session sleeps: its region's live bytes other than the frame
 * buffer's (dead once every frame is handed out) are packed into a small
 * heap blob, as how they differ from the worker's template (the first
 * session that slept there), and the region's pages go back to the
 * kernel. The first use wakes it: the bytes go back where they were,
 * so every pointer nghttp2 keeps into the region holds again. Nothing
 * may call libnghttp2 on a sleeping session: the session is read through
 * h2mem_session(), which wakes it first. */
#ifndef H2G_PROXY_H2MEM_H
#define H2G_PROXY_H2MEM_H

#include <nghttp2/nghttp2.h>

#include "proxy/cconn-t.h"

/* A session sleeps after --frontend-http2-session-sleep (1 s) with no
 * open stream and nothing read: at once would cost a madvise and page
 * faults per request on a one-request-at-a-time client (bench/idle_mem,
 * RESULTS.md). A session woken within four delays of going to sleep
 * waits twice as long the next time, up to 2^H2MEM_MAX_SHIFT times (a
 * client that polls every few seconds stops paying a sleep and a wake
 * per poll); one that slept longer starts again from the option's
 * delay. H2MEM_TEST_DELAY, when defined (the fuzz build), replaces the
 * option's value. */
#define H2MEM_MAX_SHIFT 5

/* With the sleep off (the option at 0), an idle session's frame buffer
 * pages and empty stream map page still go back, this long after frames
 * last went out with no stream open. */
#define H2MEM_RELEASE_DELAY 1.

/* The delay before cc's session sleeps: the option's, times
 * 2^sleep_shift; with the sleep off, H2MEM_RELEASE_DELAY. */
double h2mem_delay(const struct cconn *cc);

/* The region's size: 8 KiB of small blocks, then page-aligned ones (the
 * map's table, the frame buffer). Address space only where not written. */
#define H2MEM_REGION_SIZE (32 * 1024)

/* Makes cc's session with nghttp2_session_server_new3 and the counting
 * allocator (nghttp2 copies the allocator; cc must outlive the session),
 * its creation's allocations in cc->p.h2.mem's region where they fit.
 * Returns nghttp2's result: 0 or a negative nghttp2 error. Allocation
 * failure aborts (xmalloc). */
int h2mem_session_new(struct cconn *cc, const nghttp2_session_callbacks *cbs,
                      const nghttp2_option *opt);

/* Deletes cc's session (waking it first: nghttp2 frees what it holds)
 * and its region. */
void h2mem_session_del(struct cconn *cc);

/* Puts the session to sleep now. The caller knows it is idle: no call
 * into nghttp2 is under way, and nghttp2 has no frame in progress
 * (nghttp2_session_want_write() is 0: every frame packed was handed out,
 * so the frame buffer's bytes are dead). Does nothing if it sleeps. */
void h2mem_idle(struct cconn *cc);

/* Wakes a sleeping session: its bytes back in its region, and the sleep
 * armed again (h2mem_delay). */
void h2mem_wake(struct cconn *cc);

static inline _Bool h2mem_asleep(const struct cconn *cc)
{
    return cc->p.h2.blob != NULL;
}

struct worker;

/* Frees the worker's template of sleeping sessions (h2mem.c), once its
 * connections are all gone. */
void h2mem_worker_cleanup(struct worker *w);

/* Bytes of the region h2gate keeps for its own per-session state, which
 * sleeps and wakes with the session (h2abuse's ring of closed streams):
 * zeros at creation, right after the region's header; read through
 * h2mem_own(). Out of struct cconn, they keep it in jemalloc's 768-byte
 * class. */
#define H2MEM_OWN_OFFSET 128
#define H2MEM_OWN_SIZE 128

/* Wakes cc's session if it sleeps: before anything in its region is read. */
static inline void h2mem_awake(struct cconn *cc)
{
    if (__builtin_expect(cc->p.h2.blob != NULL, 0))
        h2mem_wake(cc);
}

/* cc's own bytes of the region, awake. */
static inline void *h2mem_own(struct cconn *cc)
{
    h2mem_awake(cc);
    return (char *)cc->p.h2.mem + H2MEM_OWN_OFFSET;
}

/* cc's session, awake: the only way to it outside nghttp2's callbacks. */
static inline nghttp2_session *h2mem_session(struct cconn *cc)
{
    h2mem_awake(cc);
    return cc->p.h2.session_raw;
}

/* For the connection's timer (h2srv.c h2_timeout): h2mem_delay() after
 * the last stream closed and the last read, if the session is awake, no
 * stream is open and nothing is in progress (no want_write: no frame half
 * handed out; cc->out empty), puts the session to sleep; with the sleep
 * off, gives back the pages that hold nothing then, once per spell of
 * frames sent (cc->p.h2.mem_used). Returns when to look again, or
 * INFINITY. */
double h2mem_deadline(struct cconn *cc, double now);

#endif
