/* The BIO under a TLS socket: records gathered into one send (tlsbio.h). */
#include "proxy/tlsbio.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xalloc.h"

/* Ciphertext the kernel did not take: sent before anything else. held is
 * the plaintext at the head of the writer's queue it carries. */
struct kept {
    size_t held, len, off;
    char data[];
};

static BIO_METHOD *method;
static int kept_index = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* One per thread: a worker gathers one socket's records at a time. */
static _Thread_local struct {
    const struct sock *owner; /* gathering for it; NULL: writing through */
    size_t len;
    size_t spare; /* kept free beside a record: its overhead and more */
    char data[TLSBIO_STAGE];
} stage;

static struct kept *kept_of(const struct sock *s)
{
    return s->tls_kept ? SSL_get_ex_data(s->ssl, kept_index) : NULL;
}

static void set_kept(struct sock *s, struct kept *k)
{
    SSL_set_ex_data(s->ssl, kept_index, k);
    s->tls_kept = k != NULL;
}

/* Appends len bytes to what s keeps (creating it). */
static struct kept *keep(struct sock *s, const char *p, size_t len)
{
    struct kept *k = kept_of(s);
    size_t held = 0, have = 0;
    if (k) {
        held = k->held;
        have = k->len - k->off;
        memmove(k->data, k->data + k->off, have);
    }
    k = xrealloc(k, sizeof(*k) + have + len);
    memcpy(k->data + have, p, len);
    k->held = held;
    k->off = 0;
    k->len = have + len;
    set_kept(s, k);
    return k;
}

/* Sends from p until done or the socket would block: the bytes sent, or a
 * negative h2g_err. */
static ssize_t send_some(int fd, const char *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        return errno == EPIPE || errno == ECONNRESET ? H2G_ERR_RESET : H2G_ERR_IO;
    }
    return (ssize_t)done;
}

/* Sends what s keeps: 1 all went (or nothing was kept), 0 would block,
 * <0 h2g_err. */
static int send_kept(struct sock *s, struct kept *k)
{
    if (!k || k->off == k->len)
        return 1;
    ssize_t n = send_some(s->fd, k->data + k->off, k->len - k->off);
    if (n < 0)
        return (int)n;
    k->off += (size_t)n;
    return k->off == k->len;
}

/* In a gather: to the stage, or past it to what s keeps. */
static int gather(struct sock *s, const char *in, size_t len)
{
    if (!kept_of(s) && stage.len + len > TLSBIO_STAGE) {
        /* Full (a post-handshake message beside the records): the stage
         * goes now, and what the kernel does not take is kept. */
        ssize_t n = send_some(s->fd, stage.data, stage.len);
        if (n < 0)
            return -1;
        if ((size_t)n < stage.len)
            keep(s, stage.data + n, stage.len - (size_t)n);
        stage.len = 0;
    }
    if (!kept_of(s) && stage.len + len <= TLSBIO_STAGE) {
        memcpy(stage.data + stage.len, in, len);
        stage.len += len;
    } else {
        keep(s, in, len);
    }
    return (int)len;
}

static int bio_write(BIO *b, const char *in, int inl)
{
    struct sock *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (inl <= 0)
        return 0;
    if (stage.owner == s)
        return gather(s, in, (size_t)inl);
    int r = send_kept(s, kept_of(s));
    if (r <= 0) {
        if (r == 0)
            BIO_set_retry_write(b);
        return -1;
    }
    ssize_t n = send_some(s->fd, in, (size_t)inl);
    if (n > 0)
        return (int)n;
    if (n == 0)
        BIO_set_retry_write(b);
    return -1;
}

static int bio_read(BIO *b, char *out, int outl)
{
    struct sock *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = read(s->fd, out, (size_t)(outl > 0 ? outl : 0));
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            BIO_set_retry_read(b);
        return -1;
    }
}

static long bio_ctrl(BIO *b, int cmd, long larg, void *parg)
{
    (void)larg;
    const struct sock *s = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* BoringSSL flushes after each flight: nothing waits here */
        return 1;
    case BIO_C_GET_FD:
        if (parg)
            *(int *)parg = s->fd;
        return s->fd;
    default:
        return 0;
    }
}

static void kept_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index, long argl,
                      void *argp)
{
    (void)parent, (void)ad, (void)index, (void)argl, (void)argp;
    free(ptr);
}

static void init(void)
{
    method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "h2gate socket");
    if (!method)
        abort();
    BIO_meth_set_write(method, bio_write);
    BIO_meth_set_read(method, bio_read);
    BIO_meth_set_ctrl(method, bio_ctrl);
    kept_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, kept_free);
}

void tlsbio_attach(struct sock *s)
{
    pthread_once(&once, init);
    BIO *b = BIO_new(method);
    if (!b)
        abort();
    BIO_set_data(b, s);
    BIO_set_init(b, 1);
    SSL_set_bio(s->ssl, b, b); /* one reference for both directions */
}

void tlsbio_moved(struct sock *s)
{
    BIO_set_data(SSL_get_rbio(s->ssl), s);
    struct kept *k = kept_of(s);
    if (k)
        k->held = 0;
}

int tlsbio_resume(struct sock *s, size_t *held)
{
    *held = 0;
    struct kept *k = kept_of(s);
    int r = send_kept(s, k);
    if (r <= 0 || !k)
        return r;
    *held = k->held;
    set_kept(s, NULL);
    free(k);
    return 1;
}

void tlsbio_begin(struct sock *s)
{
    stage.owner = s;
    stage.len = 0;
    /* and room for a post-handshake message (gather() copes anyway) */
    stage.spare = SSL_max_seal_overhead(s->ssl) + 512;
}

bool tlsbio_room(size_t len)
{
    return stage.len + len + stage.spare <= TLSBIO_STAGE;
}

int tlsbio_end(struct sock *s, size_t sealed)
{
    stage.owner = NULL;
    size_t len = stage.len;
    stage.len = 0;
    struct kept *k = kept_of(s);
    if (!k) {
        ssize_t n = len ? send_some(s->fd, stage.data, len) : 0;
        if (n < 0)
            return (int)n;
        if ((size_t)n == len)
            return 1;
        k = keep(s, stage.data + n, len - (size_t)n);
        k->held = sealed;
        return 0;
    }
    if (len)
        k = keep(s, stage.data, len);
    k->held = sealed;
    size_t held;
    return tlsbio_resume(s, &held);
}
