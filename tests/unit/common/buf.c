/* Unit tests for common/buf.c: the pooled block queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/buf.h"

static void test_empty_queue_holds_no_block(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 4);
    struct bufq q;
    bufq_init(&q, &pool);
    assert_int_equal(bufq_len(&q), 0);
    assert_null(q.head);
    bufq_append(&q, "abc", 3);
    assert_int_equal(pool.num_in_use, 1);
    bufq_drain(&q, 3);
    assert_null(q.head);
    assert_null(q.tail);
    assert_int_equal(pool.num_in_use, 0);
    assert_int_equal(pool.num_free, 1);
    buf_pool_cleanup(&pool);
}

static void test_append_across_blocks_and_read_back(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    static char in[3 * BUF_BLOCK_SIZE + 123], out[sizeof(in)];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)(i * 7);
    bufq_append(&q, in, sizeof(in));
    assert_int_equal(bufq_len(&q), sizeof(in));
    assert_int_equal(pool.num_in_use, 4);
    struct iovec iov[8];
    assert_int_equal(bufq_peek_iov(&q, iov, 8), 4);
    assert_int_equal(bufq_peek_iov(&q, iov, 2), 2);
    assert_int_equal(bufq_read(&q, out, 10), 10);
    assert_memory_equal(out, in, 10);
    assert_int_equal(bufq_read(&q, out + 10, sizeof(out)), sizeof(in) - 10);
    assert_memory_equal(out, in, sizeof(in));
    assert_int_equal(bufq_len(&q), 0);
    assert_int_equal(pool.num_in_use, 0);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* readv-style reservation: bytes land across the tail's room and fresh
 * blocks in order; unused fresh blocks go back; n == 0 leaves nothing. */
static void test_reserve_iov_commit(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    bufq_append(&q, "abc", 3);
    struct bufq_resv r;
    struct iovec iov[8];
    int n = bufq_reserve_iov(&q, &r, iov, 8);
    assert_int_equal(n, 1 + BUFQ_RESV_BLOCKS);
    assert_int_equal(iov[0].iov_len, BUF_BLOCK_SIZE - 3);
    assert_int_equal(iov[1].iov_len, BUF_BLOCK_SIZE);
    size_t want = iov[0].iov_len + BUF_BLOCK_SIZE + 10;
    size_t left = want;
    for (int i = 0; i < n && left; i++) {
        size_t c = left < iov[i].iov_len ? left : iov[i].iov_len;
        memset(iov[i].iov_base, 'a' + i, c);
        left -= c;
    }
    bufq_commit_iov(&q, &r, want);
    assert_int_equal(bufq_len(&q), 3 + want);
    assert_int_equal(pool.num_in_use, 3);
    char out[4];
    bufq_drain(&q, 3 + iov[0].iov_len + BUF_BLOCK_SIZE);
    assert_int_equal(bufq_peek(&q, out, sizeof(out)), 4);
    assert_memory_equal(out, "cccc", 4);
    bufq_cleanup(&q);
    assert_int_equal(pool.num_in_use, 0);

    n = bufq_reserve_iov(&q, &r, iov, 3);
    assert_int_equal(n, 3);
    bufq_commit_iov(&q, &r, 0);
    assert_null(q.head);
    assert_int_equal(bufq_len(&q), 0);
    assert_int_equal(pool.num_in_use, 0);
    buf_pool_cleanup(&pool);
}

static void test_reserve_commit_zero_keeps_invariant(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    size_t avail;
    char *p = bufq_reserve(&q, &avail);
    assert_non_null(p);
    assert_int_equal(avail, BUF_BLOCK_SIZE);
    bufq_commit(&q, 0);
    assert_null(q.head);
    assert_int_equal(pool.num_in_use, 0);
    p = bufq_reserve(&q, &avail);
    memcpy(p, "hello", 5);
    bufq_commit(&q, 5);
    char out[8] = { 0 };
    assert_int_equal(bufq_peek(&q, out, sizeof(out)), 5);
    assert_string_equal(out, "hello");
    bufq_cleanup(&q);
    assert_int_equal(pool.num_in_use, 0);
    buf_pool_cleanup(&pool);
}

static void test_move_relinks_blocks(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq a, b;
    bufq_init(&a, &pool);
    bufq_init(&b, &pool);
    bufq_append(&a, "one", 3);
    bufq_append(&b, "two", 3);
    bufq_move(&a, &b);
    assert_int_equal(bufq_len(&a), 6);
    assert_int_equal(bufq_len(&b), 0);
    assert_null(b.head);
    char out[7] = { 0 };
    bufq_read(&a, out, 6);
    assert_string_equal(out, "onetwo");
    bufq_move(&a, &b); /* empty source is a no-op */
    assert_int_equal(bufq_len(&a), 0);
    bufq_cleanup(&a);
    buf_pool_cleanup(&pool);
}

