#include "proxy/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/container.h"
#include "common/err.h"
#include "proxy/tls.h"
#include "proxy/tlsbio.h"

static void on_rev(struct ev_loop *loop, ev_io *io, int revents);
static void on_wev(struct ev_loop *loop, ev_io *io, int revents);

static void setup(struct sock *s, struct ev_loop *loop, int fd, const struct sock_handler *h)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->loop = loop;
    s->h = h;
    ev_io_init(&s->rev, on_rev, fd, EV_READ);
    ev_io_init(&s->wev, on_wev, fd, EV_WRITE);
}

void sock_init(struct sock *s, struct ev_loop *loop, int fd, const struct sock_handler *h)
{
    setup(s, loop, fd, h);
    s->state = SOCK_OPEN;
}

int sock_connect(struct sock *s, struct ev_loop *loop, const struct sockaddr *sa,
                 socklen_t len, const struct sock_handler *h)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return H2G_ERR_IO;
    int one = 1;
    if (sa->sa_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int e = connect(fd, sa, len) < 0 ? errno : 0;
    if (e && e != EINPROGRESS && sa->sa_family != AF_UNIX) {
        close(fd);
        errno = e;
        return e == ECONNREFUSED ? H2G_ERR_REFUSED : H2G_ERR_IO;
    }
    setup(s, loop, fd, h);
    s->state = SOCK_CONNECTING;
    sock_arm_write(s, true);
    if (e && e != EINPROGRESS) {
        /* A UNIX domain socket's connect ends at once: no listener
         * (ECONNREFUSED), no such path (ENOENT), its backlog full (EAGAIN,
         * where TCP would wait). It is told as a TCP connect's failure is,
         * from the loop: connected() takes the errno from here. */
        s->connect_errno = (uint16_t)e;
        ev_feed_event(loop, &s->wev, EV_WRITE);
    }
    return 0;
}

void sock_set_notsent_lowat(struct sock *s, int bytes)
{
    setsockopt(s->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof(bytes));
}

void sock_start_tls(struct sock *s, SSL *ssl)
{
    s->ssl = ssl;
    tlsbio_attach(s);
}

void sock_read_start(struct sock *s)
{
    if (s->reading || s->state == SOCK_CLOSED)
        return;
    s->reading = true;
    ev_io_start(s->loop, &s->rev);
}

void sock_read_stop(struct sock *s)
{
    if (!s->reading)
        return;
    s->reading = false;
    ev_io_stop(s->loop, &s->rev);
}

void sock_arm_write(struct sock *s, bool on)
{
    if (on == s->write_armed || (on && s->state == SOCK_CLOSED))
        return;
    s->write_armed = on;
    if (on)
        ev_io_start(s->loop, &s->wev);
    else
        ev_io_stop(s->loop, &s->wev);
}

/* One handshake step. Reports to the owner when it is over. */
static void handshake(struct sock *s)
{
    ERR_clear_error();
    int r = SSL_do_handshake(s->ssl);
    if (r != 1) {
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            sock_read_start(s);
            sock_arm_write(s, e == SSL_ERROR_WANT_WRITE);
            return;
        }
        char why[256];
        tls_handshake_error(s->ssl, why, sizeof(why));
        sock_arm_write(s, false);
        s->h->ready(s, H2G_ERR_TLS, why, 0);
        return;
    }
    s->state = SOCK_OPEN;
    sock_arm_write(s, false);
    s->h->ready(s, 0, NULL, 0);
}

void sock_accept_tls(struct sock *s, SSL *ssl)
{
    s->ssl = ssl;
    tlsbio_attach(s);
    s->state = SOCK_HANDSHAKE;
    sock_read_start(s);
}

