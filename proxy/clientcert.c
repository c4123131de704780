#include "proxy/clientcert.h"

#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static void hex(char *out, const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

static char *name_text(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    const uint8_t *p;
    size_t len;
    BIO_mem_contents(b, &p, &len);
    char *s = xstrndup((const char *)p, len);
    BIO_free(b);
    return s;
}

char *clientcert_sf_binary(const uint8_t *p, size_t len)
{
    size_t b64_len;
    EVP_EncodedLength(&b64_len, len); /* counts the NUL */
    char *s = xmalloc(b64_len + 2);
    s[0] = ':';
    size_t n = EVP_EncodeBlock((uint8_t *)s + 1, p, len);
    s[1 + n] = ':';
    s[2 + n] = '\0';
    return s;
}

/* DER of x as an RFC 8941 byte sequence. */
static char *sf_cert(X509 *x)
{
    uint8_t *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0)
        return NULL;
    char *s = clientcert_sf_binary(der, (size_t)len);
    OPENSSL_free(der);
    return s;
}

/* ", "-joined byte sequences of the chain the client sent, without its
 * own certificate (a server's peer chain holds none of it). */
static char *sf_chain(SSL *ssl)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    size_t num = chain ? sk_X509_num(chain) : 0, len = 0;
    char *out = NULL;
    for (size_t i = 0; i < num; i++) {
        char *one = sf_cert(sk_X509_value(chain, i));
        if (!one)
            continue;
        size_t n = strlen(one);
        out = xrealloc(out, len + n + 3);
        if (len) {
            memcpy(out + len, ", ", 2);
            len += 2;
        }
        memcpy(out + len, one, n + 1);
        len += n;
        free(one);
    }
    return out;
}

struct clientcert *clientcert_new(SSL *ssl, bool fields)
{
    X509 *x = SSL_get_peer_certificate(ssl);
    if (!x)
        return NULL;
    struct clientcert *c = xcalloc(1, sizeof(*c));
    uint8_t *der = NULL;
    int len = i2d_X509(x, &der);
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(der, (size_t)(len > 0 ? len : 0), md);
    hex(c->sha256, md, SHA256_DIGEST_LENGTH);
    SHA1(der, (size_t)(len > 0 ? len : 0), md);
    hex(c->sha1, md, SHA_DIGEST_LENGTH);
    OPENSSL_free(der);
    c->subject = name_text(X509_get_subject_name(x));
    c->issuer = name_text(X509_get_issuer_name(x));
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    size_t slen = (size_t)ASN1_STRING_length(serial);
    c->serial = xmalloc(2 * slen + 1);
    hex(c->serial, ASN1_STRING_get0_data(serial), slen);
    if (fields) {
        c->field = sf_cert(x);
        c->chain_field = sf_chain(ssl);
    }
    X509_free(x);
    return c;
}

void clientcert_free(struct clientcert *c)
{
    if (!c)
        return;
    free(c->subject);
    free(c->issuer);
    free(c->serial);
    free(c->field);
    free(c->chain_field);
    free(c);
}
