/* RFC 9218 priorities and --padding for the HTTP/2 server glue (h2srv.c).
 *
 * nghttp2 schedules: h2srv.c sends SETTINGS_NO_RFC7540_PRIORITIES = 1 and
 * nghttp2 reads the request's priority field and the client's
 * PRIORITY_UPDATE frames itself (RFC 7540 PRIORITY frames and HEADERS
 * priority are then accepted and ignored). This file keeps the exchange's
 * view of its priority (x->prio_*) so that a backend's priority response
 * field can amend it (RFC 9218 §8), and pads the frames sent to clients. */
#ifndef H2G_PROXY_H2PRIO_H
#define H2G_PROXY_H2PRIO_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>

/* TCP_NOTSENT_LOWAT of client HTTP/2 sockets. */
#define H2PRIO_NOTSENT_MAX (16 * 1024)

struct cconn;
struct xchg;

/* Adds the padding callback to the server sessions' callbacks (once, at
 * start). */
void h2prio_global_init(nghttp2_session_callbacks *cb);
/* Adds the PRIORITY_UPDATE extension to a set of server session options
 * (h2srv_option_new). */
void h2prio_option(nghttp2_option *opt);

/* cc speaks HTTP/2 from now on: the kernel may hold at most
 * H2PRIO_NOTSENT_MAX bytes of its output unsent, so that what nghttp2
 * serialises next (a more urgent stream's DATA) does not queue behind
 * megabytes of a bulk response already written to the socket. */
void h2prio_start(struct cconn *cc);

/* x's request head is complete: its priority fields, if any, set
 * x->prio_* as nghttp2 set the stream's (an invalid one: the default).
 * Without one, on a connection whose client has sent no RFC 9218 signal
 * yet (an RFC 7540 client), the stream is made incremental: such
 * clients' streams share the connection as under RFC 7540's default
 * instead of waiting for each other in turn. */
void h2prio_request_head(struct xchg *x);

/* A PRIORITY_UPDATE frame nghttp2 has applied: x->prio_* follow it,
 * unless the backend's signal fixed the stream's priority. */
void h2prio_update_recv(struct cconn *cc, const nghttp2_frame *f);

/* The client's SETTINGS: SETTINGS_NO_RFC7540_PRIORITIES = 1 is an RFC
 * 9218 signal. */
void h2prio_settings_recv(struct cconn *cc, const nghttp2_frame *f);

/* x's response head goes out now: a priority field from the backend
 * amends the stream's priority (what it names replaces the client's
 * wish, the rest stays) and client signals are ignored from then on. */
void h2prio_response_head(struct cconn *cc, struct xchg *x);

/* How many of the length bytes nghttp2 offers a DATA frame to carry
 * (avail waiting) so that --padding still fits in the frame. */
size_t h2prio_data_len(const struct cconn *cc, size_t avail, size_t length);

#endif
