/* Backend name resolution at load time: see resolve.h. */
#include "config/resolve.h"

#include <ares.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct pending {
    struct cfg_lookup *l;
    size_t *left;
};

static void put_addr(struct cfg_lookup *l, const struct sockaddr *sa)
{
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    for (size_t i = 0; i < l->num; i++) {
        if (l->addr_lens[i] == len && memcmp(&l->addrs[i], sa, len) == 0)
            return;  /* c-ares may list an address twice (hosts file and DNS) */
    }
    if (l->num == CFG_MAX_MEMBERS) {
        l->num_dropped++;
        return;
    }
    memcpy(&l->addrs[l->num], sa, len);
    l->addr_lens[l->num++] = len;
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    (void)timeouts;
    struct pending *p = arg;
    struct cfg_lookup *l = p->l;
    (*p->left)--;
    l->ttl = UINT32_MAX;
    for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
            continue;
        put_addr(l, n->ai_addr);
        if (n->ai_ttl >= 0 && (uint32_t)n->ai_ttl < l->ttl)
            l->ttl = (uint32_t)n->ai_ttl;
    }
    if (ai)
        ares_freeaddrinfo(ai);
    if (l->num == 0)
        snprintf(l->err, sizeof(l->err), "%s",
                 status == ARES_SUCCESS ? "no IPv4 or IPv6 address" : ares_strerror(status));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the channel until every lookup answered or the deadline passed. */
static void run(ares_channel ch, const size_t *left, double deadline)
{
    while (*left > 0) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        /* ares.h's ARES_GETSOCK_WRITABLE shifts a signed 1 by 31: unsigned here. */
        unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        nfds_t n = 0;
        for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = (short)((bits & (1u << i) ? POLLIN : 0) |
                               (bits & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0));
            if (ev)
                pfd[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
        }
        double left_s = deadline - now_s();
        if (left_s <= 0)
            return;
        struct timeval tv, max = { .tv_sec = (time_t)left_s,
                                   .tv_usec = (suseconds_t)((left_s - floor(left_s)) * 1e6) };
        struct timeval *next = ares_timeout(ch, &max, &tv);
        int ms = (int)(next->tv_sec * 1000 + next->tv_usec / 1000) + 1;
        int ready = poll(pfd, n, ms);
        if (ready <= 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            continue;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            bool rd = pfd[i].revents & (POLLIN | POLLERR | POLLHUP);
            bool wr = pfd[i].revents & (POLLOUT | POLLERR | POLLHUP);
            ares_process_fd(ch, rd ? pfd[i].fd : ARES_SOCKET_BAD, wr ? pfd[i].fd : ARES_SOCKET_BAD);
        }
    }
}

int cfg_resolve(struct cfg_lookup *ls, size_t n, const char *servers, double timeout_s,
                char *err, size_t err_len)
{
    if (timeout_s <= 0)
        timeout_s = 5;
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        snprintf(err, err_len, "c-ares: %s", ares_strerror(rc));
        return -1;
    }
    ares_channel ch;
    struct ares_options o = { .timeout = (int)fmin(timeout_s * 1000 / 2, 2000), .tries = 3 };
    rc = ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc == ARES_SUCCESS && servers && servers[0]) {
        rc = ares_set_servers_ports_csv(ch, servers);
        if (rc != ARES_SUCCESS) {
            snprintf(err, err_len, "--dns-server '%s': %s", servers, ares_strerror(rc));
            ares_destroy(ch);
            ares_library_cleanup();
            return -1;
        }
    }
    if (rc != ARES_SUCCESS) {
        snprintf(err, err_len, "c-ares: %s", ares_strerror(rc));
        ares_library_cleanup();
        return -1;
    }
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        left += ls[i].host != NULL;
    struct pending *ps = calloc(n ? n : 1, sizeof(*ps));
    if (!ps) {
        snprintf(err, err_len, "out of memory");
        ares_destroy(ch);
        ares_library_cleanup();
        return -1;
    }
    struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].host)
            continue;
        ls[i].num = ls[i].num_dropped = 0;
        ls[i].err[0] = '\0';
        ps[i] = (struct pending){ .l = &ls[i], .left = &left };
        ares_getaddrinfo(ch, ls[i].host, NULL, &hints, on_answer, &ps[i]);
    }
    run(ch, &left, now_s() + timeout_s);
    ares_destroy(ch);  /* calls back what is left with ARES_EDESTRUCTION */
    for (size_t i = 0; i < n; i++) {
        if (ls[i].host && ls[i].num == 0 &&
            strcmp(ls[i].err, ares_strerror(ARES_EDESTRUCTION)) == 0)
            snprintf(ls[i].err, sizeof(ls[i].err), "no answer within %gs", timeout_s);
    }
    free(ps);
    ares_library_cleanup();
    return 0;
}
