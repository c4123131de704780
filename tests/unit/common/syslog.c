/* Unit tests for common/syslog.c: facility names, the datagram's exact
 * bytes, and what happens when the receiver is absent, full or restarted.
 * Every receiver is a datagram socket bound in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/syslog.h"
#include "tests/unit/dgram.h"

static char dir[64];
static char sock_path[96];

static int setup(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    snprintf(dir, sizeof(dir), "/tmp/h2gate-syslog-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(sock_path);
    rmdir(dir);
    return 0;
}

static int receiver(void)
{
    return dgram_receiver(sock_path);
}

/* The next datagram, NUL-terminated, or -1 if none is waiting. */
static ssize_t recv_one(int fd, char *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static size_t drain(int fd)
{
    char buf[8192];
    size_t n = 0;
    while (recv_one(fd, buf, sizeof(buf)) >= 0)
        n++;
    return n;
}

static void test_facility_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int code;
    } known[] = {
        { "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 },
        { "syslog", 5 }, { "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 },
        { "authpriv", 10 }, { "ftp", 11 }, { "local0", 16 }, { "local7", 23 },
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        assert_int_equal(syslog_facility_code(known[i].name), known[i].code);
    assert_int_equal(syslog_facility_code("DAEMON"), -1);
    assert_int_equal(syslog_facility_code("local8"), -1);
    assert_int_equal(syslog_facility_code(""), -1);
    assert_non_null(strstr(syslog_facility_list(), "local0-local7"));
}

static void test_datagram_bytes(void **state)
{
    (void)state;
    int r = receiver();
    struct syslog_sink *s = syslog_sink_new(sock_path, 19 /* local3 */);
    assert_non_null(s);
    assert_int_equal(syslog_sink_errno(s), 0);
    struct str msgs[2] = { STR_LIT("first line"), STR_LIT("second \"line\"") };
    time_t before = time(NULL);
    assert_int_equal(syslog_send(s, SYSLOG_INFO, msgs, 2), 2);
    assert_int_equal(syslog_send(s, SYSLOG_ERR, msgs, 1), 1);

    char buf[512], want[512];
    static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    const char *bodies[3] = { "<158>", "<158>", "<155>" };
    const char *texts[3] = { "first line", "second \"line\"", "first line" };
    for (int i = 0; i < 3; i++) {
        assert_true(recv_one(r, buf, sizeof(buf)) > 0);
        /* the stamp is of the second the batch went out */
        bool matched = false;
        for (time_t t = before; t <= time(NULL) && !matched; t++) {
            struct tm tm;
            localtime_r(&t, &tm);
            snprintf(want, sizeof(want), "%s%s %2d %02d:%02d:%02d h2gate[%ld]: %s", bodies[i],
                     mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)getpid(), texts[i]);
            matched = strcmp(buf, want) == 0;
        }
        if (!matched)
            fail_msg("datagram \"%s\", last expected \"%s\"", buf, want);
    }
    assert_true(recv_one(r, buf, sizeof(buf)) < 0);
    syslog_sink_free(s);
    close(r);
    syslog_sink_free(NULL);
}

static void test_absent_receiver_drops_without_blocking(void **state)
{
    (void)state;
    unlink(sock_path);
    struct syslog_sink *s = syslog_sink_new(sock_path, SYSLOG_FACILITY_DAEMON);
    assert_non_null(s);
    assert_int_equal(syslog_sink_errno(s), ENOENT);
    struct str m = STR_LIT("lost");
    for (int i = 0; i < 100; i++)
        assert_int_equal(syslog_send(s, SYSLOG_INFO, &m, 1), 0);
    /* a receiver appears: SIGUSR1's reconnect finds it at once */
    int r = receiver();
    assert_int_equal(syslog_sink_reconnect(s), 0);
    assert_int_equal(syslog_sink_errno(s), 0);
    assert_int_equal(syslog_send(s, SYSLOG_INFO, &m, 1), 1);
    assert_int_equal(drain(r), 1);
    syslog_sink_free(s);
    close(r);

    char long_path[200];
    memset(long_path, 'x', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = '\0';
    errno = 0;
    assert_null(syslog_sink_new(long_path, 3));
    assert_int_equal(errno, ENAMETOOLONG);
}

/* A receiver that stops reading: its queue fills, the rest are refused at
 * once (no blocking) and reported; reading again lets lines through. */
static void test_full_receiver_refuses_and_recovers(void **state)
{
    (void)state;
    int r = receiver();
    struct syslog_sink *s = syslog_sink_new(sock_path, SYSLOG_FACILITY_DAEMON);
    struct str msgs[SYSLOG_MAX_BATCH];
    for (int i = 0; i < SYSLOG_MAX_BATCH; i++)
        msgs[i] = STR_LIT("a line that nobody reads for a while");
    size_t sent = 0, total = 0;
    for (int round = 0; round < 20; round++) {
        sent += syslog_send(s, SYSLOG_INFO, msgs, SYSLOG_MAX_BATCH);
        total += SYSLOG_MAX_BATCH;
    }
    assert_true(sent < total);
    assert_int_equal(drain(r), sent);
    assert_int_equal(syslog_send(s, SYSLOG_INFO, msgs, 3), 3);
    assert_int_equal(drain(r), 3);
    syslog_sink_free(s);
    close(r);
}

/* A daemon that restarts (a new socket at the same path): the next send
 * after the refusal connects again. */
static void test_restarted_receiver_is_reconnected(void **state)
{
    (void)state;
    int r = receiver();
    struct syslog_sink *s = syslog_sink_new(sock_path, SYSLOG_FACILITY_DAEMON);
    struct str m = STR_LIT("x");
    assert_int_equal(syslog_send(s, SYSLOG_INFO, &m, 1), 1);
    assert_int_equal(drain(r), 1);
    close(r);
    r = receiver();
    /* the sink connected over a second ago: this send reconnects */
    struct timespec second = { 1, 100000000 };
    nanosleep(&second, NULL);
    assert_int_equal(syslog_send(s, SYSLOG_INFO, &m, 1), 1);
    assert_int_equal(drain(r), 1);
    /* right after a connect, a lost receiver costs a refusal, no connect */
    close(r);
    assert_int_equal(syslog_send(s, SYSLOG_INFO, &m, 1), 0);
    assert_int_equal(syslog_sink_errno(s), ECONNREFUSED);
    syslog_sink_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facility_names),
        cmocka_unit_test(test_datagram_bytes),
        cmocka_unit_test(test_absent_receiver_drops_without_blocking),
        cmocka_unit_test(test_full_receiver_refuses_and_recovers),
        cmocka_unit_test(test_restarted_receiver_is_reconnected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
