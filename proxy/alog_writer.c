/* The per-worker access log writer (declared in proxy/accesslog.h): whole
 * lines buffered, then written to a file, a pipe or standard output, or
 * sent to syslog one datagram per line (common/syslog.h). */
#include "proxy/accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/syslog.h"
#include "common/xalloc.h"

#define WRITER_BUF_CAP (ALOG_FLUSH_BYTES + ALOG_MAX_LINE)

struct alog_writer {
    struct syslog_sink *sink; /* --accesslog-syslog; then no fd */
    char *path;     /* NULL for standard output or error */
    int fd;
    bool owns_fd;
    bool regular;   /* regular file: any batch size; else batches <= PIPE_BUF */
    size_t len;     /* buffered bytes, always whole lines */
    uint64_t num_dropped;
    char buf[WRITER_BUF_CAP];
};

static int std_fd_for(const char *path)
{
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0 ||
        strcmp(path, "/proc/self/fd/1") == 0)
        return STDOUT_FILENO;
    if (strcmp(path, "/dev/stderr") == 0 || strcmp(path, "/proc/self/fd/2") == 0)
        return STDERR_FILENO;
    return -1;
}

static bool fd_is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

struct alog_writer *alog_writer_new(const char *path)
{
    int fd = std_fd_for(path);
    bool owns = false;
    if (fd < 0) {
        fd = open_log(path);
        if (fd < 0)
            return NULL;
        owns = true;
    }
    struct alog_writer *w = xmalloc(sizeof(*w));
    w->sink = NULL;
    w->path = owns ? xstrdup(path) : NULL;
    w->fd = fd;
    w->owns_fd = owns;
    w->regular = fd_is_regular(fd);
    w->len = 0;
    w->num_dropped = 0;
    return w;
}

struct alog_writer *alog_writer_new_syslog(const char *socket_path, int facility)
{
    struct syslog_sink *sink = syslog_sink_new(socket_path, facility);
    if (!sink)
        return NULL;
    struct alog_writer *w = xmalloc(sizeof(*w));
    w->sink = sink;
    w->path = NULL;
    w->fd = -1;
    w->owns_fd = false;
    w->regular = false;
    w->len = 0;
    w->num_dropped = 0;
    return w;
}

int alog_writer_syslog_errno(const struct alog_writer *w)
{
    return w->sink ? syslog_sink_errno(w->sink) : 0;
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
        lines++;
    return lines;
}

/* Writes p[0..n) fully; n ends at a line end. Returns 0, 1 on EAGAIN (with
 * *done set to what was written), or -1. */
static int write_all(int fd, const char *p, size_t n, size_t *done)
{
    *done = 0;
    while (*done < n) {
        ssize_t r = write(fd, p + *done, n - *done);
        if (r >= 0) {
            *done += (size_t)r;
            continue;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    }
    return 0;
}

/* Every buffered line as one datagram, without its '\n'; what the socket
 * refuses is dropped and counted, never kept (it would only fill). */
static void flush_syslog(struct alog_writer *w)
{
    struct str lines[SYSLOG_MAX_BATCH];
    size_t n = 0, off = 0;
    while (off < w->len) {
        const char *nl = memchr(w->buf + off, '\n', w->len - off);
        lines[n++] = str_make(w->buf + off, (size_t)(nl - (w->buf + off)));
        off = (size_t)(nl - w->buf) + 1;
        if (n == SYSLOG_MAX_BATCH || off == w->len) {
            w->num_dropped += n - syslog_send(w->sink, SYSLOG_INFO, lines, n);
            n = 0;
        }
    }
    w->len = 0;
}

int alog_writer_flush(struct alog_writer *w)
{
    if (w->sink) {
        flush_syslog(w);
        return 0;
    }
    size_t off = 0;
    int rv = 0;
    while (off < w->len) {
        size_t n = w->len - off;
        if (!w->regular && n > PIPE_BUF) {
            /* the last whole line within PIPE_BUF; a line is never longer
             * than ALOG_MAX_LINE <= PIPE_BUF */
            const char *nl = memrchr(w->buf + off, '\n', PIPE_BUF);
            n = (size_t)(nl - (w->buf + off)) + 1;
        }
        size_t done;
        int r = write_all(w->fd, w->buf + off, n, &done);
        off += done;
        if (r == 1)
            break; /* keep the rest for the next flush */
        if (r < 0) {
            w->num_dropped += count_lines(w->buf + off, w->len - off);
            off = w->len;
            rv = H2G_ERR_IO;
        }
    }
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return rv;
}

_Static_assert(ALOG_MAX_LINE <= PIPE_BUF, "a line must fit one atomic pipe write");

void alog_write(struct alog_writer *w, const struct alog_format *f, const struct alog_entry *e)
{
    if (WRITER_BUF_CAP - w->len < ALOG_MAX_LINE)
        alog_writer_flush(w);
    if (WRITER_BUF_CAP - w->len < ALOG_MAX_LINE) {
        w->num_dropped++;
        return;
    }
    w->len += alog_render_line(f, e, w->buf + w->len);
    if (w->len >= ALOG_FLUSH_BYTES)
        alog_writer_flush(w);
}

int alog_writer_reopen(struct alog_writer *w)
{
    alog_writer_flush(w);
    if (w->sink)
        return syslog_sink_reconnect(w->sink) == 0 ? 0 : H2G_ERR_IO;
    if (!w->owns_fd)
        return 0;
    int fd = open_log(w->path);
    if (fd < 0)
        return H2G_ERR_IO;
    close(w->fd);
    w->fd = fd;
    w->regular = fd_is_regular(fd);
    return 0;
}

uint64_t alog_writer_num_dropped(const struct alog_writer *w)
{
    return w->num_dropped;
}

void alog_writer_free(struct alog_writer *w)
{
    if (!w)
        return;
    alog_writer_flush(w);
    if (w->owns_fd)
        close(w->fd);
    syslog_sink_free(w->sink);
    free(w->path);
    free(w);
}
