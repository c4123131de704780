/* Unit tests for proxy/alog_writer.c's syslog side (--accesslog-syslog):
 * one datagram per line, and every line the socket refuses counted in
 * alog_writer_num_dropped() ("access log lines lost"). The file side is
 * tested in tests/unit/proxy/accesslog.c. */
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

#include "common/syslog.h"
#include "tests/unit/dgram.h"
#include "proxy/accesslog.h"

static char dir[64];
static char sock_path[96];
static struct alog_format *fmt;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/h2gate-alogw-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/log", dir);
    char err[128];
    fmt = alog_format_compile("$method $path $status", err, sizeof(err));
    assert_non_null(fmt);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    alog_format_free(fmt);
    unlink(sock_path);
    rmdir(dir);
    return 0;
}

static int receiver(void)
{
    return dgram_receiver(sock_path);
}

static struct alog_entry entry(int status)
{
    return (struct alog_entry){
        .start_time = 1706782830.0,
        .method = STR_LIT("GET"),
        .path = STR_LIT("/x\n\"y"),
        .protocol = "HTTP/1.1",
        .status = status,
    };
}

/* The message of a datagram: what follows "h2gate[PID]: ". */
static const char *message(const char *dgram)
{
    const char *m = strstr(dgram, "]: ");
    assert_non_null(m);
    return m + 3;
}

static void test_one_datagram_per_line(void **state)
{
    (void)state;
    int r = receiver();
    struct alog_writer *w = alog_writer_new_syslog(sock_path, 16 /* local0 */);
    assert_non_null(w);
    assert_int_equal(alog_writer_syslog_errno(w), 0);
    /* rounds of 8: the kernel queues few datagrams for a receiver
     * (net.unix.max_dgram_qlen) */
    char buf[8192];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 8; i++) {
            struct alog_entry e = entry(200 + round * 8 + i);
            alog_write(w, fmt, &e);
        }
        assert_true(recv(r, buf, sizeof(buf), MSG_DONTWAIT) < 0); /* until the flush */
        assert_int_equal(alog_writer_flush(w), 0);
        for (int i = 0; i < 8; i++) {
            ssize_t n = recv(r, buf, sizeof(buf) - 1, MSG_DONTWAIT);
            assert_true(n > 0);
            buf[n] = '\0';
            assert_memory_equal(buf, "<134>", 5); /* local0.info */
            char want[64];
            snprintf(want, sizeof(want), "GET /x\\x0a\\x22y %d", 200 + round * 8 + i);
            assert_string_equal(message(buf), want);
        }
    }
    assert_true(recv(r, buf, sizeof(buf), MSG_DONTWAIT) < 0);
    assert_int_equal(alog_writer_num_dropped(w), 0);
    alog_writer_free(w);
    close(r);
}

/* A receiver that does not read: what it takes plus what is counted as
 * dropped is exactly what was written, and nothing waits. */
static void test_full_receiver_drops_are_counted(void **state)
{
    (void)state;
    int r = receiver();
    struct alog_writer *w = alog_writer_new_syslog(sock_path, SYSLOG_FACILITY_DAEMON);
    const int total = 2000;
    for (int i = 0; i < total; i++) {
        struct alog_entry e = entry(200);
        alog_write(w, fmt, &e);
        if (i % 100 == 99) /* more lines than one sendmmsg batch */
            alog_writer_flush(w);
    }
    alog_writer_flush(w);
    char buf[8192];
    uint64_t got = 0;
    while (recv(r, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        got++;
    assert_true(got > 0);
    assert_true(alog_writer_num_dropped(w) > 0);
    assert_int_equal(got + alog_writer_num_dropped(w), (uint64_t)total);
    /* reading again: new lines go through, the count stays */
    uint64_t dropped = alog_writer_num_dropped(w);
    struct alog_entry e = entry(204);
    alog_write(w, fmt, &e);
    alog_writer_flush(w);
    ssize_t n = recv(r, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(message(buf), "GET /x\\x0a\\x22y 204");
    assert_int_equal(alog_writer_num_dropped(w), dropped);
    alog_writer_free(w);
    close(r);
}

/* No receiver at all: every line is counted; SIGUSR1 (reopen) connects
 * once one is there. */
static void test_absent_receiver_then_reopen(void **state)
{
    (void)state;
    unlink(sock_path);
    struct alog_writer *w = alog_writer_new_syslog(sock_path, SYSLOG_FACILITY_DAEMON);
    assert_non_null(w);
    assert_int_equal(alog_writer_syslog_errno(w), ENOENT);
    for (int i = 0; i < 500; i++) {
        struct alog_entry e = entry(200);
        alog_write(w, fmt, &e);
    }
    alog_writer_flush(w);
    assert_int_equal(alog_writer_num_dropped(w), 500);

    int r = receiver();
    assert_int_equal(alog_writer_reopen(w), 0);
    struct alog_entry e = entry(201);
    alog_write(w, fmt, &e);
    alog_writer_free(w); /* flushes */
    char buf[8192];
    ssize_t n = recv(r, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(message(buf), "GET /x\\x0a\\x22y 201");
    close(r);

    /* a path no socket address can hold */
    char long_path[200];
    memset(long_path, 'x', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = '\0';
    assert_null(alog_writer_new_syslog(long_path, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_datagram_per_line),
        cmocka_unit_test(test_full_receiver_drops_are_counted),
        cmocka_unit_test(test_absent_receiver_then_reopen),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
