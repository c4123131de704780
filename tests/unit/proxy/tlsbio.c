/* Unit tests for proxy/tlsbio.c under sock_write: the records of one
 * write leave in one send(2), what the kernel does not take is kept and
 * sent first, and the queue drains only once its records are out. A real
 * TLS 1.3 connection over a socketpair; send(2) is wrapped (the link's
 * --wrap=send) to count the calls and to play a socket that fills up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/container.h"
#include "proxy/sock.h"
#include "proxy/tls.h"

/* ---- send(2), wrapped ---- */

static struct {
    int calls;
    size_t room; /* bytes the socket takes before it would block */
} wrap = { 0, SIZE_MAX };

ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    wrap.calls++;
    if (wrap.room == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (len > wrap.room)
        len = wrap.room;
    ssize_t n = __real_send(fd, buf, len, flags);
    if (n > 0 && wrap.room != SIZE_MAX)
        wrap.room -= (size_t)n;
    return n;
}

/* ---- a TLS connection: the proxy's side on a sock, a client on an SSL ---- */

struct rig {
    struct ev_loop *loop;
    SSL_CTX *sctx, *cctx;
    struct sock s;
    SSL *client;
    struct buf_pool pool;
    struct bufq q;
    bool ready;
};

static void on_io(struct sock *s)
{
    (void)s;
}

static void on_ready(struct sock *s, int err, const char *why, int sys_errno)
{
    (void)why, (void)sys_errno;
    assert_int_equal(err, 0);
    container_of(s, struct rig, s)->ready = true;
}

static const struct sock_handler handler = {
    .readable = on_io, .writable = on_io, .ready = on_ready,
};

/* A self-signed P-256 certificate for the server's context. */
static SSL_CTX *server_ctx(void)
{
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    assert_non_null(ec);
    assert_int_equal(EC_KEY_generate_key(ec), 1);
    EVP_PKEY *key = EVP_PKEY_new();
    assert_int_equal(EVP_PKEY_assign_EC_KEY(key, ec), 1);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t *)"test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

/* A connection whose records are small until warmup bytes went out (0:
 * full records from the start). */
static struct rig *rig_new(uint64_t warmup)
{
    sock_set_tls_dyn_rec(warmup, 1.0);
    struct rig *r = calloc(1, sizeof(*r));
    r->loop = ev_loop_new(EVFLAG_AUTO);
    r->sctx = server_ctx();
    r->cctx = SSL_CTX_new(TLS_method());
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    int big = 1 << 20;
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    sock_init(&r->s, r->loop, fds[0], &handler);
    sock_accept_tls(&r->s, tls_server_new(r->sctx));
    r->client = SSL_new(r->cctx);
    SSL_set_fd(r->client, fds[1]);
    SSL_set_connect_state(r->client);
    bool client_done = false;
    for (int i = 0; i < 100 && !(r->ready && client_done); i++) {
        if (!client_done)
            client_done = SSL_do_handshake(r->client) == 1;
        ev_run(r->loop, EVRUN_NOWAIT);
    }
    assert_true(r->ready);
    assert_true(client_done);
    buf_pool_init(&r->pool, 64);
    bufq_init(&r->q, &r->pool);
    wrap.calls = 0;
    wrap.room = SIZE_MAX;
    return r;
}

static void rig_free(struct rig *r)
{
    bufq_cleanup(&r->q);
    buf_pool_cleanup(&r->pool);
    sock_close(&r->s, false);
    int fd = SSL_get_fd(r->client);
    SSL_free(r->client);
    close(fd);
    SSL_CTX_free(r->sctx);
    SSL_CTX_free(r->cctx);
    ev_loop_destroy(r->loop);
    free(r);
}

/* The n bytes the tests send: no two blocks alike. */
static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + i / 251);
    return p;
}

