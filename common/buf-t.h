#ifndef H2G_COMMON_BUF_T_H
#define H2G_COMMON_BUF_T_H

#include <stddef.h>

/* Size of every block; one TLS record's worth of payload. */
#define BUF_BLOCK_SIZE 16384

struct buf_block {
    struct buf_block *next;
    size_t start; /* first unread byte */
    size_t end;   /* one past the last written byte */
    char data[BUF_BLOCK_SIZE];
};

/* A per-worker free list of blocks. Single-threaded. */
struct buf_pool {
    struct buf_block *free;
    size_t num_free;
    size_t max_free;     /* blocks beyond this are returned to malloc */
    size_t num_in_use;   /* blocks handed out and not yet returned */
};

/* A FIFO of bytes stored in a chain of blocks from a pool.
 * Invariants: len == sum(end - start) over the chain; head == NULL iff
 * tail == NULL iff len == 0 (an empty queue holds no block). */
struct bufq {
    struct buf_pool *pool;
    struct buf_block *head;
    struct buf_block *tail;
    size_t len;
};

#endif