/* The connect finished: on to TLS, or tell the owner. */
static void connected(struct sock *s)
{
    int err = s->connect_errno;
    socklen_t len = sizeof(err);
    s->connect_errno = 0;
    if (!err && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    sock_arm_write(s, false);
    if (err) {
        char why[128];
        snprintf(why, sizeof(why), "connect: %s", strerror(err));
        s->h->ready(s, err == ECONNREFUSED ? H2G_ERR_REFUSED : H2G_ERR_IO, why, err);
        return;
    }
    if (s->ssl) {
        s->state = SOCK_HANDSHAKE;
        handshake(s);
        return;
    }
    s->state = SOCK_OPEN;
    s->h->ready(s, 0, NULL, 0);
}

static void on_rev(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct sock *s = container_of(io, struct sock, rev);
    if (s->state == SOCK_HANDSHAKE) {
        handshake(s);
        return;
    }
    bool retry_write = s->write_wants_read;
    s->write_wants_read = false;
    s->h->readable(s);
    if (retry_write && s->state == SOCK_OPEN)
        s->h->writable(s);
}

static void on_wev(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct sock *s = container_of(io, struct sock, wev);
    switch (s->state) {
    case SOCK_CONNECTING:
        connected(s);
        return;
    case SOCK_HANDSHAKE:
        handshake(s);
        return;
    case SOCK_OPEN:
        sock_arm_write(s, false);
        if (s->read_wants_write) {
            s->read_wants_write = false;
            s->h->readable(s);
            return;
        }
        s->h->writable(s);
        return;
    case SOCK_CLOSED:
        return;
    }
}

/* A read of a plain socket: >0 bytes, 0 would block, <0 h2g_err. */
static ssize_t plain_readv(int fd, const struct iovec *iov, int n)
{
    for (;;) {
        ssize_t r = readv(fd, iov, n);
        if (r > 0)
            return r;
        if (r == 0)
            return H2G_ERR_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 0;
        return errno == ECONNRESET ? H2G_ERR_RESET : H2G_ERR_IO;
    }
}

ssize_t sock_readv(struct sock *s, const struct iovec *iov, int n)
{
    if (s->ssl)
        return sock_read(s, iov[0].iov_base, iov[0].iov_len);
    return plain_readv(s->fd, iov, n);
}

ssize_t sock_read(struct sock *s, void *buf, size_t len)
{
    if (s->ssl) {
        ERR_clear_error();
        int n = SSL_read(s->ssl, buf, (int)len);
        if (n > 0)
            return n;
        int e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
            s->read_wants_write = true;
            sock_arm_write(s, true);
            return 0;
        }
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && n == 0))
            return H2G_ERR_EOF;
        return H2G_ERR_TLS;
    }
    struct iovec one = { .iov_base = buf, .iov_len = len };
    return plain_readv(s->fd, &one, 1);
}

ssize_t sock_read_raw(struct sock *s, void *buf, size_t len)
{
    struct iovec one = { .iov_base = buf, .iov_len = len };
    return plain_readv(s->fd, &one, 1);
}

bool sock_read_pending(const struct sock *s)
{
    return s->ssl && SSL_pending(s->ssl) > 0;
}

/* The bytes of the next SSL_write: q's from offset off on (what the
 * records before it in the same send carry). A full DATA frame with its
 * header in front (bufq_move_prefixed) is exactly one record
 * (BUF_BLOCK_SIZE) and goes in place, as does any first block of half a
 * record or more. Smaller leading blocks (HEADERS, WINDOW_UPDATE, a short
 * frame) are gathered into *stage, but only whole blocks that fit beside
 * them: cutting the next full frame to fill the record would leave every
 * later frame straddling two records, each then gathered. */
struct iovec sock_tls_chunk(const struct bufq *q, size_t off, char *stage, size_t rec)
{
    struct iovec iov[8];
    int n = bufq_peek_iov_at(q, off, iov, 8);
    size_t len = iov[0].iov_len;
    if (len <= rec && (n == 1 || len >= rec / 2))
        return iov[0];
    if (len > rec)
        return (struct iovec){ .iov_base = iov[0].iov_base, .iov_len = rec };
    int k = 1;
    while (k < n && len + iov[k].iov_len <= rec)
        len += iov[k++].iov_len;
    if (len > rec)
        len = rec;
    len = bufq_peek_at(q, off, stage, len);
    return (struct iovec){ .iov_base = stage, .iov_len = len };
}