/* What the client can read now, up to max bytes. */
static size_t client_read(struct rig *r, unsigned char *out, size_t max)
{
    size_t got = 0;
    while (got < max) {
        int n = SSL_read(r->client, out + got, (int)(max - got));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* Small records (the warm-up): 31 of them leave in one send. */
static void test_records_of_one_write_in_one_send(void **state)
{
    (void)state;
    struct rig *r = rig_new(1 << 20);
    size_t n = 40000;
    unsigned char *p = pattern(n), *got = malloc(n);
    bufq_append(&r->q, p, n);
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n);
    assert_int_equal(wrap.calls, 1);
    assert_int_equal(bufq_len(&r->q), 0);
    assert_false(r->s.write_armed);
    assert_int_equal(client_read(r, got, n), n);
    assert_memory_equal(got, p, n);
    free(p);
    free(got);
    rig_free(r);
}

/* Full records: three to a send, the stage's size. */
static void test_full_records_three_to_a_send(void **state)
{
    (void)state;
    struct rig *r = rig_new(0);
    size_t n = 12 * 16384;
    unsigned char *p = pattern(n), *got = malloc(n);
    bufq_append(&r->q, p, n);
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n);
    assert_true(wrap.calls >= 4);
    assert_true(wrap.calls <= 5); /* 12 or 13 records, as the blocks cut them */
    assert_int_equal(client_read(r, got, n), n);
    assert_memory_equal(got, p, n);
    free(p);
    free(got);
    rig_free(r);
}

/* The socket takes part of a send: the rest is kept, and the queue keeps
 * its bytes until it has gone; then everything arrives, in order. */
static void test_partial_send_keeps_the_rest(void **state)
{
    (void)state;
    struct rig *r = rig_new(1 << 20);
    size_t n = 40000;
    unsigned char *p = pattern(n), *got = malloc(n);
    bufq_append(&r->q, p, n);
    wrap.room = 10000;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), 0);
    assert_int_equal(bufq_len(&r->q), n); /* sealed, but not out */
    assert_true(r->s.write_armed);
    size_t first = client_read(r, got, n);
    assert_true(first > 0 && first < 10000);
    /* Still full: nothing moves, nothing is sealed twice. */
    int calls = wrap.calls;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), 0);
    assert_int_equal(wrap.calls, calls + 1);
    assert_int_equal(bufq_len(&r->q), n);
    /* More bytes queued meanwhile go after the kept ones. */
    unsigned char *more = pattern(5000);
    bufq_append(&r->q, more, 5000);
    wrap.room = SIZE_MAX;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n + 5000);
    assert_int_equal(bufq_len(&r->q), 0);
    assert_false(r->s.write_armed);
    got = realloc(got, n + 5000);
    assert_int_equal(first + client_read(r, got + first, n + 5000 - first), n + 5000);
    assert_memory_equal(got, p, n);
    assert_memory_equal(got + n, more, 5000);
    free(p);
    free(more);
    free(got);
    rig_free(r);
}

/* After records were kept, a send carries one record's plaintext at most
 * (twelve small records) until the queue has drained; then one again. */
static void test_slow_reader_gets_a_record_a_send(void **state)
{
    (void)state;
    struct rig *r = rig_new(1 << 20);
    size_t n = 40000, m = 30000;
    unsigned char *p = pattern(n + m), *got = malloc(n + m);
    bufq_append(&r->q, p, n);
    wrap.room = 10000;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), 0);
    bufq_append(&r->q, p + n, m);
    wrap.room = SIZE_MAX;
    int calls = wrap.calls;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n + m);
    /* the kept bytes, then 12 records (15,600 bytes), then the last 14,400 */
    assert_int_equal(wrap.calls, calls + 3);
    assert_int_equal(client_read(r, got, n + m), n + m);
    assert_memory_equal(got, p, n + m);
    calls = wrap.calls;
    bufq_append(&r->q, p, n);
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n);
    assert_int_equal(wrap.calls, calls + 1);
    assert_int_equal(client_read(r, got, n), n);
    assert_memory_equal(got, p, n);
    free(p);
    free(got);
    rig_free(r);
}

/* Nothing taken at all: the queue is untouched and the write armed. */
static void test_would_block_at_once(void **state)
{
    (void)state;
    struct rig *r = rig_new(1 << 20);
    size_t n = 3000;
    unsigned char *p = pattern(n), *got = malloc(n);
    bufq_append(&r->q, p, n);
    wrap.room = 0;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), 0);
    assert_int_equal(bufq_len(&r->q), n);
    assert_true(r->s.write_armed);
    assert_int_equal(client_read(r, got, n), 0);
    wrap.room = SIZE_MAX;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n);
    assert_int_equal(client_read(r, got, n), n);
    assert_memory_equal(got, p, n);
    free(p);
    free(got);
    rig_free(r);
}

