/* CONNECT tunnels terminated by h2gate (RFC 9113 §8.5, RFC 9110 §9.3.6):
 * check, resolve, connect, then pipe bytes with per-tunnel backpressure
 * (or splice(2) when both sides are plain sockets). A tunnel is its
 * exchange's upstream. */
#ifndef H2G_PROXY_TUNNEL_H
#define H2G_PROXY_TUNNEL_H

#include "proxy/tunnel-t.h"

/* Starts the CONNECT exchange x (its head is complete): validates the
 * authority and the framing fields, checks credentials and the allow
 * list, then resolves and connects. Every failure is answered through
 * xchg_fail() with a proxy-status; success sets x->status 200 and
 * x->resp_state XRESP_HEAD. */
void tun_start(struct xchg *x);

/* The HTTP/1.1 backend connection s to backend host:port answered x's
 * Upgrade: websocket request with 101 (x->status and resp are set): from
 * now on x's upstream is a tunnel over s, which it takes (s is left
 * closed), with the tunnel's backpressure, half-close and
 * --tunnel-idle-timeout. rest[0..rest_len) are bytes the backend sent
 * after the 101 head; they go to x->resp_body. x has no upstream on
 * entry. */
void tun_adopt_websocket(struct xchg *x, struct sock *s, const char *host, uint16_t port,
                         const char *rest, size_t rest_len);

/* Frees every closed tunnel of w. Prepare pass only. */
void tun_reap(struct worker *w);

/* w's spare splice pipes (w->tun_pipes): tun_worker_init makes the cache
 * empty on w's loop; tun_worker_cleanup closes what it holds and stops
 * its timer (after every tunnel is gone). */
void tun_worker_init(struct worker *w);
void tun_worker_cleanup(struct worker *w);

#endif
