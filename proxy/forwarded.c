#include "proxy/forwarded.h"

#include <openssl/rand.h>
#include <openssl/siphash.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The process's secret for obfuscated identifiers, and its "by" token. */
static uint64_t secret[2];
static char by_token[18];
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void make_secret(void)
{
    RAND_bytes((uint8_t *)secret, sizeof(secret));
    uint64_t by = SIPHASH_24(secret, (const uint8_t *)"by", 2);
    snprintf(by_token, sizeof(by_token), "_%016llx", (unsigned long long)by);
}

bool fwd_wants_local_addr(const struct config *cfg)
{
    return (cfg->add_forwarded & CFG_FWD_BY) && cfg->forwarded_by &&
           strcmp(cfg->forwarded_by, "ip") == 0;
}

/* A node: an IPv4 address is a token; IPv6 is bracketed, and either with
 * a port needs quotes (RFC 7239 §6). */
static int put_node(char *p, size_t room, const char *addr, size_t len, int port)
{
    bool v6 = memchr(addr, ':', len) != NULL;
    if (port >= 0)
        return snprintf(p, room, v6 ? "\"[%.*s]:%d\"" : "\"%.*s:%d\"", (int)len, addr, port);
    return snprintf(p, room, v6 ? "\"[%.*s]\"" : "%.*s", (int)len, addr);
}

/* The host as a token when it is one, else a quoted-string. Returns the
 * length written, or -1 when it does not fit room. */
static int put_host(char *p, size_t room, struct str host)
{
    bool token = host.len > 0;
    for (size_t i = 0; i < host.len && token; i++) {
        unsigned char c = (unsigned char)host.p[i];
        token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '_' || c == '~';
    }
    size_t n = 0;
    if (!token && n < room)
        p[n++] = '"';
    for (size_t i = 0; i < host.len && n + 2 < room; i++) {
        unsigned char c = (unsigned char)host.p[i];
        if (c < 0x20 || c == 0x7f)
            continue;
        if (c == '"' || c == '\\')
            p[n++] = '\\';
        p[n++] = (char)c;
    }
    if (!token && n < room)
        p[n++] = '"';
    return n + 1 < room ? (int)n : -1;
}

size_t fwd_element(char *buf, const struct config *cfg, const struct client_facts *f,
                   struct str authority, bool https)
{
    uint32_t params = cfg->add_forwarded;
    if (!params)
        return 0;
    pthread_once(&secret_once, make_secret);
    size_t n = 0;
    const size_t cap = FWD_ELEMENT_MAX;
    const char *by = cfg->forwarded_by && strcmp(cfg->forwarded_by, "obfuscated") != 0
                         ? cfg->forwarded_by : by_token;
    if (params & CFG_FWD_BY) {
        n += (size_t)snprintf(buf + n, cap - n, "by=");
        if (strcmp(by, "ip") == 0)
            n += (size_t)put_node(buf + n, cap - n, f->local, f->local_len,
                                  f->server_port ? f->server_port : -1);  /* 0: unix: */
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s", by);
    }
    if (params & CFG_FWD_FOR) {
        n += (size_t)snprintf(buf + n, cap - n, "%sfor=", n ? ";" : "");
        if (cfg->forwarded_for_ip) {
            n += (size_t)put_node(buf + n, cap - n, f->peer, f->peer_len, -1);
        } else {
            uint64_t id = SIPHASH_24(secret, (const uint8_t *)&f->conn_id, sizeof(f->conn_id));
            n += (size_t)snprintf(buf + n, cap - n, "_%016llx", (unsigned long long)id);
        }
    }
    if ((params & CFG_FWD_HOST) && authority.len) {
        size_t at = n;
        n += (size_t)snprintf(buf + n, cap - n, "%shost=", n ? ";" : "");
        int h = put_host(buf + n, cap - n - 16, authority);
        n = h < 0 ? at : n + (size_t)h;   /* too long a host: left out */
    }
    if (params & CFG_FWD_PROTO)
        n += (size_t)snprintf(buf + n, cap - n, "%sproto=%s", n ? ";" : "",
                              https ? "https" : "http");
    return n;
}
