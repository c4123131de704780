/* libFuzzer target: arbitrary bytes through the real HTTP/2 server glue
 * (proxy/h2srv.c, proxy/cconn.c, proxy/xchg.c and the upstream side they
 * drive), in a real worker loop, with an in-process HTTP/1.1 backend.
 *
 * Each input gets a fresh worker (wrk_init), a client connection
 * (cconn_new, cleartext) on one end of a socketpair, and loses both at the
 * end (wrk_cleanup), so nothing carries over between inputs and
 * LeakSanitizer sees every allocation freed.
 *
 * Input: byte 0 chooses how the backend behaves (bits below); the rest is
 * written to the client socket after the HTTP/2 client preface, which the
 * target sends first. The worker loop and the backend are then run, one
 * non-blocking round at a time, until nothing moves for a few rounds; then
 * the client half-closes its socket and the loop runs until idle again,
 * after which the connection must be gone (checked: beyond sanitizer
 * reports, a connection left open is a crash).
 * Whatever h2gate sends the client is read and dropped. With
 * FUZZ_H2SRV_VERBOSE set in the environment, each input ends with one line
 * on stderr: requests the backend answered and the frame types the client
 * got (for checking that seeds reach the backend and back).
 *
 * The backend listens on 127.0.0.1 (an ephemeral port, once per process)
 * and is served by this target between loop rounds: every connection it
 * accepts is parsed with http-parser as HTTP/1.1 requests. Mode bits:
 *   0x01  answer when the request head is complete (else when the whole
 *         request is)
 *   0x02  chunked response body with a trailer (else Content-Length)
 *   0x04  "Connection: close" and close after the response
 *   0x08  a 100 Continue before the response
 *   0x10  204 with no body (else 200 "hello")
 *   0x20  close the connection instead of answering
 *   0x40  send the head and half the body, then close
 *   0x80  begin a graceful shutdown of the client connection (both GOAWAY
 *         steps) once the input has been written */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "proxy/cconn.h"
#include "proxy/gen.h"
#include "proxy/worker.h"

#define MAX_BACKEND_CONNS 16
#define MAX_ROUNDS 4000
#define QUIET_ROUNDS 4
#define BE_OUT_MAX 4096

enum {
    M_AT_HEAD = 0x01,
    M_CHUNKED = 0x02,
    M_CLOSE = 0x04,
    M_CONTINUE = 0x08,
    M_NO_BODY = 0x10,
    M_DROP = 0x20,
    M_TRUNCATE = 0x40,
    M_SHUTDOWN = 0x80,
};

static const char client_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct be_conn {
    int fd;                     /* -1: closed */
    http_parser parser;
    char out[BE_OUT_MAX];
    size_t out_len;
    bool close_after;           /* close once out is written */
};

/* What the client received, frame by frame (verbose mode only). */
struct frames_seen {
    uint8_t hd[9];
    size_t hd_len;
    size_t skip;                /* payload bytes of the current frame left */
    unsigned num[11];           /* per frame type; [10]: unknown types */
};

struct fz {
    struct worker w;
    int client_fd;
    struct frames_seen seen;
    unsigned answered;
    const uint8_t *in;
    size_t in_len, in_off;
    unsigned mode;
    struct be_conn be[MAX_BACKEND_CONNS];
};

/* Built once: the configuration, the protocol globals and the backend's
 * listening socket. */
static struct gen *gen; /* one for the whole run; each worker takes a reference */
static int be_listen_fd = -1;
static http_parser_settings be_settings;
static bool verbose;

static void be_append(struct be_conn *b, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof(b->out) - b->out_len)
        n = sizeof(b->out) - b->out_len;
    memcpy(b->out + b->out_len, s, n);
    b->out_len += n;
}

static void be_answer(struct fz *f, struct be_conn *b, unsigned mode)
{
    if (b->close_after)
        return;
    f->answered++;
    if (mode & M_DROP) {
        b->close_after = true;
        return;
    }
    if (mode & M_CONTINUE)
        be_append(b, "HTTP/1.1 100 Continue\r\n\r\n");
    const char *conn = (mode & M_CLOSE) ? "Connection: close\r\n" : "";
    char head[256];
    if (mode & M_NO_BODY) {
        snprintf(head, sizeof(head), "HTTP/1.1 204 No Content\r\n%s\r\n", conn);
        be_append(b, head);
    } else if (mode & M_CHUNKED) {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n%s\r\n", conn);
        be_append(b, head);
        be_append(b, (mode & M_TRUNCATE) ? "5\r\nhel" : "5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n");
    } else {
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n%s\r\n", conn);
        be_append(b, head);
        be_append(b, (mode & M_TRUNCATE) ? "he" : "hello");
    }
    if (mode & (M_CLOSE | M_TRUNCATE))
        b->close_after = true;
}

