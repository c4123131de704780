/* HTTP/2 responses to clients (h2srv.c's): head, body, trailers. */
#ifndef H2G_PROXY_H2RESP_H
#define H2G_PROXY_H2RESP_H

#include <nghttp2/nghttp2.h>

struct cconn;
struct xchg;

/* Submits x's response head on its stream: h2gate's own answer when
 * x->error_status is set, else the backend's, translated. The body
 * follows through a data provider, unless there is none: a HEAD's, a
 * 204's or 304's, or a response that ended at its head (one HEADERS
 * frame with END_STREAM: gRPC's Trailers-Only form). nghttp2's result. */
int h2resp_submit(struct cconn *cc, struct xchg *x);

/* nghttp2's send_data callback: a DATA frame's payload moves from the
 * exchange's buffer to the connection's output with no copy. */
int h2resp_send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *framehd,
                     size_t length, nghttp2_data_source *src, void *ud);

#endif
