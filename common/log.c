#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/syslog.h"

static const char *const level_names[] = { "INFO", "NOTICE", "WARN", "ERROR", "FATAL" };

static _Atomic int min_level = LOG_NOTICE;
static _Atomic int log_fd = STDERR_FILENO;
static char log_path[4096];
static _Thread_local const char *thread_tag;
/* Set before any worker starts, never changed after: read without a lock. */
static struct syslog_sink *sink;
static const enum syslog_severity severities[] = { SYSLOG_INFO, SYSLOG_NOTICE, SYSLOG_WARNING,
                                                   SYSLOG_ERR, SYSLOG_CRIT };

int log_parse_level(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static int open_path(void)
{
    return open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int log_open(enum log_level min, const char *path)
{
    atomic_store(&min_level, (int)min);
    if (path == NULL || strcmp(path, "-") == 0 || strcmp(path, "/dev/stderr") == 0)
        log_path[0] = '\0';
    else
        snprintf(log_path, sizeof(log_path), "%s", path);
    int fd = log_path[0] ? open_path() : STDERR_FILENO;
    if (fd < 0)
        return H2G_ERR_IO;
    int old = atomic_exchange(&log_fd, fd);
    if (old != STDERR_FILENO)
        close(old);
    return 0;
}

int log_use_syslog(const char *socket_path, int facility, int *connect_errno)
{
    struct syslog_sink *s = syslog_sink_new(socket_path, facility);
    if (!s)
        return -1;
    *connect_errno = syslog_sink_errno(s);
    syslog_sink_free(sink);
    sink = s;
    return 0;
}

int log_reopen(void)
{
    if (sink)
        return syslog_sink_reconnect(sink) == 0 ? 0 : H2G_ERR_IO;
    if (log_path[0] == '\0')
        return 0;
    int fd = open_path();
    if (fd < 0)
        return H2G_ERR_IO;
    /* Workers may be inside write(2) on the current descriptor: closing it
     * would let a new socket take its number and receive log lines. dup2(2)
     * swaps the file under the same number in one step instead, so a
     * concurrent write goes whole to the old file or whole to the new. */
    int cur = atomic_load(&log_fd);
    int rv = dup2(fd, cur) < 0 ? H2G_ERR_IO : 0;
    close(fd);
    return rv;
}

void log_set_thread_tag(const char *tag)
{
    thread_tag = tag;
}

enum log_level log_min_level(void)
{
    return (enum log_level)atomic_load_explicit(&min_level, memory_order_relaxed);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
        return;
    char line[2048];
    size_t n = 0;
    if (!sink) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        int ms = snprintf(line + n, sizeof(line) - n, ".%03ld ", ts.tv_nsec / 1000000);
        n += (size_t)(ms > 0 ? ms : 0);
    }
    int m = snprintf(line + n, sizeof(line) - n, "%s [%s] ", level_names[level],
                     thread_tag ? thread_tag : "main");
    n += (size_t)(m > 0 ? m : 0);
    va_list ap;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    if (sink) {
        struct str msg = str_make(line, n);
        syslog_send(sink, severities[level], &msg, 1);
        return;
    }
    line[n++] = '\n';
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
    ssize_t w;
    do {
        w = write(fd, line, n);
    } while (w < 0 && errno == EINTR);
}
