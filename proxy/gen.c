/* Configuration generations: see gen.h. */
#include "proxy/balance.h"
#include "proxy/gen.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "config/config.h"
#include "proxy/accesslog.h"
#include "proxy/auth.h"
#include "proxy/tls.h"
#include "proxy/tls_certs.h"

static _Atomic size_t num_alive;

size_t gen_alive(void)
{
    return atomic_load_explicit(&num_alive, memory_order_relaxed);
}

static void gen_free(struct gen *g)
{
    atomic_fetch_sub_explicit(&num_alive, 1, memory_order_relaxed);
    alog_format_free(g->alog_fmt);
    alog_format_free(g->alog_fmt_tunnel);
    auth_db_free(g->auth_db);
    free(g->cert_info);
    tls_certs_free(g->certs);
    SSL_CTX_free(g->up_ctx_h2);
    SSL_CTX_free(g->up_ctx_h1);
    lb_rings_free(g->rings, g->cfg.num_routes);
    cfg_cleanup(&g->cfg);
    free(g);
}

/* The access log formats: --accesslog-json's object, the configured
 * template (in its --accesslog-escape), or nghttpx's default plus a
 * tunnel variant with duration and bytes. */
static int load_formats(struct gen *g, char *err, size_t err_len)
{
    const struct config *cfg = &g->cfg;
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

static int load_tls(struct gen *g, char *err, size_t err_len)
{
    const struct config *cfg = &g->cfg;
    for (size_t i = 0; i < cfg->num_frontends && !g->certs; i++) {
        if (cfg->frontends[i].tls && !(g->certs = tls_certs_new(cfg, err, err_len)))
            return -1;
    }
    g->ssl_ctx = g->certs ? tls_certs_ctx(g->certs) : NULL;
    if (g->certs) {
        g->num_cert_info = g->certs->num;
        g->cert_info = xcalloc(g->num_cert_info, sizeof(*g->cert_info));
        for (size_t i = 0; i < g->num_cert_info; i++)
            g->cert_info[i] = (struct stats_cert){ g->certs->v[i].label, g->certs->v[i].not_after };
    }
    char msg[512];
    if (tls_upstream_ctx_new(cfg, &g->up_ctx_h2, &g->up_ctx_h1, msg, sizeof(msg)) < 0) {
        snprintf(err, err_len, "backend TLS: %s", msg);
        return -1;
    }
    return 0;
}

struct gen *gen_build(struct config *cfg, char *err, size_t err_len)
{
    struct gen *g = xcalloc(1, sizeof(*g));
    atomic_fetch_add_explicit(&num_alive, 1, memory_order_relaxed);
    atomic_init(&g->refs, 1);
    g->cfg = *cfg;
    *cfg = (struct config){ 0 };
    g->num_slots = g->cfg.num_backends; /* until interned (config/registry.h) */
    char msg[512];
    if (g->cfg.connect_auth_file &&
        !(g->auth_db = auth_db_load(g->cfg.connect_auth_file, msg, sizeof(msg)))) {
        snprintf(err, err_len, "--connect-auth-file: %s", msg);
        gen_free(g);
        return NULL;
    }
    if (load_formats(g, err, err_len) < 0 || load_tls(g, err, err_len) < 0) {
        gen_free(g);
        return NULL;
    }
    g->rings = lb_rings_build(&g->cfg);
    return g;
}

void gen_ref(struct gen *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void gen_unref(struct gen *g)
{
    if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        gen_free(g);
}
