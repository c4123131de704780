/* The HTTP/1.1 server glue of a client connection: http-parser turns the
 * bytes into one exchange at a time (pipelined requests wait, bounded),
 * and the exchange's response goes out as an HTTP/1.1 message; after a
 * CONNECT the connection becomes a byte pipe (spliced when plain). */
#ifndef H2G_PROXY_H1SRV_H
#define H2G_PROXY_H1SRV_H

struct cconn;

/* cc speaks HTTP/1.1 from now on. */
void h1srv_start(struct cconn *cc);

#endif
