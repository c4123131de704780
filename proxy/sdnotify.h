/* systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@'). systemd documents the
 * protocol as stable for reimplementation; one sendto() is less than a
 * library and keeps the container image free of libsystemd. */
#ifndef H2G_PROXY_SDNOTIFY_H
#define H2G_PROXY_SDNOTIFY_H

/* Sends state ("READY=1", "STOPPING=1", several lines separated by '\n')
 * when $NOTIFY_SOCKET is set. Returns 1 when sent, 0 when there is no
 * socket to send to, -1 on an error (logged at WARN: systemd then times
 * the unit out, which says more than we could). Blocking is not a
 * concern: a datagram to a local socket, at start and at shutdown. */
int sdnotify(const char *state);

#endif