static _Thread_local struct {
    uint64_t warmup;
    double idle;
} dyn_rec = { 1 << 20, 1.0 };

void sock_set_tls_dyn_rec(uint64_t warmup, double idle)
{
    dyn_rec.warmup = warmup;
    dyn_rec.idle = idle;
}

static uint32_t ms_of(double t)
{
    return (uint32_t)(uint64_t)(t * 1000.0);
}

size_t sock_tls_record_max(struct sock *s, double now)
{
    if (dyn_rec.warmup == 0)
        return BUF_RECORD_SIZE;
    if (s->tls_idle) {
        s->tls_idle = false;
        /* Modulo 2^32 ms: an idle time past 49 days may read as short. */
        if ((double)(uint32_t)(ms_of(now) - s->tls_idle_ms) > dyn_rec.idle * 1000.0)
            s->tls_warm = 0;
    }
    uint64_t warm = dyn_rec.warmup < UINT32_MAX ? dyn_rec.warmup : UINT32_MAX;
    return s->tls_warm >= warm ? BUF_RECORD_SIZE : SOCK_TLS_SMALL_RECORD;
}

/* n bytes went out over TLS. */
static void tls_wrote(struct sock *s, size_t n)
{
    s->tls_warm = n < UINT32_MAX - s->tls_warm ? s->tls_warm + (uint32_t)n : UINT32_MAX;
}

/* A gather ended with r (tlsbio_end): what tls_write returns. */
static ssize_t tls_ended(struct sock *s, struct bufq *q, size_t total, size_t sealed, int r)
{
    if (r < 0)
        return r;
    if (r == 0) {
        sock_arm_write(s, true);
        s->tls_slow = true;
        return (ssize_t)total;
    }
    bufq_drain(q, sealed);
    return (ssize_t)(total + sealed);
}

/* Seals q's bytes into records, at most budget of them, and sends them
 * in one go (tlsbio.h): the plaintext taken (>= 0), or <0 h2g_err. */
static ssize_t tls_write(struct sock *s, struct bufq *q, size_t budget)
{
    /* One per thread: each worker is one thread, and a record's bytes are
     * gathered here only for the SSL_write that copies them. */
    static _Thread_local char chunk[BUF_RECORD_SIZE];
    size_t held;
    int r = tlsbio_resume(s, &held);
    if (r <= 0)
        return tls_ended(s, q, 0, 0, r);
    bufq_drain(q, held);
    size_t total = held, sealed = 0;
    /* A reader that lets records wait gets no more than one record's
     * plaintext a send, so that what waits stays as small as BoringSSL's
     * own buffer would hold. */
    size_t most = s->tls_slow ? BUF_RECORD_SIZE : SIZE_MAX;
    tlsbio_begin(s);
    while (bufq_len(q) > sealed && total + sealed < budget) {
        size_t rec = sock_tls_record_max(s, ev_now(s->loop));
        struct iovec iov = sock_tls_chunk(q, sealed, chunk, rec);
        if (iov.iov_len > budget - total - sealed)
            iov.iov_len = budget - total - sealed;
        if (sealed && (!tlsbio_room(iov.iov_len) || sealed + iov.iov_len > most)) {
            r = tlsbio_end(s, sealed);
            if (r <= 0)
                return tls_ended(s, q, total, sealed, r);
            bufq_drain(q, sealed);
            total += sealed;
            sealed = 0;
            tlsbio_begin(s);
            continue;
        }
        ERR_clear_error();
        int w = SSL_write(s->ssl, iov.iov_base, (int)iov.iov_len);
        if (w <= 0) {
            int e = SSL_get_error(s->ssl, w);
            r = tlsbio_end(s, sealed);
            if (e == SSL_ERROR_WANT_READ) {
                /* on_rev tells the owner, which writes again. */
                s->write_wants_read = true;
                sock_read_start(s);
            } else if (e == SSL_ERROR_WANT_WRITE) {
                sock_arm_write(s, true);
            } else {
                return H2G_ERR_TLS;
            }
            return tls_ended(s, q, total, sealed, r);
        }
        sealed += (size_t)w;
        tls_wrote(s, (size_t)w);
    }
    return tls_ended(s, q, total, sealed, tlsbio_end(s, sealed));
}

