#include "proxy/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int copy_part(const char *p, size_t n, char *out, size_t out_len)
{
    if (n >= out_len)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

const char *probe_parse_url(const char *url, char *host, size_t host_len, char *port,
                            size_t port_len, char *path, size_t path_len)
{
    if (strncmp(url, "http://", 7) != 0)
        return "expected an http:// URL";
    const char *a = url + 7, *slash = strchr(a, '/');
    const char *end = slash ? slash : a + strlen(a);
    const char *h = a, *he, *colon;
    if (*a == '[') {
        he = memchr(a, ']', (size_t)(end - a));
        if (!he)
            return "unterminated [IPv6] host";
        h = a + 1;
        colon = he + 1 < end && he[1] == ':' ? he + 1 : NULL;
        if (he + 1 < end && !colon)
            return "junk after ]";
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        he = colon ? colon : end;
    }
    if (he == h)
        return "empty host";
    if (copy_part(h, (size_t)(he - h), host, host_len) != 0)
        return "host too long";
    const char *pp = colon ? colon + 1 : "80";
    size_t pn = colon ? (size_t)(end - pp) : 2;
    if (pn == 0 || pn > 5 || strspn(pp, "0123456789") < pn || atoi(pp) < 1 || atoi(pp) > 65535)
        return "bad port (expected 1-65535)";
    copy_part(pp, pn, port, port_len);
    const char *rest = slash ? slash : "/";
    for (const char *c = rest; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '#')
            return "bad character in the path";
    }
    if (copy_part(rest, strlen(rest), path, path_len) != 0)
        return "path too long";
    return NULL;
}

int probe_parse_status(const char *buf, size_t len)
{
    /* "HTTP/1.x NNN" */
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        code = code * 10 + (buf[i] - '0');
    }
    return len == 12 || buf[12] == ' ' || buf[12] == '\r' ? code : -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for events on fd until the deadline. Returns 0 when ready, or -1
 * with errno ETIMEDOUT or poll's error. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - now();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* A connected socket to one of res's addresses, or -1 with errno set. */
static int connect_any(const struct addrinfo *res, double deadline)
{
    int e = ECONNREFUSED;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            return fd;
        int err = errno;
        socklen_t sl = sizeof(err);
        if (err == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
            return fd;
        e = err == EINPROGRESS ? errno : err;
        close(fd);
    }
    errno = e;
    return -1;
}

/* Sends the request and reads up to the end of the status line into buf.
 * Returns the bytes read, or -1 with errno set. */
static ssize_t exchange(int fd, const char *req, char *buf, size_t buf_len, double deadline)
{
    size_t off = 0, len = strlen(req), got = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if ((errno != EAGAIN && errno != EINTR) || wait_fd(fd, POLLOUT, deadline) != 0)
            return -1;
    }
    while (got < buf_len && !memchr(buf, '\n', got)) {
        ssize_t n = recv(fd, buf + got, buf_len - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
        else if ((errno != EAGAIN && errno != EINTR) || wait_fd(fd, POLLIN, deadline) != 0)
            return -1;
    }
    return (ssize_t)got;
}

/* Does the request; returns the exit status and says why. */
static int probe(const char *url, const char *host, const char *port, const char *path)
{
    double deadline = now() + PROBE_TIMEOUT;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res;
    int rv = getaddrinfo(host, port, &hints, &res);
    if (rv != 0) {
        fprintf(stderr, "h2gate --probe=%s: cannot resolve %s: %s\n", url, host,
                gai_strerror(rv));
        return 1;
    }
    int fd = connect_any(res, deadline);
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "h2gate --probe=%s: cannot connect: %s\n", url, strerror(errno));
        return 1;
    }
    char req[2560], buf[1024];
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: h2gate-probe\r\n"
             "Connection: close\r\n\r\n",
             path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
    ssize_t n = exchange(fd, req, buf, sizeof(buf), deadline);
    int e = errno;
    close(fd);
    if (n < 0) {
        fprintf(stderr, "h2gate --probe=%s: %s\n", url,
                e == ETIMEDOUT ? "no answer within the timeout" : strerror(e));
        return 1;
    }
    int status = probe_parse_status(buf, (size_t)n);
    const char *eol = memchr(buf, '\r', (size_t)n);
    int line_len = eol ? (int)(eol - buf) : (int)n;
    if (status < 0) {
        fprintf(stderr, "h2gate --probe=%s: not an HTTP/1.x answer\n", url);
        return 1;
    }
    FILE *out = status >= 200 && status <= 299 ? stdout : stderr;
    fprintf(out, "h2gate --probe=%s: %.*s\n", url, line_len, buf);
    return out == stdout ? 0 : 1;
}

int probe_run(const char *url)
{
    char host[256], port[8], path[2048];
    const char *msg =
        probe_parse_url(url, host, sizeof(host), port, sizeof(port), path, sizeof(path));
    if (msg) {
        fprintf(stderr, "h2gate --probe=%s: %s\n", url, msg);
        return 1;
    }
    return probe(url, host, port, path);
}
