/* CONNECT tunnels terminated by h2gate (RFC 9113 §8.5, RFC 9110 §9.3.6):
 * check, resolve, connect, then pipe bytes with per-tunnel backpressure. */
#ifndef H2G_PROXY_TUNNEL_H
#define H2G_PROXY_TUNNEL_H

#include "proxy/tunnel-t.h"

/* Starts the CONNECT exchange x (its head is complete): validates the
 * authority and the framing fields, checks credentials and the allow
 * list, then resolves and connects. Every failure is answered through
 * xchg_fail() with a proxy-status; success sets x->status 200 and
 * x->resp_head_ready. */
void tun_start(struct xchg *x);

/* The client sent more bytes or ended its side: write them to the target
 * (after the tunnel is open), half-closing it once the client has ended. */
void tun_pump(struct tunnel *t);

/* The client drained the target's bytes below the low-water mark. */
void tun_resume_read(struct tunnel *t);

/* Cleartext HTTP/1.1 tunnel with nothing buffered on either side: move
 * both directions with splice(2) from now on. cfd stays owned by the
 * cconn, which must not touch it until the exchange ends (x->resp_end
 * is set and notified when the tunnel is over). Returns false (and
 * changes nothing) when pipes cannot be made. */
bool tun_splice_start(struct tunnel *t, int cfd);

/* The exchange is gone: close the target and log the tunnel. */
void tun_abandon(struct tunnel *t);

/* Frees every closed tunnel of w. Prepare pass only. */
void tun_reap(struct worker *w);

#endif
