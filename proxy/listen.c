/* Listening sockets across generations: see listen.h. */
#include "proxy/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
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
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
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

static const struct lsn_set *find(const struct lsn_table *t, const struct cfg_frontend *fe)
{
    for (size_t i = 0; i < t->num; i++) {
        if (t->sets[i].port == fe->port && strcmp(t->sets[i].host, fe->host) == 0)
            return &t->sets[i];
    }
    return NULL;
}

/* One socket per worker for fe, after a plain bind proves the port free. */
static int open_set(const struct cfg_frontend *fe, int workers, int backlog, struct lsn_set *out,
                    char *err, size_t err_len)
{
    /* SO_REUSEPORT would let us share a port another h2gate or nghttpx
     * already serves, and the user would never know. */
    int probe = lsn_open(fe, false, backlog, err, err_len);
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

int lsn_update(struct lsn_table *t, const struct config *cfg, int **fds, char *err,
               size_t err_len)
{
    size_t n = cfg->num_frontends;
    struct lsn_set *sets = xcalloc(n ? n : 1, sizeof(*sets));
    bool *fresh = xcalloc(n ? n : 1, sizeof(*fresh));
    for (size_t i = 0; i < n; i++) {
        const struct lsn_set *old = find(t, &cfg->frontends[i]);
        if (old) {
            sets[i].host = xstrdup(old->host);
            sets[i].port = old->port;
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
    free_sets(t->sets, t->num);
    t->sets = sets;
    t->num = n;
    *fds = rows;
    return 0;
}

void lsn_table_free(struct lsn_table *t)
{
    free_sets(t->sets, t->num);
    t->sets = NULL;
    t->num = 0;
}
