/* See proxy_rig.h. */
#include "fuzz/proxy_rig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <signal.h>
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

struct be_conn {
    int fd;                     /* -1: closed */
    http_parser parser;
    char out[BE_OUT_MAX];
    size_t out_len;
    bool close_after;           /* close once out is written */
    bool msg_end;               /* http-parser ended a message */
    bool raw;                   /* backend_raw: answering with the input's bytes */
    size_t raw_off;             /* of them written */
    /* backend_h2: h2gate's frames, scanned for its first HEADERS */
    size_t h2_skip;             /* bytes to pass over: the preface, a payload */
    uint8_t h2_hd[9];
    size_t h2_hd_len;
};

struct fz {
    struct worker w;
    const struct rig_target *t;
    int client_fd;
    unsigned answered;
    const struct rig_input *in;
    unsigned mode;
    bool be_gone;               /* the backend closes what it accepts */
    struct be_conn be[MAX_BACKEND_CONNS];
};

/* What the client writes: what the target queued before the run, the
 * preface, the input's client bytes, then what the target adds during
 * the run (rig_client_send). Emptied at the end of each run. */
static struct {
    uint8_t *p;
    size_t len, off, cap;
} cout;

/* Built once: the configuration, the protocol globals and the backend's
 * listening socket. Two generations for the whole run (each worker takes
 * a reference): the backend speaks HTTP/1.1, or HTTP/2 (struct
 * rig_input's backend_h2). */
static struct gen *gen, *gen_h2;
static int be_listen_fd = -1;
static http_parser_settings be_settings;

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
    if (b->close_after || b->raw)
        return;
    f->answered++;
    if (f->t->backend_raw) {
        b->raw = true;
        return;
    }
    if (mode & RIG_DROP) {
        b->close_after = true;
        return;
    }
    if (mode & RIG_CONTINUE)
        be_append(b, "HTTP/1.1 100 Continue\r\n\r\n");
    const char *conn = (mode & RIG_CLOSE) ? "Connection: close\r\n" : "";
    char head[256];
    if (mode & RIG_NO_BODY) {
        snprintf(head, sizeof(head), "HTTP/1.1 204 No Content\r\n%s\r\n", conn);
        be_append(b, head);
    } else if (mode & RIG_CHUNKED) {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n%s\r\n", conn);
        be_append(b, head);
        be_append(b, (mode & RIG_TRUNCATE) ? "5\r\nhel" : "5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n");
    } else {
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n%s\r\n", conn);
        be_append(b, head);
        be_append(b, (mode & RIG_TRUNCATE) ? "he" : "hello");
    }
    if (mode & (RIG_CLOSE | RIG_TRUNCATE))
        b->close_after = true;
}

static int on_be_headers_complete(http_parser *p)
{
    struct fz *f = p->data;
    if (f->mode & RIG_AT_HEAD)
        be_answer(f, container_of(p, struct be_conn, parser), f->mode);
    return 0;
}

static int on_be_message_complete(http_parser *p)
{
    struct fz *f = p->data;
    container_of(p, struct be_conn, parser)->msg_end = true;
    if (!(f->mode & RIG_AT_HEAD))
        be_answer(f, container_of(p, struct be_conn, parser), f->mode);
    return 0;
}

static void be_close(struct be_conn *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}

/* http-parser stopped short of what the backend read: h2gate sent it
 * something that is not an HTTP/1.1 request. */
static void be_garbage(struct fz *f, struct be_conn *b, const char *buf, size_t n, size_t used)
{
    if (!f->t->backend_strict ||
        (f->t->backend_any_method && HTTP_PARSER_ERRNO(&b->parser) == HPE_INVALID_METHOD)) {
        b->out_len = 0;
        b->close_after = true;
        return;
    }
    fprintf(stderr, "fuzz %s: the backend cannot parse what h2gate sent it (%s) at byte %zu of:\n",
            f->t->name, http_errno_description(HTTP_PARSER_ERRNO(&b->parser)), used);
    fwrite(buf, 1, n, stderr);
    fprintf(stderr, "\n");
    abort();
}

static void be_parser_init(struct fz *f, struct be_conn *b)
{
    http_parser_init(&b->parser, HTTP_REQUEST);
    b->parser.data = f;
}