static void test_pool_caps_free_list(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 1);
    struct buf_block *x = buf_block_get(&pool), *y = buf_block_get(&pool);
    buf_block_put(&pool, x);
    buf_block_put(&pool, y); /* over max_free: freed, not kept */
    assert_int_equal(pool.num_free, 1);
    assert_int_equal(pool.num_in_use, 0);
    buf_pool_cleanup(&pool);
    assert_int_equal(pool.num_free, 0);
}

static void test_appendf_and_drain_more_than_len(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    struct bufq q;
    bufq_init(&q, &pool);
    bufq_appendf(&q, "%x\r\n", 255);
    char out[8] = { 0 };
    bufq_peek(&q, out, sizeof(out));
    assert_string_equal(out, "ff\r\n");
    bufq_drain(&q, 1000);
    assert_int_equal(bufq_len(&q), 0);
    assert_null(q.head);
    buf_pool_cleanup(&pool);
}

/* bufq_copy copies a prefix that spans blocks and leaves src as it was. */
static void test_copy_prefix_across_blocks(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 4);
    struct bufq src, dst;
    bufq_init(&src, &pool);
    bufq_init(&dst, &pool);
    static char data[3 * BUF_BLOCK_SIZE];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7);
    bufq_append(&src, data, sizeof(data));
    bufq_drain(&src, 100); /* the head block starts mid-way */
    size_t n = 2 * BUF_BLOCK_SIZE + 5;
    bufq_copy(&dst, &src, n);
    assert_int_equal(bufq_len(&dst), n);
    assert_int_equal(bufq_len(&src), sizeof(data) - 100);
    static char out[3 * BUF_BLOCK_SIZE];
    assert_int_equal(bufq_read(&dst, out, sizeof(out)), n);
    assert_memory_equal(out, data + 100, n);
    bufq_copy(&dst, &src, 0);
    assert_int_equal(bufq_len(&dst), 0);
    bufq_cleanup(&src);
    bufq_cleanup(&dst);
    buf_pool_cleanup(&pool);
}

/* bufq_move_prefixed relinks whole blocks with the prefix in the first
 * one's headroom (no new block), copies a block taken in part, and copies
 * the lot when the first block is taken in part. */
static void test_move_prefixed(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq src, dst;
    bufq_init(&src, &pool);
    bufq_init(&dst, &pool);
    static char data[2 * BUF_BLOCK_SIZE + 50], out[sizeof(data) + 64];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 13);
    bufq_append(&src, data, sizeof(data));
    struct buf_block *first = src.head;
    /* The first block whole: relinked, prefix in its headroom. */
    bufq_move_prefixed(&dst, &src, BUF_BLOCK_SIZE, "HDR456789", 9);
    assert_ptr_equal(dst.head, first);
    assert_int_equal(bufq_len(&dst), 9 + BUF_BLOCK_SIZE);
    assert_int_equal(bufq_len(&src), sizeof(data) - BUF_BLOCK_SIZE);
    assert_int_equal(pool.num_in_use, 3);
    assert_int_equal(bufq_read(&dst, out, sizeof(out)), 9 + BUF_BLOCK_SIZE);
    assert_memory_equal(out, "HDR456789", 9);
    assert_memory_equal(out + 9, data, BUF_BLOCK_SIZE);
    /* Part of the first block: copied; src keeps the rest. */
    bufq_move_prefixed(&dst, &src, 100, "0123456789", 10);
    assert_int_equal(bufq_len(&dst), 110);
    assert_int_equal(bufq_read(&dst, out, sizeof(out)), 110);
    assert_memory_equal(out, "0123456789", 10);
    assert_memory_equal(out + 10, data + BUF_BLOCK_SIZE, 100);
    /* The rest of that block and part of the next: one relinked, the
     * other copied; more than there is means all. */
    size_t left = bufq_len(&src);
    bufq_move_prefixed(&dst, &src, left - 20, "ab", 2);
    assert_int_equal(bufq_len(&src), 20);
    bufq_move_prefixed(&dst, &src, 1000, "cd", 2);
    assert_int_equal(bufq_len(&src), 0);
    assert_null(src.head);
    assert_int_equal(bufq_read(&dst, out, sizeof(out)), left + 4);
    assert_memory_equal(out, "ab", 2);
    assert_memory_equal(out + 2, data + BUF_BLOCK_SIZE + 100, left - 20);
    assert_memory_equal(out + 2 + left - 20, "cd", 2);
    assert_memory_equal(out + 4 + left - 20, data + sizeof(data) - 20, 20);
    assert_int_equal(pool.num_in_use, 0);
    bufq_cleanup(&dst);
    buf_pool_cleanup(&pool);
}

/* Small payloads (a short response body each) are copied into dst's
 * tail block, so many frames share one block and one iovec: src's block
 * goes back to the pool. */
