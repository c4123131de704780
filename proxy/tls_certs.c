#include "proxy/tls_certs.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/tls_tickets.h"

static int certs_index = -1;
static pthread_once_t certs_once = PTHREAD_ONCE_INIT;

static void init_certs_index(void)
{
    certs_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char prefs[][9] = { "\x02h2", "\x08http/1.1" };
    for (size_t k = 0; k < 2; k++) {
        unsigned plen = prefs[k][0];
        for (unsigned i = 0; i < inlen;) {
            unsigned l = in[i];
            if (i + 1 + l > inlen)
                break;
            if (l == plen && memcmp(in + i + 1, prefs[k] + 1, l) == 0) {
                *out = in + i + 1;
                *outlen = (unsigned char)l;
                return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + l;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static void ssl_error(char *err, size_t err_len, const char *what, const char *file)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    snprintf(err, err_len, "%s %s: %s", what, file, buf);
}

bool tls_name_matches(const char *pattern, const char *host, size_t host_len)
{
    size_t plen = strlen(pattern);
    if (host_len && host[host_len - 1] == '.')
        host_len--;
    if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
        const char *rest = pattern + 1;           /* ".example.com" */
        if (!strchr(rest + 1, '.'))
            return false;                          /* "*.com" stands for too much */
        const char *dot = memchr(host, '.', host_len);
        if (!dot || dot == host)
            return false;
        size_t tail = host_len - (size_t)(dot - host);
        return tail == plen - 1 && strncasecmp(dot, rest, tail) == 0;
    }
    return plen == host_len && strncasecmp(pattern, host, host_len) == 0;
}

/* ---- choosing a certificate ---- */

/* Whether the client can take an ECDSA certificate: it offers an ECDSA
 * signature algorithm, and either TLS 1.3 (which we allow) or a TLS 1.2
 * ECDHE-ECDSA suite. */
static bool client_takes_ecdsa(const SSL_CLIENT_HELLO *ch, bool tls13_allowed)
{
    const uint8_t *d;
    size_t n;
    bool sig = false, tls13 = false, suite = false;
    if (SSL_early_callback_ctx_extension_get(ch, TLSEXT_TYPE_signature_algorithms, &d, &n) &&
        n >= 2) {
        for (size_t i = 2; i + 1 < n; i += 2)
            sig |= d[i + 1] == 0x03; /* ecdsa_*: 0x0403, 0x0503, 0x0603, 0x0203 */
    } else {
        sig = true; /* no extension: TLS 1.2's default allows ECDSA with SHA-1 */
    }
    if (tls13_allowed &&
        SSL_early_callback_ctx_extension_get(ch, TLSEXT_TYPE_supported_versions, &d, &n) &&
        n >= 1) {
        for (size_t i = 1; i + 1 < n; i += 2)
            tls13 |= d[i] == 0x03 && d[i + 1] == 0x04;
    }
    static const uint16_t ecdsa_suites[] = { 0xc02b, 0xc02c, 0xcca9, 0xc009, 0xc00a,
                                             0xc023, 0xc024 };
    for (size_t i = 0; i + 1 < ch->cipher_suites_len && !suite; i += 2) {
        uint16_t cs = (uint16_t)(ch->cipher_suites[i] << 8 | ch->cipher_suites[i + 1]);
        for (size_t j = 0; j < sizeof(ecdsa_suites) / sizeof(ecdsa_suites[0]); j++)
            suite |= cs == ecdsa_suites[j];
    }
    return sig && (tls13 || suite);
}

/* How well c's names match host: 2 exactly, 1 by a wildcard, 0 not. */
static int match_rank(const struct tls_cert *c, const char *host, size_t len)
{
    int best = 0;
    for (size_t i = 0; i < c->num_names && best < 2; i++) {
        if (tls_name_matches(c->names[i], host, len))
            best = c->names[i][0] == '*' ? (best > 1 ? best : 1) : 2;
    }
    return best;
}

static const struct tls_cert *choose(const struct tls_certs *cs, const char *sni, bool ecdsa)
{
    const struct tls_cert *pick = &cs->v[0];
    if (!sni)
        return pick;
    size_t len = strlen(sni);
    int pick_rank = 0;
    bool pick_fits = false;
    for (size_t i = 0; i < cs->num; i++) {
        int r = match_rank(&cs->v[i], sni, len);
        bool fits = cs->v[i].ecdsa == ecdsa;
        if (r > pick_rank || (r && r == pick_rank && fits && !pick_fits)) {
            pick = &cs->v[i];
            pick_rank = r;
            pick_fits = fits;
        }
    }
    return pick;
}

static enum ssl_select_cert_result_t on_select_cert(const SSL_CLIENT_HELLO *ch)
{
    SSL *ssl = ch->ssl;
    const struct tls_certs *cs = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), certs_index);
    if (cs->num < 2)
        return ssl_select_cert_success;
    bool tls13 = SSL_CTX_get_max_proto_version(cs->v[0].ctx) >= TLS1_3_VERSION;
    const struct tls_cert *c =
        choose(cs, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
               client_takes_ecdsa(ch, tls13));
    if (c->ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, c->ctx))
        return ssl_select_cert_error;
    return ssl_select_cert_success;
}