/* HTTP/2 from h2gate: the raw answer goes out once its first HEADERS
 * frame (a request) came, as a server answers. */
static void be_scan_h2(struct fz *f, struct be_conn *b, const uint8_t *p, size_t n)
{
    while (n && !b->raw) {
        if (b->h2_skip) {
            size_t k = n < b->h2_skip ? n : b->h2_skip;
            b->h2_skip -= k;
            p += k;
            n -= k;
            continue;
        }
        b->h2_hd[b->h2_hd_len++] = *p++;
        n--;
        if (b->h2_hd_len < 9)
            continue;
        b->h2_hd_len = 0;
        b->h2_skip = (size_t)b->h2_hd[0] << 16 | (size_t)b->h2_hd[1] << 8 | b->h2_hd[2];
        if (b->h2_hd[3] == 1)
            be_answer(f, b, f->mode);
    }
}

/* Parses (and so answers) what the backend read. http-parser stops after
 * an Upgrade request; the backend never answers 101, so what follows is
 * the next request. */
static void be_parse(struct fz *f, struct be_conn *b, const char *buf, size_t n)
{
    if (f->in->backend_h2) {
        be_scan_h2(f, b, (const uint8_t *)buf, n);
        return;
    }
    size_t off = 0;
    while (off < n && !b->close_after && !b->raw) {
        size_t used = http_parser_execute(&b->parser, &be_settings, buf + off, n - off);
        off += used;
        if (HTTP_PARSER_ERRNO(&b->parser) != HPE_OK) {
            be_garbage(f, b, buf, n, off);
            return;
        }
        if (b->parser.upgrade && b->msg_end) {
            b->msg_end = false;
            be_parser_init(f, b);
        } else if (used == 0) {
            return;
        }
    }
}

/* One chunk of a raw answer; true when any byte moved. */
static bool be_write_raw(struct fz *f, struct be_conn *b)
{
    const struct rig_input *in = f->in;
    if (!b->raw || b->close_after)
        return false;
    size_t left = in->backend_len - b->raw_off;
    if (in->backend_chunk && left > in->backend_chunk)
        left = in->backend_chunk;
    ssize_t n = left ? send(b->fd, in->backend + b->raw_off, left, MSG_NOSIGNAL) : 0;
    if (n > 0)
        b->raw_off += (size_t)n;
    if (b->raw_off == in->backend_len && in->backend_close)
        b->close_after = true;
    return n > 0 || b->close_after;
}

