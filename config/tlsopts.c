/* The TLS options' values: --subcert, the protocol versions, the ticket
 * key cipher, and the repeatable path lists. Pure parsing (config/parse.h
 * has the contracts); files are read by proxy/ when a generation is
 * built. */
#include "config/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"

/* KEYPATH:CERTPATH[;ocsp=PATH]. The key path ends at the first ':', as in
 * nghttpx, so it cannot hold one. */
const char *cfg_parse_subcert(struct str s, struct cfg_subcert *out)
{
    *out = (struct cfg_subcert){ 0 };
    const char *colon = memchr(s.p, ':', s.len);
    if (!colon || colon == s.p)
        return "expected KEYPATH:CERTPATH[;ocsp=PATH]";
    const char *end = s.p + s.len;
    const char *semi = memchr(colon, ';', (size_t)(end - colon));
    const char *cert_end = semi ? semi : end;
    if (cert_end == colon + 1)
        return "the certificate path is empty (expected KEYPATH:CERTPATH)";
    char *ocsp = NULL;
    for (const char *p = semi; p && p < end;) {
        p++;
        const char *q = memchr(p, ';', (size_t)(end - p));
        size_t n = (size_t)((q ? q : end) - p);
        if (n > 5 && memcmp(p, "ocsp=", 5) == 0) {
            free(ocsp);
            ocsp = xstrndup(p + 5, n - 5);
        } else if (n) {
            free(ocsp);
            return "unknown parameter (the one known is ocsp=PATH)";
        }
        p = q;
    }
    out->key_file = xstrndup(s.p, (size_t)(colon - s.p));
    out->cert_file = xstrndup(colon + 1, (size_t)(cert_end - colon - 1));
    out->ocsp_file = ocsp;
    return NULL;
}

void cfg_subcerts_add(struct cfg_subcerts *l, struct cfg_subcert c)
{
    l->v = xrealloc(l->v, (l->num + 1) * sizeof(*l->v));
    l->v[l->num++] = c;
}

void cfg_subcerts_cleanup(struct cfg_subcerts *l)
{
    for (size_t i = 0; i < l->num; i++) {
        free(l->v[i].key_file);
        free(l->v[i].cert_file);
        free(l->v[i].ocsp_file);
    }
    free(l->v);
    *l = (struct cfg_subcerts){ 0 };
}

const char *cfg_parse_tls_version(struct str s, uint32_t *out)
{
    static const struct {
        const char *name;
        uint32_t v;
    } versions[] = { { "TLSv1.2", CFG_TLS12 }, { "TLSv1.3", CFG_TLS13 } };
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        if (s.len == strlen(versions[i].name) && strncasecmp(s.p, versions[i].name, s.len) == 0) {
            *out = versions[i].v;
            return NULL;
        }
    }
    if ((s.len == 7 && (strncasecmp(s.p, "TLSv1.1", 7) == 0 || strncasecmp(s.p, "TLSv1.0", 7) == 0)))
        return "h2gate does not offer TLS 1.1 or older (expected TLSv1.2 or TLSv1.3)";
    return "unknown version (expected TLSv1.2 or TLSv1.3)";
}

const char *cfg_parse_ticket_cipher(struct str s, uint32_t *key_len)
{
    if (s.len == 11 && strncasecmp(s.p, "aes-128-cbc", 11) == 0)
        *key_len = 16;
    else if (s.len == 11 && strncasecmp(s.p, "aes-256-cbc", 11) == 0)
        *key_len = 32;
    else
        return "expected aes-128-cbc or aes-256-cbc";
    return NULL;
}

void cfg_paths_add(struct cfg_paths *l, const char *path)
{
    l->v = xrealloc(l->v, (l->num + 1) * sizeof(*l->v));
    l->v[l->num++] = xstrdup(path);
}

void cfg_paths_cleanup(struct cfg_paths *l)
{
    for (size_t i = 0; i < l->num; i++)
        free(l->v[i]);
    free(l->v);
    *l = (struct cfg_paths){ 0 };
}

/* BoringSSL has no way to choose TLS 1.3 suites: only its list passes. */
static const char *check_tls13(const char *opt, const char *value, const char *fixed, char *buf,
                               size_t len)
{
    if (!value || strcmp(value, fixed) == 0)
        return NULL;
    snprintf(buf, len, "--%s '%s': BoringSSL does not let TLS 1.3 cipher suites be chosen; "
             "drop the option (its fixed list is %s)", opt, value, fixed);
    return buf;
}

const char *cfg_check_tls(struct config *cfg, const char *ciphers, const char *curves,
                          const char *tls13_ciphers, char *buf, size_t len)
{
    const char *msg;
    if (!cfg->ciphers)
        cfg->ciphers = xstrdup(ciphers);
    if (!cfg->client_ciphers)
        cfg->client_ciphers = xstrdup(ciphers);
    if (!cfg->ecdh_curves)
        cfg->ecdh_curves = xstrdup(curves);
    if (cfg->tls_min_proto_version > cfg->tls_max_proto_version)
        return "--tls-min-proto-version is above --tls-max-proto-version: lower the first or "
               "raise the second";
    if ((msg = check_tls13("tls13-ciphers", cfg->tls13_ciphers, tls13_ciphers, buf, len)) ||
        (msg = check_tls13("tls13-client-ciphers", cfg->tls13_client_ciphers, tls13_ciphers, buf,
                           len)))
        return msg;
    if (cfg->verify_client && !cfg->verify_client_cacert)
        return "--verify-client needs --verify-client-cacert=PATH (the CAs that sign client "
               "certificates)";
    if (cfg->forward_client_cert && !cfg->verify_client)
        return "--forward-client-cert forwards verified client certificates: give "
               "--verify-client too";
    return NULL;
}
