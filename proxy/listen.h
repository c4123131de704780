/* The main thread's listening sockets: per frontend address, one
 * SO_REUSEPORT socket per worker. A reload keeps the sockets of every
 * address that stays (no accept gap, no refused connection), opens those
 * of new addresses before any worker sees the new generation, and leaves
 * the sockets of removed addresses to the workers to close. */
#ifndef H2G_PROXY_LISTEN_H
#define H2G_PROXY_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct cfg_frontend;

struct lsn_set {
    char *host;
    uint16_t port;
    int *fds;       /* one per worker */
};

struct lsn_table {
    struct lsn_set *sets;
    size_t num;
    int workers;
};

/* Opens one listening socket for fe (SO_REUSEPORT when reuseport) with
 * listen(2)'s backlog. Returns the fd, or H2G_ERR_IO with a message in err. */
int lsn_open(const struct cfg_frontend *fe, bool reuseport, int backlog, char *err,
             size_t err_len);

/* Makes t hold exactly cfg's frontends, keeping the sockets of addresses
 * it already has and opening the others (a plain bind first, so a port
 * another process serves is an error rather than silently shared). On
 * success *fds is a new array (the caller frees it) of t->workers rows of
 * cfg->num_frontends sockets each, and returns 0; sockets of dropped
 * addresses are not closed (the workers close them when they switch).
 * On failure closes what it opened, leaves t as it was and returns
 * H2G_ERR_IO with a message in err. */
int lsn_update(struct lsn_table *t, const struct config *cfg, int **fds, char *err,
               size_t err_len);

/* Frees t's memory; the sockets are the workers'. */
void lsn_table_free(struct lsn_table *t);

#endif
