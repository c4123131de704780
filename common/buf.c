#include "common/buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

void buf_pool_init(struct buf_pool *pool, size_t max_free)
{
    pool->free = NULL;
    pool->num_free = 0;
    pool->max_free = max_free;
    pool->low_free = 0;
    pool->num_in_use = 0;
    pool->trimmed = false;
}

void buf_pool_keep(struct buf_pool *pool)
{
    pool->trimmed = true;
}

size_t buf_pool_trim(struct buf_pool *pool)
{
    size_t idle = pool->low_free < pool->num_free ? pool->low_free : pool->num_free;
    while (idle > pool->max_free) {
        struct buf_block *b = pool->free;
        pool->free = b->next;
        pool->num_free--;
        idle--;
        free(b);
    }
    pool->low_free = pool->num_free;
    return pool->num_free > pool->max_free ? pool->num_free - pool->max_free : 0;
}

void buf_pool_cleanup(struct buf_pool *pool)
{
    while (pool->free) {
        struct buf_block *b = pool->free;
        pool->free = b->next;
        free(b);
    }
    pool->num_free = 0;
}

struct buf_block *buf_block_get(struct buf_pool *pool)
{
    struct buf_block *b = pool->free;
    if (b) {
        pool->free = b->next;
        pool->num_free--;
        if (pool->num_free < pool->low_free)
            pool->low_free = pool->num_free;
    } else {
        b = xmalloc(sizeof(*b));
    }
    b->next = NULL;
    b->start = b->end = BUF_BLOCK_HEADROOM;
    pool->num_in_use++;
    return b;
}

void buf_block_put(struct buf_pool *pool, struct buf_block *b)
{
    pool->num_in_use--;
    if (pool->num_free >= pool->max_free && !pool->trimmed) {
        free(b);
        return;
    }
    b->next = pool->free;
    pool->free = b;
    pool->num_free++;
}

void bufq_init(struct bufq *q, struct buf_pool *pool)
{
    q->pool = pool;
    q->head = q->tail = NULL;
    q->len = 0;
}

void bufq_cleanup(struct bufq *q)
{
    while (q->head) {
        struct buf_block *b = q->head;
        q->head = b->next;
        buf_block_put(q->pool, b);
    }
    q->tail = NULL;
    q->len = 0;
}

/* Drops leading blocks that hold no bytes (left by reserve without commit)
 * so the "empty queue holds no block" invariant survives. */
static void drop_empty_head(struct bufq *q)
{
    while (q->head && q->head->start == q->head->end) {
        struct buf_block *b = q->head;
        q->head = b->next;
        if (!q->head)
            q->tail = NULL;
        buf_block_put(q->pool, b);
    }
}

char *bufq_reserve(struct bufq *q, size_t *avail)
{
    if (!q->tail || q->tail->end == BUF_BLOCK_CAP) {
        struct buf_block *b = buf_block_get(q->pool);
        if (q->tail)
            q->tail->next = b;
        else
            q->head = b;
        q->tail = b;
    }
    *avail = BUF_BLOCK_CAP - q->tail->end;
    return q->tail->data + q->tail->end;
}

void bufq_commit(struct bufq *q, size_t n)
{
    q->tail->end += n;
    q->len += n;
    if (q->len == 0)
        drop_empty_head(q);
}

void bufq_commit_at(struct bufq *q, const char *at, size_t n)
{
    char *dst = q->tail->data + q->tail->end;
    if (at != dst)
        memmove(dst, at, n);
    bufq_commit(q, n);
}

int bufq_reserve_iov(struct bufq *q, struct bufq_resv *r, struct iovec *iov, int max_iov)
{
    size_t avail;
    iov[0].iov_base = bufq_reserve(q, &avail);
    iov[0].iov_len = avail;
    int n = 1;
    r->num = 0;
    while (n < max_iov && r->num < BUFQ_RESV_BLOCKS) {
        struct buf_block *b = buf_block_get(q->pool);
        r->blocks[r->num++] = b;
        iov[n].iov_base = b->data + b->end;
        iov[n].iov_len = BUF_BLOCK_CAP - b->end;
        n++;
    }
    return n;
}

void bufq_commit_iov(struct bufq *q, struct bufq_resv *r, size_t n)
{
    size_t room = BUF_BLOCK_CAP - q->tail->end;
    size_t first = n < room ? n : room;
    bufq_commit(q, first); /* n == 0 may drop the tail: nothing follows then */
    n -= first;
    for (int i = 0; i < r->num; i++) {
        struct buf_block *b = r->blocks[i];
        if (n == 0) {
            buf_block_put(q->pool, b);
            continue;
        }
        size_t c = n < BUF_BLOCK_CAP - b->end ? n : BUF_BLOCK_CAP - b->end;
        b->end += c;
        n -= c;
        q->len += c;
        q->tail->next = b;
        q->tail = b;
    }
    r->num = 0;
}

