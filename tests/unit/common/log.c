/* Unit tests for common/log.c's syslog mode (--errorlog-syslog): one
 * datagram per line, the level as the severity (nghttpx's mapping), no
 * time stamp of its own, and log_reopen() connecting again. */
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

#include "common/log.h"
#include "tests/unit/dgram.h"

static char dir[64];
static char sock_path[96];

static int receiver(void)
{
    return dgram_receiver(sock_path);
}

/* The next datagram's "<PRI>" and message (after "h2gate[PID]: "). */
static void next(int fd, int *pri, char *msg, size_t len)
{
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_int_equal(sscanf(buf, "<%d>", pri), 1);
    char tag[64];
    snprintf(tag, sizeof(tag), " h2gate[%ld]: ", (long)getpid());
    const char *m = strstr(buf, tag);
    assert_non_null(m);
    snprintf(msg, len, "%s", m + strlen(tag));
}

static void test_levels_become_severities(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/h2gate-log-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/log", dir);
    int r = receiver();
    assert_int_equal(log_open(LOG_INFO, NULL), 0);
    int e = -1;
    assert_int_equal(log_use_syslog(sock_path, 23 /* local7 */, &e), 0);
    assert_int_equal(e, 0);
    log_set_thread_tag("w3");
    log_msg(LOG_INFO, "i %d", 1);
    log_msg(LOG_NOTICE, "n");
    log_msg(LOG_WARN, "w");
    log_msg(LOG_ERROR, "e");
    log_msg(LOG_FATAL, "f");
    static const struct {
        int pri;
        const char *msg;
    } want[] = {
        { 23 * 8 + 6, "INFO [w3] i 1" },  { 23 * 8 + 5, "NOTICE [w3] n" },
        { 23 * 8 + 4, "WARN [w3] w" },    { 23 * 8 + 3, "ERROR [w3] e" },
        { 23 * 8 + 2, "FATAL [w3] f" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int pri;
        char msg[256];
        next(r, &pri, msg, sizeof(msg));
        assert_int_equal(pri, want[i].pri);
        assert_string_equal(msg, want[i].msg);
    }
    /* the minimum level still applies */
    assert_int_equal(log_open(LOG_WARN, NULL), 0);
    log_msg(LOG_NOTICE, "hidden");
    log_msg(LOG_WARN, "shown");
    int pri;
    char msg[256];
    next(r, &pri, msg, sizeof(msg));
    assert_string_equal(msg, "WARN [w3] shown");

    /* the daemon restarts: SIGUSR1's log_reopen() connects again */
    close(r);
    r = receiver();
    assert_int_equal(log_reopen(), 0);
    log_msg(LOG_ERROR, "after %s", "restart");
    next(r, &pri, msg, sizeof(msg));
    assert_int_equal(pri, 23 * 8 + 3);
    assert_string_equal(msg, "ERROR [w3] after restart");
    /* no daemon: log_reopen() says so, logging goes on (dropped) */
    close(r);
    unlink(sock_path);
    assert_true(log_reopen() < 0);
    log_msg(LOG_ERROR, "lost");
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_become_severities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
