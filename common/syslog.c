#include "common/syslog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"

/* After a failed connect, the next try waits this long: a sink with no
 * receiver costs one failed sendmmsg per batch, not a connect per line. */
#define RETRY_MS 1000

#define TAG "h2gate"

static const struct {
    const char *name;
    int code;
} facilities[] = {
    { "kern", 0 },     { "user", 1 },     { "mail", 2 },     { "daemon", 3 },
    { "auth", 4 },     { "syslog", 5 },   { "lpr", 6 },      { "news", 7 },
    { "uucp", 8 },     { "cron", 9 },     { "authpriv", 10 }, { "ftp", 11 },
    { "local0", 16 },  { "local1", 17 },  { "local2", 18 },  { "local3", 19 },
    { "local4", 20 },  { "local5", 21 },  { "local6", 22 },  { "local7", 23 },
};

int syslog_facility_code(const char *name)
{
    for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
        if (strcmp(name, facilities[i].name) == 0)
            return facilities[i].code;
    }
    return -1;
}

const char *syslog_facility_list(void)
{
    return "auth, authpriv, cron, daemon, ftp, kern, local0-local7, lpr, mail, news, "
           "syslog, user or uucp";
}

struct syslog_sink {
    int fd;                      /* never changes: reconnects dup3 onto it */
    int facility;
    struct sockaddr_un addr;
    socklen_t addr_len;
    _Atomic int64_t retry_at_ms; /* no connect attempt before this */
    _Atomic int last_errno;      /* 0: connected */
    char pid[16];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int new_socket(void)
{
    return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* A fresh socket connected to the path, put under s->fd. */
static int connect_now(struct syslog_sink *s)
{
    atomic_store_explicit(&s->retry_at_ms, now_ms() + RETRY_MS, memory_order_relaxed);
    int fd = new_socket();
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&s->addr, s->addr_len) != 0 ||
        dup3(fd, s->fd, O_CLOEXEC) < 0) {
        int e = errno;
        close(fd);
        atomic_store_explicit(&s->last_errno, e, memory_order_relaxed);
        errno = e;
        return -1;
    }
    close(fd);
    atomic_store_explicit(&s->last_errno, 0, memory_order_relaxed);
    return 0;
}

struct syslog_sink *syslog_sink_new(const char *path, int facility)
{
    if (!path)
        path = SYSLOG_DEFAULT_SOCKET;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = new_socket();
    if (fd < 0)
        return NULL;
    struct syslog_sink *s = xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->facility = facility;
    s->addr.sun_family = AF_UNIX;
    memcpy(s->addr.sun_path, path, len);
    s->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    atomic_init(&s->retry_at_ms, 0);
    atomic_init(&s->last_errno, 0);
    snprintf(s->pid, sizeof(s->pid), "%ld", (long)getpid());
    connect_now(s);
    return s;
}

int syslog_sink_errno(const struct syslog_sink *s)
{
    return atomic_load_explicit(&s->last_errno, memory_order_relaxed);
}

int syslog_sink_reconnect(struct syslog_sink *s)
{
    return connect_now(s);
}

void syslog_sink_free(struct syslog_sink *s)
{
    if (!s)
        return;
    close(s->fd);
    free(s);
}

/* "Mmm dd hh:mm:ss" changes once a second; each thread keeps its last
 * one (localtime_r takes glibc's time zone lock). */
static _Thread_local struct {
    time_t sec;
    char text[32];
} stamp;

static const char *timestamp(void)
{
    static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t now = time(NULL);
    if (now != stamp.sec || !stamp.text[0]) {
        struct tm tm;
        localtime_r(&now, &tm);
        snprintf(stamp.text, sizeof(stamp.text), "%s %2d %02d:%02d:%02d", mon[tm.tm_mon % 12],
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        stamp.sec = now;
    }
    return stamp.text;
}

/* Errors after which the socket has no receiver: connect again. */
static bool lost_receiver(int e)
{
    return e == ECONNREFUSED || e == ENOTCONN || e == EDESTADDRREQ || e == ECONNRESET ||
           e == ENOENT || e == EPIPE;
}

/* sendmmsg until done or refused; returns how many went out. */
static size_t send_batch(int fd, struct mmsghdr *mm, size_t n, int *err)
{
    size_t done = 0;
    *err = 0;
    while (done < n) {
        int r = sendmmsg(fd, mm + done, (unsigned)(n - done), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            done += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            *err = r < 0 ? errno : EAGAIN;
            break;
        }
    }
    return done;
}

size_t syslog_send(struct syslog_sink *s, enum syslog_severity sev, const struct str *msgs,
                   size_t n)
{
    if (n > SYSLOG_MAX_BATCH)
        n = SYSLOG_MAX_BATCH;
    char head[96];
    int hl = snprintf(head, sizeof(head), "<%d>%s " TAG "[%s]: ", s->facility * 8 + (int)sev,
                      timestamp(), s->pid);
    struct iovec iov[SYSLOG_MAX_BATCH][2];
    struct mmsghdr mm[SYSLOG_MAX_BATCH];
    memset(mm, 0, n * sizeof(mm[0]));
    for (size_t i = 0; i < n; i++) {
        iov[i][0] = (struct iovec){ head, (size_t)hl };
        iov[i][1] = (struct iovec){ (void *)msgs[i].p, msgs[i].len };
        mm[i].msg_hdr.msg_iov = iov[i];
        mm[i].msg_hdr.msg_iovlen = 2;
    }
    int err;
    size_t done = send_batch(s->fd, mm, n, &err);
    if (done < n && lost_receiver(err)) {
        atomic_store_explicit(&s->last_errno, err, memory_order_relaxed);
        if (now_ms() >= atomic_load_explicit(&s->retry_at_ms, memory_order_relaxed) &&
            connect_now(s) == 0)
            done += send_batch(s->fd, mm + done, n - done, &err);
    }
    return done;
}
