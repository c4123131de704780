/* Listening sockets across generations: see listen.h. */
#include "proxy/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "config/config-t.h"

int lsn_open(const struct cfg_frontend *fe, bool reuseport, int backlog, char *err,
             size_t err_len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    char port[8];
    snprintf(port, sizeof(port), "%u", fe->port);
    bool any = strcmp(fe->host, "*") == 0;
    hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
    struct addrinfo *res = NULL;
    int rv = getaddrinfo(any ? NULL : fe->host, port, &hints, &res);
    if (rv != 0 && any) {
        hints.ai_family = AF_INET;
        rv = getaddrinfo(NULL, port, &hints, &res);
    }
    if (rv != 0) {
        snprintf(err, err_len, "frontend %s,%u: cannot resolve: %s", fe->host, fe->port,
                 gai_strerror(rv));
        return H2G_ERR_IO;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "frontend %s,%u: socket: %s", fe->host, fe->port,
                 strerror(errno));
        freeaddrinfo(res);
        return H2G_ERR_IO;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (res->ai_family == AF_INET6 && any)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        (backlog >= 0 && listen(fd, backlog) != 0)) {
        int e = errno;
        if (e == EADDRINUSE)
            snprintf(err, err_len,
                     "frontend %s,%u: address already in use (another process is "
                     "listening there; pick another port with -f)",
                     fe->host, fe->port);
        else
            snprintf(err, err_len, "frontend %s,%u: %s", fe->host, fe->port, strerror(e));
        close(fd);
        freeaddrinfo(res);
        return H2G_ERR_IO;
    }
    freeaddrinfo(res);
    return fd;
}

/* ---- unix:PATH ---- */

static socklen_t unix_addr(const struct cfg_frontend *fe, struct sockaddr_un *sun)
{
    const char *path = CFG_FE_UNIX_PATH(fe);
    size_t len = strlen(path);
    *sun = (struct sockaddr_un){ .sun_family = AF_UNIX };
    memcpy(sun->sun_path, path, len);    /* spec.c checked that it fits */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* The path of sun is in bind's way. A socket nobody accepts on (a
 * connect refused: a previous run's, left by a crash) is removed; a socket
 * someone listens on, or anything else, stays and is an error. Returns 0
 * when the path is free now, else H2G_ERR_IO with a message in err. */
static int clear_stale(const struct cfg_frontend *fe, const struct sockaddr_un *sun,
                       socklen_t len, char *err, size_t err_len)
{
    const char *path = sun->sun_path;
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;       /* gone since bind: bind again */
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_len, "frontend %s: %s exists and is not a socket (left alone; "
                 "remove it or pick another path with -f)", fe->host, path);
        return H2G_ERR_IO;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rv = fd < 0 ? -1 : connect(fd, (const struct sockaddr *)sun, len);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rv == 0 || e == EAGAIN) {  /* EAGAIN: its backlog is full, but it listens */
        snprintf(err, err_len, "frontend %s: address already in use (another process is "
                 "listening there; pick another path with -f)", fe->host);
        return H2G_ERR_IO;
    }
    if (e != ECONNREFUSED) {
        snprintf(err, err_len, "frontend %s: %s exists and cannot be checked: %s", fe->host,
                 path, strerror(e));
        return H2G_ERR_IO;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, err_len, "frontend %s: cannot remove the stale socket %s: %s", fe->host,
                 path, strerror(errno));
        return H2G_ERR_IO;
    }
    log_notice("frontend %s: removed a stale socket nobody listened on", fe->host);
    return 0;
}

/* Binds and listens on fe's path, a stale socket there removed first.
 * Returns the fd with the socket file's identity in *st (so only that file
 * is removed later), or H2G_ERR_IO with a message in err. */
static int open_unix(const struct cfg_frontend *fe, int backlog, struct stat *st, char *err,
                     size_t err_len)
{
    struct sockaddr_un sun;
    socklen_t len = unix_addr(fe, &sun);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "frontend %s: socket: %s", fe->host, strerror(errno));
        return H2G_ERR_IO;
    }
    int rv = bind(fd, (struct sockaddr *)&sun, len);
    if (rv != 0 && errno == EADDRINUSE) {
        if (clear_stale(fe, &sun, len, err, err_len) != 0) {
            close(fd);
            return H2G_ERR_IO;
        }
        rv = bind(fd, (struct sockaddr *)&sun, len);
    }
    bool bound = rv == 0;
    if (rv != 0 || listen(fd, backlog) != 0 || lstat(sun.sun_path, st) != 0) {
        snprintf(err, err_len, "frontend %s: %s", fe->host,
                 errno == EADDRINUSE ? "address already in use" : strerror(errno));
        if (bound)
            unlink(sun.sun_path);
        close(fd);
        return H2G_ERR_IO;
    }
    return fd;
}

/* One listening socket for every worker: SO_REUSEPORT does not spread a
 * UNIX domain socket's connections, so each worker gets a dup of the one
 * socket (the table holds an fd per worker, and each worker closes its
 * own), and they take turns at its queue. */
static int open_unix_set(const struct cfg_frontend *fe, int workers, int backlog,
                         struct lsn_set *out, char *err, size_t err_len)
{
    struct stat st;
    int fd = open_unix(fe, backlog, &st, err, err_len);
    if (fd < 0)
        return H2G_ERR_IO;
    out->fds = xcalloc((size_t)workers, sizeof(int));
    out->fds[0] = fd;
    for (int w = 1; w < workers; w++) {
        out->fds[w] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (out->fds[w] < 0) {
            snprintf(err, err_len, "frontend %s: dup: %s", fe->host, strerror(errno));
            unlink(fe->host + 5);
            while (w-- > 0)
                close(out->fds[w]);
            free(out->fds);
            return H2G_ERR_IO;
        }
    }
    out->host = xstrdup(fe->host);
    out->port = 0;
    out->unix_dev = st.st_dev;
    out->unix_ino = st.st_ino;
    return 0;
}

