/* Unit tests for proxy/sock.c's sock_tls_chunk: what one SSL_write of a
 * client's output queue takes, in full records and in small ones; the
 * TLS record size's warm-up (sock_tls_record_max); and sock_connect to a
 * UNIX domain socket, whose failures come from the loop as a TCP
 * connect's do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
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
    struct iovec v = sock_tls_chunk(&q, 0, stage, BUF_RECORD_SIZE);
    assert_ptr_equal(v.iov_base, q.head->data + q.head->start);
    assert_int_equal(v.iov_len, BUF_RECORD_SIZE);
    bufq_drain(&q, v.iov_len);
    add_block(&q, 9000);
    v = sock_tls_chunk(&q, 0, stage, BUF_RECORD_SIZE);
    assert_int_equal(v.iov_len, BUF_RECORD_SIZE);
    bufq_drain(&q, v.iov_len);
    v = sock_tls_chunk(&q, 0, stage, BUF_RECORD_SIZE);
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
    struct iovec v = sock_tls_chunk(&q, 0, stage, BUF_RECORD_SIZE);
    assert_ptr_equal(v.iov_base, stage);
    assert_int_equal(v.iov_len, 49);
    bufq_drain(&q, v.iov_len);
    for (int i = 0; i < 2; i++) {
        v = sock_tls_chunk(&q, 0, stage, BUF_RECORD_SIZE);
        assert_ptr_equal(v.iov_base, q.head->data + q.head->start);
        assert_int_equal(v.iov_len, BUF_RECORD_SIZE);
        bufq_drain(&q, v.iov_len);
    }
    /* Short frames fill a record with as many whole blocks as fit. */
    for (int i = 0; i < 4; i++)
        add_block(&q, 5009);
    v = sock_tls_chunk(&q, 0, stage, BUF_RECORD_SIZE);
    assert_int_equal(v.iov_len, 3 * 5009);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* From an offset (the records before it in the same send): the rest of
 * a block in place, or the blocks after it gathered, as at the head. */
static void test_chunk_at_offset(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    add_block(&q, BUF_BLOCK_SIZE + 9);
    add_block(&q, 40);
    add_block(&q, 100);
    struct iovec v = sock_tls_chunk(&q, 1300, stage, SOCK_TLS_SMALL_RECORD);
    assert_ptr_equal(v.iov_base, q.head->data + q.head->start + 1300);
    assert_int_equal(v.iov_len, SOCK_TLS_SMALL_RECORD);
    v = sock_tls_chunk(&q, 16000, stage, BUF_RECORD_SIZE);
    assert_ptr_equal(v.iov_base, stage); /* 393 + 40 + 100, gathered */
    assert_int_equal(v.iov_len, BUF_BLOCK_SIZE + 9 - 16000 + 140);
    assert_memory_equal(stage, q.head->data + q.head->start + 16000, BUF_BLOCK_SIZE + 9 - 16000);
    v = sock_tls_chunk(&q, BUF_BLOCK_SIZE + 9, stage, BUF_RECORD_SIZE);
    assert_int_equal(v.iov_len, 140); /* from the second block on */
    v = sock_tls_chunk(&q, BUF_BLOCK_SIZE + 9 + 40, stage, BUF_RECORD_SIZE);
    assert_ptr_equal(v.iov_base, q.tail->data + q.tail->start); /* the last, alone */
    assert_int_equal(v.iov_len, 100);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* Small records (--tls-dyn-rec-*): a full frame's first 1300 bytes in
 * place, short blocks gathered up to 1300 bytes. */
static void test_small_records(void **state)
{
    (void)state;
    struct buf_pool pool;
    buf_pool_init(&pool, 8);
    struct bufq q;
    bufq_init(&q, &pool);
    add_block(&q, BUF_RECORD_SIZE);
    struct iovec v = sock_tls_chunk(&q, 0, stage, SOCK_TLS_SMALL_RECORD);
    assert_int_equal(v.iov_len, SOCK_TLS_SMALL_RECORD);
    assert_ptr_equal(v.iov_base, q.head->data + q.head->start);
    bufq_cleanup(&q);
    add_block(&q, 40);
    add_block(&q, 1000);
    add_block(&q, 1000);
    v = sock_tls_chunk(&q, 0, stage, SOCK_TLS_SMALL_RECORD);
    assert_int_equal(v.iov_len, 1040); /* whole blocks that fit */
    assert_ptr_equal(v.iov_base, stage);
    bufq_cleanup(&q);
    buf_pool_cleanup(&pool);
}

/* The warm-up: small records until the threshold's bytes went out, full
 * ones after, small again after more than the idle time drained; full
 * always with a threshold of 0. */
static void test_record_size_warmup(void **state)
{
    (void)state;
    struct sock s;
    memset(&s, 0, sizeof(s));
    sock_set_tls_dyn_rec(65536, 1.0);
    double t = 1000.0;
    assert_int_equal(sock_tls_record_max(&s, t), SOCK_TLS_SMALL_RECORD);
    s.tls_warm = 65535;
    assert_int_equal(sock_tls_record_max(&s, t), SOCK_TLS_SMALL_RECORD);
    s.tls_warm = 65536;
    assert_int_equal(sock_tls_record_max(&s, t), BUF_RECORD_SIZE);
    /* Drained for the idle time exactly: still warm. */
    s.tls_idle = true;
    s.tls_idle_ms = (uint32_t)(uint64_t)(t * 1000);
    assert_int_equal(sock_tls_record_max(&s, t + 1.0), BUF_RECORD_SIZE);
    assert_false(s.tls_idle);
    /* Drained for longer: the warm-up starts over. */
    s.tls_idle = true;
    s.tls_idle_ms = (uint32_t)(uint64_t)(t * 1000);
    assert_int_equal(sock_tls_record_max(&s, t + 1.5), SOCK_TLS_SMALL_RECORD);
    assert_int_equal(s.tls_warm, 0);
    /* Across the wrap of the millisecond clock. */
    s.tls_warm = 70000;
    s.tls_idle = true;
    s.tls_idle_ms = UINT32_MAX - 100;
    double wrapped = (double)(UINT64_C(1) << 32) / 1000.0 + 0.4; /* 501 ms later */
    assert_int_equal(sock_tls_record_max(&s, wrapped), BUF_RECORD_SIZE);
    /* Past 4 GiB the count stays at its ceiling. */
    sock_set_tls_dyn_rec(UINT64_C(1) << 40, 1.0);
    s.tls_warm = UINT32_MAX;
    assert_int_equal(sock_tls_record_max(&s, t), BUF_RECORD_SIZE);
    sock_set_tls_dyn_rec(0, 1.0);
    s.tls_warm = 0;
    assert_int_equal(sock_tls_record_max(&s, t), BUF_RECORD_SIZE);
    sock_set_tls_dyn_rec(1 << 20, 1.0);
}

/* ---- sock_connect over AF_UNIX ---- */

struct ready_seen {
    int calls, err, sys_errno;
};
static struct ready_seen seen;

static void on_test_ready(struct sock *s, int err, const char *why, int sys_errno)
{
    (void)s;
    (void)why;
    seen.calls++;
    seen.err = err;
    seen.sys_errno = sys_errno;
}

static void on_test_io(struct sock *s)
{
    (void)s;
}

static const struct sock_handler test_handler = {
    .readable = on_test_io, .writable = on_test_io, .ready = on_test_ready,
};

static struct sockaddr_un unix_addr(char *dir, const char *name, socklen_t *len)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path) + 1);
    return sun;
}