/* A write outside sock_write (close_notify) goes after what is kept: the
 * client reads every byte, then the close. */
static void test_close_notify_after_kept_bytes(void **state)
{
    (void)state;
    struct rig *r = rig_new(1 << 20);
    size_t n = 20000;
    unsigned char *p = pattern(n), *got = malloc(n);
    bufq_append(&r->q, p, n);
    wrap.room = 5000;
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), 0);
    wrap.room = 0;
    assert_false(sock_close_notify(&r->s)); /* kept bytes first: would block */
    wrap.room = SIZE_MAX;
    assert_true(sock_close_notify(&r->s));
    assert_int_equal(client_read(r, got, n), n);
    assert_memory_equal(got, p, n);
    unsigned char c;
    assert_int_equal(SSL_read(r->client, &c, 1), 0);
    assert_int_equal(SSL_get_error(r->client, 0), SSL_ERROR_ZERO_RETURN);
    free(p);
    free(got);
    rig_free(r);
}

/* A budget (--write-rate) bounds the plaintext sealed. */
static void test_budget_bounds_what_is_sealed(void **state)
{
    (void)state;
    struct rig *r = rig_new(1 << 20);
    size_t n = 30000;
    unsigned char *p = pattern(n), *got = malloc(n);
    bufq_append(&r->q, p, n);
    assert_int_equal(sock_write(&r->s, &r->q, 4000), 4000);
    assert_int_equal(bufq_len(&r->q), n - 4000);
    assert_false(r->s.write_armed);
    assert_int_equal(client_read(r, got, n), 4000);
    assert_int_equal(sock_write(&r->s, &r->q, SIZE_MAX), n - 4000);
    assert_int_equal(client_read(r, got + 4000, n), n - 4000);
    assert_memory_equal(got, p, n);
    free(p);
    free(got);
    rig_free(r);
}

/* Random appends, budgets and socket room, with the warm-up crossed on
 * the way: whatever the pattern, the client reads every byte in order,
 * the queue only loses bytes that went, and once the socket takes
 * everything, everything goes. */
static void test_random_room_every_byte_in_order(void **state)
{
    (void)state;
    struct rig *r = rig_new(200000);
    size_t total = 3 * 1024 * 1024, queued = 0, read = 0;
    unsigned char *p = pattern(total), *got = malloc(total);
    srandom(42);
    while (read < total) {
        if (queued < total && random() % 2) {
            size_t n = 1 + (size_t)random() % 40000;
            n = n < total - queued ? n : total - queued;
            bufq_append(&r->q, p + queued, n);
            queued += n;
        }
        size_t before = bufq_len(&r->q);
        wrap.room = random() % 4 == 0 ? 0 : (size_t)random() % 70000;
        size_t budget = random() % 3 == 0 ? 1 + (size_t)random() % 30000 : SIZE_MAX;
        ssize_t n = sock_write(&r->s, &r->q, budget);
        assert_true(n >= 0);
        assert_int_equal(bufq_len(&r->q), before - (size_t)n);
        read += client_read(r, got + read, total - read);
        assert_memory_equal(got, p, read);
        if (queued == total && random() % 8 == 0) {
            wrap.room = SIZE_MAX; /* a reader that catches up */
            while (bufq_len(&r->q))
                assert_true(sock_write(&r->s, &r->q, SIZE_MAX) >= 0);
            assert_false(r->s.write_armed);
            read += client_read(r, got + read, total - read);
            assert_int_equal(read, total);
        }
    }
    assert_memory_equal(got, p, total);
    free(p);
    free(got);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_of_one_write_in_one_send),
        cmocka_unit_test(test_full_records_three_to_a_send),
        cmocka_unit_test(test_partial_send_keeps_the_rest),
        cmocka_unit_test(test_slow_reader_gets_a_record_a_send),
        cmocka_unit_test(test_would_block_at_once),
        cmocka_unit_test(test_close_notify_after_kept_bytes),
        cmocka_unit_test(test_budget_bounds_what_is_sealed),
        cmocka_unit_test(test_random_room_every_byte_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
