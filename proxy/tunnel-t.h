#ifndef H2G_PROXY_TUNNEL_T_H
#define H2G_PROXY_TUNNEL_T_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/buf-t.h"
#include "proxy/sock-t.h"
#include "proxy/upstream-t.h"

struct worker;
struct xchg;
struct dns_query;

#define TUN_MAX_ADDRS 16

enum tun_state {
    TUN_RESOLVING,
    TUN_CONNECTING,
    TUN_OPEN,
    TUN_DEAD, /* closed; freed by the worker's prepare pass */
};

/* One connection attempt (RFC 8305 lets two run at once). */
struct tun_attempt {
    struct sock sock;   /* closed when the slot is free */
    struct tunnel *t;
};

/* One direction of a spliced tunnel: src -> pipe -> dst, in the kernel.
 * The pipe is held only while bytes are in flight: taken (from the
 * worker's tun_pipe_cache, or made) when src may have bytes, given back
 * once it is empty, so an idle spliced tunnel costs two descriptors (its
 * two sockets), not six. */
struct tun_pipe {
    int fds[2];          /* read end, write end; -1: no pipe held */
    size_t pending;      /* bytes in the pipe */
    bool src_eof;
    bool shut;           /* FIN forwarded to dst */
    bool need_read;      /* waiting for src to be readable */
    bool need_write;     /* waiting for dst to be writable */
};

#define TUN_PIPE_CACHE 8

/* A worker's spare splice pipes, each empty: at most TUN_PIPE_CACHE;
 * all closed by the timer once a whole period (about a second) passed
 * without a take or a give, so a worker whose tunnels went idle holds
 * none. */
struct tun_pipe_cache {
    int fds[TUN_PIPE_CACHE][2];
    size_t num;
    bool used;           /* taken from or given to since the timer ran */
    ev_timer timer;      /* runs while num > 0 */
};

/* The target side of a CONNECT exchange, its upstream: a raw TCP socket. */
struct tunnel {
    struct upstream up;
    struct worker *w;
    char *host;
    uint16_t port;
    enum tun_state state;
    struct dns_query *query;

    /* Resolved addresses that passed the allow list, IPv6 first. */
    struct sockaddr_storage addrs[TUN_MAX_ADDRS];
    socklen_t addr_lens[TUN_MAX_ADDRS];
    size_t num_addrs;
    size_t next_v6, next_v4;   /* next index of each family to try */
    struct tun_attempt attempts[2];
    int last_errno;
    ev_timer he_timer;         /* Happy Eyeballs: start IPv4 after 250 ms */

    struct sock sock;          /* the target, once connected */
    ev_timer timer;            /* connect timeout, then idle timeout */
    double start;
    double last_activity;
    bool read_paused;
    bool target_eof;           /* target sent FIN */
    bool shut_wr;              /* we sent FIN to the target */
    /* The exchange went with the client's last bytes unwritten (finish):
     * they are here, written out before the FIN and the close. */
    bool orphan;
    struct bufq rest;
    uint64_t bytes_up;         /* client to target */
    uint64_t bytes_down;       /* target to client */
    /* A WebSocket: the target is an HTTP/1.1 backend connection that
     * answered 101 (tun_adopt_websocket), counted in the WebSocket
     * metrics instead of the tunnel ones; it may be TLS (never spliced).
     * backend_index: its member, whose connection gauge it holds. */
    bool websocket;
    long backend_index;

    /* splice(2) mode (cleartext HTTP/1.1 tunnels): both sockets are ours. */
    bool spliced;
    struct sock csock;         /* the client's socket, borrowed from the client side */
    struct tun_pipe to_target, to_client;
    struct tunnel *next;       /* graveyard */
};

#endif
