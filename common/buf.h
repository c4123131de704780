/* Bounded byte queues made of fixed-size pooled blocks. An empty queue
 * holds no memory, so idle connections cost no buffer space. The queue
 * itself has no cap: producers check bufq_len() against their high-water
 * mark and pause (stop reading, withhold flow-control credit). */
#ifndef H2G_COMMON_BUF_H
#define H2G_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include "common/buf-t.h"

void buf_pool_init(struct buf_pool *pool, size_t max_free);
/* Keeps every returned block until buf_pool_trim finds it unused: the
 * owner then calls buf_pool_trim now and then (a worker: every second
 * while any is kept above max_free). */
void buf_pool_keep(struct buf_pool *pool);
/* Frees the free blocks beyond max_free that stayed free since the last
 * call (num_free never went below them); returns how many are left above
 * max_free, for a later call to look at. */
size_t buf_pool_trim(struct buf_pool *pool);
/* Frees the free list; blocks still in use must have been returned. */
void buf_pool_cleanup(struct buf_pool *pool);
/* Returns a block with start == end == 0 and next == NULL. Never NULL. */
struct buf_block *buf_block_get(struct buf_pool *pool);
void buf_block_put(struct buf_pool *pool, struct buf_block *b);

void bufq_init(struct bufq *q, struct buf_pool *pool);
/* Returns every block to the pool; the queue is empty and reusable. */
void bufq_cleanup(struct bufq *q);

static inline size_t bufq_len(const struct bufq *q)
{
    return q->len;
}

/* Appends len bytes (copies them). Inline for what fits in the tail
 * block (a head built field by field appends twenty pieces or so). */
void bufq_append_slow(struct bufq *q, const void *data, size_t len);
static inline void bufq_append(struct bufq *q, const void *data, size_t len)
{
    struct buf_block *t = q->tail;
    if (t && len && len <= BUF_BLOCK_SIZE && BUF_BLOCK_CAP - t->end >= len) {
        memcpy(t->data + t->end, data, len);
        t->end += len;
        q->len += len;
        return;
    }
    bufq_append_slow(q, data, len);
}
/* printf-style append; the formatted text must fit in one block. */
void bufq_appendf(struct bufq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns a writable region at the tail of at least 1 byte, *avail set to
 * its size; the bytes become part of the queue only with bufq_commit(). */
char *bufq_reserve(struct bufq *q, size_t *avail);
/* Commits n (<= avail) bytes written into the last reserved region. An
 * uncommitted reserved block is dropped by the next bufq_drain/cleanup. */
void bufq_commit(struct bufq *q, size_t n);
/* Commits the n bytes at `at`, which lie in the last reserved region at
 * or after its start (a parser's view of bytes read there): moved down to
 * the region's start when not already there. The rest of the region past
 * at + n is left as it was, so a parser may go on reading it. */
void bufq_commit_at(struct bufq *q, const char *at, size_t n);

/* Fresh blocks set aside by bufq_reserve_iov until bufq_commit_iov. */
#define BUFQ_RESV_BLOCKS 4
struct bufq_resv {
    struct buf_block *blocks[BUFQ_RESV_BLOCKS];
    int num;
};

/* Room at the tail for one readv(2): iov[0] is the tail block's free room
 * (as bufq_reserve gives it), then up to max_iov - 1 (at most
 * BUFQ_RESV_BLOCKS) fresh blocks, held in r, not yet in the queue.
 * Returns the number of iovecs filled (>= 1). Must be followed by
 * bufq_commit_iov(q, r, n) before any other change to q. */
int bufq_reserve_iov(struct bufq *q, struct bufq_resv *r, struct iovec *iov, int max_iov);
/* Commits the first n bytes written into the regions of the last
 * bufq_reserve_iov, in order: the fresh blocks that got bytes join the
 * queue, the others go back to the pool. */
void bufq_commit_iov(struct bufq *q, struct bufq_resv *r, size_t n);

/* Fills up to max iovecs with the queue's bytes from offset off on;
 * returns how many. */
int bufq_peek_iov_at(const struct bufq *q, size_t off, struct iovec *iov, int max);
static inline int bufq_peek_iov(const struct bufq *q, struct iovec *iov, int max)
{
    return bufq_peek_iov_at(q, 0, iov, max);
}
/* Copies up to len bytes from offset off on into dst without removing
 * them; returns the number copied. */
size_t bufq_peek_at(const struct bufq *q, size_t off, void *dst, size_t len);
static inline size_t bufq_peek(const struct bufq *q, void *dst, size_t len)
{
    return bufq_peek_at(q, 0, dst, len);
}
/* Removes n (<= len) leading bytes, returning emptied blocks to the pool. */
void bufq_drain(struct bufq *q, size_t n);
/* Copies up to len leading bytes into dst and removes them. */
size_t bufq_read(struct bufq *q, void *dst, size_t len);
/* Appends a copy of the first n (<= bufq_len(src)) bytes of src to dst;
 * src is unchanged. */
void bufq_copy(struct bufq *dst, const struct bufq *src, size_t n);
/* Bytes of the queue's first block (the longest run readable in place). */
static inline size_t bufq_first_len(const struct bufq *q)
{
    return q->head ? q->head->end - q->head->start : 0;
}

/* Up to this many bytes, bufq_move_prefixed copies rather than relinks:
 * small payloads (a 13-byte response body) then share dst's tail block,
 * and a write gathers a hundred of them in one iovec rather than one
 * iovec, one block and one pass of the write loop each. */
#define BUFQ_COPY_MAX 2048

/* Moves the first n bytes of src (all when n > bufq_len(src)) to the end
 * of dst preceded by the pre_len (<= BUF_BLOCK_HEADROOM) bytes of pre:
 * dst gains pre_len + n bytes, src loses n. Past BUFQ_COPY_MAX bytes,
 * without copying payload when n covers src's first block whole: pre is
 * written into that block's headroom and whole blocks are relinked; only
 * a block taken in part is copied (and the lot when the first block is).
 * Both must use the same pool. */
void bufq_move_prefixed(struct bufq *dst, struct bufq *src, size_t n, const void *pre,
                        size_t pre_len);
/* Moves all bytes of src to the end of dst without copying payload
 * (src's blocks are relinked). Both must use the same pool. */
void bufq_move(struct bufq *dst, struct bufq *src);

#endif