/* Accepts, reads, parses and answers; true when any byte moved. */
static bool serve_backend(struct fz *f)
{
    bool moved = false;
    int fd;
    while ((fd = accept4(be_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        moved = true;
        struct be_conn *b = NULL;
        for (size_t i = 0; i < MAX_BACKEND_CONNS && !b && !f->be_gone; i++) {
            if (f->be[i].fd < 0)
                b = &f->be[i];
        }
        if (!b) {
            close(fd);
            continue;
        }
        memset(b, 0, sizeof(*b));
        b->fd = fd;
        if (f->in->backend_h2) {
            /* The server's preface, an empty SETTINGS frame (h2gate sends
             * no request before it); the rest is the input's. */
            static const char settings[9] = { 0, 0, 0, 4 };
            memcpy(b->out, settings, sizeof(settings));
            b->out_len = sizeof(settings);
            b->h2_skip = 24; /* the client preface */
        }
        be_parser_init(f, b);
    }
    for (size_t i = 0; i < MAX_BACKEND_CONNS; i++) {
        struct be_conn *b = &f->be[i];
        if (b->fd < 0)
            continue;
        char buf[16384];
        ssize_t n;
        while (!b->close_after && (n = recv(b->fd, buf, sizeof(buf), 0)) > 0) {
            moved = true;
            be_parse(f, b, buf, (size_t)n);
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
        moved |= be_write_raw(f, b);
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
    if (f->client_fd < 0 || cout.off == cout.len)
        return false;
    ssize_t n = send(f->client_fd, cout.p + cout.off, cout.len - cout.off, MSG_NOSIGNAL);
    if (n <= 0)
        return false;
    cout.off += (size_t)n;
    return true;
}

void rig_client_send(const uint8_t *p, size_t len)
{
    if (!len)
        return;
    if (cout.len + len > cout.cap) {
        cout.cap = (cout.len + len) * 2;
        cout.p = realloc(cout.p, cout.cap);
        if (!cout.p)
            abort();
    }
    memcpy(cout.p + cout.len, p, len);
    cout.len += len;
}

/* Reads what h2gate sent the client (handed to the target, else
 * dropped); true when any byte came. */
static bool client_read(struct fz *f)
{
    bool moved = false;
    uint8_t buf[16384];
    ssize_t n;
    while (f->client_fd >= 0 && (n = recv(f->client_fd, buf, sizeof(buf), 0)) > 0) {
        moved = true;
        if (f->t->client_got)
            f->t->client_got(buf, (size_t)n);
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
        perror("fuzz rig: loopback listener");
        abort();
    }
    if (port)
        *port = ntohs(sa.sin_port);
    return fd;
}

static struct gen *build_gen(char *be)
{
    char *args[] = { "h2gate", "-n", "1", "-f", "127.0.0.1,1;no-tls", "-b", be, NULL };
    char err[512];
    struct config cfg = { 0 };
    if (cfg_load(&cfg, 7, args, err, sizeof(err)) != CFG_RUN) {
        fprintf(stderr, "fuzz rig: cfg_load: %s\n", err);
        abort();
    }
    struct gen *g = gen_build(&cfg, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "fuzz rig: gen_build: %s\n", err);
        abort();
    }
    return g;
}

void rig_init(const char *verbose_env)
{
    signal(SIGPIPE, SIG_IGN);
    log_open(getenv(verbose_env) ? LOG_INFO : LOG_FATAL, NULL);
    uint16_t be_port;
    be_listen_fd = listen_loopback(&be_port);
    char be[64];
    snprintf(be, sizeof(be), "127.0.0.1,%u", be_port);
    gen = build_gen(be);
    strncat(be, ";;proto=h2", sizeof(be) - strlen(be) - 1);
    gen_h2 = build_gen(be);
    cconn_global_init(&gen->cfg);
    be_settings.on_headers_complete = on_be_headers_complete;
    be_settings.on_message_complete = on_be_message_complete;
}

unsigned rig_run(const struct rig_target *t, const uint8_t *data, size_t size)
{
    struct rig_input in = { .mode = size ? data[0] : 0,
                            .client = size ? data + 1 : data,
                            .client_len = size ? size - 1 : 0 };
    return rig_run_input(t, &in);
}

unsigned rig_run_input(const struct rig_target *t, const struct rig_input *in)
{
    static struct fz f;
    memset(&f, 0, sizeof(f));
    for (size_t i = 0; i < MAX_BACKEND_CONNS; i++)
        f.be[i].fd = -1;
    f.t = t;
    f.mode = in->mode;
    f.in = in;
    rig_client_send((const uint8_t *)t->preface, t->preface_len);
    rig_client_send(in->client, in->client_len);

    /* The frontend's listening socket: never accepted from. */
    int listen_fd = listen_loopback(NULL);
    struct gen *g = in->backend_h2 ? gen_h2 : gen;
    gen_ref(g);
    wrk_init(&f.w, 0, g, &listen_fd);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    f.client_fd = sv[1];
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct cconn *cc = cconn_new(&f.w, sv[0], &g->cfg.frontends[0], (struct sockaddr *)&peer);

    run_until_idle(&f);
    if (t->backend_raw) {
        /* The backend said all it will: it goes away. */
        f.be_gone = true;
        for (size_t i = 0; i < MAX_BACKEND_CONNS; i++)
            be_close(&f.be[i]);
        run_until_idle(&f);
    }
    if ((f.mode & RIG_SHUTDOWN) && conn_alive(&f.w, cc)) {
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
        fprintf(stderr, "fuzz %s: the client connection outlived its client\n", t->name);
        abort();
    }
    close(f.client_fd);
    cout.len = cout.off = 0;
    wrk_cleanup(&f.w);
    for (size_t i = 0; i < MAX_BACKEND_CONNS; i++)
        be_close(&f.be[i]);
    /* Connections the worker opened that were never accepted. */
    int fd;
    while ((fd = accept4(be_listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        close(fd);
    return f.answered;
}