void bufq_append_slow(struct bufq *q, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        size_t avail;
        char *dst = bufq_reserve(q, &avail);
        size_t n = len < avail ? len : avail;
        memcpy(dst, p, n);
        bufq_commit(q, n);
        p += n;
        len -= n;
    }
}

void bufq_appendf(struct bufq *q, const char *fmt, ...)
{
    char tmp[BUF_BLOCK_SIZE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    bufq_append(q, tmp, (size_t)n);
}

/* The first block holding the byte at offset *off, and that byte's place
 * in it (*off becomes the offset within the block's bytes). */
static const struct buf_block *block_at(const struct bufq *q, size_t *off)
{
    const struct buf_block *b = q->head;
    if (!*off)
        return b;
    for (; b && *off >= b->end - b->start; b = b->next)
        *off -= b->end - b->start;
    return b;
}

int bufq_peek_iov_at(const struct bufq *q, size_t off, struct iovec *iov, int max)
{
    int n = 0;
    for (const struct buf_block *b = block_at(q, &off); b && n < max; b = b->next, off = 0) {
        if (b->end - b->start == off)
            continue;
        iov[n].iov_base = (void *)(b->data + b->start + off);
        iov[n].iov_len = b->end - b->start - off;
        n++;
    }
    return n;
}

size_t bufq_peek_at(const struct bufq *q, size_t off, void *dst, size_t len)
{
    char *d = dst;
    size_t done = 0;
    for (const struct buf_block *b = block_at(q, &off); b && done < len; b = b->next, off = 0) {
        size_t n = b->end - b->start - off;
        if (n > len - done)
            n = len - done;
        memcpy(d + done, b->data + b->start + off, n);
        done += n;
    }
    return done;
}

void bufq_drain(struct bufq *q, size_t n)
{
    if (n > q->len)
        n = q->len;
    q->len -= n;
    while (q->head) {
        struct buf_block *b = q->head;
        size_t have = b->end - b->start;
        if (n < have) {
            b->start += n;
            break;
        }
        n -= have;
        q->head = b->next;
        if (!q->head)
            q->tail = NULL;
        buf_block_put(q->pool, b);
    }
}

size_t bufq_read(struct bufq *q, void *dst, size_t len)
{
    size_t n = bufq_peek(q, dst, len);
    bufq_drain(q, n);
    return n;
}

void bufq_copy(struct bufq *dst, const struct bufq *src, size_t n)
{
    for (const struct buf_block *b = src->head; b && n; b = b->next) {
        size_t k = b->end - b->start < n ? b->end - b->start : n;
        bufq_append(dst, b->data + b->start, k);
        n -= k;
    }
}

void bufq_move(struct bufq *dst, struct bufq *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    dst->len += src->len;
    src->head = src->tail = NULL;
    src->len = 0;
}

/* Takes src's first block (not empty-queue safe: src->head != NULL) and
 * links it at dst's tail. */
static void relink_head(struct bufq *dst, struct bufq *src)
{
    struct buf_block *b = src->head;
    size_t have = b->end - b->start;
    src->head = b->next;
    if (!src->head)
        src->tail = NULL;
    src->len -= have;
    b->next = NULL;
    if (dst->tail)
        dst->tail->next = b;
    else
        dst->head = b;
    dst->tail = b;
    dst->len += have;
}

void bufq_move_prefixed(struct bufq *dst, struct bufq *src, size_t n, const void *pre,
                        size_t pre_len)
{
    struct buf_block *b = src->head;
    if (n > src->len)
        n = src->len;
    if (!b || b->end - b->start > n || b->start < pre_len || n <= BUFQ_COPY_MAX) {
        bufq_append(dst, pre, pre_len);
        bufq_copy(dst, src, n);
        bufq_drain(src, n);
        return;
    }
    b->start -= pre_len;
    memcpy(b->data + b->start, pre, pre_len);
    src->len += pre_len;
    n += pre_len;
    while (src->head && (size_t)(src->head->end - src->head->start) <= n) {
        n -= src->head->end - src->head->start;
        relink_head(dst, src);
    }
    if (n) {
        bufq_append(dst, src->head->data + src->head->start, n);
        bufq_drain(src, n);
    }
    if (src->len == 0)
        bufq_cleanup(src); /* a reserved, uncommitted block left behind */
}
