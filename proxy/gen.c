/* Configuration generations: see gen.h. */
#include "proxy/balance.h"
#include "proxy/gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "config/config.h"
#include "config/registry.h"
#include "proxy/accesslog.h"
#include "proxy/auth.h"
#include "proxy/tls.h"
#include "proxy/xlate.h"
#include "proxy/tls_certs.h"

static _Atomic size_t num_alive;

size_t gen_alive(void)
{
    return atomic_load_explicit(&num_alive, memory_order_relaxed);
}

/* What gen_build reads from files, owned here and shared by every
 * generation a rebuild makes from the one that read them; the generation's
 * own fields of the same names are views of it. */
struct gen_files {
    _Atomic size_t refs;
    struct tls_certs *certs;
    struct stats_cert *cert_info;
    SSL_CTX *up_ctx_h2, *up_ctx_h1;
    struct auth_db *auth_db;
    struct alog_format *alog_fmt, *alog_fmt_tunnel;
    struct gen_page *pages;
    size_t num_pages;
};

static void files_unref(struct gen_files *f)
{
    if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    alog_format_free(f->alog_fmt);
    alog_format_free(f->alog_fmt_tunnel);
    auth_db_free(f->auth_db);
    free(f->cert_info);
    tls_certs_free(f->certs);
    SSL_CTX_free(f->up_ctx_h2);
    SSL_CTX_free(f->up_ctx_h1);
    for (size_t i = 0; i < f->num_pages; i++)
        free(f->pages[i].body);
    free(f->pages);
    free(f);
}

/* The last use of the registry's objects through g: from here main may
 * free the slots only g named (config/registry.h). Once. */
static void release_members(struct gen *g)
{
    if (g->registry && !atomic_exchange_explicit(&g->members_released, true,
                                                 memory_order_acq_rel))
        cfg_registry_release(g->registry, &g->cfg);
}

static void gen_free(struct gen *g)
{
    atomic_fetch_sub_explicit(&num_alive, 1, memory_order_relaxed);
    files_unref(g->files);
    lb_rings_free(g->rings, g->cfg.num_routes);
    release_members(g);
    cfg_cleanup(&g->cfg);
    free(g);
}

/* Points g's views at f's contents and takes a reference to f. */
static void use_files(struct gen *g, struct gen_files *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    g->files = f;
    g->certs = f->certs;
    g->ssl_ctx = f->certs ? tls_certs_ctx(f->certs) : NULL;
    g->cert_info = f->cert_info;
    g->num_cert_info = f->certs ? f->certs->num : 0;
    g->up_ctx_h2 = f->up_ctx_h2;
    g->up_ctx_h1 = f->up_ctx_h1;
    g->auth_db = f->auth_db;
    g->alog_fmt = f->alog_fmt;
    g->alog_fmt_tunnel = f->alog_fmt_tunnel;
    g->pages = f->pages;
}

/* The access log formats: --accesslog-json's object, the configured
 * template (in its --accesslog-escape), or nghttpx's default plus a
 * tunnel variant with duration and bytes. */
static int load_formats(const struct config *cfg, struct gen_files *g, char *err,
                        size_t err_len)
{
    char msg[512];
    if (!cfg->accesslog_file && !cfg->accesslog_syslog)
        return 0;
    if (cfg->accesslog_json) {
        g->alog_fmt = alog_format_compile_escaped(alog_json_format(), ALOG_ESCAPE_JSON, msg,
                                                  sizeof(msg));
    } else if (cfg->accesslog_format) {
        enum alog_escape esc = cfg->accesslog_escape == CFG_ALOG_ESCAPE_JSON
                                   ? ALOG_ESCAPE_JSON : ALOG_ESCAPE_DEFAULT;
        g->alog_fmt = alog_format_compile_escaped(cfg->accesslog_format, esc, msg, sizeof(msg));
    } else {
        g->alog_fmt_tunnel =
            alog_format_compile(alog_default_tunnel_format(), msg, sizeof(msg));
        g->alog_fmt = alog_format_compile(alog_default_format(), msg, sizeof(msg));
    }
    if (!g->alog_fmt) {
        snprintf(err, err_len, "--accesslog-format: %s", msg);
        return -1;
    }
    return 0;
}

static int load_tls(const struct config *cfg, struct gen_files *g, char *err, size_t err_len)
{
    for (size_t i = 0; i < cfg->num_frontends && !g->certs; i++) {
        if (cfg->frontends[i].tls && !(g->certs = tls_certs_new(cfg, err, err_len)))
            return -1;
    }
    if (g->certs) {
        g->cert_info = xcalloc(g->certs->num, sizeof(*g->cert_info));
        for (size_t i = 0; i < g->certs->num; i++)
            g->cert_info[i] = (struct stats_cert){ g->certs->v[i].label, g->certs->v[i].not_after };
    }
    char msg[512];
    if (tls_upstream_ctx_new(cfg, &g->up_ctx_h2, &g->up_ctx_h1, msg, sizeof(msg)) < 0) {
        snprintf(err, err_len, "backend TLS: %s", msg);
        return -1;
    }
    return 0;
}

