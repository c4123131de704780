/* h2gate --probe=URL: a health check for containers that have no curl
 * (the image's HEALTHCHECK). One HTTP/1.1 GET over cleartext TCP, blocking,
 * bounded by PROBE_TIMEOUT seconds in all (connect, send, the status line).
 * It never touches the event loop or the proxy. */
#ifndef H2G_PROXY_PROBE_H
#define H2G_PROXY_PROBE_H

#include <stddef.h>

#define PROBE_TIMEOUT 5.0

/* "http://HOST[:PORT][/PATH]": HOST a name, an IPv4 address or a bracketed
 * IPv6 one; PORT 80 by default; PATH "/" by default (a query is kept).
 * Copies the parts into host, port and path. Returns NULL, or what is
 * wrong with url. */
const char *probe_parse_url(const char *url, char *host, size_t host_len, char *port,
                            size_t port_len, char *path, size_t path_len);

/* The status code of an HTTP/1.x status line at the start of buf[0..len),
 * or -1 when buf does not start with one. */
int probe_parse_status(const char *buf, size_t len);

/* GETs url. Returns the process exit status: 0 for a 2xx answer, 1 for
 * anything else (a bad URL, no connection, a timeout, another status),
 * after printing the status line (stdout) or the reason (stderr). */
int probe_run(const char *url);

#endif
