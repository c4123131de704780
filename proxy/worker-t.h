#ifndef H2G_PROXY_WORKER_T_H
#define H2G_PROXY_WORKER_T_H

#include <ev.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf-t.h"
#include "common/spares.h"
#include "proxy/coalesce.h"
#include "proxy/tls-t.h"
#include "proxy/tunnel-t.h"
#include "proxy/upool-t.h"

/* A worker's read buffer. HTTP/2 clients read this much at a time
 * (an upload through a tunnel: a 16 KiB read per frame cost a read(2)
 * each); the other readers take BUF_RECORD_SIZE of it. */
#define WRK_SCRATCH_SIZE (64 * 1024)

struct config;
struct cfg_frontend;
struct cconn;
struct bconn;
struct tunnel;
struct stats;
struct dns;
struct auth_db;
struct auth_cache;
struct alog_writer;
struct alog_format;
struct gen;

struct wrk_listener {
    ev_io io;
    int fd;
    const struct cfg_frontend *fe;
    struct worker *w;
};

/* A warning logged at most once a second (worker.c, on_accept). */
struct wrk_ratelog {
    double last;            /* ev_now() of the last line; 0: none yet */
    uint64_t suppressed;    /* warnings not logged since that line */
};

/* Commands from main, as bits: several may be pending at once. */
enum wrk_cmd {
    WRK_CMD_GRACEFUL = 1,
    WRK_CMD_STOP = 2,
    WRK_CMD_REOPEN_LOGS = 4,
    WRK_CMD_RELOAD = 8,     /* switch to next_gen */
};

/* A worker's hold on one configuration generation (proxy/gen.h): objects
 * that point into it (a client connection's frontend, an exchange's route)
 * pin it with wrk_gen_pin(); the generation reference is dropped when the
 * worker has moved on and the last of them is unpinned. Worker-local, so
 * pinning is a plain increment. */
struct lb_state;

struct wgen {
    struct gen *g;
    const struct config *cfg;   /* &g->cfg */
    size_t users;               /* pins by this worker's objects */
    size_t routed;              /* of them, exchanges (wrk_gen_pin_routes) */
    bool members_held;          /* this worker's gen_members_ref of g */
    struct lb_state *lb;        /* balancer state per route of cfg (balance.h) */
    struct wgen *next;          /* older generations still pinned */
};

/* One thread, one loop. Everything below is touched only by this worker's
 * thread except cmd (written by main, read here). */
struct worker {
    int id;
    char tag[16];
    pthread_t thread;
    struct ev_loop *loop;
    const struct config *cfg;   /* the current generation's: new objects use it */
    struct wgen *gen;           /* the current generation */
    struct wgen *old_gens;      /* earlier ones some object still pins */
    struct gen *next_gen;       /* WRK_CMD_RELOAD: written by main before the command */
    const int *next_fds;        /* its listening sockets, one per frontend (main's) */
    _Atomic uint64_t gen_applied;  /* id of the generation in use; read by main */
    void (*on_reloaded)(void);  /* called on the worker thread after a switch */
    SSL_CTX *ssl_ctx;
    /* The current generation's nghttp2 options for new client and backend
     * sessions (h2srv_option_new, bsess_option_new): nghttp2 reads them
     * only when it makes a session, so they are made again at each switch
     * and open sessions keep the values they were made with. */
    nghttp2_option *h2srv_option;
    nghttp2_option *bsess_option;
    /* What sleeping client sessions are packed against (h2mem.c): the
     * first one to sleep here; NULL until then. */
    struct h2mem_template *h2mem_template;
    struct wrk_listener *listeners;
    size_t num_listeners;
    uint64_t rng;               /* wrk_random's state */
    ev_async wake;
    ev_prepare prepare;
    ev_check check;             /* after each poll: --io-collect-interval */
    struct coalesce coalesce;
    ev_idle idle_watch;
    ev_timer shutdown_timer;
    _Atomic int cmd;
    void (*on_exit)(void);      /* called on the worker thread as it ends */
    bool shutting_down;

    struct buf_pool pool;
    ev_timer pool_timer;        /* trims pool and spare exchanges */
    struct spares xchg_spares;  /* freed exchanges kept for reuse (xchg.c) */
    struct spares bstream_spares; /* freed HTTP/2 backend streams (bstream.c) */
    char *scratch;              /* read buffer, WRK_SCRATCH_SIZE bytes */

    struct cconn *conns;
    size_t num_conns;           /* in conns, closed ones until reaped */
    /* accept() ran out of descriptors or memory: every listener's watcher
     * is stopped until a client connection closes (on_prepare) or
     * accept_timer fires (--listener-disable-timeout). */
    bool accept_paused;
    ev_timer accept_timer;
    struct wrk_ratelog accept_log;  /* accept() failures */
    struct wrk_ratelog refuse_log;  /* --worker-frontend-connections refusals */
    struct cconn *dirty;
    struct cconn *cc_grave;
    struct bconn *bc_grave;
    struct tunnel *tun_grave;
    struct tun_pipe_cache tun_pipes; /* spare splice pipes (tunnel.c) */
    struct stats *stats;        /* written only by this worker */
    struct dns *dns;            /* c-ares channel on this loop */
    const struct auth_db *auth_db;  /* shared, read-only; NULL: no auth */
    struct auth_cache *auth_cache;
    struct alog_writer *alog;       /* NULL: no access log */
    const struct alog_format *alog_fmt;  /* shared, read-only */
    const struct alog_format *alog_fmt_tunnel; /* for tunnels; NULL: alog_fmt */
    struct upool up;            /* backend connections and sessions */
    struct tls_upstream tls_up; /* backend TLS contexts and sessions */
    uint64_t next_conn_id;
};

#endif
