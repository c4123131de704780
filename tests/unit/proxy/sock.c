/* Unit tests for proxy/sock.c's sock_tls_chunk: what one SSL_write of a
 * client's output queue takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/buf.h"
#include "proxy/sock.h"

static char stage[BUF_RECORD_SIZE];
static char bytes[BUF_RECORD_SIZE];

/* Appends a block of n bytes of its own (no block shared with the last);
 * past BUF_BLOCK_SIZE, a frame: a 9-byte header in a full block's
 * headroom (bufq_move_prefixed), as h2resp_send_data makes one. */
static void add_block(struct bufq *q, size_t n)
{
    struct bufq one;
    bufq_init(&one, q->pool);
    if (n > BUF_BLOCK_SIZE) {
        bufq_append(&one, bytes, n - 9);
        bufq_move_prefixed(q, &one, n - 9, bytes, 9);
        assert_int_equal(q->tail->end - q->tail->start, n);
        return;
    }
    bufq_append(&one, bytes, n);
    bufq_move(q, &one);
}

/* A full DATA frame with its header (BUF_BLOCK_SIZE + 9, one record) and
 * a lone short block go in place; so does a first block of half a record
 * or more followed by others. */
static void test_full_frame_in_place(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    add_block(&q, BUF_BLOCK_SIZE + 9);
    add_block(&q, BUF_BLOCK_SIZE + 9);
    struct iovec v = sock_tls_chunk(&q, stage, 0);
    assert_ptr_equal(v.iov_base, q.head->data + q.head->start);
    assert_int_equal(v.iov_len, BUF_RECORD_SIZE);
    bufq_drain(&q, v.iov_len);
    add_block(&q, 9000);
    v = sock_tls_chunk(&q, stage, 0);
    assert_int_equal(v.iov_len, BUF_RECORD_SIZE);
    bufq_drain(&q, v.iov_len);
    v = sock_tls_chunk(&q, stage, 0);
    assert_ptr_equal(v.iov_base, q.head->data + q.head->start);
    assert_int_equal(v.iov_len, 9000);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* Short blocks in front of full frames are gathered, whole, but the next
 * full frame is not cut to fill the record: the frames after it stay one
 * record each. */
static void test_short_blocks_gathered_without_cutting_a_frame(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    add_block(&q, 9);   /* a WINDOW_UPDATE */
    add_block(&q, 40);  /* a HEADERS */
    add_block(&q, BUF_BLOCK_SIZE + 9);
    add_block(&q, BUF_BLOCK_SIZE + 9);
    struct iovec v = sock_tls_chunk(&q, stage, 0);
    assert_ptr_equal(v.iov_base, stage);
    assert_int_equal(v.iov_len, 49);
    bufq_drain(&q, v.iov_len);
    for (int i = 0; i < 2; i++) {
        v = sock_tls_chunk(&q, stage, 0);
        assert_ptr_equal(v.iov_base, q.head->data + q.head->start);
        assert_int_equal(v.iov_len, BUF_RECORD_SIZE);
        bufq_drain(&q, v.iov_len);
    }
    /* Short frames fill a record with as many whole blocks as fit. */
    for (int i = 0; i < 4; i++)
        add_block(&q, 5009);
    v = sock_tls_chunk(&q, stage, 0);
    assert_int_equal(v.iov_len, 3 * 5009);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* A retried write offers at least the bytes it offered before, even when
 * the queue's tail block has grown since so that fewer whole blocks fit
 * (BoringSSL fails a retry that offers less). */
static void test_retry_offers_at_least_as_much(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    add_block(&q, 40);
    add_block(&q, 100); /* the tail, still growing */
    struct iovec v = sock_tls_chunk(&q, stage, 0);
    assert_int_equal(v.iov_len, 140);
    size_t offered = v.iov_len;
    bufq_append(&q, bytes, BUF_BLOCK_SIZE - 100); /* the tail is full now */
    v = sock_tls_chunk(&q, stage, offered);
    assert_true(v.iov_len >= offered);
    assert_true(v.iov_len <= BUF_RECORD_SIZE);
    assert_ptr_equal(v.iov_base, stage);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (char)(i * 7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_frame_in_place),
        cmocka_unit_test(test_short_blocks_gathered_without_cutting_a_frame),
        cmocka_unit_test(test_retry_offers_at_least_as_much),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