/* ---- loading ---- */

/* The first line of --private-key-passwd-file, or NULL with err. */
static char *read_password(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "--private-key-passwd-file %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[1024];
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0]) {
        snprintf(err, err_len, "--private-key-passwd-file %s: the first line is empty", path);
        return NULL;
    }
    return xstrdup(buf);
}

static int use_key(SSL_CTX *ctx, const char *path, const char *pass, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot load private key %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, (void *)(pass ? pass : ""));
    fclose(f);
    if (!key) {
        ssl_error(err, err_len, "cannot load private key", path);
        if (!pass && strlen(err) + 60 < err_len)
            strcat(err, " (encrypted? give --private-key-passwd-file)");
        return -1;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error(err, err_len, "private key does not match its certificate:", path);
        return -1;
    }
    return 0;
}

static int use_ocsp(SSL_CTX *ctx, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "OCSP response %s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = xmalloc(65536);
    size_t n = fread(buf, 1, 65536, f);
    fclose(f);
    int rc = 0;
    if (n == 0 || n == 65536 || buf[0] != 0x30) {
        snprintf(err, err_len, "OCSP response %s: not a DER OCSP response of under 64K", path);
        rc = -1;
    } else if (!SSL_CTX_set_ocsp_response(ctx, buf, n)) {
        ssl_error(err, err_len, "OCSP response", path);
        rc = -1;
    }
    free(buf);
    return rc;
}

static void add_name(struct tls_cert *c, const unsigned char *p, size_t len)
{
    if (len == 0 || memchr(p, '\0', len))
        return;
    char *s = xstrndup((const char *)p, len);
    for (char *q = s; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    c->names = xrealloc(c->names, (c->num_names + 1) * sizeof(*c->names));
    c->names[c->num_names++] = s;
}

/* The leaf's DNS names (subjectAltName dNSName, else the CN), key type,
 * notAfter and label. */
static void describe(struct tls_cert *c, X509 *x, const char *file)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (size_t i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
        if (gn->type == GEN_DNS)
            add_name(c, ASN1_STRING_get0_data(gn->d.dNSName),
                     (size_t)ASN1_STRING_length(gn->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    X509_NAME *subj = X509_get_subject_name(x);
    int cn = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (c->num_names == 0 && cn >= 0) {
        ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, cn));
        add_name(c, ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d));
    }
    EVP_PKEY *pk = X509_get_pubkey(x);
    c->ecdsa = pk && EVP_PKEY_id(pk) == EVP_PKEY_EC;
    EVP_PKEY_free(pk);
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
    c->not_after = (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, subj, 0, XN_FLAG_RFC2253);
    const uint8_t *p;
    size_t len;
    BIO_mem_contents(b, &p, &len);
    c->label = len ? xstrndup((const char *)p, len) : xstrdup(file);
    BIO_free(b);
}

