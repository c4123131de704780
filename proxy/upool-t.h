#ifndef H2G_PROXY_UPOOL_T_H
#define H2G_PROXY_UPOOL_T_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/lbewma-t.h"

struct bconn;
struct bsess;
struct bstream;
struct upool_h1wait;

/* Per backend, per worker. */
struct upool_backend {
    struct bconn *idle;                 /* HTTP/1.1 keep-alive connections */
    size_t num_idle;
    /* HTTP/2 sessions, in any state but dead; those with room for a
     * stream kept in front (upool_h2_room), so a pick is O(1) however
     * many are open. */
    struct bsess *sessions, *sessions_tail;
    size_t num_sessions;
    struct bstream *q_head, *q_tail;    /* exchanges waiting for an HTTP/2 stream */
    size_t q_len;
    /* HTTP/1.1 connections open now (connecting, busy or idle), bounded
     * by --backend-http1-connections-per-host, and the exchanges waiting
     * for one, oldest first. */
    size_t num_h1;
    struct upool_h1wait *w_head, *w_tail;
    size_t w_len;
    bool retired;                       /* no route of the current generation names it */
    uint64_t serial;                    /* the registry object this entry is for */
    uint32_t outstanding;               /* exchanges on it now (lb=least-outstanding, peak-ewma) */
    struct lbewma ewma;                 /* its latency as lb=peak-ewma groups saw it */
    /* Its read and write timeouts in the current generation (its -b's
     * read-timeout=/write-timeout=, else the global ones): upool_use. */
    double read_timeout, write_timeout;
};

/* A worker's upstream pool. Touched only by its worker. */
struct upool {
    struct upool_backend *be;   /* by backend registry slot (cfg_backend.index) */
    size_t num_be;
    /* By slot, CFG_REGISTRY_MAX of them, never moved: upool_hold's counts.
     * Written by the worker only, read by main (upool_slot_held). */
    _Atomic uint32_t *holders;
    ev_timer queue_timer;       /* 503 for exchanges queued too long */
    size_t num_queued;
    bool h1_dispatch;           /* a member with waiters lost a connection */
    struct bsess *dirty;        /* sessions to flush in the prepare pass */
    struct bsess *grave;        /* closed sessions, freed by bsess_reap() */
    uint64_t next_sess_id;
};

#endif