static int on_be_headers_complete(http_parser *p)
{
    struct fz *f = p->data;
    if (f->mode & M_AT_HEAD)
        be_answer(f, container_of(p, struct be_conn, parser), f->mode);
    return 0;
}

static int on_be_message_complete(http_parser *p)
{
    struct fz *f = p->data;
    if (!(f->mode & M_AT_HEAD))
        be_answer(f, container_of(p, struct be_conn, parser), f->mode);
    return 0;
}

static void be_close(struct be_conn *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}

/* Accepts, reads, parses and answers; true when any byte moved. */
static bool serve_backend(struct fz *f)
{
    bool moved = false;
    int fd;
    while ((fd = accept4(be_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        moved = true;
        struct be_conn *b = NULL;
        for (size_t i = 0; i < MAX_BACKEND_CONNS && !b; i++) {
            if (f->be[i].fd < 0)
                b = &f->be[i];
        }
        if (!b) {
            close(fd);
            continue;
        }
        memset(b, 0, sizeof(*b));
        b->fd = fd;
        http_parser_init(&b->parser, HTTP_REQUEST);
        b->parser.data = f;
    }
    for (size_t i = 0; i < MAX_BACKEND_CONNS; i++) {
        struct be_conn *b = &f->be[i];
        if (b->fd < 0)
            continue;
        char buf[16384];
        ssize_t n;
        while (!b->close_after && (n = recv(b->fd, buf, sizeof(buf), 0)) > 0) {
            moved = true;
            size_t used = http_parser_execute(&b->parser, &be_settings, buf, (size_t)n);
            if (used != (size_t)n || HTTP_PARSER_ERRNO(&b->parser) != HPE_OK) {
                b->out_len = 0;
                b->close_after = true;
            }
        }
        if (!b->close_after && n == 0) {
            be_close(b);
            moved = true;
            continue;
        }
        while (b->out_len) {
            n = send(b->fd, b->out, b->out_len, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            moved = true;
            memmove(b->out, b->out + n, b->out_len - (size_t)n);
            b->out_len -= (size_t)n;
        }
        if (b->close_after && b->out_len == 0) {
            be_close(b);
            moved = true;
        }
    }
    return moved;
}

/* Writes what the client socket takes of the input; true when any byte
 * moved. */
static bool client_write(struct fz *f)
{
    if (f->client_fd < 0 || f->in_off == f->in_len)
        return false;
    ssize_t n = send(f->client_fd, f->in + f->in_off, f->in_len - f->in_off, MSG_NOSIGNAL);
    if (n <= 0)
        return false;
    f->in_off += (size_t)n;
    return true;
}

static void count_frames(struct frames_seen *fs, const uint8_t *p, size_t len)
{
    while (len) {
        if (fs->skip) {
            size_t n = len < fs->skip ? len : fs->skip;
            fs->skip -= n;
            p += n;
            len -= n;
            continue;
        }
        fs->hd[fs->hd_len++] = *p++;
        len--;
        if (fs->hd_len == 9) {
            fs->num[fs->hd[3] < 10 ? fs->hd[3] : 10]++;
            fs->skip = (size_t)fs->hd[0] << 16 | (size_t)fs->hd[1] << 8 | fs->hd[2];
            fs->hd_len = 0;
        }
    }
}

/* Reads what h2gate sent the client (counted in verbose mode, else
 * dropped); true when any byte came. */
static bool client_read(struct fz *f)
{
    bool moved = false;
    uint8_t buf[16384];
    ssize_t n;
    while (f->client_fd >= 0 && (n = recv(f->client_fd, buf, sizeof(buf), 0)) > 0) {
        moved = true;
        if (verbose)
            count_frames(&f->seen, buf, (size_t)n);
    }
    return moved;
}

/* Rounds of client write, one worker loop iteration, backend and client
 * reads, until QUIET_ROUNDS in a row move nothing. Returns false when
 * MAX_ROUNDS ran out first. */
static bool run_until_idle(struct fz *f)
{
    int quiet = 0;
    for (int i = 0; i < MAX_ROUNDS && quiet < QUIET_ROUNDS; i++) {
        bool moved = client_write(f);
        ev_run(f->w.loop, EVRUN_NOWAIT);
        moved |= serve_backend(f);
        moved |= client_read(f);
        quiet = moved ? 0 : quiet + 1;
    }
    return quiet == QUIET_ROUNDS;
}

/* The worker frees a closed connection in its prepare pass: cc may be
 * used only while it is still on the worker's list. */
static bool conn_alive(const struct worker *w, const struct cconn *cc)
{
    for (const struct cconn *c = w->conns; c; c = c->next) {
        if (c == cc)
            return true;
    }
    return false;
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("fuzz h2srv: loopback listener");
        abort();
    }
    if (port)
        *port = ntohs(sa.sin_port);
    return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    log_open(getenv("FUZZ_H2SRV_VERBOSE") ? LOG_INFO : LOG_FATAL, NULL);
    uint16_t be_port;
    be_listen_fd = listen_loopback(&be_port);
    char be[64];
    snprintf(be, sizeof(be), "127.0.0.1,%u", be_port);
    char *args[] = { "h2gate", "-n", "1", "-f", "127.0.0.1,1;no-tls", "-b", be, NULL };
    char err[512];
    struct config cfg = { 0 };
    if (cfg_load(&cfg, 7, args, err, sizeof(err)) != CFG_RUN) {
        fprintf(stderr, "fuzz h2srv: cfg_load: %s\n", err);
        abort();
    }
    gen = gen_build(&cfg, err, sizeof(err));
    if (!gen) {
        fprintf(stderr, "fuzz h2srv: gen_build: %s\n", err);
        abort();
    }
    cconn_global_init(&gen->cfg);
    be_settings.on_headers_complete = on_be_headers_complete;
    be_settings.on_message_complete = on_be_message_complete;
    verbose = getenv("FUZZ_H2SRV_VERBOSE") != NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz f;
    memset(&f, 0, sizeof(f));
    for (size_t i = 0; i < MAX_BACKEND_CONNS; i++)
        f.be[i].fd = -1;
    f.mode = size ? data[0] : 0;
    f.in = size ? data + 1 : data;
    f.in_len = size ? size - 1 : 0;

    /* The frontend's listening socket: never accepted from. */
    int listen_fd = listen_loopback(NULL);
    gen_ref(gen);
    wrk_init(&f.w, 0, gen, &listen_fd);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    f.client_fd = sv[1];
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct cconn *cc = cconn_new(&f.w, sv[0], &gen->cfg.frontends[0], (struct sockaddr *)&peer);
    if (send(f.client_fd, client_preface, sizeof(client_preface) - 1, MSG_NOSIGNAL) !=
        (ssize_t)(sizeof(client_preface) - 1))
        abort();

    run_until_idle(&f);
    if ((f.mode & M_SHUTDOWN) && conn_alive(&f.w, cc)) {
        cconn_shutdown(cc);
        run_until_idle(&f);
        if (conn_alive(&f.w, cc))
            cconn_shutdown_final(cc);
        run_until_idle(&f);
    }
    shutdown(f.client_fd, SHUT_WR);
    bool idle = run_until_idle(&f);
    /* The client is gone and the backend has answered or closed whatever it
     * got: nothing may keep the connection open (a connection that stops
     * reading and never closes is the bug this found once). */
    if (idle && f.w.num_conns != 0) {
        fprintf(stderr, "fuzz h2srv: the client connection outlived its client\n");
        abort();
    }

    if (verbose) {
        static const char *const names[] = { "DATA",    "HEADERS", "PRIORITY", "RST_STREAM",
                                             "SETTINGS", "PUSH",   "PING",     "GOAWAY",
                                             "WINDOW_UPDATE", "CONTINUATION", "other" };
        fprintf(stderr, "h2srv: mode 0x%02x, backend answered %u; client got", f.mode,
                f.answered);
        for (size_t i = 0; i < 11; i++) {
            if (f.seen.num[i])
                fprintf(stderr, " %s %u", names[i], f.seen.num[i]);
        }
        fprintf(stderr, "\n");
    }
    close(f.client_fd);
    wrk_cleanup(&f.w);
    for (size_t i = 0; i < MAX_BACKEND_CONNS; i++)
        be_close(&f.be[i]);
    /* Connections the worker opened that were never accepted. */
    int fd;
    while ((fd = accept4(be_listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        close(fd);
    return 0;
}
