/* A configuration generation: everything built from one loading of the
 * options and the --conf file, checked completely on the main thread
 * before any worker sees it, then immutable. SIGHUP builds a new one;
 * workers switch to it at a loop boundary (worker.c, apply_gen), and
 * objects that point into a generation (a client connection's frontend,
 * an exchange's route) pin it through their worker's struct wgen, so an
 * old generation lives until the last of them ends. Backends are not in
 * a generation: they are interned in the process-wide registry
 * (config/registry.h), which frees a slot only once no generation names
 * it and no connection uses it. */
#ifndef H2G_PROXY_GEN_H
#define H2G_PROXY_GEN_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/stats-t.h"
#include "config/config-t.h"

struct auth_db;
struct cfg_registry;
struct alog_format;
struct lb_ring;
struct tls_certs;
struct gen_files;

struct gen {
    _Atomic size_t refs;       /* main's current pointer + one per worker using it */
    uint64_t id;               /* 1 at start, +1 per successful reload */
    struct config cfg;         /* owned */
    /* What was read from files (certificates, keys, the auth file, the
     * formats, the error pages): owned by files, which a rebuild shares;
     * the fields below up to pages are its views. */
    struct gen_files *files;
    struct tls_certs *certs;   /* server certificates; NULL without a TLS frontend */
    SSL_CTX *ssl_ctx;          /* tls_certs_ctx(certs) (borrowed), or NULL */
    struct stats_cert *cert_info; /* per certificate: label (borrowed) and notAfter */
    size_t num_cert_info;
    SSL_CTX *up_ctx_h2;        /* backend client contexts (ALPN h2, http/1.1), */
    SSL_CTX *up_ctx_h1;        /* NULL when no backend of that kind uses TLS */
    struct auth_db *auth_db;   /* --connect-auth-file, or NULL */
    struct alog_format *alog_fmt, *alog_fmt_tunnel;
    size_t num_slots;          /* backend registry slots when published */
    struct cfg_registry *registry; /* where its backends are interned (one
                                    * count per member, dropped with the last
                                    * member user, gen_members_unref), or
                                    * NULL before that */
    _Atomic size_t member_users;   /* see gen_members_ref */
    _Atomic bool members_released;
    struct lb_ring *rings;     /* per route: affinity=ip's hash ring (balance.h) */
    /* --error-page bodies: page_of[status - 400] indexes pages, -1 none. */
    struct gen_page {
        char *body;
        size_t len;
    } *pages;
    int16_t page_of[200];
};

/* The largest --error-page file h2gate takes. */
#define GEN_ERROR_PAGE_MAX (64 * 1024)

/* The body of h2gate's own answer with status, and its content type:
 * the --error-page file set for the status (text/html), else
 * "NNN Reason\n" written into buf (64 bytes; text/plain). */
const char *gen_error_body(const struct gen *g, int status, char *buf, const char **body,
                           size_t *len);

/* Takes over *cfg (zeroed on return, success or not) and loads what it
 * names: the server certificate and key, the backend TLS contexts, the
 * CONNECT auth file, the access log formats. Returns the generation with
 * one reference, or NULL with the error (naming the option or file) in
 * err. No socket is opened. */
struct gen *gen_build(struct config *cfg, char *err, size_t err_len);

/* gen_build, but sharing like's files instead of reading them again (NULL
 * like: gen_build): for a rebuild after a ;dns answer changed, whose
 * options and --conf text are like's, so a certificate half-rewritten on
 * disk at that moment cannot fail it, and nothing is parsed twice. */
struct gen *gen_rebuild(struct config *cfg, const struct gen *like, char *err, size_t err_len);

void gen_ref(struct gen *g);

/* The users that may still send requests to g's members: main while g is
 * its newest generation (the count gen_build starts with), each worker
 * while g is its current one or an exchange of g is alive, the probe
 * thread while it probes g's members. Client connections pin a
 * generation (gen_ref) for their frontend only: new requests on them use
 * the worker's current generation. Each user also holds a gen_ref. When
 * the last member user goes (or g is freed, if none ever went), g's
 * registry counts are dropped (cfg_registry_release), so a backend only
 * old connections' generations name can be reclaimed
 * (config/registry.h). Any thread. */
void gen_members_ref(struct gen *g);
void gen_members_unref(struct gen *g);
/* Generations built and not yet freed, in the whole process. */
size_t gen_alive(void);
/* Drops a reference; the last one frees the generation (any thread). */
void gen_unref(struct gen *g);

#endif
