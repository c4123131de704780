/* The nghttp2_mem allocator of client HTTP/2 sessions: every byte
 * libnghttp2 holds for a session (the session, its HPACK tables, its
 * frame buffers, its streams) is counted in the worker's
 * h2gate_http2_session_bytes gauge, as the allocator's usable size. */
#ifndef H2G_PROXY_H2MEM_H
#define H2G_PROXY_H2MEM_H

#include <nghttp2/nghttp2.h>

struct stats;

/* Fills *mem with the counting allocator for s (borrowed: it must outlive
 * every session made with *mem; NULL counts nothing). nghttp2 copies
 * *mem into the session, so *mem itself may go out of scope. Allocation
 * failure aborts (xmalloc). */
void h2mem_init(nghttp2_mem *mem, struct stats *s);

#endif
