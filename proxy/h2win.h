/* Receive windows of HTTP/2 pipe streams (CONNECT tunnels and WebSockets
 * over HTTP/2) for the server glue (h2srv.c).
 *
 * A pipe stream starts with --frontend-http2-window-size like any other
 * and grows with the bandwidth-delay product it shows, as browsers and
 * QUIC stacks grow their receive windows: each time its upstream has
 * taken half of the stream's window, if that took less than two round
 * trips (the client socket's TCP RTT, at least H2WIN_RTT_FLOOR), the
 * client was held back by the window and not by the target, and the
 * window doubles, up to H2WIN_STREAM_MAX. A target slower than the
 * client takes longer than that for half a window, so the window stays
 * where it covers the target's pace (about 4 x RTT x its rate); a target
 * that reads nothing returns no credit, so it never grows. The growth of
 * the open pipe streams of one connection is at most
 * H2WIN_CONN_GROWTH_MAX in all; the connection window is kept at its
 * configured size plus that growth (it never shrinks).
 *
 * A pipe stream's connection-level credit goes back as its DATA arrives
 * (h2srv.c), its stream-level credit as the upstream takes the bytes: the
 * bytes h2gate holds for it stay under its stream window, and a stalled
 * target stalls its own stream only, not the connection. What h2gate
 * holds for the pipe streams of one connection is therefore at most
 * (number of streams x --frontend-http2-window-size) +
 * H2WIN_CONN_GROWTH_MAX. */
#ifndef H2G_PROXY_H2WIN_H
#define H2G_PROXY_H2WIN_H

#include <stddef.h>

/* A pipe stream's window grows to at most this. */
#define H2WIN_STREAM_MAX (16 * 1024 * 1024)
/* The open pipe streams of one connection grow by at most this in all. */
#define H2WIN_CONN_GROWTH_MAX (64 * 1024 * 1024)
/* Seconds: round trips shorter than this count as this long (loopback
 * and LAN RTTs are below what one loop pass of either side takes). */
#define H2WIN_RTT_FLOOR 0.001
/* Seconds a stream keeps the client's RTT it read (TCP_INFO). */
#define H2WIN_RTT_REFRESH 1.0

struct cconn;
struct xchg;

/* x, a pipe stream of cc, got n bytes of stream credit back (its
 * upstream took them): may grow its window and the connection's
 * (WINDOW_UPDATEs queued, cc marked for its flush pass). */
void h2win_consumed(struct cconn *cc, struct xchg *x, size_t n);

#endif