static void test_move_prefixed_small_shares_a_block(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq src, dst;
    bufq_init(&src, &pool);
    bufq_init(&dst, &pool);
    char out[256];
    for (int i = 0; i < 10; i++) {
        bufq_append(&src, "hello, world\n", 13);
        bufq_move_prefixed(&dst, &src, 13, "HDR456789", 9);
        assert_int_equal(bufq_len(&src), 0);
        assert_null(src.head);
    }
    assert_ptr_equal(dst.head, dst.tail);
    assert_int_equal(pool.num_in_use, 1);
    struct iovec iov[4];
    assert_int_equal(bufq_peek_iov(&dst, iov, 4), 1);
    assert_int_equal(bufq_read(&dst, out, sizeof(out)), 220);
    for (int i = 0; i < 10; i++) {
        assert_memory_equal(out + 22 * i, "HDR456789", 9);
        assert_memory_equal(out + 22 * i + 9, "hello, world\n", 13);
    }
    /* Past BUFQ_COPY_MAX a whole block is still relinked, not copied. */
    static char big[BUFQ_COPY_MAX + 1];
    bufq_append(&src, big, sizeof(big));
    struct buf_block *b = src.head;
    bufq_move_prefixed(&dst, &src, sizeof(big), "HDR456789", 9);
    assert_ptr_equal(dst.head, b);
    bufq_cleanup(&dst);
    buf_pool_cleanup(&pool);
}

/* A parser's view of bytes read into the reserved tail: body pieces with
 * framing between them are committed where they lie or moved down over
 * the framing; nothing committed leaves no block behind. */
static void test_commit_at_squeezes_out_framing(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    size_t avail;
    char *r = bufq_reserve(&q, &avail);
    assert_int_equal(avail, BUF_BLOCK_SIZE);
    static const char wire[] = "abc\r\n5\r\nhello\r\n0\r\n\r\n";
    memcpy(r, wire, sizeof(wire) - 1);
    bufq_commit_at(&q, r, 3);         /* in place */
    bufq_commit_at(&q, r + 8, 5);     /* moved down over "\r\n5\r\n" */
    struct buf_block *b = q.head;
    assert_int_equal(bufq_len(&q), 8);
    bufq_commit(&q, 0);               /* the framing after stays uncommitted */
    assert_ptr_equal(q.head, b);
    char out[16];
    assert_int_equal(bufq_read(&q, out, sizeof(out)), 8);
    assert_memory_equal(out, "abchello", 8);
    assert_null(q.head);
    /* A read into a fresh block that commits nothing: no block is kept. */
    r = bufq_reserve(&q, &avail);
    memcpy(r, "\r\n", 2);
    bufq_commit(&q, 0);
    assert_null(q.head);
    assert_int_equal(pool.num_in_use, 0);
    buf_pool_cleanup(&pool);
}

/* A kept pool holds every returned block; a trim frees those beyond
 * max_free that nobody took since the trim before. */
static void test_kept_pool_trims_unused_blocks(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 2);
    buf_pool_keep(&pool);
    struct buf_block *b[10];
    for (int i = 0; i < 10; i++)
        b[i] = buf_block_get(&pool);
    for (int i = 0; i < 10; i++)
        buf_block_put(&pool, b[i]);
    assert_int_equal(pool.num_free, 10);
    /* The ten were in use during this interval: nothing is freed yet. */
    assert_int_equal(buf_pool_trim(&pool), 8);
    assert_int_equal(pool.num_free, 10);
    /* Four are taken and given back; six stayed free the whole interval:
     * those beyond the floor of two (four) go. */
    for (int i = 0; i < 4; i++)
        b[i] = buf_block_get(&pool);
    for (int i = 0; i < 4; i++)
        buf_block_put(&pool, b[i]);
    assert_int_equal(buf_pool_trim(&pool), 4);
    assert_int_equal(pool.num_free, 6);
    /* An interval with no use at all: down to the floor. */
    assert_int_equal(buf_pool_trim(&pool), 0);
    assert_int_equal(pool.num_free, 2);
    assert_int_equal(pool.num_in_use, 0);
    buf_pool_cleanup(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_queue_holds_no_block),
        cmocka_unit_test(test_append_across_blocks_and_read_back),
        cmocka_unit_test(test_reserve_commit_zero_keeps_invariant),
        cmocka_unit_test(test_move_relinks_blocks),
        cmocka_unit_test(test_pool_caps_free_list),
        cmocka_unit_test(test_appendf_and_drain_more_than_len),
        cmocka_unit_test(test_copy_prefix_across_blocks),
        cmocka_unit_test(test_move_prefixed),
        cmocka_unit_test(test_move_prefixed_small_shares_a_block),
        cmocka_unit_test(test_commit_at_squeezes_out_framing),
        cmocka_unit_test(test_kept_pool_trims_unused_blocks),
        cmocka_unit_test(test_reserve_iov_commit),
    };
    return cmocka_run_group_tests_name("common/buf", tests, NULL, NULL);
}