/* One write of at most max bytes of a plain socket: >0 bytes, 0 would
 * block (EV_WRITE armed), <0 h2g_err. */
static ssize_t write_once(struct sock *s, struct bufq *q, size_t max)
{
    struct iovec iov[32];
    /* sendmsg for MSG_NOSIGNAL: a peer gone away is an error, not SIGPIPE. */
    struct msghdr msg = { .msg_iov = iov };
    msg.msg_iovlen = (size_t)bufq_peek_iov(q, iov, 32);
    for (size_t i = 0, sum = 0; bufq_len(q) > max && i < msg.msg_iovlen; i++) {
        if (sum + iov[i].iov_len >= max) {
            iov[i].iov_len = max - sum;
            msg.msg_iovlen = i + 1;
            break;
        }
        sum += iov[i].iov_len;
    }
    for (;;) {
        ssize_t n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            sock_arm_write(s, true);
            return 0;
        }
        return errno == EPIPE || errno == ECONNRESET ? H2G_ERR_RESET : H2G_ERR_IO;
    }
}

ssize_t sock_write(struct sock *s, struct bufq *q, size_t budget)
{
    size_t total = 0;
    if (s->ssl) {
        ssize_t n = tls_write(s, q, budget);
        if (n < 0)
            return n;
        total = (size_t)n;
    }
    while (!s->ssl && bufq_len(q) && total < budget) {
        ssize_t n = write_once(s, q, budget - total);
        if (n <= 0)
            return n < 0 ? n : (ssize_t)total;
        bufq_drain(q, (size_t)n);
        total += (size_t)n;
    }
    if (bufq_len(q) == 0) {
        sock_arm_write(s, false);
        s->tls_slow = false;
        if (s->ssl && !s->tls_idle && total) {
            s->tls_idle = true;
            s->tls_idle_ms = ms_of(ev_now(s->loop));
        }
    }
    return (ssize_t)total;
}

bool sock_close_notify(struct sock *s)
{
    if (!s->ssl || s->notified)
        return true;
    ERR_clear_error();
    int r = SSL_shutdown(s->ssl);
    if (r < 0 && SSL_get_error(s->ssl, r) == SSL_ERROR_WANT_WRITE) {
        sock_arm_write(s, true);
        return false;
    }
    s->notified = true; /* another SSL_shutdown would wait for the peer's */
    return true;
}

void sock_close(struct sock *s, bool tls_notify)
{
    if (s->state == SOCK_CLOSED)
        return;
    sock_read_stop(s);
    sock_arm_write(s, false);
    if (s->ssl) {
        if (tls_notify && !s->notified)
            SSL_shutdown(s->ssl);
        SSL_free(s->ssl); /* and what tlsbio kept for it */
        s->ssl = NULL;
        s->tls_kept = false;
    }
    close(s->fd);
    s->fd = -1;
    s->state = SOCK_CLOSED;
}

void sock_move(struct sock *dst, struct sock *src, const struct sock_handler *h)
{
    sock_read_stop(src);
    sock_arm_write(src, false);
    setup(dst, src->loop, src->fd, h);
    dst->ssl = src->ssl;
    dst->state = src->state;
    dst->write_wants_read = src->write_wants_read;
    dst->read_wants_write = src->read_wants_write;
    dst->tls_kept = src->tls_kept;
    if (dst->ssl)
        tlsbio_moved(dst);
    src->ssl = NULL;
    src->tls_kept = false;
    src->fd = -1;
    src->state = SOCK_CLOSED;
}

int sock_release(struct sock *s)
{
    sock_read_stop(s);
    sock_arm_write(s, false);
    int fd = s->fd;
    s->fd = -1;
    s->state = SOCK_CLOSED;
    return fd;
}