/* A socket bound at sun; listening with backlog when backlog >= 0. */
static int bound(const struct sockaddr_un *sun, socklen_t len, int backlog)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (const struct sockaddr *)sun, len), 0);
    if (backlog >= 0)
        assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

/* Connects to sun and runs the loop until ready() was called once;
 * sock_connect itself must not fail. */
static void connect_and_wait(struct ev_loop *loop, struct sock *s,
                             const struct sockaddr_un *sun, socklen_t len)
{
    seen = (struct ready_seen){ 0 };
    assert_int_equal(sock_connect(s, loop, (const struct sockaddr *)sun, len, &test_handler), 0);
    assert_int_equal(seen.calls, 0); /* never from inside sock_connect */
    for (int i = 0; i < 10 && !seen.calls; i++)
        ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
    assert_int_equal(seen.calls, 1);
}

static void test_unix_connect(void **state)
{
    (void)state;
    char dir[] = "/tmp/h2gate-sock-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct sock s;
    socklen_t len;

    /* No such path: an I/O failure with ENOENT. */
    struct sockaddr_un none = unix_addr(dir, "none.sock", &len);
    connect_and_wait(loop, &s, &none, len);
    assert_int_equal(seen.err, H2G_ERR_IO);
    assert_int_equal(seen.sys_errno, ENOENT);
    sock_close(&s, false);

    /* A path nobody listens on: refused, as a TCP port with no listener. */
    struct sockaddr_un deaf = unix_addr(dir, "deaf.sock", &len);
    int dfd = bound(&deaf, len, -1);
    connect_and_wait(loop, &s, &deaf, len);
    assert_int_equal(seen.err, H2G_ERR_REFUSED);
    assert_int_equal(seen.sys_errno, ECONNREFUSED);
    sock_close(&s, false);
    close(dfd);

    /* A listener: connected. Its backlog (0: one waiting connection) is
     * then full, and the next connect's EAGAIN is a failed connect, not a
     * connect in progress that would never end. */
    struct sockaddr_un live = unix_addr(dir, "live.sock", &len);
    int lfd = bound(&live, len, 0);
    connect_and_wait(loop, &s, &live, len);
    assert_int_equal(seen.err, 0);
    struct sock more[4];
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        connect_and_wait(loop, &more[i], &live, len);
        if (seen.err) {
            assert_int_equal(seen.err, H2G_ERR_IO);
            assert_int_equal(seen.sys_errno, EAGAIN);
            failed++;
        }
    }
    assert_true(failed > 0);
    for (int i = 0; i < 4; i++)
        sock_close(&more[i], false);
    sock_close(&s, false);
    close(lfd);

    /* A socket closed before the loop ran: the fed event goes with it. */
    seen = (struct ready_seen){ 0 };
    assert_int_equal(sock_connect(&s, loop, (const struct sockaddr *)&none,
                                  (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                              strlen(none.sun_path) + 1),
                                  &test_handler),
                     0);
    sock_close(&s, false);
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(seen.calls, 0);

    ev_loop_destroy(loop);
    unlink(deaf.sun_path);
    unlink(live.sun_path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (char)(i * 7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_frame_in_place),
        cmocka_unit_test(test_short_blocks_gathered_without_cutting_a_frame),
        cmocka_unit_test(test_chunk_at_offset),
        cmocka_unit_test(test_small_records),
        cmocka_unit_test(test_record_size_warmup),
        cmocka_unit_test(test_unix_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
