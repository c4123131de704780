/* The main thread's listening sockets: per frontend address, one
 * SO_REUSEPORT socket per worker; for a "unix:PATH" frontend one socket,
 * dup'ed for each worker, whose file h2gate removes when the frontend
 * goes (a reload that drops it, the exit). A reload keeps the sockets of
 * every address that stays (no accept gap, no refused connection), opens
 * those of new addresses before any worker sees the new generation, and
 * leaves the sockets of removed addresses to the workers to close. */
#ifndef H2G_PROXY_LISTEN_H
#define H2G_PROXY_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct cfg_frontend;

struct lsn_set {
    char *host;     /* the frontend's: "unix:PATH" when port is 0 */
    uint16_t port;
    int *fds;       /* one per worker */
    dev_t unix_dev; /* unix:PATH: the socket file h2gate made, removed */
    ino_t unix_ino; /* only while it is still that file */
};

struct lsn_table {
    struct lsn_set *sets;
    size_t num;
    int workers;
};

/* Opens one listening socket for fe, a HOST,PORT (SO_REUSEPORT when
 * reuseport) with listen(2)'s backlog; backlog -1: bound only, never
 * listening (nothing can connect to it). Returns the fd, or H2G_ERR_IO
 * with a message in err. */
int lsn_open(const struct cfg_frontend *fe, bool reuseport, int backlog, char *err,
             size_t err_len);

/* Makes t hold exactly cfg's frontends, keeping the sockets of addresses
 * it already has and opening the others (a plain bind first, so a port
 * another process serves is an error rather than silently shared). A
 * unix:PATH where a socket nobody accepts on lies (connect refused) takes
 * its place; one somebody listens on, or a file of another kind, is an
 * error and stays. On success *fds is a new array (the caller frees it)
 * of t->workers rows of cfg->num_frontends sockets each, and returns 0;
 * sockets of dropped addresses are not closed (the workers close them
 * when they switch), but their socket files are removed. On failure
 * closes (and removes) what it opened, leaves t as it was and returns
 * H2G_ERR_IO with a message in err. */
int lsn_update(struct lsn_table *t, const struct config *cfg, int **fds, char *err,
               size_t err_len);

/* Removes the socket files of t's unix:PATH frontends (each only if it is
 * still the file h2gate made) and frees t's memory; the sockets are the
 * workers'. */
void lsn_table_free(struct lsn_table *t);

#endif