/* Reads one --error-page file into *page. */
static int read_page(const char *path, struct gen_page *page, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "--error-page: %s: %s", path, strerror(errno));
        return -1;
    }
    page->body = xmalloc(GEN_ERROR_PAGE_MAX + 1);
    page->len = fread(page->body, 1, GEN_ERROR_PAGE_MAX + 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed || page->len > GEN_ERROR_PAGE_MAX) {
        snprintf(err, err_len, "--error-page: %s: %s", path,
                 failed ? "cannot read it" : "larger than 64 KiB");
        return -1;
    }
    return 0;
}

/* Every --error-page file. */
static int load_error_pages(const struct config *c, struct gen_files *f, char *err,
                            size_t err_len)
{
    if (!c->num_error_pages)
        return 0;
    f->pages = xcalloc(c->num_error_pages, sizeof(*f->pages));
    for (size_t i = 0; i < c->num_error_pages; i++) {
        f->num_pages = i + 1;
        if (read_page(c->error_pages[i].path, &f->pages[i], err, err_len) < 0)
            return -1;
    }
    return 0;
}

/* A page for a code beats "*" whatever the order, and a later page for
 * the same code beats an earlier one. */
static void map_error_pages(struct gen *g)
{
    const struct config *c = &g->cfg;
    for (size_t i = 0; i < 200; i++)
        g->page_of[i] = -1;
    for (int pass = 0; pass < 2; pass++) {   /* "*" first, then the codes */
        for (size_t i = 0; i < c->num_error_pages; i++) {
            int code = c->error_pages[i].code;
            if ((code == 0) != (pass == 0))
                continue;
            for (int s = 400; s < 600; s++)
                if (code == 0 || code == s)
                    g->page_of[s - 400] = (int16_t)i;
        }
    }
}

const char *gen_error_body(const struct gen *g, int status, char *buf, const char **body,
                           size_t *len)
{
    int i = status >= 400 && status < 600 ? g->page_of[status - 400] : -1;
    if (i >= 0) {
        *body = g->pages[i].body;
        *len = g->pages[i].len;
        return "text/html; charset=utf-8";
    }
    *len = xlate_error_body(buf, 64, status);
    *body = buf;
    return "text/plain; charset=utf-8";
}

/* Reads every file cfg names, or NULL with the error in err. */
static struct gen_files *load_files(const struct config *cfg, char *err, size_t err_len)
{
    struct gen_files *f = xcalloc(1, sizeof(*f));
    atomic_init(&f->refs, 1);
    char msg[512];
    if (cfg->connect_auth_file && !(f->auth_db = auth_db_load(cfg->connect_auth_file, msg,
                                                               sizeof(msg)))) {
        snprintf(err, err_len, "--connect-auth-file: %s", msg);
    } else if (load_formats(cfg, f, err, err_len) == 0 && load_tls(cfg, f, err, err_len) == 0 &&
               load_error_pages(cfg, f, err, err_len) == 0) {
        return f;
    }
    files_unref(f);
    return NULL;
}

struct gen *gen_rebuild(struct config *cfg, const struct gen *like, char *err, size_t err_len)
{
    struct gen *g = xcalloc(1, sizeof(*g));
    atomic_fetch_add_explicit(&num_alive, 1, memory_order_relaxed);
    atomic_init(&g->refs, 1);
    atomic_init(&g->member_users, 1);
    g->cfg = *cfg;
    *cfg = (struct config){ 0 };
    g->num_slots = g->cfg.num_backends; /* until interned (config/registry.h) */
    struct gen_files *f = like ? like->files : load_files(&g->cfg, err, err_len);
    if (!f) {
        gen_free(g);
        return NULL;
    }
    use_files(g, f);
    if (!like)
        files_unref(f);   /* g's reference is the only one */
    map_error_pages(g);
    g->rings = lb_rings_build(&g->cfg);
    return g;
}

struct gen *gen_build(struct config *cfg, char *err, size_t err_len)
{
    return gen_rebuild(cfg, NULL, err, err_len);
}

void gen_ref(struct gen *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void gen_members_ref(struct gen *g)
{
    atomic_fetch_add_explicit(&g->member_users, 1, memory_order_relaxed);
}

void gen_members_unref(struct gen *g)
{
    if (g && atomic_fetch_sub_explicit(&g->member_users, 1, memory_order_acq_rel) == 1)
        release_members(g);
}

void gen_unref(struct gen *g)
{
    if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        gen_free(g);
}
