/* The PROXY protocol header (versions 1 and 2, haproxy's
 * proxy-protocol.txt) that a load balancer in front sends ahead of a
 * connection's own bytes, on frontends with ";proxyproto". Pure parsing:
 * proxy/cconn.c peeks at the first bytes, asks pp_parse how long the
 * header is and what it says, and consumes exactly that, so the TLS
 * handshake or the HTTP bytes that follow are untouched. */
#ifndef H2G_PROXY_PROXYPROTO_H
#define H2G_PROXY_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The most h2gate looks at: a v1 line is at most 107 bytes; a v2 header
 * longer than this (its TLVs) is refused. */
#define PP_MAX_HEADER 4096

/* How long the header may take to arrive, at most (the frontend read
 * timeout when shorter). */
#define PP_TIMEOUT 5.0

enum pp_result {
    PP_NEED_MORE,   /* a valid start: wait for more bytes */
    PP_DONE,        /* a whole header: see struct pp_header */
    PP_BAD,         /* not a PROXY header, or a malformed one */
};

struct pp_header {
    size_t len;     /* bytes the header takes, to consume */
    int version;    /* 1 or 2 */
    /* No address to use: v1 UNKNOWN, v2 LOCAL (a health check from the
     * balancer itself) or an unspecified family; the socket's own
     * addresses stand. */
    bool local;
    struct sockaddr_storage src;  /* the client, when !local */
    struct sockaddr_storage dst;  /* the address it reached, when !local */
};

/* Looks at the n bytes a connection has sent so far. PP_BAD sets *why. */
enum pp_result pp_parse(const uint8_t *p, size_t n, struct pp_header *out, const char **why);

#endif
