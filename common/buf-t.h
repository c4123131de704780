#ifndef H2G_COMMON_BUF_T_H
#define H2G_COMMON_BUF_T_H

#include <stdbool.h>
#include <stddef.h>

/* One TLS record's worth of plaintext (the most a record carries). */
#define BUF_RECORD_SIZE 16384

/* Room kept free in front of every block's bytes: an HTTP/2 frame header
 * (9 bytes) and a Pad Length byte fit there, so a DATA frame's header is
 * written in front of its payload in the payload's own block
 * (bufq_move_prefixed) and one write carries both. */
#define BUF_BLOCK_HEADROOM 16

/* An HTTP/2 frame header. */
#define BUF_H2_FRAME_HEADER 9

/* Bytes a block holds after its headroom: a block moved out with its
 * 9-byte frame header in front (bufq_move_prefixed) is one full DATA
 * frame and exactly one full TLS record, so SSL_write takes it in place
 * (sock_tls_chunk) instead of gathering records across blocks. */
#define BUF_BLOCK_SIZE (BUF_RECORD_SIZE - BUF_H2_FRAME_HEADER)

/* Invariant: start <= end <= BUF_BLOCK_CAP, and BUF_BLOCK_HEADROOM <=
 * start unless bufq_move_prefixed wrote a prefix in front of the bytes
 * (it checks for the room itself). Blocks are filled from the headroom's
 * end, so a fresh block's bytes always have the room in front. */
#define BUF_BLOCK_CAP (BUF_BLOCK_HEADROOM + BUF_BLOCK_SIZE)

struct buf_block {
    struct buf_block *next;
    size_t start; /* first unread byte */
    size_t end;   /* one past the last written byte */
    char data[BUF_BLOCK_CAP];
};

/* A per-worker free list of blocks. Single-threaded. Blocks returned
 * beyond max_free go back to malloc, unless the pool is trimmed
 * (buf_pool_keep): then all are kept (a 16 KiB block is a "large"
 * allocation for jemalloc, a few thousand instructions and a lock each
 * way) and buf_pool_trim, called now and then, frees those beyond
 * max_free that nobody took since its last call. */
struct buf_pool {
    struct buf_block *free;
    size_t num_free;
    size_t max_free;     /* kept however long they are unused */
    size_t low_free;     /* the fewest num_free since the last trim */
    size_t num_in_use;   /* blocks handed out and not yet returned */
    bool trimmed;        /* buf_pool_keep: buf_pool_trim bounds the list */
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