/* Removes s's socket file if it is still the one h2gate made (not a file
 * some other process put at that path since). */
static void unlink_unix(const struct lsn_set *s)
{
    if (s->port != 0)
        return;
    const char *path = s->host + 5;
    struct stat st;
    if (lstat(path, &st) != 0 || st.st_dev != s->unix_dev || st.st_ino != s->unix_ino)
        return;
    if (unlink(path) != 0)
        log_warn("frontend %s: cannot remove the socket file: %s", s->host, strerror(errno));
}

/* ---- every frontend ---- */

static const struct lsn_set *find(const struct lsn_table *t, const struct cfg_frontend *fe)
{
    for (size_t i = 0; i < t->num; i++) {
        if (t->sets[i].port == fe->port && strcmp(t->sets[i].host, fe->host) == 0)
            return &t->sets[i];
    }
    return NULL;
}

static bool find_set(const struct lsn_set *sets, size_t n, const struct lsn_set *s)
{
    for (size_t i = 0; i < n; i++) {
        if (sets[i].port == s->port && strcmp(sets[i].host, s->host) == 0)
            return true;
    }
    return false;
}

/* One socket per worker for fe, after a plain bind proves the port free. */
static int open_set(const struct cfg_frontend *fe, int workers, int backlog, struct lsn_set *out,
                    char *err, size_t err_len)
{
    /* SO_REUSEPORT would let us share a port another h2gate or nghttpx
     * already serves, and the user would never know. The probe is bound,
     * never listening: a client that connected to it would be reset when
     * it closes (a listener, even another's, is in bind's way anyway). */
    if (CFG_FE_UNIX_PATH(fe))
        return open_unix_set(fe, workers, backlog, out, err, err_len);
    int probe = lsn_open(fe, false, -1, err, err_len);
    if (probe < 0)
        return H2G_ERR_IO;
    close(probe);
    out->host = xstrdup(fe->host);
    out->port = fe->port;
    out->fds = xcalloc((size_t)workers, sizeof(int));
    for (int w = 0; w < workers; w++) {
        out->fds[w] = lsn_open(fe, true, backlog, err, err_len);
        if (out->fds[w] < 0) {
            while (w-- > 0)
                close(out->fds[w]);
            free(out->host);
            free(out->fds);
            return H2G_ERR_IO;
        }
    }
    return 0;
}

static void free_sets(struct lsn_set *sets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(sets[i].host);
        free(sets[i].fds);
    }
    free(sets);
}

/* --fastopen on every TCP socket of t, new or kept: Linux takes the
 * queue length (0 turns TCP Fast Open off) on a listening socket. */
static void set_fastopen(const struct lsn_table *t, int qlen)
{
    for (size_t i = 0; i < t->num; i++) {
        if (t->sets[i].port == 0) /* unix:PATH */
            continue;
        for (int w = 0; w < t->workers; w++) {
            int fd = t->sets[i].fds[w];
            if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) != 0 && qlen) {
                log_warn("frontend %s,%u: TCP_FASTOPEN: %s", t->sets[i].host, t->sets[i].port,
                         strerror(errno));
                return;
            }
        }
    }
}

int lsn_update(struct lsn_table *t, const struct config *cfg, int **fds, char *err,
               size_t err_len)
{
    size_t n = cfg->num_frontends;
    struct lsn_set *sets = xcalloc(n ? n : 1, sizeof(*sets));
    bool *fresh = xcalloc(n ? n : 1, sizeof(*fresh));
    for (size_t i = 0; i < n; i++) {
        const struct lsn_set *old = find(t, &cfg->frontends[i]);
        if (old) {
            sets[i] = *old;
            sets[i].host = xstrdup(old->host);
            sets[i].fds = xmalloc((size_t)t->workers * sizeof(int));
            memcpy(sets[i].fds, old->fds, (size_t)t->workers * sizeof(int));
            /* Linux takes a new backlog for a socket already listening. */
            for (int w = 0; w < t->workers; w++)
                listen(sets[i].fds[w], cfg->backlog);
        } else if (open_set(&cfg->frontends[i], t->workers, cfg->backlog, &sets[i], err,
                            err_len) < 0) {
            /* Close only what this call opened. */
            for (size_t j = 0; j < i; j++) {
                for (int w = 0; fresh[j] && w < t->workers; w++)
                    close(sets[j].fds[w]);
                if (fresh[j])
                    unlink_unix(&sets[j]);
            }
            free_sets(sets, i);
            free(fresh);
            return H2G_ERR_IO;
        } else {
            fresh[i] = true;
        }
    }
    free(fresh);
    int *rows = xcalloc((size_t)t->workers * (n ? n : 1), sizeof(int));
    for (int w = 0; w < t->workers; w++) {
        for (size_t i = 0; i < n; i++)
            rows[(size_t)w * n + i] = sets[i].fds[w];
    }
    /* A dropped socket file goes now: nobody should connect to what the
     * workers stop accepting on. */
    for (size_t i = 0; i < t->num; i++) {
        if (!find_set(sets, n, &t->sets[i]))
            unlink_unix(&t->sets[i]);
    }
    free_sets(t->sets, t->num);
    t->sets = sets;
    t->num = n;
    set_fastopen(t, cfg->fastopen);
    *fds = rows;
    return 0;
}

void lsn_table_free(struct lsn_table *t)
{
    for (size_t i = 0; i < t->num; i++)
        unlink_unix(&t->sets[i]);
    free_sets(t->sets, t->num);
    t->sets = NULL;
    t->num = 0;
}
