/* Syslog without syslog(3): datagrams written to a local AF_UNIX
 * SOCK_DGRAM socket (default /dev/log) in the form glibc's syslog(3)
 * sends there (RFC 3164 without the host name, which the local daemon
 * adds):
 *
 *     <PRI>Mmm dd hh:mm:ss h2gate[PID]: MESSAGE
 *
 * PRI is facility * 8 + severity; the time is local, as syslog(3)'s.
 * The socket is non-blocking: a datagram the socket refuses (EAGAIN or
 * ENOBUFS when the receiver does not keep up, no receiver at all) is not
 * sent and the caller counts it; nothing ever waits. A receiver that went
 * away (a syslog daemon restarting) is reconnected to at the next send
 * (at most one attempt a second) or at syslog_sink_reconnect().
 * <syslog.h> is not used: its LOG_* macros clash with common/log.h. */
#ifndef H2G_COMMON_SYSLOG_H
#define H2G_COMMON_SYSLOG_H

#include <stddef.h>

#include "common/str.h"

#define SYSLOG_DEFAULT_SOCKET "/dev/log"
#define SYSLOG_FACILITY_DAEMON 3
/* Most messages one syslog_send() call takes. */
#define SYSLOG_MAX_BATCH 64

/* RFC 5424 severities (the ones h2gate uses). */
enum syslog_severity {
    SYSLOG_CRIT = 2,
    SYSLOG_ERR = 3,
    SYSLOG_WARNING = 4,
    SYSLOG_NOTICE = 5,
    SYSLOG_INFO = 6,
};

/* nghttpx's --syslog-facility names: auth, authpriv, cron, daemon, ftp,
 * kern, local0 ... local7, lpr, mail, news, syslog, user, uucp (exact
 * lower case). Returns the facility's code (daemon: 3, local0: 16), or -1. */
int syslog_facility_code(const char *name);

/* The accepted names, comma-separated, for error messages. */
const char *syslog_facility_list(void);

struct syslog_sink;

/* Opens a non-blocking, close-on-exec datagram socket and connects it to
 * path (NULL: SYSLOG_DEFAULT_SOCKET). A connect that fails is not an
 * error: the sink keeps trying at later sends (syslog_sink_errno() tells
 * why it is not connected). Returns the sink, or NULL with errno set when
 * path is too long for a socket address or socket(2) fails. */
struct syslog_sink *syslog_sink_new(const char *path, int facility);

/* 0 when connected, else the errno of the last failed connect. */
int syslog_sink_errno(const struct syslog_sink *s);

/* Sends msgs[0..n) (n <= SYSLOG_MAX_BATCH; each without a trailing
 * newline) as one datagram each, in order, with the given severity.
 * Returns how many the socket took; the others were dropped (once the
 * socket refuses one, the rest of the batch is dropped too, without
 * more system calls). Any thread may call it on one sink at the same
 * time as others: a reconnect swaps the socket under the same
 * descriptor number (dup3), so a concurrent send goes to the old socket
 * or to the new one. */
size_t syslog_send(struct syslog_sink *s, enum syslog_severity sev, const struct str *msgs,
                   size_t n);

/* Connects again now (SIGUSR1), whatever the last attempt was. Returns
 * 0, or -1 with errno set (the old socket stays). */
int syslog_sink_reconnect(struct syslog_sink *s);

/* Closes the socket. NULL: no-op. */
void syslog_sink_free(struct syslog_sink *s);

#endif
