/* Unit tests for proxy/listen.c: the listening sockets of TCP frontends.
 * listen(2) is wrapped (-Wl,--wrap=listen) to see which sockets ever
 * listen: only the workers' SO_REUSEPORT ones may, since a client that
 * connects to any other socket is reset when h2gate closes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "config/config-t.h"
#include "proxy/listen.h"

int __real_listen(int fd, int backlog);
int __wrap_listen(int fd, int backlog);

static int listens;         /* listen(2) calls */
static int plain_listens;   /* of them, on a socket without SO_REUSEPORT */

int __wrap_listen(int fd, int backlog)
{
    int on = 0;
    socklen_t len = sizeof(on);
    listens++;
    if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) != 0 || !on)
        plain_listens++;
    return __real_listen(fd, backlog);
}

static int setup(void **state)
{
    (void)state;
    listens = plain_listens = 0;
    return 0;
}

/* A loopback socket on a port the kernel picked; listening when backlog
 * >= 0, with SO_REUSEPORT when reuseport. */
static int bound(bool reuseport, int backlog, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    if (reuseport)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (backlog >= 0)
        assert_int_equal(__real_listen(fd, backlog), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A loopback port nobody uses now. */
static uint16_t free_port(void)
{
    uint16_t port;
    close(bound(false, -1, &port));
    return port;
}

static bool accepts_connections(int fd)
{
    int on = 0;
    socklen_t len = sizeof(on);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len), 0);
    return on != 0;
}

/* A new frontend: its port is proved free with a socket that is bound
 * and never listens; only the workers' sockets listen, and they do. */
static void test_only_worker_sockets_listen(void **state)
{
    (void)state;
    struct cfg_frontend fe = { .host = "127.0.0.1", .port = free_port() };
    struct config cfg = { .frontends = &fe, .num_frontends = 1, .backlog = 16 };
    struct lsn_table t = { .workers = 3 };
    int *fds = NULL;
    char err[256] = "";
    assert_int_equal(lsn_update(&t, &cfg, &fds, err, sizeof(err)), 0);
    assert_int_equal(plain_listens, 0);
    assert_int_equal(listens, 3);
    for (int w = 0; w < 3; w++)
        assert_true(accepts_connections(fds[w]));
    /* A reload keeping the address keeps the sockets (a new backlog on
     * each) and opens none. */
    int *again = NULL;
    assert_int_equal(lsn_update(&t, &cfg, &again, err, sizeof(err)), 0);
    assert_memory_equal(again, fds, 3 * sizeof(int));
    assert_int_equal(listens, 6);
    assert_int_equal(plain_listens, 0);
    for (int w = 0; w < 3; w++)
        close(fds[w]);
    free(fds);
    free(again);
    lsn_table_free(&t);
}

/* A port another process listens on, with SO_REUSEPORT (another h2gate,
 * nghttpx) or without, is refused: the bound-only probe still sees it. */
static void test_port_someone_serves_is_refused(void **state)
{
    (void)state;
    for (int reuseport = 0; reuseport < 2; reuseport++) {
        struct cfg_frontend fe = { .host = "127.0.0.1" };
        int other = bound(reuseport, 8, &fe.port);
        struct config cfg = { .frontends = &fe, .num_frontends = 1, .backlog = 16 };
        struct lsn_table t = { .workers = 2 };
        int *fds = NULL;
        char err[256] = "";
        listens = plain_listens = 0;
        assert_int_equal(lsn_update(&t, &cfg, &fds, err, sizeof(err)), H2G_ERR_IO);
        assert_non_null(strstr(err, "address already in use"));
        assert_null(fds);
        assert_int_equal(t.num, 0);
        assert_int_equal(listens, 0);
        close(other);
        lsn_table_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_only_worker_sockets_listen, setup),
        cmocka_unit_test_setup(test_port_someone_serves_is_refused, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
