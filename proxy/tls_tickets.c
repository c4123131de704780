#include "proxy/tls_tickets.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static struct {
    pthread_mutex_t mu;
    struct tls_ticket_key keys[TLS_TICKET_KEEP]; /* keys[0] encrypts */
    size_t num;
    time_t next_rotate;
} ring = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int keys_index = -1;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void init_keys_index(void)
{
    keys_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void ring_rotate(time_t now, uint8_t aes_len)
{
    memmove(&ring.keys[1], &ring.keys[0], (TLS_TICKET_KEEP - 1) * sizeof(ring.keys[0]));
    struct tls_ticket_key *k = &ring.keys[0];
    RAND_bytes(k->name, sizeof(k->name));
    RAND_bytes(k->aes, sizeof(k->aes));
    RAND_bytes(k->hmac, sizeof(k->hmac));
    k->aes_len = aes_len;
    k->hmac_len = 32;
    if (ring.num < TLS_TICKET_KEEP)
        ring.num++;
    ring.next_rotate = now + TLS_TICKET_ROTATE;
}

void tls_ticket_ring_current(time_t now, uint8_t aes_len, struct tls_ticket_key *out)
{
    pthread_mutex_lock(&ring.mu);
    if (ring.num == 0 || now >= ring.next_rotate || ring.keys[0].aes_len != aes_len)
        ring_rotate(now, aes_len);
    *out = ring.keys[0];
    pthread_mutex_unlock(&ring.mu);
}

bool tls_ticket_ring_find(const uint8_t name[16], struct tls_ticket_key *out, bool *is_current)
{
    bool found = false;
    pthread_mutex_lock(&ring.mu);
    for (size_t i = 0; i < ring.num && !found; i++) {
        if (memcmp(ring.keys[i].name, name, 16) == 0) {
            *out = ring.keys[i];
            *is_current = i == 0;
            found = true;
        }
    }
    pthread_mutex_unlock(&ring.mu);
    return found;
}

static int read_key(const char *path, uint8_t aes_len, struct tls_ticket_key *k, char *err,
                    size_t err_len)
{
    size_t want = 16 + 2 * (size_t)aes_len;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "--tls-ticket-key-file %s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t buf[81];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n != want) {
        snprintf(err, err_len,
                 "--tls-ticket-key-file %s: %s%zu bytes, but %s needs exactly %zu (16 of "
                 "name, %u of AES key, %u of HMAC key)",
                 path, n == sizeof(buf) ? "more than " : "", n == sizeof(buf) ? n - 1 : n,
                 aes_len == 16 ? "aes-128-cbc" : "aes-256-cbc", want, aes_len, aes_len);
        return -1;
    }
    memcpy(k->name, buf, 16);
    memcpy(k->aes, buf + 16, aes_len);
    memcpy(k->hmac, buf + 16 + aes_len, aes_len);
    k->aes_len = k->hmac_len = aes_len;
    return 0;
}

struct tls_ticket_keys *tls_ticket_keys_load(char *const *paths, size_t num, uint8_t aes_len,
                                             char *err, size_t err_len)
{
    struct tls_ticket_keys *k = xcalloc(1, sizeof(*k));
    k->aes_len = aes_len;
    k->v = num ? xcalloc(num, sizeof(*k->v)) : NULL;
    for (size_t i = 0; i < num; i++) {
        if (read_key(paths[i], aes_len, &k->v[i], err, err_len) < 0) {
            tls_ticket_keys_free(k);
            return NULL;
        }
        k->num++;
    }
    return k;
}

void tls_ticket_keys_free(struct tls_ticket_keys *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k->v, k->num * sizeof(*k->v));
    free(k->v);
    free(k);
}

/* The key named name, from the files' set or the process ring. */
static bool find_key(const struct tls_ticket_keys *keys, const uint8_t *name,
                     struct tls_ticket_key *out, bool *is_current)
{
    if (keys->num == 0)
        return tls_ticket_ring_find(name, out, is_current);
    for (size_t i = 0; i < keys->num; i++) {
        if (memcmp(keys->v[i].name, name, 16) == 0) {
            *out = keys->v[i];
            *is_current = i == 0;
            return true;
        }
    }
    return false;
}

static const EVP_CIPHER *key_cipher(const struct tls_ticket_key *k)
{
    return k->aes_len == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
}

/* BoringSSL's ticket key callback: 1 set up, 2 decrypted with an old key
 * (issue a new ticket), 0 unknown key (full handshake), -1 error. */
static int on_ticket_key(SSL *ssl, uint8_t *name, uint8_t *iv, EVP_CIPHER_CTX *cctx,
                         HMAC_CTX *hctx, int encrypt)
{
    const struct tls_ticket_keys *keys = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keys_index);
    struct tls_ticket_key k;
    int rc = 1;
    if (encrypt) {
        if (keys->num)
            k = keys->v[0];
        else
            tls_ticket_ring_current(time(NULL), keys->aes_len, &k);
        memcpy(name, k.name, 16);
        if (RAND_bytes(iv, EVP_CIPHER_iv_length(key_cipher(&k))) != 1 ||
            !EVP_EncryptInit_ex(cctx, key_cipher(&k), NULL, k.aes, iv))
            rc = -1;
    } else {
        bool current = false;
        if (!find_key(keys, name, &k, &current))
            return 0;
        if (!EVP_DecryptInit_ex(cctx, key_cipher(&k), NULL, k.aes, iv))
            rc = -1;
        else if (!current)
            rc = 2;
    }
    if (rc > 0 && !HMAC_Init_ex(hctx, k.hmac, k.hmac_len, EVP_sha256(), NULL))
        rc = -1;
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

void tls_tickets_use(SSL_CTX *ctx, const struct tls_ticket_keys *keys)
{
    pthread_once(&keys_once, init_keys_index);
    SSL_CTX_set_ex_data(ctx, keys_index, (void *)keys);
    SSL_CTX_set_tlsext_ticket_key_cb(ctx, on_ticket_key);
}
