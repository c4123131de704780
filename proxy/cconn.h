/* Client connections: accept, TLS, protocol sniffing, the HTTP/2 server
 * session and the HTTP/1.1 request parser. */
#ifndef H2G_PROXY_CCONN_H
#define H2G_PROXY_CCONN_H

#include <sys/socket.h>

#include "proxy/cconn-t.h"

struct config;

/* Sets up the shared, read-only nghttp2 callbacks and options from cfg.
 * Called once by main before workers start. */
void cconn_global_init(const struct config *cfg);
void cconn_global_cleanup(void);

/* Takes ownership of the accepted, non-blocking fd. Never fails (on
 * out-of-memory the process aborts). */
struct cconn *cconn_new(struct worker *w, int fd, const struct cfg_frontend *fe,
                        const struct sockaddr *peer);

/* Generates and writes pending output, acts on exchange news, and closes
 * when done. Called only by the worker's prepare pass. */
void cconn_flush(struct cconn *cc);

/* Marks cc closed: watchers stop at once, memory goes in the next
 * cconn_reap(). Safe to call more than once and from any callback. */
void cconn_close(struct cconn *cc, const char *why);

/* Frees every closed connection of w. Prepare pass only. */
void cconn_reap(struct worker *w);

/* Begins graceful shutdown of cc: HTTP/2 two-step GOAWAY, HTTP/1.1 close
 * after the current response. */
void cconn_shutdown(struct cconn *cc);
/* Second GOAWAY step: the final GOAWAY with the last processed stream. */
void cconn_shutdown_final(struct cconn *cc);
void cconn_close_all(struct worker *w);

/* An HTTP/1.1 client's request body drained below the low-water mark:
 * resume reading the socket if it was paused for that. */
void cconn_resume_read(struct cconn *cc);

#endif