/* What every server context has, whichever certificate it holds. */
static SSL_CTX *base_ctx(const struct config *cfg, char *err, size_t err_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, err_len, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, (uint16_t)cfg->tls_min_proto_version);
    SSL_CTX_set_max_proto_version(ctx, (uint16_t)cfg->tls_max_proto_version);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    static const uint8_t sid_ctx[] = "h2gate";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    if (!SSL_CTX_set_strict_cipher_list(ctx, cfg->ciphers)) {
        ssl_error(err, err_len, "--ciphers", cfg->ciphers);
        snprintf(err + strlen(err), err_len - strlen(err),
                 " (give TLS 1.2 suites BoringSSL knows, colon-separated)");
        goto fail;
    }
    if (!SSL_CTX_set1_curves_list(ctx, cfg->ecdh_curves)) {
        ERR_clear_error();
        snprintf(err, err_len, "--ecdh-curves %s: unknown group (known: X25519, P-256, "
                 "P-384, P-521)", cfg->ecdh_curves);
        goto fail;
    }
    if (cfg->verify_client) {
        STACK_OF(X509_NAME) *cas = SSL_load_client_CA_file(cfg->verify_client_cacert);
        if (!cas || SSL_CTX_load_verify_locations(ctx, cfg->verify_client_cacert, NULL) != 1) {
            sk_X509_NAME_pop_free(cas, X509_NAME_free);
            ssl_error(err, err_len, "--verify-client-cacert", cfg->verify_client_cacert);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, cas);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, NULL);
    SSL_CTX_set_select_certificate_cb(ctx, on_select_cert);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static int load_cert(struct tls_cert *c, const struct config *cfg, const char *key_file,
                     const char *cert_file, const char *ocsp_file, const char *pass,
                     char *err, size_t err_len)
{
    if (!(c->ctx = base_ctx(cfg, err, err_len)))
        return -1;
    if (SSL_CTX_use_certificate_chain_file(c->ctx, cert_file) != 1) {
        ssl_error(err, err_len, "cannot load certificate", cert_file);
        return -1;
    }
    if (use_key(c->ctx, key_file, pass, err, err_len) < 0)
        return -1;
    if (ocsp_file && use_ocsp(c->ctx, ocsp_file, err, err_len) < 0)
        return -1;
    describe(c, SSL_CTX_get0_certificate(c->ctx), cert_file);
    return 0;
}

/* A metric's label must name one certificate: one whose subject an
 * earlier one has (an RSA and an ECDSA twin) is named by its file. */
static void unique_labels(struct tls_certs *cs, const struct config *cfg)
{
    for (size_t i = 1; i < cs->num; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cs->v[i].label, cs->v[j].label) == 0) {
                free(cs->v[i].label);
                cs->v[i].label = xstrdup(cfg->subcerts.v[i - 1].cert_file);
                break;
            }
        }
    }
}

struct tls_certs *tls_certs_new(const struct config *cfg, char *err, size_t err_len)
{
    pthread_once(&certs_once, init_certs_index);
    struct tls_certs *cs = xcalloc(1, sizeof(*cs));
    char *pass = NULL;
    if (cfg->private_key_passwd_file &&
        !(pass = read_password(cfg->private_key_passwd_file, err, err_len)))
        goto fail;
    cs->tickets = tls_ticket_keys_load(cfg->tls_ticket_key_files.v,
                                       cfg->tls_ticket_key_files.num,
                                       (uint8_t)cfg->tls_ticket_key_cipher, err, err_len);
    if (!cs->tickets)
        goto fail;
    cs->v = xcalloc(1 + cfg->subcerts.num, sizeof(*cs->v));
    for (size_t i = 0; i <= cfg->subcerts.num; i++) {
        const struct cfg_subcert *sc = i ? &cfg->subcerts.v[i - 1] : NULL;
        cs->num++;
        const char *ocsp = cfg->no_ocsp ? NULL : sc ? sc->ocsp_file : cfg->ocsp_file;
        if (load_cert(&cs->v[i], cfg, sc ? sc->key_file : cfg->private_key_file,
                      sc ? sc->cert_file : cfg->cert_file, ocsp, pass, err, err_len) < 0)
            goto fail;
        SSL_CTX_set_ex_data(cs->v[i].ctx, certs_index, cs);
        tls_tickets_use(cs->v[i].ctx, cs->tickets);
    }
    unique_labels(cs, cfg);
    if (pass)
        OPENSSL_cleanse(pass, strlen(pass));
    free(pass);
    return cs;
fail:
    if (pass)
        OPENSSL_cleanse(pass, strlen(pass));
    free(pass);
    tls_certs_free(cs);
    return NULL;
}

void tls_certs_free(struct tls_certs *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->num; i++) {
        SSL_CTX_free(cs->v[i].ctx);
        for (size_t j = 0; j < cs->v[i].num_names; j++)
            free(cs->v[i].names[j]);
        free(cs->v[i].names);
        free(cs->v[i].label);
    }
    free(cs->v);
    tls_ticket_keys_free(cs->tickets);
    free(cs);
}

SSL_CTX *tls_certs_ctx(const struct tls_certs *cs)
{
    return cs->v[0].ctx;
}
